"""to_rgb8: the one rule by which the 2D bundles and the batch read a photograph's pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from monai_lightseg.io import to_rgb8
from tests.conftest import REPO

RGB = np.asarray(Image.open(REPO / "samples/polyp/images/cvc_clinicdb_1.png").convert("RGB"))


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "RGBA", "LA", "CMYK", "YCbCr", "1"])
def test_8bit_modes_read_exactly_as_pillow_converts_them(mode: str, tmp_path) -> None:
    """Every 8-bit mode reads as before the rule existed (``convert("RGB")``): the bundles' training and validation
    images, all 8-bit, give the same pixels, so the trained weights still see what they were trained on."""
    path = tmp_path / ("image.tif" if mode in ("CMYK", "YCbCr") else "image.png")
    Image.fromarray(RGB).convert(mode).save(path)
    with Image.open(path) as image:
        assert image.mode == mode
        expected = np.asarray(image.convert("RGB"))
        out = to_rgb8(image)
    assert out.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_the_bundles_reader_loads_the_shipped_samples_exactly_as_before() -> None:
    """MONAI's PILReader with the bundles' new converter against the lambda it replaced, on every shipped 2D
    sample: the pixels the trained weights see are unchanged."""
    from monai.transforms import LoadImage

    new = LoadImage(reader="PILReader", image_only=True, converter=to_rgb8)
    old = LoadImage(reader="PILReader", image_only=True, converter=lambda im: im.convert("RGB"))
    samples = sorted(p for p in (REPO / "samples").rglob("images/*") if p.suffix.lower() in (".png", ".jpg", ".tif"))
    assert len(samples) >= 3
    for path in samples:
        np.testing.assert_array_equal(np.asarray(new(path)), np.asarray(old(path)), err_msg=path.name)


def test_16bit_greyscale_is_scaled_by_its_maximum_not_clipped_white(tmp_path) -> None:
    grey = RGB[..., 1]
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "grey16.png")
    with Image.open(tmp_path / "grey16.png") as image:
        assert image.mode == "I;16"
        assert np.asarray(image.convert("RGB")).mean() > 250  # what Pillow alone makes of it
        out = np.asarray(to_rgb8(image))
    expected = np.round(grey.astype(np.float64) * 257 / (int(grey.max()) * 257) * 255)
    assert out.shape == (*grey.shape, 3) and (out[..., 0] == out[..., 2]).all()
    np.testing.assert_array_equal(out[..., 0], expected.astype(np.uint8))


def test_a_deep_image_that_holds_8bit_values_keeps_them(tmp_path) -> None:
    values = np.array([[0, 17], [128, 255]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "small16.png")
    with Image.open(tmp_path / "small16.png") as image:
        np.testing.assert_array_equal(np.asarray(to_rgb8(image))[..., 1], values)


def test_float_and_signed_pixel_data() -> None:
    unit = np.array([[0.0, 0.5], [1.0, np.nan]], dtype=np.float32)  # a float image in [0, 1]; NaN counts as 0
    np.testing.assert_array_equal(np.asarray(to_rgb8(unit))[..., 0], [[0, 128], [255, 0]])
    signed = np.array([[-100, 0], [1000, 2000]], dtype=np.int16)  # scaled by the maximum, negatives to 0
    np.testing.assert_array_equal(np.asarray(to_rgb8(signed))[..., 0], [[0, 0], [128, 255]])
    with_alpha = np.dstack([RGB, np.zeros(RGB.shape[:2], np.uint8)])  # a fourth channel is alpha: dropped
    np.testing.assert_array_equal(np.asarray(to_rgb8(with_alpha)), RGB)
    np.testing.assert_array_equal(np.asarray(to_rgb8(RGB[..., :1]))[..., 2], RGB[..., 0])


@pytest.mark.parametrize("shape", [(4, 4, 2), (2, 4, 4, 3), (0, 5), (5,)])
def test_pixel_data_of_another_shape_is_refused_with_its_shape(shape) -> None:
    with pytest.raises(ValueError, match=f"got shape {tuple(shape)}".replace("(", r"\(").replace(")", r"\)")):
        to_rgb8(np.zeros(shape, np.uint8))
