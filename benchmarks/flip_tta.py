"""Flip test-time augmentation, measured: each trained bundle of a task scored on its validation split with
``flip_tta`` off and on (the bundle's own ``evaluate.json``, nothing else changed), the per-image difference
paired, and the CPU time per image of both inferers timed in the same run.

    python benchmarks/flip_tta.py --task polyp --out benchmarks/results/flip_tta_polyp.json
    python benchmarks/flip_tta.py --task polyp --out benchmarks/results/flip_tta_polyp.json --speed-only  # quiet

Output JSON, per bundle: for each (dataset, class) group the mean Dice, precision and recall without and with
flips (precision over the images with a prediction, as the bundles' reports), the paired mean difference of
Dice with its 95 % t interval, and ms per image of the bundle's inferer (median of 10 after 2 warm-ups, 2
threads, as the results tables time it) on the task's speed shape, off and on.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from bundle_tasks import TASKS  # noqa: E402
from bundle_tasks.report import cpu_ms_per_image  # noqa: E402
from federated_report import paired  # noqa: E402  (benchmarks/, this script's folder)

METRICS = ("dice", "precision", "recall")


def evaluate(bundle: Path, data: Path, flip_tta: bool) -> list[dict]:
    """The bundle's evaluate.json on ``data``; its per-image rows."""
    from monai.bundle import run

    out = Path(tempfile.mkdtemp(prefix="flip_tta_"))
    try:
        run(config_file=[str(bundle / "configs/inference.json"), str(bundle / "configs/evaluate.json")],
            bundle_root=str(bundle), dataset_dir=str(data), output_dir=str(out), flip_tta=flip_tta)  # fmt: skip
        with (out / "per_image.csv").open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def groups(rows: list[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """``"dataset/class"`` -> metric -> image -> value."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for r in rows:
        key = "/".join(p for p in (r["dataset"], r["class"]) if p)
        for m in METRICS:
            out.setdefault(key, {}).setdefault(m, {})[r["image"]] = float(r[m])
    return out


def ms(bundle: Path, shape: tuple[int, ...], flip_tta: bool) -> float:
    """The bundle's inferer (flips on or off) timed as the results table times it (2 threads)."""
    return round(cpu_ms_per_image(bundle, shape, flip_tta), 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(TASKS), default="polyp")
    parser.add_argument("--bundles", nargs="*", help="bundle folder names (default: every bundle of the task)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--speed-only", action="store_true", help="re-time the bundles in --out (on a quiet machine)")
    args = parser.parse_args()
    task = TASKS[args.task]
    if args.speed_only:
        record = json.loads(args.out.read_text(encoding="utf-8"))
        for name, result in record["bundles"].items():
            shape = tuple(task.speed_shape)
            result["ms_per_image"] = {f: ms(REPO / "bundles" / name, shape, f == "on") for f in ("off", "on")}
            print(name, result["ms_per_image"], flush=True)
        args.out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        return 0
    data = task.evaluation_data(args.data.resolve())
    record = {"task": task.name, "threads": 2, "torch": torch.__version__, "bundles": {}}
    for name in args.bundles or list(task.networks):
        bundle = REPO / "bundles" / name
        off, on = groups(evaluate(bundle, data, False)), groups(evaluate(bundle, data, True))
        result = {"flip_tta_axes": task.flip_axes(), "groups": {}}
        for key in off:
            result["groups"][key] = {
                "off": {m: round(float(np.nanmean(list(off[key][m].values()))), 4) for m in METRICS},
                "on": {m: round(float(np.nanmean(list(on[key][m].values()))), 4) for m in METRICS},
                "dice_on_minus_off": paired(on[key]["dice"], off[key]["dice"]),
                "per_image_dice": {"off": off[key]["dice"], "on": on[key]["dice"]},
            }
        shape = tuple(task.speed_shape)  # (1, C, *S)
        result["ms_per_image"] = {"off": ms(bundle, shape, False), "on": ms(bundle, shape, True)}
        record["bundles"][name] = result
        print(name, {k: (g["off"]["dice"], g["on"]["dice"], g["dice_on_minus_off"]["mean"])
                     for k, g in result["groups"].items()}, result["ms_per_image"], flush=True)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
