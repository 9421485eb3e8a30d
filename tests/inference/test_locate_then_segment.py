"""LocateThenSegmentInferer against MONAI's full sliding window, with a pointwise "network" (logit = 10 * (x - 0.5))
whose mask is the set of bright pixels whatever the window layout: wherever both inferers run the network, they
must give the same mask, so any difference comes from locating, boxing, tiling or pasting."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from monai.inferers import SlidingWindowInferer
from torch import nn

from monai_lightseg.inference import LocateThenSegmentInferer


class Bright(nn.Module):
    """Pointwise: logits 10 * (x - 0.5) (1 channel), or background/foreground logits (2 channels). Counts pixels
    seen, to check how much work each inferer does."""

    def __init__(self, dims: int = 2, channels: int = 1) -> None:
        super().__init__()
        self.channels = channels
        self.pixels = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.pixels += x[:, 0].numel()
        logit = 10 * (x[:, :1] - 0.5)
        return logit if self.channels == 1 else torch.cat([-logit, logit], dim=1)


def disc(shape, centre, radius) -> np.ndarray:
    grid = np.ogrid[tuple(slice(0, s) for s in shape)]
    return sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius**2


def as_input(mask: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(mask.astype(np.float32))[None, None]


def full_sw(x: torch.Tensor, net: nn.Module, roi) -> torch.Tensor:
    return SlidingWindowInferer(roi, sw_batch_size=4, overlap=0.25, mode="gaussian")(x, net)


def masks(logits: torch.Tensor) -> np.ndarray:
    return (logits.argmax(1) if logits.shape[1] > 1 else logits[:, 0] > 0).numpy()


ROI = (64, 64)


def test_lesions_touching_the_borders_and_a_non_square_image() -> None:
    shape = (300, 260)
    lesions = disc(shape, (0, 0), 20) | disc(shape, (299, 130), 15) | disc(shape, (150, 259), 12)
    x = as_input(lesions)
    inferer = LocateThenSegmentInferer(ROI, margin=8)
    out = inferer(x, Bright())
    assert out.shape == (1, 1, *shape)
    assert inferer.last_run["path"] == "located" and inferer.last_run["boxes"] == 3
    assert np.array_equal(masks(out), masks(full_sw(x, Bright(), ROI)))
    assert np.array_equal(masks(out)[0], lesions)


def test_two_overlapping_lesions_merge_into_one_box() -> None:
    shape = (256, 256)
    lesions = disc(shape, (120, 100), 30) | disc(shape, (140, 150), 30)
    x = as_input(lesions)
    inferer = LocateThenSegmentInferer(ROI)
    out = inferer(x, Bright())
    assert inferer.last_run["boxes"] == 1 and inferer.last_run["windows"] > 1  # a box larger than the ROI: tiled
    assert np.array_equal(masks(out)[0], lesions)
    # where windows ran, the blended logits are the network's own (it is pointwise)
    inside = torch.from_numpy(disc(shape, (130, 125), 40))
    torch.testing.assert_close(out[0, 0][inside], (10 * (x[0, 0] - 0.5))[inside])


def test_a_lesion_the_coarse_pass_cuts_in_half_is_segmented_whole() -> None:
    """A dumbbell: two discs joined by a 1-px bar that vanishes at 1/4 resolution, so the coarse pass sees two
    lesions. Their boxes (with the margin) overlap and merge, and the native pass recovers the bar."""
    shape = (256, 256)
    lesion = disc(shape, (128, 90), 14) | disc(shape, (128, 130), 14)
    lesion[128, 90:131] = True
    x = as_input(lesion)
    inferer = LocateThenSegmentInferer(ROI, margin=12)
    coarse = inferer.locate(x, Bright())
    assert coarse is not None and len(coarse) == 1
    out = inferer(x, Bright())
    assert np.array_equal(masks(out)[0], lesion)
    # without a margin each half gets its own window and the middle of the bar is lost: the margin matters
    no_margin = LocateThenSegmentInferer((32, 32), margin=0)
    assert not masks(no_margin(x, Bright()))[0][128, 110]


def test_max_lesions_keeps_the_most_confident_components_and_skips_the_rest() -> None:
    """Three lesions: a large bright one, a small bright one, a large faint one (probability 0.4 everywhere in
    it: above the coarse threshold 0.3, below 0.5). ``max_lesions`` 1 segments only the large bright one, and
    the network runs on fewer pixels; 2 keeps the two with the largest probability mass."""
    shape = (512, 512)
    big, small, faint = disc(shape, (100, 100), 30), disc(shape, (400, 400), 10), disc(shape, (100, 400), 28)
    image = big.astype(np.float32) + small + 0.46 * faint  # logit 10 * (0.46 - 0.5) = -0.4: probability 0.40
    x = torch.from_numpy(image)[None, None]
    net_all, net_one = Bright(), Bright()
    every = LocateThenSegmentInferer(ROI)
    all_out = every(x, net_all)
    assert every.last_run["components"] == 3 and every.last_run["boxes"] == 3
    one = LocateThenSegmentInferer(ROI, max_lesions=1)
    one_out = one(x, net_one)
    assert one.last_run["components"] == 3 and one.last_run["boxes"] == 1
    assert np.array_equal(masks(one_out)[0], big) and np.array_equal(masks(all_out)[0], big | small)
    assert net_one.pixels < net_all.pixels
    # mass in coarse pixels: big disc ~177 x 1.0, faint ~154 x 0.4 = 62, small ~20 x 1.0: the faint one is second
    kept = LocateThenSegmentInferer(ROI, max_lesions=2).locate(x, Bright())
    assert kept is not None and len(kept) == 2
    assert not any(start[0] > 300 for start, _ in kept)  # the small one, at row 400, is the one dropped
    # more components than max_boxes: the coarse pass is not trusted to rank them, the full sliding window runs
    wary = LocateThenSegmentInferer(ROI, max_lesions=1, max_boxes=2)
    assert np.array_equal(masks(wary(x, Bright()))[0], big | small) and wary.last_run["path"] == "full"


def test_an_image_without_lesion_is_fast_and_empty() -> None:
    x = torch.zeros(1, 1, 1024, 1024)
    net = Bright()
    inferer = LocateThenSegmentInferer(ROI)
    start = time.perf_counter()
    out = inferer(x, net)
    elapsed = time.perf_counter() - start
    assert not masks(out).any() and inferer.last_run["windows"] == 0
    assert net.pixels <= 2 * 256 * 256 + 64 * 64  # the coarse image's overlapping windows and one probe window
    full = Bright()
    full_sw(x, full, ROI)
    assert full.pixels > 10 * net.pixels  # work, not wall time: a pointwise net costs less than the overheads
    assert elapsed < 10.0


def test_3d_softmax_output_matches_full_sliding_window() -> None:
    shape = (96, 80, 72)
    lesion = disc(shape, (20, 40, 30), 10) | disc(shape, (80, 70, 60), 8)
    x = as_input(lesion)
    roi = (32, 32, 32)
    inferer = LocateThenSegmentInferer(roi, downsample=4, margin=4, min_size=1)
    out = inferer(x, Bright(3, channels=2))
    assert out.shape == (1, 2, *shape) and inferer.last_run["path"] == "located"
    assert np.array_equal(masks(out), masks(full_sw(x, Bright(3, channels=2), roi)))
    assert np.array_equal(masks(out)[0], lesion)


def test_falls_back_to_full_sliding_window() -> None:
    shape = (256, 256)
    x = as_input(disc(shape, (128, 128), 120))  # a lesion over most of the image
    inferer = LocateThenSegmentInferer(ROI)
    out = inferer(x, Bright())
    assert inferer.last_run["path"] == "full" and "cover" in inferer.last_run["fallback"]
    torch.testing.assert_close(out, full_sw(x, Bright(), ROI))
    speckle = np.zeros(shape, dtype=bool)
    for i in range(8, 256, 24):
        for j in range(8, 256, 24):
            speckle[i : i + 6, j : j + 6] = True  # 121 small lesions: fragmented, not worth boxing one by one
    inferer = LocateThenSegmentInferer(ROI, max_boxes=16, min_size=1, margin=0)
    inferer(as_input(speckle), Bright())
    assert inferer.last_run["path"] == "full" and "max_boxes" in inferer.last_run["fallback"]
    small = LocateThenSegmentInferer(ROI)
    small(torch.zeros(1, 1, 100, 90), Bright())  # 4 windows at most: nothing to gain from locating
    assert small.last_run["path"] == "full"


def test_given_points_and_boxes_replace_the_coarse_pass() -> None:
    shape = (512, 512)
    lesions = disc(shape, (100, 100), 10) | disc(shape, (400, 400), 10)
    x = as_input(lesions)
    inferer = LocateThenSegmentInferer(ROI)
    out = masks(inferer(x, Bright(), points=[(98, 103)]))[0]
    assert inferer.last_run["path"] == "given" and inferer.last_run["windows"] == 1
    assert np.array_equal(out, disc(shape, (100, 100), 10))  # only the clicked lesion
    out = masks(inferer(x, Bright(), boxes=[(390, 390, 411, 411), (0, 500, 5, 512)]))[0]
    assert np.array_equal(out, disc(shape, (400, 400), 10))  # a box at the border is clipped, not an error
    assert not masks(inferer(x, Bright(), points=[]))[0].any()
    with pytest.raises(ValueError, match="2 coordinates"):
        inferer(x, Bright(), points=[(1, 2, 3)])
    with pytest.raises(ValueError, match="4 numbers"):
        inferer(x, Bright(), boxes=[(1, 2, 3)])


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="max_lesions"):
        LocateThenSegmentInferer(ROI, max_lesions=0)
    with pytest.raises(ValueError, match="overlap"):
        LocateThenSegmentInferer(ROI, overlap=1.0)
    with pytest.raises(ValueError, match="locate_threshold"):
        LocateThenSegmentInferer(ROI, locate_threshold=0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        LocateThenSegmentInferer(ROI)(torch.zeros(1, 64, 64), Bright())


PEAK_SCRIPT = """
import json, resource, sys, torch
sys.path.insert(0, {repo!r})
from tests.inference.test_locate_then_segment import Bright, disc, as_input
from monai_lightseg.inference import LocateThenSegmentInferer
torch.set_num_threads(1)
x = as_input(disc((192, 192, 192), (96, 96, 96), 12))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = LocateThenSegmentInferer((32, 32, 32), sw_batch_size=2, margin=4)(x, Bright(3))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"peak_increase_mb": (after - before) / 1024, "shape": list(out.shape)}}))
"""


def test_peak_memory_of_a_volume_is_bounded() -> None:
    """A 192^3 volume (7.1 M voxels, 28 MB as float32): the inferer holds the output plus blending buffers the size
    of the lesion's region and a batch of windows; the coarse pass works on 1/64 of the voxels. Peak RSS may grow
    by at most 60 MB (measured 36 MB; 92 MB when the blending sums were volume-sized)."""
    from tests.conftest import REPO

    result = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT.format(repo=str(REPO))], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["shape"] == [1, 1, 192, 192, 192]
    assert report["peak_increase_mb"] < 60, report


def test_a_bundle_takes_it_as_its_inferer(tmp_path) -> None:
    """``inferer`` overridden from the command line (here the same override in-process): the polyp bundle writes
    a mask of the image's size, and on a frame that needs few windows the result is the sliding window's."""
    from monai.bundle import run
    from PIL import Image

    from tests.bundles.conftest import copy_bundle, ensure_weights

    root = copy_bundle("polyp_endoscopy_unet_segmentation", tmp_path)
    ensure_weights(root)
    images = tmp_path / "in"
    images.mkdir()
    frame = Image.open(root / "sample_data" / "images" / "cvc_clinicdb_1.png")
    canvas = Image.new("RGB", (1000, 700), (120, 60, 50))
    canvas.paste(frame, (500, 300))
    canvas.save(images / "large.png")
    frame.save(images / "small.png")
    override = {"_target_": "monai_lightseg.inference.LocateThenSegmentInferer", "roi_size": "@roi_size"}
    for name, inferer in (("lts", override), ("sw", None)):
        kwargs = {"inferer": inferer} if inferer else {}
        run(config_file=str(root / "configs" / "inference.json"), bundle_root=str(root), dataset_dir=str(images),
            output_dir=str(tmp_path / name), **kwargs)  # fmt: skip
    assert Image.open(tmp_path / "lts" / "large.png").size == (1000, 700)
    small = [np.asarray(Image.open(tmp_path / n / "small.png")) for n in ("lts", "sw")]
    assert np.array_equal(*small)  # 384x288 needs 4 windows: the full sliding window runs


def test_an_eval_network_runs_folded_once_per_set_of_weights() -> None:
    """By default a network in eval mode runs re-parameterised (same logits to rounding), folded once and again
    only when its weights change; a network in training mode, or reparameterize=False, runs as it is."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 1, 1))
    net[1].running_mean.uniform_(-0.5, 0.5)
    net[1].running_var.uniform_(0.5, 2.0)
    net.eval()
    x = as_input(disc((96, 80), (40, 40), 12))
    points = [(40, 40)]
    inferer = LocateThenSegmentInferer(ROI, margin=8)
    with torch.no_grad():
        folded, eager = inferer(x, net, points=points), LocateThenSegmentInferer(ROI, margin=8, reparameterize=False)(
            x, net, points=points
        )
        first = inferer._folded[1]
        inferer(x, net, points=points)
        assert inferer._folded[1] is first  # the same weights: folded once
        net[0].weight.mul_(2)  # new weights (an in-place update, as load_state_dict or an optimiser makes)
        changed = inferer(x, net, points=points)
    torch.testing.assert_close(folded, eager, rtol=1e-5, atol=1e-5)
    assert inferer._folded[1] is not first and not torch.allclose(changed, folded)
    assert inferer._deployed(net.train()) is net and net.training  # training mode: used as it is
