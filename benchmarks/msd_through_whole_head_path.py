"""The MSD Task04 validation split through the whole-head path (monai_lightseg.localisation.segment_whole_head)
against the bundle's recorded evaluation (docs/validation/summary.json): issue 18 asks that mean Dice stay within
0.005. MSD volumes are crops, so the path must skip localisation and give the same masks.

    python benchmarks/msd_through_whole_head_path.py [--bundle bundles/hippocampus_mri_unet_segmentation]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    import SimpleITK as sitk

    from monai_lightseg.inference import BundleSegmenter
    from monai_lightseg.localisation import segment_whole_head

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=REPO / "bundles" / "hippocampus_mri_unet_segmentation")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "msd_hippocampus")
    args = parser.parse_args()
    split = json.loads((args.bundle / "configs" / "datalist.json").read_text(encoding="utf-8"))["validation"]
    segmenter = BundleSegmenter(args.bundle, device="cpu")
    dice, localised = {1: [], 2: []}, 0
    for item in split:
        result = segment_whole_head(sitk.ReadImage(str(args.data / item["image"])), segmenter)
        localised += result.localised
        truth = sitk.GetArrayFromImage(sitk.ReadImage(str(args.data / item["label"])))
        for k in dice:
            p, g = result.labels == k, truth == k
            dice[k].append(2 * (p & g).sum() / max(1, p.sum() + g.sum()))
    recorded = json.loads((args.bundle / "docs" / "validation" / "summary.json").read_text(encoding="utf-8"))["all"]
    print(f"{len(split)} volumes, {localised} localised")
    for k, name in ((1, "anterior"), (2, "posterior")):
        path_dice, recorded_dice = np.mean(dice[k]), recorded[name]["dice"]["mean"]
        print(f"{name}: whole-head path {path_dice:.4f}, recorded evaluation {recorded_dice:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
