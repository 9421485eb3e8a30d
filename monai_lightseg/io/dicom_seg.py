"""Write a label mask as a DICOM Segmentation (SEG) instance that references its source series slice by slice.

The SEG is built with highdicom (``hd.seg.Segmentation``), not pydicom-seg: pydicom-seg is unmaintained and pins
``numpy<2``, while highdicom is maintained, supports pydicom 3 and numpy 2, and checks the IOD as it builds it.
highdicom is the optional ``dicom`` extra (``pip install monai_lightseg[dicom]``); it is imported on first use so
the rest of :mod:`monai_lightseg.io` works without it.

Every frame of the SEG holds one segment on one source slice and references that slice by its SOP Instance UID
(the frame's Derivation Image / Source Image Sequence); plane position and orientation are copied from the
source, and the SEG shares the source's study and frame of reference, so a viewer overlays segment ``k`` of mask
slice ``i`` exactly on ``source_datasets[i]``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.sr.codedict import codes

from monai_lightseg.io.discovery import FILE_META_KEYWORDS, sop_uid
from monai_lightseg.io.writers import atomic_write

__all__ = ["ALGORITHM_FAMILY", "SEGMENT_CATEGORY", "SEGMENT_TYPE", "referenceable_sources", "write_dicom_seg"]

#: Segmented Property Category of every segment: SCT 85756007 "Tissue" (CID 7150). Generic on purpose: the
#: writer does not know what a model segments (a polyp, a hippocampus), so the segment label carries the meaning.
SEGMENT_CATEGORY = codes.cid7150.Tissue
#: Segmented Property Type of every segment: SCT 85756007 "Tissue" (CID 7166, a member of CID 7151), the type
#: that CID 7150 "Tissue" expects; anything more specific would assert an anatomy the writer cannot know.
SEGMENT_TYPE = codes.cid7166.Tissue
#: Algorithm Family of the segmentation algorithm: DCM 123110 "Artificial Intelligence" (CID 7162).
ALGORITHM_FAMILY = codes.cid7162.ArtificialIntelligence

#: Device Serial Number is Type 1 in the Enhanced General Equipment module; software has none.
_DEVICE_SERIAL_NUMBER = "0"
#: VR LO (segment labels, algorithm name/version, manufacturer, series description): at most 64 characters.
_LO_MAX = 64
#: VR CS (content label): upper-case letters, digits, space and underscore, at most 16 characters.
_CS_PATTERN = re.compile(r"[A-Z0-9_ ]{1,16}")
#: Type 2 patient/study attributes highdicom copies from the first source; an anonymiser may have removed them
_PATIENT_STUDY_TYPE2 = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyID",
)


def _check_lo(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"write_dicom_seg: {what} must be a non-empty string, got {value!r}.")
    if len(value) > _LO_MAX or "\\" in value or any(c in value for c in "\r\n\f"):
        raise ValueError(
            f"write_dicom_seg: {what} {value!r} is not a valid DICOM LO value "
            f"(at most {_LO_MAX} characters, no backslash or line break); shorten it."
        )
    return value


def _check_sources(source_datasets: Sequence[pydicom.Dataset]) -> tuple[int, int]:
    """Check the source slices form one series of single-frame images of one size; returns (Rows, Columns)."""
    if len(source_datasets) == 0:
        raise ValueError("write_dicom_seg: source_datasets is empty; pass the pydicom datasets of the source series.")
    required = ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "Rows", "Columns")
    for i, ds in enumerate(source_datasets):
        missing = [k for k in required if k not in ds]
        if missing:
            raise ValueError(
                f"write_dicom_seg: source_datasets[{i}] lacks {missing}; pass the datasets read from the "
                "source image files (pixel data may be left out)."
            )
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise ValueError(
                f"write_dicom_seg: source_datasets[{i}] is a multi-frame image ({ds.NumberOfFrames} frames); "
                "only series of single-frame images (one dataset per mask slice) are supported."
            )
    series = sorted({str(ds.SeriesInstanceUID) for ds in source_datasets})
    if len(series) > 1:
        raise ValueError(
            f"write_dicom_seg: source_datasets come from {len(series)} series ({', '.join(series)}); "
            "a SEG covers one series: write one SEG per series."
        )
    uids = [str(ds.SOPInstanceUID) for ds in source_datasets]
    if len(set(uids)) != len(uids):
        duplicate = next(u for u in uids if uids.count(u) > 1)
        raise ValueError(
            f"write_dicom_seg: SOP Instance UID {duplicate} appears twice in source_datasets; "
            "pass each source slice once."
        )
    sizes = sorted({(int(ds.Rows), int(ds.Columns)) for ds in source_datasets})
    if len(sizes) > 1:
        raise ValueError(f"write_dicom_seg: source slices have different sizes (Rows, Columns) {sizes}.")
    return sizes[0]


def referenceable_sources(source_datasets: Sequence[pydicom.Dataset]) -> tuple[list[pydicom.Dataset], str]:
    """The source slices as a SEG can reference them, and a note of what was taken from where ("" if nothing).

    A SOP Class or SOP Instance UID left blank in a dataset (as some anonymisers do) is taken from the file's
    meta header (Media Storage SOP Class / Instance UID), which is the same file's own value, not an invented
    one; the datasets are copied, never modified.

    Raises:
        ValueError: a SEG cannot reference these slices: the Study or Series Instance UID is blank (a SEG belongs
            to its source's study and names the source series; inventing them would make it reference a study
            that does not exist), or a SOP UID is blank in both the dataset and the file meta. The message says
            which, in words.
    """
    for keyword, what in (("StudyInstanceUID", "study"), ("SeriesInstanceUID", "series")):
        if any(not str(ds.get(keyword, "") or "") for ds in source_datasets):
            raise ValueError(
                f"the source slices have no {keyword}, and a SEG must reference its source {what} by it "
                "(an invented UID would point to a study or series that does not exist)"
            )
    sources, taken = [], set()
    for ds in source_datasets:
        fixes = {}
        for keyword, meta_keyword in FILE_META_KEYWORDS.items():
            if not str(ds.get(keyword, "") or ""):
                value = sop_uid(ds, keyword)
                if not value:
                    raise ValueError(
                        f"a source slice has no {keyword}, neither in its dataset nor in its file meta header "
                        f"({meta_keyword}), so a SEG cannot reference it"
                    )
                fixes[keyword] = value
                taken.add(keyword)
        if fixes:
            ds = copy.deepcopy(ds)
            for keyword, value in fixes.items():
                setattr(ds, keyword, value)
        sources.append(ds)
    note = ""
    if taken:
        note = f"{' and '.join(sorted(taken))} blank in the dataset(s): taken from each file's meta header for the SEG"
    return sources, note


def _with_type2_attributes(source_datasets: Sequence[pydicom.Dataset]) -> list[pydicom.Dataset]:
    """The sources, the first one copied with absent Type 2 patient/study attributes added empty (as in a
    de-identified series); the caller's datasets are not modified."""
    sources = list(source_datasets)
    missing = [k for k in _PATIENT_STUDY_TYPE2 if k not in sources[0]]
    if missing:
        sources[0] = copy.deepcopy(sources[0])
        for keyword in missing:
            setattr(sources[0], keyword, "")
    return sources


