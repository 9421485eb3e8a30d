"""Transforms MONAI lacks, each as an array transform and its thin dictionary wrapper."""

from monai_lightseg.transforms.geometry.array import (
    OrthonormalizeAffine,
    StableSpacing,
    stable_shape_offset,
    tie_tolerant_round,
)
from monai_lightseg.transforms.geometry.dictionary import (
    OrthonormalizeAffined,
    OrthonormalizeAffineD,
    OrthonormalizeAffineDict,
    StableSpacingd,
    StableSpacingD,
    StableSpacingDict,
)
from monai_lightseg.transforms.intensity.array import AdaptiveHistogramEqualize
from monai_lightseg.transforms.intensity.dictionary import (
    AdaptiveHistogramEqualized,
    AdaptiveHistogramEqualizeD,
    AdaptiveHistogramEqualizeDict,
)
from monai_lightseg.transforms.overlay.array import BlendMaskOverlay
from monai_lightseg.transforms.overlay.dictionary import BlendMaskOverlayd, BlendMaskOverlayD, BlendMaskOverlayDict
from monai_lightseg.transforms.sampling.array import lesion_free_window_starts
from monai_lightseg.transforms.sampling.dictionary import (
    RandLesionFreeWindowd,
    RandLesionFreeWindowD,
    RandLesionFreeWindowDict,
)

__all__ = [
    "AdaptiveHistogramEqualize",
    "AdaptiveHistogramEqualized",
    "AdaptiveHistogramEqualizeD",
    "AdaptiveHistogramEqualizeDict",
    "BlendMaskOverlay",
    "BlendMaskOverlayd",
    "BlendMaskOverlayD",
    "BlendMaskOverlayDict",
    "OrthonormalizeAffine",
    "OrthonormalizeAffined",
    "OrthonormalizeAffineD",
    "OrthonormalizeAffineDict",
    "RandLesionFreeWindowd",
    "RandLesionFreeWindowD",
    "RandLesionFreeWindowDict",
    "StableSpacing",
    "StableSpacingd",
    "StableSpacingD",
    "StableSpacingDict",
    "lesion_free_window_starts",
    "stable_shape_offset",
    "tie_tolerant_round",
]
