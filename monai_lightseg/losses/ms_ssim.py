"""``1 - MS-SSIM`` between predicted probabilities and a binary / one-hot target: MONAI's ``compute_ms_ssim``,
computed with a separable Gaussian window."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MultiScaleSSIMLoss", "DEFAULT_MS_SSIM", "ms_ssim", "min_side"]

_WEIGHTS_5 = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, MONAI's default
#: per spatial_dims: (kernel_size, weights). MONAI's 2D default (11, five scales) needs > 160 px per side
#: (it accepts 256^2 training crops); in 3D three scales with a 7^3 kernel fit 64^3 crops (MONAI requires
#: side // (len(weights) - 1)^2 > kernel_size - 1, i.e. > 24 voxels).
DEFAULT_MS_SSIM = {2: (11, _WEIGHTS_5), 3: (7, tuple(w / sum(_WEIGHTS_5[:3]) for w in _WEIGHTS_5[:3]))}


def min_side(kernel_size: int, num_scales: int) -> int:
    """The smallest spatial side MS-SSIM accepts: the window must fit the image after ``num_scales - 1`` 2x
    poolings. (MONAI checks ``side // (num_scales - 1)^2 > kernel_size - 1``, the same bound for 3 and 5 scales
    but too loose for 2 or 6 and too strict for 4.)"""
    return kernel_size * 2 ** (num_scales - 1)


def _gaussian_1d(kernel_size: int, sigma: float) -> torch.Tensor:
    """MONAI's 1D Gaussian window (``monai.metrics.regression._gaussian_kernel``), normalised to sum 1."""
    dist = torch.arange(start=(1 - kernel_size) / 2, end=(1 + kernel_size) / 2, step=1)
    gauss = torch.exp(-torch.pow(dist / sigma, 2) / 2)
    return gauss / gauss.sum()


