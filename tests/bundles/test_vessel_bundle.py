"""The retinal vessel bundle (LightU2Net, DRIVE) on synthetic fundus-like samples: MONAI's checks, train and
resume, inference at the original size, metrics restricted to the field of view."""

from __future__ import annotations

import json

import numpy as np
import pytest
from monai.bundle import run, verify_metadata, verify_net_in_out
from PIL import Image

from tests.bundles.conftest import BUNDLES_DIR, SCHEMA, assert_torchscript_export_matches, ensure_weights, read_rows
from tests.conftest import REPO

NAME = "retinal_vessel_fundus_light_u2net_segmentation"
BUNDLE = BUNDLES_DIR / NAME
SAMPLES = {"synthetic_1": (190, 200), "synthetic_2": (240, 224)}  # (width, height)
SHORT_TRAIN = {"max_steps": 2, "epoch_length": 1, "val_interval": 1, "batch_size": 1, "num_workers": 0, "cache_rate": 0}
SHARED_DRIVE = REPO.parent / "shared" / "data" / "drive"


def test_synthetic_samples_look_like_fundus_images() -> None:
    for stem, size in SAMPLES.items():
        image = np.asarray(Image.open(BUNDLE / "sample_data" / "images" / f"{stem}.png"))
        vessel = np.asarray(Image.open(BUNDLE / "sample_data" / "masks" / f"{stem}.png")) > 127
        fov = np.asarray(Image.open(BUNDLE / "sample_data" / "fov" / f"{stem}.png")) > 127
        assert image.shape == (size[1], size[0], 3)
        assert not (vessel & ~fov).any()  # vessels only inside the field of view, as in DRIVE
        assert 0.03 < vessel[fov].mean() < 0.25  # DRIVE: about 0.12 of the FOV
        assert image[vessel].mean() < image[fov & ~vessel].mean()  # vessels are darker than the background


def test_datalist_split() -> None:
    split = json.loads((BUNDLE / "configs" / "datalist.json").read_text(encoding="utf-8"))
    assert len(split["training"]) == 24 and len(split["validation"]) == 8
    assert all(set(i) == {"image", "label", "fov"} for i in split["training"] + split["validation"])
    assert not {i["image"] for i in split["training"]} & {i["image"] for i in split["validation"]}
    if SHARED_DRIVE.is_dir():
        from monai_lightseg.data import drive_datalist

        assert split == drive_datalist(SHARED_DRIVE)


def test_verify_metadata_and_net_in_out() -> None:
    verify_metadata(meta_file=str(BUNDLE / "configs" / "metadata.json"), filepath=str(SCHEMA))
    verify_net_in_out(
        net_id="network_def",
        meta_file=str(BUNDLE / "configs" / "metadata.json"),
        config_file=str(BUNDLE / "configs" / "inference.json"),
        bundle_root=str(BUNDLE),
        device="cpu",
    )


@pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning")
def test_ckpt_export_to_torchscript(scratch_bundle, tmp_path) -> None:
    root = scratch_bundle(NAME)
    assert_torchscript_export_matches(root, (1, 1, 128, 128), tmp_path / "model.ts")  # green channel + CLAHE


def test_train_two_steps_on_patches_then_resume(scratch_bundle) -> None:
    root = scratch_bundle(NAME)
    for f in ("model.pt", "model.best.json"):
        (root / "models" / f).unlink(missing_ok=True)
    config = str(root / "configs" / "train.json")
    run(config_file=config, bundle_root=str(root), **SHORT_TRAIN)
    log = root / "models" / "training_log.csv"
    assert [r["iteration"] for r in read_rows(log)] == ["1", "2"]
    assert all("val_mean_dice=" in r["validation"] for r in read_rows(log))
    run(config_file=config, bundle_root=str(root), **{**SHORT_TRAIN, "max_steps": 3})
    assert [r["epoch"] for r in read_rows(log)] == ["1", "2", "3"]
    assert (root / "models" / "model.pt").is_file()


def test_inference_writes_masks_of_the_original_size(scratch_bundle, tmp_path) -> None:
    root = scratch_bundle(NAME)
    ensure_weights(root)
    images = tmp_path / "in"
    images.mkdir()
    Image.open(root / "sample_data/images/synthetic_1.png").save(images / "a.tif")  # DRIVE ships TIFF
    Image.open(root / "sample_data/images/synthetic_2.png").resize((600, 580)).save(images / "b.jpg")
    out = tmp_path / "out"
    run(config_file=str(root / "configs/inference.json"), bundle_root=str(root), dataset_dir=str(images),
        output_dir=str(out))  # fmt: skip
    for stem, size in (("a", SAMPLES["synthetic_1"]), ("b", (600, 580))):
        mask = Image.open(out / f"{stem}.png")
        assert mask.size == size and mask.mode == "L" and set(np.unique(np.asarray(mask))) <= {0, 255}
        assert Image.open(out / f"{stem}_overlay.png").size == size


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * (a & b).sum() / max(1, a.sum() + b.sum())


