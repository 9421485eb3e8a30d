"""DICOM files whose UIDs an anonymiser blanked: grouped into series by folder and what a series shares, segmented,
reported once per group, and given a DICOM SEG only where it can reference its source (never invented UIDs)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from monai_lightseg.batch import BatchOptions, run_batch
from monai_lightseg.io.discovery import discover
from tests.batch.conftest import make_tiny_3d_bundle
from tests.conftest import REPO
from tests.io.dicom_fixtures import rotation_direction, write_mr_series

SPACING, ORIGIN = (0.8, 0.9, 2.5), (-12.0, 30.5, 7.25)
REAL_CT = REPO.parent / "shared" / "data" / "totalsegmentator_example_ct" / "ct_dicom"


def _blobs(slices: int) -> np.ndarray:
    """Smooth blobs (slices, 20, 24): the tiny bundle's thresholds give all three classes."""
    z, y, x = np.meshgrid(np.arange(slices), np.arange(20), np.arange(24), indexing="ij")
    blobs = np.exp(-((x - 8) ** 2 + (y - 7) ** 2) / 30.0 - (z - 2) ** 2 / 4.0)
    blobs -= np.exp(-((x - 17) ** 2 + (y - 13) ** 2) / 20.0 - (z - 3) ** 2 / 6.0)
    return (blobs * 400).astype(np.int16)


def _blank(files: list[Path], *keywords: str, study: str | None = None, series: str | None = None) -> None:
    """Blank ``keywords`` in each file's dataset (present but empty, as the shared real CT has them); optionally
    write fresh Study/Series UIDs. The file meta header (Media Storage SOP Class/Instance UID) is kept."""
    for path in files:
        ds = pydicom.dcmread(path)
        for keyword in keywords:
            setattr(ds, keyword, "")
        if study is not None:
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.save_as(path)


def _anonymised_series(folder: Path, slices: int = 6, drop: int | None = None) -> list[Path]:
    files = write_mr_series(folder, _blobs(slices), SPACING, ORIGIN, rotation_direction())
    _blank(files, "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID")
    if drop is not None:
        files.pop(drop).unlink()
    return files


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _run(bundle: Path, inp: Path, out: Path) -> tuple[int, list[dict]]:
    code = run_batch(BatchOptions(bundle=bundle, input=inp, output=out, device="cpu", progress=False))
    return code, _rows(out / "report.csv")


def test_blank_uids_form_one_series_with_a_mask_and_no_invented_seg(tiny_3d_bundle, tmp_path) -> None:
    """One anonymised series beside a proper one in the same folder: two series, both segmented; the anonymised
    one gets its NIfTI mask on its own grid, no SEG (its study and series cannot be referenced), and a report
    line that says which UIDs were missing, how the series was formed and why no SEG was written."""
    inp = tmp_path / "in" / "exam"
    anonymised = _anonymised_series(tmp_path / "anon")
    proper = write_mr_series(tmp_path / "proper", _blobs(5), SPACING, (0.0, 0.0, 0.0), rotation_direction(0, 0))
    inp.mkdir(parents=True)
    for i, f in enumerate(anonymised + proper):  # interleaved, names that say nothing
        shutil.copyfile(f, inp / f"IM{i:05d}")
    items = discover(tmp_path / "in")
    assert [i.kind for i in items] == ["dicom_series", "dicom_series"]
    assert sorted(len(i.files) for i in items) == [5, 6]
    code, rows = _run(tiny_3d_bundle, tmp_path / "in", tmp_path / "out")
    assert code == 0 and len(rows) == 2 and {r["status"] for r in rows} == {"done"}
    anon_row = next(r for r in rows if r["notes"])
    assert "StudyInstanceUID and SeriesInstanceUID blank" in anon_row["notes"]
    assert "series formed from the 6 file(s) in one folder sharing FrameOfReferenceUID" in anon_row["notes"]
    assert "no DICOM SEG written: the source slices have no StudyInstanceUID" in anon_row["notes"]
    series_dirs = sorted(p.parent for p in (tmp_path / "out").rglob("mask.nii.gz"))
    assert len(series_dirs) == 2
    with_seg = [d for d in series_dirs if (d / "seg.dcm").is_file()]
    assert len(with_seg) == 1  # only the proper series has a SEG
    anon_dir = next(d for d in series_dirs if d not in with_seg)
    mask = sitk.ReadImage(str(anon_dir / "mask.nii.gz"))
    assert mask.GetSize() == (24, 20, 6)
    np.testing.assert_allclose(mask.GetSpacing(), SPACING, rtol=1e-6)
    np.testing.assert_allclose(mask.GetOrigin(), ORIGIN, atol=1e-4)
    assert set(np.unique(sitk.GetArrayFromImage(mask))) == {0, 1, 2}


