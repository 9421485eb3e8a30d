"""Small helpers shared by the blocks and nets: argument checks, shape checks, resizing."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "check_spatial_dims",
    "check_channels",
    "check_input_dims",
    "check_stem_stride",
    "stem_kernel_size",
    "upsample_like",
    "interp_mode",
]


def check_spatial_dims(spatial_dims: int, owner: str) -> None:
    """Raise ``ValueError`` unless ``spatial_dims`` is 2 or 3."""
    if spatial_dims not in (2, 3):
        raise ValueError(f"{owner}: spatial_dims must be 2 or 3, got {spatial_dims!r}.")


def check_channels(owner: str, **channels: int | Sequence[int]) -> None:
    """Raise ``ValueError`` unless every given channel count (or sequence of them) is a positive int."""
    for name, value in channels.items():
        values = value if isinstance(value, Sequence) else [value]
        if len(values) == 0:
            raise ValueError(f"{owner}: {name} must not be empty.")
        for v in values:
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{owner}: {name} must hold positive integers, got {value!r}.")


def check_input_dims(x: torch.Tensor, spatial_dims: int, owner: str) -> None:
    """Raise ``ValueError`` unless ``x`` is (N, C, *spatial) with ``spatial_dims`` spatial axes.

    TorchScript-compatible (string concatenation instead of f-strings).
    """
    if x.dim() != spatial_dims + 2:
        raise ValueError(
            owner
            + ": expected a "
            + str(spatial_dims + 2)
            + "D input (N, C, "
            + ("H, W" if spatial_dims == 2 else "D, H, W")
            + ") for spatial_dims="
            + str(spatial_dims)
            + ", got a tensor of shape "
            + str(list(x.shape))
            + "."
        )


def interp_mode(spatial_dims: int) -> str:
    """The linear interpolation mode for ``spatial_dims`` (``bilinear`` or ``trilinear``)."""
    return "bilinear" if spatial_dims == 2 else "trilinear"


def upsample_like(x: torch.Tensor, ref: torch.Tensor, mode: str) -> torch.Tensor:
    """Resize ``x`` (N, C, *S) to the spatial size of ``ref`` (N, C', *S').

    Resizing to the reference's exact size (as U2-Net does) instead of by a fixed factor is what lets
    every net in this package take inputs of any size: max pooling uses ``ceil_mode=True`` and the
    decoder resizes back to each skip's size, so nothing needs to be divisible by a power of two.
    """
    return F.interpolate(x, size=ref.shape[2:], mode=mode, align_corners=False)


def check_stem_stride(stem_stride: int, owner: str) -> None:
    """Raise ``ValueError`` unless ``stem_stride`` is 1, 2 or 4 (how far a network's stem downsamples)."""
    if stem_stride not in (1, 2, 4) or isinstance(stem_stride, bool):
        raise ValueError(f"{owner}: stem_stride must be 1, 2 or 4, got {stem_stride!r}.")


def stem_kernel_size(stem_stride: int) -> int:
    """Kernel of a strided stem conv: 3 for stride 1 or 2, 5 for stride 4 (the smallest odd kernel larger
    than the stride, so every input pixel is seen and the output size is ``ceil(S / stride)``)."""
    return 3 if stem_stride <= 2 else 5
