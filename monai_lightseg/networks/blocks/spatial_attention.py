"""Spatial attention (CBAM's spatial half): a k^n conv over channel-mean and channel-max maps gates every voxel."""

from __future__ import annotations

import torch
from monai.networks.layers.factories import Conv
from torch import nn

from monai_lightseg.networks.utils import check_spatial_dims

__all__ = ["SpatialAttention"]


class SpatialAttention(nn.Module):
    """``x * sigmoid(conv_k([mean_c(x), max_c(x)]))``; the map is (N, 1, *S).

    Seed A's distributed compression module names a 7x7 conv for this map (7^3 in 3D).
    MONAI has no standalone spatial-attention gate (its ``AttentionBlock`` needs a gating signal).

    Shapes: (N, C, *S) -> (N, C, *S).

    Args:
        spatial_dims: 2 or 3.
        kernel_size: odd kernel size of the map's conv.

    Examples::

        >>> SpatialAttention(2)(torch.zeros(1, 8, 32, 32)).shape
        torch.Size([1, 8, 32, 32])
        >>> SpatialAttention(3, kernel_size=5)(torch.zeros(1, 8, 8, 8, 8)).shape
        torch.Size([1, 8, 8, 8, 8])
    """

    def __init__(self, spatial_dims: int, kernel_size: int = 7) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims, type(self).__name__)
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"SpatialAttention: kernel_size must be a positive odd integer, got {kernel_size!r}.")
        self.conv = Conv[Conv.CONV, spatial_dims](2, 1, kernel_size=kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(pooled))
