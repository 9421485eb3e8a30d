"""Seed A's base information retention (BIR) stem."""

from __future__ import annotations

import torch
from torch import nn

from monai_lightseg.networks.blocks.depthwise_separable import DepthwiseSeparableConv
from monai_lightseg.networks.blocks.strided_stem import stem_conv
from monai_lightseg.networks.utils import check_channels, check_spatial_dims

__all__ = ["BIRBlock"]


class BIRBlock(nn.Module):
    """3^n conv (C_in -> C_out, norm, act), then a depthwise ``kernel_size``^n conv and a pointwise 1^n conv
    (norm, act). The plain 3^n conv comes first because depthwise convs work poorly on few (e.g. RGB)
    channels; the depthwise-separable large kernel then gives a 7x7 receptive field cheaply.

    ``stride`` > 1 makes the first conv strided (kernel 3 for stride 2, 5 for stride 4): the seed's text
    calls the BIR stem the first downsampling stage, and everything after it then runs at 1/stride.

    Shapes: (N, C_in, *S) -> (N, C_out, *ceil(S / stride)).

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: channels.
        kernel_size: depthwise kernel (seed: 7).
        stride: of the first conv (1, 2 or 4).
        act, norm, bias: of the convolutions.

    Examples::

        >>> BIRBlock(2, 3, 16)(torch.zeros(1, 3, 64, 64)).shape
        torch.Size([1, 16, 64, 64])
        >>> BIRBlock(3, 1, 8)(torch.zeros(1, 1, 16, 16, 16)).shape
        torch.Size([1, 8, 16, 16, 16])
        >>> BIRBlock(2, 3, 16, stride=2)(torch.zeros(1, 3, 65, 64)).shape
        torch.Size([1, 16, 33, 32])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 7,
        stride: int = 1,
        act: tuple | str | None = "relu",
        norm: tuple | str | None = "batch",
        bias: bool = False,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims, type(self).__name__)
        check_channels(type(self).__name__, in_channels=in_channels, out_channels=out_channels)
        self.conv = stem_conv(spatial_dims, in_channels, out_channels, stride, act, norm, bias, type(self).__name__)
        self.separable = DepthwiseSeparableConv(
            spatial_dims, out_channels, out_channels, kernel_size=kernel_size, act=act, norm=norm, bias=bias
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.separable(self.conv(x))
