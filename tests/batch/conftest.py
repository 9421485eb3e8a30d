"""Fixtures for batch tests: a tiny 3D bundle whose "network" thresholds intensity, so that every mask follows the
anatomy and any flip, shift or transposition of geometry shows in the tests (IO and geometry are under test,
not accuracy: a randomly initialised net tends to predict one class everywhere, which hides such errors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

TINY_3D_INFERENCE = {
    "imports": ["$import torch"],
    "bundle_root": ".",
    "device": "$torch.device('cuda' if torch.cuda.is_available() else 'cpu')",
    "amp": False,
    "network_def": {"_target_": "torch.nn.Conv3d", "in_channels": 1, "out_channels": 3, "kernel_size": 1},
    "network": "$@network_def.to(@device)",
    "preprocessing": {"_target_": "Compose", "transforms": [
        {"_target_": "LoadImaged", "keys": "image", "reader": "ITKReader", "image_only": False},
        {"_target_": "EnsureChannelFirstd", "keys": "image"},
        {"_target_": "monai_lightseg.transforms.OrthonormalizeAffined", "keys": "image"},
        {"_target_": "monai_lightseg.transforms.StableSpacingd", "keys": "image", "pixdim": [1.0, 1.0, 1.0],
         "mode": "bilinear"},
        {"_target_": "NormalizeIntensityd", "keys": "image"},
    ]},
    "inferer": {"_target_": "SlidingWindowInferer", "roi_size": [16, 16, 16], "sw_batch_size": 2},
    "postprocessing": {"_target_": "Compose", "transforms": [
        {"_target_": "Activationsd", "keys": "pred", "softmax": True},
        {"_target_": "AsDiscreted", "keys": "pred", "argmax": True},
        {"_target_": "SaveImaged", "keys": "pred", "output_dir": "/nonexistent"},
    ]},
}  # fmt: skip
TINY_3D_METADATA = {
    "version": "0.0.1",
    "name": "tiny test bundle",
    "network_data_format": {
        "inputs": {"image": {"type": "image", "format": "magnitude", "num_channels": 1, "spatial_shape": [16, 16, 16],
                             "dtype": "float32", "value_range": [0, 1]}},
        "outputs": {"pred": {"type": "image", "format": "segmentation", "num_channels": 3,
                             "spatial_shape": [16, 16, 16],
                             "dtype": "float32", "value_range": [0, 1],
                             "channel_def": {"0": "background", "1": "anterior", "2": "posterior"}}},
    },
}  # fmt: skip


def make_tiny_3d_bundle(root: Path) -> Path:
    """A 3-class 3D bundle (z-scored intensity > 0.5: class 1, < -0.5: class 2, else background) with a SaveImaged
    the batch runner must strip."""
    from monai.bundle import ConfigParser

    (root / "configs").mkdir(parents=True)
    (root / "models").mkdir()
    (root / "configs" / "inference.json").write_text(json.dumps(TINY_3D_INFERENCE, indent=2), encoding="utf-8")
    (root / "configs" / "metadata.json").write_text(json.dumps(TINY_3D_METADATA, indent=2), encoding="utf-8")
    parser = ConfigParser()
    parser.read_config(str(root / "configs" / "inference.json"))
    net = parser.get_parsed_content("network_def")
    with torch.no_grad():
        net.weight.copy_(torch.tensor([0.0, 1.0, -1.0]).view(3, 1, 1, 1, 1))
        net.bias.copy_(torch.tensor([0.0, -0.5, -0.5]))
    torch.save(net.state_dict(), root / "models" / "model.pt")
    return root


@pytest.fixture
def tiny_3d_bundle(tmp_path) -> Path:
    return make_tiny_3d_bundle(tmp_path / "tiny_3d_bundle")
