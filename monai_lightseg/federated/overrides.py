"""What changes in a bundle's ``train.json`` when it runs as a federation site (passed to MONAI's ``MonaiAlgo`` as
config overrides; the bundle on disk is not changed).

- Data: the site's own datalist (:mod:`.sites`); one local epoch is one pass over the site's training frames
  (``epoch_length`` = frames // batch), so a site with more frames takes more steps per round.
- Learning rate: the site keeps one trainer for the whole federation (the NVFlare client script
  runs once and ``MonaiAlgo`` resumes the same engine every round), so the bundle's warm-up + cosine schedule
  steps on across rounds: ``max_steps`` = rounds x local epochs x ``epoch_length``, warm-up one local epoch. The
  learning rate therefore decays from the bundle's value to 0 over the federation, as it does over a
  centralised run, instead of restarting every round.
- No weights written at the site: the bundle's ``KeepBestNetwork`` (validation handler, writes
  ``models/model.pt``) and its per-epoch validation are removed; the global model is validated once per round
  on each site's validation frames by ``MonaiAlgo.evaluate``. The bundle's resume-from-checkpoint, checkpoint
  saver and training log are attached only by its ``run`` expression, which ``MonaiAlgo`` does not call, so
  they cannot load or overwrite anything either.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["federated_overrides", "site_epoch"]


def site_epoch(train: dict, frames: int) -> tuple[int, int]:
    """(batch size, steps per local epoch) of a site with ``frames`` training frames under the bundle's
    ``train.json`` (as a dict): the loader drops an incomplete last batch."""
    batch = min(int(train["batch_size"]), frames)
    return batch, max(1, frames // batch)


def federated_overrides(bundle: str | Path, datalist: str | Path, frames: int, rounds: int, local_epochs: int,
                        dataset_dir: str | Path) -> dict:  # fmt: skip
    """ConfigWorkflow overrides for one site of a federation of ``rounds`` rounds of ``local_epochs``."""
    train = json.loads((Path(bundle) / "configs" / "train.json").read_text(encoding="utf-8"))
    batch, epoch_length = site_epoch(train, frames)
    handlers = [h for h in train["train"]["handlers"] if h.get("_target_") != "ValidationHandler"]
    return {
        "dataset_dir": str(dataset_dir),
        "datalist_file": str(datalist),
        "epoch_length": epoch_length,
        "batch_size": batch,
        "max_steps": rounds * local_epochs * epoch_length,
        "warmup_steps": epoch_length,
        "train#handlers": handlers,
        "validate#handlers": [{"_target_": "StatsHandler", "iteration_log": False}],
    }
