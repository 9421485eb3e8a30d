"""Clinical IO: finding studies, reading them with geometry checks, writing masks (NIfTI, PNG, DICOM SEG)."""

from monai_lightseg.io.dicom_seg import write_dicom_seg
from monai_lightseg.io.dicom_series import DicomVolume, read_dicom_series
from monai_lightseg.io.discovery import SeriesRules, StudyItem, discover
from monai_lightseg.io.errors import StudyError
from monai_lightseg.io.photographs import to_binary_mask, to_rgb8
from monai_lightseg.io.volumes import read_nifti
from monai_lightseg.io.writers import atomic_write, write_nifti_mask, write_png_mask

__all__ = [
    "DicomVolume",
    "SeriesRules",
    "StudyError",
    "StudyItem",
    "atomic_write",
    "discover",
    "read_dicom_series",
    "read_nifti",
    "to_binary_mask",
    "to_rgb8",
    "write_dicom_seg",
    "write_nifti_mask",
    "write_png_mask",
]
