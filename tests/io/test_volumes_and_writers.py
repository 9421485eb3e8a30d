"""NIfTI reading refuses 4D and NaN volumes; mask writers keep the source grid and write atomically."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image

from monai_lightseg.io.errors import StudyError
from monai_lightseg.io.volumes import read_nifti
from monai_lightseg.io.writers import atomic_write, write_nifti_mask, write_png_mask


def _affine() -> np.ndarray:
    a = np.diag([0.8, 0.9, 2.5, 1.0])
    a[:3, :3] = np.array([[0.96, -0.28, 0], [0.28, 0.96, 0], [0, 0, 1]]) @ a[:3, :3]  # rotation times spacing
    a[:3, 3] = [-10.0, 20.0, 5.5]
    return a


def test_nifti_mask_has_the_source_affine_exactly(tmp_path) -> None:
    src = tmp_path / "ct.nii.gz"
    nib.save(nib.Nifti1Image(np.random.rand(7, 6, 5).astype(np.float32), _affine()), src)
    image = read_nifti(src)
    mask = np.zeros(tuple(reversed(image.GetSize())), np.uint8)
    mask[2, 1:3, 2:4] = 1
    out = write_nifti_mask(mask, image, tmp_path / "out" / "ct_mask.nii.gz")
    back = nib.load(out)
    np.testing.assert_allclose(back.affine, nib.load(src).affine, atol=1e-5)
    assert back.shape == (7, 6, 5)
    assert np.asarray(back.dataobj)[2:4, 1:3, 2].sum() == 4  # nibabel (x, y, z) vs numpy mask (z, y, x)
    with pytest.raises(ValueError, match="mask shape"):
        write_nifti_mask(mask[:-1], image, tmp_path / "bad.nii.gz")


def test_read_nifti_refuses_4d_nan_and_garbage(tmp_path) -> None:
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 3), np.float32), np.eye(4)), tmp_path / "dwi.nii.gz")
    with pytest.raises(StudyError, match=r"dwi.nii.gz: 4D NIfTI"):
        read_nifti(tmp_path / "dwi.nii.gz")
    vol = np.zeros((4, 4, 4), np.float32)
    vol[1, 1, 1] = np.nan
    nib.save(nib.Nifti1Image(vol, np.eye(4)), tmp_path / "nan.nii.gz")
    with pytest.raises(StudyError, match="1 voxels are NaN or infinite"):
        read_nifti(tmp_path / "nan.nii.gz")
    (tmp_path / "junk.nii").write_bytes(b"not a nifti")
    with pytest.raises(StudyError, match="junk.nii: unreadable NIfTI"):
        read_nifti(tmp_path / "junk.nii")


@pytest.mark.parametrize("name", ["cut.nii.gz", "cut.nii"])
def test_read_nifti_refuses_a_truncated_file(name: str, tmp_path) -> None:
    """ITK reads a truncated NIfTI and zero-fills what is missing; that must be an error, not a volume."""
    vol = np.random.default_rng(0).random((30, 30, 30)).astype(np.float32)
    nib.save(nib.Nifti1Image(vol, np.eye(4)), tmp_path / f"whole_{name}")
    data = (tmp_path / f"whole_{name}").read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(StudyError, match=f"{name}: (truncated or corrupt|unreadable) NIfTI"):
        read_nifti(tmp_path / name)


def test_png_mask_is_0_255_at_the_given_size(tmp_path) -> None:
    mask = np.zeros((288, 384), np.uint8)
    mask[10:20, 30:40] = 1
    out = write_png_mask(mask, tmp_path / "m.png")
    im = Image.open(out)
    assert im.size == (384, 288) and im.mode == "L" and set(np.unique(np.asarray(im))) == {0, 255}


def test_atomic_write_leaves_nothing_on_failure(tmp_path) -> None:
    target = tmp_path / "x.nii.gz"
    target.write_bytes(b"previous")

    def crash(tmp):
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_write(target, crash, suffix=".nii.gz")
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["x.nii.gz"]


def test_sitk_reference_round_trip_keeps_direction(tmp_path) -> None:
    image = sitk.Image(5, 6, 7, sitk.sitkInt16)
    image.SetSpacing((0.8, 0.9, 2.5))
    image.SetOrigin((-10.0, 20.0, 5.5))
    image.SetDirection((0.96, -0.28, 0, 0.28, 0.96, 0, 0, 0, 1))
    out = write_nifti_mask(np.ones((7, 6, 5), np.uint8), image, tmp_path / "m.nii.gz")
    back = sitk.ReadImage(str(out))
    assert back.GetSize() == image.GetSize()
    np.testing.assert_allclose(back.GetSpacing(), image.GetSpacing(), atol=1e-6)
    np.testing.assert_allclose(back.GetOrigin(), image.GetOrigin(), atol=1e-4)
    np.testing.assert_allclose(back.GetDirection(), image.GetDirection(), atol=1e-4)
