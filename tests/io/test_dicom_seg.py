"""DICOM SEG writing: frames reference the right source slices, the file is valid DICOM, and bad input is refused."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from monai_lightseg.io.dicom_seg import write_dicom_seg
from tests.conftest import require_tool
from tests.io.dicom_fixtures import rotation_direction, write_mr_series

hd = pytest.importorskip("highdicom")

SHAPE = (6, 24, 20)  # slices, rows, cols
SPACING = (0.8, 0.9, 2.5)  # x, y, z (mm)
ORIGIN = (-10.0, 20.0, 5.5)
LABELS = {1: "anterior hippocampus", 2: "posterior hippocampus"}
VL_ENDOSCOPIC_IMAGE = "1.2.840.10008.5.1.4.1.1.77.1.1"


@pytest.fixture(scope="module")
def mr_files(tmp_path_factory) -> list[Path]:
    volume = (np.arange(np.prod(SHAPE)).reshape(SHAPE) % 400).astype(np.int16)
    return write_mr_series(tmp_path_factory.mktemp("mr"), volume, SPACING, ORIGIN, rotation_direction())


@pytest.fixture
def sources(mr_files) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(f, stop_before_pixels=True) for f in mr_files]


def _two_label_mask() -> np.ndarray:
    """Label 1 on slices 1 and 3, label 2 on slices 3 and 4; slices 0, 2 and 5 empty."""
    mask = np.zeros(SHAPE, np.int64)
    mask[1, 2:5, 3:7] = 1
    mask[3, 0:2, 0:3] = 1
    mask[3, 10:15, 5:9] = 2
    mask[4, 5:6, 5:19] = 2
    return mask


def _endoscopy_image(path: Path) -> Path:
    """A 2D colour VL Endoscopic image without patient geometry (no frame of reference), like a polyp frame."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = VL_ENDOSCOPIC_IMAGE, generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Test^Patient", "PID0002", "", ""
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.ReferringPhysicianName, ds.StudyID = (
        "20240101",
        "120000",
        "",
        "",
        "1",
    )
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "ES", 1, 1
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 16, 12, 3, "RGB"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation, ds.PlanarConfiguration = 8, 8, 7, 0, 0
    ds.PixelData = np.zeros((16, 12, 3), np.uint8).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _write(tmp_path: Path, mask: np.ndarray, sources: list[pydicom.Dataset], **kwargs) -> Path:
    kwargs.setdefault("segment_labels", LABELS)
    out = tmp_path / "seg" / "mask.dcm"
    return write_dicom_seg(mask, sources, out, algorithm_name="unet", algorithm_version="1.2", **kwargs)


