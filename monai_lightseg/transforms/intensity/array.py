"""Contrast-limited adaptive histogram equalisation (CLAHE), channel by channel."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.transforms import Transform
from monai.utils import convert_to_dst_type
from skimage.exposure import equalize_adapthist

__all__ = ["AdaptiveHistogramEqualize"]


class AdaptiveHistogramEqualize(Transform):
    """CLAHE of each channel with scikit-image's ``equalize_adapthist``, output in ``[0, 1]``.

    MONAI has global histogram equalisation (``HistogramNormalize``) but no local, contrast-limited one; the
    standard preprocessing of retinal fundus images (green channel + CLAHE) needs the local one, so this wraps
    scikit-image's. Each channel is equalised on its own (scikit-image would otherwise treat an RGB image as
    one colour image and equalise its lightness only). scikit-image first stretches each channel to its own
    ``[min, max]``; a constant channel is returned unchanged.

    Shapes: ``(C, *S)`` with 2 or 3 spatial dims, float intensities in ``[0, 1]`` (scale first, e.g. with
    ``ScaleIntensityRange``); output the same shape, type (``MetaTensor`` metadata kept) and dtype.

    Args:
        clip_limit: contrast limit in ``(0, 1]``; higher gives more contrast (scikit-image's default 0.01).
        kernel_size: size of the contextual regions, an int or one per spatial dim; default ``None`` is
            1/8 of each image dimension (scikit-image's default).
        nbins: histogram bins.

    Example::

        >>> AdaptiveHistogramEqualize()(torch.rand(1, 64, 64)).shape
        torch.Size([1, 64, 64])
    """

    def __init__(self, clip_limit: float = 0.01, kernel_size: int | Sequence[int] | None = None, nbins: int = 256):
        if not 0.0 < clip_limit <= 1.0:
            raise ValueError(f"AdaptiveHistogramEqualize: clip_limit must be in (0, 1], got {clip_limit!r}.")
        self.clip_limit, self.kernel_size, self.nbins = clip_limit, kernel_size, nbins

    def _equalize(self, channel: np.ndarray) -> np.ndarray:
        if channel.max() == channel.min():  # scikit-image would stretch a constant channel to all ones
            return channel
        return equalize_adapthist(channel, kernel_size=self.kernel_size, clip_limit=self.clip_limit, nbins=self.nbins)

    def __call__(self, img: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
        array = img.detach().cpu().numpy() if isinstance(img, torch.Tensor) else np.asarray(img)
        if array.ndim not in (3, 4):
            raise ValueError(
                f"AdaptiveHistogramEqualize: expected a channel-first image (C, H, W) or (C, H, W, D), got shape "
                f"{tuple(array.shape)}."
            )
        if not np.issubdtype(array.dtype, np.floating):
            raise TypeError(
                f"AdaptiveHistogramEqualize: expected float intensities in [0, 1], got dtype {array.dtype}; "
                "scale the image first (ScaleIntensityRange)."
            )
        if array.size and (array.min() < 0.0 or array.max() > 1.0):
            raise ValueError(
                f"AdaptiveHistogramEqualize: intensities must lie in [0, 1], got [{array.min()}, {array.max()}]; "
                "scale the image first (ScaleIntensityRange)."
            )
        out = np.stack([self._equalize(channel) for channel in array.astype(np.float64)])
        return convert_to_dst_type(out, img, dtype=img.dtype)[0]
