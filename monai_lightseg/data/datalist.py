"""Pair images with masks by file stem, and read datalist JSON files with paths relative to a root."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "IMAGE_SUFFIXES",
    "VOLUME_SUFFIXES",
    "build_datalist",
    "bundle_datalist",
    "load_datalist",
    "refuse_output_in_input",
]

#: 2D formats accepted in image/mask folders (case-insensitive).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp")
#: 3D formats (case-insensitive; ``.nii.gz`` is one suffix: ``a.nii.gz`` has the stem ``a``).
VOLUME_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd")


def _stem(path: Path, suffixes: tuple[str, ...]) -> str | None:
    """The name without the longest matching suffix, or ``None`` when no suffix matches."""
    name = path.name.lower()
    for suffix in sorted(suffixes, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return path.name[: -len(suffix)]
    return None


def _images(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: folder not found.")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        stem = _stem(path, suffixes) if path.is_file() else None
        if stem is not None:
            if stem in found:
                raise ValueError(f"{folder}: two files share the stem {stem!r}: {found[stem].name}, {path.name}.")
            found[stem] = path
    return found


def _head(names: list[str], n: int = 5) -> str:
    return f"{names[:n]}{' ...' if len(names) > n else ''}"


def refuse_output_in_input(input_dir: str | Path, output_dir: str | Path, inside: bool = False) -> None:
    """Refuse to write a run's masks into the folder it reads (a bundle's ``dataset_dir`` and ``output_dir``): a 2D
    bundle's ``<stem>.png`` replaced a PNG input with its own mask, and a rerun reads every mask as an input.
    ``inside``: also refuse an ``output_dir`` inside ``input_dir`` (the batch, whose outputs mirror the input tree
    and whose next run would read them as studies).

    Raises:
        ValueError: ``output_dir`` is ``input_dir`` (or, with ``inside``, below it).
    """
    source, target = Path(input_dir).resolve(), Path(output_dir).resolve()
    if target == source or (inside and source in target.parents):
        where = "is the input folder" if target == source else f"is inside the input folder {input_dir}"
        raise ValueError(
            f"the output folder {output_dir} {where}: the masks would replace or mix with the inputs (a PNG input "
            "would be overwritten by its own mask); choose an output folder outside it."
        )


def build_datalist(
    images_dir: str | Path,
    masks_dir: str | Path | None = None,
    relative_to: str | Path | None = None,
    suffixes: Iterable[str] = IMAGE_SUFFIXES,
    allow_unpaired: bool = False,
    extra_dirs: dict[str, str | Path] | None = None,
    output_dir: str | Path | None = None,
) -> list[dict[str, str]]:
    """A MONAI datalist ``[{"image": ..., "label": ...}, ...]`` from image and mask folders.

    Images and masks pair by file stem (``a.jpg`` with ``a.png`` is a pair; for volumes pass
    ``suffixes=VOLUME_SUFFIXES``: ``a.nii.gz`` with ``a.nii``). Without ``masks_dir``
    the items have only ``"image"`` (inference). ``extra_dirs`` adds more fields paired the same way, e.g.
    ``{"fov": "data/fov"}`` for field-of-view masks; every image must have one. Paths are relative to
    ``relative_to`` when given (as a bundle's ``dataset_dir``), else absolute. Sorted by image stem, so the
    list is deterministic. ``output_dir``: where an inference run will write (a bundle's ``@output_dir``), which
    must not be ``images_dir``: the 2D bundles write ``<stem>.png``, which replaced a PNG input with its own mask,
    and a rerun would read every mask as an image.

    Raises:
        FileNotFoundError: a folder does not exist, or holds no image.
        ValueError: ``output_dir`` is ``images_dir``.
        ValueError: an image has no mask or a mask no image (unless ``allow_unpaired``), or two files
            in one folder share a stem.
    """
    if output_dir is not None:
        refuse_output_in_input(images_dir, output_dir)
    suffixes = tuple(s.lower() for s in suffixes)
    images = _images(Path(images_dir), suffixes)
    if not images:
        raise FileNotFoundError(f"{images_dir}: no image with a suffix in {suffixes}.")
    masks = _images(Path(masks_dir), suffixes) if masks_dir is not None else {}
    if masks_dir is not None and not allow_unpaired:
        missing = sorted(set(images) - set(masks))
        orphans = sorted(set(masks) - set(images))
        if missing or orphans:
            raise ValueError(
                f"{images_dir} / {masks_dir}: images without a mask: {_head(missing)}; "
                f"masks without an image: {_head(orphans)}."
            )

    extras = {field: _images(Path(folder), suffixes) for field, folder in (extra_dirs or {}).items()}
    for field, found in extras.items():
        missing = sorted(set(images) - set(found))
        if missing:
            raise ValueError(f"{extra_dirs[field]}: no {field} file for the images {_head(missing)}.")

    def rel(path: Path) -> str:
        return str(path.resolve().relative_to(Path(relative_to).resolve())) if relative_to else str(path.resolve())

    items = []
    for stem, image in images.items():
        if masks_dir is not None and stem not in masks:
            continue
        item = {"image": rel(image)}
        if masks_dir is not None:
            item["label"] = rel(masks[stem])
        item.update({field: rel(found[stem]) for field, found in extras.items()})
        items.append(item)
    return items


def load_datalist(
    path: str | Path, key: str, root: str | Path, path_fields: Iterable[str] = ("image", "label")
) -> list[dict]:
    """Items of ``key`` in the datalist JSON ``path``, with their ``path_fields`` joined to ``root``.

    Raises ``ValueError`` naming the file when the key is missing, and ``FileNotFoundError`` naming the first
    listed file that does not exist under ``root``.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if key not in data:
        raise ValueError(f"{path}: no key {key!r}; keys are {sorted(data)}.")
    items = []
    for item in data[key]:
        joined = dict(item)
        for field in path_fields:
            if field in item:
                joined[field] = str(Path(root) / item[field])
                if not Path(joined[field]).is_file():
                    raise FileNotFoundError(f"{path}: {field} {item[field]!r} not found under {root}.")
        items.append(joined)
    return items


def bundle_datalist(
    dataset_dir: str | Path,
    datalist_file: str | Path,
    key: str,
    suffixes: Iterable[str] = IMAGE_SUFFIXES,
    extra_fields: Iterable[str] = (),
) -> list[dict]:
    """What a bundle's ``train.json``/``evaluate.json`` reads: the ``key`` part (``"training"``/``"validation"``)
    of the committed ``datalist_file``, joined to ``dataset_dir``, when ``dataset_dir`` holds every file that
    part lists (it is the data set the split was made for); otherwise, if ``dataset_dir`` holds
    ``images/`` and ``masks/``, the pairs in them (the same list for every ``key``: a user's folder is one set).
    The split is checked first because a data set laid out as ``images/`` and ``masks/`` (the shared DRIVE part)
    would otherwise train and validate on all its images, the validation images included.
    ``suffixes``: file types of the folders (:data:`IMAGE_SUFFIXES` or :data:`VOLUME_SUFFIXES`).
    ``extra_fields``: more paired files per item, each from the folder of the same name (e.g. ``("fov",)``
    reads ``fov/``) or the datalist field of that name.
    """
    root = Path(dataset_dir)
    extra_fields = tuple(extra_fields)
    fields = ("image", "label", *extra_fields)
    has_folders = (root / "images").is_dir() and (root / "masks").is_dir()
    if Path(datalist_file).is_file():
        try:
            return load_datalist(datalist_file, key, root, fields)
        except FileNotFoundError:
            if not has_folders:
                raise  # names the first listed file that is missing
    if has_folders:
        extra = {field: root / field for field in extra_fields}
        return build_datalist(root / "images", root / "masks", suffixes=suffixes, extra_dirs=extra)
    raise FileNotFoundError(
        f"{dataset_dir}: no images/ and masks/ folders, and no datalist file {datalist_file} to read instead."
    )
