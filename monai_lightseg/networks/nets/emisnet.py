"""Seed C: EMIS-Net, an efficient low-parameter lesion (ROI) segmentation network."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.layers.factories import Conv, Dropout, Pool
from torch import nn

from monai_lightseg.networks.blocks.efam import EFAMBlock
from monai_lightseg.networks.blocks.icm import ICMBlock
from monai_lightseg.networks.blocks.lgfe import LGFEBlock
from monai_lightseg.networks.blocks.side_outputs import SideOutputs
from monai_lightseg.networks.blocks.strided_stem import strided_stem
from monai_lightseg.networks.utils import (
    check_channels,
    check_input_dims,
    check_spatial_dims,
    interp_mode,
    upsample_like,
)

__all__ = ["EMISNet"]


class EMISNet(nn.Module):
    """LGFE encoder, ICM bottleneck, LGFE decoder, EFAM aggregation, OutConv.

    ::

        x ─ LGFE×d0 ───────────────────────────────── cat ─ LGFE ─ EFAM ─ OutConv ─ logits
              └ pool ─ LGFE×d1 ─────────────── cat ─ LGFE ─┘ up
                         └ pool ─ ... ─ LGFE×dK ─ ICM×m ─┘ up

    Encoder level i: (max pool 2^n if i > 0), then ``encoder_depths[i]`` :class:`LGFEBlock` s, the first
    changing the width to ``channels[i]``. The deepest level is followed by ``num_icm`` :class:`ICMBlock` s
    (the seed's information compression between encoder and decoder). Decoder level i: resize to the
    skip's size, concatenate it, one LGFE block (the seed: decoder blocks have the LGFE structure).
    :class:`EFAMBlock` aggregates the last decoder features; a 1^n OutConv gives raw logits.

    Seed decisions (details in the blocks): the second LGFE branch is 3^n with dilation ``dilation``
    (the text's dilated 1x1 is a no-op); EFAM branches are depthwise 3^n; the "stage compute ratio" is
    ``encoder_depths``, weighted to the coarse levels where blocks are cheap.

    Speed (issue 16): ``stem_stride=2`` (or 4) puts a strided conv stem (3^n, or 5^n for 4; norm, act;
    ``in_channels -> channels[0]``) before the first LGFE stage, so every level runs at half (a quarter) the
    resolution, and the logits are resized (linear interpolation) to the input size. Not in the seed, whose
    first LGFE stage works on the input's full resolution; on a CPU that stage and the last decoder level
    were where the time went (memory-bound depthwise and pointwise convs on 16 channels, docs/networks.md).
    The default 1 is the seed's layout, which the shipped weights were trained with.

    Input: (N, in_channels, *S), any S (ceil-mode pooling, decoder resizes to each skip).
    Output: (N, out_channels, *S); in training mode with ``deep_supervision=True``:
    (N, len(channels), out_channels, *S), index 0 the main output, then decoder levels fine to coarse.

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: channels.
        channels: width per level; its length sets the depth (>= 2).
        encoder_depths: LGFE blocks per encoder level (same length as ``channels``).
        num_icm: ICM blocks at the bottleneck.
        dilation, dilated_kernel_size: the LGFE context branch (seed text: dilation 7).
        efam_dilations: EFAM branches.
        stem_stride: 1 (seed: no stem), 2 or 4 (a strided conv stem, see above).
        deep_supervision: return side outputs in training mode.
        act, norm, dropout, bias: activation (seed: GELU), normalisation (seed: batch), dropout at the
            bottleneck, conv bias.

    Examples::

        >>> EMISNet(2, 3, 1).eval()(torch.zeros(1, 3, 256, 256)).shape
        torch.Size([1, 1, 256, 256])
        >>> EMISNet(3, 1, 3, channels=(8, 16, 32), encoder_depths=(1, 1, 1), dilation=2).eval()(
        ...     torch.zeros(1, 1, 32, 40, 36)).shape
        torch.Size([1, 3, 32, 40, 36])
        >>> EMISNet(2, 3, 1, stem_stride=2).eval()(torch.zeros(1, 3, 255, 200)).shape
        torch.Size([1, 1, 255, 200])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        channels: Sequence[int] = (16, 24, 48, 96, 192),
        encoder_depths: Sequence[int] = (1, 1, 2, 2, 2),
        num_icm: int = 1,
        dilation: int = 7,
        dilated_kernel_size: int = 3,
        efam_dilations: Sequence[int] = (1, 2, 3),
        stem_stride: int = 1,
        deep_supervision: bool = False,
        act: tuple | str | None = "gelu",
        norm: tuple | str | None = "batch",
        dropout: float = 0.0,
        bias: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        check_channels(
            name, in_channels=in_channels, out_channels=out_channels, channels=channels, encoder_depths=encoder_depths
        )
        if len(channels) < 2:
            raise ValueError(f"{name}: channels needs at least 2 levels, got {tuple(channels)}.")
        if len(encoder_depths) != len(channels):
            raise ValueError(
                f"{name}: encoder_depths needs one entry per level of channels ({len(channels)}), "
                f"got {tuple(encoder_depths)}."
            )
        if not isinstance(num_icm, int) or num_icm < 0:
            raise ValueError(f"{name}: num_icm must be a non-negative integer, got {num_icm!r}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout!r}.")
        self.spatial_dims = spatial_dims
        self.stem_stride = stem_stride
        self.deep_supervision = deep_supervision
        self.mode = interp_mode(spatial_dims)

        def lgfe(cin: int, cout: int) -> LGFEBlock:
            return LGFEBlock(
                spatial_dims,
                cin,
                cout,
                dilated_kernel_size=dilated_kernel_size,
                dilation=dilation,
                act=act,
                norm=norm,
                bias=bias,
            )

        self.stem, stem_channels = strided_stem(
            spatial_dims, in_channels, channels[0], stem_stride, act, norm, bias, name
        )
        self.pool = Pool[Pool.MAX, spatial_dims](kernel_size=2, stride=2, ceil_mode=True)
        stages = []
        for i, (width, depth) in enumerate(zip(channels, encoder_depths)):
            cin = stem_channels if i == 0 else channels[i - 1]
            stages.append(nn.Sequential(*[lgfe(cin if b == 0 else width, width) for b in range(depth)]))
        self.encoder = nn.ModuleList(stages)
        self.bottleneck = nn.Sequential(
            *[ICMBlock(spatial_dims, channels[-1], act=act, norm=norm, bias=bias) for _ in range(num_icm)],
            Dropout[Dropout.DROPOUT, spatial_dims](dropout),
        )
        self.decoder = nn.ModuleList(
            [lgfe(channels[i + 1] + channels[i], channels[i]) for i in reversed(range(len(channels) - 1))]
        )
        self.efam = EFAMBlock(spatial_dims, channels[0], channels[0], efam_dilations, act=act, norm=norm, bias=bias)
        self.out_conv = Conv[Conv.CONV, spatial_dims](channels[0], out_channels, kernel_size=1)
        side_channels = [channels[i] for i in range(1, len(channels) - 1)] if deep_supervision else []
        self.side_outputs = SideOutputs(spatial_dims, side_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_dims(x, self.spatial_dims, "EMISNet")
        skips: list[torch.Tensor] = []
        h = self.stem(x)
        for i, stage in enumerate(self.encoder):
            h = stage(h if i == 0 else self.pool(h))
            skips.append(h)
        h = self.bottleneck(h)
        n = len(skips)
        features: list[torch.Tensor] = []
        for i, layer in enumerate(self.decoder):
            skip = skips[n - 2 - i]
            h = layer(torch.cat([upsample_like(h, skip, self.mode), skip], dim=1))
            features.append(h)
        out = self.out_conv(self.efam(h))
        if self.stem_stride > 1:
            out = upsample_like(out, x, self.mode)
        if self.training and self.deep_supervision:
            coarse = features[:-1]
            fine_to_coarse: list[torch.Tensor] = []
            for j in range(len(coarse)):
                fine_to_coarse.append(coarse[len(coarse) - 1 - j])
            return torch.stack([out] + self.side_outputs(fine_to_coarse, out), dim=1)
        return out