def test_shipped_weights_reproduce_reference_masks(scratch_bundle, tmp_path) -> None:
    """Regression check of the DRIVE-trained weights on the synthetic samples: masks equal the committed
    reference (Dice >= 0.99 allows for floating-point differences between CPUs), and the reference is a real
    vessel segmentation of the sample (Dice against its drawn vessels 0.85 and 0.83 with the 0.3.0 weights)."""
    root = scratch_bundle(NAME)
    assert (root / "models" / "model.pt").is_file(), "the vessel bundle ships trained weights"
    out = tmp_path / "out"
    run(config_file=str(root / "configs/inference.json"), bundle_root=str(root),
        dataset_dir=str(root / "sample_data" / "images"), output_dir=str(out))  # fmt: skip
    for stem in SAMPLES:
        got = np.asarray(Image.open(out / f"{stem}.png")) > 127
        ref = np.asarray(Image.open(root / "sample_data" / "reference" / f"{stem}.png")) > 127
        drawn = np.asarray(Image.open(root / "sample_data" / "masks" / f"{stem}.png")) > 127
        assert _dice(got, ref) >= 0.99
        assert _dice(ref, drawn) >= 0.7


def test_evaluate_counts_only_inside_the_field_of_view(scratch_bundle, tmp_path) -> None:
    root = scratch_bundle(NAME)
    (root / "models" / "model.pt").unlink(missing_ok=True)  # calibrated random weights: they mark pixels outside
    ensure_weights(root)  # the FOV too, which the check below needs (a trained model might not)
    report = tmp_path / "report"
    run(
        config_file=[str(root / "configs/inference.json"), str(root / "configs/evaluate.json")],
        bundle_root=str(root),
        output_dir=str(report),
    )
    rows = {r["image"]: r for r in read_rows(report / "per_image.csv")}
    assert set(rows) == {f"{s}.png" for s in SAMPLES} and {r["class"] for r in rows.values()} == {"vessel"}
    masks = tmp_path / "masks"  # fov_threshold 0: no FOV estimate, the raw predictions outside the FOV kept
    run(config_file=str(root / "configs/inference.json"), bundle_root=str(root),
        dataset_dir=str(root / "sample_data" / "images"), output_dir=str(masks), fov_threshold=0)  # fmt: skip
    for stem in SAMPLES:
        pred = np.asarray(Image.open(masks / f"{stem}.png")) > 127
        gt = np.asarray(Image.open(root / "sample_data" / "masks" / f"{stem}.png")) > 127
        fov = np.asarray(Image.open(root / "sample_data" / "fov" / f"{stem}.png")) > 127
        assert (pred & ~fov).any() and (pred & fov).any()  # else the FOV restriction would go untested
        tp, fp = (pred & gt & fov).sum(), (pred & ~gt & fov).sum()
        fn, tn = (~pred & gt & fov).sum(), (~pred & ~gt & fov).sum()
        row = rows[f"{stem}.png"]
        assert float(row["dice"]) == pytest.approx(2 * tp / (2 * tp + fp + fn), abs=1e-4)
        assert float(row["recall"]) == pytest.approx(tp / (tp + fn), abs=1e-4)
        assert float(row["specificity"]) == pytest.approx(tn / (tn + fp), abs=1e-4)


