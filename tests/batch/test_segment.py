"""The batch command on a folder mixing good and bad studies, 2D and 3D; resume after SIGKILL; parts; overwrite."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from PIL import Image

from monai_lightseg.batch import BatchOptions, merge_parts, run_batch
from monai_lightseg.inference import BundleSegmenter
from tests.bundles.conftest import copy_bundle
from tests.conftest import REPO
from tests.io.dicom_fixtures import rotation_direction, write_mr_series

SPACING, ORIGIN = (0.8, 0.9, 2.5), (-12.0, 30.5, 7.25)


def _vol(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((n, 20, 24)) * 400).astype(np.int16)


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _study_3d_tree(root: Path, scratch: Path) -> None:
    """Good and bad 3D studies: two interleaved series in one folder, a series with a missing slice, a good
    NIfTI, a NIfTI with NaNs, a 4D NIfTI, a truncated DICOM, a zero-byte file and a non-image file."""
    a = write_mr_series(scratch / "a", _vol(6, 1), SPACING, ORIGIN, rotation_direction())
    b = write_mr_series(scratch / "b", _vol(5, 2), SPACING, (0.0, 0.0, 0.0), rotation_direction(degrees_z=0))
    both = root / "Doe^Jane" / "exam1"
    both.mkdir(parents=True)
    for i, f in enumerate(a + b):
        shutil.copyfile(f, both / f"IM{i:05d}")
    gap = write_mr_series(scratch / "gap", _vol(6, 3), SPACING, ORIGIN, rotation_direction())
    (root / "gap").mkdir()
    for f in gap[:2] + gap[3:]:
        shutil.copyfile(f, root / "gap" / f.name)
    affine = np.diag([0.9, 1.1, 2.0, 1.0])
    nib.save(nib.Nifti1Image(_vol(7, 4).transpose(2, 1, 0).astype(np.float32), affine), root / "vol.nii.gz")
    nan = _vol(7, 5).transpose(2, 1, 0).astype(np.float32)
    nan[3, 3, 3] = np.nan
    nib.save(nib.Nifti1Image(nan, affine), root / "nan.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 8, 2), np.float32), affine), root / "dwi.nii.gz")
    trunc = write_mr_series(scratch / "t", _vol(4, 6), SPACING, ORIGIN, rotation_direction())
    (root / "trunc").mkdir()
    for f in trunc:
        shutil.copyfile(f, root / "trunc" / f.name)
    data = (root / "trunc" / trunc[1].name).read_bytes()
    (root / "trunc" / trunc[1].name).write_bytes(data[:-200])
    (root / "zero.dcm").write_bytes(b"")
    (root / "readme.txt").write_text("not an image", encoding="utf-8")


def test_3d_batch_reports_every_failure_and_writes_exact_geometry(tiny_3d_bundle, tmp_path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    _study_3d_tree(inp, tmp_path / "scratch")
    code = run_batch(BatchOptions(bundle=tiny_3d_bundle, input=inp, output=out, device="cpu", progress=False))
    assert code == 1  # some studies failed
    rows = _rows(out / "report.csv")
    by_status = {}
    for r in rows:
        by_status.setdefault(r["status"], []).append(r)
    assert len(by_status["done"]) == 3  # the two interleaved series, segmented separately, and the good NIfTI
    reasons = sorted(r["reason"] for r in by_status["failed"])
    assert any(r.startswith("a missing slice") for r in reasons)
    assert any("NaN or infinite" in r for r in reasons)
    assert any("4D NIfTI" in r for r in reasons)
    assert any("pixel data cannot be decoded" in r or "unreadable DICOM header" in r for r in reasons)
    assert "empty file (0 bytes)" in reasons
    assert any(r.startswith("not a DICOM or image file") for r in reasons)
    # no patient name or path in the reports; keys.csv and the manifest (documented as patient data) hold paths
    for name in ("report.csv", "report.json"):
        assert "Doe" not in (out / name).read_text(encoding="utf-8")
    assert "Doe^Jane" in (out / "keys.csv").read_text(encoding="utf-8")
    # the NIfTI mask has the source's exact grid, the DICOM masks the series' grid
    src, mask = nib.load(inp / "vol.nii.gz"), nib.load(out / "vol_mask.nii.gz")
    assert mask.shape == src.shape
    np.testing.assert_allclose(mask.affine, src.affine, atol=1e-5)
    series_dirs = sorted((out / "Doe^Jane" / "exam1").iterdir())
    assert len(series_dirs) == 2
    for d in series_dirs:
        m = sitk.ReadImage(str(d / "mask.nii.gz"))
        assert m.GetSize()[2] in (5, 6)
        seg = pydicom.dcmread(d / "seg.dcm")
        assert seg.Modality == "SEG" and seg.SegmentationType == "BINARY"
    done = [r for r in rows if r["status"] == "done"]
    assert all(r["mask_unit"] == "mm3" for r in done)


def test_2d_batch_reads_every_image_mode_as_the_bundle_does(tmp_path) -> None:
    """16-bit greyscale, greyscale with alpha, RGBA and CMYK files give the mask of the 8-bit image they hold, in
    the batch and in the bundle's own reader (16-bit used to turn white there, LA to fail and CMYK to lose its
    colours in the batch)."""
    bundle = copy_bundle("polyp_endoscopy_unet_segmentation", tmp_path / "bundles")
    if not (bundle / "models" / "model.pt").is_file():
        from tests.bundles.conftest import ensure_weights

        ensure_weights(bundle)
    inp = tmp_path / "in"
    inp.mkdir()
    rgb = np.asarray(Image.open(REPO / "samples/polyp/images/cvc_clinicdb_1.png"))
    grey = Image.fromarray(rgb[..., 1])
    grey.save(inp / "grey8.png")
    Image.fromarray(rgb).save(inp / "rgb.png")
    Image.fromarray((rgb[..., 1].astype(np.uint16) * 257)).save(inp / "grey16.png")
    grey.convert("LA").save(inp / "grey_alpha.png")
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)]), mode="RGBA").save(inp / "rgba.png")
    Image.fromarray(rgb).convert("CMYK").save(inp / "cmyk.tif")  # lossless, unlike a CMYK JPEG
    assert [Image.open(inp / n).mode for n in ("grey16.png", "grey_alpha.png", "cmyk.tif")] == ["I;16", "LA", "CMYK"]
    out = tmp_path / "out"
    assert run_batch(BatchOptions(bundle=bundle, input=inp, output=out, device="cpu", progress=False)) == 0
    masks = {p.stem: np.asarray(Image.open(p)) for p in out.glob("*.png")}
    assert set(masks) == {"grey8", "rgb", "grey16", "grey_alpha", "rgba", "cmyk"}
    assert all(m.shape == (288, 384) and set(np.unique(m)) <= {0, 255} for m in masks.values())
    assert masks["grey8"].any() and masks["rgb"].any()
    for name, same_as in (("grey16", "grey8"), ("grey_alpha", "grey8"), ("rgba", "rgb"), ("cmyk", "rgb")):
        np.testing.assert_array_equal(masks[name], masks[same_as], err_msg=name)
    # the bundle's own reader (PILReader with the bundle's converter) gives the batch's mask for the 16-bit file
    own = BundleSegmenter(bundle, device="cpu")(inp / "grey16.png")
    np.testing.assert_array_equal((np.asarray(own) > 0).astype(np.uint8) * 255, masks["grey16"])
    # what a 2D bundle cannot segment fails with a reason, not a traceback, and the batch goes on: a volume (refused
    # instead of guessed at), a PNG cut mid-file (as an interrupted copy leaves it), and a 1-pixel line (the scale
    # rule's resize fails: the reason names the transform and the error under MONAI's wrapper)
    (tmp_path / "in3").mkdir()
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 8), np.float32), np.eye(4)), tmp_path / "in3" / "v.nii.gz")
    (tmp_path / "in3" / "cut.png").write_bytes((inp / "rgba.png").read_bytes()[:5000])
    line = np.random.default_rng(0).integers(0, 256, (1, 600, 3), dtype=np.uint8)
    Image.fromarray(line).save(tmp_path / "in3" / "line.png")
    (tmp_path / "in3" / "Doe^Jane.jpg").write_text("not an image", encoding="utf-8")  # Pillow quotes its path
    Image.fromarray(np.zeros((40, 50, 3), np.uint8)).save(tmp_path / "in3" / "black.png")
    out3 = tmp_path / "o3"
    options = BatchOptions(bundle=bundle, input=tmp_path / "in3", output=out3, device="cpu", progress=False)
    assert run_batch(options) == 1
    keys = {r["key"]: r["input_relpath"] for r in _rows(out3 / "keys.csv")}
    reasons = {keys[r["key"]]: r["reason"] for r in _rows(out3 / "report.csv") if r["status"] == "failed"}
    assert set(reasons) == {"v.nii.gz", "cut.png", "line.png", "Doe^Jane.jpg"}, reasons
    assert "segments 2D images; this study is 3D" in reasons["v.nii.gz"]
    assert reasons["cut.png"].startswith("unreadable image file (OSError")
    assert reasons["line.png"].startswith("unexpected error while segmenting (in Resized: "), reasons["line.png"]
    assert " object at 0x" not in reasons["line.png"]
    pillow = "unreadable image file (UnidentifiedImageError: cannot identify image file '<path>')"
    assert reasons["Doe^Jane.jpg"] == pillow
    assert "Doe" not in (out3 / "report.csv").read_text(encoding="utf-8")
    # a black frame (a video's lead-in) is no failure: an empty mask, written without the network, with a note
    (black,) = [r for r in _rows(out3 / "report.csv") if keys[r["key"]] == "black.png"]
    assert black["status"] == "done" and black["notes"].startswith("every pixel has the value (0, 0, 0): empty mask")
    assert not np.asarray(Image.open(out3 / "black.png")).any() and Image.open(out3 / "black.png").size == (50, 40)
    assert not (out3 / "cut.png").exists()


def test_volumes_with_nothing_to_segment_or_no_geometry_fail_and_reports_name_no_file(tiny_3d_bundle, tmp_path):
    """A constant volume (a network would still draw on it), complex voxels and a voxel size of 0 (ITK reads it as
    1 mm) fail with their reasons; the reasons quote file names, which hold patient names here and must not reach
    report.csv / report.json (keys.csv, patient data, maps each key to its path)."""
    inp, out = tmp_path / "in", tmp_path / "out"
    (inp / "Smith^John").mkdir(parents=True)
    vol = _vol(6).astype(np.float32)
    nib.save(nib.Nifti1Image(vol, np.eye(4)), inp / "Smith^John" / "Doe^Jane_t1.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros_like(vol), np.eye(4)), inp / "Smith^John" / "Doe^Jane_blank.nii.gz")
    nib.save(nib.Nifti1Image(vol.astype(np.complex64), np.eye(4)), inp / "Smith^John" / "Doe^Jane_raw.nii.gz")
    no_size = nib.Nifti1Image(vol, None)
    no_size.header["pixdim"][1] = 0
    nib.save(no_size, inp / "Smith^John" / "Doe^Jane_nosize.nii.gz")
    nib.save(nib.Nifti1Image(np.stack([vol, vol], -1), np.eye(4)), inp / "Smith^John" / "Doe^Jane_dwi.nii.gz")
    assert run_batch(BatchOptions(bundle=tiny_3d_bundle, input=inp, output=out, device="cpu", progress=False)) == 1
    keys = {r["key"]: Path(r["input_relpath"]).name for r in _rows(out / "keys.csv")}
    reasons = {keys[r["key"]]: r["reason"] for r in _rows(out / "report.csv")}
    assert reasons["Doe^Jane_t1.nii.gz"] == ""
    assert reasons["Doe^Jane_blank.nii.gz"].startswith("every voxel has the value 0.0: no image to segment")
    assert reasons["Doe^Jane_raw.nii.gz"] == "<file>: complex voxels (complex64); a magnitude image is expected."
    assert reasons["Doe^Jane_nosize.nii.gz"].startswith("<file>: voxel size (0.0, 1.0, 1.0) in its header")
    assert reasons["Doe^Jane_dwi.nii.gz"].startswith("<file>: 4D NIfTI of size")
    assert not (out / "Smith^John" / "Doe^Jane_blank_mask.nii.gz").exists()
    for name in ("report.csv", "report.json"):
        text = (out / name).read_text(encoding="utf-8")
        assert "Doe" not in text and "Smith" not in text and str(tmp_path) not in text


def test_no_output_lands_on_an_input(tiny_3d_bundle, tmp_path) -> None:
    """Outputs mirror the input tree: an output folder that is the input folder or inside it is refused up front
    (``--overwrite`` replaced ``x.png`` with its own mask), and where the input lies inside the output (as the
    PACS cache does), a mask whose path is some study's input file is not written, even with ``--overwrite``."""
    inp = tmp_path / "in"
    inp.mkdir()
    nib.save(nib.Nifti1Image(_vol(5).astype(np.float32), np.eye(4)), inp / "v.nii.gz")
    before = (inp / "v.nii.gz").read_bytes()
    for out in (inp, inp / "out"):
        options = BatchOptions(bundle=tiny_3d_bundle, input=inp, output=out, device="cpu", progress=False)
        with pytest.raises(ValueError, match="output folder .* the input folder"):
            run_batch(BatchOptions(**{**options.__dict__, "overwrite": True}))
    assert sorted(p.name for p in inp.iterdir()) == ["v.nii.gz"] and (inp / "v.nii.gz").read_bytes() == before
    # input root out/in: study in/v.nii.gz would write its mask to out/in/v_mask.nii.gz, itself a study's file
    out = tmp_path / "out"
    (out / "in" / "in").mkdir(parents=True)
    nib.save(nib.Nifti1Image(_vol(5, 1).astype(np.float32), np.eye(4)), out / "in" / "in" / "v.nii.gz")
    nib.save(nib.Nifti1Image(_vol(5, 2).astype(np.float32), np.eye(4)), out / "in" / "v_mask.nii.gz")
    victim = (out / "in" / "v_mask.nii.gz").read_bytes()
    options = BatchOptions(bundle=tiny_3d_bundle, input=out / "in", output=out, device="cpu", progress=False)
    assert run_batch(BatchOptions(**{**options.__dict__, "overwrite": True})) == 1
    keys = {r["key"]: r["input_relpath"] for r in _rows(out / "keys.csv")}
    reasons = {keys[r["key"]]: r["reason"] for r in _rows(out / "report.csv")}
    assert reasons == {"in/v.nii.gz": "its NIfTI mask would replace an input file; not segmented.", "v_mask.nii.gz": ""}
    assert (out / "in" / "v_mask.nii.gz").read_bytes() == victim and (out / "v_mask_mask.nii.gz").is_file()
    # the same in a split batch: a part never writes onto the input of a study in another part
    parts = [BatchOptions(**{**options.__dict__, "overwrite": True, "num_parts": 2, "part_id": k}) for k in (0, 1)]
    assert sorted(run_batch(part) for part in parts) == [0, 1]
    assert (out / "in" / "v_mask.nii.gz").read_bytes() == victim


