"""Every registered net and variant in 2D and 3D: shapes, train/eval outputs, gradients, odd sizes, errors."""

from __future__ import annotations

import pytest
import torch

from monai_lightseg.networks import EMISNet, FeatureCompressionNet, LightU2Net, create_net, list_nets, list_variants
from tests.networks.helpers import params_without_grad, random_projection_loss

NETS = list_nets()
SHAPES = {2: (2, 3, 64, 48), 3: (2, 1, 24, 20, 16)}
ODD_SHAPES = {2: (1, 3, 37, 53), 3: (1, 1, 13, 19, 11)}
DEFAULT_DS = {"feature_compression_net": False, "emisnet": False, "light_u2net": True}
LEVELS = {"feature_compression_net": 5, "emisnet": 5, "light_u2net": 4}  # len(channels) of the defaults


def build(name: str, spatial_dims: int, variant: str = "tiny", **kwargs) -> torch.nn.Module:
    in_ch = SHAPES[spatial_dims][1]
    return create_net(name, variant, spatial_dims=spatial_dims, in_channels=in_ch, out_channels=3, **kwargs)


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("variant", ["tiny", "small", "base", "fast"])
@pytest.mark.parametrize("name", NETS)
def test_eval_output_shape(name: str, variant: str, spatial_dims: int) -> None:
    net = build(name, spatial_dims, variant).eval()
    shape = SHAPES[spatial_dims]
    with torch.no_grad():
        y = net(torch.randn(shape))
    assert y.shape == (shape[0], 3, *shape[2:])
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", NETS)
def test_training_output_stacks_deep_supervision(name: str, spatial_dims: int) -> None:
    shape = SHAPES[spatial_dims]
    net = build(name, spatial_dims, deep_supervision=True).train()
    y = net(torch.randn(shape))
    levels = len(net.side_outputs.heads) + 1 if hasattr(net, "side_outputs") else len(net.side_heads) + 1
    assert y.shape == (shape[0], levels, 3, *shape[2:])
    net.eval()
    with torch.no_grad():
        main = net(torch.randn(shape))
    assert main.shape == (shape[0], 3, *shape[2:])


@pytest.mark.parametrize("name", NETS)
def test_deep_supervision_default_and_off(name: str) -> None:
    shape = SHAPES[2]
    net = build(name, 2, variant="base").train()
    y = net(torch.randn(shape))
    if DEFAULT_DS[name]:
        assert y.shape == (shape[0], LEVELS[name], 3, *shape[2:])
    else:
        assert y.shape == (shape[0], 3, *shape[2:])
    plain = build(name, 2, deep_supervision=False).train()
    assert plain(torch.randn(shape)).shape == (shape[0], 3, *shape[2:])


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", NETS)
def test_backward_reaches_every_parameter(name: str, spatial_dims: int) -> None:
    net = build(name, spatial_dims, deep_supervision=True).train()
    random_projection_loss(net(torch.randn(SHAPES[spatial_dims]))).backward()
    assert params_without_grad(net) == []


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", NETS)
def test_channels_last_layout_computes_the_same(name: str, spatial_dims: int) -> None:
    """The bundles train in channels-last layout (faster depthwise convs on CPU): same outputs and gradients.

    Compared in float64. In float32 the gradients of these tiny inputs are ill-conditioned (train-mode batch
    norm over the 1-2 pixel maps of the deepest stages amplifies rounding): LightU2Net's differed by 2 % between
    layouts in float32 while agreeing to 1e-14 in float64, so float32 could not tell a layout bug from rounding.
    """
    layout = torch.channels_last if spatial_dims == 2 else torch.channels_last_3d
    torch.manual_seed(0)
    net = build(name, spatial_dims, deep_supervision=True).train().double()
    twin = build(name, spatial_dims, deep_supervision=True).train().double()
    twin.load_state_dict(net.state_dict())
    twin = twin.to(memory_format=layout)
    x = torch.randn(SHAPES[spatial_dims], dtype=torch.float64)
    y, y_twin = net(x), twin(x)
    assert y_twin.shape == y.shape
    torch.testing.assert_close(y_twin, y, rtol=1e-10, atol=1e-10)
    random_projection_loss(y).backward()
    random_projection_loss(y_twin).backward()
    grads = torch.cat([p.grad.flatten() for p in net.parameters()])
    grads_twin = torch.cat([p.grad.flatten() for p in twin.parameters()])
    assert torch.linalg.vector_norm(grads_twin - grads) <= 1e-10 * torch.linalg.vector_norm(grads)


@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", NETS)
def test_odd_input_sizes_keep_their_shape(name: str, spatial_dims: int) -> None:
    net = build(name, spatial_dims).eval()
    shape = ODD_SHAPES[spatial_dims]
    with torch.no_grad():
        y = net(torch.randn(shape))
    assert y.shape == (shape[0], 3, *shape[2:])


@pytest.mark.parametrize("name", NETS)
def test_translation_of_content_moves_the_output(name: str) -> None:
    """A sanity check that the output depends on where things are (no collapsed/constant output)."""
    net = build(name, 2).eval()
    x = torch.zeros(1, 3, 64, 64)
    x[:, :, 10:20, 10:20] = 1.0
    with torch.no_grad():
        a, b = net(x), net(torch.roll(x, shifts=(30, 30), dims=(2, 3)))
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("name", NETS)
def test_wrong_input_rank_raises(name: str) -> None:
    net2d, net3d = build(name, 2).eval(), build(name, 3).eval()
    with pytest.raises(ValueError, match="expected a 4D input"):
        net2d(torch.zeros(1, 3, 8, 8, 8))
    with pytest.raises(ValueError, match="expected a 5D input"):
        net3d(torch.zeros(1, 1, 8, 8))


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (FeatureCompressionNet, {"spatial_dims": 1}, "spatial_dims must be 2 or 3"),
        (FeatureCompressionNet, {"channels": (16,)}, "at least 2 levels"),
        (FeatureCompressionNet, {"dropout": 1.5}, "dropout must be in [0, 1)"),
        (FeatureCompressionNet, {"in_channels": 0}, "in_channels must hold positive integers"),
        (EMISNet, {"encoder_depths": (1, 1)}, "encoder_depths needs one entry per level"),
        (EMISNet, {"num_icm": -1}, "num_icm must be a non-negative integer"),
        (EMISNet, {"channels": (16, 0, 32), "encoder_depths": (1, 1, 1)}, "channels must hold positive integers"),
        (LightU2Net, {"heights": (4, 3)}, "mid_channels and heights need one entry per level"),
        (LightU2Net, {"dilated_levels": 9}, "dilated_levels must be an integer in [0, 4]"),
        (LightU2Net, {"out_channels": -1}, "out_channels must hold positive integers"),
        (LightU2Net, {"stem_stride": 3}, "stem_stride must be 1, 2 or 4"),
        (EMISNet, {"stem_stride": 0}, "stem_stride must be 1, 2 or 4"),
        (FeatureCompressionNet, {"stem_stride": 8}, "stem_stride must be 1, 2 or 4"),
    ],
)
def test_bad_arguments_raise_value_error(cls, kwargs: dict, message: str) -> None:
    args = {"spatial_dims": 2, "in_channels": 3, "out_channels": 1, **kwargs}
    with pytest.raises(ValueError) as err:
        cls(**args)
    assert message in str(err.value)


def test_every_net_has_four_variants() -> None:
    for name in NETS:
        assert list_variants(name) == ["base", "fast", "small", "tiny"]
