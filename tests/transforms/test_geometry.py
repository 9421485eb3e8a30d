"""OrthonormalizeAffine: exact orthonormal direction, spacing/origin/voxels kept, invertible, sheared headers refused,
and the reason it exists: copies of one oblique volume whose directions differ by rounding get one Spacing grid."""

from __future__ import annotations

import math

import pytest
import torch
from monai.data import MetaTensor
from monai.transforms import Compose, EnsureChannelFirstd, Invertd, Spacingd

from monai_lightseg.transforms import OrthonormalizeAffine, OrthonormalizeAffined


def oblique_affine(spatial_dims: int, spacing: tuple[float, ...], noise: float = 0.0, seed: int = 0) -> torch.Tensor:
    """A rotated grid with the given spacing and origin (3, -2, 5)[:d]; ``noise`` perturbs the direction entries
    the way float32 or decimal-string storage does."""
    a, b = math.radians(10), math.radians(5)
    if spatial_dims == 2:
        rot = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=torch.float64)
    else:
        f64 = {"dtype": torch.float64}
        rz = torch.tensor([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]], **f64)
        rx = torch.tensor([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]], **f64)
        rot = rz @ rx
    rot = rot + noise * torch.randn(rot.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    affine = torch.eye(spatial_dims + 1, dtype=torch.float64)
    affine[:spatial_dims, :spatial_dims] = rot * torch.tensor(spacing, dtype=torch.float64)
    affine[:spatial_dims, -1] = torch.tensor([3.0, -2.0, 5.0][:spatial_dims], dtype=torch.float64)
    return affine


SPACINGS = {2: (0.8, 0.9), 3: (0.8, 0.9, 2.5)}


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_direction_becomes_orthonormal_and_the_rest_is_kept(spatial_dims: int) -> None:
    d = spatial_dims
    original = oblique_affine(d, SPACINGS[d], noise=1e-7)
    voxels = torch.rand(1, *([7] * d))
    out = OrthonormalizeAffine()(MetaTensor(voxels.clone(), affine=original))
    matrix = out.affine[:d, :d]
    spacing = torch.linalg.vector_norm(matrix, dim=0)
    direction = matrix / spacing
    assert float((direction.T @ direction - torch.eye(d, dtype=torch.float64)).abs().max()) < 1e-14
    torch.testing.assert_close(spacing, torch.linalg.vector_norm(original[:d, :d], dim=0), rtol=1e-14, atol=0)
    assert torch.equal(out.affine[:d, -1], original[:d, -1])
    assert float((out.affine - original).abs().max()) < 1e-6  # a correction of rounding size, not a new grid
    assert torch.equal(out.as_tensor(), voxels)


def test_an_orthonormal_affine_is_unchanged_to_rounding() -> None:
    original = oblique_affine(3, SPACINGS[3])
    out = OrthonormalizeAffine()(MetaTensor(torch.zeros(1, 3, 3, 3), affine=original))
    torch.testing.assert_close(out.affine, original, rtol=0, atol=1e-15)


def test_left_handed_grid_stays_left_handed() -> None:
    original = torch.diag(torch.tensor([-2.0, 2.0, 2.0, 1.0], dtype=torch.float64))  # LAS, as samples/mri
    original[:3, :3] += 1e-8
    out = OrthonormalizeAffine()(MetaTensor(torch.zeros(1, 3, 3, 3), affine=original))
    assert torch.linalg.det(out.affine[:3, :3]) < 0
    torch.testing.assert_close(out.affine, torch.diag(torch.tensor([-2.0, 2.0, 2.0, 1.0], dtype=torch.float64)),
                               rtol=0, atol=1e-7)  # fmt: skip


def test_invertd_restores_the_original_affine() -> None:
    original = oblique_affine(3, SPACINGS[3], noise=1e-7)
    pre = Compose([OrthonormalizeAffined(keys="image"), Spacingd(keys="image", pixdim=(1.0, 1.0, 1.0))])
    data = pre({"image": MetaTensor(torch.rand(1, 9, 8, 6), affine=original)})
    data["pred"] = data["image"].clone()
    back = Invertd(keys="pred", transform=pre, orig_keys="image", nearest_interp=False)(data)["pred"]
    assert back.shape == (1, 9, 8, 6)
    assert torch.equal(back.affine, original)


def test_sheared_header_is_refused_with_the_file_name() -> None:
    sheared = torch.eye(4, dtype=torch.float64)
    sheared[0, 1] = 0.2
    img = MetaTensor(torch.zeros(1, 3, 3, 3), affine=sheared, meta={"filename_or_obj": "/studies/a/bad.nii.gz"})
    with pytest.raises(ValueError, match=r"bad\.nii\.gz.*not orthonormal"):
        OrthonormalizeAffine()(img)
    with pytest.raises(ValueError, match="max_deviation"):
        OrthonormalizeAffine(max_deviation=0)


def test_plain_tensor_passes_through() -> None:
    x = torch.rand(1, 4, 4)
    assert OrthonormalizeAffine()(x) is x


@pytest.mark.parametrize("seed", range(8))
def test_copies_differing_by_rounding_get_one_spacing_grid(seed: int) -> None:
    """Two headers of one oblique volume, as float32 NIfTI and decimal-string DICOM give them (direction entries
    apart by ~1e-7): after OrthonormalizeAffined, Spacingd gives both the same grid and the same voxels (without
    it, 2 of these 8 pairs got grids half a voxel apart). The volume avoids a rounding tie of Spacingd's output
    size, (n - 1) * spacing / pixdim + 1 = k + 0.5 (6 slices of 2.5 mm at 1 mm would be one): there the ~1e-7
    spacing difference alone decides between k and k + 1 slices, which this transform does not address."""
    voxels = torch.rand(1, 24, 20, 7, generator=torch.Generator().manual_seed(seed))
    pre = Compose([
        EnsureChannelFirstd(keys="image", channel_dim=0),
        OrthonormalizeAffined(keys="image"),
        Spacingd(keys="image", pixdim=(1.0, 1.0, 1.0), mode="bilinear"),
    ])  # fmt: skip
    outs = [
        pre({"image": MetaTensor(voxels.clone(), affine=oblique_affine(3, SPACINGS[3], noise=1e-7, seed=s))})["image"]
        for s in (2 * seed, 2 * seed + 1)
    ]
    assert outs[0].shape == outs[1].shape
    torch.testing.assert_close(outs[0].affine, outs[1].affine, rtol=0, atol=1e-5)
    torch.testing.assert_close(outs[0].as_tensor(), outs[1].as_tensor(), rtol=0, atol=1e-4)
