"""Seed B's compound loss: BCE + Dice + MS-SSIM (binary), or CE + Dice + MS-SSIM (multi-class)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from monai.losses import DiceLoss
from monai.networks.utils import one_hot
from torch import nn

from monai_lightseg.losses.ms_ssim import MultiScaleSSIMLoss

__all__ = ["BceDiceMsSsimLoss"]


class BceDiceMsSsimLoss(nn.Module):
    """``bce_weight * BCE + dice_weight * Dice + ms_ssim_weight * (1 - MS-SSIM)`` on logits.

    Binary (``softmax=False``): logits and target are (N, 1, *S), target in {0, 1}; BCE with logits, Dice and
    MS-SSIM on ``sigmoid(logits)``. Multi-class (``softmax=True``): logits (N, K, *S), target (N, 1, *S) of
    class indices; cross-entropy, Dice on softmax against one-hot (``include_background``), MS-SSIM between
    softmax probabilities and the one-hot target.

    Args:
        spatial_dims: 2 or 3.
        bce_weight, dice_weight, ms_ssim_weight: non-negative term weights (seed B: equal).
        softmax: multi-class mode.
        include_background: whether Dice counts channel 0 in multi-class mode.
        ms_ssim_kernel_size, ms_ssim_weights: see :class:`MultiScaleSSIMLoss` (``None``: defaults per dims).

    Examples::

        >>> loss = BceDiceMsSsimLoss(2)
        >>> loss(torch.randn(2, 1, 256, 256), torch.randint(0, 2, (2, 1, 256, 256)).float()).shape
        torch.Size([])
    """

    def __init__(
        self,
        spatial_dims: int,
        bce_weight: float = 1.0,
        dice_weight: float = 1.0,
        ms_ssim_weight: float = 1.0,
        softmax: bool = False,
        include_background: bool = False,
        ms_ssim_kernel_size: int | None = None,
        ms_ssim_weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        weights = {"bce_weight": bce_weight, "dice_weight": dice_weight, "ms_ssim_weight": ms_ssim_weight}
        for name, value in weights.items():
            if value < 0:
                raise ValueError(f"BceDiceMsSsimLoss: {name} must be >= 0, got {value!r}.")
        if sum(weights.values()) == 0:
            raise ValueError("BceDiceMsSsimLoss: at least one term weight must be > 0.")
        self.bce_weight, self.dice_weight, self.ms_ssim_weight = bce_weight, dice_weight, ms_ssim_weight
        self.softmax = softmax
        if softmax:
            self.dice = DiceLoss(softmax=True, to_onehot_y=True, include_background=include_background)
        else:
            self.dice = DiceLoss(sigmoid=True)
        self.ms_ssim = MultiScaleSSIMLoss(spatial_dims, ms_ssim_kernel_size, ms_ssim_weights)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.softmax:
            if target.shape[1] != 1:
                raise ValueError(
                    f"BceDiceMsSsimLoss: multi-class target must be (N, 1, *S) indices, got {target.shape}."
                )
            bce = F.cross_entropy(logits, target[:, 0].long())
            probabilities = torch.softmax(logits, dim=1)
            reference = one_hot(target.long(), num_classes=logits.shape[1])
        else:
            if target.shape != logits.shape:
                raise ValueError(
                    f"BceDiceMsSsimLoss: binary target shape {tuple(target.shape)} != logits {tuple(logits.shape)}."
                )
            target = target.to(logits.dtype)
            bce = F.binary_cross_entropy_with_logits(logits, target)
            probabilities, reference = torch.sigmoid(logits), target
        loss = self.bce_weight * bce + self.dice_weight * self.dice(logits, target)
        if self.ms_ssim_weight > 0:
            loss = loss + self.ms_ssim_weight * self.ms_ssim(probabilities, reference)
        return loss
