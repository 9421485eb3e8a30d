"""benchmarks/benchmark_locate_then_segment.py records which weights ran: a copy of a bundle made for an
experiment keeps the shipped bundle's folder name, so the name alone cannot tell the two apart."""

import hashlib
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from benchmark_locate_then_segment import bundle_identity  # noqa: E402

SHIPPED = REPO / "bundles" / "polyp_endoscopy_feature_compression_net_segmentation"


def test_a_shipped_bundle_is_named_by_its_path_in_the_repository_its_version_and_its_weights() -> None:
    identity = bundle_identity(SHIPPED)
    assert identity["bundle_path"] == "bundles/polyp_endoscopy_feature_compression_net_segmentation"
    metadata = json.loads((SHIPPED / "configs" / "metadata.json").read_text(encoding="utf-8"))
    assert identity["bundle_version"] == metadata["version"]
    assert identity["weights_sha256"] == hashlib.sha256((SHIPPED / "models" / "model.pt").read_bytes()).hexdigest()


def test_a_copy_with_other_weights_is_told_apart_from_the_shipped_bundle(tmp_path) -> None:
    copy = tmp_path / SHIPPED.name
    shutil.copytree(SHIPPED / "configs", copy / "configs")
    (copy / "models").mkdir()
    (copy / "models" / "model.pt").write_bytes(b"other weights")
    identity = bundle_identity(copy)
    assert identity["bundle_path"] == str(copy.resolve())
    assert identity["weights_sha256"] != bundle_identity(SHIPPED)["weights_sha256"]
    assert bundle_identity(tmp_path)["weights_sha256"] is None  # a folder without weights: nothing to hash
