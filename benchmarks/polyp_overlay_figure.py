"""A figure of where polyp bundles' masks and the ground truth disagree: each frame beside its overlay for each
bundle in the order given (green: both mark polyp, red: only the truth, blue: only the bundle), frames stacked top
to bottom.

Runs the bundle's own ``inference.json`` on copies of the frames, so the masks are exactly what users get::

    python benchmarks/polyp_overlay_figure.py --bundle bundles/polyp_endoscopy_unet_segmentation \\
        --data ../shared/data --frames cvc_clinicdb/5.png cvc_clinicdb/20.png cvc_clinicdb/118.png \\
        --out docs/cvc_under_segmented_polyps.jpg

``--bundle`` takes one or more bundles (one overlay column each). ``--frames`` are ``DATASET/NAME`` under
``--data`` (``DATASET/images/NAME`` with its mask in ``DATASET/masks/``).
The figure is scaled to 2/3 and written as JPEG; it shows research data, so keep its terms beside it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def overlay(image: np.ndarray, truth: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 image with truth-only red, prediction-only blue, both green; ``truth``/``pred``: (H, W) bool."""
    out = image.copy()
    out[truth & ~pred] = (255, 0, 0)
    out[pred & ~truth] = (0, 0, 255)
    out[pred & truth] = (0, 255, 0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, nargs="+", required=True, help="one overlay column per bundle")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--frames", nargs="+", required=True, help="DATASET/NAME, e.g. cvc_clinicdb/118.png")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        frames_in, masks_out = Path(tmp) / "in", Path(tmp) / "out"
        frames_in.mkdir()
        pairs = []
        for i, frame in enumerate(args.frames):
            dataset, name = frame.split("/", 1)
            image, mask = args.data / dataset / "images" / name, args.data / dataset / "masks" / name
            for path in (image, mask):
                if not path.is_file():
                    sys.exit(f"polyp_overlay_figure: no file {path} (from --frames {frame})")
            copy = frames_in / f"{i:02d}_{dataset}_{Path(name).stem}{image.suffix}"
            shutil.copy(image, copy)
            pairs.append((copy.stem, image, mask))
        for b, bundle in enumerate(args.bundle):
            subprocess.run(
                [sys.executable, "-m", "monai.bundle", "run", "--config_file", "configs/inference.json",
                 "--bundle_root", ".", "--dataset_dir", str(frames_in), "--output_dir", str(masks_out / str(b))],
                cwd=bundle, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        rows = []
        for stem, image, mask in pairs:
            rgb = np.asarray(Image.open(image).convert("RGB"))
            truth = np.asarray(Image.open(mask).convert("L")) > 127
            row = [rgb]
            for b in range(len(args.bundle)):
                pred = np.asarray(Image.open(masks_out / str(b) / f"{stem}.png").convert("L")) > 127
                row.append(overlay(rgb, truth, pred))
            rows.append(np.concatenate(row, axis=1))
    figure = Image.fromarray(np.concatenate(rows, axis=0))
    figure = figure.resize((figure.width * 2 // 3, figure.height * 2 // 3), Image.LANCZOS)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.save(args.out, quality=82)
    print(f"wrote {args.out} ({figure.width}x{figure.height})")


if __name__ == "__main__":
    main()
