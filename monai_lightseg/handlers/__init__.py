"""Ignite handlers for bundle training and evaluation that MONAI does not provide."""

from monai_lightseg.handlers.best_network import KeepBestNetwork
from monai_lightseg.handlers.reparameterize import ReparameterizeNetwork
from monai_lightseg.handlers.resume import ResumeFromCheckpoint, latest_checkpoint
from monai_lightseg.handlers.run_summary import RunSummary
from monai_lightseg.handlers.segmentation_report import SegmentationReport
from monai_lightseg.handlers.training_log import TrainingLogCSV

__all__ = [
    "KeepBestNetwork",
    "ReparameterizeNetwork",
    "ResumeFromCheckpoint",
    "RunSummary",
    "SegmentationReport",
    "TrainingLogCSV",
    "latest_checkpoint",
]