def test_report_reasons_hold_no_path_and_no_file_name(tmp_path) -> None:
    """The texts errors carry, as they reach report.csv: every path under the input or output folder (quoted or
    not, with spaces in the study's own) and the study's file names become <path> / <file>, in one pass; names
    of digits only or under 3 characters stay, as they identify no one and would garble counts."""
    from monai_lightseg.batch.segment import _without_paths
    from monai_lightseg.io.discovery import StudyItem

    inp, out = tmp_path / "in", tmp_path / "out"
    item = StudyItem("k", "image_2d", [inp / "Smith John" / "Doe^Jane.jpg"], "Smith John/Doe^Jane.jpg")
    outputs = ("Smith John/Doe^Jane.png",)
    cases = {
        f"cannot identify image file '{inp}/Smith John/Doe^Jane.jpg'": "cannot identify image file '<path>'",
        f"[Errno 13] Permission denied: '{out}/Smith John/.tmp-x1.png'": "[Errno 13] Permission denied: '<path>'",
        f"File exists: {out}/Smith John/Doe^Jane.png. Next": "File exists: <path>. Next",
        "Doe^Jane.jpg: 4D NIfTI of size (4, 4, 4, 3)": "<file>: 4D NIfTI of size (4, 4, 4, 3)",
        f"{tmp_path}/outside and {out}2/y": f"{tmp_path}/outside and {out}2/y",
    }
    for text, expected in cases.items():
        assert _without_paths(text, item, (inp, out), outputs) == expected
    # relative one-word roots ("segment in out") are paths only with a tail: "in Resized", "out of memory" stay
    relative = StudyItem("k", "image_2d", [Path("in") / "Doe^Jane.png"], "Doe^Jane.png")
    text = "in Resized: out of memory; cannot identify image file 'in/Doe^Jane.png'; in/a b"
    expected = "in Resized: out of memory; cannot identify image file '<path>'; <path> b"
    assert _without_paths(text, relative, (Path("in"), Path("out")), ("Doe^Jane.png",)) == expected
    series = StudyItem("k", "dicom_series", [inp / "s" / n for n in ("1", "file", "ab")], "s")
    expected = "1 <file> of 2: 1 voxels; <file> ab"
    assert _without_paths("1 file of 2: 1 voxels; file ab", series, (inp, out), ()) == expected


