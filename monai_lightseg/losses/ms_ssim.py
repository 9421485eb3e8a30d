"""``1 - MS-SSIM`` between predicted probabilities and a binary / one-hot target, on MONAI's ``compute_ms_ssim``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.metrics.regression import compute_ms_ssim
from torch import nn

__all__ = ["MultiScaleSSIMLoss", "DEFAULT_MS_SSIM"]

_WEIGHTS_5 = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, MONAI's default
#: per spatial_dims: (kernel_size, weights). MONAI's 2D default (11, five scales) needs > 160 px per side
#: (it accepts 256^2 training crops); in 3D three scales with a 7^3 kernel fit 64^3 crops (MONAI requires
#: side // (len(weights) - 1)^2 > kernel_size - 1, i.e. > 24 voxels).
DEFAULT_MS_SSIM = {2: (11, _WEIGHTS_5), 3: (7, tuple(w / sum(_WEIGHTS_5[:3]) for w in _WEIGHTS_5[:3]))}


class MultiScaleSSIMLoss(nn.Module):
    """``1 - mean(MS-SSIM(probabilities, target))`` with ``data_range = 1``.

    Inputs are probabilities (apply sigmoid/softmax first) and a target of the same shape (N, C, *S).
    Note (MONAI's implementation): per-scale contrast terms are clipped at 0 before the weighted product,
    so a prediction anti-correlated with the target at some scale gives MS-SSIM 0 and no gradient from
    this term; combine it with BCE and Dice (:class:`BceDiceMsSsimLoss`), as seed B does.

    Args:
        spatial_dims: 2 or 3.
        kernel_size, weights: Gaussian window and per-scale weights; ``None`` takes ``DEFAULT_MS_SSIM``.
        kernel_sigma: Gaussian sigma.

    Raises:
        ValueError: at call time, when a spatial side is too small for the scales and kernel, naming the
            minimum side.

    Examples::

        >>> MultiScaleSSIMLoss(2)(torch.rand(2, 1, 256, 256), torch.ones(2, 1, 256, 256)).shape
        torch.Size([])
        >>> MultiScaleSSIMLoss(3)(torch.rand(1, 3, 64, 64, 64), torch.zeros(1, 3, 64, 64, 64)).shape
        torch.Size([])
    """

    def __init__(
        self,
        spatial_dims: int,
        kernel_size: int | None = None,
        weights: Sequence[float] | None = None,
        kernel_sigma: float = 1.5,
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"MultiScaleSSIMLoss: spatial_dims must be 2 or 3, got {spatial_dims!r}.")
        default_kernel, default_weights = DEFAULT_MS_SSIM[spatial_dims]
        self.spatial_dims = spatial_dims
        self.kernel_size = kernel_size if kernel_size is not None else default_kernel
        self.weights = tuple(weights) if weights is not None else default_weights
        self.kernel_sigma = kernel_sigma
        divisor = max(1, len(self.weights) - 1) ** 2
        self.min_side = (self.kernel_size - 1) * divisor + divisor  # smallest side MONAI accepts

    def forward(self, probabilities: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        small = [s for s in probabilities.shape[2:] if s < self.min_side]
        if small:
            raise ValueError(
                f"MultiScaleSSIMLoss: spatial size {tuple(probabilities.shape[2:])} is too small for "
                f"{len(self.weights)} scales with kernel {self.kernel_size}; every side must be >= {self.min_side} "
                "(use fewer weights or a smaller kernel_size)."
            )
        value = compute_ms_ssim(
            probabilities,
            target.to(probabilities.dtype),
            spatial_dims=self.spatial_dims,
            data_range=1.0,
            kernel_size=self.kernel_size,
            kernel_sigma=self.kernel_sigma,
            weights=self.weights,
        )
        return 1.0 - value.mean()
