"""Keep the items of a datalist whose files can be decoded; name the others and why (issue 19: one truncated
file must not sink a whole inference run).

MONAI's loaders raise inside the DataLoader, which ends the whole ``monai.bundle run`` with a traceback and
no output for the good files. Decoding every file once up front (PIL for 2D images, MONAI's ``LoadImage`` for
volumes: the readers the bundles use; SimpleITK reads a truncated ``.nii.gz`` that nibabel, MONAI's choice,
refuses) costs a few milliseconds per 2D frame and a read per volume, and lets the run go on.
"""

from __future__ import annotations

import logging
from pathlib import Path

from monai_lightseg.data.datalist import VOLUME_SUFFIXES

__all__ = ["readable_items"]

logger = logging.getLogger(__name__)


def _decode(path: str) -> None:
    """Raise with the reader's reason when ``path`` cannot be fully decoded."""
    if path.lower().endswith(VOLUME_SUFFIXES):  # MONAI's own choice of reader, as the bundles' LoadImaged
        from monai.transforms import LoadImage

        LoadImage(image_only=True)(path)
        return
    from PIL import Image

    with Image.open(path) as image:
        image.load()


def readable_items(
    datalist: list[dict], unreadable: list | None = None, keys: tuple[str, ...] = ("image", "label")
) -> list[dict]:
    """The items of ``datalist`` whose ``keys`` files all decode. Each other item is logged (file name and the
    reader's reason) and appended to ``unreadable`` as ``{"file": name, "reason": text}`` (a list the caller
    shares with :class:`monai_lightseg.handlers.RunSummary`).

    Raises:
        ValueError: no item is readable (nothing to run on), naming the first failures."""
    kept, failed = [], unreadable if unreadable is not None else []
    for item in datalist:
        for key in keys:
            if key not in item:
                continue
            try:
                _decode(str(item[key]))
            except Exception as error:  # any reader error: the file is reported, the run goes on
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                logger.error("%s: unreadable, skipped (%s)", Path(item[key]).name, reason)
                failed.append({"file": Path(item[key]).name, "reason": reason})
                break
        else:
            kept.append(item)
    if datalist and not kept:
        names = ", ".join(f["file"] for f in failed[:5])
        raise ValueError(f"none of the {len(datalist)} files could be read: {names}{' ...' if len(failed) > 5 else ''}")
    return kept