def test_inference_masks_outside_the_estimated_field_of_view(scratch_bundle, tmp_path) -> None:
    """The estimated FOV (red channel > fov_threshold, holes filled, largest component) matches the drawn FOV,
    and nothing outside it is marked, while calibrated random weights mark pixels outside it without the mask;
    the batch command's segmenter gives the same mask."""
    from monai.bundle import ConfigParser

    from monai_lightseg.inference import BundleSegmenter

    root = scratch_bundle(NAME)
    (root / "models" / "model.pt").unlink(missing_ok=True)
    ensure_weights(root)
    parser = ConfigParser()
    parser.read_config(str(root / "configs/inference.json"))
    preprocessing = parser.get_parsed_content("preprocessing")
    segmenter = BundleSegmenter(root, device="cpu")
    out, raw = tmp_path / "out", tmp_path / "raw"
    run(config_file=str(root / "configs/inference.json"), bundle_root=str(root),
        dataset_dir=str(root / "sample_data" / "images"), output_dir=str(out))  # fmt: skip
    run(config_file=str(root / "configs/inference.json"), bundle_root=str(root),
        dataset_dir=str(root / "sample_data" / "images"), output_dir=str(raw), fov_threshold=0)  # fmt: skip
    for stem in SAMPLES:
        fov = np.asarray(Image.open(root / "sample_data" / "fov" / f"{stem}.png")) > 127
        estimated = preprocessing({"image": str(root / "sample_data" / "images" / f"{stem}.png")})["fov"]
        estimated = np.asarray(estimated[0]).T > 0  # MONAI's PIL loading is (W, H); the PNG is (H, W)
        assert (estimated & fov).sum() / (estimated | fov).sum() > 0.98
        masked = np.asarray(Image.open(out / f"{stem}.png")) > 127
        unmasked = np.asarray(Image.open(raw / f"{stem}.png")) > 127
        assert (unmasked & ~estimated).any() and not (masked & ~estimated).any()
        assert np.array_equal(masked, unmasked & estimated)
        # the batch command's path (monai-lightseg segment) runs the same FOV steps
        assert np.array_equal(segmenter(root / "sample_data" / "images" / f"{stem}.png") > 0, masked)


def test_network_input_is_the_green_channel_after_clahe(scratch_bundle) -> None:
    """Inference feeds the network the CLAHE-equalised green channel and keeps the colour photograph for the
    overlay; evaluation and training see the same input."""
    from monai.bundle import ConfigParser

    from monai_lightseg.transforms import AdaptiveHistogramEqualize

    root = scratch_bundle(NAME)
    path = str(root / "sample_data" / "images" / "synthetic_1.png")
    parser = ConfigParser()
    parser.read_config(str(root / "configs/inference.json"))
    data = parser.get_parsed_content("preprocessing")({"image": path})
    rgb = np.asarray(Image.open(path), dtype=np.float32).transpose(2, 1, 0) / 255  # MONAI's PIL order (C, W, H)
    np.testing.assert_allclose(np.asarray(data["photo"]), rgb, atol=1e-6)
    np.testing.assert_allclose(np.asarray(data["image"]), AdaptiveHistogramEqualize()(rgb[1:2]), atol=1e-5)
    parser = ConfigParser()
    parser.read_config([str(root / "configs/inference.json"), str(root / "configs/evaluate.json")])
    label = str(root / "sample_data" / "masks" / "synthetic_1.png")
    fov = str(root / "sample_data" / "fov" / "synthetic_1.png")
    evaluated = parser.get_parsed_content("preprocessing")({"image": path, "label": label, "fov": fov})
    np.testing.assert_allclose(np.asarray(evaluated["image"]), np.asarray(data["image"]), atol=1e-6)


def test_training_patches_are_centred_inside_the_field_of_view(scratch_bundle, tmp_path) -> None:
    """With a field of view of one small square, every training patch is centred on it (within the few pixels
    of the square), so no patch is spent on the black surround of a fundus photograph."""
    from monai.bundle import ConfigParser
    from monai.utils import set_determinism

    root = scratch_bundle(NAME)
    height, width = 200, 190
    square = np.zeros((height, width), np.uint8)
    square[97:103, 92:98] = 255  # a 6x6 field of view, centre (100, 95)
    Image.fromarray(square).save(tmp_path / "fov.png")
    Image.fromarray(square).save(tmp_path / "label.png")  # the label marks the same square, to find it in a patch
    parser = ConfigParser()
    parser.read_config(str(root / "configs/train.json"))
    parser["bundle_root"] = str(root)
    preprocessing = parser.get_parsed_content("train#preprocessing")
    item = {
        "image": str(root / "sample_data" / "images" / "synthetic_1.png"),
        "label": str(tmp_path / "label.png"),
        "fov": str(tmp_path / "fov.png"),
    }
    set_determinism(seed=0)
    patches = [patch for _ in range(5) for patch in preprocessing(item)]
    set_determinism(seed=None)
    assert len(patches) == 5 * 2 and all("fov" not in p for p in patches)
    for patch in patches:
        assert tuple(patch["image"].shape) == (1, 128, 128)
        found = np.argwhere(np.asarray(patch["label"][0]) > 0)
        assert len(found) == 36  # the whole square, whatever flip or rotation followed
        assert np.abs(found.mean(axis=0) - 63.5).max() <= 3.5
