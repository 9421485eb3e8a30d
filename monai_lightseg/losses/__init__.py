"""Losses: seed B's compound loss and the deep-supervision adapter."""

from monai_lightseg.losses.compound import BceDiceMsSsimLoss
from monai_lightseg.losses.deep_supervision import StackedDeepSupervisionLoss
from monai_lightseg.losses.ms_ssim import MultiScaleSSIMLoss

__all__ = ["BceDiceMsSsimLoss", "MultiScaleSSIMLoss", "StackedDeepSupervisionLoss"]
