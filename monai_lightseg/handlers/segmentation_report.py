"""Per-image metrics CSV and a summary JSON (overall and per dataset) for an evaluation run."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

from ignite.engine import Events

from monai_lightseg.metrics.segmentation import METRIC_NAMES, per_image_metrics, summarize

__all__ = ["SegmentationReport"]


class SegmentationReport:
    """Collect per-image metrics from a ``SupervisedEvaluator``'s decollated output and, when it completes,
    write ``output_dir/per_image.csv`` (one row per image and class; images named relative to their common
    folder) and ``output_dir/summary.json``
    (mean, std, median, min, max, n per metric and class; overall and per ``dataset`` field of the items).

    Every item of ``engine.state.output`` must hold binarised ``pred`` and ``label`` (C, *S); an item's
    ``image`` metadata gives the file name, and an optional string ``dataset`` field of the datalist item (which
    MONAI's engines keep in ``engine.state.batch``) groups the summary.

    Args:
        output_dir: folder for the two files.
        include_background: see :func:`per_image_metrics` (``True`` for one-channel binary output).
        class_names: names of the reported channels (default ``class_1``, ...).
        mask_key: a datalist field holding a binary mask (1, *S) that restricts every metric to its inside (the
            field of view of a fundus photograph), read from the engine's batch like ``dataset``.
    """

    def __init__(
        self, output_dir: str | Path, include_background: bool = True, class_names=None, mask_key: str | None = None
    ) -> None:
        self.output_dir = Path(output_dir)
        self.include_background = include_background
        self.class_names = list(class_names) if class_names else None
        self.mask_key = mask_key
        self.rows: list[dict] = []

    def attach(self, engine) -> None:
        engine.add_event_handler(Events.STARTED, lambda e: self.rows.clear())
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._collect)
        engine.add_event_handler(Events.COMPLETED, self._write)

    def _collect(self, engine) -> None:
        batch = engine.state.batch if isinstance(engine.state.batch, list) else [{}] * len(engine.state.output)
        for item, source in zip(engine.state.output, batch):
            mask = None
            if self.mask_key is not None:
                if self.mask_key not in source:
                    raise KeyError(f"SegmentationReport: the datalist items have no {self.mask_key!r} field.")
                mask = source[self.mask_key][None].to(item["pred"].device)
            values = per_image_metrics(item["pred"][None], item["label"][None], self.include_background, mask)
            image = item.get("image")
            meta = getattr(image, "meta", {}) if image is not None else {}
            name = str(meta.get("filename_or_obj", f"item_{len(self.rows)}"))
            dataset = source.get("dataset", item.get("dataset", ""))  # datalist fields stay in the batch
            channels = values["dice"].shape[1]
            names = self.class_names or [f"class_{c + 1}" for c in range(channels)]
            for c in range(channels):
                row = {"image": name, "dataset": dataset if isinstance(dataset, str) else "", "class": names[c]}
                row.update({m: float(values[m][0, c]) for m in METRIC_NAMES})
                self.rows.append(row)

    def _write(self, engine) -> None:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        names = [r["image"] for r in self.rows]
        if len(set(names)) > 1 and all(os.path.isabs(n) for n in names):  # relative to their common folder:
            root = os.path.commonpath(names)  # no machine paths in a report that may be shared
            for r in self.rows:
                r["image"] = os.path.relpath(r["image"], root)
        with (self.output_dir / "per_image.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["image", "dataset", "class", *METRIC_NAMES])
            writer.writeheader()
            writer.writerows(self.rows)
        summary = {"all": self._summary(self.rows)}
        for dataset in sorted({r["dataset"] for r in self.rows if r["dataset"]}):
            summary[dataset] = self._summary([r for r in self.rows if r["dataset"] == dataset])
        (self.output_dir / "summary.json").write_text(
            json.dumps(summary, indent=4, allow_nan=True) + "\n", encoding="utf-8"
        )
        overall = summary["all"]
        for cls, stats in overall.items():
            engine.state.metrics[f"report_{cls}_dice_mean"] = stats["dice"]["mean"]

    @staticmethod
    def _summary(rows: list[dict]) -> dict:
        out: dict = {}
        for cls in sorted({r["class"] for r in rows}):
            sel = [r for r in rows if r["class"] == cls]
            out[cls] = {m: summarize([r[m] for r in sel]) for m in METRIC_NAMES}
            out[cls]["n_images"] = len(sel)
        return out if rows else {"n_images": 0, "note": math.nan}
