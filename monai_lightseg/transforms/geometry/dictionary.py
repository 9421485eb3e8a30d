"""Dictionary wrappers of :class:`OrthonormalizeAffine` and :class:`StableSpacing`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import DtypeLike, KeysCollection, SequenceStr
from monai.transforms import InvertibleTransform, MapTransform, Spacingd

from monai_lightseg.transforms.geometry.array import OrthonormalizeAffine, StableSpacing

__all__ = [
    "OrthonormalizeAffined",
    "OrthonormalizeAffineD",
    "OrthonormalizeAffineDict",
    "StableSpacingd",
    "StableSpacingD",
    "StableSpacingDict",
]


class OrthonormalizeAffined(MapTransform, InvertibleTransform):
    """:class:`OrthonormalizeAffine` on each key; invertible (``Invertd`` restores each original affine).

    Example (a 3D bundle's preprocessing, right after ``EnsureChannelFirstd``)::

        OrthonormalizeAffined(keys=["image", "label"])
    """

    def __init__(self, keys: KeysCollection, max_deviation: float = 1e-4, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.orthonormalize = OrthonormalizeAffine(max_deviation)

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.orthonormalize(d[key])
        return d

    def inverse(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.orthonormalize.inverse(d[key])
        return d


OrthonormalizeAffineD = OrthonormalizeAffineDict = OrthonormalizeAffined


class StableSpacingd(Spacingd):
    """MONAI's ``Spacingd`` with :class:`StableSpacing` resampling each key: the output grid does not depend on
    header noise far below a voxel. Everything else (per-key modes, ``ensure_same_shape`` so image and label
    get one grid, ``inverse``) is ``Spacingd``'s.

    Example (a 3D bundle's preprocessing, after ``OrthonormalizeAffined`` and ``Orientationd``)::

        StableSpacingd(keys=["image", "label"], pixdim=(1.0, 1.0, 1.0), mode=("bilinear", "nearest"))
    """

    def __init__(
        self,
        keys: KeysCollection,
        pixdim: Sequence[float] | float,
        diagonal: bool = False,
        mode: SequenceStr = "bilinear",
        padding_mode: SequenceStr = "border",
        align_corners: Sequence[bool] | bool = False,
        dtype: Sequence[DtypeLike] | DtypeLike = np.float64,
        scale_extent: bool = False,
        tie_tolerance: float = 1e-4,
        ensure_same_shape: bool = True,
        allow_missing_keys: bool = False,
        lazy: bool = False,
    ) -> None:
        super().__init__(
            keys, pixdim, diagonal=diagonal, mode=mode, padding_mode=padding_mode, align_corners=align_corners,
            dtype=dtype, scale_extent=scale_extent, ensure_same_shape=ensure_same_shape,
            allow_missing_keys=allow_missing_keys, lazy=lazy,
        )  # fmt: skip
        self.spacing_transform = StableSpacing(pixdim, diagonal=diagonal, tie_tolerance=tie_tolerance, lazy=lazy)


StableSpacingD = StableSpacingDict = StableSpacingd
