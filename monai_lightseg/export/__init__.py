"""Bundles handed on: a self-contained copy whose configs need only MONAI and the packages in its metadata."""

from monai_lightseg.export.self_contained import export_bundle

__all__ = ["export_bundle"]
