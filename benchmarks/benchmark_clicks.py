"""Click-guided polyp segmentation on large canvases: validation frames of the bundle's committed split placed at
native scale in a 2048x2048 mosaic of polyp-free mucosa from other validation frames (the canvases of
benchmark_locate_then_segment.py), one click at the polyp's most interior pixel (as an annotator would click).

Reports per canvas the Dice of ``segment_around_clicks`` against the placed mask and the time per call (warm
segmenter), and, for comparison, the Dice of the same frame segmented on its own (the bundle on the frame file).

    python benchmarks/benchmark_clicks.py --bundle bundles/polyp_endoscopy_feature_compression_net_segmentation \
        --out benchmarks/results/clicks_cpu_fcn.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_locate_then_segment import canvases  # noqa: E402

from monai_lightseg.inference import BundleSegmenter, segment_around_clicks  # noqa: E402


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(1, a.sum() + b.sum()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--window", type=int, default=384)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    segmenter = BundleSegmenter(args.bundle, device="cpu")
    split = json.loads((args.bundle / "configs" / "datalist.json").read_text(encoding="utf-8"))["validation"]
    label_of = {item["image"]: item["label"] for item in split}
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, canvas, truth in canvases(args.data, args.bundle, args.n, args.size):
            path = Path(scratch) / "canvas.png"
            Image.fromarray((canvas.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(path)
            inside = ndimage.distance_transform_edt(truth)
            row, col = np.unravel_index(int(inside.argmax()), truth.shape)
            segment_around_clicks(segmenter, path, [(col, row)], window=args.window)  # warm-up
            times = []
            for _ in range(3):
                start = time.perf_counter()
                mask = segment_around_clicks(segmenter, path, [(col, row)], window=args.window)
                times.append(time.perf_counter() - start)
            frame = args.data / name
            alone = segmenter(frame) > 0
            alone_truth = np.asarray(Image.open(args.data / label_of[name]).convert("L")) > 127
            rows.append({"image": name, "click_xy": [int(col), int(row)], "dice": round(dice(mask > 0, truth), 4),
                         "seconds": round(float(np.median(times)), 3),
                         "frame_alone_dice": round(dice(alone, alone_truth), 4) if alone.shape == alone_truth.shape
                         else None})  # fmt: skip
            print(rows[-1], flush=True)
    summary = {
        "bundle": args.bundle.name, "canvas": args.size, "window": args.window, "threads": args.threads,
        "mean_dice": round(float(np.mean([r["dice"] for r in rows])), 4),
        "median_seconds": round(float(np.median([r["seconds"] for r in rows])), 3),
        "max_seconds": round(float(np.max([r["seconds"] for r in rows])), 3), "rows": rows,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=4) + "\n", encoding="utf-8")
    print({k: v for k, v in summary.items() if k != "rows"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
