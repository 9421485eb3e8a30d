"""The committed train/validation split of the shared polyp data (Kvasir-SEG + CVC-ClinicDB).

Rules (deterministic, documented in the polyp bundles' README):

- CVC-ClinicDB is split by video sequence, never by frame (frames of one sequence are near-duplicates).
  Of the 23 sequences in the shared part, those with ``seq % 5 == 1`` (1, 6, 11, 16, 21, 26; 132 frames)
  are validation, the other 17 (360 frames) training.
- Kvasir-SEG keeps EffiSegNet's published split: ``train_*`` (800) training, ``val_*`` (100) validation.
  The three known near-duplicate pairs (train_459/620, train_510/593, train_300/667) all sit in training.

The validation numbers serve model selection and are reported as such; the datasets' separate holdout
parts are not used here.
"""

from __future__ import annotations

from pathlib import Path

from monai_lightseg.data.datalist import build_datalist

__all__ = ["CVC_SEQUENCE_STARTS", "cvc_clinicdb_sequence", "polyp_datalist", "KVASIR_NEAR_DUPLICATES"]

#: first frame of each CVC-ClinicDB sequence 1..29 (from the dataset's README); sequence 29 ends at 612.
CVC_SEQUENCE_STARTS = (
    1, 26, 51, 68, 79, 104, 127, 152, 178, 200, 206, 228, 253, 278, 298,
    318, 343, 364, 384, 409, 429, 448, 467, 479, 504, 529, 547, 572, 592,
)  # fmt: skip
KVASIR_NEAR_DUPLICATES = (("train_459", "train_620"), ("train_510", "train_593"), ("train_300", "train_667"))


def cvc_clinicdb_sequence(frame: int) -> int:
    """The video sequence (1..29) of CVC-ClinicDB frame number ``frame`` (1..612)."""
    if not 1 <= frame <= 612:
        raise ValueError(f"CVC-ClinicDB frame numbers are 1..612, got {frame}.")
    return max(i + 1 for i, start in enumerate(CVC_SEQUENCE_STARTS) if start <= frame)


def _is_validation(dataset: str, stem: str) -> bool:
    if dataset == "kvasir_seg":
        return stem.startswith("val_")
    return cvc_clinicdb_sequence(int(stem)) % 5 == 1


def polyp_datalist(data_root: str | Path) -> dict[str, list[dict[str, str]]]:
    """``{"training": [...], "validation": [...]}`` over ``data_root/{kvasir_seg,cvc_clinicdb}/{images,masks}``,
    paths relative to ``data_root``; each item also names its ``dataset``."""
    split: dict[str, list[dict[str, str]]] = {"training": [], "validation": []}
    for dataset in ("kvasir_seg", "cvc_clinicdb"):
        root = Path(data_root) / dataset
        for item in build_datalist(root / "images", root / "masks", relative_to=data_root):
            stem = Path(item["image"]).stem
            split["validation" if _is_validation(dataset, stem) else "training"].append({**item, "dataset": dataset})
    for a, b in KVASIR_NEAR_DUPLICATES:
        sides = {_is_validation("kvasir_seg", s) for s in (a, b)}
        if len(sides) != 1:
            raise RuntimeError(f"near-duplicate pair {a}/{b} was split across training and validation.")
    return split
