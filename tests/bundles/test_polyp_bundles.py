"""The polyp bundles, run the way users run them: MONAI's checks, train, resume, multi-process, infer, evaluate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser, run, verify_metadata, verify_net_in_out
from PIL import Image

from tests.bundles.conftest import (
    BUNDLES_DIR,
    POLYP_BUNDLES,
    SCHEMA,
    TRAINED_POLYP_BUNDLES,
    assert_ddp_checkpoint_trained,
    assert_torchscript_export_matches,
    ensure_weights,
    read_rows,
)

SAMPLE_STEMS = ["cvc_clinicdb_1", "kvasir_val_0"]
SHORT_TRAIN = {"max_steps": 2, "epoch_length": 1, "val_interval": 1, "batch_size": 2, "num_workers": 0, "cache_rate": 0}


def test_four_polyp_bundles_exist() -> None:
    assert POLYP_BUNDLES == [
        "polyp_endoscopy_emisnet_segmentation",
        "polyp_endoscopy_feature_compression_net_segmentation",
        "polyp_endoscopy_light_u2net_segmentation",
        "polyp_endoscopy_unet_segmentation",
    ]


@pytest.mark.parametrize("name", POLYP_BUNDLES)
def test_datalist_split_is_committed_and_disjoint(name: str) -> None:
    split = json.loads((BUNDLES_DIR / name / "configs" / "datalist.json").read_text(encoding="utf-8"))
    train = {i["image"] for i in split["training"]}
    val = {i["image"] for i in split["validation"]}
    assert len(train) == 1160 and len(val) == 232 and not train & val
    assert all(not Path(p).is_absolute() for p in train | val)
    assert {f"kvasir_seg/images/{s}.jpg" for s in ("val_0",)} <= val  # the shipped sample is a validation image
    assert "cvc_clinicdb/images/1.png" in val


@pytest.mark.parametrize("name", POLYP_BUNDLES)
def test_verify_metadata_offline(name: str) -> None:
    verify_metadata(meta_file=str(BUNDLES_DIR / name / "configs" / "metadata.json"), filepath=str(SCHEMA))


@pytest.mark.parametrize("name", POLYP_BUNDLES)
def test_verify_net_in_out(name: str) -> None:
    configs = BUNDLES_DIR / name / "configs"
    verify_net_in_out(
        net_id="network_def",
        meta_file=str(configs / "metadata.json"),
        config_file=str(configs / "inference.json"),
        bundle_root=str(BUNDLES_DIR / name),
        device="cpu",
    )


@pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", POLYP_BUNDLES)
def test_ckpt_export_to_torchscript(name: str, scratch_bundle, tmp_path) -> None:
    root = scratch_bundle(name)
    assert_torchscript_export_matches(root, (1, 3, 256, 256), tmp_path / "model.ts")


@pytest.mark.parametrize("name", POLYP_BUNDLES)
def test_train_two_steps_then_resume(name: str, scratch_bundle) -> None:
    root = scratch_bundle(name)
    (root / "models" / "model.pt").unlink(missing_ok=True)
    (root / "models" / "model.best.json").unlink(missing_ok=True)
    config = str(root / "configs" / "train.json")
    run(config_file=config, bundle_root=str(root), **SHORT_TRAIN)
    log = root / "models" / "training_log.csv"
    assert [r["iteration"] for r in read_rows(log)] == ["1", "2"]
    assert all("val_mean_dice=" in r["validation"] for r in read_rows(log))
    assert (root / "models" / "model.pt").is_file()
    assert len(list((root / "models" / "checkpoints").glob("*checkpoint*.pt"))) == 1
    # a rerun with a larger budget continues from the checkpoint instead of starting again
    run(config_file=config, bundle_root=str(root), **{**SHORT_TRAIN, "max_steps": 3})
    assert [r["epoch"] for r in read_rows(log)] == ["1", "2", "3"]
    assert [p.name for p in (root / "models" / "checkpoints").glob("*checkpoint*.pt")] == ["checkpoint_epoch=3.pt"]
    best = json.loads((root / "models" / "model.best.json").read_text(encoding="utf-8"))
    assert best["metric"] == "val_mean_dice" and 0.0 <= best["value"] <= 1.0


def test_lesion_free_windows_switch_on_from_the_command_line(scratch_bundle) -> None:
    """``lesion_free_prob`` 1.0 swaps every sample frame (both have a polyp-free 128 px window at the training
    scale) for such a window, reflect-padded to the ROI; training runs with it."""
    root = scratch_bundle("polyp_endoscopy_feature_compression_net_segmentation")
    config = str(root / "configs" / "train.json")
    parser = ConfigParser()
    parser.read_config(config)
    assert parser["lesion_free_prob"] == 0.0  # off in the shipped recipe
    parser.update({"bundle_root": str(root), "lesion_free_prob": 1.0, "cache_rate": 0})
    dataset = parser.get_parsed_content("train#dataset")
    for i in range(len(dataset)):
        sample = dataset[i]
        assert tuple(sample["image"].shape) == (3, 256, 256) and tuple(sample["label"].shape) == (1, 256, 256)
        assert sample["label"].sum() == 0, dataset.data[i]["image"]
    untouched = ConfigParser()
    untouched.read_config(config)
    untouched.update({"bundle_root": str(root), "cache_rate": 0})
    assert all(untouched.get_parsed_content("train#dataset")[i]["label"].sum() > 0 for i in range(len(dataset)))
    run(config_file=config, bundle_root=str(root), lesion_free_prob=1.0, **SHORT_TRAIN)
    assert [r["iteration"] for r in read_rows(root / "models" / "training_log.csv")] == ["1", "2"]


def test_rotation_and_scale_augmentation_switches_on_from_the_command_line(scratch_bundle) -> None:
    """``affine_prob`` 1.0 rotates and scales every training frame together with its mask (the same affine on both);
    the mask stays binary (nearest interpolation) and is none of the eight flips and 90° rotations of the mask
    without it; training runs with it. All four bundles' weights were trained with it at 0.5."""
    shipped = {
        name: json.loads((BUNDLES_DIR / name / "configs" / "train.json").read_text(encoding="utf-8"))["affine_prob"]
        for name in POLYP_BUNDLES
    }
    assert set(shipped.values()) == {0.5}, shipped
    root = scratch_bundle("polyp_endoscopy_unet_segmentation")
    config = str(root / "configs" / "train.json")

    def samples(**overrides) -> list[dict]:
        parser = ConfigParser()
        parser.read_config(config)
        parser.update({"bundle_root": str(root), "cache_rate": 0, **overrides})
        dataset = parser.get_parsed_content("train#dataset")
        return [dataset[i] for i in range(len(dataset))]

    plain = samples(affine_prob=0.0)
    assert len(plain) == 2
    for sample, reference in zip(samples(affine_prob=1.0), plain):
        label = sample["label"][0].numpy()
        assert tuple(sample["image"].shape) == (3, 256, 256) and label.shape == (256, 256)
        assert torch.allclose(sample["image"].affine, sample["label"].affine)  # one geometry for frame and mask
        assert set(np.unique(label)) <= {0.0, 1.0} and label.sum() > 0
        base = reference["label"][0].numpy()
        dihedral = [np.rot90(m, k) for m in (base, base.T) for k in range(4)]
        assert not any(np.array_equal(label, m) for m in dihedral)
    run(config_file=config, bundle_root=str(root), affine_prob=1.0, **SHORT_TRAIN)
    assert [r["iteration"] for r in read_rows(root / "models" / "training_log.csv")] == ["1", "2"]


