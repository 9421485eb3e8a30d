"""Geometry that does not depend on rounding: an exactly orthonormal direction matrix, and a ``Spacing`` whose
output grid is tolerant to header noise far below a voxel."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.config import DtypeLike
from monai.data import MetaTensor
from monai.data.utils import to_affine_nd, zoom_affine
from monai.transforms import InvertibleTransform, Spacing
from monai.utils import TraceKeys, convert_data_type

__all__ = ["OrthonormalizeAffine", "StableSpacing", "stable_shape_offset", "tie_tolerant_round"]


class OrthonormalizeAffine(InvertibleTransform):
    """Replace the rotation part of a ``MetaTensor``'s affine by the nearest orthonormal matrix (polar
    decomposition), keeping each axis' spacing (column norm) and the origin; voxels are not touched.

    Why: file formats round the direction cosines differently (NIfTI's sform holds float32, a DICOM series
    10-16 digit strings), so one volume read from either has a direction that is orthonormal only to ~1e-7.
    MONAI's ``Spacing`` keeps the input's origin when its output grid's lowest corner maps to within 1e-8 of
    it and centres the grid otherwise; that rounding then decides between two grids half an output voxel
    apart, and the masks of the DICOM and NIfTI copies of one oblique volume differed on 2-3 % of voxels.
    Orthonormal to float64 precision, both copies take the same grid (tested: identical masks). MONAI has no
    transform for this. Put it before ``Orientation``/``Spacing``.

    Inverse: restores the original affine (the voxels are unchanged), so ``Invertd`` gives masks on the
    source's own geometry.

    Shapes: (C, *S), S of any length; the output is the input with a new affine.

    Args:
        max_deviation: the largest entry of ``R^T R - I`` accepted, R the direction with unit columns. A
            larger one is a sheared or broken header, not rounding: ``ValueError`` names the file.

    Example::

        >>> img = MetaTensor(torch.zeros(1, 4, 4, 4), affine=torch.diag(torch.tensor([0.8, 0.9, 2.5, 1.0])))
        >>> OrthonormalizeAffine()(img).affine.diagonal()
        tensor([0.8000, 0.9000, 2.5000, 1.0000], dtype=torch.float64)
    """

    def __init__(self, max_deviation: float = 1e-4) -> None:
        if not max_deviation > 0:
            raise ValueError(f"OrthonormalizeAffine: max_deviation must be positive, got {max_deviation!r}.")
        self.max_deviation = max_deviation

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if not isinstance(img, MetaTensor):
            return img  # no geometry to correct
        original = img.affine.clone().to(torch.float64)
        d = original.shape[0] - 1
        matrix = original[:d, :d]
        spacing = torch.linalg.vector_norm(matrix, dim=0)
        if not torch.all(spacing > 0):
            raise ValueError(f"{self._name(img)}: the affine has a zero-length axis, spacing {spacing.tolist()}.")
        direction = matrix / spacing
        deviation = float((direction.T @ direction - torch.eye(d, dtype=torch.float64)).abs().max())
        if deviation > self.max_deviation:
            raise ValueError(
                f"{self._name(img)}: the direction matrix is not orthonormal (R^T R - I up to {deviation:.2g}, "
                f"more than rounding's {self.max_deviation:g}); the header describes a sheared grid."
            )
        u, _, vh = torch.linalg.svd(direction)
        corrected = original.clone()
        corrected[:d, :d] = (u @ vh) * spacing
        # a new MetaTensor on the same voxels (no copy of a large volume), with its own metadata
        out = MetaTensor(img.as_tensor(), meta=dict(img.meta), applied_operations=list(img.applied_operations))
        out.affine = corrected
        self.push_transform(out, extra_info={"original_affine": original})
        return out

    def inverse(self, data: torch.Tensor) -> torch.Tensor:
        transform = self.pop_transform(data)
        data.affine = transform[TraceKeys.EXTRA_INFO]["original_affine"]
        return data

    @staticmethod
    def _name(img: MetaTensor) -> str:
        return str(img.meta.get("filename_or_obj", "image"))


def tie_tolerant_round(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Round like ``np.round`` (half to even), but treat a value within ``tolerance`` of a half-integer as that
    half-integer, so that rounding noise cannot decide between two integers at a tie.

    Example: ``tie_tolerant_round(np.array([13.4999999, 13.5000001, 12.5]), 1e-4)`` gives ``[14., 14., 12.]``.
    """
    values = np.asarray(values, dtype=np.float64)
    half = np.floor(values) + 0.5
    return np.round(np.where(np.abs(values - half) <= tolerance, half, values))


