"""Click-guided 2D segmentation: crops placed around clicks, the component under each click kept, pasted back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from monai_lightseg.inference.clicks import click_windows, segment_around_clicks


class RedSegmenter:
    """A stand-in for a BundleSegmenter: the bright-red pixels of the crop file it is given, and the crop sizes."""

    def __init__(self) -> None:
        self.crops: list[tuple[int, int]] = []

    def __call__(self, path) -> np.ndarray:
        crop = np.asarray(Image.open(path).convert("RGB"))
        self.crops.append(crop.shape[:2])
        return (crop[..., 0] > 128).astype(np.uint8)


def _image(tmp_path, blobs) -> str:
    pixels = np.zeros((600, 800, 3), dtype=np.uint8)
    for r0, c0, r1, c1 in blobs:
        pixels[r0:r1, c0:c1, 0] = 255
    path = tmp_path / "image.png"
    Image.fromarray(pixels).save(path)
    return str(path)


def test_windows_are_centred_and_kept_inside_the_image() -> None:
    assert click_windows([(400, 300)], (600, 800), 200) == [(200, 300, 400, 500)]
    assert click_windows([(5, 595)], (600, 800), 200) == [(400, 0, 600, 200)]  # shifted in at a corner
    assert click_windows([(10, 10)], (100, 150), 384) == [(0, 0, 100, 150)]  # an image smaller than the window
    with pytest.raises(ValueError, match="outside the 800x600 image"):
        click_windows([(800, 10)], (600, 800), 200)


def test_only_the_lesion_under_the_click_is_kept(tmp_path) -> None:
    image = _image(tmp_path, [(100, 100, 140, 160), (150, 200, 170, 220), (400, 600, 450, 650)])
    segmenter = RedSegmenter()
    mask = segment_around_clicks(segmenter, image, [(120, 110)], window=256)
    expected = np.zeros((600, 800), dtype=np.uint8)
    expected[100:140, 100:160] = 1  # not the second blob in the same crop, not the far one
    np.testing.assert_array_equal(mask, expected)
    assert segmenter.crops == [(256, 256)]
    # a click just off the rim still finds its lesion; one far from any finds nothing
    assert segment_around_clicks(segmenter, image, [(625, 460)], window=256, reach=32).sum() == 50 * 50
    assert segment_around_clicks(segmenter, image, [(400, 300)], window=128).sum() == 0


def test_two_clicks_and_a_background_click(tmp_path) -> None:
    image = _image(tmp_path, [(100, 100, 140, 160), (400, 600, 450, 650)])
    both = segment_around_clicks(RedSegmenter(), image, [(120, 110), (620, 420)], window=256)
    assert both.sum() == 40 * 60 + 50 * 50
    dropped = segment_around_clicks(RedSegmenter(), image, [(120, 110), (620, 420)], [(630, 430)], window=256)
    assert dropped.sum() == 40 * 60
