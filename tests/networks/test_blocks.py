"""Every block: 2D and 3D shapes, gradients reaching every parameter, odd sizes, bad arguments."""

from __future__ import annotations

import pytest
import torch

from monai_lightseg.networks.blocks import (
    RSU,
    AsymmetricConv,
    BIRBlock,
    CoordinateAttention,
    DepthwiseSeparableConv,
    DistributedCompressionBlock,
    EFAMBlock,
    GhostModule,
    ICMBlock,
    LGFEBlock,
    MultiScaleAsymmetricConv,
    SideOutputs,
    SpatialAttention,
)
from tests.networks.helpers import params_without_grad, random_projection_loss

# (factory(spatial_dims) -> block, in_channels, out_channels)
CASES = {
    "depthwise_separable": (lambda d: DepthwiseSeparableConv(d, 6, 10, kernel_size=5, dilation=2), 6, 10),
    "ghost": (lambda d: GhostModule(d, 6, 9, ratio=3), 6, 9),
    "coordinate_attention": (lambda d: CoordinateAttention(d, 16, reduction=4), 16, 16),
    "spatial_attention": (lambda d: SpatialAttention(d), 5, 5),
    "asymmetric": (lambda d: AsymmetricConv(d, 4, 6, kernel_size=5, norm="batch", act="relu"), 4, 6),
    "multiscale_asymmetric": (lambda d: MultiScaleAsymmetricConv(d, 5, 7, kernel_sizes=(3, 5, 7)), 5, 7),
    "rsu": (lambda d: RSU(d, 3, 4, 6, height=3), 3, 6),
    "rsu_dilated": (lambda d: RSU(d, 3, 4, 6, height=3, dilated=True), 3, 6),
    "bir": (lambda d: BIRBlock(d, 3, 8), 3, 8),
    "dcm": (lambda d: DistributedCompressionBlock(d, 7, 12, compression=3), 7, 12),
    "dcm_identity_residual": (lambda d: DistributedCompressionBlock(d, 9, 9), 9, 9),
    "lgfe": (lambda d: LGFEBlock(d, 4, 8, dilation=2), 4, 8),
    "icm": (lambda d: ICMBlock(d, 8), 8, 8),
    "efam": (lambda d: EFAMBlock(d, 6, 4), 6, 4),
}
ODD = {2: (11, 14), 3: (7, 9, 6)}


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", sorted(CASES))
def test_block_shape_and_gradients(name: str, spatial_dims: int) -> None:
    factory, cin, cout = CASES[name]
    block = factory(spatial_dims).train()
    x = torch.randn(2, cin, *ODD[spatial_dims], requires_grad=True)
    y = block(x)
    assert y.shape == (2, cout, *ODD[spatial_dims])
    random_projection_loss(y).backward()
    assert params_without_grad(block) == []
    assert x.grad is not None and torch.any(x.grad != 0)


def test_coordinate_attention_gates_by_position() -> None:
    """The gate differs along each axis: a row-dependent input gives a row-dependent gain."""
    block = CoordinateAttention(2, 8).eval()
    x = torch.ones(1, 8, 6, 5) * torch.arange(6.0).view(1, 1, 6, 1)
    gain = block(x)[0, 0] / x[0, 0].clamp_min(1e-6)
    assert not torch.allclose(gain[1], gain[5])


def test_asymmetric_conv_is_factorised() -> None:
    conv = AsymmetricConv(3, 2, 2, kernel_size=5)
    kernels = [tuple(m.weight.shape[2:]) for m in conv.modules() if isinstance(m, torch.nn.Conv3d)]
    assert kernels == [(1, 1, 5), (1, 5, 1), (5, 1, 1)]


def test_side_outputs_resize_to_reference() -> None:
    heads = SideOutputs(3, (4, 8), 2)
    outs = heads([torch.zeros(1, 4, 4, 4, 4), torch.zeros(1, 8, 2, 2, 2)], torch.zeros(1, 1, 9, 8, 7))
    assert [tuple(o.shape) for o in outs] == [(1, 2, 9, 8, 7)] * 2
    assert SideOutputs(2, [], 1)([], torch.zeros(1, 1, 4, 4)) == []


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: DepthwiseSeparableConv(4, 3, 3), "spatial_dims must be 2 or 3"),
        (lambda: DepthwiseSeparableConv(2, 0, 3), "in_channels must hold positive integers"),
        (lambda: GhostModule(2, 4, 4, ratio=1), "ratio must be an integer >= 2"),
        (lambda: SpatialAttention(2, kernel_size=4), "positive odd integer"),
        (lambda: AsymmetricConv(2, 4, 4, kernel_size=2), "positive odd integer"),
        (lambda: AsymmetricConv(2, 4, 6, groups=4), "groups (4) must divide"),
        (lambda: MultiScaleAsymmetricConv(2, 4, 2, kernel_sizes=(3, 5, 7)), "must be >= the number of kernel sizes"),
        (lambda: RSU(2, 3, 4, 4, height=1), "height must be an integer >= 2"),
        (lambda: DistributedCompressionBlock(2, 2, 8), "in_channels (2) must be >= the number of dilations (3)"),
        (lambda: CoordinateAttention(2, 8, reduction=0), "reduction must hold positive integers"),
        (lambda: ICMBlock(2, 8, expansion=0), "expansion must hold positive integers"),
        (lambda: EFAMBlock(2, 8, 8, dilations=()), "dilations must not be empty"),
    ],
)
def test_block_bad_arguments(build, message: str) -> None:
    with pytest.raises(ValueError, match=None) as err:
        build()
    assert message in str(err.value)
