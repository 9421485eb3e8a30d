"""Dictionary wrapper of :class:`AdaptiveHistogramEqualize`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform

from monai_lightseg.transforms.intensity.array import AdaptiveHistogramEqualize

__all__ = ["AdaptiveHistogramEqualized", "AdaptiveHistogramEqualizeD", "AdaptiveHistogramEqualizeDict"]


class AdaptiveHistogramEqualized(MapTransform):
    """``data[key] = AdaptiveHistogramEqualize(...)(data[key])`` for each key.

    Example (fundus preprocessing: green channel, then CLAHE)::

        Lambdad(keys="image", func=lambda x: x[1:2]), AdaptiveHistogramEqualized(keys="image")
    """

    def __init__(
        self,
        keys: KeysCollection,
        clip_limit: float = 0.01,
        kernel_size: int | Sequence[int] | None = None,
        nbins: int = 256,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.equalize = AdaptiveHistogramEqualize(clip_limit, kernel_size, nbins)

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.equalize(d[key])
        return d


AdaptiveHistogramEqualizeD = AdaptiveHistogramEqualizeDict = AdaptiveHistogramEqualized
