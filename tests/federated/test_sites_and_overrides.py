"""Sites get their own hospital's frames; the bundle's train.json is made federation-safe by overrides."""

from __future__ import annotations

import json

import pytest

from monai_lightseg.cli import main
from monai_lightseg.federated.overrides import federated_overrides
from monai_lightseg.federated.sites import site_datalists
from tests.federated.samples import BUNDLE


def test_each_site_gets_its_own_hospitals_part_of_the_committed_split(tmp_path) -> None:
    found = site_datalists(BUNDLE / "configs" / "datalist.json", tmp_path)
    assert {s: v["frames"] for s, v in found.items()} == {"site-1": 800, "site-2": 360}
    for site, dataset in (("site-1", "kvasir_seg"), ("site-2", "cvc_clinicdb")):
        part = json.loads((tmp_path / f"{site}.json").read_text(encoding="utf-8"))
        assert {i["dataset"] for i in part["training"] + part["validation"]} == {dataset}
    with pytest.raises(ValueError, match="no training frame of dataset 'nowhere' for site-3"):
        site_datalists(BUNDLE / "configs" / "datalist.json", tmp_path / "x", {"site-3": "nowhere"})


def test_overrides_stretch_the_schedule_and_remove_what_writes_weights() -> None:
    o = federated_overrides(BUNDLE, "site.json", frames=360, rounds=50, local_epochs=2, dataset_dir="/data")
    assert o["epoch_length"] == 45 and o["max_steps"] == 50 * 2 * 45 and o["warmup_steps"] == 45
    targets = [h["_target_"] for h in o["train#handlers"]]
    assert "ValidationHandler" not in targets and "LrScheduleHandler" in targets
    assert "KeepBestNetwork" not in json.dumps(o["validate#handlers"])
    small = federated_overrides(BUNDLE, "site.json", frames=3, rounds=1, local_epochs=1, dataset_dir="/data")
    assert small["batch_size"] == 3 and small["epoch_length"] == 1  # fewer frames than a batch: one smaller batch


def test_federate_refuses_an_existing_workspace(tmp_path, capsys) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "keep.txt").write_text("mine", encoding="utf-8")
    code = main(["federate", "--bundle", str(BUNDLE), "--data", str(tmp_path), "--workspace", str(tmp_path / "ws"),
                 "--rounds", "1"])  # fmt: skip
    assert code == 2 and "not empty" in capsys.readouterr().err


def test_federate_passes_the_aggregation_and_reset_to_the_federation(tmp_path, monkeypatch) -> None:
    import monai_lightseg.federated.job as job

    seen = {}

    def fake_run_federation(*args, **kwargs):
        seen.update(kwargs)
        return {"updates": [], "wall_s": 0.0}

    monkeypatch.setattr(job, "run_federation", fake_run_federation)
    assert main(["federate", "--bundle", str(BUNDLE), "--data", str(tmp_path), "--workspace", str(tmp_path / "ws"),
                 "--rounds", "3", "--aggregation", "fednova", "--reset-optimizer"]) == 0  # fmt: skip
    assert seen["aggregation"] == "fednova" and seen["reset_optimizer"] is True and seen["rounds"] == 3
    seen.clear()
    assert main(["federate", "--bundle", str(BUNDLE), "--data", str(tmp_path), "--workspace", str(tmp_path / "ws"),
                 "--rounds", "3"]) == 0  # fmt: skip
    assert seen["aggregation"] == "fedavg" and seen["reset_optimizer"] is False