def stable_shape_offset(
    spatial_shape: Sequence[int],
    in_affine: np.ndarray,
    out_affine: np.ndarray,
    scale_extent: bool = False,
    tolerance: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """MONAI's ``compute_shape_offset`` (same arithmetic, same results away from ties) with both of its discrete
    decisions made tolerant to sub-voxel noise:

    - the output size ``round(extent)`` rounds with :func:`tie_tolerant_round` (MONAI: ``np.round``, so an
      extent of 13.5 +- 1e-14 output voxels gives 13 or 14 slices by the last bit);
    - the output grid starts at the input corner that is lowest along every output axis when one is, to within
      ``tolerance`` output voxels (MONAI: 1e-8), else it is centred on the input.

    Args:
        spatial_shape: the input's spatial shape.
        in_affine, out_affine: (d+1, d+1) affines of the input and of the output grid (its origin is ignored).
        scale_extent: as MONAI's (extent of voxel edges instead of centres).
        tolerance: in output voxels.

    Returns:
        (output shape as ints, output origin in world coordinates), as MONAI's function.
    """
    shape = np.array(tuple(spatial_shape), dtype=float)
    sr = len(shape)
    in_affine_ = np.asarray(to_affine_nd(sr, np.asarray(in_affine, dtype=np.float64)))
    out_affine_ = np.asarray(to_affine_nd(sr, np.asarray(out_affine, dtype=np.float64)))
    in_coords = [(-0.5, dim - 0.5) if scale_extent else (0.0, dim - 1.0) for dim in shape]
    corners = np.asarray(np.meshgrid(*in_coords, indexing="ij")).reshape((sr, -1))
    corners = np.concatenate((corners, np.ones_like(corners[:1])))
    try:
        corners_out = np.linalg.solve(out_affine_, in_affine_) @ corners
    except np.linalg.LinAlgError as err:
        raise ValueError(f"Affine {out_affine_} is not invertible") from err
    corners = in_affine_ @ corners
    all_dist = corners_out[:-1].copy()
    corners_out = corners_out[:-1] / corners_out[-1]
    extent = np.ptp(corners_out, axis=1) if scale_extent else np.ptp(corners_out, axis=1) + 1.0
    out_shape = tie_tolerant_round(extent, tolerance)
    offset = None
    for i in range(corners.shape[1]):
        if np.all(np.min(all_dist - all_dist[:, i : i + 1], 1) >= -tolerance):
            offset = corners[:-1, i]  # this corner is the lowest along every output axis: the grid starts there
            break
    if offset is None:  # otherwise centre the output grid on the input
        offset = in_affine_[:-1, :-1] @ (shape / 2.0) + in_affine_[:-1, -1] - out_affine_[:-1, :-1] @ (out_shape / 2.0)
    if scale_extent:
        in_offset = np.append(0.5 * (shape / out_shape - 1.0), 1.0)
        offset = np.abs((in_affine_ @ in_offset / in_offset[-1])[:-1]) * np.sign(offset)
    return out_shape.astype(int), offset


class StableSpacing(Spacing):
    """MONAI's ``Spacing`` whose output grid does not depend on header noise far below a voxel.

    Why: one volume read from two formats (float32 NIfTI, decimal-string DICOM) or on two machines (other BLAS
    kernels) has affines that differ by ~1e-8 relative. MONAI's ``Spacing`` rounds the output size with
    ``np.round`` and places the grid by a 1e-8 test, so where a volume's extent falls on a tie (6 slices of
    2.5 mm resampled to 1 mm span 13.5 output voxels) that noise chose 13 or 14 slices, and the two masks of one
    study differed on ~1 % of voxels. Here both decisions are tolerant (:func:`stable_shape_offset`); everything
    else, including ``inverse`` (so ``Invertd`` works), is MONAI's. Away from ties the grid is MONAI's to the bit.

    Not supported (``ValueError`` at construction): ``min_pixdim``, ``max_pixdim``, ``recompute_affine``.

    Shapes: (C, *S) -> (C, *S'), S of length 2 or 3, S' from the spacing.

    Args:
        pixdim, diagonal, mode, padding_mode, align_corners, dtype, scale_extent, lazy: as ``Spacing``.
        tie_tolerance: in output voxels (default 1e-4): an extent within it of a half-integer counts as the tie.

    Example::

        >>> img = MetaTensor(torch.rand(1, 24, 20, 6), affine=torch.diag(torch.tensor([0.8, 0.9, 2.5, 1.0])))
        >>> StableSpacing(pixdim=(1.0, 1.0, 1.0))(img).shape  # 2D: pixdim=(1.0, 1.0) on (C, H, W)
        torch.Size([1, 19, 18, 14])
    """

    def __init__(
        self,
        pixdim: Sequence[float] | float | np.ndarray,
        diagonal: bool = False,
        mode: str | int = "bilinear",
        padding_mode: str = "border",
        align_corners: bool = False,
        dtype: DtypeLike = np.float64,
        scale_extent: bool = False,
        tie_tolerance: float = 1e-4,
        lazy: bool = False,
        **unsupported: object,
    ) -> None:
        if unsupported:
            raise ValueError(
                f"StableSpacing does not support {sorted(unsupported)}; use MONAI's Spacing for those options."
            )
        if not 0 < tie_tolerance <= 0.01:
            raise ValueError(f"StableSpacing: tie_tolerance must be in (0, 0.01] output voxels, got {tie_tolerance}.")
        super().__init__(
            pixdim, diagonal=diagonal, mode=mode, padding_mode=padding_mode, align_corners=align_corners,
            dtype=dtype, scale_extent=scale_extent, lazy=lazy,
        )  # fmt: skip
        self.tie_tolerance = tie_tolerance

    def __call__(
        self,
        data_array: torch.Tensor,
        mode: str | int | None = None,
        padding_mode: str | None = None,
        align_corners: bool | None = None,
        dtype: DtypeLike = None,
        scale_extent: bool | None = None,
        output_spatial_shape: Sequence[int] | np.ndarray | int | None = None,
        lazy: bool | None = None,
    ) -> torch.Tensor:
        in_shape = data_array.peek_pending_shape() if isinstance(data_array, MetaTensor) else data_array.shape[1:]
        sr = len(in_shape)
        if sr <= 0:
            raise ValueError(f"data_array must have at least one spatial dimension, got {in_shape}.")
        if isinstance(data_array, MetaTensor):
            in_affine = to_affine_nd(sr, convert_data_type(data_array.peek_pending_affine(), np.ndarray)[0])
        else:
            in_affine = np.eye(sr + 1, dtype=np.float64)  # as MONAI: a plain tensor is taken on the identity grid
        out_d = self.pixdim[:sr].copy()
        if out_d.size < sr:
            out_d = np.append(out_d, [out_d[-1]] * (sr - out_d.size))
        new_affine = zoom_affine(in_affine, out_d, diagonal=self.diagonal)
        scale_extent = self.scale_extent if scale_extent is None else scale_extent
        shape, offset = stable_shape_offset(in_shape, in_affine, new_affine, scale_extent, self.tie_tolerance)
        new_affine[:sr, -1] = offset[:sr]
        return self.sp_resample(
            data_array,
            dst_affine=torch.as_tensor(new_affine),
            spatial_size=list(shape) if output_spatial_shape is None else output_spatial_shape,
            mode=mode,
            padding_mode=padding_mode,
            align_corners=align_corners,
            dtype=dtype,
            lazy=self.lazy if lazy is None else lazy,
        )
