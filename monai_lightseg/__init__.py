"""monai_lightseg: lightweight MONAI-compatible segmentation networks, bundles and clinical IO."""

from monai_lightseg.networks import (
    EMISNet,
    FeatureCompressionNet,
    LightU2Net,
    create_net,
    list_nets,
    list_variants,
    variant_arguments,
)

__version__ = "0.1.0"

__all__ = [
    "EMISNet",
    "FeatureCompressionNet",
    "LightU2Net",
    "__version__",
    "create_net",
    "list_nets",
    "list_variants",
    "variant_arguments",
]
