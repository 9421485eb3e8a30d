"""The registry of this package's networks: ``create_net(name, variant, **kwargs)`` and ``list_nets()``.

An explicit table, filled at import of this module (no decorators, no import side effects elsewhere).
A variant is a set of architecture arguments; caller keyword arguments override it.

``fast`` is the set chosen by the clock (issue 16, docs/networks.md "Fast settings"): a stem that downsamples by
4, as the polyp literature's real-time networks do (PraNet, HarDNet-MSEG predict at 1/4-1/8 and upsample), and for
LightU2Net three levels instead of four. At 1x3x256x256 on 2 CPU threads each is at or below MONAI's UNet in
inference latency and training-step time. It is tuned for 2D frames; for small 3D windows use ``stem_stride=2``.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from monai_lightseg.networks.nets.emisnet import EMISNet
from monai_lightseg.networks.nets.feature_compression_net import FeatureCompressionNet
from monai_lightseg.networks.nets.light_u2net import LightU2Net

__all__ = ["create_net", "list_nets", "list_variants", "variant_arguments", "NETWORKS"]

#: name -> (class, {variant: architecture arguments}); "base" is the class's own defaults.
NETWORKS: dict[str, tuple[type[nn.Module], dict[str, dict[str, Any]]]] = {
    "feature_compression_net": (
        FeatureCompressionNet,
        {
            "tiny": {"channels": (8, 16, 32, 64, 96), "compression": 4},
            "small": {"channels": (12, 24, 48, 96, 128), "compression": 6},
            "base": {},
            "fast": {"stem_stride": 4},
        },
    ),
    "light_u2net": (
        LightU2Net,
        {
            "tiny": {"channels": (6, 12, 24, 48), "mid_channels": (3, 6, 12, 24), "heights": (4, 3, 3, 2)},
            "small": {"channels": (8, 16, 32, 64), "mid_channels": (4, 8, 16, 32), "heights": (4, 3, 3, 2)},
            "base": {},
            "fast": {"stem_stride": 4, "channels": (16, 48, 128), "mid_channels": (8, 24, 64), "heights": (4, 3, 3)},
        },
    ),
    "emisnet": (
        EMISNet,
        {
            "tiny": {"channels": (8, 16, 32, 64, 128), "encoder_depths": (1, 1, 1, 1, 1)},
            "small": {"channels": (12, 24, 48, 96, 128), "encoder_depths": (1, 1, 1, 2, 2)},
            "base": {},
            "fast": {"stem_stride": 4},
        },
    ),
}


def list_nets() -> list[str]:
    """Names accepted by :func:`create_net`, sorted."""
    return sorted(NETWORKS)


def list_variants(name: str) -> list[str]:
    """Variant names of network ``name`` (e.g. ``["base", "fast", "small", "tiny"]``)."""
    return sorted(_lookup(name)[1])


def variant_arguments(name: str, variant: str = "base") -> dict[str, Any]:
    """The architecture arguments ``create_net(name, variant)`` builds with: the variant's own, and the class's
    defaults for the rest (``spatial_dims``, ``in_channels`` and ``out_channels`` are the caller's, so absent).

    Example::

        >>> variant_arguments("light_u2net", "fast")["channels"]
        (16, 48, 128)
    """
    cls, variants = _lookup(name)
    if variant not in variants:
        raise ValueError(f"unknown variant {variant!r} of {name!r}; choose one of {sorted(variants)}.")
    defaults = {
        key: parameter.default
        for key, parameter in inspect.signature(cls).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    return {**defaults, **variants[variant]}


def create_net(name: str, variant: str = "base", **kwargs: Any) -> nn.Module:
    """Build network ``name`` in ``variant``; ``kwargs`` (``spatial_dims``, ``in_channels``, ``out_channels``
    and any architecture argument) override the variant's arguments.

    Example::

        >>> net = create_net("emisnet", "tiny", spatial_dims=2, in_channels=3, out_channels=1)
    """
    return _lookup(name)[0](**{**variant_arguments(name, variant), **kwargs})


def _lookup(name: str) -> tuple[type[nn.Module], dict[str, dict[str, Any]]]:
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; choose one of {list_nets()}.")
    return NETWORKS[name]
