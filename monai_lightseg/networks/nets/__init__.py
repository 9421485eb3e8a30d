"""Public networks, one per module."""

from monai_lightseg.networks.nets.emisnet import EMISNet
from monai_lightseg.networks.nets.feature_compression_net import FeatureCompressionNet
from monai_lightseg.networks.nets.light_u2net import LightU2Net

__all__ = ["EMISNet", "FeatureCompressionNet", "LightU2Net"]
