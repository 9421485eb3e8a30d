"""Dictionary wrapper of :class:`OrthonormalizeAffine`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import torch
from monai.config import KeysCollection
from monai.transforms import InvertibleTransform, MapTransform

from monai_lightseg.transforms.geometry.array import OrthonormalizeAffine

__all__ = ["OrthonormalizeAffined", "OrthonormalizeAffineD", "OrthonormalizeAffineDict"]


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
