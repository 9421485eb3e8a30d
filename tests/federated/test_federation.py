"""A 2-site x 1-round NVFlare simulator run of the FeatureCompressionNet polyp bundle on the shipped sample
frames (site-1: the Kvasir-SEG frame twice, so 2 training frames; site-2: the CVC-ClinicDB frame), with int8
compressed updates: the global model equals the frame-weighted mean of what the sites sent, restored; the
compression stays within its bound and under 0.27x the float32 bytes; only tensors and metadata cross."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monai_lightseg.federated.compression import compress, decompress, error_bound
from tests.conftest import SAMPLES
from tests.federated.samples import BUNDLE, CVC, KVASIR, write_datalist

pytest.importorskip("nvflare")


@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    from monai_lightseg.federated.job import run_federation

    work = tmp_path_factory.mktemp("federation")
    datalist = write_datalist(work / "datalist.json", [KVASIR, KVASIR, CVC], [KVASIR, CVC])
    summary = run_federation(BUNDLE, SAMPLES / "polyp", work / "ws", rounds=1, local_epochs=2, compression="int8",
                             datalist=datalist, record_updates=True)  # fmt: skip
    return summary, work / "ws"


def test_global_model_is_the_frame_weighted_mean_of_the_restored_updates(federation) -> None:
    summary, ws = federation
    assert {s: v["frames"] for s, v in summary["sites"].items()} == {"site-1": 2, "site-2": 1}
    curve = summary["validation_curve"]  # each site validated the initial global model once (1 round)
    assert sorted(curve) == ["site-1", "site-2"] and all(len(v) == 1 and 0 <= v[0] <= 1 for v in curve.values())
    initial = torch.load(ws / "initial.pt", weights_only=True)
    sent = {s: torch.load(ws / "updates" / f"{s}_round0.pt", weights_only=False) for s in ("site-1", "site-2")}
    for site in sent:  # what each site trained from is the initial global model
        for k, v in initial.items():
            np.testing.assert_array_equal(np.asarray(sent[site]["global"][k]), v.numpy())
    restored = {s: decompress(*compress(sent[s]["diff"], "int8")) for s in sent}
    glob = torch.load(ws / "global_models" / "round_0.pt", weights_only=True)
    assert set(glob) == set(initial)
    moved = 0
    for k, v in initial.items():
        if not torch.is_floating_point(v):
            continue
        expected = v.numpy() + (2 * restored["site-1"][k] + 1 * restored["site-2"][k]) / 3
        np.testing.assert_allclose(glob[k].numpy(), expected, rtol=1e-5, atol=1e-6, err_msg=k)
        moved += int(np.abs(restored["site-1"][k]).max() > 0)
    assert moved > 0.5 * len(initial)  # the sites trained: most tensors changed


def test_compressed_updates_are_small_and_within_their_bound(federation) -> None:
    summary, ws = federation
    for site in ("site-1", "site-2"):
        diff = torch.load(ws / "updates" / f"{site}_round0.pt", weights_only=False)["diff"]
        back = decompress(*compress(diff, "int8"))
        for k, x in diff.items():
            if np.issubdtype(x.dtype, np.floating):
                assert np.abs(back[k] - x).max() <= error_bound(x, "int8"), k
    sites = [r for r in summary["updates"] if r["side"] == "site"]
    assert len(sites) == 2 and all(r["bytes_sent"] <= 0.27 * r["bytes_uncompressed"] for r in sites), sites


def test_only_model_tensors_and_metadata_cross(federation) -> None:
    summary, ws = federation
    shapes = {k: list(v.shape) for k, v in torch.load(ws / "initial.pt", weights_only=True).items()}
    arrived = [r for r in summary["updates"] if r["side"] == "server"]
    assert len(arrived) == 2
    for r in arrived:  # after restoring: exactly the network's tensors, nothing else
        assert {k: v[0] for k, v in r["tensors"].items()} == shapes
        assert r["meta_keys"] == ["initial_metrics"] and r["other_keys"] == []
    for r in summary["updates"]:
        if r["side"] == "site":  # on the wire: the packed int8 array and the integer counters
            assert all(v[1] in ("int8", "int64") for v in r["tensors_sent"].values())
    text = (ws / "updates.jsonl").read_text(encoding="utf-8")
    assert "kvasir" not in text and "cvc" not in text and ".jpg" not in text and ".png" not in text


def test_reset_optimizer_starts_each_round_with_fresh_moments(tmp_path) -> None:
    from monai_lightseg.federated.job import run_federation

    datalist = write_datalist(tmp_path / "datalist.json", [KVASIR, CVC], [KVASIR, CVC])
    summary = run_federation(BUNDLE, SAMPLES / "polyp", tmp_path / "ws", rounds=2, local_epochs=1,
                             datalist=datalist, record_updates=True, reset_optimizer=True)  # fmt: skip
    assert summary["reset_optimizer"] is True
    for site in ("site-1", "site-2"):
        rounds = [torch.load(tmp_path / "ws" / "updates" / f"{site}_round{r}.pt", weights_only=False) for r in (0, 1)]
        # AdamW counts the steps behind its moments: carried over it would be 2 after round 1, reset it is 1
        assert [r["steps"] for r in rounds] == [1, 1]
        assert [r["optimizer_steps"] for r in rounds] == [1, 1]