def test_existing_outputs_need_resume_or_overwrite(tiny_3d_bundle, tmp_path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    nib.save(nib.Nifti1Image(_vol(5).astype(np.float32), np.eye(4)), inp / "v.nii.gz")
    opts = dict(bundle=tiny_3d_bundle, input=inp, output=out, device="cpu", progress=False)
    assert run_batch(BatchOptions(**opts)) == 0
    first = (out / "v_mask.nii.gz").read_bytes()
    with pytest.raises(FileExistsError, match="--resume to continue it or --overwrite"):
        run_batch(BatchOptions(**opts))
    assert (out / "v_mask.nii.gz").read_bytes() == first
    assert run_batch(BatchOptions(**opts, overwrite=True)) == 0
    lines = [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    # the first run's outcome is forgotten, its ownership of v_mask.nii.gz kept; then this run's two lines
    assert [r["status"] for r in lines] == ["writing"] * 2 + ["done"]
    assert all(r["outputs"] == ["v_mask.nii.gz"] for r in lines)


def test_a_users_files_in_the_output_folder_are_never_replaced(tiny_3d_bundle, tmp_path) -> None:
    """Only files a batch in the output folder wrote (its manifests name them) may be replaced, even with
    ``--overwrite``: a user's own mask with the same name (ground truth kept next to the images, say), a report
    of their own, a file of theirs that starts with ``.tmp-``."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    nib.save(nib.Nifti1Image(_vol(5).astype(np.float32), np.eye(4)), inp / "v.nii.gz")
    nib.save(nib.Nifti1Image(_vol(5, 2).astype(np.uint8), np.eye(4)), out / "v_mask.nii.gz")
    kept = [".tmp-notes.txt", ".tmp-abcdefgh.txt", ".tmp-abcdefgh", ".tmp-abcdefghi.png"]  # not atomic_write's
    for name in kept + [".tmp-abcd_f01.nii.gz"]:  # the last one is: a kill mid-write left it
        (out / name).write_text("x", encoding="utf-8")
    theirs = (out / "v_mask.nii.gz").read_bytes()
    opts = dict(bundle=tiny_3d_bundle, input=inp, output=out, device="cpu", progress=False)
    for overwrite in (False, True):
        assert run_batch(BatchOptions(**opts, overwrite=overwrite)) == 1
        (reason,) = [r["reason"] for r in _rows(out / "report.csv")]
        assert reason.startswith("a file with its NIfTI mask's name is in the output folder, and no batch there wrote")
        assert (out / "v_mask.nii.gz").read_bytes() == theirs
        assert sorted(p.name for p in out.glob(".tmp-*")) == sorted(kept)
    # a report.csv with no manifest beside it is not a batch's: refused before anything is written, in parts too
    user = tmp_path / "user"
    user.mkdir()
    (user / "report.csv").write_text("their report", encoding="utf-8")
    for parts in ({}, {"num_parts": 2, "part_id": 1}):
        with pytest.raises(FileExistsError, match="holds report.csv but no manifest"):
            run_batch(BatchOptions(**{**opts, "output": user, **parts}))
    assert sorted(p.name for p in user.iterdir()) == ["report.csv"]


def test_a_batch_killed_before_its_first_study_can_be_resumed(tiny_3d_bundle, tmp_path) -> None:
    """The manifest is created before keys.csv, so a folder with only the batch's own bookkeeping is the batch's;
    an empty input leaves a folder that can be run into again."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    opts = dict(bundle=tiny_3d_bundle, input=inp, output=out, device="cpu", progress=False)
    assert run_batch(BatchOptions(**opts)) == 0  # nothing found
    assert (out / "manifest.jsonl").is_file() and (out / "keys.csv").is_file()
    nib.save(nib.Nifti1Image(_vol(5).astype(np.float32), np.eye(4)), inp / "v.nii.gz")
    assert run_batch(BatchOptions(**opts, resume=True)) == 0
    assert (out / "v_mask.nii.gz").is_file()


def test_two_studies_with_one_output_name_segment_only_the_first(tiny_3d_bundle, tmp_path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    nib.save(nib.Nifti1Image(_vol(5).astype(np.float32), np.eye(4)), inp / "v.nii.gz")
    nib.save(nib.Nifti1Image(_vol(5, 3).astype(np.float32), np.eye(4)), inp / "v.nii")
    opts = dict(bundle=tiny_3d_bundle, input=inp, output=out, device="cpu", progress=False)
    for parts in (1, 2):
        runs = [BatchOptions(**opts, overwrite=True, num_parts=parts, part_id=k) for k in range(parts)]
        assert sorted(run_batch(r) for r in runs)[-1] == 1
        if parts == 2:
            merge_parts(out)
        keys = {r["key"]: r["input_relpath"] for r in _rows(out / "keys.csv")}
        reasons = {keys[r["key"]]: r["reason"] for r in _rows(out / "report.csv")}
        assert reasons["v.nii"] == "" and reasons["v.nii.gz"].startswith("another study in the input writes")


def test_resume_replaces_what_a_kill_mid_write_left(tiny_3d_bundle, tmp_path) -> None:
    """A kill after a mask was renamed into place but before the study's outcome line: the ``writing`` line
    names the mask, so ``--resume`` may replace it (and does: the study is redone)."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    nib.save(nib.Nifti1Image(_vol(5).astype(np.float32), np.eye(4)), inp / "v.nii.gz")
    opts = dict(bundle=tiny_3d_bundle, input=inp, output=out, device="cpu", progress=False)
    assert run_batch(BatchOptions(**opts)) == 0
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    (out / "manifest.jsonl").write_text(lines[0] + "\n", encoding="utf-8")  # killed before the outcome line
    assert run_batch(BatchOptions(**opts, resume=True)) == 0
    assert [r["status"] for r in _rows(out / "report.csv")] == ["done"]


def test_parts_split_the_batch_and_merge(tiny_3d_bundle, tmp_path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    for i in range(6):
        nib.save(nib.Nifti1Image(_vol(4, i).astype(np.float32), np.eye(4)), inp / f"v{i}.nii.gz")
    for part in (0, 1):
        run_batch(
            BatchOptions(
                bundle=tiny_3d_bundle, input=inp, output=out, device="cpu", progress=False, num_parts=2, part_id=part
            )
        )
    parts = [_rows(out / f"report.part{k}of2.csv") for k in (0, 1)]
    keys = [{r["key"] for r in p} for p in parts]
    assert keys[0].isdisjoint(keys[1]) and len(keys[0] | keys[1]) == 6
    assert merge_parts(out) == 6
    assert len(_rows(out / "report.csv")) == 6
    assert len(list(out.glob("v*_mask.nii.gz"))) == 6
    # a study killed while writing (its last line says so) has no outcome: merged without it, not as "writing"
    cut = json.dumps({"key": "k", "kind": "nifti", "status": "writing", "outputs": ["w_mask.nii.gz"]})
    with (out / "manifest.part0of2.jsonl").open("a", encoding="utf-8") as f:
        f.write(cut + "\n")
    assert merge_parts(out) == 6 and {r["status"] for r in _rows(out / "report.csv")} == {"done"}


def _run_cli(bundle: Path, inp: Path, out: Path, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "monai_lightseg",
        "segment",
        "--bundle",
        str(bundle),
        "--input",
        str(inp),
        "--output",
        str(out),
        "--device",
        "cpu",
        "--no-progress",
        *extra,
    ]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_same_outputs(tiny_3d_bundle, tmp_path) -> None:
    inp = tmp_path / "in"
    for i in range(4):
        write_mr_series(inp / f"s{i}", _vol(6, 10 + i), SPACING, ORIGIN, rotation_direction())
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    proc = _run_cli(tiny_3d_bundle, inp, reference)
    assert proc.wait(timeout=600) == 0, proc.stderr.read()[-2000:]
    proc = _run_cli(tiny_3d_bundle, inp, killed)
    deadline = time.time() + 600
    while time.time() < deadline:  # kill once at least one study is done and before all are
        manifest = killed / "manifest.jsonl"
        if manifest.is_file() and manifest.read_text(encoding="utf-8").count('"status": "done"') >= 1:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = (killed / "manifest.jsonl").read_text(encoding="utf-8").count('"status": "done"')
    assert 1 <= done < 4, "the kill came too late to test resuming"
    proc = _run_cli(tiny_3d_bundle, inp, killed, "--resume")
    assert proc.wait(timeout=600) == 0, proc.stderr.read()[-2000:]
    for mask in sorted(reference.rglob("mask.nii.gz")):
        twin = killed / mask.relative_to(reference)
        assert twin.read_bytes() == mask.read_bytes()
        a, b = pydicom.dcmread(mask.parent / "seg.dcm"), pydicom.dcmread(twin.parent / "seg.dcm")
        assert a.PixelData == b.PixelData
        refs = [
            [r.ReferencedSOPInstanceUID for r in f.DerivationImageSequence[0].SourceImageSequence]
            for f in a.PerFrameFunctionalGroupsSequence
        ]
        refs_b = [
            [r.ReferencedSOPInstanceUID for r in f.DerivationImageSequence[0].SourceImageSequence]
            for f in b.PerFrameFunctionalGroupsSequence
        ]
        assert refs == refs_b
    timing = {"read_s", "infer_s", "write_s"}
    strip = [{k: v for k, v in r.items() if k not in timing} for r in _rows(reference / "report.csv")]
    strip_b = [{k: v for k, v in r.items() if k not in timing} for r in _rows(killed / "report.csv")]
    assert strip == strip_b
    assert not list(killed.rglob(".tmp-*"))
    assert json.loads((killed / "report.json").read_text(encoding="utf-8"))["counts"]["done"] == 4


def test_segmenter_strips_writers(tiny_3d_bundle) -> None:
    segmenter = BundleSegmenter(tiny_3d_bundle, device="cpu")
    assert all(type(t).__name__ != "SaveImaged" for t in segmenter.postprocessing.transforms)
    assert segmenter.segment_names == {1: "anterior", 2: "posterior"}


def _synthetic_oblique_mri(folder: Path, slices: int = 7) -> Path:
    """Smooth blobs on an oblique grid. Smooth like real images: white noise would turn the ~1e-7 rounding of
    float32 NIfTI and DS-string DICOM geometry into different resampling grids and large mask differences.
    ``slices=6`` (of 2.5 mm) puts the 1 mm grid's size on a rounding tie (13.5 slices): both paths must still
    choose the same one, although their headers differ by ~3e-8 (StableSpacingd in the bundle)."""
    z, y, x = np.meshgrid(np.arange(slices), np.arange(20), np.arange(24), indexing="ij")
    blobs = np.exp(-((x - 8) ** 2 + (y - 7) ** 2) / 30.0 - (z - 2) ** 2 / 4.0)
    blobs -= np.exp(-((x - 17) ** 2 + (y - 13) ** 2) / 20.0 - (z - 3) ** 2 / 6.0)
    image = sitk.GetImageFromArray((blobs * 400).astype(np.int16))
    image.SetSpacing(SPACING)
    image.SetOrigin(ORIGIN)
    image.SetDirection(rotation_direction())
    folder.mkdir(parents=True)
    sitk.WriteImage(image, str(folder / "oblique.nii.gz"))
    return folder / "oblique.nii.gz"


@pytest.mark.parametrize("case", ["synthetic_oblique", "synthetic_oblique_tie", "real_mri"])
def test_dicom_and_nifti_paths_give_the_same_mask(case: str, tiny_3d_bundle, tmp_path) -> None:
    """The same volume as a DICOM series (written with its own geometry) and as NIfTI: the masks are equal voxel
    for voxel in physical space and the NIfTI mask keeps the source's exact affine. Cases: an oblique synthetic
    volume, and a shipped real MRI (MONAI's anatomical.nii, LAS, 2 mm). LAS is a left-handed grid in DICOM's LPS
    space, which a DICOM series cannot hold (its slice normal is row x column), so that series reads back with
    the slice order reversed: same voxels, other indexing. The masks are compared on one grid."""
    source = (
        REPO / "samples/mri/anatomical.nii"
        if case == "real_mri"
        else _synthetic_oblique_mri(tmp_path / "src", slices=6 if case.endswith("tie") else 7)
    )
    image = sitk.ReadImage(str(source))
    write_mr_series(
        tmp_path / "dicom" / "series",
        sitk.GetArrayFromImage(image),
        image.GetSpacing(),
        image.GetOrigin(),
        image.GetDirection(),
    )
    (tmp_path / "nifti").mkdir()
    shutil.copyfile(source, tmp_path / "nifti" / source.name)
    for name in ("dicom", "nifti"):
        code = run_batch(
            BatchOptions(
                bundle=tiny_3d_bundle,
                input=tmp_path / name,
                output=tmp_path / f"out_{name}",
                device="cpu",
                progress=False,
            )
        )
        assert code == 0
    (via_dicom,) = (tmp_path / "out_dicom").rglob("mask.nii.gz")
    (via_nifti,) = (tmp_path / "out_nifti").glob("*_mask.nii.gz")
    np.testing.assert_allclose(nib.load(via_nifti).affine, nib.load(source).affine, atol=1e-5)
    a, b = sitk.ReadImage(str(via_dicom)), sitk.ReadImage(str(via_nifti))
    on_b = sitk.Resample(a, b, sitk.Transform(), sitk.sitkNearestNeighbor, 0, a.GetPixelID())
    labels = sitk.GetArrayFromImage(b)
    # Equal voxel for voxel, oblique too: NIfTI keeps the direction in float32 and DICOM in decimal strings, and
    # before OrthonormalizeAffined that ~1e-7 difference moved the bundle's Spacingd grid by half a voxel (2-3 %
    # of voxels differed at the border slices).
    np.testing.assert_array_equal(sitk.GetArrayFromImage(on_b), labels)
    assert set(np.unique(labels)) == {0, 1, 2}  # a mask that follows the anatomy, not a constant
    fractions = np.bincount(labels.ravel(), minlength=3) / labels.size
    assert fractions.min() > 0.05


def _perturbed(header: sitk.Image, rng: np.random.Generator, size: float) -> sitk.Image:
    """``header`` with spacing, origin and direction entries each moved by up to ``size`` relative (direction
    entries by up to ``size`` absolute, so that its zeros move too)."""
    image = sitk.Image(header)
    u = lambda n: rng.uniform(-size, size, n)  # noqa: E731
    image.SetSpacing(tuple(np.asarray(header.GetSpacing()) * (1 + u(3))))
    image.SetOrigin(tuple(np.asarray(header.GetOrigin()) * (1 + u(3))))
    image.SetDirection(tuple(np.asarray(header.GetDirection()) + u(9)))
    return image


def test_header_noise_never_changes_the_mask(tiny_3d_bundle, tmp_path) -> None:
    """The same voxels under headers that differ by up to 1e-6 relative (spacing, origin, direction; several
    draws of a fixed seed) give identical masks. The volume sits on a rounding tie of the 1 mm grid's size
    (6 slices of 2.5 mm span 13.5 output voxels, exactly so in the unperturbed header): MONAI's Spacingd rounds
    that extent with np.round, so the noise chose 13 or 14 slices and the masks differed on ~1 % of voxels
    (the cause of a DICOM-vs-NIfTI failure on one machine); the bundle's StableSpacingd rounds the tie alike."""
    exact = sitk.ReadImage(str(_synthetic_oblique_mri(tmp_path / "src", slices=6)))
    exact.SetSpacing(SPACING)  # float64 header values: the z extent is 5 * 2.5 / 1 + 1 = 13.5 exactly
    exact.SetOrigin(ORIGIN)
    exact.SetDirection(rotation_direction())
    rng = np.random.default_rng(20261204)
    headers = [exact] + [_perturbed(exact, rng, 1e-6) for _ in range(6)]
    segmenter = BundleSegmenter(tiny_3d_bundle, device="cpu")
    masks = []
    for i, image in enumerate(headers):
        path = tmp_path / f"copy{i}.nii.gz"
        sitk.WriteImage(image, str(path))
        masks.append(segmenter(path))
    assert set(np.unique(masks[0])) == {0, 1, 2}
    for i, mask in enumerate(masks[1:], start=1):
        assert np.array_equal(mask, masks[0]), f"draw {i}: {np.count_nonzero(mask != masks[0])} voxels differ"
