"""Scale test-time augmentation as a MONAI ``Inferer``: the mean logit over the image resized by a few factors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import torch
import torch.nn.functional as F
from monai.inferers import Inferer
from monai.utils import ensure_tuple

from monai_lightseg.config_flags import as_bool
from monai_lightseg.inference.given_locations import scale_locations

__all__ = ["ScaleAveragingInferer"]


class ScaleAveragingInferer(Inferer):
    """Run ``inferer`` on the input resized by each of ``factors`` (bilinear / trilinear, anti-aliased when a 2D
    image is shrunk), resize each output back to the input's size and return the mean logit. A factor of 1.0 is
    the input itself, unresized. With ``enabled=False`` (a bundle's ``"scale_tta": false``) it is the wrapped
    inferer alone, one pass, same result. ``inferer`` may itself average over flips
    (:class:`~monai_lightseg.inference.FlipAveragingInferer`): every scale then gets every flip.

    Cost: with a whole-image inferer, the sum of ``factor ** spatial_dims`` over the factors (1.0, 1.25: 2.56 in 2D);
    with a sliding window as large as the image, an enlarged image needs more windows (the polyp bundles' 256^2
    frame: 1 window, and 2-4 more at 1.25x), measured 1.4-1.7x the time per frame in the bundles.
    On the polyp bundles (docs/results.md, "Scale test-time augmentation") the factors 1.0 and 1.25 lifted every
    training of every network on both validation sets, while shrinking (0.75) cost Dice.

    Why written here: MONAI's ``TestTimeAugmentation`` draws random invertible transforms on a dictionary and
    returns the spread for uncertainty; it does not sit where a bundle's evaluator expects an ``Inferer``
    (``inferer(inputs, network)``), and MONAI has no multi-scale inferer.

    Given lesion locations (``points=`` / ``boxes=`` keyword arguments of a wrapped
    :class:`~monai_lightseg.inference.LocateThenSegmentInferer`) are moved to each resized copy's coordinates.

    Inputs: (N, C, *S); output: (N, K, *S), the mean over the passes.
    """

    def __init__(
        self, inferer: Callable[..., torch.Tensor], factors: Sequence[float] = (1.0,), enabled: bool = True
    ) -> None:
        super().__init__()
        self.inferer = inferer
        try:  # ``--scale_tta_factors 1.25`` on the command line arrives as one number
            self.factors = tuple(float(f) for f in ensure_tuple(factors))
        except (TypeError, ValueError):
            self.factors = ()
        if not self.factors or any(not f > 0 for f in self.factors):
            raise ValueError(f"scale_tta_factors must be one or more positive numbers, got {factors!r}")
        self.enabled = as_bool(enabled, "scale_tta")

    def __call__(self, inputs: torch.Tensor, network: Callable[..., Any], *args: Any, **kwargs: Any):
        if not self.enabled:
            return self.inferer(inputs, network, *args, **kwargs)
        spatial = inputs.shape[2:]
        if len(spatial) not in (2, 3):
            shape = tuple(inputs.shape)
            raise ValueError(f"scale test-time augmentation needs an (N, C, *S) input in 2D or 3D, got {shape}")
        mode = "bilinear" if len(spatial) == 2 else "trilinear"
        total = None
        for factor in self.factors:
            if factor == 1.0:
                output = self.inferer(inputs, network, *args, **kwargs)
            else:
                size = [max(1, round(s * factor)) for s in spatial]
                shrink = factor < 1.0 and len(spatial) == 2
                resized = F.interpolate(inputs, size=size, mode=mode, align_corners=False, antialias=shrink)
                moved = scale_locations(kwargs, spatial, size)  # given points / boxes resize with the image
                output = self.inferer(resized, network, *args, **moved)
                output = F.interpolate(output, size=list(spatial), mode=mode, align_corners=False)
            total = output if total is None else total + output
        return total / len(self.factors)
