"""CPU time per frame of several bundle folders (shipped bundles or retrained copies), interleaved in one process.

Each round times every bundle once with the report's own measure (``scripts/bundle_tasks/report.py``,
``cpu_ms_per_image``: the bundle's inferer and network deployed as its inference.json says, median of 10 runs after
2 warm-ups, 2 threads), after one discarded warm-up round (``interleaved_cpu_ms``: a process's first timings are
not its steady state); rounds alternate so that a change in machine load hits every bundle alike. Prints and
writes, per bundle, its time over the first bundle's in each round (median and range: the figure to quote) and
its best round:

    python benchmarks/bundle_latency.py --bundle bundles/polyp_endoscopy_unet_segmentation \\
        --bundle /path/to/retrained/copy --shape 1 3 256 256 --rounds 3 --out benchmarks/results/some_latency.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
from bundle_tasks.report import interleaved_cpu_ms  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from machine import cpu_name  # noqa: E402


def measure(bundles: list[Path], shape: tuple[int, ...], rounds: int) -> dict:
    """bundle path -> every round's ms, its ratio to the first bundle's time in the same round (the interleaved
    comparison: both timed under the same load), the median and range of those ratios, and the best round's ms."""
    times = interleaved_cpu_ms(bundles, shape, rounds)
    first = times[str(bundles[0])]
    result = {}
    for name, runs in times.items():
        ratios = [t / f for t, f in zip(runs, first)]
        result[name] = {
            "ms_per_round": runs,
            "ratio_per_round": ratios,
            "ratio_median": statistics.median(ratios),
            "ratio_range": [min(ratios), max(ratios)],
            "best_ms": min(runs),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, action="append", required=True, help="bundle folder; repeat, first = 1.0")
    ap.add_argument("--shape", type=int, nargs="+", default=[1, 3, 256, 256], help="input shape (N, C, *spatial)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    for bundle in args.bundle:
        if not (bundle / "configs" / "inference.json").is_file():
            ap.error(f"{bundle}: no configs/inference.json (not a bundle folder)")
    if len(set(map(str, args.bundle))) < len(args.bundle):
        ap.error("each --bundle once (a repeated folder would merge into one row)")
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    result = measure(args.bundle, tuple(args.shape), args.rounds)
    for name, row in result.items():
        low, high = row["ratio_range"]
        ratio = f"{row['ratio_median']:.2f}x the first (rounds {low:.2f}-{high:.2f})"
        print(f"{name}: best {row['best_ms']:.1f} ms; {ratio}")
    if args.out:
        record = {"shape": args.shape, "rounds": args.rounds, "machine": cpu_name()}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**record, "bundles": result}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
