"""Seed B: lightweight U2-Net with multi-scale asymmetric convolutions and UNet++ nested skips (Sun et al. 2024)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.layers.factories import Conv, Dropout, Pool
from torch import nn

from monai_lightseg.networks.blocks.rsu import RSU
from monai_lightseg.networks.blocks.strided_stem import strided_stem
from monai_lightseg.networks.utils import (
    check_channels,
    check_input_dims,
    check_spatial_dims,
    interp_mode,
    upsample_like,
)

__all__ = ["LightU2Net"]


class LightU2Net(nn.Module):
    """U2-Net's nested U-structure, made light, with UNet++ dense skips.

    Every node X(i, j) is an :class:`RSU` block at level i (resolution 1/2^i) whose convs are
    multi-scale asymmetric. X(i, 0) is the encoder (max pool 2^n before levels i > 0). The nested nodes
    (UNet++) are X(i, j) = RSU(cat(X(i, 0), ..., X(i, j-1), up(X(i+1, j-1)))) for j >= 1, i + j < L.
    Side outputs (1^n conv) come from the top row X(0, 1..L-1); the main output fuses them with a 1^n conv,
    as U2-Net fuses its side outputs::

        X00 ─────────── X01 ────── X02 ────── X03 ─┬ side1, side2, side3 ─ fuse ─ logits
          └ X10 ─── X11 ─┘ ─ X12 ─┘ ─ (dense skips) ┘
              └ X20 ─ X21 ─┘
                  └ X30 ┘            (every node an RSU; the deepest levels RSU-F)

    Seed decisions: the text gives neither depth nor kernel sizes. Defaults: 4 outer levels (U2-Net has 6),
    RSU heights 5, 4, 3, 3 (U2-Net: 7, 6, 5, 4, 4F, 4F), the deepest level dilated (RSU-F), asymmetric
    kernels k = 3, 5, 7. Widths: the UNet++ dense concatenations feed a 1^n projection at every nested node,
    which at full resolution dominates the cost (about 50-85 M multiply-adds per top-row node at 16 channels
    and 256^2), so the top level is 12 wide and the coarse levels, cheap per pixel, carry the width.

    Speed (issue 16): ``stem_stride=2`` (or 4) puts a strided conv stem (3^n, or 5^n for 4; norm, act;
    ``in_channels -> channels[0]``) before X(0, 0), so the whole grid runs at half (a quarter) the
    resolution; the fused output and side outputs are resized (linear interpolation) to the input size. Not
    in the seed (U2-Net's top row works at full resolution), but the top row of nested RSU nodes was most of
    this net's CPU time (docs/networks.md). The default 1 is the seed's layout, which the shipped weights were
    trained with.

    Input: (N, in_channels, *S), any S (ceil-mode pooling, resize-to-skip upsampling).
    Output: (N, out_channels, *S); in training mode with ``deep_supervision=True``:
    (N, len(channels), out_channels, *S): index 0 the fused output, then the side outputs X(0, 1..L-1).

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: channels.
        channels: RSU output width per level; its length L sets the depth (>= 2).
        mid_channels: RSU inner width per level.
        heights: RSU height per level (>= 2).
        dilated_levels: how many of the deepest levels use RSU-F.
        kernel_sizes: of the multi-scale asymmetric convs.
        stem_stride: 1 (seed: no stem), 2 or 4 (a strided conv stem, see above).
        deep_supervision: return side outputs in training mode.
        act, norm, dropout, bias: activation, normalisation, dropout at the deepest node, conv bias.

    Examples::

        >>> LightU2Net(2, 3, 1).eval()(torch.zeros(1, 3, 256, 256)).shape
        torch.Size([1, 1, 256, 256])
        >>> LightU2Net(3, 1, 3, channels=(8, 16, 32), mid_channels=(4, 8, 16), heights=(3, 3, 2)).eval()(
        ...     torch.zeros(1, 1, 32, 40, 36)).shape
        torch.Size([1, 3, 32, 40, 36])
        >>> LightU2Net(2, 3, 1, stem_stride=2).eval()(torch.zeros(1, 3, 255, 200)).shape
        torch.Size([1, 1, 255, 200])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        channels: Sequence[int] = (12, 24, 64, 128),
        mid_channels: Sequence[int] = (6, 12, 32, 64),
        heights: Sequence[int] = (5, 4, 3, 3),
        dilated_levels: int = 1,
        kernel_sizes: Sequence[int] = (3, 5, 7),
        stem_stride: int = 1,
        deep_supervision: bool = True,
        act: tuple | str | None = "relu",
        norm: tuple | str | None = "batch",
        dropout: float = 0.0,
        bias: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        check_channels(
            name,
            in_channels=in_channels,
            out_channels=out_channels,
            channels=channels,
            mid_channels=mid_channels,
            heights=heights,
        )
        levels = len(channels)
        if levels < 2:
            raise ValueError(f"{name}: channels needs at least 2 levels, got {tuple(channels)}.")
        if len(mid_channels) != levels or len(heights) != levels:
            raise ValueError(
                f"{name}: mid_channels and heights need one entry per level of channels ({levels}), "
                f"got {tuple(mid_channels)} and {tuple(heights)}."
            )
        if not isinstance(dilated_levels, int) or not 0 <= dilated_levels <= levels:
            raise ValueError(f"{name}: dilated_levels must be an integer in [0, {levels}], got {dilated_levels!r}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout!r}.")
        self.spatial_dims = spatial_dims
        self.stem_stride = stem_stride
        self.deep_supervision = deep_supervision
        self.mode = interp_mode(spatial_dims)

        def node(level: int, cin: int) -> RSU:
            return RSU(
                spatial_dims,
                cin,
                mid_channels[level],
                channels[level],
                height=heights[level],
                dilated=level >= levels - dilated_levels,
                kernel_sizes=kernel_sizes,
                act=act,
                norm=norm,
                bias=bias,
            )

        self.stem, stem_channels = strided_stem(
            spatial_dims, in_channels, channels[0], stem_stride, act, norm, bias, name
        )
        self.pool = Pool[Pool.MAX, spatial_dims](kernel_size=2, stride=2, ceil_mode=True)
        self.encoder = nn.ModuleList([node(i, stem_channels if i == 0 else channels[i - 1]) for i in range(levels)])
        self.dropout = Dropout[Dropout.DROPOUT, spatial_dims](dropout)
        # nested nodes in computation order: column j = 1..L-1, then level i = 0..L-1-j
        node_level, nested = [], []
        for j in range(1, levels):
            for i in range(levels - j):
                node_level.append(i)
                nested.append(node(i, j * channels[i] + channels[i + 1]))
        self.node_level = node_level
        self.nested = nn.ModuleList(nested)
        self.side_heads = nn.ModuleList(
            [Conv[Conv.CONV, spatial_dims](channels[0], out_channels, kernel_size=1) for _ in range(levels - 1)]
        )
        self.fuse = Conv[Conv.CONV, spatial_dims]((levels - 1) * out_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_dims(x, self.spatial_dims, "LightU2Net")
        grid: list[list[torch.Tensor]] = []
        h = self.stem(x)
        for i, layer in enumerate(self.encoder):
            h = layer(h if i == 0 else self.pool(h))
            grid.append([h])
        deepest = len(grid) - 1
        grid[deepest][0] = self.dropout(grid[deepest][0])
        for k, layer in enumerate(self.nested):
            i = self.node_level[k]
            row = grid[i]
            below = grid[i + 1][len(row) - 1]
            h = layer(torch.cat(row + [upsample_like(below, row[0], self.mode)], dim=1))
            row.append(h)
        sides: list[torch.Tensor] = []
        for j, head in enumerate(self.side_heads):
            sides.append(head(grid[0][j + 1]))
        out = self.fuse(torch.cat(sides, dim=1))
        if self.stem_stride > 1:
            out = upsample_like(out, x, self.mode)
        if self.training and self.deep_supervision:
            if self.stem_stride > 1:
                resized: list[torch.Tensor] = []
                for side in sides:
                    resized.append(upsample_like(side, x, self.mode))
                sides = resized
            return torch.stack([out] + sides, dim=1)
        return out
