"""``monai-lightseg segment``: segment every study under a folder with a bundle, one study at a time.

Per study: read with geometry checks (any failure is that study's, reported with its reason, and the batch
goes on), segment with the bundle's own pipeline (:class:`BundleSegmenter`), write the outputs next to where
the input tree puts them (temporary file, then rename), then append the study to the manifest. Outputs:

- 2D image or 2D DICOM frame: ``<relpath without suffix>.png`` (0/255).
- NIfTI: ``<relpath without suffix>_mask.nii.gz`` on the source grid.
- DICOM series: ``<folder>/series_<id>/mask.nii.gz`` and ``seg.dcm`` (DICOM SEG referencing the source).

Bookkeeping in the output root (suffix ``.partKofN`` when the batch is split): ``report.csv``/``report.json``
(per study, by non-identifying key: no names, no paths; the files to share), ``keys.csv`` (key -> input path)
and ``manifest.jsonl`` (key -> output paths, for ``--resume``, and what the batch may replace: only files its
manifests name, never a user's file with a mask's name). Paths mirror the input tree and can hold patient names,
so ``keys.csv``, ``manifest.jsonl`` and the output tree itself are patient data.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.measure import label as connected_components

from monai_lightseg.batch.records import Manifest, StudyRecord, part_suffix, write_reports
from monai_lightseg.data.datalist import refuse_output_in_input
from monai_lightseg.io.dicom_series import read_dicom_series
from monai_lightseg.io.discovery import SeriesRules, StudyItem, discover
from monai_lightseg.io.errors import StudyError
from monai_lightseg.io.photographs import to_rgb8
from monai_lightseg.io.volumes import read_nifti
from monai_lightseg.io.writers import (
    TEMPORARY_PREFIX,
    atomic_write,
    is_atomic_write_temporary,
    write_nifti_mask,
    write_png_mask,
)

__all__ = ["BatchOptions", "run_batch", "merge_parts", "select_part"]

logger = logging.getLogger(__name__)


@dataclass
class BatchOptions:
    bundle: Path
    input: Path
    output: Path
    device: str | None = None
    resume: bool = False
    overwrite: bool = False
    num_parts: int = 1
    part_id: int = 0
    rules: SeriesRules = field(default_factory=SeriesRules)
    progress: bool = True
    pacs_filters: dict[str, str] = field(default_factory=dict)
    store: bool = True
    reparameterize: bool | None = None  # None: as the bundle's inference.json says
    runtime: str | None = None  # "eager", "torchscript", "onnxruntime", "auto"; None: the bundle says
    flip_tta: bool | None = None  # mean logit over the image and its flips; None: as the bundle's inference.json says
    scale_tta: bool | None = None  # mean logit over rescaled copies; None: as the bundle's inference.json says


def select_part(items: list[StudyItem], num_parts: int, part_id: int) -> list[StudyItem]:
    """Items of part ``part_id`` of ``num_parts``, by a hash of each key: stable when files are added."""
    if num_parts < 1 or not 0 <= part_id < num_parts:
        raise ValueError(
            f"--part-id must be in [0, {num_parts - 1}] and --num-parts >= 1; got {part_id} of {num_parts}."
        )
    return [i for i in items if int(hashlib.sha256(i.key.encode()).hexdigest(), 16) % num_parts == part_id]


def _remove_stale_temporaries(out: Path, alone: bool) -> None:
    """Delete what a kill mid-write left in ``out`` (:func:`is_atomic_write_temporary`, nothing else): all of it
    when this batch is ``alone`` (not split), else only what is older than an hour, as the other parts of a split
    batch may be writing theirs now."""
    cutoff = time.time() - 3600
    for stale in out.rglob(f"{TEMPORARY_PREFIX}*") if out.is_dir() else []:
        if is_atomic_write_temporary(stale.name) and stale.is_file() and (alone or stale.stat().st_mtime < cutoff):
            stale.unlink()


def _outputs(item: StudyItem) -> dict[str, str]:
    stem = (
        item.relpath[: -len(".nii.gz")] if item.relpath.endswith(".nii.gz") else str(Path(item.relpath).with_suffix(""))
    )
    if item.kind in ("image_2d", "dicom_2d"):
        return {"png": f"{stem if item.kind == 'image_2d' else item.relpath}.png"}
    if item.kind == "nifti":
        return {"nifti": f"{stem}_mask.nii.gz"}
    return {"nifti": f"{item.relpath}/mask.nii.gz", "seg": f"{item.relpath}/seg.dcm"}


def _save_rgb8_png(image: Image.Image | np.ndarray, path: Path) -> tuple[Path, np.ndarray]:
    """The 2D study as the 8-bit RGB PNG the bundle reads, by the bundles' own rule (:func:`to_rgb8`: deeper
    images scaled by their maximum, alpha dropped, CMYK and palettes converted); returns the path and the pixels."""
    rgb = to_rgb8(image)
    rgb.save(path)
    return path, np.asarray(rgb)


def _constant_value(values: np.ndarray, unit: str):
    """The one value every pixel (``values`` (H, W, 3), ``unit`` "pixel") or voxel ((D, H, W), "voxel") of a
    study has, or None. Such a study holds nothing to segment, yet a network still draws on it: the hippocampus
    UNet bundle marked 2615 voxels of an all-zero volume. Checked on what the network would see (a 2D study after
    :func:`to_rgb8`)."""
    if not values.size:
        return None
    first = values.reshape(-1, values.shape[-1])[0] if unit == "pixel" else values.flat[0]
    if not np.all(values == first):
        return None
    return tuple(int(v) for v in first) if unit == "pixel" else first


def _without_paths(text: str, item: StudyItem, roots: tuple[Path, ...], outputs: tuple[str, ...]) -> str:
    """``text`` with paths and file names replaced by ``<path>`` / ``<file>``. Reasons quote them (Pillow:
    ``cannot identify image file '/data/Doe^Jane/1.jpg'``; the NIfTI and DICOM checks: ``Doe^Jane.nii: 4D NIfTI``;
    a failed write: ``Permission denied: '/out/Doe^Jane/x.png'``), and paths hold patient names and UIDs, which
    report.csv and report.json must not.

    The study's own paths (input files, ``outputs`` under the last of ``roots``, their folders) and any other path
    under one of ``roots`` (the input and output folders, as given and resolved; unquoted, to the next blank)
    become ``<path>``; the study's input file names and the names of its ``outputs`` (relative paths) become
    ``<file>`` as whole words. Left as they are: names of under 3 characters and names of digits only ("1", as
    DICOM exports name files), which identify no one and would garble the text. One pass, so a replacement is
    never replaced again."""
    if not text:
        return text

    def forms(path: Path) -> set[str]:  # as given and resolved (a symlink loop cannot stop the batch)
        try:
            return {str(path), str(path.resolve())}
        except (OSError, RuntimeError):
            return {str(path)}

    def is_path(string: str) -> bool:  # "in" or "data" as a root would otherwise garble "in Resized", "the data"
        return "/" in string or "\\" in string

    exact = set()  # the study's own paths, spaces and all: input files, outputs, and their folders
    for path in [*map(Path, item.files), *(Path(roots[-1]) / o for o in outputs)]:
        exact |= forms(path) | forms(path.parent)
    bases = set().union(*(forms(Path(r)) for r in roots))
    names = {Path(f).name for f in item.files} | {Path(o).name for o in outputs}
    names = {n for n in names if len(n) >= 3 and not n.isdigit()}

    def alternatives(strings: set[str]) -> str:
        return "|".join(map(re.escape, sorted(strings - {"", ".", "/"}, key=len, reverse=True)))

    end = r"(?![\w^-]|\.\w)"  # a path ends at a blank, a quote or a full stop
    base = alternatives({b for b in bases if is_path(b)})  # a root: alone or with a tail
    bare = alternatives({b for b in bases if not is_path(b)})  # a relative one-word root: only with a tail
    own = alternatives({e for e in exact if is_path(e)})
    tail = r"[/\\][^\s'\",;)]*[^\s'\",;).]"
    patterns = []  # an empty alternative would match everywhere, so each pattern needs strings
    for group, roots_re, optional in (("q1", base, "?"), ("q2", bare, "")):  # a quoted path under a root
        if roots_re:
            patterns.append(rf"(?P<{group}>['\"])(?:{roots_re})(?:[/\\][^'\"]*){optional}(?P={group})")
    if own:
        patterns.append(rf"(?<![\w.^<-])(?:{own}){end}")  # one of the study's own paths
    for roots_re, optional in ((base, "?"), (bare, "")):
        if roots_re:
            patterns.append(rf"(?<![\w.^<-])(?:{roots_re})(?:{tail}){optional}{end}")  # any other path
    if names:
        patterns.append(rf"(?P<name>(?<![\w.^<-])(?:{alternatives(names)})(?![\w^>-]))")
    if not patterns:
        return text

    def replace(match: re.Match) -> str:
        if match.groupdict().get("name"):
            return "<file>"
        quote = match.groupdict().get("q1") or match.groupdict().get("q2") or ""
        return f"{quote}<path>{quote}"

    return re.sub("|".join(f"(?:{p})" for p in patterns), replace, text)


def _output_kind(rel: str) -> str:
    """How a report names an output without its path (which mirrors the input's)."""
    return {".png": "PNG mask", ".dcm": "DICOM SEG", ".gz": "NIfTI mask"}.get(Path(rel).suffix, "output")


def _lesion_stats(mask: np.ndarray, spacing: tuple[float, ...] | None) -> dict:
    n = int(connected_components(mask > 0).max()) if mask.any() else 0
    voxels = int(np.count_nonzero(mask))
    out = {"n_lesions": n, "mask_voxels": voxels, "mask_mm": None, "mask_unit": ""}
    if spacing is not None:
        out["mask_mm"] = round(voxels * float(np.prod(spacing)), 3)
        out["mask_unit"] = "mm2" if len(spacing) == 2 else "mm3"
    return out


def _root_cause(error: BaseException) -> str:
    """``Type: message`` of an error, seen through MONAI's wrappers: a transform's error is re-raised as
    ``RuntimeError("applying transform <...Resized object at 0x...>")``, which names neither the problem nor,
    readably, the step -> ``"in Resized: OverflowError: ..."``. Other errors are reported as they are, with
    their own message (which is usually the informative one, even when raised from a lower-level error)."""
    steps, seen = [], {id(error)}
    while True:
        wrapped = re.match(r"applying transform <([\w.]+) object at 0x[0-9a-f]+>", str(error))
        if not wrapped or error.__cause__ is None or id(error.__cause__) in seen:
            break
        steps.append(wrapped.group(1).rsplit(".", 1)[-1])
        error = error.__cause__
        seen.add(id(error))
    where = f"in {' > '.join(dict.fromkeys(steps))}: " if steps else ""
    return f"{where}{type(error).__name__}: {str(error) or 'no message'}"


class _Runner:
    def __init__(self, options: BatchOptions) -> None:
        from monai_lightseg.inference import BundleSegmenter  # torch and MONAI load here, not at CLI start

        self.o = options
        self.segmenter = BundleSegmenter(
            options.bundle, device=options.device, reparameterize=options.reparameterize, runtime=options.runtime,
            flip_tta=options.flip_tta, scale_tta=options.scale_tta,
        )
        self.scratch = Path(tempfile.mkdtemp(prefix="monai_lightseg_"))
        # a bundle trained on crops around a structure says how to find it in a whole study (metadata.json)
        self.localisation = self.segmenter.metadata.get("monai_lightseg_localisation")
        self.modality = self.segmenter.metadata["network_data_format"]["inputs"]["image"].get("modality")
        self.stage = "starting"  # what process() was doing, for the reason of an unexpected error
        self.inputs: set[Path] = set()  # every file a study of this batch is read from, resolved
        self.ours: set[str] = set()  # outputs a batch in this output folder wrote (its manifests name them)
        self.manifest = Manifest(options.output / f"manifest{_suffix(options)}.jsonl")

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _check_dims(self, item: StudyItem, dims: int) -> None:
        if dims != self.segmenter.spatial_dims:
            raise StudyError(f"the bundle segments {self.segmenter.spatial_dims}D images; this study is {dims}D.")

    def process(self, item: StudyItem) -> StudyRecord:
        outputs = _outputs(item)
        notes = [item.info["notes"]] if item.info.get("notes") else []
        record = StudyRecord(key=item.key, kind=item.kind, status="done")
        self.stage = "reading the study"
        for rel in outputs.values():  # a resumed batch may replace what an interrupted run of it left
            if (self.o.output / rel).resolve() in self.inputs:
                raise StudyError(f"its {_output_kind(rel)} would replace an input file; not segmented.")
            if not (self.o.output / rel).exists():
                continue
            if rel not in self.ours:
                raise StudyError(
                    f"a file with its {_output_kind(rel)}'s name is in the output folder, and no batch there wrote it "
                    "(none of its manifests names it): not replaced; choose another output folder."
                )
            if not (self.o.overwrite or self.o.resume):
                raise StudyError(f"its {_output_kind(rel)} exists; pass --overwrite to replace it.")
        t0 = time.perf_counter()
        spacing, reference, datasets = None, None, None
        if item.kind == "image_2d":
            self._check_dims(item, 2)
            try:  # PIL decodes lazily: a truncated file fails in asarray, not in open
                with Image.open(item.files[0]) as im:
                    source, values = _save_rgb8_png(im, self.scratch / "in.png")
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
                raise StudyError(f"unreadable image file ({type(err).__name__}: {str(err) or 'no message'})") from err
        elif item.kind == "dicom_2d":
            self._check_dims(item, 2)
            import pydicom

            ds = pydicom.dcmread(item.files[0])
            pixels = ds.pixel_array if item.frame is None else ds.pixel_array[item.frame]
            try:
                source, values = _save_rgb8_png(pixels, self.scratch / "in.png")
            except ValueError as err:
                raise StudyError(f"DICOM pixel data is not a 2D image: {err}") from err
            if "PixelSpacing" in ds:
                spacing = tuple(float(v) for v in ds.PixelSpacing)
        elif item.kind == "nifti":
            self._check_dims(item, 3)
            reference = read_nifti(item.files[0])
            source, spacing = item.files[0], reference.GetSpacing()
        else:
            self._check_dims(item, 3)
            volume = read_dicom_series(item.files)
            reference, datasets, spacing = volume.image, volume.datasets, volume.image.GetSpacing()
            import SimpleITK as sitk

            source = self.scratch / "series.nii.gz"
            sitk.WriteImage(reference, str(source))
        record.read_s = round(time.perf_counter() - t0, 3)
        self._check_modality(datasets)
        if reference is not None:
            import SimpleITK as sitk

            constant = _constant_value(sitk.GetArrayViewFromImage(reference), "voxel")
            if constant is not None:  # a blank or zero-filled volume: almost always a broken export, so a failure
                raise StudyError(
                    f"every voxel has the value {constant}: no image to segment (a blank or corrupt export?)."
                )
        else:
            constant = _constant_value(values, "pixel")
        self.stage = "segmenting"
        t1 = time.perf_counter()
        if self.localisation and reference is not None:
            mask, localisation_notes = self._segment_located(reference)
            notes += localisation_notes
        elif reference is None and constant is not None:  # a black frame (video lead-in, transition): nothing there
            mask = np.zeros(values.shape[:2], dtype=np.uint8)
            notes.append(f"every pixel has the value {constant}: empty mask written without running the network")
        else:
            mask = self.segmenter(source)
        record.infer_s = round(time.perf_counter() - t1, 3)
        t2 = time.perf_counter()
        if reference is not None and mask.shape != tuple(reversed(reference.GetSize())):
            raise StudyError(
                f"the bundle returned a mask of shape {mask.shape} for a volume of size {reference.GetSize()}."
            )
        self.manifest.append(StudyRecord(key=item.key, kind=item.kind, status="writing", outputs=[*outputs.values()]))
        written = []
        for kind, rel in outputs.items():
            target = self.o.output / rel
            self.stage = f"writing the {'DICOM SEG' if kind == 'seg' else kind.upper() + ' mask'}"
            if kind == "png":
                write_png_mask(mask, target)
            elif kind == "nifti":
                write_nifti_mask(mask, reference, target)
            else:
                seg_written, note = self._write_seg(mask, datasets, target)
                notes += [note] if note else []
                if not seg_written:
                    continue
            written.append(rel)
        record.write_s = round(time.perf_counter() - t2, 3)
        record.outputs = written
        record.notes = "; ".join(notes)
        record.__dict__.update(_lesion_stats(mask, spacing))
        return record

    def _check_modality(self, datasets: list | None) -> None:
        """A DICOM series of another modality than the bundle's (a CT for an MR bundle) is refused, not guessed."""
        if not datasets or not self.modality:
            return
        modality = str(getattr(datasets[0], "Modality", "") or "")
        wanted = {"MR": "MR", "CT": "CT"}.get(str(self.modality).upper())
        if wanted and modality and modality != wanted:
            raise StudyError(f"the bundle segments {wanted} images; this series is {modality}.")

    def _segment_located(self, reference) -> tuple[np.ndarray, list[str]]:
        """Localise, crop, segment, paste back (:mod:`monai_lightseg.localisation`); the per-side plausibility
        numbers go to the study's notes."""
        from monai_lightseg.localisation import LocalisationError, segment_whole_head

        if self.localisation != "hippocampus_mni152":
            raise StudyError(f"the bundle asks for an unknown localisation {self.localisation!r}.")
        self.stage = "locating the hippocampi"
        try:
            result = segment_whole_head(reference, self.segmenter, names=self.segmenter.segment_names)
        except LocalisationError as error:
            raise StudyError(f"not segmented: {error}.") from None
        if not result.localised:
            return result.labels, ["a crop already: segmented without localisation"]
        notes = [
            f"located by registration to MNI152 (correlation {result.registration.correlation:.2f}, "
            f"{result.seconds['register']:.0f} s)"
        ]
        for side, st in result.sides.items():
            notes.append(
                f"{side}: {st['total_mm3']:.0f} mm3 ({st['anterior_share']:.0%} anterior), {st['regions']} region"
                + ("s" if st["regions"] != 1 else "")
            )
        return result.labels, notes

    def _write_seg(self, mask: np.ndarray, datasets: list, target: Path) -> tuple[bool, str]:
        """Write the DICOM SEG; returns whether it was written and a note for the report: what was taken from
        the file meta headers, or why no SEG was written. The SEG is the one output a study can go without: its
        NIfTI mask is written first, and a source the SEG cannot reference (blank Study/Series UIDs) or a SEG
        that cannot be built leaves the study done, with the reason in its notes."""
        from monai_lightseg.io.dicom_seg import referenceable_sources, write_dicom_seg

        try:
            sources, note = referenceable_sources(datasets)
        except ValueError as err:
            return False, f"no DICOM SEG written: {err}; the NIfTI mask is written"
        bundle = self.segmenter.metadata
        try:
            write_dicom_seg(
                mask, sources, target, segment_labels=dict(self.segmenter.segment_names),
                algorithm_name=bundle.get("name", self.o.bundle.name), algorithm_version=bundle["version"],
            )  # fmt: skip
        except Exception as err:  # highdicom's checks raise several types; the mask is already written
            logger.warning("no DICOM SEG for %s", target.parent.name, exc_info=True)
            return False, (
                f"no DICOM SEG written: building it failed ({type(err).__name__}: {str(err) or 'no message'}); "
                "the NIfTI mask is written"
            )
        return True, note


def run_batch(options: BatchOptions) -> int:
    """Segment every study under ``options.input`` (a folder, or a DICOMweb URL: studies are retrieved into
    ``OUT/pacs_cache`` and the SEG results stored back); returns 0 when all succeeded, 1 when any failed."""
    from monai_lightseg.batch.pacs import fetch_studies, is_dicomweb_url, store_results

    manifest = options.output / f"manifest{_suffix(options)}.jsonl"
    if manifest.exists() and not (options.resume or options.overwrite):
        raise FileExistsError(
            f"{options.output} already holds a batch ({manifest.name}); "
            "pass --resume to continue it or --overwrite to redo it."
        )
    _refuse_foreign_output(options)  # before a PACS download, not after it
    if is_dicomweb_url(options.input):
        url = str(options.input)
        cache = options.output / "pacs_cache"
        fetch_studies(url, cache, options.pacs_filters)
        local = BatchOptions(**{**options.__dict__, "input": cache})
        code = _run_folder(local)
        if options.store:
            store_results(url, options.output, Manifest(options.output / f"manifest{_suffix(local)}.jsonl"))
        return code
    return _run_folder(options)


def _suffix(options: BatchOptions) -> str:
    return part_suffix(options.num_parts, options.part_id)


def _one_study_per_output(items: list[StudyItem]) -> list[StudyItem]:
    """``items`` with every study whose outputs an earlier study (by input path) already writes marked failed:
    ``a.jpg`` and ``a.png`` would both write ``a.png``. Decided over all studies found, so every part of a split
    batch marks the same ones."""
    claimed: set[str] = set()
    clashes: dict[str, StudyItem] = {}
    for item in sorted(items, key=lambda i: i.relpath):
        if item.kind in ("failed", "skipped"):
            continue
        outputs = set(_outputs(item).values())
        if outputs & claimed:
            clashes[item.key] = StudyItem(
                item.key, "failed", item.files, item.relpath, info=item.info,
                reason="another study in the input writes an output of the same name (files that differ only in "
                "their extension?); not segmented: rename one.",
            )  # fmt: skip
        claimed |= outputs
    return [clashes.get(i.key, i) for i in items]


def _refuse_foreign_output(options: BatchOptions) -> None:
    """An output folder holding a batch's report or keys files (this part's or a merged batch's) with no
    manifest beside them is not a batch's: its files would be replaced, so it is refused before anything is
    written. A batch creates its manifest before any other file, so its own folder, even killed at once, passes."""
    out, suffix = options.output, _suffix(options)
    names = {n.format(s) for n in ("report{}.csv", "report{}.json", "keys{}.csv") for s in {"", suffix}}
    found = sorted(n for n in names if (out / n).exists())
    if found and not (out.is_dir() and any(out.glob("manifest*.jsonl"))):
        raise FileExistsError(
            f"{out} holds {', '.join(found)} but no manifest: not a batch's output folder, and its files would be "
            "replaced; choose another output folder."
        )


def _run_folder(options: BatchOptions) -> int:
    out = options.output
    refuse_output_in_input(options.input, out, inside=True)  # before anything in the output is touched
    suffix = _suffix(options)
    manifest = Manifest(out / f"manifest{suffix}.jsonl")
    if manifest.path.exists() and not (options.resume or options.overwrite):
        raise FileExistsError(
            f"{out} already holds a batch ({manifest.path.name}); "
            "pass --resume to continue it or --overwrite to redo it."
        )
    ours = set().union(*(Manifest(m).written() for m in out.glob("manifest*.jsonl"))) if out.is_dir() else set()
    if options.overwrite and not options.resume and manifest.path.exists():
        manifest.forget_outcomes()
    found = _one_study_per_output(discover(options.input, options.rules))
    items = select_part(found, options.num_parts, options.part_id)
    done = manifest.done(out) if options.resume else {}
    _remove_stale_temporaries(out, alone=options.num_parts == 1)
    records: list[StudyRecord] = list(done.values())
    todo = [i for i in items if i.key not in done]
    out.mkdir(parents=True, exist_ok=True)
    manifest.path.touch()  # first, so that a run killed at once leaves a folder it can resume
    _write_keys(out / f"keys{suffix}.csv", [(i.key, i.kind, i.relpath) for i in items])
    runner = _Runner(options) if any(i.kind not in ("failed", "skipped") for i in todo) else None
    if runner is not None:  # no output may land on a file some study is read from (an input inside the output)
        runner.inputs = {Path(f).resolve() for i in found for f in i.files}  # every part's, not only this one's
        runner.ours = ours
    try:
        from tqdm import tqdm

        for item in tqdm(todo, desc="studies", unit="study", disable=not options.progress):
            notes = item.info.get("notes", "")
            if item.kind in ("failed", "skipped"):
                record = StudyRecord(key=item.key, kind=item.kind, status=item.kind, reason=item.reason, notes=notes)
            else:
                try:
                    record = runner.process(item)
                except StudyError as err:
                    record = StudyRecord(key=item.key, kind=item.kind, status="failed", reason=str(err), notes=notes)
                except Exception as err:  # one broken study never stops the batch
                    logger.exception("study %s failed", item.key)
                    reason = f"unexpected error while {runner.stage} ({_root_cause(err)})"
                    record = StudyRecord(key=item.key, kind=item.kind, status="failed", reason=reason, notes=notes)
            roots, written = (Path(options.input), out), tuple(_outputs(item).values())
            record.reason = _without_paths(record.reason, item, roots, written)
            record.notes = _without_paths(record.notes, item, roots, written)
            manifest.append(record)
            records.append(record)
            logger.info("study %s: %s %s", record.key, record.status, record.reason)
    finally:
        if runner is not None:
            runner.close()
    write_reports(records, out / f"report{suffix}.csv", out / f"report{suffix}.json")
    return 1 if any(r.status == "failed" for r in records) else 0


def _write_keys(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """``keys.csv``: (key, kind, input_relpath) rows, written atomically."""

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["key", "kind", "input_relpath"])
            writer.writerows(rows)

    atomic_write(path, write, suffix=".csv")


def merge_parts(output: str | Path) -> int:
    """Merge the ``.partKofN`` manifests of a split batch into ``report.csv``/``report.json`` and ``keys.csv``.
    Returns the number of studies merged."""
    out = Path(output)
    records: dict[str, StudyRecord] = {}
    for path in sorted(out.glob("manifest.part*.jsonl")):
        for r in Manifest(path).records():
            if r.status != "writing":  # a study killed while writing has no outcome: not in the report
                records[r.key] = r
    if not records:
        raise FileNotFoundError(f"{out}: no manifest.part*.jsonl with a finished study to merge.")
    write_reports(list(records.values()), out / "report.csv", out / "report.json")
    rows = []
    for path in sorted(out.glob("keys.part*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            rows += list(csv.reader(f))[1:]
    _write_keys(out / "keys.csv", sorted(set(map(tuple, rows))))
    return len(records)
