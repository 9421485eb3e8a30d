"""The bare loop's distillation targets (benchmarks/bare_loop_polyp.py ``teacher_targets``): a teacher bundle's
probabilities on each training frame, through its scale rule, land where the frame's own mask does."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bare_loop_polyp import load, teacher_targets  # noqa: E402

BUNDLE = Path(__file__).resolve().parents[2] / "bundles" / "polyp_endoscopy_feature_compression_net_segmentation"


def _teacher(root: Path, frame_size: int) -> Path:
    """A bundle whose network marks red pixels (a 1x1 convolution, logit = 20 * (red - 0.5)) behind the shipped
    FeatureCompressionNet bundle's own preprocessing (reader, intensity scaling, scale rule)."""
    (root / "configs").mkdir(parents=True)
    (root / "models").mkdir()
    shipped = json.loads((BUNDLE / "configs" / "inference.json").read_text(encoding="utf-8"))
    config = {"frame_size": frame_size, "preprocessing": shipped["preprocessing"],
              "network_def": {"_target_": "torch.nn.Conv2d", "in_channels": 3, "out_channels": 1, "kernel_size": 1},
              "inferer": {"_target_": "SimpleInferer"}}  # fmt: skip
    (root / "configs" / "inference.json").write_text(json.dumps(config), encoding="utf-8")
    weights = {"weight": torch.tensor([20.0, 0.0, 0.0]).view(1, 3, 1, 1), "bias": torch.tensor([-10.0])}
    torch.save(weights, root / "models" / "model.pt")
    return root


def test_teacher_targets_follow_the_frame_not_its_transpose(tmp_path) -> None:
    """A red block in the top-left of a wide (not square) frame: the teacher's target and the loaded mask agree
    (Dice > 0.9), in the layout ``load`` gives, although the teacher runs in the (W, H) layout of the bundles."""
    frame = np.zeros((60, 100, 3), np.uint8)
    frame[5:25, 10:60, 0] = 255
    mask = np.zeros((60, 100), np.uint8)
    mask[5:25, 10:60] = 255
    Image.fromarray(frame).save(tmp_path / "frame.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    items = [{"image": "frame.png", "label": "mask.png"}]
    soft = teacher_targets(items, tmp_path, _teacher(tmp_path / "bundle", 48), 32)
    _, truth, _ = load(items, tmp_path, 32)
    assert soft.shape == (1, 1, 32, 32) and 0.0 <= float(soft.min()) and float(soft.max()) <= 1.0
    hard = (soft > 0.5).float()
    assert float(2 * (hard * truth).sum() / (hard.sum() + truth.sum())) > 0.9


def test_teacher_without_weights_is_refused_by_name(tmp_path) -> None:
    teacher = _teacher(tmp_path / "bundle", 48)
    (teacher / "models" / "model.pt").unlink()
    with pytest.raises(SystemExit, match="has no trained weights"):
        teacher_targets([], tmp_path, teacher, 32)
