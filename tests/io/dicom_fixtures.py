"""Small synthetic DICOM series for IO tests, written with SimpleITK (GDCM) like a scanner export would be.

Follows SimpleITK's "Dicom Series From Array" example: one file per slice, the study/series/frame-of-reference
UIDs shared, ImagePositionPatient per slice from ``TransformIndexToPhysicalPoint`` and ImageOrientationPatient
from the direction, so the geometry survives a read back exactly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk

__all__ = ["MR_IMAGE_STORAGE", "rotation_direction", "write_mr_series"]

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"


def rotation_direction(degrees_z: float = 10.0, degrees_x: float = 5.0) -> tuple[float, ...]:
    """A SimpleITK direction (row-major 3x3, columns = x, y, z axes): a rotation about z, then about x."""
    a, b = np.deg2rad(degrees_z), np.deg2rad(degrees_x)
    rz = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(b), -np.sin(b)], [0.0, np.sin(b), np.cos(b)]])
    return tuple(float(v) for v in (rx @ rz).ravel())


def _ds(values: Sequence[float]) -> str:
    return "\\".join(f"{v:.10g}" for v in values)


def write_mr_series(
    folder: str | Path,
    volume_zyx: np.ndarray,
    spacing_xyz: Sequence[float],
    origin: Sequence[float],
    direction: Sequence[float],
) -> list[Path]:
    """Write ``volume_zyx`` (slices, rows, cols; int16) as an MR series, one file per slice; files in slice order.

    ``spacing_xyz`` (mm), ``origin`` (mm, LPS) and ``direction`` (row-major 3x3) are SimpleITK's; slice ``k`` of
    the volume is file ``k`` of the result and lies at ``TransformIndexToPhysicalPoint((0, 0, k))``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    volume = sitk.GetImageFromArray(np.ascontiguousarray(volume_zyx, dtype=np.int16))
    volume.SetSpacing([float(s) for s in spacing_xyz])
    volume.SetOrigin([float(o) for o in origin])
    volume.SetDirection([float(d) for d in direction])
    d = volume.GetDirection()
    date, now = time.strftime("%Y%m%d"), time.strftime("%H%M%S")
    study_uid, series_uid, frame_uid = (pydicom.uid.generate_uid() for _ in range(3))
    series_tags = {
        "0008|0016": MR_IMAGE_STORAGE,  # SOP Class UID
        "0008|0020": date,  # Study Date
        "0008|0021": date,  # Series Date
        "0008|0030": now,  # Study Time
        "0008|0031": now,  # Series Time
        "0008|0050": "ACC0001",  # Accession Number
        "0008|0008": "ORIGINAL\\PRIMARY\\OTHER",  # Image Type
        "0008|0060": "MR",  # Modality
        "0008|0070": "monai_lightseg tests",  # Manufacturer
        "0008|0090": "Referrer^Doctor",  # Referring Physician's Name
        "0008|103e": "synthetic MR",  # Series Description
        "0010|0010": "Test^Patient",  # Patient's Name
        "0010|0020": "PID0001",  # Patient ID
        "0010|0030": "19700101",  # Patient's Birth Date
        "0010|0040": "O",  # Patient's Sex
        "0018|0015": "BRAIN",  # Body Part Examined
        "0018|0020": "SE",  # Scanning Sequence
        "0018|0021": "NONE",  # Sequence Variant
        "0018|0022": "",  # Scan Options
        "0018|0023": "2D",  # MR Acquisition Type
        "0018|0050": f"{volume.GetSpacing()[2]:.10g}",  # Slice Thickness
        "0018|0080": "500",  # Repetition Time
        "0018|0081": "15",  # Echo Time
        "0018|0091": "1",  # Echo Train Length
        "0018|0088": f"{volume.GetSpacing()[2]:.10g}",  # Spacing Between Slices
        "0020|000d": study_uid,  # Study Instance UID
        "0020|000e": series_uid,  # Series Instance UID
        "0020|0010": "1",  # Study ID
        "0020|0011": "1",  # Series Number
        "0018|5100": "HFS",  # Patient Position
        "0020|0052": frame_uid,  # Frame of Reference UID
        "0020|1040": "",  # Position Reference Indicator
        "0020|0037": _ds((d[0], d[3], d[6], d[1], d[4], d[7])),  # Image Orientation (Patient): row, column cosines
        "0028|0030": _ds((volume.GetSpacing()[1], volume.GetSpacing()[0])),  # Pixel Spacing: row, column spacing
    }
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()  # keep the UIDs set below instead of new ones per file
    files = []
    for k in range(volume.GetDepth()):
        image_slice = volume[:, :, k : k + 1]  # stays 3D: origin and full direction of slice k
        for tag, value in series_tags.items():
            image_slice.SetMetaData(tag, value)
        image_slice.SetMetaData("0008|0018", pydicom.uid.generate_uid())  # SOP Instance UID
        image_slice.SetMetaData("0020|0013", str(k + 1))  # Instance Number
        image_slice.SetMetaData("0020|0032", _ds(volume.TransformIndexToPhysicalPoint((0, 0, k))))
        path = folder / f"slice_{k:03d}.dcm"
        writer.SetFileName(str(path))
        writer.Execute(image_slice)
        files.append(path)
    return files
