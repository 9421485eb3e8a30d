"""Parameter and multiply-add counts of a network (what the demo, docs and benchmarks report)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["count_parameters", "count_macs"]


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def count_macs(net: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-adds of one eval-mode forward pass on a zero tensor of ``input_shape`` (N, C, *S).

    Counted with ``torch.utils.flop_counter`` (convolutions, matrix products; FLOPs / 2). Element-wise ops
    (normalisation, activations, interpolation) are not counted, as is usual for reported MACs.
    The net's training mode is restored afterwards.
    """
    was_training = net.training
    net.eval()
    param = next(net.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net(torch.zeros(tuple(input_shape), device=device))
    finally:
        net.train(was_training)
    return counter.get_total_flops() // 2
