"""Read one DICOM series into a volume with its geometry, refusing anything that would be silently wrong.

SimpleITK and ITK skip a missing or unreadable slice with a warning and average the spacing; MONAI's
PydicomReader merges two series found in one folder. So the file list is decided here, from pydicom headers:
exactly the files of one series, sorted along the slice normal, checked for one size, one orientation, no
duplicate positions and even spacing; only then does SimpleITK's ``ImageSeriesReader`` read exactly that
list, and the result is checked again against the headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk

from monai_lightseg.io.errors import StudyError

__all__ = ["DicomVolume", "read_dicom_series", "slice_positions"]

#: relative tolerance on slice spacing (1 %) and absolute tolerances in mm / direction cosines
SPACING_RTOL = 0.01
POSITION_ATOL_MM = 1e-3
ORIENTATION_ATOL = 1e-4


@dataclass
class DicomVolume:
    """A series read as a volume: ``image`` (SimpleITK, x = columns, y = rows, z = slices) and the pydicom
    headers of its slices in the same z order (what a DICOM SEG must reference, slice for slice)."""

    image: sitk.Image
    datasets: list[pydicom.Dataset]
    files: list[Path]


def _orientation(ds: pydicom.Dataset, path: Path) -> np.ndarray:
    iop = getattr(ds, "ImageOrientationPatient", None)
    if iop is None or len(iop) != 6:
        raise StudyError(f"{path.name}: no ImageOrientationPatient; cannot place the slice in space.")
    return np.asarray([float(v) for v in iop])


def slice_positions(datasets: Sequence[pydicom.Dataset], files: Sequence[Path]) -> np.ndarray:
    """Position of each slice along the slice normal (mm), from ImagePositionPatient and the orientation."""
    iop = _orientation(datasets[0], files[0])
    normal = np.cross(iop[:3], iop[3:])
    out = []
    for ds, path in zip(datasets, files):
        ipp = getattr(ds, "ImagePositionPatient", None)
        if ipp is None or len(ipp) != 3:
            raise StudyError(f"{path.name}: no ImagePositionPatient; cannot place the slice in space.")
        out.append(float(np.dot(normal, [float(v) for v in ipp])))
    return np.asarray(out)


def _check_consistent(datasets: Sequence[pydicom.Dataset], files: Sequence[Path]) -> None:
    first, f0 = datasets[0], files[0]
    iop0 = _orientation(first, f0)
    for ds, path in zip(datasets[1:], files[1:]):
        if (ds.Rows, ds.Columns) != (first.Rows, first.Columns):
            raise StudyError(
                f"mixed slice sizes in one series: {f0.name} is {first.Rows}x{first.Columns}, "
                f"{path.name} is {ds.Rows}x{ds.Columns}."
            )
        if not np.allclose(_orientation(ds, path), iop0, atol=ORIENTATION_ATOL):
            raise StudyError(f"mixed orientations in one series: {path.name} differs from {f0.name}.")
        spacing = [float(v) for v in getattr(ds, "PixelSpacing", [1, 1])]
        spacing0 = [float(v) for v in getattr(first, "PixelSpacing", [1, 1])]
        if not np.allclose(spacing, spacing0, rtol=SPACING_RTOL):
            raise StudyError(f"mixed pixel spacings in one series: {path.name} {spacing}, {f0.name} {spacing0}.")


def _check_spacing(positions: np.ndarray, files: Sequence[Path]) -> float:
    """Sorted positions must be distinct and evenly spaced; returns the spacing."""
    gaps = np.diff(positions)
    duplicate = np.flatnonzero(gaps < POSITION_ATOL_MM)
    if duplicate.size:
        i = int(duplicate[0])
        raise StudyError(
            f"duplicate slice position {positions[i]:.3f} mm: {files[i].name} and {files[i + 1].name} "
            "(two acquisitions mixed, or a repeated file)."
        )
    spacing = float(np.median(gaps))
    uneven = np.flatnonzero(np.abs(gaps - spacing) > max(SPACING_RTOL * spacing, POSITION_ATOL_MM))
    if uneven.size:
        i = int(uneven[0])
        kind = "a missing slice" if abs(gaps[i] / spacing - round(gaps[i] / spacing)) < 0.05 else "uneven spacing"
        raise StudyError(
            f"{kind}: gap of {gaps[i]:.3f} mm between {files[i].name} and {files[i + 1].name}, "
            f"where the series' spacing is {spacing:.3f} mm."
        )
    return spacing


def read_dicom_series(files: Sequence[str | Path]) -> DicomVolume:
    """Read exactly ``files`` (one series) as a volume sorted along the slice normal.

    Raises:
        StudyError: a header or pixel data cannot be read, sizes/orientations/pixel spacings differ,
            two slices share a position, the spacing is uneven or a slice is missing, or SimpleITK's
            result disagrees with the headers. The message names the file(s).
    """
    paths = [Path(f) for f in files]
    if not paths:
        raise StudyError("empty series: no files.")
    datasets = []
    for path in paths:
        try:
            datasets.append(pydicom.dcmread(path, stop_before_pixels=True))
        except Exception as err:  # pydicom raises several types for broken files
            raise StudyError(f"{path.name}: unreadable DICOM header ({type(err).__name__}: {err}).") from err
    series = {str(getattr(ds, "SeriesInstanceUID", "")) for ds in datasets}
    if len(series) != 1:
        raise StudyError(f"{len(series)} series in one file list; read each series separately.")
    _check_consistent(datasets, paths)
    positions = slice_positions(datasets, paths)
    order = np.argsort(positions, kind="stable")
    datasets = [datasets[i] for i in order]
    paths = [paths[i] for i in order]
    positions = positions[order]
    if len(paths) > 1:
        _check_spacing(positions, paths)
    for path in paths:  # decode every slice now: a truncated file must fail here, not be skipped by ITK
        try:
            pydicom.dcmread(path).pixel_array
        except Exception as err:
            raise StudyError(f"{path.name}: pixel data cannot be decoded ({type(err).__name__}: {err}).") from err
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(p) for p in paths])
    try:
        image = reader.Execute()
    except RuntimeError as err:
        raise StudyError(f"SimpleITK could not read the series ({err}).") from err
    if image.GetSize()[2] != len(paths):
        raise StudyError(f"SimpleITK read {image.GetSize()[2]} slices from {len(paths)} files.")
    return DicomVolume(image=image, datasets=datasets, files=paths)
