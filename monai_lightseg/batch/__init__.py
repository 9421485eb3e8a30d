"""Batch segmentation of folders of studies."""

from monai_lightseg.batch.segment import BatchOptions, merge_parts, run_batch

__all__ = ["BatchOptions", "merge_parts", "run_batch"]
