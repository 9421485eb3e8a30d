"""Two evaluations of polyp bundles on the same validation frames, paired per frame: Dice, precision (over the
frames with a prediction, as the bundles report it) and recall per dataset, the paired Dice difference with a
95 % t interval, and the same over CVC-ClinicDB's polyps (its video sequences as the samples).

Each evaluation is the folder a bundle's ``evaluate.json`` wrote (``per_image.csv``), e.g. a bundle's
``docs/validation`` and a retrained copy's ``eval``:

    python benchmarks/bundle_compare.py \\
        bundles/polyp_endoscopy_feature_compression_net_segmentation/docs/validation /path/to/copy/eval \\
        --out benchmarks/results/some_comparison.json

Either side may be several trainings of one network (seeds), folders joined by commas: each frame's Dice,
precision and recall are then the mean over those trainings, and the output also lists each training's own
means. The intervals are over frames (and over polyps) for those seed-averaged scores; with two or three seeds
they do not include the spread between seeds, which the per-training means show.

    python benchmarks/bundle_compare.py UNET_SEED0,UNET_SEED2 NET_SEED0,NET_SEED2 --out ...
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from federated_report import STORED_DECIMALS, paired  # noqa: E402
from polyp_per_sequence import paired_by_sequence  # noqa: E402

DATASETS = ("kvasir_seg", "cvc_clinicdb")


def per_frame(evaluation: Path) -> dict[str, dict[str, dict[str, float]]]:
    """dataset -> metric -> {frame: value} from ``evaluation/per_image.csv`` (foreground class only)."""
    path = evaluation / "per_image.csv"
    if not path.is_file():
        raise SystemExit(f"bundle_compare: {path} does not exist (run the bundle's evaluate.json first)")
    out: dict[str, dict[str, dict[str, float]]] = {d: {"dice": {}, "precision": {}, "recall": {}} for d in DATASETS}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["dataset"] in out and row["class"] == "class_1":
                for metric in ("dice", "precision", "recall"):
                    out[row["dataset"]][metric][row["image"]] = float(row[metric])
    return out


def seed_averaged(
    runs: list[dict[str, dict[str, dict[str, float]]]], evaluations: list[Path]
) -> dict[str, dict[str, dict[str, float]]]:
    """One or more trainings of one network (their :func:`per_frame` results, read from ``evaluations``), each
    frame's value the mean over them (precision: over the trainings that predicted anything on that frame, NaN if
    none did)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for d in DATASETS:
        out[d] = {}
        for m in ("dice", "precision", "recall"):
            frames = set(runs[0][d][m])
            if any(set(r[d][m]) != frames for r in runs[1:]):
                names = ", ".join(str(e) for e in evaluations)
                raise SystemExit(f"bundle_compare: {names} scored different {d} frames; compare like with like")
            values = {f: np.array([r[d][m][f] for r in runs]) for f in sorted(frames)}
            out[d][m] = {f: float(v[~np.isnan(v)].mean()) if (~np.isnan(v)).any() else float("nan")
                         for f, v in values.items()}  # fmt: skip
    return out


def run_means(frames: dict[str, dict[str, dict[str, float]]]) -> dict[str, float]:
    """One training's mean Dice per dataset, from its :func:`per_frame` result."""
    return {d: round(float(np.mean(list(frames[d]["dice"].values()))), STORED_DECIMALS) for d in DATASETS}


def compare(baseline: Path | list[Path], variant: Path | list[Path]) -> dict:
    baselines = [baseline] if isinstance(baseline, Path) else list(baseline)
    variants = [variant] if isinstance(variant, Path) else list(variant)
    base_runs, variant_runs = [per_frame(b) for b in baselines], [per_frame(v) for v in variants]
    base, run = seed_averaged(base_runs, baselines), seed_averaged(variant_runs, variants)
    result = {"baseline": ",".join(map(str, baselines)), "variant": ",".join(map(str, variants))}
    if len(baselines) > 1 or len(variants) > 1:
        result["dice_per_training"] = {
            "baseline": {str(b): run_means(r) for b, r in zip(baselines, base_runs)},
            "variant": {str(v): run_means(r) for v, r in zip(variants, variant_runs)},
        }
    for d in DATASETS:
        result[d] = {
            **{f"{m}": round(float(np.nanmean(list(run[d][m].values()))), STORED_DECIMALS)
               for m in ("dice", "precision", "recall")},  # fmt: skip
            **{f"baseline_{m}": round(float(np.nanmean(list(base[d][m].values()))), STORED_DECIMALS)
               for m in ("dice", "precision", "recall")},  # fmt: skip
            "dice_minus_baseline": paired(run[d]["dice"], base[d]["dice"]),
        }
    result["cvc_clinicdb"]["dice_minus_baseline_by_polyp"] = paired_by_sequence(
        run["cvc_clinicdb"]["dice"], base["cvc_clinicdb"]["dice"]
    )
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("baseline", help="folder with the baseline's per_image.csv (several, comma-joined: seeds)")
    ap.add_argument("variant", help="folder with the variant's per_image.csv (several, comma-joined: seeds)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    result = compare([Path(p) for p in args.baseline.split(",")], [Path(p) for p in args.variant.split(",")])
    for d in DATASETS:
        r = result[d]
        diff = r["dice_minus_baseline"]
        print(f"{d}: Dice {r['dice']:.3f} (baseline {r['baseline_dice']:.3f}), minus baseline {diff['mean']:+.3f} "
              f"[{diff['ci95'][0]:+.3f}, {diff['ci95'][1]:+.3f}]; precision {r['precision']:.3f} "
              f"({r['baseline_precision']:.3f}), recall {r['recall']:.3f} ({r['baseline_recall']:.3f})")  # fmt: skip
    by_polyp = result["cvc_clinicdb"]["dice_minus_baseline_by_polyp"]
    print(f"cvc_clinicdb by polyp: {json.dumps(by_polyp)}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
