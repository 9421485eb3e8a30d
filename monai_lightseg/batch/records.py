"""The batch's bookkeeping files: manifest (for --resume), report (per study), key-to-path map (patient data)."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["StudyRecord", "Manifest", "write_reports", "part_suffix", "REPORT_FIELDS"]

REPORT_FIELDS = [
    "key", "kind", "status", "reason", "notes", "n_lesions", "mask_voxels", "mask_mm", "mask_unit",
    "read_s", "infer_s", "write_s",
]  # fmt: skip


@dataclass
class StudyRecord:
    """One study's outcome. ``key`` is non-identifying; ``outputs`` are paths relative to the output root.
    ``reason``: why a study failed or was skipped; ``notes``: what a user should know about a study that was
    segmented all the same (UIDs missing and how its series was formed, why no DICOM SEG was written)."""

    key: str
    kind: str
    status: str  # "done", "failed" or "skipped"; "writing" in the manifest only (outputs about to be written)
    reason: str = ""
    notes: str = ""
    n_lesions: int | None = None
    mask_voxels: int | None = None
    mask_mm: float | None = None
    mask_unit: str = ""
    read_s: float | None = None
    infer_s: float | None = None
    write_s: float | None = None
    outputs: list[str] = field(default_factory=list)


def part_suffix(num_parts: int, part_id: int) -> str:
    return "" if num_parts == 1 else f".part{part_id}of{num_parts}"


class Manifest:
    """Append-only JSON lines: per study, a ``writing`` line naming the outputs it is about to write, then one
    line with its outcome, written (and fsynced) only after all of its outputs were renamed into place.
    ``--resume`` skips a key whose last line says ``done`` and whose outputs all exist; anything else (failed,
    interrupted) is redone. The ``writing`` lines are how a batch knows which files in its output folder are its
    own (:meth:`written`): only those may be replaced, never a user's file that happens to have a mask's name."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> list[StudyRecord]:
        """Every readable line, in order (a line cut by a kill is skipped: that study is redone)."""
        records = []
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    try:
                        records.append(StudyRecord(**json.loads(line)))
                    except (json.JSONDecodeError, TypeError):
                        continue
        return records

    def done(self, root: Path) -> dict[str, StudyRecord]:
        last = {r.key: r for r in self.records()}
        return {k: r for k, r in last.items() if r.status == "done" and all((root / o).is_file() for o in r.outputs)}

    def written(self) -> set[str]:
        """The outputs (relative paths) any line names: what batches in this folder wrote or began to write."""
        return {o for r in self.records() for o in r.outputs}

    def forget_outcomes(self) -> None:
        """Start over (``--overwrite``): drop every outcome but keep, as ``writing`` lines, which files the batch
        wrote, so they stay its own to replace even if this run is killed before it rewrites them."""
        kept: dict[str, StudyRecord] = {}  # one line per study: every output any of its lines named
        for r in self.records():
            line = kept.setdefault(r.key, StudyRecord(r.key, r.kind, "writing"))
            line.outputs += [o for o in r.outputs if o not in line.outputs]
        lines = "".join(json.dumps(asdict(r)) + "\n" for r in kept.values() if r.outputs)
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text(lines, encoding="utf-8")
        tmp.replace(self.path)

    def append(self, record: StudyRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as f:  # a line cut by a kill is ended first, so this one stays readable
            cut = False
            if f.seek(0, os.SEEK_END) > 0:
                f.seek(-1, os.SEEK_END)
                cut = f.read(1) != b"\n"
            f.write((("\n" if cut else "") + json.dumps(asdict(record)) + "\n").encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())


def write_reports(records: list[StudyRecord], csv_path: Path, json_path: Path) -> None:
    """``report.csv`` (one row per study, :data:`REPORT_FIELDS`) and ``report.json`` (the same plus counts)."""
    rows = [{k: getattr(r, k) for k in REPORT_FIELDS} for r in sorted(records, key=lambda r: r.key)]
    tmp = csv_path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(csv_path)
    counts = {s: sum(r.status == s for r in records) for s in ("done", "failed", "skipped")}
    payload = {"counts": counts, "studies": rows}
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tmp.replace(json_path)