@pytest.mark.slow
def test_multi_gpu_train_with_torchrun_on_cpu(scratch_bundle) -> None:
    root = scratch_bundle("polyp_endoscopy_unet_segmentation")
    (root / "models" / "model.pt").unlink(missing_ok=True)
    (root / "models" / "model.best.json").unlink(missing_ok=True)  # else a shipped best score blocks saving
    # two samples over two ranks: one sample each, so batch size 1 (drop_last would leave no batch at 2)
    overrides = [f"--{k}={v}" for k, v in {**SHORT_TRAIN, "batch_size": 1}.items()]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nnodes=1",
        "--nproc_per_node=2",
        "-m",
        "monai.bundle",
        "run",
        "--config_file",
        "['configs/train.json','configs/multi_gpu_train.json']",
        "--bundle_root",
        str(root),
        *overrides,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert [r["iteration"] for r in read_rows(root / "models" / "training_log.csv")] == ["1", "2"]  # rank 0 only
    state = torch.load(root / "models" / "model.pt", map_location="cpu")
    assert not any(k.startswith("module.") for k in state)  # KeepBestNetwork unwraps DDP
    assert_ddp_checkpoint_trained(root, steps=2)


def _infer(root: Path, images: Path, out: Path) -> None:
    run(
        config_file=str(root / "configs/inference.json"),
        bundle_root=str(root),
        dataset_dir=str(images),
        output_dir=str(out),
    )


