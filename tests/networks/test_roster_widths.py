"""The benchmarks' width scaling (benchmarks/roster.py ``widened``, issue 17): every width of a ``fast`` setting
scales, the rest of the setting stays, and a widened network still maps a frame to a same-sized logit map."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from roster import build, widened  # noqa: E402


def test_widened_scales_every_width_to_multiples_of_four():
    assert widened("feature_compression_net", "fast", 1.0) == {}
    assert widened("feature_compression_net", "fast", 2.0) == {"channels": (32, 48, 96, 192, 384)}
    assert widened("feature_compression_net", "fast", 1.5) == {"channels": (24, 36, 72, 144, 288)}
    # LightU2Net's fast setting has its own widths, and mid_channels scale with them
    assert widened("light_u2net", "fast", 2.0) == {"channels": (32, 96, 256), "mid_channels": (16, 48, 128)}


@pytest.mark.parametrize("name", ["feature_compression_net", "emisnet", "light_u2net"])
def test_a_widened_fast_network_keeps_its_stem_and_output_shape(name):
    narrow, wide = build(f"{name}_fast", "2d"), build(f"{name}_fast", "2d", width=2.0)
    assert wide.stem_stride == narrow.stem_stride == 4
    assert sum(p.numel() for p in wide.parameters()) > 2 * sum(p.numel() for p in narrow.parameters())
    with torch.no_grad():
        out = wide.eval()(torch.rand(1, 3, 64, 96))
    assert out.shape == (1, 1, 64, 96)


def test_width_is_refused_where_it_would_be_ignored():
    with pytest.raises(ValueError, match="width applies"):
        build("monai_unet", "2d", width=2.0)
