"""Mask writers that put the result exactly on the source's grid, atomically (temporary file, then rename)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from PIL import Image

__all__ = ["TEMPORARY_PREFIX", "atomic_write", "is_atomic_write_temporary", "write_nifti_mask", "write_png_mask"]


#: the name every :func:`atomic_write` temporary starts with
TEMPORARY_PREFIX = ".tmp-"
#: ``tempfile.mkstemp``'s 8 random characters after the prefix, then a suffix the package's writers pass
_TEMPORARY = re.compile(re.escape(TEMPORARY_PREFIX) + r"[a-z0-9_]{8}(\.png|\.nii\.gz|\.dcm|\.csv)")


def is_atomic_write_temporary(name: str) -> bool:
    """Whether a file ``name`` is one of :func:`atomic_write`'s temporaries (left behind only by a kill mid-write):
    so a clean-up deletes those and never a user's file that merely starts with ``.tmp-``."""
    return _TEMPORARY.fullmatch(name) is not None


def atomic_write(path: str | Path, write: Callable[[Path], None], suffix: str = "") -> Path:
    """Call ``write(tmp)`` on a temporary file in ``path``'s folder, then rename it onto ``path``.

    A crash or kill mid-write leaves at most a hidden ``.tmp-*`` file, never a partial output under the final
    name. ``suffix`` keeps the extension writers infer the format from (e.g. ``.nii.gz``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_nifti_mask(mask_zyx: np.ndarray, reference: sitk.Image, path: str | Path) -> Path:
    """Write a label mask (z, y, x) on ``reference``'s grid: same size, spacing, origin and direction.

    Raises ``ValueError`` when the mask's shape is not the reference's (no resampling happens here).
    """
    size_zyx = tuple(reversed(reference.GetSize()))
    if tuple(mask_zyx.shape) != size_zyx:
        raise ValueError(f"write_nifti_mask: mask shape {mask_zyx.shape} != reference size (z, y, x) {size_zyx}.")
    image = sitk.GetImageFromArray(np.ascontiguousarray(mask_zyx.astype(np.uint8)))
    image.CopyInformation(reference)
    return atomic_write(path, lambda tmp: sitk.WriteImage(image, str(tmp), useCompression=True), suffix=".nii.gz")


def write_png_mask(mask_hw: np.ndarray, path: str | Path) -> Path:
    """Write a binary (H, W) mask as an 8-bit PNG with values 0 and 255."""
    if mask_hw.ndim != 2:
        raise ValueError(f"write_png_mask: expected an (H, W) mask, got shape {mask_hw.shape}.")
    image = Image.fromarray(np.where(mask_hw > 0, 255, 0).astype(np.uint8), mode="L")
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG"), suffix=".png")
