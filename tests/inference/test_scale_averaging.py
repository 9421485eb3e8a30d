"""ScaleAveragingInferer: the mean of the wrapped inferer's output over the input resized by each factor, resized
back; one pass when disabled; composes with the flips; and the polyp bundles' ``scale_tta`` switch (config,
BundleSegmenter, batch CLI) reaching it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from monai.inferers import SimpleInferer, SlidingWindowInferer

from monai_lightseg.inference import BundleSegmenter, FlipAveragingInferer, ScaleAveragingInferer
from tests.bundles.conftest import copy_bundle, ensure_weights
from tests.inference.test_flip_averaging import (
    CountingInferer,
    assert_masks_close_on_the_samples,
    position_dependent,
)


def test_output_is_the_mean_over_the_rescaled_inputs_each_resized_back() -> None:
    x = torch.randn(2, 3, 8, 12)
    inner = CountingInferer()
    out = ScaleAveragingInferer(inner, factors=[1.0, 1.5])(x, position_dependent)
    assert [tuple(i.shape[2:]) for i in inner.inputs] == [(8, 12), (12, 18)]
    enlarged = F.interpolate(x, size=[12, 18], mode="bilinear", align_corners=False)
    torch.testing.assert_close(inner.inputs[1], enlarged)
    back = F.interpolate(position_dependent(enlarged), size=[8, 12], mode="bilinear", align_corners=False)
    torch.testing.assert_close(out, (position_dependent(x) + back) / 2)
    assert not torch.allclose(out, position_dependent(x))  # the network really is not scale-equivariant


def test_factor_one_alone_and_disabled_are_one_pass_of_the_wrapped_inferer() -> None:
    x = torch.randn(1, 1, 6, 10, 4)
    once, off = ScaleAveragingInferer(CountingInferer(), [1.0]), ScaleAveragingInferer(CountingInferer(), [2.0], False)
    for inferer in (once, off):
        out = inferer(x, position_dependent)
        assert len(inferer.inferer.inputs) == 1
        torch.testing.assert_close(out, position_dependent(x))


def test_a_constant_image_through_a_pointwise_network_is_unchanged_in_2d_and_3d() -> None:
    """Resizing a constant field changes nothing, so the mean over scales equals one pass (checks the resize back
    to the exact input size, odd sizes and shrinking included, and the trilinear path)."""
    net = torch.nn.Conv3d(1, 2, 1)
    x3 = torch.full((1, 1, 7, 9, 5), 0.3)
    window = SlidingWindowInferer(roi_size=(4, 4, 4), overlap=0.25)
    with torch.no_grad():
        out = ScaleAveragingInferer(window, [0.75, 1.0, 1.25])(x3, net)
        torch.testing.assert_close(out, net(x3), atol=1e-5, rtol=1e-5)
    net2 = torch.nn.Conv2d(3, 1, 1)
    x2 = torch.full((2, 3, 11, 13), 0.7)
    with torch.no_grad():
        out = ScaleAveragingInferer(SimpleInferer(), [0.5, 1.3])(x2, net2)
        assert out.shape == (2, 1, 11, 13)
        torch.testing.assert_close(out, net2(x2), atol=1e-5, rtol=1e-5)


def test_around_the_flips_every_scale_gets_every_flip() -> None:
    inner = CountingInferer()
    tta = ScaleAveragingInferer(FlipAveragingInferer(inner, spatial_axes=[0, 1]), [1.0, 1.25])
    tta(torch.randn(1, 3, 16, 16), position_dependent)
    assert [tuple(i.shape[2:]) for i in inner.inputs] == [(16, 16)] * 3 + [(20, 20)] * 3


def test_one_number_from_the_command_line_is_one_factor() -> None:
    assert ScaleAveragingInferer(SimpleInferer(), 1.25).factors == (1.25,)


@pytest.mark.parametrize("factors", [[], [0.0], 0.0, [1.0, -1.25], "big"])
def test_factors_that_are_not_positive_are_refused(factors) -> None:
    with pytest.raises(ValueError, match="scale_tta_factors must be one or more positive numbers"):
        ScaleAveragingInferer(SimpleInferer(), factors)


def test_an_input_that_is_not_2d_or_3d_is_refused() -> None:
    with pytest.raises(ValueError, match=r"needs an \(N, C, \*S\) input in 2D or 3D"):
        ScaleAveragingInferer(SimpleInferer(), [1.0, 1.25])(torch.zeros(1, 1, 8), torch.nn.Identity())


def test_bundle_scale_tta_switch_reaches_the_segmenter_and_keeps_the_masks_close(tmp_path) -> None:
    """Shipped polyp bundle: off by default (one pass: the masks the bundle always wrote), on by argument with
    the bundle's factors; on the shipped frames the two masks agree on nearly every pixel. A bundle without the
    option refuses it by name instead of ignoring it."""
    root = copy_bundle("polyp_endoscopy_feature_compression_net_segmentation", tmp_path)
    ensure_weights(root)
    plain, scaled = BundleSegmenter(root, device="cpu"), BundleSegmenter(root, device="cpu", scale_tta=True)
    assert isinstance(scaled.inferer, ScaleAveragingInferer)
    assert plain.inferer.enabled is False and scaled.inferer.enabled is True
    assert scaled.inferer.factors == (1.0, 1.25) and scaled.inferer.inferer.enabled is False
    x = torch.rand(1, 3, 192, 256)  # what the scale rule makes of a 384x288 frame
    with torch.no_grad():
        assert not torch.allclose(scaled.inferer(x, scaled.network), plain.inferer(x, plain.network))
    assert_masks_close_on_the_samples(root, plain, scaled)
    hippocampus = copy_bundle("hippocampus_mri_unet_segmentation", tmp_path)
    ensure_weights(hippocampus)
    with pytest.raises(ValueError, match='has no scale test-time augmentation'):
        BundleSegmenter(hippocampus, device="cpu", scale_tta=True)
    BundleSegmenter(hippocampus, device="cpu", scale_tta=False)  # asking for what it does anyway is fine


def test_an_edited_tta_inferer_that_ignores_scale_tta_warns_and_off_without_a_wrapper_does_not(tmp_path) -> None:
    import json
    import warnings

    root = copy_bundle("polyp_endoscopy_feature_compression_net_segmentation", tmp_path)
    ensure_weights(root)
    config_path = root / "configs" / "inference.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tta_inferer"] = config["tta_inferer"]["inferer"]  # flips only: the scale switch cannot reach it
    config_path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.warns(UserWarning, match="scale_tta=True was asked for, but this bundle's tta_inferer"):
        BundleSegmenter(root, device="cpu", scale_tta=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        BundleSegmenter(root, device="cpu", scale_tta="false")  # one plain pass is what was asked for
    assert not [w for w in caught if "was asked for" in str(w.message)]
