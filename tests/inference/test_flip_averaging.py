"""FlipAveragingInferer: the mean of the wrapped inferer's output over the input and its flips, flipped back;
one pass when disabled; and the bundles' ``flip_tta`` switch (config, BundleSegmenter, batch CLI) reaching it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.inferers import SimpleInferer, SlidingWindowInferer

from monai_lightseg.handlers import ReparameterizeNetwork
from monai_lightseg.inference import BundleSegmenter, FlipAveragingInferer, ScaleAveragingInferer
from tests.bundles.conftest import copy_bundle, ensure_weights


class CountingInferer(SimpleInferer):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[torch.Tensor] = []

    def __call__(self, inputs, network, *args, **kwargs):
        self.inputs.append(inputs.clone())
        return super().__call__(inputs, network, *args, **kwargs)


def position_dependent(x: torch.Tensor) -> torch.Tensor:
    """Not flip-equivariant: adds a different ramp along every spatial axis, so each flip changes its output."""
    out = x.clone()
    for i, n in enumerate(x.shape[2:]):
        shape = [1] * x.ndim
        shape[2 + i] = n
        out = out + (i + 1) * torch.arange(n, dtype=x.dtype).reshape(shape) ** 2
    return out


def assert_masks_close_on_the_samples(root, plain: BundleSegmenter, other: BundleSegmenter) -> None:
    """On the bundle's shipped frames both segmenters find a polyp and their masks agree on >= 95 % of pixels."""
    samples = sorted((root / "sample_data" / "images").iterdir())
    assert samples
    for sample in samples:
        a, b = plain(sample), other(sample)
        assert a.shape == b.shape and a.any() and b.any()
        assert np.count_nonzero(a != b) <= 0.05 * a.size, sample.name


def test_output_is_the_mean_over_the_input_and_its_flips_each_flipped_back() -> None:
    x = torch.randn(2, 3, 5, 7)
    inner = CountingInferer()
    out = FlipAveragingInferer(inner)(x, position_dependent)
    expected = (
        position_dependent(x)
        + position_dependent(x.flip(2)).flip(2)
        + position_dependent(x.flip(3)).flip(3)
    ) / 3
    torch.testing.assert_close(out, expected)
    assert len(inner.inputs) == 3
    torch.testing.assert_close(inner.inputs[1], x.flip(2))
    torch.testing.assert_close(inner.inputs[2], x.flip(3))
    assert not torch.allclose(out, position_dependent(x))  # the network really is not flip-equivariant


def test_a_flip_equivariant_network_gives_its_single_pass_result() -> None:
    x = torch.randn(1, 2, 16, 12)
    net = torch.nn.Conv2d(2, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(FlipAveragingInferer(SimpleInferer())(x, net), net(x), atol=1e-5, rtol=1e-5)


def test_disabled_is_one_pass_of_the_wrapped_inferer() -> None:
    x = torch.randn(1, 1, 8, 8, 8)
    inner = CountingInferer()
    out = FlipAveragingInferer(inner, enabled=False)(x, position_dependent)
    assert len(inner.inputs) == 1
    torch.testing.assert_close(out, position_dependent(x))


def test_3d_flips_only_the_axes_asked_for_and_wraps_a_sliding_window() -> None:
    x = torch.randn(1, 1, 6, 10, 4)
    inner = CountingInferer()
    out = FlipAveragingInferer(inner, spatial_axes=[0])(x, position_dependent)
    assert len(inner.inputs) == 2
    torch.testing.assert_close(out, (position_dependent(x) + position_dependent(x.flip(2)).flip(2)) / 2)
    window = SlidingWindowInferer(roi_size=(4, 4, 4), overlap=0.25)
    with torch.no_grad():
        torch.testing.assert_close(
            FlipAveragingInferer(window, spatial_axes=[0])(x, position_dependent),
            (window(x, position_dependent) + window(x.flip(2), position_dependent).flip(2)) / 2,
        )


@pytest.mark.parametrize("given, expected", [(True, True), ("false", False), ("True", True), ("0", False), (0, False)])
def test_enabled_as_a_command_line_gives_it(given, expected) -> None:
    """``--flip_tta false`` reaches the config as the string "false", which must not switch flips on; the same
    for ``--reparameterize false``."""
    assert FlipAveragingInferer(SimpleInferer(), enabled=given).enabled is expected
    assert ReparameterizeNetwork(enabled=given).enabled is expected


def test_enabled_that_is_not_a_yes_or_no_is_refused() -> None:
    with pytest.raises(ValueError, match="flip_tta: expected true or false, got 'maybe'"):
        FlipAveragingInferer(SimpleInferer(), enabled="maybe")


def test_an_axis_outside_the_image_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="spatial axis 2 is out of range"):
        FlipAveragingInferer(SimpleInferer(), spatial_axes=[2])(torch.zeros(1, 1, 4, 4), torch.nn.Identity())


