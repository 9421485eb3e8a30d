"""Depthwise separable convolution: a per-channel k^n convolution followed by a 1^n pointwise one."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.blocks import Convolution
from torch import nn

from monai_lightseg.networks.utils import check_channels, check_spatial_dims

__all__ = ["DepthwiseSeparableConv"]


class DepthwiseSeparableConv(nn.Module):
    """Depthwise k^n convolution (``groups=in_channels``) then pointwise 1^n convolution.

    Costs ``k^n * C_in + C_in * C_out`` weights instead of ``k^n * C_in * C_out``.

    Shapes: (N, C_in, *S) -> (N, C_out, *S), S unchanged (``same`` padding, stride 1).

    Args:
        spatial_dims: 2 or 3.
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: depthwise kernel size.
        dilation: depthwise dilation.
        depthwise_act: activation after the depthwise conv (``None``: none).
        depthwise_norm: normalisation after the depthwise conv (``None``: none).
        act, norm: after the pointwise conv.
        bias: bias of the convolutions.

    Examples::

        >>> DepthwiseSeparableConv(2, 16, 32, kernel_size=7)(torch.zeros(1, 16, 64, 64)).shape
        torch.Size([1, 32, 64, 64])
        >>> DepthwiseSeparableConv(3, 8, 8)(torch.zeros(1, 8, 16, 16, 16)).shape
        torch.Size([1, 8, 16, 16, 16])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int] = 3,
        dilation: int | Sequence[int] = 1,
        depthwise_act: tuple | str | None = None,
        depthwise_norm: tuple | str | None = None,
        act: tuple | str | None = "relu",
        norm: tuple | str | None = "batch",
        bias: bool = False,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims, type(self).__name__)
        check_channels(type(self).__name__, in_channels=in_channels, out_channels=out_channels)
        self.depthwise = Convolution(
            spatial_dims,
            in_channels,
            in_channels,
            kernel_size=kernel_size,
            dilation=dilation,
            groups=in_channels,
            act=depthwise_act,
            norm=depthwise_norm,
            bias=bias,
        )
        self.pointwise = Convolution(
            spatial_dims, in_channels, out_channels, kernel_size=1, act=act, norm=norm, bias=bias
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))
