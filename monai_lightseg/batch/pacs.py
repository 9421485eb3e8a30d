"""A PACS as the batch's input and output over DICOMweb: query studies (QIDO-RS), retrieve them (WADO-RS) into a
local cache the batch reads like any folder, and store the DICOM SEG results back (STOW-RS), with
``dicomweb-client``.

The cache is laid out by a hash of each StudyInstanceUID, never by patient name, so the output tree and reports
of a PACS batch hold no names. Storing is recorded in ``OUT/pacs_stored.txt`` (one study key per line), so a
resumed batch does not store a SEG twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

import pydicom

from monai_lightseg.batch.records import Manifest
from monai_lightseg.io.discovery import SEG_SOP_CLASS

__all__ = ["is_dicomweb_url", "fetch_studies", "store_results"]

logger = logging.getLogger(__name__)


def is_dicomweb_url(value: str | Path) -> bool:
    return str(value).startswith(("http://", "https://"))


def _client(url: str):
    from dicomweb_client.api import DICOMwebClient

    return DICOMwebClient(url=url)


def fetch_studies(url: str, cache: Path, search_filters: Mapping[str, str] | None = None) -> list[str]:
    """Retrieve every study matching ``search_filters`` (QIDO-RS attributes, e.g. ``{"ModalitiesInStudy": "MR"}``)
    into ``cache/<study hash>/<SOP Instance UID>.dcm``; existing files are kept (a resumed batch does not
    download again). DICOM SEG instances on the server are not downloaded. Returns the StudyInstanceUIDs."""
    client = _client(url)
    studies = client.search_for_studies(search_filters=dict(search_filters or {}))
    uids = []
    for study in studies:
        uid = study["0020000D"]["Value"][0]
        uids.append(uid)
        folder = cache / hashlib.sha256(uid.encode()).hexdigest()[:16]
        folder.mkdir(parents=True, exist_ok=True)
        for series in client.search_for_series(study_instance_uid=uid):
            if series.get("00080060", {}).get("Value", [""])[0] == "SEG":
                continue
            series_uid = series["0020000E"]["Value"][0]
            for ds in client.retrieve_series(study_instance_uid=uid, series_instance_uid=series_uid):
                target = folder / f"{ds.SOPInstanceUID}.dcm"
                if not target.exists():
                    tmp = target.with_suffix(".part")
                    ds.save_as(tmp, enforce_file_format=True)
                    tmp.replace(target)
    return uids


def store_results(url: str, output: Path, manifest: Manifest) -> int:
    """STOW-RS every SEG of the studies done in ``manifest`` that was not stored yet; returns how many."""
    record = output / "pacs_stored.txt"
    stored = set(record.read_text(encoding="utf-8").split()) if record.is_file() else set()
    client = _client(url)
    count = 0
    for key, study in manifest.done(output).items():
        segs = [o for o in study.outputs if o.endswith("seg.dcm")]
        if key in stored or not segs:
            continue
        datasets = [pydicom.dcmread(output / s) for s in segs]
        if any(str(ds.SOPClassUID) != SEG_SOP_CLASS for ds in datasets):
            raise ValueError(f"study {key}: an output meant for the PACS is not a DICOM SEG.")
        client.store_instances(datasets=datasets)
        with record.open("a", encoding="utf-8") as f:
            f.write(key + "\n")
        count += len(datasets)
        logger.info("study %s: stored %d SEG instance(s)", key, len(datasets))
    return count
