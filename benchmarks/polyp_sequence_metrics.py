"""CVC-ClinicDB Dice, precision and recall per video sequence (one polyp each), from evaluations already stored
as ``per_image.csv`` (a bundle's ``docs/validation/`` or any ``evaluate.json`` output): which polyps a model
over- or under-segments. Nothing is re-run; each value is the mean over the sequence's frames.

    python benchmarks/polyp_sequence_metrics.py UNet=bundles/polyp_endoscopy_unet_segmentation/docs/validation \\
        LightU2Net=bundles/polyp_endoscopy_light_u2net_segmentation/docs/validation --out OUT.json

Each argument is ``NAME=FOLDER`` (the folder holds ``per_image.csv``). Prints a Markdown table; ``--out`` writes
the same numbers as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from polyp_per_sequence import by_sequence  # noqa: E402  (benchmarks/, this script's folder)

METRICS = ("dice", "precision", "recall")


def per_sequence(csv_path: Path) -> dict[str, dict[str, float]]:
    """``{sequence: {"frames": n, "dice": mean, "precision": mean, "recall": mean}}`` for CVC-ClinicDB rows."""
    per_frame: dict[str, dict[str, float]] = {m: {} for m in METRICS}
    with open(csv_path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["dataset"] == "cvc_clinicdb":
                for m in METRICS:
                    per_frame[m][row["image"]] = float(row[m])
    if not per_frame["dice"]:
        raise ValueError(f"{csv_path}: no cvc_clinicdb rows")
    groups = {m: by_sequence(per_frame[m]) for m in METRICS}
    return {str(s): {"frames": len(v), **{m: round(float(np.mean(groups[m][s])), 4) for m in METRICS}}
            for s, v in groups["dice"].items()}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="NAME=FOLDER holding per_image.csv")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report = {}
    for item in args.models:
        name, sep, folder = item.partition("=")
        csv_path = Path(folder) / "per_image.csv"
        if not sep or not csv_path.is_file():
            sys.exit(f"polyp_sequence_metrics: {item!r} is not NAME=FOLDER with FOLDER/per_image.csv")
        report[name] = {"source": folder, "sequences": per_sequence(csv_path)}
    sequences = list(next(iter(report.values()))["sequences"])
    print("| model | " + " | ".join(f"seq {s} Dice (precision / recall)" for s in sequences) + " |")
    print("|---|" + "---|" * len(sequences))
    for name, row in report.items():
        cells = [f"{v['dice']:.3f} ({v['precision']:.2f} / {v['recall']:.2f})" for v in row["sequences"].values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.out:
        args.out.write_text(json.dumps(report, indent=4) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
