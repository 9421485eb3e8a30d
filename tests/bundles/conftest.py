"""Fixtures for bundle tests: each test works on a scratch copy of a bundle, never the committed one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO

BUNDLES_DIR = REPO / "bundles"
SCHEMA = BUNDLES_DIR / "schemas" / "meta_schema_20240725.json"
POLYP_BUNDLES = sorted(p.name for p in BUNDLES_DIR.glob("polyp_endoscopy_*_segmentation"))
# finished and reported (weights plus the reference masks the report writes); a bundle still training ships its
# checkpoint and interim weights for resuming, which are not yet a release
TRAINED_POLYP_BUNDLES = [
    b
    for b in POLYP_BUNDLES
    if (BUNDLES_DIR / b / "models" / "model.pt").is_file() and (BUNDLES_DIR / b / "docs" / "results.json").is_file()
]


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
