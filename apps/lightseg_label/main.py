"""The monai_lightseg MONAI Label app: automatic and click-guided segmentation with this repository's bundles.

Start (from the repository root, in MONAI Label's environment, `make monailabel-env`)::

    .venv-monailabel/bin/monailabel start_server --app apps/lightseg_label --studies STUDIES \\
        --host 127.0.0.1 --port 8000 [--conf bundles "PATH[,PATH...]"]

Configuration (``--conf KEY VALUE``):
    bundles: comma-separated bundle folders (default: every trained polyp and hippocampus bundle of the repo).
        Each is copied once into this app's ``model/`` folder, which the tasks read (and a fine-tune will write),
        so a bundle's shipped weights are never changed by the app.
    click_window: crop size in pixels of the 2D click-guided tasks (default 384, about one training frame).

Tasks per bundle: ``<bundle>`` (automatic segmentation, 2D and 3D), for 2D bundles ``<bundle>_click``
(click-guided), and the training task ``<bundle>`` (a fine-tune on the datastore's labels, from the shipped
weights, written to the app's copy). See docs/monai_label.md.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import monailabel
from monailabel.interfaces.app import MONAILabelApp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lib.infers import AutoSegmentation, ClickSegmentation  # noqa: E402
from lib.trainers import FineTune  # noqa: E402

logger = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]


def default_bundles() -> list[Path]:
    """Every polyp and hippocampus bundle of the repository with reported results (training finished)."""
    bundles = sorted(REPO.glob("bundles/polyp_endoscopy_*_segmentation")) + sorted(
        REPO.glob("bundles/hippocampus_mri_*_segmentation")
    )
    return [b for b in bundles if (b / "docs" / "results.json").is_file() and (b / "models" / "model.pt").is_file()]


def app_copy(bundle: Path, model_dir: Path) -> Path:
    """The app's working copy of ``bundle`` (configs, weights, docs; no checkpoints), made once."""
    copy = model_dir / bundle.name
    if not (copy / "models" / "model.pt").is_file():
        ignore = shutil.ignore_patterns("checkpoints", "eval", "*.log", "training_log.csv")
        shutil.copytree(bundle, copy, ignore=ignore, dirs_exist_ok=True)
    return copy


class MyApp(MONAILabelApp):
    def __init__(self, app_dir: str, studies: str, conf: dict[str, str]) -> None:
        given = conf.get("bundles")
        bundles = [Path(b).resolve() for b in given.split(",")] if given else default_bundles()
        for b in bundles:
            if not (b / "configs" / "metadata.json").is_file():
                raise ValueError(f"--conf bundles: {b} is not a bundle folder (configs/metadata.json is missing)")
        model_dir = Path(app_dir) / "model"
        self.shipped = {b.name: b for b in bundles}
        self.bundles = {b.name: app_copy(b, model_dir) for b in bundles}
        self.click_window = int(conf.get("click_window", "384"))
        super().__init__(
            app_dir=app_dir,
            studies=studies,
            conf=conf,
            name="monai_lightseg",
            description="Polyp (2D) and hippocampus (3D) segmentation with the monai_lightseg bundles",
            version=monailabel.__version__,
        )

    def init_infers(self):
        infers = {}
        for name, bundle in self.bundles.items():
            auto = AutoSegmentation(bundle)
            infers[name] = auto
            if auto.dimension == 2:
                infers[f"{name}_click"] = ClickSegmentation(bundle, window=self.click_window)
        return infers

    def init_trainers(self):
        return {name: FineTune(self.shipped[name], copy) for name, copy in self.bundles.items()}