def _label_map(mask: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """The mask as an unsigned label map of ``shape`` (slices, rows, cols), checked for integer, non-negative labels."""
    array = np.asarray(mask)
    if array.shape != shape:
        raise ValueError(
            f"write_dicom_seg: mask shape {array.shape} does not match the source series "
            f"(len(source_datasets), Rows, Columns) = {shape}; pass the mask in source slice order "
            "(mask[None] for a single 2D image)."
        )
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError("write_dicom_seg: mask has non-integer values; pass integer labels (argmax, not scores).")
    elif not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"write_dicom_seg: mask dtype {array.dtype} is not an integer label type.")
    if array.size and array.min() < 0:
        raise ValueError(f"write_dicom_seg: mask has negative label {array.min()}; labels are 0 (background) to K.")
    return array


def _check_segment_labels(segment_labels: Mapping[int, str]) -> dict[int, str]:
    if not segment_labels:
        raise ValueError("write_dicom_seg: segment_labels is empty; name each label, e.g. {1: 'polyp'}.")
    labels: dict[int, str] = {}
    for value, name in segment_labels.items():
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"write_dicom_seg: segment_labels key {value!r} is not an integer label value.")
        labels[int(value)] = _check_lo(name, f"segment_labels[{value}]")
    expected = list(range(1, len(labels) + 1))
    if sorted(labels) != expected:
        raise ValueError(
            f"write_dicom_seg: segment_labels keys {sorted(labels)} must be the label values 1..K ({expected}); "
            "a BINARY SEG numbers its segments consecutively from 1."
        )
    return dict(sorted(labels.items()))


