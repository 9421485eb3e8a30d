"""Inference entry points shared by the batch command and other callers."""

from monai_lightseg.inference.bundle_segmenter import BundleSegmenter

__all__ = ["BundleSegmenter"]
