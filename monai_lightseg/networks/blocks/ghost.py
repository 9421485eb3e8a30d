"""Ghost module (Han et al., GhostNet, CVPR 2020): half the features from a conv, half from cheap depthwise ops."""

from __future__ import annotations

import math

import torch
from monai.networks.blocks import Convolution
from torch import nn

from monai_lightseg.networks.utils import check_channels, check_spatial_dims

__all__ = ["GhostModule"]


class GhostModule(nn.Module):
    """A primary 1^n conv makes ``ceil(out / ratio)`` "intrinsic" maps; a depthwise ``dw_kernel_size`` conv
    makes the remaining "ghost" maps from them; both are concatenated and cut to ``out_channels``.

    Shapes: (N, C_in, *S) -> (N, C_out, *S).

    Args:
        spatial_dims: 2 or 3.
        in_channels: input channels.
        out_channels: output channels.
        ratio: how many output maps per intrinsic map (>= 2).
        kernel_size: kernel of the primary conv.
        dw_kernel_size: kernel of the cheap depthwise conv.
        act, norm, bias: of both convolutions (``act=None`` for a linear ghost module).

    Examples::

        >>> GhostModule(2, 16, 32)(torch.zeros(2, 16, 32, 32)).shape
        torch.Size([2, 32, 32, 32])
        >>> GhostModule(3, 8, 12)(torch.zeros(1, 8, 8, 8, 8)).shape
        torch.Size([1, 12, 8, 8, 8])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        ratio: int = 2,
        kernel_size: int = 1,
        dw_kernel_size: int = 3,
        act: tuple | str | None = "relu",
        norm: tuple | str | None = "batch",
        bias: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        check_channels(name, in_channels=in_channels, out_channels=out_channels)
        if not isinstance(ratio, int) or ratio < 2:
            raise ValueError(f"{name}: ratio must be an integer >= 2, got {ratio!r}.")
        self.out_channels = out_channels
        intrinsic = math.ceil(out_channels / ratio)
        self.primary = Convolution(
            spatial_dims, in_channels, intrinsic, kernel_size=kernel_size, act=act, norm=norm, bias=bias
        )
        self.cheap = Convolution(
            spatial_dims,
            intrinsic,
            intrinsic * (ratio - 1),
            kernel_size=dw_kernel_size,
            groups=intrinsic,
            act=act,
            norm=norm,
            bias=bias,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        intrinsic = self.primary(x)
        out = torch.cat([intrinsic, self.cheap(intrinsic)], dim=1)
        return out[:, : self.out_channels]
