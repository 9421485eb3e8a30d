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

from monai_lightseg.data import cvc_clinicdb_sequence

METRICS = ("dice", "precision", "recall")


def per_sequence(csv_path: Path) -> dict[str, dict[str, float]]:
    """``{sequence: {"frames": n, "dice": mean, "precision": mean, "recall": mean}}`` for CVC-ClinicDB rows."""
    groups: dict[int, list[list[float]]] = {}
    with open(csv_path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["dataset"] == "cvc_clinicdb":
                sequence = cvc_clinicdb_sequence(int(Path(row["image"]).stem))
                groups.setdefault(sequence, []).append([float(row[m]) for m in METRICS])
    if not groups:
        raise ValueError(f"{csv_path}: no cvc_clinicdb rows")
    return {str(s): {"frames": len(v), **{m: round(float(x), 4) for m, x in zip(METRICS, np.mean(v, axis=0))}}
            for s, v in sorted(groups.items())}  # fmt: skip


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
