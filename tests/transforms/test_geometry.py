"""OrthonormalizeAffine: exact orthonormal direction, spacing/origin/voxels kept, invertible, sheared headers refused,
and the reason it exists: copies of one oblique volume whose directions differ by rounding get one Spacing grid.
StableSpacing: MONAI's grid to the bit away from rounding ties, one grid at a tie whatever the header noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from monai.data import MetaTensor
from monai.data.utils import compute_shape_offset, zoom_affine
from monai.transforms import Compose, EnsureChannelFirstd, Invertd, Spacing, Spacingd

from monai_lightseg.transforms import (
    OrthonormalizeAffine,
    OrthonormalizeAffined,
    StableSpacing,
    StableSpacingd,
    stable_shape_offset,
    tie_tolerant_round,
)


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


def test_tie_tolerant_round() -> None:
    values = np.array([13.5 - 1e-9, 13.5, 13.5 + 1e-9, 12.5 - 5e-5, 12.5 + 5e-5, 13.5 - 2e-4, 13.5 + 2e-4, 7.2, -0.5])
    expected = [14, 14, 14, 12, 12, 13, 14, 7, -0.0]  # ties round half to even, as np.round does
    np.testing.assert_array_equal(tie_tolerant_round(values, 1e-4), expected)


@pytest.mark.parametrize("scale_extent", [False, True])
def test_stable_shape_offset_is_monai_away_from_ties(scale_extent: bool) -> None:
    """Random grids (oblique, permuted and flipped axes, 2D and 3D, any spacing): the same shape and origin as
    MONAI's compute_shape_offset, to the bit, wherever the extent is not within the tolerance of a tie."""
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(400):
        d = int(rng.integers(2, 4))
        q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        direction = q if rng.random() < 0.6 else np.eye(d)[rng.permutation(d)] * rng.choice([-1, 1], d)
        affine = np.eye(d + 1)
        affine[:d, :d] = direction * rng.uniform(0.3, 3.0, d)
        affine[:d, d] = rng.uniform(-50, 50, d)
        shape = rng.integers(2, 40, d)
        out = zoom_affine(affine, rng.uniform(0.5, 2.0, d), diagonal=False)
        monai_shape, monai_offset = compute_shape_offset(shape, affine, out, scale_extent)
        corners = np.linalg.solve(out, affine)[:d, :d] @ (np.diag(shape) - (0.0 if scale_extent else 1.0))
        extent = np.abs(corners).sum(axis=1) + (0.0 if scale_extent else 1.0)
        if np.any(np.abs(extent - np.floor(extent) - 0.5) < 1e-3):
            continue  # near a tie: the two rules may differ there by design
        shape_, offset = stable_shape_offset(shape, affine, out, scale_extent)
        np.testing.assert_array_equal(shape_, monai_shape)
        np.testing.assert_array_equal(offset, monai_offset)
        checked += 1
    assert checked > 350


@pytest.mark.parametrize("seed", range(6))
def test_stable_spacing_gives_one_grid_at_a_tie(seed: int) -> None:
    """6 slices of 2.5 mm to 1 mm: an extent of 13.5 output voxels. Header noise of 1e-7 (float32 vs decimal
    strings) made MONAI's Spacing choose 13 or 14 slices; StableSpacing gives 14 (half to even) every time and
    the same voxels to rounding."""
    voxels = torch.rand(1, 24, 20, 6, generator=torch.Generator().manual_seed(seed))
    pre = Compose([OrthonormalizeAffined(keys="image"), StableSpacingd(keys="image", pixdim=(1.0, 1.0, 1.0))])
    outs = []
    for s in (2 * seed, 2 * seed + 1):
        affine = oblique_affine(3, SPACINGS[3], noise=1e-7, seed=s)
        affine[:3, :3] *= 1 + 1e-7 * (s - seed)  # the spacings differ too
        outs.append(pre({"image": MetaTensor(voxels.clone(), affine=affine)})["image"])
    assert outs[0].shape == outs[1].shape == (1, 19, 18, 14)
    torch.testing.assert_close(outs[0].affine, outs[1].affine, rtol=0, atol=1e-5)
    torch.testing.assert_close(outs[0].as_tensor(), outs[1].as_tensor(), rtol=0, atol=1e-4)


def test_monai_spacing_splits_the_tie() -> None:
    """Why StableSpacing exists: the same tie, 1e-9 apart, gives MONAI's Spacing 13 and 14 slices."""
    shapes = set()
    for z in (2.5 - 1e-9, 2.5 + 1e-9):
        affine = torch.diag(torch.tensor([1.0, 1.0, z, 1.0], dtype=torch.float64))
        img = MetaTensor(torch.rand(1, 4, 4, 6), affine=affine)
        shapes.add(Spacing(pixdim=(1.0, 1.0, 1.0))(img).shape[-1])
        assert StableSpacing(pixdim=(1.0, 1.0, 1.0))(img).shape[-1] == 14
    assert shapes == {13, 14}


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_stable_spacing_equals_spacing_and_inverts(spatial_dims: int) -> None:
    d = spatial_dims
    keys = ["image", "label"]
    voxels = torch.rand(1, *(9, 8, 7)[:d])
    label = (voxels > 0.5).float()
    affine = oblique_affine(d, SPACINGS[d])
    pixdim = (1.1, 0.7, 1.3)[:d]
    ours = Compose([StableSpacingd(keys=keys, pixdim=pixdim, mode=("bilinear", "nearest"))])
    theirs = Compose([Spacingd(keys=keys, pixdim=pixdim, mode=("bilinear", "nearest"))])
    data = {"image": MetaTensor(voxels, affine=affine), "label": MetaTensor(label, affine=affine)}
    a, b = ours(dict(data)), theirs(dict(data))
    for k in keys:
        assert torch.equal(a[k].as_tensor(), b[k].as_tensor()) and torch.equal(a[k].affine, b[k].affine)
    a["pred"], b["pred"] = a["label"].clone(), b["label"].clone()
    back = Invertd(keys="pred", transform=ours, orig_keys="label", nearest_interp=True)(a)["pred"]
    back_monai = Invertd(keys="pred", transform=theirs, orig_keys="label", nearest_interp=True)(b)["pred"]
    assert back.shape == label.shape  # back on the source grid, as MONAI's inverse puts it
    torch.testing.assert_close(back.affine, affine, rtol=0, atol=1e-6)
    assert torch.equal(back.as_tensor(), back_monai.as_tensor())


def test_stable_spacing_refuses_what_it_does_not_support() -> None:
    with pytest.raises(ValueError, match="min_pixdim"):
        StableSpacing(pixdim=1.0, min_pixdim=0.5)
    with pytest.raises(ValueError, match="tie_tolerance"):
        StableSpacing(pixdim=1.0, tie_tolerance=0.5)