def _filter(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Valid (unpadded) Gaussian filtering of every channel of (N, C, *S): one depthwise 1D convolution per
    spatial axis, which equals MONAI's convolution with the full n-D window (an outer product of the 1D one)."""
    spatial_dims, channels, k = x.dim() - 2, x.shape[1], window.numel()
    conv = F.conv2d if spatial_dims == 2 else F.conv3d
    for axis in range(spatial_dims):
        shape = [1] * spatial_dims
        shape[axis] = k
        x = conv(x, window.reshape(1, 1, *shape).expand(channels, 1, *shape), groups=channels)
    return x


def ms_ssim(
    y_pred: torch.Tensor,
    y: torch.Tensor,
    kernel_size: int = 11,
    kernel_sigma: float = 1.5,
    weights: Sequence[float] = _WEIGHTS_5,
    data_range: float = 1.0,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """MS-SSIM per batch item, (N, 1), of (N, C, *S) inputs with 2 or 3 spatial axes: the arithmetic of MONAI
    1.6's ``monai.metrics.regression.compute_ms_ssim`` with a Gaussian kernel (per scale: local means, variances
    and covariance under the window; contrast sensitivity clipped at 0 at every scale but the last, where SSIM
    is; a 2^n average pool between scales; the weighted product), tested equal to it for float32 inputs.
    Inputs are cast to float32 and the computation runs outside autocast (MONAI pools half inputs in half).
    Raises ``ValueError`` when a side is below :func:`min_side`.

    Why not call MONAI: it filters with the full n-D window as one grouped convolution (7^3 = 343 taps in the
    3D bundles), and oneDNN's backward of that depthwise 3D convolution made the loss 35-40 % of a 3D training
    step on CPU. The Gaussian window is separable, so one 1D convolution per axis (21 taps) computes the same
    values: the filter's forward + backward on a (4, 3, 40, 56, 40) batch was 7.6x faster, the whole loss 4-10x
    (``benchmarks/benchmark_ms_ssim.py`` times the loss and the 3D training steps).
    """
    if y.shape != y_pred.shape:
        raise ValueError(
            f"ms_ssim: y_pred and y must have the same shape, got {tuple(y_pred.shape)} and {tuple(y.shape)}."
        )
    if y_pred.dim() not in (4, 5):
        raise ValueError(f"ms_ssim: expected (N, C, H, W) or (N, C, D, H, W), got shape {tuple(y_pred.shape)}.")
    smallest = min_side(kernel_size, len(weights))
    if min(y_pred.shape[2:]) < smallest:
        raise ValueError(
            f"ms_ssim: spatial size {tuple(y_pred.shape[2:])} is too small for {len(weights)} scales with kernel "
            f"{kernel_size}; every side must be >= {smallest} (use fewer weights or a smaller kernel_size)."
        )
    # float32 throughout, also under autocast (AMP): the variances are differences of nearly equal local means
    with torch.autocast(device_type=y_pred.device.type, enabled=False):
        return _ms_ssim(y_pred.float(), y.float(), kernel_size, kernel_sigma, weights, data_range, k1, k2)


def _ms_ssim(y_pred, y, kernel_size, kernel_sigma, weights, data_range, k1, k2) -> torch.Tensor:
    window = _gaussian_1d(kernel_size, kernel_sigma).to(y_pred.device)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    avg_pool = F.avg_pool2d if y_pred.dim() == 4 else F.avg_pool3d
    channels = y_pred.shape[1]
    scales = []
    for scale in range(len(weights)):
        maps = [y_pred, y, y_pred * y_pred, y * y, y_pred * y]
        if y_pred.dim() == 4:  # 2D: one call on the maps stacked along channels (a 1-channel call is ~10x slower)
            mu_x, mu_y, mu_xx, mu_yy, mu_xy = torch.split(_filter(torch.cat(maps, dim=1), window), channels, dim=1)
        else:  # 3D: one call per map (oneDNN's depthwise 3D convolution slows more than linearly with channels)
            mu_x, mu_y, mu_xx, mu_yy, mu_xy = (_filter(t, window) for t in maps)
        sigma_x, sigma_y, sigma_xy = mu_xx - mu_x * mu_x, mu_yy - mu_y * mu_y, mu_xy - mu_x * mu_y
        cs = (2 * sigma_xy + c2) / (sigma_x + sigma_y + c2)
        if scale < len(weights) - 1:
            scales.append(torch.relu(cs.flatten(1).mean(1)))
            y_pred, y = avg_pool(y_pred, kernel_size=2), avg_pool(y, kernel_size=2)
        else:
            ssim = ((2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)) * cs
            scales.append(torch.relu(ssim.flatten(1).mean(1)))
    weights_tensor = torch.tensor(weights, device=y_pred.device, dtype=torch.float)
    return torch.prod(torch.stack(scales) ** weights_tensor.view(-1, 1), dim=0).unsqueeze(1)


class MultiScaleSSIMLoss(nn.Module):
    """``1 - mean(MS-SSIM(probabilities, target))`` with ``data_range = 1`` (:func:`ms_ssim`, MONAI's
    arithmetic with a separable window).

    Inputs are probabilities (apply sigmoid/softmax first) and a target of the same shape (N, C, *S).
    Note (MONAI's definition): per-scale contrast terms are clipped at 0 before the weighted product,
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
        self.min_side = min_side(self.kernel_size, len(self.weights))

    def forward(self, probabilities: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if probabilities.dim() != self.spatial_dims + 2:
            raise ValueError(
                f"MultiScaleSSIMLoss: expected (N, C) + {self.spatial_dims} spatial axes, got shape "
                f"{tuple(probabilities.shape)}."
            )
        small = [s for s in probabilities.shape[2:] if s < self.min_side]
        if small:
            raise ValueError(
                f"MultiScaleSSIMLoss: spatial size {tuple(probabilities.shape[2:])} is too small for "
                f"{len(self.weights)} scales with kernel {self.kernel_size}; every side must be >= {self.min_side} "
                "(use fewer weights or a smaller kernel_size)."
            )
        value = ms_ssim(
            probabilities,
            target.to(probabilities.dtype),
            kernel_size=self.kernel_size,
            kernel_sigma=self.kernel_sigma,
            weights=self.weights,
        )
        return 1.0 - value.mean()
