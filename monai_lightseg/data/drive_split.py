"""The train/validation split of the shared DRIVE retinal images (32 ids).

Sorted ids at 0-based positions 3, 7, 11, ... (every 4th) are validation (8 images), the other 24 training.
The shared part already mixes DRIVE's official training and test images (the dataset's own holdout is every
5th id of all 40), so these numbers are not comparable with published DRIVE test-set results. Each item has
the image, the first observer's vessel mask and the field-of-view (FOV) mask, which metrics are restricted to.
"""

from __future__ import annotations

from pathlib import Path

from monai_lightseg.data.datalist import build_datalist

__all__ = ["drive_datalist"]


def drive_datalist(data_root: str | Path) -> dict[str, list[dict]]:
    """``{"training": [...], "validation": [...]}`` over ``data_root/{images,masks,fov}``, paths relative to
    ``data_root``. Raises naming the folder when an image lacks its mask or FOV mask."""
    root = Path(data_root)
    items = build_datalist(root / "images", root / "masks", relative_to=root, extra_dirs={"fov": root / "fov"})
    split: dict[str, list[dict]] = {"training": [], "validation": []}
    for i, item in enumerate(items):  # sorted by id
        split["validation" if i % 4 == 3 else "training"].append(item)
    return split