def write_dicom_seg(
    mask: np.ndarray,
    source_datasets: Sequence[pydicom.Dataset],
    output_path: str | Path,
    segment_labels: Mapping[int, str],
    algorithm_name: str,
    algorithm_version: str,
    series_description: str = "monai_lightseg segmentation",
    series_number: int = 900,
    manufacturer: str = "monai_lightseg",
    content_label: str = "SEG",
) -> Path:
    """Write ``mask`` as a BINARY DICOM SEG of the series ``source_datasets``, atomically; returns the path.

    Args:
        mask: (n_slices, rows, cols) integer labels, 0 background and 1..K segments, in the order of
            ``source_datasets``: ``mask[i]`` lies on ``source_datasets[i]`` pixel for pixel (rows = y, cols = x
            of the source image). A single-frame 2D source has ``n_slices == 1``. Bool and integral floats
            are accepted.
        source_datasets: pydicom datasets of one series of single-frame images, one per mask slice (headers
            suffice: ``stop_before_pixels=True``). Patient/study attributes are copied from the first; Type 2
            ones a de-identification removed are written empty. The datasets are not modified.
        output_path: the SEG file to write; its folder is created. Written to a temporary file in that folder,
            then renamed onto ``output_path``, so a failure never leaves a partial file.
        segment_labels: ``{label_value: name}`` for label values 1..K; one segment per label, segment number =
            label value, segment label = name. Labels absent from the mask still get a (frame-less) segment.
        algorithm_name, algorithm_version: the segmentation algorithm (model) recorded in each segment's
            Segmentation Algorithm Identification and as Manufacturer's Model Name / Software Versions.
        series_description, series_number, manufacturer, content_label: of the new SEG series.

    Coded concepts (generic, since the writer cannot know the anatomy): every segment has Segmented Property
    Category and Type SCT 85756007 "Tissue" (:data:`SEGMENT_CATEGORY`, :data:`SEGMENT_TYPE`), algorithm type
    AUTOMATIC and algorithm family DCM 123110 "Artificial Intelligence" (:data:`ALGORITHM_FAMILY`).

    Frames: one per (slice, segment) holding that segment; empty frames are left out, except for an all-zero
    mask, which is written with all its (empty) frames so the SEG is still valid.

    Raises:
        ValueError: empty ``source_datasets``, datasets of more than one series, multi-frame or incomplete
            datasets, or of different sizes; a mask shape other than (len(source_datasets), Rows, Columns);
            non-integer or negative labels; labels in the mask with no name in ``segment_labels``, keys that
            are not 1..K; strings that are not valid DICOM values.
        ImportError: highdicom is not installed.
    """
    try:
        import highdicom as hd
    except ImportError as err:
        raise ImportError(
            "write_dicom_seg needs highdicom: pip install 'monai_lightseg[dicom]' (or highdicom>=0.23)."
        ) from err
    from monai_lightseg import __version__

    rows, cols = _check_sources(source_datasets)
    labels = _check_segment_labels(segment_labels)
    label_map = _label_map(mask, (len(source_datasets), rows, cols))
    present = {int(v) for v in np.unique(label_map)} - {0}
    unnamed = sorted(present - set(labels))
    if unnamed:
        raise ValueError(
            f"write_dicom_seg: mask has labels {unnamed} with no name in segment_labels {labels}; "
            "name every label the model can output."
        )
    label_map = label_map.astype(np.uint8 if len(labels) <= np.iinfo(np.uint8).max else np.uint16)
    _check_lo(algorithm_name, "algorithm_name")
    _check_lo(algorithm_version, "algorithm_version")
    _check_lo(series_description, "series_description")
    _check_lo(manufacturer, "manufacturer")
    if not isinstance(content_label, str) or not _CS_PATTERN.fullmatch(content_label):
        raise ValueError(
            f"write_dicom_seg: content_label {content_label!r} is not a DICOM CS value "
            "(1-16 upper-case letters, digits, space or underscore), e.g. 'SEG'."
        )
    if isinstance(series_number, bool) or not isinstance(series_number, (int, np.integer)) or series_number < 1:
        raise ValueError(f"write_dicom_seg: series_number must be a positive integer, got {series_number!r}.")

    algorithm = hd.AlgorithmIdentificationSequence(
        name=algorithm_name, family=ALGORITHM_FAMILY, version=algorithm_version, source=manufacturer
    )
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=value,
            segment_label=name,
            segmented_property_category=SEGMENT_CATEGORY,
            segmented_property_type=SEGMENT_TYPE,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        )
        for value, name in labels.items()
    ]
    seg = hd.seg.Segmentation(
        source_images=_with_type2_attributes(source_datasets),
        pixel_array=label_map,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=int(series_number),
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer=manufacturer,
        manufacturer_model_name=algorithm_name,
        software_versions=[algorithm_version, f"monai_lightseg {__version__}"],  # a list: pydicom warns on tuples
        device_serial_number=_DEVICE_SERIAL_NUMBER,
        series_description=series_description,
        content_label=content_label,
        # highdicom cannot omit every frame: an all-zero mask keeps its empty frames (and no warning is logged)
        omit_empty_frames=bool(present),
    )
    if "FrameOfReferenceUID" not in seg and "PatientOrientation" not in seg:
        # a source without patient geometry (an endoscopy picture): the SEG then has no plane orientation, and
        # General Image's Patient Orientation (Type 2C) becomes required; highdicom does not add it
        seg.PatientOrientation = source_datasets[0].get("PatientOrientation", "")
    return atomic_write(output_path, lambda tmp: seg.save_as(tmp, enforce_file_format=True), suffix=".dcm")
