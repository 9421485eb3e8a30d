"""FedNova's normalised averaging: tau_eff from the sites' frames and steps, the site-side rescaling of the
parameters' update (buffers untouched), and a 2-site x 1-round simulator run in which the sites take 4 and 2
local steps: each sent its parameter update times tau_eff / its steps, and the global model is the frame-weighted
mean of what was sent."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser

from monai_lightseg.federated.normalised_averaging import effective_steps, local_steps, normalise_update
from tests.conftest import SAMPLES
from tests.federated.samples import BUNDLE, CVC, KVASIR, write_datalist


def test_tau_eff_is_the_frame_weighted_mean_of_the_local_steps() -> None:
    # the polyp sites: 800 frames / batch 8 = 100 steps per epoch, 360 / 8 = 45
    steps = {"site-1": local_steps(BUNDLE, 800, 2), "site-2": local_steps(BUNDLE, 360, 2)}
    assert steps == {"site-1": 200, "site-2": 90}
    tau = effective_steps({"site-1": 800, "site-2": 360}, steps)
    assert tau == pytest.approx((800 * 200 + 360 * 90) / 1160)
    assert local_steps(BUNDLE, 3, 1) == 1  # fewer frames than a batch: one batch of all of them
    with pytest.raises(ValueError, match="same sites"):
        effective_steps({"site-1": 1}, {"site-2": 1})


def test_only_trainable_parameters_are_rescaled() -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    diff = {k: torch.ones_like(v) for k, v in net.state_dict().items()}
    parameters = {k for k, _ in net.named_parameters()}
    out = normalise_update(diff, parameters, steps=4, tau_eff=6.0)
    for k, v in out.items():
        expected = 1.5 if k in parameters else 1.0  # running_mean/var and num_batches_tracked stay as they were
        assert torch.all(v == expected), k
    assert {"1.running_mean", "1.num_batches_tracked"} <= set(out) - parameters
    with pytest.raises(ValueError, match="0 local steps"):
        normalise_update(diff, parameters, steps=0, tau_eff=6.0)
    with pytest.raises(KeyError, match="lacks parameters"):
        normalise_update({}, parameters, steps=1, tau_eff=1.0)


def test_a_fednova_round_sends_step_normalised_updates_and_averages_them_by_frames(tmp_path) -> None:
    pytest.importorskip("nvflare")
    from monai_lightseg.federated.job import run_federation

    # site-1: 16 training frames = 2 batches of 8 per epoch; site-2: 1 frame = 1 step; 2 local epochs (the first
    # step of the warm-up has learning rate 0)
    datalist = write_datalist(tmp_path / "datalist.json", [KVASIR] * 16 + [CVC], [KVASIR, CVC])
    summary = run_federation(BUNDLE, SAMPLES / "polyp", tmp_path / "ws", rounds=1, local_epochs=2,
                             datalist=datalist, record_updates=True, aggregation="fednova")  # fmt: skip
    tau = (16 * 4 + 1 * 2) / 17
    assert summary["aggregation"] == "fednova" and summary["fednova_steps"] == pytest.approx(tau, abs=1e-6)
    ws = tmp_path / "ws"
    sent = {s: torch.load(ws / "updates" / f"{s}_round0.pt", weights_only=False) for s in ("site-1", "site-2")}
    assert {s: r["steps"] for s, r in sent.items()} == {"site-1": 4, "site-2": 2}
    network = json.loads((BUNDLE / "configs" / "inference.json").read_text(encoding="utf-8"))["network_def"]
    parameters = {k for k, _ in ConfigParser({"net": network}).get_parsed_content("net").named_parameters()}
    for site, record in sent.items():
        scale = tau / record["steps"]
        for k, raw in record["raw_diff"].items():
            expected = raw * scale if k in parameters else raw
            np.testing.assert_allclose(record["diff"][k], expected, rtol=1e-6, atol=1e-9, err_msg=f"{site} {k}")
    initial = torch.load(ws / "initial.pt", weights_only=True)
    glob = torch.load(ws / "global_models" / "round_0.pt", weights_only=True)
    moved = 0
    for k, v in initial.items():
        if torch.is_floating_point(v):
            expected = v.numpy() + (16 * sent["site-1"]["diff"][k] + 1 * sent["site-2"]["diff"][k]) / 17
            np.testing.assert_allclose(glob[k].numpy(), expected, rtol=1e-5, atol=1e-6, err_msg=k)
            moved += int(k in parameters and np.abs(sent["site-2"]["raw_diff"][k]).max() > 0)
    assert moved > 0.5 * len(parameters)  # both sites trained: the rescaling was applied to real updates


def test_an_unknown_aggregation_is_refused_before_anything_is_written(tmp_path) -> None:
    pytest.importorskip("nvflare")
    from monai_lightseg.federated.job import run_federation

    with pytest.raises(ValueError, match="fedprox"):
        run_federation(BUNDLE, SAMPLES / "polyp", tmp_path / "ws", rounds=1, aggregation="fedprox")
    assert not (tmp_path / "ws").exists()
