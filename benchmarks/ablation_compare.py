"""Bare-loop ablations (``benchmarks/bare_loop_polyp.py`` results) set against a baseline of the same seed: Dice
per dataset, the paired per-frame difference with a 95 % t interval (Kvasir-SEG, CVC-ClinicDB), the same over
CVC-ClinicDB's six polyps (sequences as the samples), and what each run marks in polyp-free windows.

    python benchmarks/ablation_compare.py --results benchmarks/results/ablation_polyp \
        --pair dicece_polyp_free_check:dicece_negatives_every4_added \
        --pair dicece_polyp_free_check_seed1:dicece_negatives_every4_added_seed1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from federated_report import paired  # noqa: E402
from polyp_per_sequence import paired_by_sequence  # noqa: E402

DATASETS = ("kvasir_seg", "cvc_clinicdb")


def _run(results: Path, name: str) -> dict:
    return json.loads((results / f"{name}.json").read_text(encoding="utf-8"))["results"][0]


def _split(per_frame: dict[str, float]) -> dict[str, dict[str, float]]:
    return {d: {f: v for f, v in per_frame.items() if f.startswith(d)} for d in DATASETS}


def _free(windows: dict | None) -> str:
    """``share marked / mean area marked`` of a run's polyp-free windows; runs from before that check have none."""
    return "n/a" if not windows else f"{windows['share_marked']:.2f} / {windows['mean_area_marked']:.3f}"


def compare(results: Path, baseline: str, variant: str) -> dict:
    base, run = _run(results, baseline), _run(results, variant)
    a, b = _split(run["validation_per_frame"]), _split(base["validation_per_frame"])
    return {
        "baseline": baseline, "variant": variant,
        "dice": {k: round(v, 4) for k, v in run["validation_dice"].items()},
        "baseline_dice": {k: round(v, 4) for k, v in base["validation_dice"].items()},
        "minus_baseline": {d: paired(a[d], b[d]) for d in DATASETS},
        "minus_baseline_by_polyp": paired_by_sequence(a["cvc_clinicdb"], b["cvc_clinicdb"]),
        "polyp_free_windows": run.get("polyp_free_windows"),
        "baseline_polyp_free_windows": base.get("polyp_free_windows"),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path(__file__).resolve().parent / "results" / "ablation_polyp")
    parser.add_argument("--pair", action="append", required=True, metavar="BASELINE:VARIANT",
                        help="result names (files without .json) under --results")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for pair in args.pair:
        baseline, _, variant = pair.partition(":")
        if not variant:
            parser.error(f"--pair {pair}: expected BASELINE:VARIANT")
        rows.append(compare(args.results, baseline, variant))
    for r in rows:
        d, m = r["dice"], r["minus_baseline"]
        cells = [f"{m[k]['mean']:+.3f} [{m[k]['ci95'][0]:+.3f}, {m[k]['ci95'][1]:+.3f}]" for k in DATASETS]
        by_polyp = r["minus_baseline_by_polyp"]
        print(f"| {r['variant']} | {d['all']:.3f} ({r['baseline_dice']['all']:.3f}) | {cells[0]} | {cells[1]} "
              f"| {by_polyp['mean']:+.3f} | {_free(r['polyp_free_windows'])} "
              f"({_free(r['baseline_polyp_free_windows'])}) |")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
