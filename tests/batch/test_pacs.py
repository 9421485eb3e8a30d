"""A real Orthanc with its DICOMweb plugin: upload a series, segment from the PACS, find the SEG stored back.

Orthanc runs with a config of the test's own: storage in tmp_path, HTTP on a free port with
``RemoteAccessAllowed: false`` (only local clients), its DICOM server disabled (no DICOM port at all). It is
installed by .ci/run (Debian ``orthanc``, ``orthanc-dicomweb``); elsewhere the test skips with that reason.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
import requests

from monai_lightseg.batch import BatchOptions, run_batch
from tests.conftest import require_tool
from tests.io.dicom_fixtures import rotation_direction, write_mr_series

PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def orthanc(tmp_path):
    binary = require_tool("Orthanc", "orthanc")
    if not PLUGIN.is_file():
        require_tool("libOrthancDicomWeb.so (missing)", "orthanc-dicomweb")
    port = _free_port()
    config = {
        "Name": "monai_lightseg_test",
        "StorageDirectory": str(tmp_path / "orthanc_db"),
        "IndexDirectory": str(tmp_path / "orthanc_db"),
        "HttpPort": port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomServerEnabled": False,
        "Plugins": [str(PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    path = tmp_path / "orthanc.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    log = (tmp_path / "orthanc.log").open("w", encoding="utf-8")
    proc = subprocess.Popen([binary, str(path)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(f"{base}/system", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("Orthanc did not start: " + (tmp_path / "orthanc.log").read_text(encoding="utf-8")[-2000:])
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_segment_from_dicomweb_and_store_seg_back(orthanc, tiny_3d_bundle, tmp_path) -> None:
    files = write_mr_series(
        tmp_path / "series",
        (np.random.default_rng(0).random((6, 20, 24)) * 300).astype(np.int16),
        (0.8, 0.9, 2.5),
        (-12.0, 30.5, 7.25),
        rotation_direction(),
    )
    for f in files:
        assert requests.post(f"{orthanc}/instances", data=f.read_bytes(), timeout=30).ok
    source_uids = {str(pydicom.dcmread(f).SOPInstanceUID) for f in files}
    out = tmp_path / "out"
    url = f"{orthanc}/dicom-web"
    options = BatchOptions(
        bundle=tiny_3d_bundle,
        input=url,
        output=out,
        device="cpu",
        progress=False,
        pacs_filters={"ModalitiesInStudy": "MR"},
    )
    assert run_batch(options) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["counts"] == {"done": 1, "failed": 0, "skipped": 0}
    assert "Test^Patient" not in (out / "keys.csv").read_text(encoding="utf-8")  # the cache is named by UID hashes
    from dicomweb_client.api import DICOMwebClient

    client = DICOMwebClient(url=url)
    segs = client.search_for_series(search_filters={"Modality": "SEG"})
    assert len(segs) == 1
    seg_series = segs[0]["0020000E"]["Value"][0]
    study = segs[0]["0020000D"]["Value"][0]
    (seg,) = client.retrieve_series(study_instance_uid=study, series_instance_uid=seg_series)
    referenced = {
        item.ReferencedSOPInstanceUID
        for frame in seg.PerFrameFunctionalGroupsSequence
        for item in frame.DerivationImageSequence[0].SourceImageSequence
    }
    assert referenced <= source_uids and referenced
    # resuming stores nothing twice
    assert run_batch(BatchOptions(**{**options.__dict__, "resume": True})) == 0
    assert len(client.search_for_series(search_filters={"Modality": "SEG"})) == 1
