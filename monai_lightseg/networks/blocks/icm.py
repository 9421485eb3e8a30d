"""EMIS-Net's information compression module (ICM, seed C)."""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from monai.networks.layers.utils import get_act_layer, get_norm_layer
from torch import nn

from monai_lightseg.networks.utils import check_channels, check_spatial_dims

__all__ = ["ICMBlock"]


class ICMBlock(nn.Module):
    """Narrow-wide-narrow residual block: depthwise ``kernel_size``^n conv (C), 1^n conv to
    ``expansion * C`` with ``act``, 1^n conv back to C, norm, add the block input, ``act``.

    Seed decisions: the text gives three convs (C, 4C, C), batch norm, residual, GELU, but no kernel sizes
    and no activation between the convs. Without one, conv2 and conv3 would collapse into a single linear
    C -> C map, so the wide conv is activated (as in an inverted bottleneck). The first conv is depthwise
    so the block mixes space for ``k^n * C`` weights; the 1^n pair carries the 4x expansion.

    Shapes: (N, C, *S) -> (N, C, *S).

    Args:
        spatial_dims: 2 or 3.
        channels: input = output channels.
        expansion: width factor of the middle conv (seed: 4).
        kernel_size: of the first, depthwise conv.
        act, norm, bias: (seed: GELU, batch norm).

    Examples::

        >>> ICMBlock(2, 32)(torch.zeros(1, 32, 16, 16)).shape
        torch.Size([1, 32, 16, 16])
        >>> ICMBlock(3, 16)(torch.zeros(1, 16, 6, 6, 6)).shape
        torch.Size([1, 16, 6, 6, 6])
    """

    def __init__(
        self,
        spatial_dims: int,
        channels: int,
        expansion: int = 4,
        kernel_size: int = 3,
        act: tuple | str | None = "gelu",
        norm: tuple | str | None = "batch",
        bias: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        check_channels(name, channels=channels, expansion=expansion)
        self.body = nn.Sequential(
            Convolution(
                spatial_dims, channels, channels, kernel_size=kernel_size, groups=channels, bias=bias, conv_only=True
            ),
            Convolution(spatial_dims, channels, expansion * channels, kernel_size=1, act=act, norm=None, bias=bias),
            Convolution(spatial_dims, expansion * channels, channels, kernel_size=1, bias=bias, conv_only=True),
            get_norm_layer(norm, spatial_dims, channels) if norm is not None else nn.Identity(),
        )
        self.act = get_act_layer(act) if act is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + x)
