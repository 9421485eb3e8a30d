"""Networks: blocks, nets and the registry."""

from monai_lightseg.networks.nets import EMISNet, FeatureCompressionNet, LightU2Net
from monai_lightseg.networks.registry import create_net, list_nets, list_variants

__all__ = ["EMISNet", "FeatureCompressionNet", "LightU2Net", "create_net", "list_nets", "list_variants"]
