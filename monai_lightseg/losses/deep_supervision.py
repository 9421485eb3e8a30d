"""MONAI's ``DeepSupervisionLoss`` for nets that stack their deep-supervision outputs in one tensor."""

from __future__ import annotations

import torch
from monai.losses import DeepSupervisionLoss

__all__ = ["StackedDeepSupervisionLoss"]


class StackedDeepSupervisionLoss(DeepSupervisionLoss):
    """Accepts the training output of this package's nets, (N, S, C, *spatial) with index 0 the main output,
    unbinds it into the list MONAI's ``DeepSupervisionLoss`` expects, and weights the levels as it does
    (``weight_mode`` "exp": 1, 1/2, 1/4, ...). A plain (N, C, *spatial) output (eval mode, or a net without
    deep supervision) is passed through unchanged, so one loss serves both.

    Example::

        >>> from monai.losses import DiceLoss
        >>> loss = StackedDeepSupervisionLoss(DiceLoss(sigmoid=True))
        >>> loss(torch.randn(2, 4, 1, 32, 32), torch.ones(2, 1, 32, 32)).shape
        torch.Size([])
    """

    def forward(self, input: torch.Tensor | list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        if isinstance(input, torch.Tensor) and input.dim() == target.dim() + 1:
            input = list(torch.unbind(input, dim=1))
        return super().forward(input, target)
