"""EMIS-Net's efficient feature aggregation module (EFAM, seed C)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.blocks import Convolution
from torch import nn

from monai_lightseg.networks.utils import check_channels, check_spatial_dims

__all__ = ["EFAMBlock"]


class EFAMBlock(nn.Module):
    """Parallel depthwise ``kernel_size``^n convs with dilations ``dilations``, concatenated, then a 1^n conv
    (``len(dilations) * C -> C_out``, norm, act).

    Seed decision: the text's branches are "1x1 kernels with different dilation rates", but dilation does
    nothing to a 1x1 kernel, so all three branches would be the same operation. We keep the text's goals
    (few weights, wider context per branch) with depthwise 3^n kernels: 9 weights per channel in 2D, fewer
    than a 1x1 conv's C per channel once C > 9, while the dilation really widens each branch's field.

    Shapes: (N, C_in, *S) -> (N, C_out, *S).

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: channels.
        dilations: one branch each (default 1, 2, 3).
        kernel_size: depthwise kernel of the branches.
        act, norm, bias: of the fusing conv.

    Examples::

        >>> EFAMBlock(2, 16, 16)(torch.zeros(1, 16, 64, 64)).shape
        torch.Size([1, 16, 64, 64])
        >>> EFAMBlock(3, 8, 8)(torch.zeros(1, 8, 10, 10, 10)).shape
        torch.Size([1, 8, 10, 10, 10])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        dilations: Sequence[int] = (1, 2, 3),
        kernel_size: int = 3,
        act: tuple | str | None = "gelu",
        norm: tuple | str | None = "batch",
        bias: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        check_channels(name, in_channels=in_channels, out_channels=out_channels, dilations=dilations)
        self.branches = nn.ModuleList(
            [
                Convolution(
                    spatial_dims,
                    in_channels,
                    in_channels,
                    kernel_size=kernel_size,
                    dilation=d,
                    groups=in_channels,
                    bias=bias,
                    conv_only=True,
                )
                for d in dilations
            ]
        )
        self.fuse = Convolution(
            spatial_dims, len(dilations) * in_channels, out_channels, kernel_size=1, act=act, norm=norm, bias=bias
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        for branch in self.branches:
            outs.append(branch(x))
        return self.fuse(torch.cat(outs, dim=1))
