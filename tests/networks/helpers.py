"""Test helpers for networks: a loss whose gradient reaches every parameter."""

from __future__ import annotations

import torch
from torch import nn


def random_projection_loss(output: torch.Tensor) -> torch.Tensor:
    """``sum(output * w)`` with a fixed random ``w``: unlike ``output.sum()``, its gradient does not vanish
    through batch normalisation (the sum of a normalised map is constant)."""
    weight = torch.randn(output.shape, generator=torch.Generator().manual_seed(1))
    return (output * weight).sum()


def params_without_grad(net: nn.Module) -> list[str]:
    """Names of parameters whose gradient is missing or all zero."""
    return [n for n, p in net.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
