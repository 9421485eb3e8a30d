"""Error feedback: what int8 compression drops from a site's update reaches the server in later rounds, instead
of being lost every round; the residual a site keeps never exceeds half a quantisation step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nvflare")

from nvflare.apis.dxo import DXO, DataKind, from_shareable  # noqa: E402
from nvflare.apis.fl_context import FLContext  # noqa: E402

from monai_lightseg.federated.compression import compress, decompress, error_bound  # noqa: E402
from monai_lightseg.federated.error_feedback import ErrorFeedback  # noqa: E402
from monai_lightseg.federated.filters import CompressUpdate, RestoreUpdate  # noqa: E402
from monai_lightseg.federated.job import run_federation  # noqa: E402
from tests.federated.samples import BUNDLE  # noqa: E402


def _sent_over_rounds(error_feedback: bool, rounds: int) -> np.ndarray:
    """What the server receives in total when a site sends the same update every round: one large entry (it
    sets the int8 scale, 1/127) and one of 0.003, under half a step (0.0039), which plain int8 rounds to 0."""
    site, server, ctx = CompressUpdate("int8", error_feedback=error_feedback), RestoreUpdate(), FLContext()
    total = np.zeros(3, np.float64)
    for _ in range(rounds):
        update = {"w": np.array([1.0, 0.003, -0.0021], np.float32), "n": np.array(5, np.int64)}
        arrived = from_shareable(server.process(site.process(DXO(DataKind.WEIGHT_DIFF, update).to_shareable(), ctx),
                                                ctx))  # fmt: skip
        assert arrived.data["n"] == 5  # integers pass untouched
        total += arrived.data["w"]
    return total


def test_entries_below_half_a_step_reach_the_server_over_rounds() -> None:
    rounds, step = 100, 1.0 / 127
    plain, fed_back = _sent_over_rounds(False, rounds), _sent_over_rounds(True, rounds)
    assert plain[1] == 0 and plain[2] == 0  # lost every round
    expected = rounds * np.array([1.0, 0.003, -0.0021])
    assert np.abs(fed_back - expected).max() <= step / 2 + 1e-5  # all but the residual still held by the site


def test_a_float16_update_keeps_its_residual() -> None:
    """The residual is added at float32 at least: added back in float16, a residual of 1e-4 on an entry of 1.0
    would round away every round and the sum would drift by a step per few rounds."""
    rng, feedback = np.random.default_rng(1), ErrorFeedback()
    total_sent, total_true = np.zeros(1000), np.zeros(1000)
    for _ in range(300):
        update = {"w": (1.0 + rng.normal(0, 0.01, 1000)).astype(np.float16)}
        corrected = feedback.add(update)
        arrays, meta = compress(corrected, "int8")
        restored = decompress(arrays, meta)
        feedback.keep(corrected, restored)
        total_sent += restored["w"]
        total_true += update["w"].astype(np.float64)
    step = float(np.abs(corrected["w"]).max()) / 127
    assert np.abs(total_sent - total_true).max() <= step / 2 + 1e-4


def test_the_residual_stays_within_half_a_quantisation_step() -> None:
    rng, feedback = np.random.default_rng(0), ErrorFeedback()
    for _ in range(20):
        update = {"conv.weight": rng.standard_t(2, (8, 4, 3, 3)).astype(np.float32) * 1e-3,
                  "bn.num_batches_tracked": np.array(3, np.int64)}  # fmt: skip
        corrected = feedback.add(update)
        arrays, meta = compress(corrected, "int8")
        feedback.keep(corrected, decompress(arrays, meta))
        bound = error_bound(corrected["conv.weight"], "int8")
        assert np.abs(feedback.residual["conv.weight"]).max() <= bound
        assert set(feedback.residual) == {"conv.weight"}


def test_error_feedback_needs_differences_and_a_scheme(tmp_path) -> None:
    site = CompressUpdate("int8", error_feedback=True)
    weights = DXO(DataKind.WEIGHTS, {"w": np.ones(3, np.float32)}).to_shareable()
    with pytest.raises(ValueError, match="weight differences"):
        site.process(weights, FLContext())
    metrics = DXO(DataKind.METRICS, {"val_dice": 0.5}).to_shareable()
    assert from_shareable(site.process(metrics, FLContext())).data == {"val_dice": 0.5}  # no model: passes as is
    with pytest.raises(ValueError, match="needs a compression scheme"):
        CompressUpdate(None, error_feedback=True)
    with pytest.raises(ValueError, match="needs a compression scheme"):
        run_federation(BUNDLE, tmp_path, tmp_path / "ws", rounds=1, error_feedback=True)
    assert not (tmp_path / "ws").exists()  # refused before anything is written


def test_offline_measure_of_a_federations_rounding(tmp_path) -> None:
    """benchmarks/federated_quantisation_error.py on a made-up run whose every round moves one weight by a
    third of a quantisation step: plain int8 loses all of that weight's movement, error feedback almost none."""
    import sys

    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from federated_quantisation_error import measure

    (tmp_path / "global_models").mkdir()
    state = {"w": torch.zeros(2), "bn.running_mean": torch.zeros(2), "bn.num_batches_tracked": torch.tensor(0)}
    torch.save(state, tmp_path / "initial.pt")
    for r in range(30):
        state = {**state, "w": state["w"] + torch.tensor([1.0, 1 / 381])}
        torch.save(state, tmp_path / "global_models" / f"round_{r}.pt")
    result = measure(tmp_path)
    assert result["rounds"] == 30 and result["tensors"] == 1  # running statistics and counters left out
    assert result["per_round_mean"]["share_of_entries_rounded_to_zero"] == pytest.approx(0.5)
    plain, fed_back = result["summed_over_rounds"]["plain"], result["summed_over_rounds"]["error_feedback"]
    assert plain["max_tensor_relative_error"] == pytest.approx((30 / 381) / np.hypot(30, 30 / 381), rel=1e-3)
    assert fed_back["max_tensor_relative_error"] < 0.05 * plain["max_tensor_relative_error"]
