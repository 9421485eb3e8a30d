"""Find the studies in a folder tree holding any mix of DICOM (any names, nested, several studies and series
per folder), NIfTI and 2D images, and decide what to segment.

Each result is a :class:`StudyItem`: one thing the batch command segments (a DICOM series, a 2D DICOM
instance or frame, a NIfTI file, a 2D image file), or a failure with its reason (an empty, truncated or
non-image file, a series the rules exclude). Items carry a non-identifying ``key`` (a hash of UIDs or
of the relative path), so reports never need a patient name or ID.

DICOM files whose Study or Series Instance UID is blank (some anonymisers leave them empty) are not failed one
by one: within one folder they are grouped by what one series shares (:data:`SERIES_SIGNATURE`), and each group
is one series item whose ``info["notes"]`` says that the UIDs were missing and how the group was formed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

__all__ = [
    "SeriesRules", "StudyItem", "discover", "sop_uid", "IMAGE_SUFFIXES_2D", "NIFTI_SUFFIXES", "SERIES_SIGNATURE",
]  # fmt: skip

IMAGE_SUFFIXES_2D = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp")
NIFTI_SUFFIXES = (".nii", ".nii.gz")
#: SOP classes whose instances are 2D colour pictures, not slices of a volume
RGB_2D_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.77.1.1": "VL Endoscopic Image",
    "1.2.840.10008.5.1.4.1.1.77.1.1.1": "Video Endoscopic Image",
    "1.2.840.10008.5.1.4.1.1.77.1.4": "VL Photographic Image",
    "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image",
    "1.2.840.10008.5.1.4.1.1.7.4": "Multi-frame True Color Secondary Capture Image",
}
SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
#: what the slices of one series share, used to group files whose Study/Series Instance UIDs are blank
SERIES_SIGNATURE = (
    "FrameOfReferenceUID", "Modality", "SeriesNumber", "orientation", "size (Rows, Columns)", "PixelSpacing",
)  # fmt: skip


@dataclass(frozen=True)
class SeriesRules:
    """Which DICOM series are segmented. Every series of every study that passes all rules is segmented on
    its own (two series in one folder are never merged).

    Args:
        modalities: allowed Modality values (empty: any).
        exclude_image_types: a series whose ImageType contains any of these values is skipped
            (localizers and derived/secondary reformats by default).
        orientations: allowed slice orientations among ``axial``, ``coronal``, ``sagittal``, ``oblique``
            (empty: any), from the dominant axis of the slice normal.
        min_slices: fewer slices than this: skipped (a 3D model needs a volume).
    """

    modalities: tuple[str, ...] = ("CT", "MR")
    exclude_image_types: tuple[str, ...] = ("LOCALIZER", "SCOUT")
    orientations: tuple[str, ...] = ()
    min_slices: int = 3

    def reason_to_skip(self, modality: str, image_type: Iterable[str], orientation: str, n_slices: int) -> str:
        """Why a series is skipped, or ``""`` when it is segmented."""
        if self.modalities and modality not in self.modalities:
            return f"modality {modality or '(none)'} not in {list(self.modalities)}"
        hit = sorted(set(image_type) & set(self.exclude_image_types))
        if hit:
            return f"image type {'/'.join(image_type)} contains {hit}"
        if self.orientations and orientation not in self.orientations:
            return f"{orientation} slices, rules allow {list(self.orientations)}"
        if n_slices < self.min_slices:
            return f"{n_slices} slices, fewer than {self.min_slices}"
        return ""


@dataclass
class StudyItem:
    """One unit of work (or of failure) found under the input root.

    ``kind``: ``dicom_series`` (3D), ``dicom_2d`` (one colour instance; ``frame`` set for multi-frame),
    ``nifti``, ``image_2d``, or ``failed``/``skipped`` with ``reason``.
    ``relpath``: where outputs go, mirroring the input tree (may contain patient names: reports use ``key``).
    """

    key: str
    kind: str
    files: list[Path]
    relpath: str
    reason: str = ""
    frame: int | None = None
    info: dict = field(default_factory=dict)


def _key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _orientation(ds: pydicom.Dataset) -> str:
    iop = getattr(ds, "ImageOrientationPatient", None)
    if iop is None or len(iop) != 6:
        return "unknown"
    r, c = [float(v) for v in iop[:3]], [float(v) for v in iop[3:]]
    n = [abs(r[1] * c[2] - r[2] * c[1]), abs(r[2] * c[0] - r[0] * c[2]), abs(r[0] * c[1] - r[1] * c[0])]
    axis = max(range(3), key=lambda i: n[i])
    if n[axis] < 0.8:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


#: where a file's meta header repeats a SOP UID of its dataset
FILE_META_KEYWORDS = {"SOPClassUID": "MediaStorageSOPClassUID", "SOPInstanceUID": "MediaStorageSOPInstanceUID"}


def sop_uid(ds: pydicom.Dataset, keyword: str = "SOPClassUID") -> str:
    """The dataset's SOP Class (or Instance) UID, or the file meta's Media Storage one where the dataset's is
    blank (some anonymisers blank the dataset's); "" when neither has it."""
    meta = getattr(ds, "file_meta", None) or pydicom.Dataset()
    return str(ds.get(keyword, "") or meta.get(FILE_META_KEYWORDS[keyword], "") or "")


def _is_rgb_2d(ds: pydicom.Dataset) -> bool:
    return int(getattr(ds, "SamplesPerPixel", 1)) == 3 or sop_uid(ds) in RGB_2D_SOP_CLASSES


def _signature(ds: pydicom.Dataset) -> tuple[str, ...]:
    """:data:`SERIES_SIGNATURE` of one file, as strings (direction cosines and spacings rounded to 1e-4)."""

    def rounded(values: object) -> str:
        try:
            return ",".join(f"{float(v):.4f}" for v in values)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            return ""

    return (
        str(ds.get("FrameOfReferenceUID", "") or ""),
        str(ds.get("Modality", "") or ""),
        str(ds.get("SeriesNumber", "") or ""),
        rounded(ds.get("ImageOrientationPatient")),
        f"{ds.get('Rows', '')}x{ds.get('Columns', '')}",
        rounded(ds.get("PixelSpacing")),
    )


def _missing_uids(study: str, series: str) -> str:
    return " and ".join(n for n, v in (("StudyInstanceUID", study), ("SeriesInstanceUID", series)) if not v)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def discover(root: str | Path, rules: SeriesRules | None = None) -> list[StudyItem]:
    """All items under ``root`` (sorted by ``relpath`` then key, so the order is stable between runs)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: input folder not found.")
    rules = rules or SeriesRules()
    items: list[StudyItem] = []
    series: dict[tuple[str, ...], list[tuple[Path, pydicom.Dataset]]] = defaultdict(list)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = str(path.relative_to(root))
        suffix = _suffix(path)
        if path.stat().st_size == 0:
            items.append(StudyItem(_key(rel), "failed", [path], rel, reason="empty file (0 bytes)"))
        elif suffix in NIFTI_SUFFIXES:
            items.append(StudyItem(_key(rel), "nifti", [path], rel))
        elif suffix in IMAGE_SUFFIXES_2D:
            items.append(StudyItem(_key(rel), "image_2d", [path], rel))
        else:
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True)
            except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, AttributeError) as err:
                items.append(StudyItem(_key(rel), "failed", [path], rel, reason=f"not a DICOM or image file ({err})"))
                continue
            if sop_uid(ds) == SEG_SOP_CLASS or "PixelData" not in ds and "Rows" not in ds:
                continue  # our own SEG outputs or non-image objects (reports, presentation states)
            study = str(ds.get("StudyInstanceUID", "") or "")
            uid = str(ds.get("SeriesInstanceUID", "") or "")
            if study and uid:
                series[(study, uid)].append((path, ds))
            else:  # blank UIDs: one group per folder and series signature (the study UID, when present, too)
                series[("", str(path.parent.relative_to(root)), study, uid, *_signature(ds))].append((path, ds))
    for group, members in series.items():
        missing = _missing_uids(*group[2:4]) if group[0] == "" else ""
        study_key = _key("no-uid", *group[1:]) if missing else _key(*group)
        members.sort(key=lambda m: (int(getattr(m[1], "InstanceNumber", 0) or 0), str(m[0])))
        first_path, first = members[0]
        rel = str(first_path.parent.relative_to(root) / f"series_{study_key[:8]}")
        grouped = f"from the {len(members)} file(s) in one folder sharing {', '.join(SERIES_SIGNATURE)}"
        if _is_rgb_2d(first):
            for path, ds in members:
                frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
                prel = str(path.relative_to(root))
                instance = str(ds.get("SOPInstanceUID", "") or "") or prel
                for frame in range(frames) if frames > 1 else [None]:
                    key = _key(*(group if not missing else (study_key,)), instance, str(frame))
                    name = prel if frame is None else f"{prel}_frame{frame:04d}"
                    notes = missing and f"{missing} blank in the files; each image segmented, {grouped}"
                    info = {"modality": str(ds.get("Modality", "")), "notes": notes}
                    items.append(StudyItem(key, "dicom_2d", [path], name, frame=frame, info=info))
            continue
        files = [p for p, _ in members]
        info = {
            "modality": str(getattr(first, "Modality", "")),
            "image_type": list(getattr(first, "ImageType", [])),
            "orientation": _orientation(first),
            "n_slices": len(members),
            "series_description": str(getattr(first, "SeriesDescription", "")),
            "notes": missing and f"{missing} blank in the files; series formed {grouped}",
        }
        reason = rules.reason_to_skip(info["modality"], info["image_type"], info["orientation"], info["n_slices"])
        kind = "skipped" if reason else "dicom_series"
        items.append(StudyItem(study_key, kind, files, rel, reason=reason, info=info))
    return sorted(items, key=lambda i: (i.relpath, i.key))
