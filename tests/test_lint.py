"""Style is part of the test command: flake8 and isort (configured in setup.cfg) must pass."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

TARGETS = ["monai_lightseg", "tests", "benchmarks", "scripts", "apps"]


def test_flake8_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "flake8", *TARGETS], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_isort_clean() -> None:
    cmd = [sys.executable, "-m", "isort", "--check-only", "--diff", *TARGETS]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
