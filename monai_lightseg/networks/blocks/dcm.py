"""Seed A's distributed compression module (DCM)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.blocks import Convolution
from monai.networks.layers.utils import get_act_layer
from torch import nn

from monai_lightseg.networks.blocks.spatial_attention import SpatialAttention
from monai_lightseg.networks.utils import check_channels, check_spatial_dims

__all__ = ["DistributedCompressionBlock"]


class DistributedCompressionBlock(nn.Module):
    """The input channels are split into ``len(dilations)`` near-equal groups; group i goes through a 1^n
    conv (-> ``out_channels // compression``, norm, act) and a 3^n conv with dilation ``dilations[i]``
    (-> ``out_channels``, norm); the branch outputs are summed, activated and gated by a
    :class:`SpatialAttention` (7^n); a residual path (1^n conv + norm when C_in != C_out, else identity)
    is added and activated.

    Seed decisions: "the input is split into three groups" is read as a channel split (each branch sees a
    third of the channels, which is what makes the block cheap: it behaves like a grouped conv with a
    different dilation per group); "reduce dims" is a factor ``compression`` (default 4) on the output width
    (the nets use 6 to meet their multiply-add budget).

    Shapes: (N, C_in, *S) -> (N, C_out, *S); needs ``C_in >= len(dilations)``.

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: channels.
        dilations: one 3^n branch per dilation (seed: 1, 2, 4).
        compression: width divisor of the 1^n reduction.
        attention_kernel: kernel of the spatial attention (seed: 7).
        act, norm, bias: of the convolutions.

    Examples::

        >>> DistributedCompressionBlock(2, 16, 32)(torch.zeros(1, 16, 32, 32)).shape
        torch.Size([1, 32, 32, 32])
        >>> DistributedCompressionBlock(3, 24, 24)(torch.zeros(1, 24, 8, 8, 8)).shape
        torch.Size([1, 24, 8, 8, 8])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        dilations: Sequence[int] = (1, 2, 4),
        compression: int = 4,
        attention_kernel: int = 7,
        act: tuple | str | None = "relu",
        norm: tuple | str | None = "batch",
        bias: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        check_channels(
            name, in_channels=in_channels, out_channels=out_channels, dilations=dilations, compression=compression
        )
        n = len(dilations)
        if in_channels < n:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be >= the number of dilations ({n}).")
        self.groups = [in_channels // n + (1 if i < in_channels % n else 0) for i in range(n)]
        mid = max(1, out_channels // compression)
        self.branches = nn.ModuleList(
            [
                nn.Sequential(
                    Convolution(spatial_dims, g, mid, kernel_size=1, act=act, norm=norm, bias=bias),
                    Convolution(
                        spatial_dims, mid, out_channels, kernel_size=3, dilation=d, act=None, norm=norm, bias=bias
                    ),
                )
                for g, d in zip(self.groups, dilations)
            ]
        )
        self.act = get_act_layer(act) if act is not None else nn.Identity()
        self.attention = SpatialAttention(spatial_dims, attention_kernel)
        self.residual = (
            nn.Identity()
            if in_channels == out_channels
            else Convolution(spatial_dims, in_channels, out_channels, kernel_size=1, act=None, norm=norm, bias=bias)
        )
        self.out_act = get_act_layer(act) if act is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(x, self.groups, dim=1)
        outs: list[torch.Tensor] = []
        for i, branch in enumerate(self.branches):
            outs.append(branch(parts[i]))
        y = outs[0]
        for o in outs[1:]:
            y = y + o
        y = self.attention(self.act(y))
        return self.out_act(y + self.residual(x))
