"""Given lesion locations (``points=``, ``boxes=`` of :class:`LocateThenSegmentInferer`) carried through the
test-time augmentations: a wrapper that flips or resizes the image must flip or resize the locations with it.

Coordinates are those of the tensor's spatial dims in order (2D: row, column), as the inferer takes them: a
point is a pixel index (its centre), a box is ``(start..., stop...)`` with stop exclusive (pixel edges).

Boxes are flipped by MONAI's ``flip_boxes`` (``monai.apps.detection.transforms.box_ops``, same convention). Written
here: points (MONAI's ``ApplyTransformToPoints`` works inside a transform pipeline, not on an inferer's keyword
arguments), and resizing boxes, which must round the edges outwards to keep the whole lesion; MONAI's
``resize_boxes`` casts integer boxes back by truncation (a stop edge at 10.5 becomes 10).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from monai.apps.detection.transforms.box_ops import flip_boxes

__all__ = ["flip_locations", "scale_locations"]

_KEYS = ("points", "boxes")


def _dims_of(kwargs: dict[str, Any], dims: int) -> None:
    for key, name, per_item, meaning in (
        ("points", "point", dims, "one per spatial dim"),
        ("boxes", "box", 2 * dims, "start and stop per spatial dim"),
    ):
        for item in kwargs.get(key) or ():
            if len(item) != per_item:
                raise ValueError(f"{name} {tuple(item)} must have {per_item} numbers for a {dims}D image ({meaning}).")


def flip_locations(kwargs: dict[str, Any], axis: int, shape: Sequence[int]) -> dict[str, Any]:
    """``kwargs`` with its ``points`` and ``boxes`` mirrored along spatial ``axis`` of an image of spatial
    ``shape``: a point's coordinate c becomes n - 1 - c, a box's [a, b) becomes [n - b, n - a). Other keyword
    arguments are passed on as they are; without locations ``kwargs`` itself is returned."""
    if not any(kwargs.get(k) is not None for k in _KEYS):
        return kwargs
    dims = len(shape)
    _dims_of(kwargs, dims)
    n = shape[axis]
    out = dict(kwargs)
    if kwargs.get("points") is not None:
        out["points"] = [tuple(n - 1 - c if d == axis else c for d, c in enumerate(p)) for p in kwargs["points"]]
    if kwargs.get("boxes") is not None:
        boxes = np.asarray(kwargs["boxes"]).reshape(-1, 2 * dims)
        out["boxes"] = [tuple(b) for b in flip_boxes(boxes, tuple(shape), flip_axes=axis).tolist()]
    return out


def scale_locations(kwargs: dict[str, Any], shape: Sequence[int], new_shape: Sequence[int]) -> dict[str, Any]:
    """``kwargs`` with its ``points`` and ``boxes`` moved from an image of spatial ``shape`` to the same image
    resized to ``new_shape`` (``F.interpolate`` with ``align_corners=False``: pixel edges scale by new/old, so a
    centre c goes to (c + 0.5) * new / old - 0.5). Box edges are rounded outwards so that the box still holds the
    whole lesion. Other keyword arguments are passed on as they are; without locations ``kwargs`` is returned."""
    if not any(kwargs.get(k) is not None for k in _KEYS):
        return kwargs
    dims = len(shape)
    _dims_of(kwargs, dims)
    ratios = [new / old for new, old in zip(new_shape, shape)]
    out = dict(kwargs)
    if kwargs.get("points") is not None:
        out["points"] = [tuple((c + 0.5) * r - 0.5 for c, r in zip(p, ratios)) for p in kwargs["points"]]
    if kwargs.get("boxes") is not None:
        out["boxes"] = [
            (
                *(math.floor(a * r + 1e-9) for a, r in zip(b[:dims], ratios)),
                *(math.ceil(z * r - 1e-9) for z, r in zip(b[dims:], ratios)),
            )
            for b in kwargs["boxes"]
        ]
    return out
