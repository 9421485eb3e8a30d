"""Asymmetric (axis-factorised) convolutions and seed B's multi-scale version."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.networks.blocks import ADN, Convolution
from torch import nn

from monai_lightseg.networks.utils import check_channels, check_spatial_dims

__all__ = ["AsymmetricConv", "MultiScaleAsymmetricConv"]


def _axis_kernel(spatial_dims: int, axis: int, size: int) -> list[int]:
    return [size if a == axis else 1 for a in range(spatial_dims)]


class AsymmetricConv(nn.Module):
    """A k^n convolution factorised into one k-long kernel per axis: 1xk then kx1 in 2D, 1x1xk, 1xkx1, kx1x1
    in 3D. The first conv maps ``in_channels -> out_channels``; the others keep ``out_channels``. No norm or
    activation in between (a rank-1 factorisation of the full kernel); ``act``/``norm`` follow the last conv.

    Shapes: (N, C_in, *S) -> (N, C_out, *S).

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: channels.
        kernel_size: k, odd.
        dilation: dilation along every axis.
        groups: convolution groups (``groups = in_channels = out_channels`` for depthwise).
        act, norm: after the last conv (``None``: none).
        bias: bias of the convolutions.

    Examples::

        >>> AsymmetricConv(2, 8, 16, kernel_size=5)(torch.zeros(1, 8, 32, 32)).shape
        torch.Size([1, 16, 32, 32])
        >>> AsymmetricConv(3, 4, 4)(torch.zeros(1, 4, 8, 8, 8)).shape
        torch.Size([1, 4, 8, 8, 8])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        dilation: int = 1,
        groups: int = 1,
        act: tuple | str | None = None,
        norm: tuple | str | None = None,
        bias: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        check_channels(name, in_channels=in_channels, out_channels=out_channels, groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: groups ({groups}) must divide in_channels ({in_channels}) and out_channels ({out_channels})."
            )
        if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"{name}: kernel_size must be a positive odd integer, got {kernel_size!r}.")
        layers = []
        for i, axis in enumerate(reversed(range(spatial_dims))):  # last axis first: 1xk, then kx1
            last = i == spatial_dims - 1
            layers.append(
                Convolution(
                    spatial_dims,
                    in_channels if i == 0 else out_channels,
                    out_channels,
                    kernel_size=_axis_kernel(spatial_dims, axis, kernel_size),
                    dilation=dilation,
                    groups=groups,
                    act=act if last else None,
                    norm=norm if last else None,
                    bias=bias,
                    conv_only=not last or (act is None and norm is None),
                )
            )
        self.convs = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x)


class MultiScaleAsymmetricConv(nn.Module):
    """Seed B's multi-scale asymmetric convolution: a 1^n pointwise conv (C_in -> C_out), then the output
    channels are split into ``len(kernel_sizes)`` groups and group i gets a depthwise :class:`AsymmetricConv`
    with kernel ``kernel_sizes[i]`` (1xk then kx1 in 2D); the groups are concatenated, then ``norm``, ``act``.

    Seed decision: the text says "multi-scale asymmetric kernels" without sizes, widths or how branches
    merge. A full (non-depthwise) asymmetric branch per scale cost about 6.7 C^2 weights per pixel at
    k = 3, 5, 7; with U2-Net's nested RSU blocks and UNet++ dense skips that put the net at 4 G multiply-adds
    for 256^2 RGB, five times the budget. Mixing kernel sizes over channel groups (as MixConv does) with
    depthwise asymmetric kernels costs ``C_in C_out + 2 * sum(k) * C_out / len(k)`` per pixel in 2D, so the
    net keeps 16 channels at full resolution within budget; the pointwise conv comes first so that the dense
    UNet++ inputs are narrowed before the spatial kernels run.

    Shapes: (N, C_in, *S) -> (N, C_out, *S); needs ``out_channels >= len(kernel_sizes)``.

    Args:
        spatial_dims: 2 or 3.
        in_channels, out_channels: channels.
        kernel_sizes: odd kernel sizes, one channel group each.
        dilation: dilation of every depthwise kernel (RSU blocks dilate their bottom layer).
        act, norm: after the concatenation.
        bias: bias of the convolutions.

    Examples::

        >>> MultiScaleAsymmetricConv(2, 3, 24, kernel_sizes=(3, 5, 7))(torch.zeros(1, 3, 64, 48)).shape
        torch.Size([1, 24, 64, 48])
        >>> MultiScaleAsymmetricConv(3, 8, 8, kernel_sizes=(3, 5))(torch.zeros(1, 8, 8, 8, 8)).shape
        torch.Size([1, 8, 8, 8, 8])
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        kernel_sizes: Sequence[int] = (3, 5, 7),
        dilation: int = 1,
        act: tuple | str | None = "relu",
        norm: tuple | str | None = "batch",
        bias: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_spatial_dims(spatial_dims, name)
        check_channels(name, in_channels=in_channels, out_channels=out_channels, kernel_sizes=kernel_sizes)
        n = len(kernel_sizes)
        if out_channels < n:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be >= the number of kernel sizes ({n}).")
        self.shares = [out_channels // n + (1 if i < out_channels % n else 0) for i in range(n)]
        self.pointwise = Convolution(spatial_dims, in_channels, out_channels, kernel_size=1, bias=bias, conv_only=True)
        self.branches = nn.ModuleList(
            [
                AsymmetricConv(spatial_dims, c, c, kernel_size=k, dilation=dilation, groups=c, bias=bias)
                for k, c in zip(kernel_sizes, self.shares)
            ]
        )
        self.adn = ADN(ordering="NA", in_channels=out_channels, act=act, norm=norm, norm_dim=spatial_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = torch.split(self.pointwise(x), self.shares, dim=1)
        outs: list[torch.Tensor] = []
        for i, branch in enumerate(self.branches):
            outs.append(branch(parts[i]))
        return self.adn(torch.cat(outs, dim=1))
