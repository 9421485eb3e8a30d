"""Coordinate attention (Hou et al., CVPR 2021), written once for 2D and 3D."""

from __future__ import annotations

import torch
from monai.networks.blocks import Convolution
from monai.networks.layers.factories import Conv
from torch import nn

from monai_lightseg.networks.utils import check_channels, check_spatial_dims

__all__ = ["CoordinateAttention"]


class CoordinateAttention(nn.Module):
    """Channel attention that keeps position along each axis.

    For every spatial axis the input is averaged over the *other* axes, giving a (N, C, L_axis) profile.
    The profiles are concatenated along their length, passed through one shared 1-wide conv
    (C -> C/r, norm, act), split back, and each gets its own 1-wide conv (C/r -> C) and a sigmoid.
    The input is multiplied by all per-axis gates. In 2D this is exactly the paper's block (its 1x1 conv
    over the (H+W)x1 map is a 1-wide conv over length H+W); in 3D it adds the depth axis in the same way.
    Written here because MONAI has no coordinate attention.

    Shapes: (N, C, *S) -> (N, C, *S).

    Args:
        spatial_dims: 2 or 3.
        channels: input (= output) channels.
        reduction: channel reduction of the shared conv.
        min_channels: lower bound of the reduced width.
        act, norm: of the shared conv (the paper uses h-swish, an approximation of swish; MONAI has swish).

    Examples::

        >>> CoordinateAttention(2, 32)(torch.zeros(1, 32, 20, 24)).shape
        torch.Size([1, 32, 20, 24])
        >>> CoordinateAttention(3, 16)(torch.zeros(1, 16, 8, 10, 12)).shape
        torch.Size([1, 16, 8, 10, 12])
    """

    def __init__(
        self,
        spatial_dims: int,
        channels: int,
        reduction: int = 8,
        min_channels: int = 8,
        act: tuple | str | None = "swish",
        norm: tuple | str | None = "batch",
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        check_channels(name, channels=channels, reduction=reduction, min_channels=min_channels)
        self.spatial_dims = spatial_dims
        axes = list(range(2, spatial_dims + 2))
        self.pool_axes = [[a for a in axes if a != axis] for axis in axes]  # mean over these
        mid = max(min_channels, channels // reduction)
        self.shared = Convolution(1, channels, mid, kernel_size=1, act=act, norm=norm, bias=False)
        self.gates = nn.ModuleList([Conv[Conv.CONV, 1](mid, channels, kernel_size=1) for _ in range(spatial_dims)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c = x.shape[0], x.shape[1]
        lengths: list[int] = []
        profiles: list[torch.Tensor] = []
        for i, others in enumerate(self.pool_axes):
            profiles.append(x.mean(dim=others))  # (N, C, L_i)
            lengths.append(x.shape[i + 2])
        parts = torch.split(self.shared(torch.cat(profiles, dim=2)), lengths, dim=2)
        out = x
        for i, gate in enumerate(self.gates):
            shape = [n, c]
            for j in range(self.spatial_dims):
                shape.append(lengths[j] if j == i else 1)
            out = out * torch.sigmoid(gate(parts[i])).view(shape)
        return out
