"""The whole-head path as a bundle config: ``configs/inference_whole_head.json`` merged over ``inference.json``
runs :func:`segment_folder`, so ``python -m monai.bundle run`` handles whole heads too, without the batch
command's DICOM and report machinery (volumes only: NIfTI, NRRD, MHA)."""

from __future__ import annotations

import logging
from pathlib import Path

from monai_lightseg.data.datalist import VOLUME_SUFFIXES, refuse_output_in_input
from monai_lightseg.io.errors import StudyError
from monai_lightseg.io.volumes import read_nifti
from monai_lightseg.io.writers import write_nifti_mask

from .hippocampus import LocalisationError, segment_whole_head

logger = logging.getLogger(__name__)


def segment_folder(bundle_root: str | Path, dataset_dir: str | Path, output_dir: str | Path) -> int:
    """Segment every volume in ``dataset_dir`` (whole heads localised, crops as they are) with the bundle at
    ``bundle_root``; write ``<stem>_seg.nii.gz`` to ``output_dir``. A file that cannot be read or localised is
    logged with its reason and the others go on; raises ``RuntimeError`` at the end when any failed (so the
    run exits non-zero), and ``ValueError`` before anything is read when ``output_dir`` is ``dataset_dir``.
    Returns the number of masks written."""
    import SimpleITK as sitk

    from monai_lightseg.inference import BundleSegmenter

    refuse_output_in_input(dataset_dir, output_dir)  # <stem>_seg.nii.gz among the inputs: a rerun reads them
    segmenter = BundleSegmenter(bundle_root)
    files = sorted(p for p in Path(dataset_dir).iterdir() if p.name.lower().endswith(VOLUME_SUFFIXES))
    out, failed, written = Path(output_dir), [], 0
    for path in files:
        stem = path.name[: -len(next(s for s in VOLUME_SUFFIXES if path.name.lower().endswith(s)))]
        try:
            study = read_nifti(path) if path.name.lower().endswith((".nii", ".nii.gz")) else sitk.ReadImage(str(path))
            result = segment_whole_head(study, segmenter, names=segmenter.segment_names)
        except (StudyError, LocalisationError, RuntimeError) as error:
            logger.error("%s: not segmented: %s", path.name, error)
            failed.append(path.name)
            continue
        write_nifti_mask(result.labels, study, out / f"{stem}_seg.nii.gz")
        written += 1
        sides = "; ".join(
            f"{side} {st['total_mm3']:.0f} mm3 ({st['anterior_share']:.0%} anterior)"
            for side, st in result.sides.items()
        )
        logger.info("%s: %s", path.name, sides or "a crop: segmented without localisation")
    logger.info("%d of %d volumes segmented, %d failed%s", written, len(files), len(failed),
                f": {', '.join(failed)}" if failed else "")  # fmt: skip
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(files)} volumes could not be segmented: {', '.join(failed)}")
    return written
