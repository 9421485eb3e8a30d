"""Deep-supervision heads: a 1^n conv per decoder level, resized to the output's size."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.layers.factories import Conv
from torch import nn

from monai_lightseg.networks.utils import check_channels, check_spatial_dims, interp_mode, upsample_like

__all__ = ["SideOutputs"]


class SideOutputs(nn.Module):
    """One 1^n conv (C_i -> out_channels) per feature map, each resized (linear interpolation) to ``ref``.

    Shapes: a list of (N, C_i, *S_i) and ``ref`` (N, *, *S) -> a list of (N, out_channels, *S).

    Examples::

        >>> heads = SideOutputs(2, (32, 64), 1)
        >>> outs = heads([torch.zeros(1, 32, 16, 16), torch.zeros(1, 64, 8, 8)], torch.zeros(1, 1, 64, 64))
        >>> [tuple(o.shape) for o in outs]
        [(1, 1, 64, 64), (1, 1, 64, 64)]
    """

    def __init__(self, spatial_dims: int, in_channels: Sequence[int], out_channels: int) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims, type(self).__name__)
        if len(in_channels) > 0:  # empty: no heads (deep supervision off)
            check_channels(type(self).__name__, in_channels=in_channels, out_channels=out_channels)
        self.mode = interp_mode(spatial_dims)
        self.heads = nn.ModuleList([Conv[Conv.CONV, spatial_dims](c, out_channels, kernel_size=1) for c in in_channels])

    def forward(self, features: list[torch.Tensor], ref: torch.Tensor) -> list[torch.Tensor]:
        outs: list[torch.Tensor] = []
        for i, head in enumerate(self.heads):
            outs.append(upsample_like(head(features[i]), ref, self.mode))
        return outs
