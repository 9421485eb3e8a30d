"""The 3D hippocampus bundles: MONAI's checks, train and resume, inference on NIfTI and on a DICOM MR series."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from monai.bundle import ConfigParser, run, verify_metadata, verify_net_in_out

from monai_lightseg.data import hippocampus_datalist, hippocampus_subject
from tests.bundles.conftest import (
    BUNDLES_DIR,
    HIPPOCAMPUS_BUNDLES,
    SCHEMA,
    TRAINED_HIPPOCAMPUS_BUNDLES,
    assert_ddp_checkpoint_trained,
    assert_torchscript_export_matches,
    ensure_weights,
    read_rows,
)
from tests.conftest import REPO

SAMPLES = ["hippocampus_033", "hippocampus_238"]
SHORT_TRAIN = {"max_steps": 2, "epoch_length": 1, "val_interval": 1, "batch_size": 2, "num_workers": 0, "cache_rate": 0}
SHARED_HIPPOCAMPUS = REPO.parent / "shared" / "data" / "msd_hippocampus"


def test_four_hippocampus_bundles_exist() -> None:
    assert HIPPOCAMPUS_BUNDLES == [
        "hippocampus_mri_emisnet_segmentation",
        "hippocampus_mri_feature_compression_net_segmentation",
        "hippocampus_mri_light_u2net_segmentation",
        "hippocampus_mri_unet_segmentation",
    ]


def test_seed_networks_cost_fewer_macs_than_the_baseline_per_window() -> None:
    from monai_lightseg.networks.profile import count_macs

    macs = {}
    for name in HIPPOCAMPUS_BUNDLES:
        parser = ConfigParser()
        parser.read_config(str(BUNDLES_DIR / name / "configs" / "inference.json"))
        net = parser.get_parsed_content("network_def").eval()
        macs[name] = count_macs(net, (1, 1, *parser.get_parsed_content("roi_size")))
    baseline = macs.pop("hippocampus_mri_unet_segmentation")
    assert all(m < baseline for m in macs.values()), (baseline, macs)


@pytest.mark.parametrize("name", HIPPOCAMPUS_BUNDLES)
def test_datalist_split_is_by_subject(name: str) -> None:
    split = json.loads((BUNDLES_DIR / name / "configs" / "datalist.json").read_text(encoding="utf-8"))
    train = {hippocampus_subject(i["image"]) for i in split["training"]}
    val = {hippocampus_subject(i["image"]) for i in split["validation"]}
    assert len(split["training"]) == 167 and len(split["validation"]) == 42
    assert not train & val  # both hippocampi of one person on the same side
    assert {f"imagesTr/{s}.nii.gz" for s in SAMPLES} <= {i["image"] for i in split["validation"]}
    if SHARED_HIPPOCAMPUS.is_dir():  # the committed split is the rule applied to the shared data
        assert split == json.loads(json.dumps(hippocampus_datalist(SHARED_HIPPOCAMPUS)))


@pytest.mark.parametrize("name", HIPPOCAMPUS_BUNDLES)
def test_verify_metadata_offline(name: str) -> None:
    verify_metadata(meta_file=str(BUNDLES_DIR / name / "configs" / "metadata.json"), filepath=str(SCHEMA))


@pytest.mark.parametrize("name", HIPPOCAMPUS_BUNDLES)
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
@pytest.mark.parametrize("name", HIPPOCAMPUS_BUNDLES)
def test_ckpt_export_to_torchscript(name: str, scratch_bundle, tmp_path) -> None:
    root = scratch_bundle(name)
    assert_torchscript_export_matches(root, (1, 1, 40, 56, 40), tmp_path / "model.ts")


@pytest.mark.parametrize("name", HIPPOCAMPUS_BUNDLES)
def test_train_two_steps_then_resume(name: str, scratch_bundle) -> None:
    root = scratch_bundle(name)
    for f in ("model.pt", "model.best.json"):
        (root / "models" / f).unlink(missing_ok=True)
    config = str(root / "configs" / "train.json")
    data = str(root / "sample_data")  # images/ + masks/: the same two volumes train and validate
    run(config_file=config, bundle_root=str(root), dataset_dir=data, **SHORT_TRAIN)
    log = root / "models" / "training_log.csv"
    assert [r["iteration"] for r in read_rows(log)] == ["1", "2"]
    assert all("val_mean_dice=" in r["validation"] for r in read_rows(log))
    run(config_file=config, bundle_root=str(root), dataset_dir=data, **{**SHORT_TRAIN, "max_steps": 3})
    assert [r["epoch"] for r in read_rows(log)] == ["1", "2", "3"]
    assert [p.name for p in (root / "models" / "checkpoints").glob("*.pt")] == ["checkpoint_epoch=3.pt"]
    assert (root / "models" / "model.pt").is_file()


@pytest.mark.slow
def test_multi_gpu_train_with_torchrun_on_cpu(scratch_bundle) -> None:
    root = scratch_bundle("hippocampus_mri_unet_segmentation")
    for f in ("model.pt", "model.best.json"):
        (root / "models" / f).unlink(missing_ok=True)
    overrides = [f"--{k}={v}" for k, v in {**SHORT_TRAIN, "batch_size": 1}.items()]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=2",
           "-m", "monai.bundle", "run", "--config_file", "['configs/train.json','configs/multi_gpu_train.json']",
           "--bundle_root", str(root), "--dataset_dir", str(root / "sample_data"), *overrides]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert [r["iteration"] for r in read_rows(root / "models" / "training_log.csv")] == ["1", "2"]
    assert_ddp_checkpoint_trained(root, steps=2)


def _infer(root: Path, images: Path, out: Path) -> None:
    run(
        config_file=str(root / "configs/inference.json"),
        bundle_root=str(root),
        dataset_dir=str(images),
        output_dir=str(out),
    )


@pytest.mark.parametrize("name", HIPPOCAMPUS_BUNDLES)
def test_inference_writes_labels_on_the_source_grid(name: str, scratch_bundle, tmp_path) -> None:
    """Shape and affine of every mask are the source's, exactly: one volume as shipped, the same stored LAS (as a
    scanner might), and one padded beyond the ROI (several sliding windows per axis)."""
    root = scratch_bundle(name)
    ensure_weights(root)
    images = tmp_path / "in"
    images.mkdir()
    source = nib.load(root / "sample_data" / "images" / "hippocampus_033.nii.gz")
    data = np.asarray(source.dataobj)
    nib.save(source, images / "as_shipped.nii.gz")
    flip_x = np.array([[-1, 0, 0, data.shape[0] - 1], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(data[::-1], source.affine @ flip_x), images / "las.nii")
    padded = np.pad(data, ((30, 30), (20, 20), (25, 25)), mode="reflect")
    shift = np.eye(4)
    shift[:3, 3] = [-30, -20, -25]
    nib.save(nib.Nifti1Image(padded, source.affine @ shift), images / "padded.nii.gz")
    out = tmp_path / "out"
    _infer(root, images, out)
    for stem in ("as_shipped", "las", "padded"):
        src = nib.load(next(images.glob(f"{stem}.nii*")))
        mask = nib.load(out / f"{stem}_seg.nii.gz")
        assert mask.shape == src.shape and np.array_equal(mask.affine, src.affine)
        assert mask.get_data_dtype() == np.uint8 and set(np.unique(np.asarray(mask.dataobj))) <= {0, 1, 2}
    # the same voxels stored in either orientation get the same labels: the flip is undone, not ignored
    a = np.asarray(nib.load(out / "as_shipped_seg.nii.gz").dataobj)
    b = np.asarray(nib.load(out / "las_seg.nii.gz").dataobj)[::-1]
    assert np.array_equal(a, b) and len(np.unique(a)) >= 2


@pytest.mark.parametrize("name", HIPPOCAMPUS_BUNDLES)
def test_evaluate_reports_dice_per_class_per_volume(name: str, scratch_bundle, tmp_path) -> None:
    root = scratch_bundle(name)
    ensure_weights(root)
    report = tmp_path / "report"
    run(
        config_file=[str(root / "configs/inference.json"), str(root / "configs/evaluate.json")],
        bundle_root=str(root),
        output_dir=str(report),
    )
    rows = read_rows(report / "per_image.csv")
    assert sorted((r["image"], r["class"]) for r in rows) == [
        (f"{s}.nii.gz", c) for s in SAMPLES for c in ("anterior", "posterior")
    ]
    # the reported Dice is the Dice of the masks inference writes, against the shipped labels
    out = tmp_path / "masks"
    _infer(root, root / "sample_data" / "images", out)
    for r in rows:
        stem = r["image"][: -len(".nii.gz")]
        pred = np.asarray(nib.load(out / f"{stem}_seg.nii.gz").dataobj)
        gt = np.asarray(nib.load(root / "sample_data" / "masks" / r["image"]).dataobj).round()
        k = 1 if r["class"] == "anterior" else 2
        expected = 2 * ((pred == k) & (gt == k)).sum() / max(1, (pred == k).sum() + (gt == k).sum())
        assert float(r["dice"]) == pytest.approx(expected, abs=1e-4)
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["all"]["anterior"]["dice"]["n"] == 2


@pytest.mark.parametrize("name", HIPPOCAMPUS_BUNDLES)
def test_dicom_series_and_nifti_give_the_same_mask(name: str, scratch_bundle, tmp_path) -> None:
    """A shipped NIfTI volume written as an MR DICOM series (SimpleITK's ImageSeriesWriter, same geometry) gives,
    through ``monai-lightseg segment``'s DICOM path, the mask the NIfTI path gives, voxel for voxel; the NIfTI
    mask carries the source's exact affine."""
    from monai_lightseg.batch import BatchOptions, run_batch
    from tests.io.dicom_fixtures import write_mr_series

    root = scratch_bundle(name)
    ensure_weights(root)
    source_path = root / "sample_data" / "images" / "hippocampus_033.nii.gz"  # uint8: int16 DICOM holds it exactly
    nifti_in, dicom_in = tmp_path / "nifti_in", tmp_path / "dicom_in"
    nifti_in.mkdir()
    (nifti_in / "case.nii.gz").write_bytes(source_path.read_bytes())
    image = sitk.ReadImage(str(source_path))
    write_mr_series(
        dicom_in / "case", sitk.GetArrayFromImage(image), image.GetSpacing(), image.GetOrigin(), image.GetDirection()
    )
    for folder in (nifti_in, dicom_in):
        assert run_batch(BatchOptions(bundle=root, input=folder, output=tmp_path / f"{folder.name}_out")) == 0
    from_nifti = nib.load(tmp_path / "nifti_in_out" / "case_mask.nii.gz")
    (series_out,) = (tmp_path / "dicom_in_out" / "case").glob("series_*")  # one folder per series
    from_dicom = sitk.ReadImage(str(series_out / "mask.nii.gz"))
    assert np.array_equal(from_nifti.affine, nib.load(source_path).affine)
    labels = np.asarray(from_nifti.dataobj)
    assert len(np.unique(labels)) >= 2  # a real segmentation, not one class everywhere
    assert np.array_equal(sitk.GetArrayFromImage(from_dicom), labels.transpose(2, 1, 0))
    assert np.allclose(from_dicom.GetOrigin(), image.GetOrigin(), atol=1e-3)
    assert (series_out / "seg.dcm").is_file()


@pytest.mark.parametrize("name", TRAINED_HIPPOCAMPUS_BUNDLES)
def test_shipped_weights_reproduce_reference_masks(name: str, scratch_bundle, tmp_path) -> None:
    root = scratch_bundle(name)
    out = tmp_path / "out"
    _infer(root, root / "sample_data" / "images", out)
    for stem in SAMPLES:
        got = np.asarray(nib.load(out / f"{stem}_seg.nii.gz").dataobj)
        ref = np.asarray(nib.load(root / "sample_data" / "reference" / f"{stem}_seg.nii.gz").dataobj)
        assert (got == ref).mean() >= 0.995
