"""Whole-head T1 -> registration to MNI152 -> hippocampus crops -> the trained bundle -> masks pasted back.

The whole head is the MNI152 2009a template at 1 mm (samples/mri/, brain-extracted), moved (rotation, shift,
scale) and resampled, so that the registration (to the package's 2 mm copy) has real work to do and the true
position of every template point in the study is known."""

from __future__ import annotations

import csv
import json

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from monai_lightseg.cli import main as cli
from monai_lightseg.localisation import LocalisationError, register_to_template, segment_whole_head
from monai_lightseg.localisation.template import HIPPOCAMPUS_CENTROIDS_RAS
from tests.bundles.conftest import BUNDLES_DIR
from tests.conftest import REPO
from tests.io.dicom_fixtures import write_mr_series

BUNDLE = BUNDLES_DIR / "hippocampus_mri_unet_segmentation"
HEAD = REPO / "samples" / "mri" / "mni152_2009a_sym_t1_1mm.nii.gz"


def with_skull_and_scalp(brain: sitk.Image) -> sitk.Image:
    """The brain-extracted template wrapped the way a T1 head looks outside the brain, by distance from the brain
    surface: cerebrospinal fluid (dark, 0-3 mm), the skull's inner table (dark, 3-5 mm), diploe (marrow fat,
    bright, 5-7 mm), the outer table (dark, 7-9 mm) and the scalp (fat and skin, bright, 9-15 mm, textured).
    A synthetic stand-in for a real skull-on T1 (none here is licensed for the repo); the shells shift the head's
    centre of mass and add edges the registration's initialisation and metric must not lock onto."""
    array = sitk.GetArrayFromImage(brain)
    inside = sitk.BinaryFillhole(sitk.Cast(brain > 0.05 * float(array.max()), sitk.sitkUInt8))
    distance = sitk.GetArrayFromImage(sitk.SignedMaurerDistanceMap(inside, insideIsPositive=False,
                                                                   squaredDistance=False, useImageSpacing=True))
    white = float(np.percentile(array[array > 0], 95))
    shells = [(0, 3, 0.10), (3, 5, 0.03), (5, 7, 0.85), (7, 9, 0.03), (9, 15, 0.70)]
    texture = 1 + 0.1 * np.random.default_rng(1).standard_normal(array.shape)
    head = array.copy()
    for near, far, level in shells:
        shell = (distance > near) & (distance <= far)
        head[shell] = level * white * texture[shell]
    out = sitk.GetImageFromArray(head.astype(np.float32))
    out.CopyInformation(brain)
    return out


def moved_head(spacing=(1.0, 1.0, 1.0), rotation=(0.12, -0.08, 0.14), shift=(10.0, -12.0, 6.0), scale=0.95,
               skull=False):  # fmt: skip
    """The template as a study: ``study(p) = template(T(p))`` with T a known similarity (the head ``scale`` times
    the template's), with a synthetic skull and scalp if asked; returns the study and
    T's inverse (template point -> study point)."""
    template = sitk.ReadImage(str(HEAD), sitk.sitkFloat32)
    if skull:
        template = with_skull_and_scalp(template)
    rotate = sitk.Euler3DTransform()
    rotate.SetRotation(*rotation)
    known = sitk.AffineTransform(3)
    known.SetMatrix(tuple((np.asarray(rotate.GetMatrix()).reshape(3, 3) / scale).ravel()))
    known.SetTranslation(shift)
    size = [int(round(n * s / t)) for n, s, t in zip(template.GetSize(), template.GetSpacing(), spacing)]
    study = sitk.Resample(template, size, known, sitk.sitkLinear, template.GetOrigin(), spacing,
                          template.GetDirection(), 0.0, sitk.sitkFloat32)  # fmt: skip
    return study, known.GetInverse()


def lps(ras):
    return (-ras[0], -ras[1], ras[2])


def test_registration_recovers_a_known_motion_and_anisotropic_grid() -> None:
    study, truth = moved_head(spacing=(1.2, 1.2, 3.0))
    registration = register_to_template(study)
    assert registration.ok, registration.reason
    for centroid in HIPPOCAMPUS_CENTROIDS_RAS.values():
        got = np.array(registration.transform.TransformPoint(lps(centroid)))
        assert np.linalg.norm(got - np.array(truth.TransformPoint(lps(centroid)))) < 2.0


