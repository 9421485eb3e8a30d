"""Localisation of a structure in a whole-head study before a bundle trained on crops segments it."""

from .hippocampus import LocalisationError, WholeHeadResult, is_crop, segment_whole_head
from .registration import Registration, register_to_template

__all__ = ["LocalisationError", "Registration", "WholeHeadResult", "is_crop", "register_to_template",
           "segment_whole_head"]  # fmt: skip