def test_bundle_flip_tta_switch_reaches_the_segmenter_and_keeps_the_masks_close(tmp_path) -> None:
    """Shipped polyp bundle: off by default (one pass: the masks the bundle always wrote), on by argument with the
    axes training flipped; on the shipped frames the two masks agree on nearly every pixel."""
    root = copy_bundle("polyp_endoscopy_feature_compression_net_segmentation", tmp_path)
    ensure_weights(root)
    plain, flipped = BundleSegmenter(root, device="cpu"), BundleSegmenter(root, device="cpu", flip_tta=True)
    # the polyp bundles' tta_inferer: scale averaging (off) around the flips
    assert plain.inferer.enabled is False and flipped.inferer.enabled is False
    assert plain.inferer.inferer.enabled is False and flipped.inferer.inferer.enabled is True
    assert flipped.inferer.inferer.spatial_axes == (0, 1)
    assert_masks_close_on_the_samples(root, plain, flipped)


def test_segmenter_uses_the_bundles_own_tta_inferer(tmp_path) -> None:
    """A user's edit of ``tta_inferer`` in inference.json reaches BundleSegmenter (it used to rebuild the wrapper
    from ``inferer`` and ignore the edit); ``flip_tta`` still switches it."""
    import json

    root = copy_bundle("polyp_endoscopy_feature_compression_net_segmentation", tmp_path)
    ensure_weights(root)
    config_path = root / "configs" / "inference.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tta_inferer"]["inferer"]["spatial_axes"] = [1]  # left-right flips only
    config_path.write_text(json.dumps(config), encoding="utf-8")
    for flip_tta, expected in ((None, False), (True, True), ("false", False)):
        flips = BundleSegmenter(root, device="cpu", flip_tta=flip_tta).inferer.inferer
        assert isinstance(flips, FlipAveragingInferer)
        assert flips.spatial_axes == (1,)
        assert flips.enabled is expected
    config["tta_inferer"] = "@inferer"  # no averaging wrapper at all: an explicit flip_tta cannot reach it
    config_path.write_text(json.dumps(config), encoding="utf-8")
    assert not isinstance(BundleSegmenter(root, device="cpu").inferer, FlipAveragingInferer)
    with pytest.warns(UserWarning, match="flip_tta=True was asked for, but this bundle's tta_inferer"):
        BundleSegmenter(root, device="cpu", flip_tta=True)
    del config["tta_inferer"]  # a bundle without one: the wrappers are built from inferer, flip_tta and scale_tta
    config_path.write_text(json.dumps(config), encoding="utf-8")
    segmenter = BundleSegmenter(root, device="cpu", flip_tta=True)
    assert isinstance(segmenter.inferer, ScaleAveragingInferer) and segmenter.inferer.enabled is False
    flips = segmenter.inferer.inferer
    assert isinstance(flips, FlipAveragingInferer) and flips.enabled is True
    assert flips.spatial_axes == (0, 1)


def test_overrides_leave_the_bundles_invertd_inverting_the_segmenters_own_preprocessing(tmp_path) -> None:
    """Setting a ConfigParser item after parsing resets parsed objects; the overrides must come first, or the
    bundle's Invertd would hold a second preprocessing and fail on the first image (bug fixed with bb1e98b)."""
    from monai.transforms import Invertd

    root = copy_bundle("polyp_endoscopy_feature_compression_net_segmentation", tmp_path)
    ensure_weights(root)
    segmenter = BundleSegmenter(root, device="cpu", flip_tta=False)
    inverts = [t for t in segmenter.postprocessing.transforms if isinstance(t, Invertd)]
    assert inverts and all(t.transform is segmenter.preprocessing for t in inverts)


@pytest.mark.parametrize("flag, field", [("--flip-tta", "flip_tta"), ("--scale-tta", "scale_tta")])
def test_segment_command_passes_tta_switches_to_the_batch(flag, field, monkeypatch, tmp_path) -> None:
    import monai_lightseg.batch as batch
    from monai_lightseg.cli import main

    seen = {}
    monkeypatch.setattr(batch, "run_batch", lambda options: seen.setdefault("options", options) and 0)
    for flags, expected in (([], None), ([flag], True)):
        seen.clear()
        main(["segment", "--bundle", str(tmp_path), "--input", str(tmp_path), "--output", str(tmp_path / "o"), *flags])
        assert getattr(seen["options"], field) is expected
