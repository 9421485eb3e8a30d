"""Per-image segmentation metrics and their summaries."""

from monai_lightseg.metrics.segmentation import METRIC_NAMES, per_image_metrics, summarize

__all__ = ["METRIC_NAMES", "per_image_metrics", "summarize"]
