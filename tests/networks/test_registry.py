"""The registry and the parameter / multiply-add budgets of the default and tiny variants."""

from __future__ import annotations

import pytest

from monai_lightseg.networks import EMISNet, FeatureCompressionNet, LightU2Net, create_net, list_nets, variant_arguments
from monai_lightseg.networks.profile import count_macs, count_parameters


def test_list_nets() -> None:
    assert list_nets() == ["emisnet", "feature_compression_net", "light_u2net"]


def test_create_net_returns_the_class_with_overrides() -> None:
    net = create_net("emisnet", "tiny", spatial_dims=3, in_channels=1, out_channels=2, num_icm=2)
    assert isinstance(net, EMISNet)
    assert len(net.bottleneck) == 3  # two ICM blocks and the dropout
    assert isinstance(create_net("light_u2net", spatial_dims=2, in_channels=3, out_channels=1), LightU2Net)
    assert isinstance(
        create_net("feature_compression_net", spatial_dims=2, in_channels=3, out_channels=1), FeatureCompressionNet
    )


def test_variant_arguments_are_what_create_net_builds_with() -> None:
    fast = variant_arguments("light_u2net", "fast")
    assert fast["stem_stride"] == 4 and fast["channels"] == (16, 48, 128)  # the variant's own
    assert "deep_supervision" in fast and "spatial_dims" not in fast  # class defaults filled in; the caller's left out
    net = create_net("light_u2net", "fast", spatial_dims=2, in_channels=3, out_channels=1)
    again = LightU2Net(spatial_dims=2, in_channels=3, out_channels=1, **fast)
    assert [p.shape for p in net.parameters()] == [p.shape for p in again.parameters()]
    with pytest.raises(ValueError, match="unknown variant 'huge'"):
        variant_arguments("emisnet", "huge")


def test_unknown_names_raise() -> None:
    with pytest.raises(ValueError, match="unknown network 'unet'"):
        create_net("unet", spatial_dims=2, in_channels=1, out_channels=1)
    with pytest.raises(ValueError, match="unknown variant 'huge'"):
        create_net("emisnet", "huge", spatial_dims=2, in_channels=1, out_channels=1)


@pytest.mark.parametrize("name", ["emisnet", "feature_compression_net", "light_u2net"])
def test_budgets_at_256_rgb(name: str) -> None:
    """Issue budget: base <= 1.5 M params and <= 0.75 G MACs at 1x3x256x256; tiny <= 0.3 M params."""
    base = create_net(name, spatial_dims=2, in_channels=3, out_channels=1)
    assert count_parameters(base) <= 1_500_000
    assert count_macs(base, (1, 3, 256, 256)) <= 750_000_000
    tiny = create_net(name, "tiny", spatial_dims=2, in_channels=3, out_channels=1)
    assert count_parameters(tiny) <= 300_000
    assert count_parameters(tiny) < count_parameters(base)


def test_count_macs_matches_a_hand_count() -> None:
    from monai.networks.layers.factories import Conv

    conv = Conv[Conv.CONV, 2](3, 8, kernel_size=3, padding=1, bias=False)
    assert count_macs(conv, (1, 3, 10, 10)) == 3 * 8 * 9 * 100
    assert count_parameters(conv) == 3 * 8 * 9
