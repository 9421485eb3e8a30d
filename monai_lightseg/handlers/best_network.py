"""Save the network's state_dict whenever a validation metric reaches a new best, across resumed runs."""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from pathlib import Path

import torch
from ignite.engine import Events

__all__ = ["KeepBestNetwork"]

logger = logging.getLogger(__name__)


class KeepBestNetwork:
    """On each validator completion, if ``metric_name`` beats the best so far, write ``network.state_dict()``
    to ``model_path`` (atomically: temporary file, then rename) and record the score in ``model_path``'s
    ``.best.json`` sidecar.

    Why not MONAI's ``CheckpointSaver(save_key_metric=True)``: its best score lives in memory, so a resumed
    run would overwrite the best model with its first, possibly worse, validation; saving its tracking state
    instead wraps ``model.pt`` in a dict, while a bundle's ``model.pt`` must be a plain state_dict. The
    sidecar keeps the best score on disk, next to the weights it belongs to.

    Args:
        network: the module whose weights to keep (unwrapped from DDP automatically).
        model_path: e.g. ``models/model.pt``.
        metric_name: key in ``validator.state.metrics``; higher is better.
    """

    def __init__(self, network: torch.nn.Module, model_path: str | Path, metric_name: str = "val_mean_dice") -> None:
        self.network = network.module if hasattr(network, "module") else network
        self.model_path = Path(model_path)
        self.sidecar = self.model_path.with_suffix(".best.json")
        self.metric_name = metric_name

    def best(self) -> float:
        if self.sidecar.is_file():
            return float(json.loads(self.sidecar.read_text(encoding="utf-8"))["value"])
        return -math.inf

    def attach(self, engine) -> None:
        engine.add_event_handler(Events.COMPLETED, self)

    def __call__(self, engine) -> None:
        value = float(engine.state.metrics[self.metric_name])
        if not value > self.best():
            return
        self.model_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.model_path.parent, suffix=".tmp")
        os.close(fd)
        torch.save(self.network.state_dict(), tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the weights are meant to be shared
        os.replace(tmp, self.model_path)
        record = {"metric": self.metric_name, "value": value}
        self.sidecar.write_text(json.dumps(record, indent=4) + "\n", encoding="utf-8")
        logger.info("New best %s = %.4f: saved %s.", self.metric_name, value, self.model_path)