@pytest.mark.parametrize("kind", ["inverted_contrast", "noise", "cut_off"])
def test_what_is_not_a_whole_t1_head_is_refused_with_a_reason(kind: str) -> None:
    study, _ = moved_head(spacing=(2.0, 2.0, 2.0))
    array = sitk.GetArrayFromImage(study)
    if kind == "inverted_contrast":  # a T2-like contrast: cerebrospinal fluid bright, white matter dark
        array = np.where(array > 10, 255 - array, 0)
    elif kind == "noise":
        array = np.random.default_rng(0).random(array.shape) * 255
    if kind != "cut_off":
        moved = sitk.GetImageFromArray(array.astype(np.float32))
        moved.CopyInformation(study)
        study = moved
    else:  # only the top of the head: the hippocampi are not in the field of view
        study = study[:, :, study.GetSize()[2] * 2 // 3 :]
    with pytest.raises(LocalisationError, match="T1-weighted head|outside the field of view|registration failed"):
        segment_whole_head(study, lambda path: pytest.fail("segmented a study that should be refused"))


def _side_checks(result, truth) -> None:
    assert result.localised and set(result.sides) == {"left", "right"}
    volumes = {side: st["total_mm3"] for side, st in result.sides.items()}
    assert all(st["regions"] == 1 for st in result.sides.values()), result.sides
    assert all(2000 <= v <= 6000 for v in volumes.values()), volumes
    assert abs(volumes["left"] - volumes["right"]) <= 0.25 * max(volumes.values()), volumes
    inverse = truth.GetInverse()  # study point -> template point
    for side, st in result.sides.items():
        in_template = np.array(inverse.TransformPoint(tuple(st["centroid_lps_mm"])))
        assert np.linalg.norm(in_template - np.array(lps(HIPPOCAMPUS_CENTROIDS_RAS[side]))) < 10.0, (side, st)


@pytest.fixture(scope="module")
def segmenter():
    from monai_lightseg.inference import BundleSegmenter

    return BundleSegmenter(BUNDLE, device="cpu")


def test_whole_head_gives_one_plausible_hippocampus_per_side(segmenter) -> None:
    study, truth = moved_head()
    result = segment_whole_head(study, segmenter, names=segmenter.segment_names)
    _side_checks(result, truth)
    assert result.labels.shape == tuple(reversed(study.GetSize())) and set(np.unique(result.labels)) == {0, 1, 2}


def test_a_head_with_skull_and_scalp_is_located_and_segmented(segmenter) -> None:
    """Skull on (synthetic shells around the brain): registration still lands within 2 mm of the known motion,
    and the masks pass the same plausibility checks as the brain-extracted head."""
    study, truth = moved_head(spacing=(1.0, 1.0, 1.2), skull=True)
    registration = register_to_template(study)
    assert registration.ok, registration.reason
    for centroid in HIPPOCAMPUS_CENTROIDS_RAS.values():
        got = np.array(registration.transform.TransformPoint(lps(centroid)))
        assert np.linalg.norm(got - np.array(truth.TransformPoint(lps(centroid)))) < 2.0
    _side_checks(segment_whole_head(study, segmenter, names=segmenter.segment_names), truth)


def test_a_sagittal_acquisition_gives_the_same_mask(segmenter) -> None:
    """The same head stored slice by slice from left to right: the header says so, the mask follows."""
    study, truth = moved_head()
    sagittal = sitk.PermuteAxes(study, [2, 1, 0])  # voxel axes (x, y, z) -> (z, y, x); geometry kept by direction
    axial_mask = segment_whole_head(study, segmenter).labels
    sagittal_mask = sitk.GetImageFromArray(segment_whole_head(sagittal, segmenter).labels)
    sagittal_mask.CopyInformation(sagittal)
    back = sitk.GetArrayFromImage(sitk.Resample(sagittal_mask, study, sitk.Transform(), sitk.sitkNearestNeighbor))
    a, b = axial_mask > 0, back > 0
    assert 2 * (a & b).sum() / (a.sum() + b.sum()) > 0.95


def test_an_msd_crop_is_segmented_as_before(segmenter) -> None:
    """Already a crop: no localisation, and the committed reference mask exactly."""
    image = BUNDLE / "sample_data" / "images" / "hippocampus_033.nii.gz"
    result = segment_whole_head(sitk.ReadImage(str(image)), segmenter)
    reference = sitk.GetArrayFromImage(sitk.ReadImage(str(BUNDLE / "sample_data/reference/hippocampus_033_seg.nii.gz")))
    assert not result.localised and np.array_equal(result.labels, reference)


def test_batch_segments_a_whole_head_dicom_series_and_refuses_a_ct(tmp_path) -> None:
    """Through ``monai-lightseg segment``: a whole-head MR series (2 mm) gets a mask and per-side volumes in
    the report; the same series labelled CT is refused with the reason."""
    study, _ = moved_head(spacing=(2.0, 2.0, 2.0))
    array = sitk.GetArrayFromImage(study).astype(np.int16)
    args = (study.GetSpacing(), study.GetOrigin(), study.GetDirection())
    write_mr_series(tmp_path / "in" / "head_mr", array, *args)
    for path in write_mr_series(tmp_path / "in" / "head_ct", array, *args):
        ds = pydicom.dcmread(path)
        ds.Modality = "CT"
        ds.save_as(path)
    assert cli(["segment", "--bundle", str(BUNDLE), "--input", str(tmp_path / "in"), "--output",
                str(tmp_path / "out"), "--device", "cpu"]) != 0  # fmt: skip
    with open(tmp_path / "out" / "report.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    done = [r for r in rows if r["status"] == "done"]
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(done) == 1 and "left:" in done[0]["notes"] and "right:" in done[0]["notes"], rows
    assert len(failed) == 1 and "this series is CT" in failed[0]["reason"], rows
    assert json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))


