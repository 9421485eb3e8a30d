"""The bare loop's foreground-prior ablation (benchmarks/bare_loop_polyp.py): polyp-free windows hold no polyp
pixel, positive crops hold one, and the polyp-free check counts what a network marks in such windows."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from ablation_compare import compare  # noqa: E402
from bare_loop_polyp import crop_batch, evaluate_polyp_free, free_positions  # noqa: E402


def _frames() -> tuple[torch.Tensor, torch.Tensor]:
    """Three 64x80 frames (not square, so that rows and columns cannot be swapped unnoticed): a polyp in the
    top-left corner, one filling the frame, one near the bottom."""
    y = torch.zeros(3, 1, 64, 80)
    y[0, :, :10, :10] = 1
    y[1] = 1
    y[2, :, 50:58, 40:48] = 1
    return torch.rand(3, 3, 64, 80), y


def test_free_positions_are_exactly_the_windows_without_a_polyp_pixel() -> None:
    _, y = _frames()
    free = free_positions(y, 32)
    assert len(free[1]) == 0  # the polyp fills the frame
    rows, cols = 64 - 32 + 1, 80 - 32 + 1
    for i in (0, 2):
        expected = {t * cols + s for t in range(rows) for s in range(cols) if not y[i, 0, t:t + 32, s:s + 32].any()}
        assert set(free[i].tolist()) == expected and expected


def test_crops_are_positive_or_polyp_free_as_asked() -> None:
    x, y = _frames()
    free, generator = free_positions(y, 32), torch.Generator().manual_seed(0)
    idx = torch.tensor([0, 2] * 8)
    xs, ys = crop_batch(x, y, idx, 32, 1.0, free, generator)
    assert xs.shape == (16, 3, 32, 32) and all(m.any() for m in ys)  # centred on a polyp pixel
    xs, ys = crop_batch(x, y, idx, 32, 0.0, free, generator)
    assert not ys.any()  # all polyp-free
    hits = [any(torch.equal(c, x[i, :, t:t + 32, s:s + 32]) for t in range(33) for s in range(49))
            for c, i in zip(xs, idx.tolist())]  # fmt: skip
    assert all(hits)  # the crop is the frame's own pixels
    _, ys = crop_batch(x, y, torch.tensor([1]), 32, 0.0, free, generator)
    assert ys.all()  # no polyp-free window in frame 1: a uniform crop instead


def test_polyp_free_check_counts_what_the_network_marks() -> None:
    x, y = _frames()

    class Marks(torch.nn.Module):
        def __init__(self, value: float) -> None:
            super().__init__()
            self.value = value

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return torch.full_like(image[:, :1], self.value)

    everything, nothing = evaluate_polyp_free(Marks(1.0), x, y, 32), evaluate_polyp_free(Marks(-1.0), x, y, 32)
    assert everything["windows"] == 2  # frames 0 and 2; frame 1 has no polyp-free window
    assert everything["share_marked"] == 1.0 and everything["mean_area_marked"] == 1.0
    assert nothing["share_marked"] == 0.0 and nothing["mean_area_marked"] == 0.0

    class Blob(torch.nn.Module):  # marks a square of side pixels at the window's corner
        def __init__(self, side: int) -> None:
            super().__init__()
            self.side = side

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            out = torch.full_like(image[:, :1], -1.0)
            out[..., : self.side, : self.side] = 1.0
            return out

    # specks: components under 0.1 % of the validation frame (64 x 80 -> 5 px) are dropped, as in the bundles
    speck, blob = evaluate_polyp_free(Blob(2), x, y, 32), evaluate_polyp_free(Blob(3), x, y, 32)
    assert speck["share_marked"] == 0.0
    assert blob["share_marked"] == 1.0 and blob["mean_area_marked"] == pytest.approx(9 / 32**2)


def test_ablation_compare_pairs_frames_and_polyps(tmp_path) -> None:
    """benchmarks/ablation_compare.py: the variant minus the baseline, per frame and per CVC-ClinicDB polyp."""
    import json

    frames = ["kvasir_seg/images/a.jpg", "kvasir_seg/images/b.jpg", "cvc_clinicdb/images/1.png",
              "cvc_clinicdb/images/2.png", "cvc_clinicdb/images/104.png", "cvc_clinicdb/images/105.png"]  # fmt: skip
    for name, dice in (("base", [0.5, 0.7, 0.2, 0.4, 0.6, 0.6]), ("variant", [0.6, 0.8, 0.4, 0.4, 0.6, 0.7])):
        result = {"validation_dice": {"all": sum(dice) / 6}, "validation_per_frame": dict(zip(frames, dice)),
                  "polyp_free_windows": {"share_marked": 0.5, "mean_area_marked": 0.1}}  # fmt: skip
        (tmp_path / f"{name}.json").write_text(json.dumps({"results": [result]}), encoding="utf-8")
    row = compare(tmp_path, "base", "variant")
    assert row["minus_baseline"]["kvasir_seg"]["mean"] == pytest.approx(0.1)
    assert row["minus_baseline"]["cvc_clinicdb"]["mean"] == pytest.approx(0.075)
    assert row["minus_baseline_by_polyp"]["per_sequence"] == {"1": pytest.approx(0.1), "6": pytest.approx(0.05)}


def test_bundle_compare_pairs_two_evaluations(tmp_path) -> None:
    """benchmarks/bundle_compare.py on two per_image.csv files: per-dataset means (precision over the frames with
    a prediction), the paired Dice difference, and the per-polyp one on CVC-ClinicDB."""
    from bundle_compare import compare

    frames = [("kvasir_seg/images/a.jpg", "kvasir_seg"), ("kvasir_seg/images/b.jpg", "kvasir_seg"),
              ("cvc_clinicdb/images/1.png", "cvc_clinicdb"),
              ("cvc_clinicdb/images/104.png", "cvc_clinicdb")]  # fmt: skip
    for name, dice, precision in (("base", [0.5, 0.7, 0.2, 0.6], ["0.5", "nan", "0.4", "0.6"]),
                                  ("run", [0.6, 0.9, 0.4, 0.6], ["0.7", "0.9", "0.5", "0.6"])):  # fmt: skip
        folder = tmp_path / name
        folder.mkdir()
        rows = ["image,dataset,class,dice,iou,precision,recall,specificity,accuracy,f1"]
        rows += [f"{f},{d},class_1,{v},0,{p},0.5,1,1,{v}" for (f, d), v, p in zip(frames, dice, precision)]
        (folder / "per_image.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = compare(tmp_path / "base", tmp_path / "run")
    assert result["kvasir_seg"]["dice_minus_baseline"]["mean"] == pytest.approx(0.15)
    assert result["kvasir_seg"]["baseline_precision"] == pytest.approx(0.5)  # the nan frame left out
    assert result["cvc_clinicdb"]["dice"] == pytest.approx(0.5)
    by_polyp = result["cvc_clinicdb"]["dice_minus_baseline_by_polyp"]["per_sequence"]
    assert by_polyp == {"1": pytest.approx(0.2), "6": pytest.approx(0.0)}
    with pytest.raises(SystemExit, match="per_image.csv does not exist"):
        compare(tmp_path / "base", tmp_path / "missing")


def test_bundle_compare_averages_seeds_per_frame(tmp_path) -> None:
    """bundle_compare with several trainings on a side: each frame's Dice is their mean (precision over the
    trainings that predicted anything), each training's own means are listed, and trainings that scored different
    frames are refused."""
    from bundle_compare import compare

    frames = [("kvasir_seg/images/a.jpg", "kvasir_seg"), ("cvc_clinicdb/images/1.png", "cvc_clinicdb"),
              ("cvc_clinicdb/images/104.png", "cvc_clinicdb")]  # fmt: skip
    runs = {"base0": ([0.4, 0.2, 0.6], ["0.5", "nan", "0.6"]), "base2": ([0.6, 0.4, 0.6], ["0.7", "nan", "0.8"]),
            "net0": ([0.9, 0.1, 0.7], ["0.9", "nan", "0.7"]), "net2": ([0.7, 0.3, 0.5], ["0.3", "0.6", "0.5"])}
    for name, (dice, precision) in runs.items():
        folder = tmp_path / name
        folder.mkdir()
        rows = ["image,dataset,class,dice,iou,precision,recall,specificity,accuracy,f1"]
        rows += [f"{f},{d},class_1,{v},0,{p},0.5,1,1,{v}" for (f, d), v, p in zip(frames, dice, precision)]
        (folder / "per_image.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = compare([tmp_path / "base0", tmp_path / "base2"], [tmp_path / "net0", tmp_path / "net2"])
    assert result["kvasir_seg"]["baseline_dice"] == pytest.approx(0.5)
    assert result["kvasir_seg"]["dice_minus_baseline"]["mean"] == pytest.approx(0.3)
    assert result["cvc_clinicdb"]["dice_minus_baseline"]["mean"] == pytest.approx(-0.05)
    assert result["cvc_clinicdb"]["precision"] == pytest.approx((0.6 + 0.6) / 2)  # frame 1: only net2 predicted
    assert result["cvc_clinicdb"]["baseline_precision"] == pytest.approx(0.7)  # frame 1: neither predicted
    per_training = result["dice_per_training"]["variant"]
    expected = {"kvasir_seg": pytest.approx(0.9), "cvc_clinicdb": pytest.approx(0.4)}
    assert per_training[str(tmp_path / "net0")] == expected
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "per_image.csv").write_text(
        "image,dataset,class,dice,iou,precision,recall,specificity,accuracy,f1\n"
        "kvasir_seg/images/z.jpg,kvasir_seg,class_1,0.5,0,0.5,0.5,1,1,0.5\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit, match="scored different kvasir_seg frames"):
        compare([tmp_path / "base0", tmp_path / "other"], tmp_path / "net0")
