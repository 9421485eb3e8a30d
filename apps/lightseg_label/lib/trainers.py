"""Fine-tune a bundle on the labels annotators saved in the datastore, with the bundle's own ``train.json``.

Why not MONAI Label's ``BundleTrainTask``: it overrides ``train#trainer#max_epochs`` and ``train#dataset#data``,
keys the monai_lightseg configs do not have (they train for ``max_steps`` from a datalist file), and it would
resume from whatever checkpoints lie in the bundle. Here every fine-tune:

- starts from the **shipped** weights (the repository bundle's ``models/model.pt``, loaded in ``initialize``), with
  an empty checkpoint folder, never from an earlier run's checkpoints;
- trains the app's working copy of the bundle (``<app>/model/<bundle>``), so the new best weights are written
  to the copy's ``models/model.pt`` (the automatic and click tasks reload it) and the shipped bundle is untouched;
- converts MONAI Label's labels (0 background, 1..K classes) to what the bundle's training reads (2D binary
  bundles: 0/255 masks, as Kvasir-SEG's; 3D: label values as they are);
- validates on ``val_split`` of the labelled images (at least one), or on the training images when there are
  fewer than 2 (said in the log: that validation only shows the fit).

Request keys: ``max_epochs`` (default 10), ``learning_rate`` (default the bundle's / 10), ``val_split`` (0.2).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
from monailabel.interfaces.datastore import Datastore
from monailabel.interfaces.tasks.train import TrainTask

logger = logging.getLogger(__name__)


class FineTune(TrainTask):
    def __init__(self, shipped: Path, copy: Path) -> None:
        self.shipped, self.copy = Path(shipped), Path(copy)
        self.train_config = json.loads((self.copy / "configs" / "train.json").read_text(encoding="utf-8"))
        metadata = json.loads((self.copy / "configs" / "metadata.json").read_text(encoding="utf-8"))
        self.dimension = len(metadata["network_data_format"]["inputs"]["image"]["spatial_shape"])
        super().__init__(f"fine-tune {self.copy.name} on the datastore's labels (from the shipped weights)")

    def config(self):
        return {"max_epochs": 10, "learning_rate": self.train_config["learning_rate"] / 10, "val_split": 0.2}

    def _convert(self, items: list[dict], run: Path) -> list[dict]:
        """Labels as the bundle's training reads them, written into the run folder (originals untouched)."""
        if self.dimension != 2:
            return items
        from PIL import Image

        (run / "labels").mkdir(parents=True)
        converted = []
        for i, item in enumerate(items):
            label = np.asarray(Image.open(item["label"]))
            if label.ndim == 3:
                label = label[..., 0]
            path = run / "labels" / f"{i:04d}_{Path(item['label']).stem}.png"
            Image.fromarray(np.where(label > 0, 255, 0).astype(np.uint8)).save(path)
            converted.append({"image": item["image"], "label": str(path)})
        return converted

    def __call__(self, request, datastore: Datastore):
        import monai.bundle

        items = datastore.datalist()
        if not items:
            raise ValueError(f"{self.copy.name}: no labelled image in the datastore to fine-tune on")
        run = self.copy / "finetune"
        shutil.rmtree(run, ignore_errors=True)  # never resume an earlier fine-tune
        run.mkdir(parents=True)
        for stale in ("training_log.csv", "model.best.json"):
            (self.copy / "models" / stale).unlink(missing_ok=True)
        items = self._convert(items, run)
        n_val = max(1, round(float(request.get("val_split", 0.2)) * len(items))) if len(items) >= 2 else 0
        training, validation = (items[n_val:], items[:n_val]) if n_val else (items, items)
        if not n_val:
            logger.warning("%s: one labelled image: validating on the training image", self.copy.name)
        (run / "datalist.json").write_text(
            json.dumps({"training": training, "validation": validation}, indent=4), encoding="utf-8"
        )
        epochs = int(request.get("max_epochs", 10))
        # the bundle's loader drops an incomplete last batch: with fewer images than its batch, the batch shrinks
        batch_size = min(int(self.train_config["batch_size"]), len(training))
        epoch_length = max(1, len(training) // batch_size)
        shipped_weights = self.shipped / "models" / "model.pt"
        logger.info("%s: fine-tuning from %s on %d images (%d validation), %d epochs of %d steps",
                    self.copy.name, shipped_weights, len(training), len(validation), epochs, epoch_length)  # fmt: skip
        monai.bundle.run(
            run_id="run",
            config_file=str(self.copy / "configs" / "train.json"),
            meta_file=str(self.copy / "configs" / "metadata.json"),
            logging_file=str(self.copy / "configs" / "logging.conf"),
            bundle_root=str(self.copy),
            dataset_dir="/",
            datalist_file=str(run / "datalist.json"),
            ckpt_dir=str(run / "checkpoints"),
            max_steps=epochs * epoch_length,
            epoch_length=epoch_length,
            batch_size=batch_size,
            warmup_steps=0,
            val_interval=1,
            learning_rate=float(request.get("learning_rate", self.config()["learning_rate"])),
            initialize=[
                "$monai.utils.set_determinism(seed=0)",
                f"$@network.load_state_dict(torch.load({str(shipped_weights)!r}, map_location=@device, "
                "weights_only=True))",
            ],
        )
        best = self.copy / "models" / "model.best.json"
        return {"best": json.loads(best.read_text(encoding="utf-8")) if best.is_file() else None}
