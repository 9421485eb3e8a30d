"""Every bundle's inference re-parameterises its network by default: on the shipped samples the masks are those
of the network as trained, pixel for pixel; the config switch and the batch option turn it off."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ignite.engine import Engine, Events

from monai_lightseg.handlers import ReparameterizeNetwork
from monai_lightseg.inference import BundleSegmenter
from monai_lightseg.networks import is_reparameterized
from tests.bundles.conftest import BUNDLES_DIR, ensure_weights

ALL_BUNDLES = sorted(p.name for p in BUNDLES_DIR.glob("*_segmentation"))


@pytest.mark.parametrize("name", ALL_BUNDLES)
def test_folded_and_eager_masks_are_identical_on_the_shipped_samples(name: str, scratch_bundle) -> None:
    """Pixel for pixel with trained weights. A bundle still training is checked with a seeded initialisation,
    whose logits sit near the threshold on much of the image: there folding's float rounding may flip up to
    0.5 % of the pixels. On PyTorch for every bundle (a bundle with another runtime always folds; the runtimes'
    own masks are compared in tests/inference/test_runtimes.py)."""
    root = scratch_bundle(name)
    trained = (root / "models" / "model.pt").is_file() and (BUNDLES_DIR / name / "docs" / "results.json").is_file()
    ensure_weights(root)
    folded = BundleSegmenter(root, device="cpu", runtime="eager")
    eager = BundleSegmenter(root, device="cpu", reparameterize=False, runtime="eager")
    assert is_reparameterized(folded.network) and not is_reparameterized(eager.network)
    samples = sorted((root / "sample_data" / "images").iterdir())
    assert samples
    for sample in samples:
        a, b = folded(sample), eager(sample)
        differ = np.count_nonzero(a != b)
        assert a.shape == b.shape and differ <= (0 if trained else 0.005 * a.size), f"{sample.name}: {differ} differ"


def test_handler_folds_after_the_weights_are_loaded_and_can_be_switched_off() -> None:
    for enabled in (True, False):
        engine = Engine(lambda e, b: None)
        engine.network = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)).eval()
        loaded = {}
        engine.add_event_handler(Events.STARTED, lambda e: loaded.setdefault("first", is_reparameterized(e.network)))
        ReparameterizeNetwork(enabled=enabled).attach(engine)
        engine.run([0], max_epochs=1)
        assert loaded["first"] is False  # a handler attached before (the CheckpointLoader) saw the network unfolded
        assert is_reparameterized(engine.network) is enabled


def test_bundle_run_with_the_torchscript_runtime_writes_the_eager_masks(scratch_bundle, tmp_path) -> None:
    """``python -m monai.bundle run ... --runtime torchscript``: the evaluator's network becomes the scripted,
    frozen folded network, and the masks it writes are those of the default (eager) run."""
    from monai.bundle import run
    from PIL import Image

    root = scratch_bundle("polyp_endoscopy_feature_compression_net_segmentation")
    ensure_weights(root)
    outs = {}
    for runtime in ("eager", "torchscript"):
        outs[runtime] = tmp_path / runtime
        run(
            config_file=str(root / "configs/inference.json"),
            bundle_root=str(root),
            dataset_dir=str(root / "sample_data" / "images"),
            output_dir=str(outs[runtime]),
            runtime=runtime,
        )
    masks = sorted(p.name for p in outs["eager"].glob("*.png") if not p.stem.endswith("_overlay"))
    assert masks
    for name in masks:
        a = np.asarray(Image.open(outs["eager"] / name))
        b = np.asarray(Image.open(outs["torchscript"] / name))
        assert np.count_nonzero(a != b) <= 1e-4 * a.size, name
