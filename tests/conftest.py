"""Shared fixtures: deterministic seeds, and the repo's shipped samples."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


def require_tool(name: str, package: str):
    """Path of an external tool; skips when it is missing, except in CI (``MONAI_LIGHTSEG_REQUIRE_TOOLS=1``, set by
    ``.ci/run``, which installs the tools), where a missing tool is a failure, not a silent skip."""
    import os
    import shutil

    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed (Debian package {package})"
        if os.environ.get("MONAI_LIGHTSEG_REQUIRE_TOOLS") == "1":
            pytest.fail(message + "; .ci/run should have installed it")
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES
