"""What predicting at 1/s of the input costs by itself: each validation mask, at the bundles' scale (longer side
256 px), average-pooled by s, resized back with linear interpolation (as the seed nets' logits are) and cut at
0.5, against itself. Mean Dice per dataset is the best a perfect network with output stride s could score.

    python benchmarks/output_stride_bound.py --strides 2 4 8 \\
        --out benchmarks/results/stem_stride2/output_stride_bound.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parent.parent
BUNDLE = REPO / "bundles" / "polyp_endoscopy_feature_compression_net_segmentation"  # its committed split

sys.path.insert(0, str(REPO / "benchmarks"))
from polyp_free_windows import validation_frames  # noqa: E402


def stride_dice(mask: np.ndarray, stride: int) -> float:
    """Dice of ``mask`` (H, W bool) against itself pooled by ``stride``, resized back and cut at 0.5."""
    t = torch.as_tensor(mask, dtype=torch.float32)[None, None]
    back = F.interpolate(F.avg_pool2d(t, stride, ceil_mode=True), size=mask.shape, mode="bilinear") > 0.5
    back = back[0, 0].numpy()
    return float(2 * (back & mask).sum() / max(1, back.sum() + mask.sum()))  # an empty mask scores 0, not nan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--strides", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--frame-size", type=int, default=256)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    masks: dict[str, list[np.ndarray]] = {"kvasir_seg": [], "cvc_clinicdb": []}
    for dataset, _, _, polyp in validation_frames(args.data, BUNDLE, args.frame_size):  # the scale rule's masks
        masks[dataset].append(polyp)
    result = {
        str(s): {d: round(float(np.mean([stride_dice(m, s) for m in ms])), 4) for d, ms in masks.items()}
        for s in args.strides
    }
    for s, row in result.items():
        print(f"output stride {s}: " + ", ".join(f"{d} {v:.4f}" for d, v in row.items()))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {"frame_size": args.frame_size, "frames": {d: len(ms) for d, ms in masks.items()}, "dice": result}
        args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
