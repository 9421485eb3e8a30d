"""Inference entry points shared by the batch command, the bundles and other callers."""

from monai_lightseg.inference.bundle_segmenter import BundleSegmenter
from monai_lightseg.inference.clicks import segment_around_clicks
from monai_lightseg.inference.flip_averaging import FlipAveragingInferer
from monai_lightseg.inference.locate_then_segment import LocateThenSegmentInferer
from monai_lightseg.inference.runtimes import RUNTIMES, OnnxRuntimeNetwork, deploy
from monai_lightseg.inference.scale_averaging import ScaleAveragingInferer

__all__ = [
    "BundleSegmenter",
    "FlipAveragingInferer",
    "LocateThenSegmentInferer",
    "OnnxRuntimeNetwork",
    "RUNTIMES",
    "ScaleAveragingInferer",
    "deploy",
    "segment_around_clicks",
]