def test_bundle_run_whole_head_config(tmp_path) -> None:
    """``monai.bundle run`` with configs/inference_whole_head.json: a whole head and an MSD crop segmented, an
    unreadable file named in the error at the end, after the others were written."""
    from monai.bundle import run

    inputs = tmp_path / "in"
    inputs.mkdir()
    study, truth = moved_head()
    sitk.WriteImage(study, str(inputs / "head.nii.gz"))
    crop = BUNDLE / "sample_data" / "images" / "hippocampus_033.nii.gz"
    (inputs / crop.name).write_bytes(crop.read_bytes())
    (inputs / "truncated.nii.gz").write_bytes((inputs / crop.name).read_bytes()[:200])
    configs = [str(BUNDLE / "configs" / name) for name in ("inference.json", "inference_whole_head.json")]
    with pytest.raises(RuntimeError) as error:  # MONAI wraps the error of a config expression in its own
        run(config_file=configs, bundle_root=str(BUNDLE), dataset_dir=str(inputs), output_dir=str(tmp_path / "out"))
    assert "truncated.nii.gz" in str(error.value.__cause__)
    head = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "out" / "head_seg.nii.gz")))
    assert head.shape == tuple(reversed(study.GetSize())) and set(np.unique(head)) == {0, 1, 2}
    reference = sitk.ReadImage(str(BUNDLE / "sample_data/reference/hippocampus_033_seg.nii.gz"))
    got = sitk.ReadImage(str(tmp_path / "out" / "hippocampus_033_seg.nii.gz"))
    assert np.array_equal(sitk.GetArrayFromImage(got), sitk.GetArrayFromImage(reference))


def test_a_seed_bundle_refuses_whole_heads_with_the_measured_reason_but_segments_crops() -> None:
    """Bundles whose network measured implausible on whole heads say so instead of returning a wrong mask."""
    from monai_lightseg.inference import BundleSegmenter

    seed = BundleSegmenter(BUNDLES_DIR / "hippocampus_mri_feature_compression_net_segmentation", device="cpu")
    study, _ = moved_head(spacing=(2.0, 2.0, 2.0))
    with pytest.raises(LocalisationError, match="not fit for whole heads: on whole-head T1 volumes .* 28 mm"):
        segment_whole_head(study, seed)
    crop = sitk.ReadImage(str(BUNDLE / "sample_data" / "images" / "hippocampus_033.nii.gz"))
    result = segment_whole_head(crop, seed)
    assert not result.localised and result.labels.any()
