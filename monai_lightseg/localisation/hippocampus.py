"""Whole-head T1 -> the two hippocampus crops the bundles know -> masks pasted back on the study's grid.

Per study: register to the MNI template (:mod:`.registration`; refused with a reason when it does not match a
T1 head), map each side's box (:mod:`.template`) into the study, crop it on the study's own voxel grid (any
orientation and spacing: the bundle reorients and resamples the crop itself), segment each crop with the
hippocampus bundle, keep the largest connected region of each crop (anterior + posterior together), and paste
the crops' labels back by index. A study that is already a crop (every side under ``crop_extent_mm``) is
segmented as it is, without localisation, so MSD-style inputs keep their result.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from skimage.measure import label as connected_components

from .registration import Registration, register_to_template
from .template import HIPPOCAMPUS_CENTROIDS_RAS, box_corners_lps

#: a study whose every physical side is shorter than this (mm) is taken as a crop around one hippocampus
CROP_EXTENT_MM = 90.0


class LocalisationError(ValueError):
    """The study cannot be localised (not a T1 head, hippocampus outside the field of view): the reason."""


@dataclass
class Box:
    """A side's crop on the study's voxel grid: ``index`` (x, y, z) start and ``size``, SimpleITK order."""

    side: str
    index: tuple[int, int, int]
    size: tuple[int, int, int]
    inside_fraction: float


@dataclass
class WholeHeadResult:
    """``labels``: (Z, Y, X) uint8 on the study's grid; ``sides``: per side volumes (mm3) and centroid (LPS mm)."""

    labels: np.ndarray
    localised: bool
    registration: Registration | None = None
    boxes: list[Box] = field(default_factory=list)
    sides: dict[str, dict] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def is_crop(study: sitk.Image, extent_mm: float = CROP_EXTENT_MM) -> bool:
    """Whether ``study`` is small enough to be a crop around one hippocampus already (no localisation)."""
    return all(n * s < extent_mm for n, s in zip(study.GetSize(), study.GetSpacing()))


def hippocampus_boxes(study: sitk.Image, registration: Registration, min_inside: float = 0.9) -> list[Box]:
    """Each side's template box mapped into ``study``'s voxel grid (the bounding box of its mapped corners),
    clipped to the image. Raises :class:`LocalisationError` when less than ``min_inside`` of a box lies in the
    field of view (the hippocampi were cut off)."""
    boxes = []
    size = np.asarray(study.GetSize())
    for side in HIPPOCAMPUS_CENTROIDS_RAS:
        corners = [registration.transform.TransformPoint(tuple(float(v) for v in p)) for p in box_corners_lps(side)]
        indices = np.array([study.TransformPhysicalPointToContinuousIndex(c) for c in corners])
        low, high = np.floor(indices.min(0)).astype(int), np.ceil(indices.max(0)).astype(int) + 1
        clipped_low, clipped_high = np.clip(low, 0, size), np.clip(high, 0, size)
        full = np.prod(high - low)
        inside = float(np.prod(np.maximum(clipped_high - clipped_low, 0)) / full) if full > 0 else 0.0
        if inside < min_inside:
            raise LocalisationError(
                f"the {side} hippocampus lies outside the field of view ({inside:.0%} of its box inside the image)"
            )
        boxes.append(Box(side, tuple(int(v) for v in clipped_low), tuple(int(v) for v in clipped_high - clipped_low),
                         inside))  # fmt: skip
    return boxes


def keep_largest_region(labels: np.ndarray) -> np.ndarray:
    """``labels`` with everything but the largest connected foreground region (all labels together) zeroed."""
    regions = connected_components(labels > 0, connectivity=3)
    if regions.max() == 0:
        return labels
    largest = np.argmax(np.bincount(regions.ravel())[1:]) + 1
    return np.where(regions == largest, labels, 0).astype(labels.dtype)


def side_statistics(labels: np.ndarray, study: sitk.Image, names: dict[int, str]) -> dict:
    """Volume per label (mm3), total, anterior share and centroid (LPS mm) of one side's labels (Z, Y, X)."""
    voxel = float(np.prod(study.GetSpacing()))
    stats = {f"{names.get(k, k)}_mm3": float((labels == k).sum() * voxel) for k in sorted(names)}
    total = float((labels > 0).sum() * voxel)
    stats["total_mm3"] = total
    first = sorted(names)[0] if names else 1
    stats["anterior_share"] = float((labels == first).sum() * voxel / total) if total else 0.0
    where = np.argwhere(labels > 0)
    if len(where):
        z, y, x = where.mean(0)
        stats["centroid_lps_mm"] = list(study.TransformContinuousIndexToPhysicalPoint((float(x), float(y), float(z))))
    stats["regions"] = int(connected_components(labels > 0, connectivity=3).max())
    return stats


def segment_whole_head(
    study: sitk.Image,
    segment_file: Callable[[Path], np.ndarray],
    names: dict[int, str] | None = None,
    min_correlation: float = 0.5,
) -> WholeHeadResult:
    """Segment ``study`` (a whole-head T1 or a crop) with ``segment_file`` (a bundle on a file path, returning
    (Z, Y, X) labels on that file's grid, e.g. :class:`monai_lightseg.inference.BundleSegmenter`).

    Raises :class:`LocalisationError` with the reason when the study cannot be localised, and for a whole head
    when the bundle's metadata says its network is not fit for whole heads (``monai_lightseg_whole_head_refused``:
    the measured reason; crops are still segmented)."""
    names = names or {1: "anterior", 2: "posterior"}
    refused = getattr(segment_file, "metadata", {}).get("monai_lightseg_whole_head_refused")
    with tempfile.TemporaryDirectory() as tmp:
        if refused and not is_crop(study):
            bundle = getattr(segment_file, "bundle_dir", Path("this bundle")).name
            raise LocalisationError(
                f"a whole-head volume, and {bundle} is not fit for whole heads: {refused}; segment whole heads with "
                "hippocampus_mri_unet_segmentation, or crop around the hippocampus first"
            )
        if is_crop(study):
            path = Path(tmp) / "study.nii.gz"
            sitk.WriteImage(study, str(path))
            start = time.perf_counter()
            labels = segment_file(path)
            return WholeHeadResult(labels, False, seconds={"segment": time.perf_counter() - start})
        registration = register_to_template(study, min_correlation=min_correlation)
        if not registration.ok:
            raise LocalisationError(registration.reason)
        boxes = hippocampus_boxes(study, registration)
        full = np.zeros(tuple(reversed(study.GetSize())), dtype=np.uint8)
        sides, start = {}, time.perf_counter()
        for box in boxes:
            crop = sitk.RegionOfInterest(study, box.size, box.index)
            path = Path(tmp) / f"{box.side}.nii.gz"
            sitk.WriteImage(crop, str(path))
            labels = keep_largest_region(segment_file(path))
            (x0, y0, z0), (sx, sy, sz) = box.index, box.size
            region = full[z0 : z0 + sz, y0 : y0 + sy, x0 : x0 + sx]
            region[labels > 0] = labels[labels > 0]  # boxes may overlap near the midline: later side wins there
            sides[box.side] = side_statistics(labels, crop, names)
        seconds = {"register": registration.seconds, "segment": time.perf_counter() - start}
        return WholeHeadResult(full, True, registration, boxes, sides, seconds)
