"""Reusable blocks, one idea per module."""

from monai_lightseg.networks.blocks.asymmetric_conv import AsymmetricConv, MultiScaleAsymmetricConv
from monai_lightseg.networks.blocks.bir import BIRBlock
from monai_lightseg.networks.blocks.coordinate_attention import CoordinateAttention
from monai_lightseg.networks.blocks.dcm import DistributedCompressionBlock
from monai_lightseg.networks.blocks.depthwise_separable import DepthwiseSeparableConv
from monai_lightseg.networks.blocks.efam import EFAMBlock
from monai_lightseg.networks.blocks.ghost import GhostModule
from monai_lightseg.networks.blocks.icm import ICMBlock
from monai_lightseg.networks.blocks.lgfe import LGFEBlock
from monai_lightseg.networks.blocks.rsu import RSU
from monai_lightseg.networks.blocks.side_outputs import SideOutputs
from monai_lightseg.networks.blocks.spatial_attention import SpatialAttention

__all__ = [
    "AsymmetricConv",
    "BIRBlock",
    "CoordinateAttention",
    "DepthwiseSeparableConv",
    "DistributedCompressionBlock",
    "EFAMBlock",
    "GhostModule",
    "ICMBlock",
    "LGFEBlock",
    "MultiScaleAsymmetricConv",
    "RSU",
    "SideOutputs",
    "SpatialAttention",
]
