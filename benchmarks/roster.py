"""The networks the benchmarks compare, built as the bundles ship them.

Per case (``2d``: one RGB frame 1x3x256x256, what the polyp bundles see; ``3d``: one hippocampus window
1x1x40x56x40, the hippocampus bundles' ``roi_size``) the roster holds:

- ``baseline``: MONAI's ``UNet`` exactly as the case's UNet bundle builds it (the ratios' denominator), MONAI's
  ``BasicUNet`` and ``SegResNet`` at their defaults, and ``AttentionUnet`` with the UNet bundle's widths and strides;
- ``bundle``: each seed network with its bundle's ``network_def`` (read from ``configs/inference.json``, so the
  table follows the configs);
- ``fast``: the settings issue 16 chose by the clock: the registry's ``fast`` variant in 2D; in 3D the
  bundle's settings with ``stem_stride=2`` (a stride of 4 leaves a 10x14x10 grid of a 40x56x40 window).

Outside the roster, ``<seed net>_base`` builds the registry's ``base`` variant in 2D (for ablations).
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = {"2d": (1, 3, 256, 256), "3d": (1, 1, 40, 56, 40)}
BASELINE = "monai_unet"
SEED_NETS = ("emisnet", "feature_compression_net", "light_u2net")
TASKS = {"2d": "polyp_endoscopy", "3d": "hippocampus_mri"}


def roster(case: str) -> list[tuple[str, str]]:
    """``(entry, group)`` pairs of ``case`` in table order; the baseline UNet first."""
    entries = [(BASELINE, "baseline"), ("monai_basic_unet", "baseline"), ("monai_segresnet", "baseline"),
               ("monai_attention_unet", "baseline")]  # fmt: skip
    entries += [(n, "bundle") for n in SEED_NETS]
    entries += [(f"{n}_fast", "fast") for n in SEED_NETS]
    return entries


def network_def(name: str, case: str) -> dict:
    """The ``network_def`` of ``name``'s bundle for ``case``, as committed."""
    bundle = f"{TASKS[case]}_{'unet' if name == BASELINE else name}_segmentation"
    config = json.loads((REPO / "bundles" / bundle / "configs" / "inference.json").read_text(encoding="utf-8"))
    return dict(config["network_def"])


def widened(name: str, variant: str, factor: float) -> dict:
    """Architecture overrides that scale every width of ``name``'s ``variant`` (``channels`` and, where the
    network has them, ``mid_channels``) by ``factor``, rounded to multiples of 4; ``{}`` for a factor of 1."""
    from monai_lightseg.networks import variant_arguments

    if factor == 1:
        return {}
    arguments = variant_arguments(name, variant)
    return {
        key: tuple(max(4, 4 * round(w * factor / 4)) for w in arguments[key])
        for key in ("channels", "mid_channels")
        if key in arguments
    }


def build(entry: str, case: str, width: float = 1.0):
    """The network of roster ``entry`` for ``case`` (eval mode not set), with the case's input channels;
    ``width`` scales a ``_fast`` seed network's widths in 2D (:func:`widened`; for ablations)."""
    from monai.bundle import ConfigParser
    from monai.networks.nets import AttentionUnet, BasicUNet, SegResNet

    from monai_lightseg.networks import create_net

    if width != 1 and not (entry.endswith("_fast") and case == "2d"):
        raise ValueError(f"build: width applies to the 2D `_fast` seed networks, not {entry!r} in {case!r}.")
    shape = CASES[case]
    dims, in_channels = len(shape) - 2, shape[1]
    out_channels = 1 if case == "2d" else 3
    if entry == BASELINE:
        return ConfigParser({"net": network_def(BASELINE, case)}).get_parsed_content("net")
    if entry == "monai_basic_unet":
        return BasicUNet(dims, in_channels, out_channels)
    if entry == "monai_segresnet":
        return SegResNet(dims, in_channels=in_channels, out_channels=out_channels)
    if entry == "monai_attention_unet":  # the widths and strides of the case's UNet bundle
        unet = network_def(BASELINE, case)
        return AttentionUnet(dims, in_channels, out_channels, channels=unet["channels"], strides=unet["strides"])
    if entry.endswith("_base") and case == "2d":  # the registry's base widths (the seed papers' layouts)
        return create_net(entry[: -len("_base")], "base", spatial_dims=dims, in_channels=in_channels,
                          out_channels=out_channels)  # fmt: skip
    if entry.endswith("_fast"):
        name = entry[: -len("_fast")]
        if case == "2d":
            return create_net(name, "fast", spatial_dims=dims, in_channels=in_channels, out_channels=out_channels,
                              **widened(name, "fast", width))  # fmt: skip
        definition = network_def(name, case) | {"stem_stride": 2}
    else:
        definition = network_def(entry, case)
    return ConfigParser({"net": definition}).get_parsed_content("net")
