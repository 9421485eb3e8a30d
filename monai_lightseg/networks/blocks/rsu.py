"""Residual U-block (RSU) of U2-Net (Qin et al., Pattern Recognition 2020) with pluggable conv layers."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.layers.factories import Pool
from torch import nn

from monai_lightseg.networks.blocks.asymmetric_conv import MultiScaleAsymmetricConv
from monai_lightseg.networks.utils import check_channels, check_spatial_dims, interp_mode, upsample_like

__all__ = ["RSU"]


class RSU(nn.Module):
    """RSU-L: an input conv (C_in -> C_out), a small U-Net of height ``height`` on ``mid_channels`` and a
    residual add of the input conv's output. Every conv is a :class:`MultiScaleAsymmetricConv` (seed B).

    ``dilated=False`` (RSU-L): the inner U-Net pools ``height - 2`` times (max pool 2, ceil mode) and its
    bottom layer has dilation 2. ``dilated=True`` (RSU-LF, for coarse levels): no pooling; the encoder
    layers have dilation 1, 2, 4, ..., the bottom ``2^(height-1)``, the decoder mirrors the encoder.
    The decoder resizes to each skip's exact size, so any input size works.

    Shapes: (N, C_in, *S) -> (N, C_out, *S).

    Args:
        spatial_dims: 2 or 3.
        in_channels, mid_channels, out_channels: channels.
        height: L >= 2, the number of encoder layers including the bottom one.
        dilated: RSU-LF (dilation instead of pooling).
        kernel_sizes: of the multi-scale asymmetric convs.
        act, norm, bias: of every conv.

    Examples::

        >>> RSU(2, 3, 8, 16, height=4)(torch.zeros(1, 3, 50, 37)).shape
        torch.Size([1, 16, 50, 37])
        >>> RSU(3, 8, 4, 8, height=3, dilated=True)(torch.zeros(1, 8, 6, 7, 5)).shape
        torch.Size([1, 8, 6, 7, 5])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        mid_channels: int,
        out_channels: int,
        height: int = 4,
        dilated: bool = False,
        kernel_sizes: Sequence[int] = (3, 5, 7),
        act: tuple | str | None = "relu",
        norm: tuple | str | None = "batch",
        bias: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        check_channels(name, in_channels=in_channels, mid_channels=mid_channels, out_channels=out_channels)
        if not isinstance(height, int) or height < 2:
            raise ValueError(f"{name}: height must be an integer >= 2, got {height!r}.")
        self.dilated = dilated
        self.mode = interp_mode(spatial_dims)

        def conv(cin: int, cout: int, dilation: int) -> MultiScaleAsymmetricConv:
            return MultiScaleAsymmetricConv(
                spatial_dims, cin, cout, kernel_sizes, dilation=dilation, act=act, norm=norm, bias=bias
            )

        enc_dil = [2**i if dilated else 1 for i in range(height - 1)]
        bottom_dil = 2 ** (height - 1) if dilated else 2
        self.conv_in = conv(in_channels, out_channels, 1)
        self.encoder = nn.ModuleList(
            [conv(out_channels if i == 0 else mid_channels, mid_channels, d) for i, d in enumerate(enc_dil)]
        )
        self.bottom = conv(mid_channels, mid_channels, bottom_dil)
        # decoder[0] is the deepest; decoder[-1] maps back to out_channels
        self.decoder = nn.ModuleList(
            [
                conv(2 * mid_channels, out_channels if i == height - 2 else mid_channels, enc_dil[height - 2 - i])
                for i in range(height - 1)
            ]
        )
        self.pool = Pool[Pool.MAX, spatial_dims](kernel_size=2, stride=2, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_in = self.conv_in(x)
        skips: list[torch.Tensor] = []
        h = x_in
        for i, layer in enumerate(self.encoder):
            if i > 0 and not self.dilated:
                h = self.pool(h)
            h = layer(h)
            skips.append(h)
        h = self.bottom(h)
        n = len(skips)
        for i, layer in enumerate(self.decoder):
            skip = skips[n - 1 - i]
            if i > 0 and not self.dilated:
                h = upsample_like(h, skip, self.mode)
            h = layer(torch.cat([h, skip], dim=1))
        return h + x_in
