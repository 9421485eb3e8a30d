"""Time per frame of each polyp bundle's whole inference path (BundleSegmenter: read, scale rule, network, speck
removal, mask back at the frame's size) with test-time augmentation off, flips, scales, and both.

    python benchmarks/tta_latency.py --threads 1 --out benchmarks/results/scale_tta/latency_cpu.json

Median of ``--repeats`` calls after one warm-up call, on one shipped frame; ratios are to the same bundle without
augmentation in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from monai_lightseg.inference import BundleSegmenter

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {
    "off": {},
    "flip": {"flip_tta": True},
    "scale": {"scale_tta": True},
    "flip+scale": {"flip_tta": True, "scale_tta": True},
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frame", type=Path, default=REPO / "samples/polyp/images/cvc_clinicdb_1.png")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    result = {"frame": args.frame.name, "threads": args.threads, "repeats": args.repeats, "bundles": {}}
    for bundle in sorted((REPO / "bundles").glob("polyp_endoscopy_*_segmentation")):
        row = {}
        for name, options in SETTINGS.items():
            segmenter = BundleSegmenter(bundle, device="cpu", **options)
            segmenter(args.frame)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                segmenter(args.frame)
                times.append(time.perf_counter() - start)
            row[name] = {"ms": round(1000 * statistics.median(times), 1)}
        for name in row:
            row[name]["ratio_to_off"] = round(row[name]["ms"] / row["off"]["ms"], 2)
        result["bundles"][bundle.name] = row
        print(bundle.name, {k: (v["ms"], v["ratio_to_off"]) for k, v in row.items()})
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