@pytest.mark.parametrize("name", POLYP_BUNDLES)
def test_inference_writes_masks_and_overlays_at_original_size(name: str, scratch_bundle, tmp_path) -> None:
    root = scratch_bundle(name)
    ensure_weights(root)
    out = tmp_path / "out"
    _infer(root, root / "sample_data" / "images", out)
    for stem, suffix in zip(SAMPLE_STEMS, [".png", ".jpg"]):
        source = Image.open(root / "sample_data" / "images" / f"{stem}{suffix}")
        mask = Image.open(out / f"{stem}.png")
        overlay = Image.open(out / f"{stem}_overlay.png")
        assert mask.size == source.size and overlay.size == source.size  # (W, H), non-square CVC frame included
        assert mask.mode == "L" and set(np.unique(np.asarray(mask))) <= {0, 255}
        assert overlay.mode == "RGB"


def test_inference_cli_as_documented(scratch_bundle, tmp_path) -> None:
    """Exactly the README command, in a subprocess, on an image folder holding a GIF and a small image."""
    root = scratch_bundle("polyp_endoscopy_unet_segmentation")
    ensure_weights(root)
    images = tmp_path / "in"
    images.mkdir()
    Image.open(root / "sample_data/images/cvc_clinicdb_1.png").save(images / "frame.gif")
    Image.open(root / "sample_data/images/kvasir_val_0.jpg").resize((200, 150)).save(images / "small.tif")
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "monai.bundle",
        "run",
        "--config_file",
        "configs/inference.json",
        "--dataset_dir",
        str(images),
        "--output_dir",
        str(out),
    ]
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert Image.open(out / "frame.png").size == (384, 288)
    assert Image.open(out / "small.png").size == (200, 150)  # smaller than the ROI: padded, then cropped back


@pytest.mark.parametrize("name", TRAINED_POLYP_BUNDLES)
def test_shipped_weights_reproduce_reference_masks(name: str, scratch_bundle, tmp_path) -> None:
    """Regression check of the shipped weights: masks equal the committed reference (Dice >= 0.99 allows for
    floating-point differences between CPUs), and the reference itself is a real segmentation of the sample."""
    root = scratch_bundle(name)
    out = tmp_path / "out"
    _infer(root, root / "sample_data" / "images", out)
    for stem in SAMPLE_STEMS:
        got = np.asarray(Image.open(out / f"{stem}.png")) > 127
        ref = np.asarray(Image.open(root / "sample_data" / "reference" / f"{stem}.png")) > 127
        assert 2 * (got & ref).sum() / max(1, got.sum() + ref.sum()) >= 0.99


@pytest.mark.parametrize("name", POLYP_BUNDLES)
def test_evaluate_writes_consistent_reports(name: str, scratch_bundle, tmp_path) -> None:
    root = scratch_bundle(name)
    ensure_weights(root)
    report = tmp_path / "report"
    run(
        config_file=[str(root / "configs/inference.json"), str(root / "configs/evaluate.json")],
        bundle_root=str(root),
        output_dir=str(report),
    )
    rows = read_rows(report / "per_image.csv")
    assert sorted(r["image"] for r in rows) == ["cvc_clinicdb_1.png", "kvasir_val_0.jpg"]  # no machine paths
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    dice = [float(r["dice"]) for r in rows]
    assert summary["all"]["class_1"]["dice"]["mean"] == pytest.approx(sum(dice) / len(dice))
    # the reported Dice equals the Dice of the masks inference writes, against the shipped ground truth
    out = tmp_path / "masks"
    _infer(root, root / "sample_data" / "images", out)
    for r in rows:
        stem = Path(r["image"]).stem
        pred = np.asarray(Image.open(out / f"{stem}.png")) > 127
        suffix = ".png" if stem.startswith("cvc") else ".jpg"
        gt = np.asarray(Image.open(root / "sample_data" / "masks" / f"{stem}{suffix}").convert("L")) > 127
        expected = 2 * (pred & gt).sum() / max(1, pred.sum() + gt.sum())
        assert float(r["dice"]) == pytest.approx(expected, abs=1e-4)


