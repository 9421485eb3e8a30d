"""FedNova's normalised averaging (Wang et al., NeurIPS 2020, "Tackling the objective inconsistency problem in
heterogeneous federated optimization") for sites that take different numbers of local steps per round.

Why: with a fixed number of local epochs a site with more frames also takes more steps, so its update is longer,
and FedAvg then weights that longer update by its frame count once more. If updates grow with the steps taken
(FedNova's model, for SGD; roughly so for AdamW), site-1 (800 frames, 200 steps per round of 2 epochs) and
site-2 (360 frames, 90 steps) pull on the global model about 0.83 : 0.17, where centralised training over both
sites' frames weights them 0.69 : 0.31. FedNova divides each site's update by its
own step count ``tau_i`` and scales the frame-weighted mean by ``tau_eff = sum_i p_i tau_i`` (``p_i``: frame
share), so every site moves the model in proportion to its frames.

How, with NVFlare's frame-weighted FedAvg unchanged: each site multiplies its update by ``tau_eff / tau_i``
before sending (:func:`normalise_update`); the server's weighted mean of those is FedNova's step. The
coordinator computes ``tau_eff`` from the sites' frame counts (:func:`effective_steps`) and hands it to every
site. Only the trainable parameters are rescaled; buffers (batch-norm running statistics and counters) are
averaged as in FedAvg, since they are estimates, not steps. Written here because neither NVFlare 2.9 nor MONAI
has a FedNova aggregator (NVFlare's step-count option multiplies by the step count, the opposite).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from monai_lightseg.federated.overrides import site_epoch

__all__ = ["effective_steps", "local_steps", "normalise_update"]


def local_steps(bundle: str | Path, frames: int, local_epochs: int) -> int:
    """Optimizer steps a site with ``frames`` training frames takes per round of ``local_epochs`` under the
    bundle's batch size (as the site runs it: :func:`.overrides.site_epoch`)."""
    train = json.loads((Path(bundle) / "configs" / "train.json").read_text(encoding="utf-8"))
    return local_epochs * site_epoch(train, frames)[1]


def effective_steps(frames: dict[str, int], steps: dict[str, int]) -> float:
    """``tau_eff = sum_i p_i tau_i`` with ``p_i`` each site's share of the training frames."""
    if set(frames) != set(steps) or not frames:
        raise ValueError(f"frames and steps must name the same sites: {sorted(frames)} vs {sorted(steps)}")
    total = sum(frames.values())
    return sum(frames[s] / total * steps[s] for s in frames)


def normalise_update(diff: dict[str, torch.Tensor], parameters: set[str], steps: int,
                     tau_eff: float) -> dict[str, torch.Tensor]:  # fmt: skip
    """The site's update with every trainable parameter's difference scaled by ``tau_eff / steps``; other
    tensors (buffers) unchanged. ``parameters``: the names of the network's trainable parameters."""
    if steps < 1:
        raise ValueError(f"a site that took {steps} local steps has no update to normalise")
    missing = parameters - set(diff)
    if missing:
        raise KeyError(f"the update lacks parameters {sorted(missing)[:3]}... (names must match the state_dict)")
    scale = tau_eff / steps
    return {k: v * scale if k in parameters else v for k, v in diff.items()}
