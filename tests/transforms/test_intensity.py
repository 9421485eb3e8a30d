"""AdaptiveHistogramEqualize(d): CLAHE per channel, types and metadata kept, bad input named."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from skimage.exposure import equalize_adapthist

from monai_lightseg.transforms import AdaptiveHistogramEqualize, AdaptiveHistogramEqualized


def _low_contrast(shape=(2, 64, 48), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.4 + 0.1 * rng.random(shape)).astype(np.float32)


def test_each_channel_equals_scikit_image_on_that_channel():
    image = _low_contrast()
    out = AdaptiveHistogramEqualize(clip_limit=0.02)(image)
    assert out.shape == image.shape and out.dtype == np.float32
    for c in range(image.shape[0]):
        expected = equalize_adapthist(image[c].astype(np.float64), clip_limit=0.02)
        np.testing.assert_allclose(out[c], expected, atol=1e-6)
    # channels are not mixed: equalising channel 1 alone gives the same result
    np.testing.assert_allclose(AdaptiveHistogramEqualize(clip_limit=0.02)(image[1:2])[0], out[1], atol=1e-6)


def test_contrast_is_raised_and_range_is_unit():
    image = _low_contrast((1, 64, 64))
    out = AdaptiveHistogramEqualize()(image)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert out.std() > 3 * image.std()


def test_metatensor_keeps_type_dtype_and_metadata():
    image = MetaTensor(torch.from_numpy(_low_contrast((1, 40, 40))), meta={"filename_or_obj": "fundus_01.png"})
    out = AdaptiveHistogramEqualize()(image)
    assert isinstance(out, MetaTensor) and out.dtype == torch.float32
    assert out.meta["filename_or_obj"] == "fundus_01.png"


def test_constant_channel_is_unchanged():
    image = np.zeros((1, 32, 32), np.float32)
    np.testing.assert_array_equal(AdaptiveHistogramEqualize()(image), image)


def test_3d_volume():
    out = AdaptiveHistogramEqualize(kernel_size=8)(_low_contrast((1, 16, 16, 16)))
    assert out.shape == (1, 16, 16, 16)


@pytest.mark.parametrize(
    "image, error, words",
    [
        (np.full((1, 8, 8), 200, np.uint8), TypeError, "dtype uint8"),
        (np.full((1, 8, 8), 2.0, np.float32), ValueError, "[0, 1]"),
        (np.zeros((8, 8), np.float32), ValueError, "channel-first"),
    ],
)
def test_bad_input_is_named(image, error, words):
    with pytest.raises(error, match=None) as info:
        AdaptiveHistogramEqualize()(image)
    assert words in str(info.value)


def test_bad_clip_limit():
    with pytest.raises(ValueError, match="clip_limit"):
        AdaptiveHistogramEqualize(clip_limit=0)


def test_dictionary_version_touches_only_its_keys():
    data = {"image": _low_contrast((1, 32, 32)), "label": np.ones((1, 32, 32), np.float32)}
    out = AdaptiveHistogramEqualized(keys="image")(data)
    np.testing.assert_allclose(out["image"], AdaptiveHistogramEqualize()(data["image"]))
    assert out["label"] is data["label"]
