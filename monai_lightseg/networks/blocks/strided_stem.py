"""A downsampling stem: one strided conv in front of a network that otherwise starts at full resolution."""

from __future__ import annotations

from monai.networks.blocks import Convolution
from torch import nn

from monai_lightseg.networks.utils import check_stem_stride, stem_kernel_size

__all__ = ["stem_conv", "strided_stem"]


def stem_conv(
    spatial_dims: int,
    in_channels: int,
    out_channels: int,
    stride: int,
    act: tuple | str | None,
    norm: tuple | str | None,
    bias: bool,
    owner: str,
) -> Convolution:
    """A conv with norm and act whose kernel suits its stride: 3^n for stride 1 or 2, 5^n for 4 (every input pixel
    is seen; output ``ceil(S / stride)``). ``stride`` must be 1, 2 or 4 (``owner`` names the caller in the error).

    Examples::

        >>> import torch
        >>> stem_conv(2, 3, 8, 4, "relu", "batch", False, "Net")(torch.zeros(1, 3, 65, 64)).shape
        torch.Size([1, 8, 17, 16])
    """
    check_stem_stride(stride, owner)
    return Convolution(
        spatial_dims,
        in_channels,
        out_channels,
        kernel_size=stem_kernel_size(stride),
        strides=stride,
        act=act,
        norm=norm,
        bias=bias,
    )


def strided_stem(
    spatial_dims: int,
    in_channels: int,
    out_channels: int,
    stride: int,
    act: tuple | str | None,
    norm: tuple | str | None,
    bias: bool,
    owner: str,
) -> tuple[nn.Module, int]:
    """``(stem, channels after it)``: for ``stride`` 1 an identity (the seed's layout, ``in_channels`` out),
    else a conv of kernel 3 (stride 2) or 5 (stride 4) with norm and act, ``in_channels -> out_channels``.

    Shapes: (N, C_in, *S) -> (N, C, *ceil(S / stride)).

    Examples::

        >>> import torch
        >>> stem, c = strided_stem(2, 3, 16, 4, "relu", "batch", False, "Net")
        >>> c, tuple(stem(torch.zeros(1, 3, 65, 64)).shape)
        (16, (1, 16, 17, 16))
        >>> strided_stem(3, 1, 8, 1, "relu", "batch", False, "Net")
        (Identity(), 1)
    """
    check_stem_stride(stride, owner)
    if stride == 1:
        return nn.Identity(), in_channels
    return stem_conv(spatial_dims, in_channels, out_channels, stride, act, norm, bias, owner), out_channels
