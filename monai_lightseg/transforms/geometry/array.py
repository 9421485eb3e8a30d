"""Make an image's direction matrix exactly orthonormal, so that the resampling grid does not depend on rounding."""

from __future__ import annotations

import torch
from monai.data import MetaTensor
from monai.transforms import InvertibleTransform
from monai.utils import TraceKeys

__all__ = ["OrthonormalizeAffine"]


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
