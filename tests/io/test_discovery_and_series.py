"""Study discovery in mixed folder trees, series selection rules, and refusing wrong DICOM volumes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from monai_lightseg.io.dicom_series import read_dicom_series
from monai_lightseg.io.discovery import SeriesRules, discover
from monai_lightseg.io.errors import StudyError
from tests.io.dicom_fixtures import rotation_direction, write_mr_series

SPACING = (0.8, 0.9, 2.5)
ORIGIN = (-12.0, 30.5, 7.25)


def _volume(n: int = 6) -> np.ndarray:
    return (np.arange(n * 20 * 24).reshape(n, 20, 24) % 500).astype(np.int16)


def _series(folder: Path, n: int = 6) -> list[Path]:
    return write_mr_series(folder, _volume(n), SPACING, ORIGIN, rotation_direction())


def _edit(path: Path, **tags) -> None:
    ds = pydicom.dcmread(path)
    for k, v in tags.items():
        setattr(ds, k, v)
    ds.save_as(path)


def test_series_reads_with_exact_geometry(tmp_path) -> None:
    files = _series(tmp_path / "s")
    volume = read_dicom_series(list(reversed(files)))  # order of the list does not matter
    assert volume.image.GetSize() == (24, 20, 6)
    np.testing.assert_allclose(volume.image.GetSpacing(), SPACING, atol=1e-4)
    np.testing.assert_allclose(volume.image.GetOrigin(), ORIGIN, atol=1e-3)
    np.testing.assert_allclose(volume.image.GetDirection(), rotation_direction(), atol=1e-5)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(volume.image), _volume())
    assert [p.name for p in volume.files] == [p.name for p in files]
    assert [int(d.InstanceNumber) for d in volume.datasets] == [1, 2, 3, 4, 5, 6]


def test_missing_slice_is_refused(tmp_path) -> None:
    files = _series(tmp_path / "s")
    files[3].unlink()
    with pytest.raises(StudyError, match=r"a missing slice: gap of 5.000 mm between slice_002.dcm and slice_004.dcm"):
        read_dicom_series(files[:3] + files[4:])


def test_duplicate_position_is_refused(tmp_path) -> None:
    files = _series(tmp_path / "s")
    dup = tmp_path / "s" / "copy.dcm"
    shutil.copyfile(files[2], dup)
    _edit(dup, SOPInstanceUID=pydicom.uid.generate_uid())
    with pytest.raises(StudyError, match="duplicate slice position"):
        read_dicom_series(files + [dup])


def test_uneven_spacing_is_refused(tmp_path) -> None:
    files = _series(tmp_path / "s")
    ds = pydicom.dcmread(files[4])
    normal = np.cross(
        np.asarray(ds.ImageOrientationPatient[:3], float), np.asarray(ds.ImageOrientationPatient[3:], float)
    )
    _edit(files[4], ImagePositionPatient=[float(v) for v in np.asarray(ds.ImagePositionPatient, float) + 0.7 * normal])
    with pytest.raises(StudyError, match="uneven spacing"):
        read_dicom_series(files)


def test_mixed_sizes_and_orientations_are_refused(tmp_path) -> None:
    a = _series(tmp_path / "a")
    b = write_mr_series(tmp_path / "b", _volume(6)[:, :10], SPACING, ORIGIN, rotation_direction())
    uid = pydicom.dcmread(a[0]).SeriesInstanceUID
    _edit(b[0], SeriesInstanceUID=uid)
    with pytest.raises(StudyError, match="mixed slice sizes"):
        read_dicom_series(a + b[:1])
    c = write_mr_series(tmp_path / "c", _volume(6), SPACING, ORIGIN, rotation_direction(degrees_z=30))
    _edit(c[0], SeriesInstanceUID=uid)
    with pytest.raises(StudyError, match="mixed orientations"):
        read_dicom_series(a + c[:1])


def test_truncated_slice_is_refused_not_skipped(tmp_path) -> None:
    files = _series(tmp_path / "s")
    data = files[2].read_bytes()
    files[2].write_bytes(data[: len(data) - 300])  # pixel data cut short, header intact
    with pytest.raises(StudyError, match="slice_002.dcm"):
        read_dicom_series(files)


def test_discovery_of_a_mixed_tree(tmp_path) -> None:
    root = tmp_path / "in"
    # two interleaved series in one folder, files without extension and with meaningless names
    a = _series(tmp_path / "a", n=5)
    b = write_mr_series(tmp_path / "b", _volume(4), SPACING, (0.0, 0.0, 0.0), rotation_direction(degrees_z=0))
    mixed = root / "patient_x" / "study1"
    mixed.mkdir(parents=True)
    for i, f in enumerate(a + b):
        shutil.copyfile(f, mixed / f"IM{(i * 7) % 9:04d}{i}")
    loc = _series(tmp_path / "loc", n=3)
    for f in loc:
        _edit(f, ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"])
        shutil.copyfile(f, root / "patient_x" / f"loc_{f.name}")
    (root / "empty.dcm").write_bytes(b"")
    (root / "notes.txt").write_text("not an image", encoding="utf-8")
    (root / "img.png").write_bytes(b"\x89PNG")
    (root / "vol.nii.gz").write_bytes(b"x")
    items = discover(root)
    kinds = sorted((i.kind, i.info.get("n_slices", 0)) for i in items)
    assert kinds == [
        ("dicom_series", 4),
        ("dicom_series", 5),
        ("failed", 0),
        ("failed", 0),
        ("image_2d", 0),
        ("nifti", 0),
        ("skipped", 3),
    ]
    failed = {Path(i.relpath).name: i.reason for i in items if i.kind == "failed"}
    assert failed["empty.dcm"] == "empty file (0 bytes)"
    assert failed["notes.txt"].startswith("not a DICOM or image file")
    skipped = next(i for i in items if i.kind == "skipped")
    assert "LOCALIZER" in skipped.reason
    for item in (i for i in items if i.kind == "dicom_series"):  # each series read on its own, never merged
        assert read_dicom_series(item.files).image.GetSize()[2] == item.info["n_slices"]
    assert len({i.key for i in items}) == len(items)
    assert all("Test^Patient" not in i.key for i in items)
    assert discover(root) == items  # stable order and keys


def test_series_rules() -> None:
    rules = SeriesRules(modalities=("CT",), orientations=("axial",), min_slices=10)
    assert "modality MR" in rules.reason_to_skip("MR", ["ORIGINAL"], "axial", 50)
    assert "sagittal slices" in rules.reason_to_skip("CT", ["ORIGINAL"], "sagittal", 50)
    assert "fewer than 10" in rules.reason_to_skip("CT", ["ORIGINAL"], "axial", 5)
    assert rules.reason_to_skip("CT", ["ORIGINAL", "PRIMARY", "AXIAL"], "axial", 50) == ""


def test_rgb_dicom_is_a_2d_item(tmp_path) -> None:
    from pydicom.dataset import FileMetaDataset

    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.1"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.1"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    ds.Modality, ds.Rows, ds.Columns, ds.SamplesPerPixel = "ES", 8, 10, 3
    ds.PhotometricInterpretation, ds.PlanarConfiguration = "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.NumberOfFrames = 2
    ds.PixelData = np.zeros((2, 8, 10, 3), np.uint8).tobytes()
    (tmp_path / "in").mkdir()
    ds.save_as(tmp_path / "in" / "endo", enforce_file_format=True)
    items = discover(tmp_path / "in")
    assert [(i.kind, i.frame) for i in items] == [("dicom_2d", 0), ("dicom_2d", 1)]
