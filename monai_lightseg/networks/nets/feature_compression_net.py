"""Seed A: deep segmentation network with feature compression (Kaviani & Shahryari)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.layers.factories import Conv, Dropout, Pool
from torch import nn

from monai_lightseg.networks.blocks.bir import BIRBlock
from monai_lightseg.networks.blocks.dcm import DistributedCompressionBlock
from monai_lightseg.networks.blocks.side_outputs import SideOutputs
from monai_lightseg.networks.utils import (
    check_channels,
    check_input_dims,
    check_spatial_dims,
    interp_mode,
    upsample_like,
)

__all__ = ["FeatureCompressionNet"]


class FeatureCompressionNet(nn.Module):
    """Encoder-decoder with a BIR stem and distributed compression (DCM) blocks.

    ::

        x ─ BIR ─────────────────────────────────────────── cat ─ DCM ─ 1x1 head ─ logits
              └ pool ─ DCM ───────────────────── cat ─ DCM ─┘ up
                         └ pool ─ DCM ─ ... ─ cat ─ DCM ─┘ up
                                    └ pool ─ DCM (bottleneck) ─┘ up

    Encoder: :class:`BIRBlock` at full resolution (``channels[0]``), then per level a 2^n max pool and a
    :class:`DistributedCompressionBlock` (``channels[i]``). Decoder: resize to the skip's size (linear
    interpolation), concatenate the skip, DCM. Head: 1^n conv to ``out_channels`` (raw logits; apply
    sigmoid or softmax outside).

    Speed (issue 16): ``stem_stride=2`` (or 4) makes the BIR stem's first conv strided, as the seed's text
    calls the stem the first downsampling; every level then runs at half (a quarter) the resolution and the
    head's logits are resized (linear interpolation) to the input size. This is the largest single lever
    on a CPU, where the seed net's time went into memory-bound work at full resolution (docs/networks.md).
    The default 1 is the seed's layout, which the shipped weights were trained with.

    Input: (N, in_channels, *S), any S (pooling uses ceil mode and the decoder resizes to each skip, so
    no divisibility is needed; multiples of ``2 ** (len(channels) - 1)`` avoid interpolation).
    Output: (N, out_channels, *S); in training mode with ``deep_supervision=True``:
    (N, len(channels), out_channels, *S), index 0 the main output, then the decoder levels from fine to
    coarse, each resized to S.

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: channels.
        channels: width per level (the first is the BIR stem's); its length sets the depth (>= 2).
        dilations: of the DCM branches (seed: 1, 2, 4).
        compression: DCM width divisor.
        attention_kernel: DCM spatial-attention kernel (seed: 7).
        bir_kernel: depthwise kernel of the stem (seed: 7).
        stem_stride: downsampling of the stem, 1 (seed), 2 or 4 (see above).
        deep_supervision: return side outputs in training mode.
        act, norm, dropout, bias: activation, normalisation, dropout probability at the bottleneck, conv bias.

    Examples::

        >>> net = FeatureCompressionNet(2, 3, 1)
        >>> net.eval()(torch.zeros(1, 3, 256, 256)).shape
        torch.Size([1, 1, 256, 256])
        >>> FeatureCompressionNet(3, 1, 3, channels=(8, 16, 32)).eval()(torch.zeros(1, 1, 32, 40, 36)).shape
        torch.Size([1, 3, 32, 40, 36])
        >>> FeatureCompressionNet(2, 3, 1, stem_stride=2).eval()(torch.zeros(1, 3, 255, 200)).shape
        torch.Size([1, 1, 255, 200])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        channels: Sequence[int] = (16, 24, 48, 96, 192),
        dilations: Sequence[int] = (1, 2, 4),
        compression: int = 6,
        attention_kernel: int = 7,
        bir_kernel: int = 7,
        stem_stride: int = 1,
        deep_supervision: bool = False,
        act: tuple | str | None = "relu",
        norm: tuple | str | None = "batch",
        dropout: float = 0.0,
        bias: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        check_channels(name, in_channels=in_channels, out_channels=out_channels, channels=channels)
        if len(channels) < 2:
            raise ValueError(f"{name}: channels needs at least 2 levels, got {tuple(channels)}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout!r}.")
        self.spatial_dims = spatial_dims
        self.deep_supervision = deep_supervision
        self.mode = interp_mode(spatial_dims)

        def dcm(cin: int, cout: int) -> DistributedCompressionBlock:
            return DistributedCompressionBlock(
                spatial_dims, cin, cout, dilations, compression, attention_kernel, act=act, norm=norm, bias=bias
            )

        self.stem_stride = stem_stride
        self.stem = BIRBlock(
            spatial_dims,
            in_channels,
            channels[0],
            kernel_size=bir_kernel,
            stride=stem_stride,
            act=act,
            norm=norm,
            bias=bias,
        )
        self.pool = Pool[Pool.MAX, spatial_dims](kernel_size=2, stride=2, ceil_mode=True)
        self.encoder = nn.ModuleList([dcm(channels[i - 1], channels[i]) for i in range(1, len(channels))])
        self.dropout = Dropout[Dropout.DROPOUT, spatial_dims](dropout)
        # decoder[0] is the deepest: it fuses the bottleneck with the skip of level len(channels) - 2
        self.decoder = nn.ModuleList(
            [dcm(channels[i + 1] + channels[i], channels[i]) for i in reversed(range(len(channels) - 1))]
        )
        self.head = Conv[Conv.CONV, spatial_dims](channels[0], out_channels, kernel_size=1)
        side_channels = [channels[i] for i in range(1, len(channels) - 1)] if deep_supervision else []
        self.side_outputs = SideOutputs(spatial_dims, side_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input_dims(x, self.spatial_dims, "FeatureCompressionNet")
        h = self.stem(x)
        skips: list[torch.Tensor] = [h]
        for layer in self.encoder:
            h = layer(self.pool(h))
            skips.append(h)
        h = self.dropout(h)
        n = len(skips)
        features: list[torch.Tensor] = []
        for i, layer in enumerate(self.decoder):
            skip = skips[n - 2 - i]
            h = layer(torch.cat([upsample_like(h, skip, self.mode), skip], dim=1))
            features.append(h)
        out = self.head(h)
        if self.stem_stride > 1:
            out = upsample_like(out, x, self.mode)
        if self.training and self.deep_supervision:
            coarse_to_fine = features[:-1]
            fine_to_coarse: list[torch.Tensor] = []
            for j in range(len(coarse_to_fine)):
                fine_to_coarse.append(coarse_to_fine[len(coarse_to_fine) - 1 - j])
            return torch.stack([out] + self.side_outputs(fine_to_coarse, out), dim=1)
        return out
