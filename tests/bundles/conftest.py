"""Fixtures for bundle tests: each test works on a scratch copy of a bundle, never the committed one."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser, ckpt_export
from monai.transforms import SpatialPad

from tests.conftest import REPO

BUNDLES_DIR = REPO / "bundles"
SCHEMA = BUNDLES_DIR / "schemas" / "meta_schema_20240725.json"
POLYP_BUNDLES = sorted(p.name for p in BUNDLES_DIR.glob("polyp_endoscopy_*_segmentation"))
HIPPOCAMPUS_BUNDLES = sorted(p.name for p in BUNDLES_DIR.glob("hippocampus_mri_*_segmentation"))


def _finished(bundles: list[str]) -> list[str]:
    """Finished and reported (weights plus the reference masks the report writes); a bundle still training ships
    its checkpoint and interim weights for resuming, which are not yet a release."""
    return [
        b
        for b in bundles
        if (BUNDLES_DIR / b / "models" / "model.pt").is_file() and (BUNDLES_DIR / b / "docs" / "results.json").is_file()
    ]


TRAINED_POLYP_BUNDLES = _finished(POLYP_BUNDLES)
TRAINED_HIPPOCAMPUS_BUNDLES = _finished(HIPPOCAMPUS_BUNDLES)


def copy_bundle(name: str, dest: Path) -> Path:
    """A scratch copy without checkpoints and logs (they would make a test resume a real run)."""
    root = dest / name
    shutil.copytree(BUNDLES_DIR / name, root, ignore=shutil.ignore_patterns("checkpoints", "*.log", "eval"))
    log = root / "models" / "training_log.csv"
    if log.exists():
        log.unlink()
    return root


@pytest.fixture
def scratch_bundle(tmp_path):
    return lambda name: copy_bundle(name, tmp_path)


def ensure_weights(root: Path) -> Path:
    """The shipped weights, or (for a bundle still training) a seeded random initialisation saved the same way.

    The random network's batch-norm statistics are calibrated on the bundle's first sample image (two forward
    passes in training mode): with the default statistics an untrained net predicts one class everywhere, which
    would let inference and geometry tests pass on masks that show nothing."""
    path = root / "models" / "model.pt"
    if not path.is_file():
        parser = ConfigParser()
        parser.read_config(str(root / "configs" / "inference.json"))
        parser["bundle_root"] = str(root)
        torch.manual_seed(0)
        net = parser.get_parsed_content("network_def")
        sample = sorted((root / "sample_data" / "images").iterdir())[0]
        image = parser.get_parsed_content("preprocessing")({"image": str(sample)})["image"]
        roi = parser.get_parsed_content("roi_size")
        x = SpatialPad(roi)(image)[None].float()  # at least one window
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration passes
        net.train()
        with torch.no_grad():
            for _ in range(2):
                net(x)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), path)
    return path


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def assert_torchscript_export_matches(root: Path, input_shape: tuple[int, ...], out: Path) -> None:
    """MONAI's ``ckpt_export`` of the bundle's weights to ``out``; the TorchScript model must equal the eager
    network on a random input of ``input_shape`` (rtol/atol 1e-4)."""
    weights = ensure_weights(root)
    ckpt_export(
        net_id="network_def",
        filepath=str(out),
        ckpt_file=str(weights),
        meta_file=str(root / "configs/metadata.json"),
        config_file=str(root / "configs/inference.json"),
        bundle_root=str(root),
    )
    parser = ConfigParser()
    parser.read_config(str(root / "configs/inference.json"))
    net = parser.get_parsed_content("network_def")
    net.load_state_dict(torch.load(weights, map_location="cpu"))
    x = torch.rand(*input_shape)
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.load(str(out))(x), net.eval()(x), rtol=1e-4, atol=1e-4)


def assert_ddp_checkpoint_trained(root: Path, steps: int) -> None:
    """What the ranks of a torchrun run produced: the one checkpoint loads strictly into the bundle's
    ``network_def`` (no DDP ``module.`` prefix), its optimizer took ``steps`` steps on every parameter, and every
    weight tensor moved from the initial weights, by no more than ``steps`` Adam steps can move it. The initial
    weights are rebuilt as the run built them: ``network_def`` after ``set_determinism(seed=123)``
    (multi_gpu_train.json's ``initialize``; DDP then broadcasts rank 0's weights)."""
    from monai.utils import set_determinism

    (path,) = (root / "models" / "checkpoints").glob("*checkpoint*.pt")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    parser = ConfigParser()
    parser.read_config(str(root / "configs" / "train.json"))
    parser["bundle_root"] = str(root)
    set_determinism(seed=123)
    net = parser.get_parsed_content("network_def")
    set_determinism(seed=None)
    initial = {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(checkpoint["network"])
    optimizer_state = checkpoint["optimizer"]["state"]
    assert len(optimizer_state) == len(list(net.parameters()))
    assert all(int(s["step"]) == steps for s in optimizer_state.values())
    lr = max(g["lr"] for g in checkpoint["optimizer"]["param_groups"])
    for name, weight in net.named_parameters():
        change = float((weight.detach() - initial[name]).abs().max())
        assert 0 < change <= 4 * steps * max(lr, parser.get_parsed_content("learning_rate")), (name, change)
