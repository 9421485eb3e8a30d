"""Read NIfTI volumes with their geometry, refusing what a 3D model must not see (4D data, NaN/inf).

Fact that bites: SimpleITK's NIfTI reader (ITK 5.4) turns NaN voxels into 0 without a word, even in files
SimpleITK wrote itself, so a NaN check on its output never fires. The values are checked with nibabel,
which keeps them; the geometry comes from SimpleITK, as the writers use it.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import SimpleITK as sitk

from monai_lightseg.io.errors import StudyError

__all__ = ["read_nifti"]


def _raw_header(image: nib.spatialimages.SpatialImage):
    """The header as the file holds it: ``nib.load`` fixes a 0 voxel size to 1 (with a log line) as ITK does."""
    files = image.file_map
    with files["header" if "header" in files else "image"].get_prepare_fileobj(mode="rb") as f:
        return image.header_class.from_fileobj(f, check=False)


def read_nifti(path: str | Path) -> sitk.Image:
    """A 3D NIfTI as a SimpleITK image (spacing, origin and direction from the header, as ITK reads them).

    Raises:
        StudyError: unreadable or truncated file, not 3D (a 4D series or a 2D slice), complex or non-finite
            voxels, or a voxel size that is 0 or not finite (ITK reads such a header as 1 mm without a word, so the
            mask would carry an invented geometry).
    """
    path = Path(path)
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as err:
        raise StudyError(f"{path.name}: unreadable NIfTI ({str(err).strip().splitlines()[-1]}).") from err
    if image.GetDimension() != 3:
        raise StudyError(
            f"{path.name}: {image.GetDimension()}D NIfTI of size {image.GetSize()}; one 3D volume per file expected."
        )
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise StudyError(f"{path.name}: {image.GetNumberOfComponentsPerPixel()} components per voxel; expected 1.")
    header = nib.load(str(path))
    if header.get_data_dtype().kind == "c":
        raise StudyError(f"{path.name}: complex voxels ({header.get_data_dtype()}); a magnitude image is expected.")
    sizes = np.abs(np.asarray(_raw_header(header)["pixdim"][1:4], dtype=np.float64))
    if not (np.all(np.isfinite(sizes)) and np.all(sizes > 0)):
        raise StudyError(
            f"{path.name}: voxel size {tuple(round(float(v), 6) for v in sizes)} in its header (0 or not finite): "
            "the geometry is unknown."
        )
    try:  # ITK zero-fills a truncated file without a word (a cut .nii.gz gave 67 % zeros); nibabel refuses it
        voxels = np.asanyarray(header.dataobj)
    except (EOFError, OSError, ValueError) as err:
        raise StudyError(f"{path.name}: truncated or corrupt NIfTI ({err}).") from err
    if np.issubdtype(header.get_data_dtype(), np.floating) or header.dataobj.slope not in (1.0, None):
        bad = int(np.count_nonzero(~np.isfinite(voxels)))
        if bad:
            raise StudyError(f"{path.name}: {bad} voxels are NaN or infinite.")
    return image
