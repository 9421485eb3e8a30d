"""The federation tests' inputs: the FeatureCompressionNet polyp bundle and the two shipped sample frames (one per
hospital, paths relative to ``SAMPLES / "polyp"``), written as a site datalist by :func:`write_datalist`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REPO

BUNDLE = REPO / "bundles" / "polyp_endoscopy_feature_compression_net_segmentation"
KVASIR = {"image": "images/kvasir_val_0.jpg", "label": "masks/kvasir_val_0.jpg", "dataset": "kvasir_seg"}
CVC = {"image": "images/cvc_clinicdb_1.png", "label": "masks/cvc_clinicdb_1.png", "dataset": "cvc_clinicdb"}


def write_datalist(path: Path, training: list[dict], validation: list[dict]) -> Path:
    """``path`` as a datalist JSON ({"training": ..., "validation": ...}); returns it."""
    path.write_text(json.dumps({"training": training, "validation": validation}), encoding="utf-8")
    return path
