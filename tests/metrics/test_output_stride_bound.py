"""benchmarks/output_stride_bound.py: what a coarse output grid costs a mask by itself."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from output_stride_bound import stride_dice  # noqa: E402


def test_a_large_blob_survives_a_coarse_grid_and_a_thin_line_does_not() -> None:
    yy, xx = np.mgrid[:256, :192]
    disk = (yy - 120) ** 2 + (xx - 90) ** 2 < 50**2
    assert stride_dice(disk, 1) == 1.0
    assert 0.98 < stride_dice(disk, 4) < 1.0
    assert stride_dice(disk, 8) < stride_dice(disk, 4) <= stride_dice(disk, 2)
    line = np.zeros((256, 192), dtype=bool)
    line[:, 97] = True  # one pixel wide: averaged to 1/4 at stride 4, under the cut
    assert stride_dice(line, 4) == pytest.approx(0.0)
