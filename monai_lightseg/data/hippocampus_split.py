"""The train/validation split of the shared MSD Task04 hippocampus volumes, by subject.

MSD numbers the two hippocampi of one subject with consecutive ids (2k-1, 2k), so the subject key is
``(id + 1) // 2`` (inferred from the data; see the shared data README). Both sides of a person always fall on
the same side of the split. Sorted subject keys at 0-based positions 4, 9, 14, ... (every 5th) are validation,
the rest training; the dataset's separate holdout is not used here.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["hippocampus_subject", "hippocampus_datalist"]

_ID = re.compile(r"hippocampus_(\d+)\.nii(\.gz)?$")


def hippocampus_subject(name: str) -> int:
    """Subject key of an MSD file name such as ``hippocampus_017.nii.gz`` (here 9)."""
    match = _ID.search(name)
    if match is None:
        raise ValueError(f"{name}: not an MSD hippocampus file name (hippocampus_<id>.nii.gz).")
    return (int(match.group(1)) + 1) // 2


def hippocampus_datalist(data_root: str | Path) -> dict[str, list[dict]]:
    """``{"training": [...], "validation": [...]}`` over ``data_root/{imagesTr,labelsTr}``, paths relative to
    ``data_root``, each item with its ``subject`` key. Raises ``ValueError`` naming an image without a label."""
    root = Path(data_root)
    images = sorted((root / "imagesTr").glob("hippocampus_*.nii*"))
    if not images:
        raise FileNotFoundError(f"{root / 'imagesTr'}: no hippocampus_*.nii.gz files.")
    subjects = sorted({hippocampus_subject(p.name) for p in images})
    validation_subjects = {s for i, s in enumerate(subjects) if i % 5 == 4}
    split: dict[str, list[dict]] = {"training": [], "validation": []}
    for image in images:
        label = root / "labelsTr" / image.name
        if not label.is_file():
            raise ValueError(f"{image.name}: no label in {root / 'labelsTr'}.")
        subject = hippocampus_subject(image.name)
        item = {"image": f"imagesTr/{image.name}", "label": f"labelsTr/{image.name}", "subject": subject}
        split["validation" if subject in validation_subjects else "training"].append(item)
    return split
