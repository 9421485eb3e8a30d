"""reparameterize: batch norms folded and linear branches merged, the same function to rounding for every
registered net and variant in 2D and 3D (with random batch-norm statistics: fresh ones are nearly an identity
and would prove nothing), eval-only, exportable, and the original left as it was."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from monai.networks.nets import UNet

from monai_lightseg.networks import create_net, is_reparameterized, list_nets, list_variants, reparameterize
from monai_lightseg.networks.blocks import AsymmetricConv, MultiScaleAsymmetricConv

SHAPES = {2: (1, 3, 40, 56), 3: (1, 1, 20, 24, 16)}
TORCHSCRIPT_DEPRECATION = r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning"
_BatchNorm = torch.nn.modules.batchnorm._BatchNorm


def randomize_batch_norms(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Running statistics and affine parameters far from a fresh batch norm's identity."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, _BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            m.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=g))
            m.weight.data.copy_(0.5 + torch.rand(n, generator=g))
            m.bias.data.copy_(torch.rand(n, generator=g) - 0.5)
    return net.eval()


def _assert_same_function(net: torch.nn.Module, folded: torch.nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        expected, got = net(x), folded(x)
    assert got.shape == expected.shape
    tolerance = 1e-4 * max(1.0, float(expected.abs().max()))
    assert float((got - expected).abs().max()) <= tolerance


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", list_nets())
def test_every_net_and_variant_computes_the_same(name: str, spatial_dims: int) -> None:
    shape = SHAPES[spatial_dims]
    for seed, variant in enumerate(list_variants(name)):
        net = create_net(name, variant, spatial_dims=spatial_dims, in_channels=shape[1], out_channels=2)
        randomize_batch_norms(net, seed)
        before = {k: v.clone() for k, v in net.state_dict().items()}
        folded = reparameterize(net)
        _assert_same_function(net, folded, torch.randn(shape, generator=torch.Generator().manual_seed(seed)))
        assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # the original is untouched
        # what is left: only the batch norms that follow a nonlinearity (EMISNet's LGFE, after its attention)
        left = [n for n, m in folded.named_modules() if isinstance(m, _BatchNorm)]
        assert all(n.endswith("local.3") for n in left), left
        assert not any(isinstance(m, (AsymmetricConv, MultiScaleAsymmetricConv)) for m in folded.modules())


def test_monai_unet_folds_too() -> None:
    net = randomize_batch_norms(UNet(2, 3, 2, channels=(8, 16, 32), strides=(2, 2), num_res_units=2))
    folded = reparameterize(net)
    _assert_same_function(net, folded, torch.randn(1, 3, 32, 48))
    assert not any(isinstance(m, _BatchNorm) for m in folded.modules())


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_monai_baselines_with_transposed_convs_fold(spatial_dims: int) -> None:
    """MONAI's AttentionUnet (batch norm after transposed convs) and BasicUNet: the function is kept."""
    from monai.networks.nets import AttentionUnet, BasicUNet

    shape = (1, 1, 32, 48) if spatial_dims == 2 else (1, 1, 32, 32, 48)
    for net in (
        AttentionUnet(spatial_dims, 1, 2, channels=(4, 8, 16), strides=(2, 2)),
        BasicUNet(spatial_dims, 1, 2, features=(4, 4, 8, 8, 16, 4)),
    ):
        net = randomize_batch_norms(net)
        _assert_same_function(net, reparameterize(net), torch.randn(shape))


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_batch_norm_folds_into_a_transposed_conv(groups: int) -> None:
    """A transposed conv's weight is (C_in, C_out / groups, *k): the scale goes on the right axis per group."""
    seq = torch.nn.Sequential(
        torch.nn.ConvTranspose2d(8, 12, 3, stride=2, groups=groups, bias=groups == 2), torch.nn.BatchNorm2d(12)
    )
    seq = randomize_batch_norms(seq)
    folded = reparameterize(seq)
    assert not any(isinstance(m, _BatchNorm) for m in folded.modules())
    _assert_same_function(seq, folded, torch.randn(2, 8, 7, 9))


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("groups", ["depthwise", "full"])
def test_asymmetric_conv_merges_into_one_kernel_exactly(spatial_dims: int, groups: str) -> None:
    """Also at the borders and with dilation: the merged kernel sees the zero padding the chain saw."""
    c = 6
    block = torch.nn.Sequential(
        AsymmetricConv(spatial_dims, c, c, kernel_size=5, dilation=2, groups=c if groups == "depthwise" else 1,
                       act="relu", norm="batch")
    )  # fmt: skip
    randomize_batch_norms(block)
    folded = reparameterize(block)
    convs = [m for m in folded.modules() if isinstance(m, torch.nn.modules.conv._ConvNd)]
    assert len(convs) == 1 and tuple(convs[0].kernel_size) == (5,) * spatial_dims
    _assert_same_function(block, folded, torch.randn(2, c, *[11] * spatial_dims))


def test_reparameterized_net_is_eval_only() -> None:
    net = create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1)
    folded = reparameterize(net)
    assert is_reparameterized(folded) and not is_reparameterized(net)
    assert reparameterize(folded) is folded
    assert not folded.training and not any(p.requires_grad for p in folded.parameters())
    with pytest.raises(RuntimeError, match="re-parameterised for inference"):
        folded.train()
    folded.eval()  # allowed
    assert net.training  # the original keeps its mode


@pytest.mark.filterwarnings(TORCHSCRIPT_DEPRECATION)
@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", list_nets())
def test_folded_net_exports_to_torchscript_and_onnx(name: str, spatial_dims: int, tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    shape = SHAPES[spatial_dims]
    net = randomize_batch_norms(create_net(name, "tiny", spatial_dims=spatial_dims, in_channels=shape[1],
                                           out_channels=2))  # fmt: skip
    folded = reparameterize(net)
    x = torch.randn(shape)
    with torch.no_grad():
        expected = net(x)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(folded), buffer)
    buffer.seek(0)
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.load(buffer)(x), expected, rtol=1e-4, atol=1e-4)
    path = tmp_path / "folded.onnx"
    torch.onnx.export(folded, (x,), str(path), input_names=["image"], output_names=["logits"], dynamo=True)
    (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x.numpy()})
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-4, atol=1e-4)