def test_an_anonymised_group_that_fails_is_one_report_line(tiny_3d_bundle, tmp_path) -> None:
    inp = tmp_path / "in" / "gap"
    files = _anonymised_series(tmp_path / "src", slices=7, drop=3)
    inp.mkdir(parents=True)
    for f in files:
        shutil.copyfile(f, inp / f.name)
    code, rows = _run(tiny_3d_bundle, tmp_path / "in", tmp_path / "out")
    assert code == 1 and len(rows) == 1  # one line for the group, not one per slice
    assert rows[0]["status"] == "failed" and rows[0]["reason"].startswith("a missing slice")
    assert "StudyInstanceUID and SeriesInstanceUID blank" in rows[0]["notes"]


def test_blank_sop_uids_are_taken_from_the_file_meta(tiny_3d_bundle, tmp_path) -> None:
    """Study/Series UIDs present, SOP Class/Instance UIDs blank in the dataset but in each file's meta header:
    the study is done, and its SEG references each slice by the file meta's SOP Instance UID (the file's own),
    which the report says."""
    files = write_mr_series(tmp_path / "in" / "s", _blobs(6), SPACING, ORIGIN, rotation_direction())
    meta_uids = [str(pydicom.dcmread(f).file_meta.MediaStorageSOPInstanceUID) for f in files]
    _blank(files, "SOPInstanceUID", "SOPClassUID")
    code, rows = _run(tiny_3d_bundle, tmp_path / "in", tmp_path / "out")
    assert code == 0 and rows[0]["status"] == "done", rows
    assert "SOPClassUID and SOPInstanceUID blank in the dataset(s): taken from each file's meta header" in (
        rows[0]["notes"]
    )
    (seg_path,) = (tmp_path / "out").rglob("seg.dcm")
    seg = pydicom.dcmread(seg_path)
    referenced = {
        r.ReferencedSOPInstanceUID for f in seg.PerFrameFunctionalGroupsSequence
        for r in f.DerivationImageSequence[0].SourceImageSequence
    }  # fmt: skip
    assert referenced and referenced <= set(meta_uids)
    assert seg.StudyInstanceUID == pydicom.dcmread(files[0]).StudyInstanceUID


@pytest.mark.skipif(not REAL_CT.is_dir(), reason="the shared real CT series is not beside the repository")
@pytest.mark.parametrize("case", ["uids_blank", "fresh_study_and_series_uids"])
def test_real_anonymised_ct_series(case: str, tmp_path) -> None:
    """The shared real CT (20 slices, Study/Series/SOP Instance/SOP Class UIDs present but empty), as it is and
    with fresh Study and Series UIDs written in: segmented as one 512x512x20 volume either way; a SEG only in
    the second case, referencing the file meta's SOP Instance UIDs."""
    bundle = make_tiny_3d_bundle(tmp_path / "bundle")
    config = json.loads(
        (bundle / "configs" / "inference.json").read_text(encoding="utf-8")
    )  # 3 mm and large windows: fast
    config["preprocessing"]["transforms"][3]["pixdim"] = [3.0, 3.0, 3.0]
    config["inferer"]["roi_size"] = [96, 96, 16]
    (bundle / "configs" / "inference.json").write_text(json.dumps(config), encoding="utf-8")
    inp = tmp_path / "in" / "ct"
    shutil.copytree(REAL_CT, inp)
    files = sorted(inp.iterdir())
    if case == "fresh_study_and_series_uids":
        _blank(files, study=pydicom.uid.generate_uid(), series=pydicom.uid.generate_uid())
    code, rows = _run(bundle, tmp_path / "in", tmp_path / "out")
    assert code == 0 and len(rows) == 1 and rows[0]["status"] == "done", rows
    (mask_path,) = (tmp_path / "out").rglob("mask.nii.gz")
    assert sitk.ReadImage(str(mask_path)).GetSize() == (512, 512, 20)
    seg = list((tmp_path / "out").rglob("seg.dcm"))
    if case == "uids_blank":
        assert not seg and "no DICOM SEG written" in rows[0]["notes"]
        assert "StudyInstanceUID and SeriesInstanceUID blank" in rows[0]["notes"]
    else:
        assert len(seg) == 1 and "taken from each file's meta header" in rows[0]["notes"]
        assert "KeyError" not in rows[0]["notes"] + rows[0]["reason"]
