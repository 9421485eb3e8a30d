"""The real-deployment path: each hospital writes its site config from its own datalist (`federate-site`), the
coordinator exports the NVFlare job (`federate-export`), and the exported folder, run by NVFlare's own
simulator command as a provisioned federation would receive it, trains and saves the global model: no path
of this repository is left in the job but the sites' bundle and config paths given to the export."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from monai_lightseg.cli import main
from monai_lightseg.federated.job import validation_curve
from tests.conftest import REPO, SAMPLES
from tests.federated.samples import BUNDLE, CVC, KVASIR

pytest.importorskip("nvflare")


def test_site_config_needs_training_and_validation_lists(tmp_path, capsys):
    (tmp_path / "dl.json").write_text(json.dumps({"training": [KVASIR]}), encoding="utf-8")
    args = ["federate-site", "--bundle", str(BUNDLE), "--datalist", str(tmp_path / "dl.json"), "--data", "x",
            "--rounds", "1", "--out", str(tmp_path / "site.json")]  # fmt: skip
    assert main(args) == 2
    assert "dl.json" in capsys.readouterr().err and not (tmp_path / "site.json").exists()
    assert main(["federate-export", "--bundle", str(BUNDLE), "--job-dir", str(tmp_path / "job"), "--rounds", "1",
                 "--site", "site-1", "--site-bundle", "b", "--site-config", "c"]) == 2  # fmt: skip
    assert "NAME=FRAMES" in capsys.readouterr().err


def test_exported_job_runs_in_nvflare_simulator(tmp_path):
    for site, rows in (("site-1", [KVASIR, KVASIR]), ("site-2", [CVC])):
        datalist = tmp_path / "hospital" / f"{site}_datalist.json"
        datalist.parent.mkdir(exist_ok=True)
        datalist.write_text(json.dumps({"training": rows, "validation": rows}), encoding="utf-8")
        out = tmp_path / "hospital" / f"{site}.json"
        assert main(["federate-site", "--bundle", str(BUNDLE), "--datalist", str(datalist), "--data",
                     str(SAMPLES / "polyp"), "--rounds", "1", "--out", str(out)]) == 0  # fmt: skip
    site_config = str(tmp_path / "hospital" / "{site}.json")
    assert main(["federate-export", "--bundle", str(BUNDLE), "--job-dir", str(tmp_path / "job"), "--rounds", "1",
                 "--site", "site-1=2", "--site", "site-2=1", "--site-bundle", str(BUNDLE), "--site-config", site_config,
                 "--compression", "int8", "--reset-optimizer", "--aggregation", "fednova",
                 "--error-feedback"]) == 0  # fmt: skip
    job = tmp_path / "job" / "monai_lightseg_fedavg"
    text = "".join(p.read_text(encoding="utf-8") for p in job.rglob("*.json"))
    assert text.count("--reset-optimizer") == 2  # each site's client script gets it
    assert text.count("--fednova-steps 1.0") == 2  # one step per round at both sites: tau_eff = 1
    assert str(REPO / "monai_lightseg") not in text  # the client script is the job's own copy
    client = json.loads(next(job.glob("app_site-1/config/config_fed_client.json")).read_text(encoding="utf-8"))
    compress = [f for chain in client["task_result_filters"] for f in chain["filters"]]
    (args,) = [f["args"] for f in compress]  # NVFlare writes the arguments that differ from their defaults
    assert args["error_feedback"] is True and args.get("scheme", "int8") == "int8"
    server = json.loads((job / "app_server" / "config" / "config_fed_server.json").read_text(encoding="utf-8"))
    assert server["workflows"][0]["args"]["aggregation_weights"] == {"site-1": 2.0, "site-2": 1.0}
    env = dict(os.environ, OMP_NUM_THREADS="1")
    nvflare = [sys.executable, "-m", "nvflare.cli"]
    done = subprocess.run([*nvflare, "simulator", str(job), "-w", str(tmp_path / "ws"), "-c", "site-1,site-2",
                           "-t", "2"], capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    models = list((tmp_path / "ws").rglob("global_models/round_0.pt"))
    assert done.returncode == 0 and models, done.stdout[-3000:] + done.stderr[-3000:]
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(str(BUNDLE / "configs" / "inference.json"))
    parser.get_parsed_content("network_def").load_state_dict(torch.load(models[0], weights_only=True))  # strict
    assert set(validation_curve(tmp_path / "ws")) == {"site-1", "site-2"}  # each site validated the global model
