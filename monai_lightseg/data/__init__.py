"""Datalists: pairing images with masks, and the deterministic splits of the public datasets."""

from monai_lightseg.data.balanced_sampler import balanced_sampler, group_weights
from monai_lightseg.data.datalist import IMAGE_SUFFIXES, VOLUME_SUFFIXES, build_datalist, bundle_datalist, load_datalist
from monai_lightseg.data.drive_split import drive_datalist
from monai_lightseg.data.hippocampus_split import hippocampus_datalist, hippocampus_subject
from monai_lightseg.data.polyp_split import cvc_clinicdb_sequence, polyp_datalist
from monai_lightseg.data.readable import readable_items

__all__ = [
    "IMAGE_SUFFIXES",
    "VOLUME_SUFFIXES",
    "balanced_sampler",
    "build_datalist",
    "bundle_datalist",
    "cvc_clinicdb_sequence",
    "drive_datalist",
    "group_weights",
    "hippocampus_datalist",
    "hippocampus_subject",
    "load_datalist",
    "polyp_datalist",
    "readable_items",
]
