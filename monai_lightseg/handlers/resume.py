"""Resume training from the newest checkpoint in a folder, if there is one."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import torch
from ignite.engine import Events
from monai.handlers import CheckpointLoader

__all__ = ["ResumeFromCheckpoint", "latest_checkpoint"]

logger = logging.getLogger(__name__)


def latest_checkpoint(folder: str | Path, pattern: str = "*checkpoint*.pt") -> Path | None:
    """The most recently written file matching ``pattern`` in ``folder``, or ``None``."""
    candidates = [p for p in Path(folder).glob(pattern) if p.is_file()] if Path(folder).is_dir() else []
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


class ResumeFromCheckpoint:
    """Attach MONAI's ``CheckpointLoader`` for the newest checkpoint in ``checkpoint_dir`` when one exists,
    so that rerunning the same ``train.json`` continues where the last run stopped (epoch, iteration,
    optimizer and scheduler state included, when ``load_dict`` names them). Without a checkpoint it does
    nothing: a first run starts from scratch. The checkpoint resumed from is deleted once the new run has saved
    a newer one (the new ``CheckpointSaver`` does not know it and would keep it forever).

    Put it first in the trainer's handler list (it loads at ``Events.STARTED``).

    Args:
        checkpoint_dir: where ``CheckpointSaver`` writes its interval checkpoints.
        load_dict: objects to restore, e.g. ``{"network": net, "optimizer": opt, "trainer": trainer}``.
        map_location: passed to ``torch.load`` (e.g. ``"cpu"`` to resume a GPU run on a CPU).
    """

    def __init__(
        self, checkpoint_dir: str | Path, load_dict: Mapping, map_location: str | torch.device | None = None
    ) -> None:
        self.checkpoint_dir = Path(checkpoint_dir)
        self.load_dict = dict(load_dict)
        self.map_location = map_location
        self._resumed_from: Path | None = None

    def attach(self, engine) -> None:
        path = latest_checkpoint(self.checkpoint_dir)
        if path is None:
            logger.info("No checkpoint in %s: training starts from scratch.", self.checkpoint_dir)
            return
        logger.info("Resuming from %s.", path)
        for stale in self.checkpoint_dir.glob("*checkpoint*.pt"):  # older leftovers of earlier resumes
            if stale != path:
                stale.unlink()
        CheckpointLoader(load_path=str(path), load_dict=self.load_dict, map_location=self.map_location).attach(engine)
        self._resumed_from = path
        engine.add_event_handler(Events.EPOCH_STARTED, self._drop_resumed_checkpoint)
        engine.add_event_handler(Events.COMPLETED, self._drop_resumed_checkpoint)

    def _drop_resumed_checkpoint(self, engine) -> None:
        """Once the new run's ``CheckpointSaver`` has written a newer file, the one resumed from is stale (the
        saver does not know it, so its ``n_saved`` would never remove it)."""
        path = self._resumed_from
        if path is None or not path.exists():
            return
        newest = latest_checkpoint(self.checkpoint_dir)
        if newest is not None and newest != path:
            path.unlink()
            self._resumed_from = None