def test_evaluate_groups_the_summary_by_dataset(scratch_bundle, tmp_path) -> None:
    """A datalist's ``dataset`` field (kept by MONAI in the engine's batch, not its output) splits the summary."""
    root = scratch_bundle("polyp_endoscopy_unet_segmentation")
    ensure_weights(root)
    data = root / "sample_data"
    datalist = {"validation": [
        {"image": "images/cvc_clinicdb_1.png", "label": "masks/cvc_clinicdb_1.png", "dataset": "cvc_clinicdb"},
        {"image": "images/kvasir_val_0.jpg", "label": "masks/kvasir_val_0.jpg", "dataset": "kvasir_seg"},
    ]}  # fmt: skip
    (tmp_path / "datalist.json").write_text(json.dumps(datalist), encoding="utf-8")
    report = tmp_path / "report"
    run(
        config_file=[str(root / "configs/inference.json"), str(root / "configs/evaluate.json")],
        bundle_root=str(root),
        output_dir=str(report),
        datalist=f"$monai_lightseg.data.load_datalist('{tmp_path / 'datalist.json'}', 'validation', '{data}')",
    )
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) == {"all", "cvc_clinicdb", "kvasir_seg"}
    assert summary["kvasir_seg"]["class_1"]["n_images"] == 1


def _dice(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(2 * (pred & truth).sum() / max(1, pred.sum() + truth.sum()))


@pytest.mark.parametrize("name", TRAINED_POLYP_BUNDLES)
def test_scale_rule_makes_masks_independent_of_frame_resolution(name: str, scratch_bundle, tmp_path) -> None:
    """Real endoscopes give 1280x1024 to 1920x1080 frames where polyps span 3-5x more pixels than in training:
    the bundle's scale rule (resize to the training frame size, mask back) keeps Dice against the equally
    upsampled truth within 0.02 of the native-size result, on the shipped validation frames."""
    root = scratch_bundle(name)
    data = root / "sample_data"
    dice = {}
    for factor in (1, 3, 5):
        frames, truths = tmp_path / f"x{factor}", {}
        frames.mkdir()
        for stem in SAMPLE_STEMS:
            image = Image.open(next((data / "images").glob(f"{stem}.*"))).convert("RGB")
            truth = Image.open(next((data / "masks").glob(f"{stem}.*"))).convert("L")
            size = (image.width * factor, image.height * factor)
            image.resize(size, Image.BICUBIC).save(frames / f"{stem}.png")
            truths[stem] = np.asarray(truth.resize(size, Image.NEAREST)) > 127
        _infer(root, frames, tmp_path / f"out{factor}")
        for stem, truth in truths.items():
            pred = np.asarray(Image.open(tmp_path / f"out{factor}" / f"{stem}.png")) > 127
            assert pred.shape == truth.shape
            dice[stem, factor] = _dice(pred, truth)
    assert max(dice[stem, 1] for stem in SAMPLE_STEMS) > 0.5, f"{name} finds no polyp at native size: {dice}"
    for stem in SAMPLE_STEMS:
        for factor in (3, 5):
            assert abs(dice[stem, factor] - dice[stem, 1]) <= 0.02, (stem, factor, dice)


def test_speck_removal_drops_what_the_readme_says() -> None:
    """The bundles' RemoveSmallObjectsd (``min_polyp_area`` 64) drops a 63-px component and keeps a 65-px one; one
    of exactly 64 px is dropped by scikit-image 0.26.0 (pinned; its issue #8001) and kept by earlier versions, as
    the generated README says. Fails when a scikit-image upgrade changes that, so the README is updated with it."""
    import skimage

    parser = ConfigParser()
    parser.read_config(str(BUNDLES_DIR / POLYP_BUNDLES[0] / "configs" / "inference.json"))
    transforms = parser["postprocessing"]["transforms"]
    index = next(i for i, t in enumerate(transforms) if t.get("_target_") == "RemoveSmallObjectsd")
    remove_specks = parser.get_parsed_content(f"postprocessing#transforms#{index}")
    assert parser.get_parsed_content("min_polyp_area") == 64
    pred = torch.zeros(1, 40, 40)
    for row, size in ((0, 63), (10, 64), (20, 65)):  # a full row and part of the next: one component each
        flat = pred[0, row : row + 8].reshape(-1)
        flat[:size] = 1
        pred[0, row : row + 8] = flat.reshape(8, 40)
    kept = remove_specks({"pred": pred})["pred"][0]
    sizes_kept = [int(kept[row : row + 8].sum()) for row in (0, 10, 20)]
    exactly_64_dropped = skimage.__version__ == "0.26.0"
    assert sizes_kept == [0, 0 if exactly_64_dropped else 64, 65]
