"""Seed B's compound loss at the training ROI sizes, MS-SSIM size checks, and the deep-supervision adapter."""

from __future__ import annotations

import pytest
import torch
from monai.losses import DiceLoss

from monai_lightseg.losses import BceDiceMsSsimLoss, MultiScaleSSIMLoss, StackedDeepSupervisionLoss


def _blob(shape):
    target = torch.zeros(shape)
    index = (slice(None), slice(None)) + tuple(slice(s // 4, s // 2) for s in shape[2:])
    target[index] = 1
    return target


@pytest.mark.parametrize("spatial_dims, size", [(2, 256), (3, 64)])
def test_ms_ssim_works_at_training_roi(spatial_dims: int, size: int) -> None:
    shape = (2, 1) + (size,) * spatial_dims
    target = _blob(shape)
    loss = MultiScaleSSIMLoss(spatial_dims)
    assert loss(target, target).item() == pytest.approx(0.0, abs=1e-4)
    noisy = (target + 0.3 * torch.rand(shape)).clamp(0, 1)
    assert 0.0 < loss(noisy, target).item() < 1.0


@pytest.mark.parametrize(
    "shape, kernel_size, weights",
    [((2, 1, 256, 256), 11, None), ((2, 3, 40, 56, 40), 7, None), ((1, 2, 128, 128), 7, (0.2, 0.3, 0.5))],
    ids=["2d-polyp", "3d-hippocampus", "2d-vessel"],
)
def test_separable_ms_ssim_equals_monai_value_and_gradient(shape, kernel_size, weights) -> None:
    """The separable window computes MONAI's compute_ms_ssim: same value and same gradient, at the bundles' sizes."""
    from monai.metrics.regression import compute_ms_ssim

    from monai_lightseg.losses.ms_ssim import DEFAULT_MS_SSIM, ms_ssim

    weights = weights or DEFAULT_MS_SSIM[len(shape) - 2][1]
    torch.manual_seed(0)
    target = (torch.rand(shape) > 0.7).float()
    ours_in = (0.6 * target + 0.4 * torch.rand(shape)).requires_grad_()
    monai_in = ours_in.detach().clone().requires_grad_()
    ours = ms_ssim(ours_in, target, kernel_size=kernel_size, weights=weights)
    theirs = compute_ms_ssim(monai_in, target, spatial_dims=len(shape) - 2, kernel_size=kernel_size, weights=weights)
    assert ours.shape == theirs.shape == (shape[0], 1)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    ours.sum().backward()
    theirs.sum().backward()
    torch.testing.assert_close(ours_in.grad, monai_in.grad, rtol=1e-3, atol=1e-7)
    assert ours_in.grad.abs().sum() > 0


def test_separable_ms_ssim_equals_monai_when_clipped_and_with_other_constants() -> None:
    """Anti-correlated input (contrast clipped at 0 at every scale), a non-default sigma and data range, and an
    odd-sized image: still MONAI's values."""
    from monai.metrics.regression import compute_ms_ssim

    from monai_lightseg.losses.ms_ssim import ms_ssim

    torch.manual_seed(1)
    target = (torch.rand(2, 2, 101, 87) > 0.5).float()
    other = {"kernel_size": 5, "kernel_sigma": 0.8, "data_range": 2.0, "weights": (0.3, 0.3, 0.4)}
    clipped = {"kernel_size": 7, "weights": (0.5, 0.5)}
    for y_pred, kwargs in ((1 - target, clipped), (2 * torch.rand(2, 2, 101, 87), other)):
        ours = ms_ssim(y_pred, target, **kwargs)
        theirs = compute_ms_ssim(y_pred, target, spatial_dims=2, **kwargs)
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


def test_ms_ssim_runs_in_float32_under_autocast() -> None:
    from monai_lightseg.losses.ms_ssim import ms_ssim

    torch.manual_seed(2)
    target = (torch.rand(2, 3, 32, 40, 36) > 0.6).float()
    y_pred = 0.5 * target + 0.5 * torch.rand(target.shape)
    plain = ms_ssim(y_pred, target, kernel_size=7, weights=(0.5, 0.5))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_amp = ms_ssim(y_pred.bfloat16(), target, kernel_size=7, weights=(0.5, 0.5))
    assert under_amp.dtype == torch.float32
    torch.testing.assert_close(under_amp, ms_ssim(y_pred.bfloat16().float(), target, kernel_size=7, weights=(0.5, 0.5)))
    assert (under_amp - plain).abs().max() < 1e-2  # only the bf16 rounding of the input differs


def test_ms_ssim_size_check_is_the_window_after_the_poolings() -> None:
    from monai_lightseg.losses.ms_ssim import min_side, ms_ssim

    assert min_side(11, 5) == 176 and min_side(7, 3) == 28 and min_side(7, 2) == 14
    ms_ssim(torch.rand(1, 1, 14, 14), torch.rand(1, 1, 14, 14), kernel_size=7, weights=(0.5, 0.5))
    with pytest.raises(ValueError, match="every side must be >= 14"):
        ms_ssim(torch.rand(1, 1, 13, 20), torch.rand(1, 1, 13, 20), kernel_size=7, weights=(0.5, 0.5))


def test_ms_ssim_rejects_small_inputs_with_the_minimum() -> None:
    with pytest.raises(ValueError, match="every side must be >= 176"):
        MultiScaleSSIMLoss(2)(torch.rand(1, 1, 160, 256), torch.rand(1, 1, 160, 256))
    with pytest.raises(ValueError, match="2 spatial axes"):
        MultiScaleSSIMLoss(2)(torch.rand(1, 1, 200, 200, 200), torch.rand(1, 1, 200, 200, 200))


@pytest.mark.parametrize("spatial_dims, size", [(2, 256), (3, 64)])
def test_compound_loss_decreases_towards_the_target_and_has_gradients(spatial_dims: int, size: int) -> None:
    shape = (2, 1) + (size,) * spatial_dims
    target = _blob(shape)
    loss = BceDiceMsSsimLoss(spatial_dims)
    good = (target * 2 - 1) * 6  # confident correct logits
    bad = -good
    assert loss(good, target) < loss(torch.zeros(shape), target) < loss(bad, target)
    logits = torch.zeros(shape, requires_grad=True)
    loss(logits, target).backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_compound_loss_multiclass_and_errors() -> None:
    target = torch.randint(0, 3, (2, 1, 32, 32, 32)).float()
    logits = torch.randn(2, 3, 32, 32, 32, requires_grad=True)
    loss = BceDiceMsSsimLoss(3, softmax=True, ms_ssim_weights=(0.5, 0.5), ms_ssim_kernel_size=5)
    loss(logits, target).backward()
    assert torch.isfinite(logits.grad).all()
    with pytest.raises(ValueError, match="must be >= 0"):
        BceDiceMsSsimLoss(2, dice_weight=-1)
    with pytest.raises(ValueError, match="binary target shape"):
        BceDiceMsSsimLoss(2, ms_ssim_weight=0)(torch.zeros(1, 1, 8, 8), torch.zeros(1, 2, 8, 8))


def test_stacked_deep_supervision_weights_levels_like_monai() -> None:
    target = torch.ones(2, 1, 16, 16)
    main, side = torch.full((2, 1, 16, 16), 5.0), torch.full((2, 1, 16, 16), -5.0)
    dice = DiceLoss(sigmoid=True)
    loss = StackedDeepSupervisionLoss(dice, weight_mode="exp")
    stacked = torch.stack([main, side], dim=1)
    expected = 1.0 * dice(main, target) + 0.5 * dice(side, target)  # MONAI "exp": weights 1, 1/2, unnormalised
    assert loss(stacked, target).item() == pytest.approx(expected.item(), rel=1e-5)
    assert loss(main, target).item() == pytest.approx(dice(main, target).item())
