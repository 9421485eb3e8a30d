"""Networks: blocks, nets and the registry."""

from monai_lightseg.networks.nets import EMISNet, FeatureCompressionNet, LightU2Net
from monai_lightseg.networks.registry import create_net, list_nets, list_variants, variant_arguments
from monai_lightseg.networks.reparameterize import ReparameterizedNetwork, is_reparameterized, reparameterize

__all__ = [
    "EMISNet",
    "FeatureCompressionNet",
    "LightU2Net",
    "ReparameterizedNetwork",
    "create_net",
    "is_reparameterized",
    "list_nets",
    "list_variants",
    "reparameterize",
    "variant_arguments",
]
