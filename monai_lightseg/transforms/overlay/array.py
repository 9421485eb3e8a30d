"""An RGB overlay of a binary mask on its image, for people to look at next to the mask file."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.data import MetaTensor
from monai.transforms import Transform

__all__ = ["BlendMaskOverlay"]


class BlendMaskOverlay(Transform):
    """``image * (1 - alpha * m) + alpha * m * color`` per pixel, m the binary mask; uint8 output.

    Written here because MONAI's ``blend_images`` needs matplotlib for its colour map; a fixed-colour
    blend is all a review overlay needs.

    Shapes: image (C, *S) with C in {1, 3} (1 is repeated to RGB), intensities in ``[0, 1]``;
    mask (1, *S) or (*S), non-zero = foreground; output (3, *S) uint8, a ``MetaTensor`` carrying the
    image's metadata when the image has some (so writers name the file after the image).

    Args:
        alpha: opacity of the colour on the mask, in [0, 1].
        color: RGB in [0, 1].

    Example::

        >>> BlendMaskOverlay()(torch.rand(3, 8, 8), torch.ones(1, 8, 8)).shape
        torch.Size([3, 8, 8])
    """

    def __init__(self, alpha: float = 0.4, color: Sequence[float] = (1.0, 0.0, 0.0)) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"BlendMaskOverlay: alpha must be in [0, 1], got {alpha!r}.")
        if len(color) != 3 or not all(0.0 <= c <= 1.0 for c in color):
            raise ValueError(f"BlendMaskOverlay: color must be three values in [0, 1], got {color!r}.")
        self.alpha = alpha
        self.color = tuple(float(c) for c in color)

    def __call__(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        img = torch.as_tensor(image).float()
        if img.shape[0] == 1:
            img = img.repeat(3, *([1] * (img.dim() - 1)))
        if img.shape[0] != 3:
            raise ValueError(f"BlendMaskOverlay: image must have 1 or 3 channels, got shape {tuple(img.shape)}.")
        m = torch.as_tensor(mask).float()
        m = m[:1] if m.dim() == img.dim() else m.unsqueeze(0)
        if m.shape[1:] != img.shape[1:]:
            raise ValueError(
                f"BlendMaskOverlay: mask shape {tuple(m.shape[1:])} != image shape {tuple(img.shape[1:])}."
            )
        m = (m != 0).float() * self.alpha
        color = torch.tensor(self.color).view(3, *([1] * (img.dim() - 1)))
        out = (img.clamp(0, 1) * (1 - m) + m * color) * 255
        out = out.round().to(torch.uint8)
        if isinstance(image, MetaTensor):
            return MetaTensor(out, meta=dict(image.meta), applied_operations=list(image.applied_operations))
        return out
