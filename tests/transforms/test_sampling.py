"""Lesion-free windows: where they fit, and the training transform that swaps a frame for one."""

from __future__ import annotations

import itertools

import pytest
import torch
from monai.data import MetaTensor

from monai_lightseg.transforms import RandLesionFreeWindowd, lesion_free_window_starts


def brute_force_starts(label: torch.Tensor, window: tuple[int, ...]) -> set[tuple[int, ...]]:
    fg = (label != 0).any(0)
    ranges = [range(s - w + 1) for s, w in zip(fg.shape, window)]
    return {
        start
        for start in itertools.product(*ranges)
        if not fg[tuple(slice(a, a + w) for a, w in zip(start, window))].any()
    }


@pytest.mark.parametrize("shape,window", [((1, 9, 7), (3, 4)), ((2, 6, 5, 4), (2, 3, 2)), ((1, 5, 5), (5, 5))])
def test_starts_match_brute_force(shape, window):
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        label = (torch.rand(shape, generator=generator) > 0.9).float()
        found = {tuple(s) for s in lesion_free_window_starts(label, window).tolist()}
        assert found == brute_force_starts(label, window)


def test_no_start_when_the_window_does_not_fit_or_the_lesion_is_everywhere():
    assert lesion_free_window_starts(torch.zeros(1, 4, 4), (5, 2)).shape == (0, 2)
    assert lesion_free_window_starts(torch.ones(1, 4, 4), (1, 1)).shape == (0, 2)
    assert lesion_free_window_starts(torch.zeros(1, 4, 4), (4, 4)).tolist() == [[0, 0]]


def test_window_dimensions_must_match_the_label():
    with pytest.raises(ValueError, match="2 spatial dimensions"):
        lesion_free_window_starts(torch.zeros(1, 4, 4), (2, 2, 2))


def sample(height: int = 256, width: int = 192, polyp: tuple[slice, slice] = (slice(200, 220), slice(150, 170))):
    label = torch.zeros(1, height, width)
    label[(0, *polyp)] = 1
    image = torch.rand(3, height, width, generator=torch.Generator().manual_seed(1))
    image[:, label[0] > 0] = 5.0  # marks the polyp's pixels in the image too
    return {"image": MetaTensor(image), "label": MetaTensor(label)}


def test_a_window_holds_no_lesion_is_cut_from_the_frame_and_padded_by_reflection():
    transform = RandLesionFreeWindowd(["image", "label"], "label", (128, 128), (256, 256), prob=1.0)
    for seed in range(10):
        transform.set_random_state(seed)
        d = sample()
        out = transform(d)
        assert out["image"].shape == (3, 256, 256) and out["label"].shape == (1, 256, 256)
        assert out["label"].sum() == 0 and out["image"].max() < 5.0
        centre = out["image"][:, 64:192, 64:192].as_tensor()  # the window itself: a part of the frame, unscaled
        frame = d["image"].as_tensor()
        is_crop = any(
            torch.equal(frame[:, y : y + 128, x : x + 128], centre) for y in range(256 - 127) for x in range(192 - 127)
        )
        assert is_crop, "the window is not a crop of the frame"
        assert torch.equal(out["image"][:, 63], out["image"][:, 65])  # reflection about row 64


def test_a_frame_without_a_lesion_free_window_or_not_drawn_is_unchanged():
    everywhere = sample(polyp=(slice(100, 200), slice(50, 150)))  # no 128-wide column span avoids it
    transform = RandLesionFreeWindowd(["image", "label"], "label", (128, 128), (256, 256), prob=1.0)
    out = transform(everywhere)
    assert out["image"].shape == (3, 256, 192) and torch.equal(out["label"], everywhere["label"])
    never = RandLesionFreeWindowd(["image", "label"], "label", (128, 128), (256, 256), prob=0.0)
    d = sample()
    assert never(d)["image"] is d["image"]


def test_share_of_samples_replaced_follows_prob():
    transform = RandLesionFreeWindowd(["image", "label"], "label", (128, 128), (256, 256), prob=0.25)
    transform.set_random_state(0)
    replaced = sum(transform(sample())["image"].shape[-1] == 256 for _ in range(400))
    assert 70 <= replaced <= 130  # binomial(400, 0.25): mean 100, sd 8.7


def test_3d_and_metatensor_labels():
    label = torch.zeros(1, 16, 16, 16)
    label[0, :8, :8, :8] = 1
    image = torch.rand(1, 16, 16, 16) + 2 * label  # the lesion is the only place above 1
    transform = RandLesionFreeWindowd(["image", "label"], "label", (8, 8, 8), (12, 12, 12), prob=1.0)
    out = transform({"image": image, "label": label})
    assert out["image"].shape == (1, 12, 12, 12) and out["label"].sum() == 0 and out["image"].max() < 1
    starts = lesion_free_window_starts(MetaTensor(label), (8, 8, 8))
    assert type(starts) is torch.Tensor and {tuple(s) for s in starts.tolist()} == brute_force_starts(label, (8,) * 3)


def test_bad_arguments_and_missing_label_are_named():
    with pytest.raises(ValueError, match=r"\[window, 2 \* window\]"):
        RandLesionFreeWindowd(["image", "label"], "label", (64, 64), (256, 256))
    with pytest.raises(ValueError, match="number of dimensions"):
        RandLesionFreeWindowd(["image", "label"], "label", (64, 64), (64, 64, 64))
    with pytest.raises(ValueError, match="window must be >= 2"):
        RandLesionFreeWindowd(["image", "label"], "label", (1, 4), (2, 4))
    with pytest.raises(KeyError, match="no label key 'label'"):
        RandLesionFreeWindowd(["image"], "label", (4, 4), (4, 4))({"image": torch.zeros(1, 4, 4)})
    lenient = RandLesionFreeWindowd(["image"], "label", (4, 4), (4, 4), allow_missing_keys=True)
    assert lenient({"image": torch.zeros(1, 4, 4)})["image"].shape == (1, 4, 4)
