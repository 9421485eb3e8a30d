"""Click-guided 2D segmentation: an annotator's clicks say where the lesions are; each is segmented in a crop
around it at the scale the bundle was trained on, and the masks are pasted back into an image-sized mask.

For a small lesion in a large image (a polyp in a 2048x2048 canvas), running a whole-frame bundle on the whole
image shrinks the lesion far below its training scale; a crop of about one training frame around the click shows
it as the network learnt it. Each crop goes through the bundle's own pipeline (:class:`BundleSegmenter`: its
resizing rule, network, post-processing and inversion back to the crop's size), so a crop's mask is exactly
what ``monai.bundle run`` writes for that crop as a file.

Why not :class:`~monai_lightseg.inference.LocateThenSegmentInferer` with ``points``: it places one window of the
network's ROI at native resolution, which suits bundles trained on native-resolution patches; the polyp bundles
(recipe 0.2.0) resize a whole frame to a longer side of 256 px, and their masks are only right at that scale.

Coordinates: ``(x, y)`` = (column, row) of the image as stored, the order MONAI's PIL reader gives and MONAI
Label clients send. Output: (H, W) uint8, 0 background, 1 the lesion.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from monai_lightseg.io.photographs import to_rgb8

__all__ = ["click_windows", "segment_around_clicks"]


def click_windows(
    clicks: Sequence[Sequence[float]], shape: tuple[int, int], window: int
) -> list[tuple[int, int, int, int]]:
    """One ``(row0, col0, row1, col1)`` crop of ``window`` x ``window`` pixels per click, centred on it and
    shifted to lie inside an image of ``shape`` (H, W); smaller where the image is smaller."""
    height, width = shape
    boxes = []
    for click in clicks:
        if len(click) < 2:
            raise ValueError(f"a click needs (x, y) coordinates, got {list(click)}")
        x, y = float(click[0]), float(click[1])
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f"click (x={x:g}, y={y:g}) lies outside the {width}x{height} image")
        h, w = min(window, height), min(window, width)
        row0 = int(min(max(round(y) - h // 2, 0), height - h))
        col0 = int(min(max(round(x) - w // 2, 0), width - w))
        boxes.append((row0, col0, row0 + h, col0 + w))
    return boxes


def _components_at(mask: np.ndarray, point: tuple[int, int], reach: float) -> np.ndarray:
    """The connected components of ``mask`` that hold ``point`` (row, col), else the nearest one within
    ``reach`` pixels; an empty mask when there is none."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        return np.zeros_like(mask)
    hit = labels[point]
    if hit:
        return labels == hit
    distance, (rows, cols) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    if distance[point] > reach:
        return np.zeros_like(mask)
    return labels == labels[rows[point], cols[point]]


def segment_around_clicks(
    segmenter,
    image: str | Path,
    foreground: Sequence[Sequence[float]],
    background: Sequence[Sequence[float]] = (),
    window: int = 384,
    reach: float = 32.0,
) -> np.ndarray:
    """The lesion under each foreground click of the 2D ``image``, segmented by ``segmenter`` (a
    :class:`BundleSegmenter` of a 2D bundle) in a ``window``-pixel crop around the click.

    Per click, the component of the crop's mask under the click is kept (or the nearest within ``reach`` pixels:
    a click on a lesion's rim); components under a ``background`` click are dropped. No foreground click: an
    empty mask. Returns (H, W) uint8 0/1.
    """
    with Image.open(image) as opened:
        frame = to_rgb8(opened)  # the bundles' own reading: a 16-bit frame is scaled, not clipped
    pixels = np.asarray(frame)
    mask = np.zeros(pixels.shape[:2], dtype=np.uint8)
    click_windows(background, mask.shape, window)  # background clicks outside the image are refused too
    with tempfile.TemporaryDirectory(prefix="monai_lightseg_clicks_") as scratch:
        for i, (click, (r0, c0, r1, c1)) in enumerate(zip(foreground, click_windows(foreground, mask.shape, window))):
            crop = Path(scratch) / f"click_{i}.png"
            Image.fromarray(pixels[r0:r1, c0:c1]).save(crop)  # lossless: the crop's pixels as they are
            found = segmenter(crop) > 0
            point = (int(round(float(click[1]))) - r0, int(round(float(click[0]))) - c0)
            kept = _components_at(found, point, reach)
            for b in background:
                inside = (int(round(float(b[1]))) - r0, int(round(float(b[0]))) - c0)
                if 0 <= inside[0] < kept.shape[0] and 0 <= inside[1] < kept.shape[1] and kept[inside]:
                    kept = np.zeros_like(kept)
            mask[r0:r1, c0:c1] |= kept.astype(np.uint8)
    return mask
