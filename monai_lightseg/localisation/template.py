"""The brain template the localisation registers to, and where the hippocampi lie in it.

Template: MNI152 2009a symmetric T1 (brain-extracted), 2 mm, shipped in the package with its licence
(``LICENSE_MNI152.txt``). Hippocampus positions: the centroids of the AAL atlas' hippocampus regions in MNI
space (Tzourio-Mazoyer et al., NeuroImage 15 (2002) 273-289), in RAS millimetres. The box around each is the
MSD Task04 crops' extent (about 35x50x35 mm around one hippocampus) with a margin for registration error.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import SimpleITK as sitk

TEMPLATE_PATH = Path(__file__).with_name("mni152_2009a_sym_t1_2mm.nii.gz")

#: AAL hippocampus centroids, MNI RAS mm (x: right +, y: anterior +, z: superior +)
HIPPOCAMPUS_CENTROIDS_RAS = {"left": (-25.0, -20.7, -10.1), "right": (29.2, -19.8, -10.3)}
#: half extents (mm, RAS axes) of the box around each centroid: the MSD crops' 35x50x35 mm plus about 6 mm
HIPPOCAMPUS_HALF_EXTENT_MM = (24.0, 32.0, 24.0)


@lru_cache(maxsize=1)
def load_template() -> sitk.Image:
    """The template as float32 (SimpleITK, LPS physical space, 2 mm)."""
    return sitk.ReadImage(str(TEMPLATE_PATH), sitk.sitkFloat32)


@lru_cache(maxsize=1)
def template_brain_mask() -> sitk.Image:
    """Voxels of the template inside the brain (intensity above 10 % of its maximum), uint8."""
    template = load_template()
    peak = float(np.max(sitk.GetArrayViewFromImage(template)))
    return sitk.Cast(template > 0.1 * peak, sitk.sitkUInt8)


def box_corners_lps(side: str) -> np.ndarray:
    """The 8 corners (8, 3) of ``side``'s hippocampus box in template physical space (LPS mm, SimpleITK's)."""
    centre = np.asarray(HIPPOCAMPUS_CENTROIDS_RAS[side])
    half = np.asarray(HIPPOCAMPUS_HALF_EXTENT_MM)
    signs = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], dtype=float)
    ras = centre + signs * half
    return ras * np.array([-1.0, -1.0, 1.0])  # RAS -> LPS
