"""to_rgb8 and to_binary_mask: the rules by which the 2D bundles and the batch read photographs and masks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from monai_lightseg.io import to_binary_mask, to_rgb8
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


def _mask_sample() -> np.ndarray:
    return np.asarray(Image.open(REPO / "samples/polyp/masks/cvc_clinicdb_1.png").convert("L")) > 127


@pytest.mark.parametrize(
    "encode",
    [
        lambda m: Image.fromarray(m.astype(np.uint8) * 255),  # 0/255, the shared data's convention
        lambda m: Image.fromarray(m.astype(np.uint8)),  # 0/1, nnU-Net's
        lambda m: Image.fromarray(m.astype(np.uint8) * 2),  # a class map, the polyp as class 2
        lambda m: Image.fromarray(np.dstack([m * 255, m * 0, m * 0]).astype(np.uint8)),  # pure red: 76 in greyscale
        lambda m: Image.fromarray(m.astype(np.uint16)),  # 16-bit 0/1
        lambda m: Image.fromarray(m.astype(np.uint16) * 65535),  # 16-bit 0/65535
        lambda m: Image.fromarray(m.astype(np.uint8) * 255).convert("1"),  # 1-bit
        lambda m: _palette_image(m, {0: (0, 0, 0), 1: (0, 200, 0)}),  # a palette mask, the polyp green at index 1
        lambda m: Image.fromarray(np.where(m, 0.9, 0.1).astype(np.float32)),  # a float map in [0, 1]: above 0.5
    ],
)
def test_every_mask_encoding_gives_the_same_foreground(encode, tmp_path) -> None:
    truth = _mask_sample()
    name = "mask.tif" if encode(truth).mode == "F" else "mask.png"
    encode(truth).save(tmp_path / name)
    with Image.open(tmp_path / name) as image:
        out = np.asarray(to_binary_mask(image))
    assert set(np.unique(out)) == {0, 255}
    np.testing.assert_array_equal(out > 127, truth)


def _palette_image(indices: np.ndarray, colours: dict[int, tuple[int, int, int]]) -> Image.Image:
    image = Image.fromarray(indices.astype(np.uint8), "P")
    palette = np.zeros((256, 3), np.uint8)
    for index, colour in colours.items():
        palette[index] = colour
    image.putpalette(palette.ravel().tolist())
    return image


def test_a_voc_palette_mask_reads_its_labels_not_its_colours(tmp_path) -> None:
    """Pascal VOC's format: index 1 (dark red, 38 in greyscale) is the object, 255 (light grey) the void border
    around it. Through its colours only the border would be foreground; through its indices the object is."""
    truth = _mask_sample()
    border = ndimage.binary_dilation(truth, iterations=3) & ~truth
    indices = np.where(truth, 1, 0) + np.where(border, 255, 0)
    _palette_image(indices, {0: (0, 0, 0), 1: (128, 0, 0), 255: (224, 224, 192)}).save(tmp_path / "voc.png")
    with Image.open(tmp_path / "voc.png") as image:
        assert image.mode == "P"
        assert not ((np.asarray(image.convert("L")) > 127) & truth).any()  # what the colours would give
        out = np.asarray(to_binary_mask(image)) > 127
        np.testing.assert_array_equal(out, truth)
        np.testing.assert_array_equal(np.asarray(to_binary_mask(image.convert("PA"))) > 127, truth)


def test_a_palette_mask_without_black_at_index_0_reads_through_its_colours(tmp_path) -> None:
    """Palette order is arbitrary: Pillow's quantize puts a red lesion at index 0 and the black background at 1.
    By index that mask would read inverted; it reads through its colours (red: 76 in grey, a label map), as before."""
    truth = _mask_sample()
    red = Image.fromarray(np.dstack([truth * 255, truth * 0, truth * 0]).astype(np.uint8)).quantize(2)
    red.save(tmp_path / "red.png")
    with Image.open(tmp_path / "red.png") as image:
        assert image.mode == "P" and tuple(image.getpalette()[:3]) != (0, 0, 0)
        np.testing.assert_array_equal(np.asarray(to_binary_mask(image)) > 127, truth)


def test_a_grey_palette_mask_reads_through_its_colours_even_with_white_at_index_0(tmp_path) -> None:
    """A black-and-white mask saved with a palette (GIF) may hold white at index 0: its colours say which is which."""
    truth = _mask_sample()
    _palette_image(np.where(truth, 0, 1), {0: (255, 255, 255), 1: (0, 0, 0)}).save(tmp_path / "mask.gif")
    with Image.open(tmp_path / "mask.gif") as image:
        assert image.mode == "P"
        np.testing.assert_array_equal(np.asarray(to_binary_mask(image)) > 127, truth)


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (255, 0, 0)])
def test_a_mask_drawn_in_alpha_alone_reads_its_alpha(colour, tmp_path) -> None:
    """An annotation layer exported as a transparent PNG: one colour everywhere, the lesion opaque. Through its
    colour it read as empty (black, red) or as all foreground (white)."""
    truth = _mask_sample()
    pixels = np.zeros((*truth.shape, 4), np.uint8)
    pixels[..., :3] = colour
    pixels[..., 3] = truth * 255
    Image.fromarray(pixels, "RGBA").save(tmp_path / "layer.png")
    with Image.open(tmp_path / "layer.png") as image:
        np.testing.assert_array_equal(np.asarray(to_binary_mask(image)) > 127, truth)
        np.testing.assert_array_equal(np.asarray(to_binary_mask(image.convert("LA"))) > 127, truth)


def test_an_opaque_or_evenly_translucent_colour_mask_still_reads_its_colours() -> None:
    truth = _mask_sample()
    for alpha in (255, 100):
        pixels = np.dstack([truth * 255] * 3 + [np.full(truth.shape, alpha)]).astype(np.uint8)
        np.testing.assert_array_equal(np.asarray(to_binary_mask(Image.fromarray(pixels, "RGBA"))) > 127, truth)


def test_a_jpeg_mask_keeps_the_threshold_at_128(tmp_path) -> None:
    """A 0/255 mask saved as JPEG has noise at its edges (values 1-254): above 127 is foreground, as before."""
    truth = _mask_sample()
    Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / "mask.jpg", quality=75)
    with Image.open(tmp_path / "mask.jpg") as image:
        grey = np.asarray(image.convert("L"))
        assert ((grey > 0) & (grey < 255)).any()
        np.testing.assert_array_equal(np.asarray(to_binary_mask(image)) > 127, grey > 127)
    assert not np.asarray(to_binary_mask(Image.fromarray(np.zeros((4, 4), np.uint8)))).any()


def test_a_noisy_mask_under_128_stays_empty_with_a_warning(tmp_path, caplog) -> None:
    """A colour-coded mask saved as JPEG (red: 76 in greyscale, with compression noise) has many values under 128: a
    threshold drawn from its own maximum would turn noise into foreground, so it reads as before, empty, and the
    log names the file."""
    truth = _mask_sample()
    Image.fromarray(np.dstack([truth * 255, truth * 0, truth * 0]).astype(np.uint8)).save(tmp_path / "red.jpg")
    with Image.open(tmp_path / "red.jpg") as image:
        grey = np.asarray(image.convert("L"))
        assert grey.max() < 128 and np.unique(grey).size > 4
        with caplog.at_level("WARNING"):
            assert not np.asarray(to_binary_mask(image)).any()
    assert "red.jpg: mask with greyscale maximum" in caplog.text


def test_the_bundles_label_pipeline_reads_a_0_1_mask_as_its_0_255_twin(tmp_path) -> None:
    """The polyp bundle's evaluate.json preprocessing, as configured (converter and threshold): a 0/1 mask read
    as empty before, so every frame scored Dice 0 without a word."""
    from monai.bundle import ConfigParser

    truth = _mask_sample()
    Image.fromarray(truth.astype(np.uint8)).save(tmp_path / "zero_one.png")
    Image.fromarray(truth.astype(np.uint8) * 255).save(tmp_path / "zero_255.png")
    bundle = REPO / "bundles/polyp_endoscopy_unet_segmentation"
    parser = ConfigParser()
    parser.read_config([str(bundle / "configs/inference.json"), str(bundle / "configs/evaluate.json")])
    parser.update({"bundle_root": str(bundle)})
    preprocessing = parser.get_parsed_content("preprocessing")
    image = str(REPO / "samples/polyp/images/cvc_clinicdb_1.png")
    names = ("zero_one.png", "zero_255.png")
    labels = [preprocessing({"image": image, "label": str(tmp_path / n)})["label"] for n in names]
    assert float(labels[0].sum()) == float(labels[1].sum()) == float(truth.sum())
    np.testing.assert_array_equal(np.asarray(labels[0]), np.asarray(labels[1]))
