"""Flip test-time augmentation as a MONAI ``Inferer``: the mean logit over the image and its mirror images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import torch
from monai.inferers import Inferer

from monai_lightseg.config_flags import as_bool
from monai_lightseg.inference.given_locations import flip_locations

__all__ = ["FlipAveragingInferer"]


class FlipAveragingInferer(Inferer):
    """Run ``inferer`` on the input and on its flip along each spatial axis in turn, flip each output back and
    return the mean (nnU-Net's mirroring, one axis at a time: 1 + len(S) passes).

    ``spatial_axes``: which spatial axes to flip (0 = the first after N, C); ``None`` = every one. With
    ``enabled=False`` (a bundle's ``"flip_tta": false``) it is the wrapped inferer alone, one pass, same result.
    Logits are averaged, not probabilities, so a threshold at logit 0 (probability 0.5) stays the decision rule.
    Given lesion locations (``points=`` / ``boxes=`` keyword arguments of a wrapped
    :class:`~monai_lightseg.inference.LocateThenSegmentInferer`) are mirrored with each flipped copy.

    Why written here: MONAI's ``TestTimeAugmentation`` draws random invertible transforms on a dictionary and
    returns the spread for uncertainty; it does not sit where a bundle's evaluator expects an ``Inferer``
    (``inferer(inputs, network)``), which is what lets any inferer (sliding window, locate-then-segment) be
    wrapped without changing it.

    Inputs: (N, C, *S); output: what ``inferer`` returns, (N, K, *S), the mean over the passes.
    """

    def __init__(
        self, inferer: Callable[..., torch.Tensor], spatial_axes: Sequence[int] | None = None, enabled: bool = True
    ) -> None:
        super().__init__()
        self.inferer = inferer
        self.spatial_axes = None if spatial_axes is None else tuple(int(a) for a in spatial_axes)
        self.enabled = as_bool(enabled, "flip_tta")

    def __call__(self, inputs: torch.Tensor, network: Callable[..., Any], *args: Any, **kwargs: Any):
        output = self.inferer(inputs, network, *args, **kwargs)
        if not self.enabled:
            return output
        spatial = inputs.ndim - 2
        axes = range(spatial) if self.spatial_axes is None else self.spatial_axes
        for axis in axes:
            if not -spatial <= axis < spatial:
                raise ValueError(f"spatial axis {axis} is out of range for an input of shape {tuple(inputs.shape)}")
            dim = 2 + axis % spatial
            moved = flip_locations(kwargs, dim - 2, inputs.shape[2:])  # given points / boxes flip with the image
            flipped = self.inferer(torch.flip(inputs, (dim,)), network, *args, **moved)
            output = output + torch.flip(flipped, (dim,))
        return output / (1 + len(axes))