def test_frames_reference_the_source_slice_of_each_label(tmp_path, sources) -> None:
    mask = _two_label_mask()
    out = _write(tmp_path, mask, sources)
    assert out == tmp_path / "seg" / "mask.dcm"
    assert sorted(p.name for p in out.parent.iterdir()) == ["mask.dcm"]  # no temporary file left
    seg = hd.seg.segread(out)

    assert seg.segmentation_type == hd.seg.SegmentationTypeValues.BINARY
    assert seg.segment_numbers == [1, 2]
    for number, name in LABELS.items():
        description = seg.get_segment_description(number)
        assert description.segment_label == name
        assert description.segmented_property_category.value == "85756007"  # SCT Tissue
        assert description.segmented_property_type.value == "85756007"
        assert description.algorithm_type == hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC
        algorithm = description.algorithm_identification[0]
        assert (algorithm.AlgorithmName, algorithm.AlgorithmVersion) == ("unet", "1.2")
        assert algorithm.AlgorithmFamilyCodeSequence[0].CodeValue == "123110"  # DCM Artificial Intelligence
    src = sources[0]
    assert (seg.StudyInstanceUID, seg.FrameOfReferenceUID, seg.PatientID) == (
        src.StudyInstanceUID,
        src.FrameOfReferenceUID,
        src.PatientID,
    )
    assert seg.SeriesInstanceUID != src.SeriesInstanceUID
    assert (seg.SeriesDescription, seg.SeriesNumber, seg.ContentLabel, seg.Manufacturer) == (
        "monai_lightseg segmentation",
        900,
        "SEG",
        "monai_lightseg",
    )
    orientation = seg.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0].ImageOrientationPatient
    np.testing.assert_allclose([float(v) for v in orientation], [float(v) for v in src.ImageOrientationPatient])

    # every frame: one segment on one source slice, referenced by SOP Instance UID, with that slice's position
    # and exactly that slice's pixels of that label; empty (slice, label) pairs have no frame
    slice_of_uid = {ds.SOPInstanceUID: i for i, ds in enumerate(sources)}
    seen = set()
    for index, frame in enumerate(seg.PerFrameFunctionalGroupsSequence):
        number = int(frame.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        uid = frame.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        i = slice_of_uid[uid]
        np.testing.assert_array_equal(seg.get_stored_frame(index, as_index=True), mask[i] == number)
        np.testing.assert_allclose(
            [float(v) for v in frame.PlanePositionSequence[0].ImagePositionPatient],
            [float(v) for v in sources[i].ImagePositionPatient],
        )
        seen.add((i, number))
    expected = {(i, n) for n in LABELS for i in range(SHAPE[0]) if np.any(mask[i] == n)}
    assert seen == expected == {(1, 1), (3, 1), (3, 2), (4, 2)}

    # the same through highdicom's reader API, for every source slice (empty ones included)
    uids = [ds.SOPInstanceUID for ds in sources]
    pixels = seg.get_pixels_by_source_instance(uids, assert_missing_frames_are_empty=True)
    np.testing.assert_array_equal(pixels, np.stack([mask == n for n in (1, 2)], axis=-1))
    combined = seg.get_pixels_by_source_instance(uids, combine_segments=True, assert_missing_frames_are_empty=True)
    np.testing.assert_array_equal(combined, mask)


def test_source_order_is_the_mask_order_not_the_position_order(tmp_path, sources) -> None:
    order = [4, 0, 5, 2, 1, 3]
    mask = _two_label_mask()
    seg = hd.seg.segread(_write(tmp_path, mask[order], [sources[i] for i in order]))
    uids = [ds.SOPInstanceUID for ds in sources]
    combined = seg.get_pixels_by_source_instance(uids, combine_segments=True, assert_missing_frames_are_empty=True)
    np.testing.assert_array_equal(combined, mask)


def test_all_zero_mask_still_gives_a_valid_seg(tmp_path, sources, caplog) -> None:
    out = _write(tmp_path, np.zeros(SHAPE, np.uint8), sources)
    seg = hd.seg.segread(out)
    assert seg.segment_numbers == [1, 2]
    assert seg.NumberOfFrames > 0
    pixels = seg.get_pixels_by_source_instance([ds.SOPInstanceUID for ds in sources])
    assert pixels.shape == (*SHAPE, 2) and not pixels.any()
    assert "empty" not in caplog.text  # highdicom's "Encoding an empty image" warning is avoided


def test_bool_and_integral_float_masks_are_labels(tmp_path, sources) -> None:
    mask = _two_label_mask()
    uids = [ds.SOPInstanceUID for ds in sources]
    seg = hd.seg.segread(_write(tmp_path, mask.astype(np.float32), sources))
    np.testing.assert_array_equal(seg.get_pixels_by_source_instance(uids, combine_segments=True), mask)
    seg = hd.seg.segread(_write(tmp_path, mask == 1, sources, segment_labels={1: "lesion"}))
    np.testing.assert_array_equal(seg.get_pixels_by_source_instance(uids)[..., 0], mask == 1)


def test_2d_source_without_geometry(tmp_path) -> None:
    source = pydicom.dcmread(_endoscopy_image(tmp_path / "frame.dcm"))
    mask = np.zeros((1, 16, 12), np.uint8)
    mask[0, 3:8, 2:6] = 1
    seg = hd.seg.segread(_write(tmp_path, mask, [source], segment_labels={1: "polyp"}))
    assert "FrameOfReferenceUID" not in seg and "PatientOrientation" in seg
    np.testing.assert_array_equal(seg.get_pixels_by_source_instance([source.SOPInstanceUID])[..., 0], mask)


def _deidentified(sources: list[pydicom.Dataset]) -> list[pydicom.Dataset]:
    """Copies of the sources with Type 2 patient/study attributes removed, as some de-identifiers do."""
    sources = copy.deepcopy(sources)
    for ds in sources:
        for keyword in ("PatientName", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "StudyID"):
            delattr(ds, keyword)
    return sources


def test_deidentified_source_gets_empty_type2_attributes(tmp_path, sources) -> None:
    deidentified = _deidentified(sources)
    seg = hd.seg.segread(_write(tmp_path, _two_label_mask(), deidentified))
    assert (seg.PatientName, seg.PatientBirthDate, seg.StudyDate, seg.StudyID) == ("", "", "", "")
    assert seg.PatientID == sources[0].PatientID
    assert "StudyDate" not in deidentified[0]  # the caller's datasets are left as they were


@pytest.mark.parametrize("case", ["two_labels", "all_zero", "2d_no_geometry", "deidentified"])
def test_dciodvfy_finds_no_error(tmp_path, sources, case) -> None:
    dciodvfy = require_tool("dciodvfy", "dicom3tools")
    if case == "2d_no_geometry":
        mask = np.zeros((1, 16, 12), np.uint8)
        mask[0, 3:8, 2:6] = 1
        source = pydicom.dcmread(_endoscopy_image(tmp_path / "frame.dcm"))
        out = _write(tmp_path, mask, [source], segment_labels={1: "polyp"})
    elif case == "deidentified":
        out = _write(tmp_path, _two_label_mask(), _deidentified(sources))
    else:
        out = _write(tmp_path, _two_label_mask() if case == "two_labels" else np.zeros(SHAPE, np.uint8), sources)
    result = subprocess.run([dciodvfy, str(out)], capture_output=True, text=True, timeout=60)
    report = result.stdout + result.stderr
    assert "Segmentation" in report  # dciodvfy recognised the IOD
    errors = [line for line in report.splitlines() if line.startswith("Error")]
    assert not errors, report


def _sources_of_two_series(sources: list[pydicom.Dataset]) -> list[pydicom.Dataset]:
    other = copy.deepcopy(sources[-1])
    other.SeriesInstanceUID = generate_uid()
    return [*sources[:-1], other]


def _multiframe(sources: list[pydicom.Dataset]) -> list[pydicom.Dataset]:
    ds = copy.deepcopy(sources[0])
    ds.NumberOfFrames = 6
    return [ds]


@pytest.mark.parametrize(
    ("make_mask", "make_sources", "kwargs", "match"),
    [
        (lambda m: m[:-1], None, {}, r"mask shape \(5, 24, 20\) does not match .* \(6, 24, 20\)"),
        (lambda m: m[:, :, :-1], None, {}, r"mask shape \(6, 24, 19\) does not match"),
        (lambda m: m[0], None, {}, r"mask shape \(24, 20\) does not match"),
        (lambda m: m, None, {"segment_labels": {1: "anterior hippocampus"}}, r"mask has labels \[2\] with no name"),
        (lambda m: m, lambda s: [], {}, "source_datasets is empty"),
        (lambda m: m, _sources_of_two_series, {}, "come from 2 series"),
        (lambda m: m, lambda s: [*s[:-1], s[0]], {}, "appears twice"),
        (lambda m: m[:1], _multiframe, {}, "multi-frame"),
        (lambda m: m, None, {"segment_labels": {1: "a", 3: "c"}}, r"keys \[1, 3\] must be the label values 1..K"),
        (lambda m: m, None, {"segment_labels": {}}, "segment_labels is empty"),
        (lambda m: m, None, {"segment_labels": {1: "a", 2: ""}}, "non-empty string"),
        (lambda m: m, None, {"segment_labels": {1: "a", 2: "x" * 65}}, "not a valid DICOM LO"),
        (lambda m: m - 1, None, {}, "negative label"),
        (lambda m: m * 0.5, None, {}, "non-integer values"),
        (lambda m: m, None, {"content_label": "my seg"}, "content_label 'my seg' is not a DICOM CS"),
        (lambda m: m, None, {"algorithm_name": ""}, "algorithm_name must be a non-empty string"),
        (lambda m: m, None, {"series_number": 0}, "series_number must be a positive integer"),
    ],
    ids=[
        "slices",
        "cols",
        "2d_mask",
        "unnamed_label",
        "no_sources",
        "two_series",
        "duplicate_instance",
        "multiframe",
        "label_gap",
        "no_labels",
        "empty_name",
        "long_name",
        "negative",
        "fractional",
        "content_label",
        "algorithm_name",
        "series_number",
    ],
)
def test_bad_input_is_refused(tmp_path, sources, make_mask, make_sources, kwargs, match) -> None:
    mask = make_mask(_two_label_mask())
    src = make_sources(sources) if make_sources else sources
    kwargs = {"segment_labels": LABELS, "algorithm_name": "unet", "algorithm_version": "1.2", **kwargs}
    with pytest.raises(ValueError, match=match):
        write_dicom_seg(mask, src, tmp_path / "seg" / "mask.dcm", **kwargs)
    assert not (tmp_path / "seg").exists() or not any((tmp_path / "seg").iterdir())


def test_failed_write_leaves_no_partial_file(tmp_path, sources, monkeypatch) -> None:
    out = tmp_path / "seg" / "mask.dcm"
    out.parent.mkdir()
    out.write_bytes(b"previous SEG")

    def save_half_then_fail(self, filename, *args, **kwargs) -> None:
        Path(filename).write_bytes(b"DICM partial")
        raise OSError("No space left on device")

    monkeypatch.setattr(hd.seg.Segmentation, "save_as", save_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        write_dicom_seg(_two_label_mask(), sources, out, LABELS, "unet", "1.2")
    assert sorted(p.name for p in out.parent.iterdir()) == ["mask.dcm"]
    assert out.read_bytes() == b"previous SEG"  # the old file is untouched, not half-overwritten


def test_output_path_that_cannot_be_replaced_leaves_no_temporary_file(tmp_path, sources) -> None:
    out = tmp_path / "seg" / "mask.dcm"
    (out / "occupied").mkdir(parents=True)  # a non-empty folder where the file should go: os.replace fails
    with pytest.raises(OSError):
        write_dicom_seg(_two_label_mask(), sources, out, LABELS, "unet", "1.2")
    assert sorted(p.name for p in out.parent.iterdir()) == ["mask.dcm"]
    assert out.is_dir()
