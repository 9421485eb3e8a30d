"""Dictionary wrapper of :class:`BlendMaskOverlay`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import torch
from monai.transforms import MapTransform

from monai_lightseg.transforms.overlay.array import BlendMaskOverlay

__all__ = ["BlendMaskOverlayd", "BlendMaskOverlayD", "BlendMaskOverlayDict"]


class BlendMaskOverlayd(MapTransform):
    """``data[overlay_key] = BlendMaskOverlay(alpha, color)(data[image_key], data[mask_key])``.

    Example (inference postprocessing, before ``SaveImaged(keys="overlay", output_postfix="overlay")``)::

        BlendMaskOverlayd(image_key="image", mask_key="pred", overlay_key="overlay")
    """

    def __init__(
        self,
        image_key: Hashable = "image",
        mask_key: Hashable = "pred",
        overlay_key: Hashable = "overlay",
        alpha: float = 0.4,
        color: Sequence[float] = (1.0, 0.0, 0.0),
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__([image_key, mask_key], allow_missing_keys)
        self.image_key, self.mask_key, self.overlay_key = image_key, mask_key, overlay_key
        self.blend = BlendMaskOverlay(alpha, color)

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        if self.allow_missing_keys and (self.image_key not in d or self.mask_key not in d):
            return d
        d[self.overlay_key] = self.blend(d[self.image_key], d[self.mask_key])
        return d


BlendMaskOverlayD = BlendMaskOverlayDict = BlendMaskOverlayd
