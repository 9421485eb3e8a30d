"""The federated comparison's report: paired per-frame differences, upload bytes, and the condensed summary."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from federated_divergence import compare  # noqa: E402
from federated_report import condensed, markdown, paired, report  # noqa: E402


def _evaluation(folder: Path, site1: list[float], site2: list[float]) -> None:
    folder.mkdir(parents=True)
    result = {}
    for site, scores in (("site-1", site1), ("site-2", site2)):
        frames = {f"{site}/frame_{i}.jpg": s for i, s in enumerate(scores)}
        result[site] = {"dice": round(float(np.mean(scores)), 4), "frames": len(scores), "per_frame": frames}
    (folder / "evaluation.json").write_text(json.dumps(result), encoding="utf-8")


def test_paired_difference_and_its_interval():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.3, 0.95, 200)
    a = {str(i): v for i, v in enumerate(base)}
    shifted = {str(i): v - 0.02 + rng.normal(0, 0.01) for i, v in enumerate(base)}
    result = paired(shifted, a)
    assert result["ci95"][0] < result["mean"] < result["ci95"][1] < 0  # a 0.02 drop is resolved, not noise
    assert result["mean"] == pytest.approx(-0.02, abs=0.004) and result["frames"] == 200
    # stored with 6 decimals, so that the 3 quoted in the docs are rounded once
    exact = float(np.mean([shifted[k] - a[k] for k in a]))
    assert result["mean"] == round(exact, 6) and result["mean"] != round(exact, 4)
    with pytest.raises(ValueError, match="different frames"):
        paired({"x": 1.0}, {"y": 1.0})


def test_report_compares_each_setting_with_centralised_and_int8_with_its_fp32_twin(tmp_path):
    _evaluation(tmp_path / "centralised", [0.8, 0.9, 0.7, 0.6], [0.7, 0.5, 0.9])
    _evaluation(tmp_path / "federated_fp32_r2x1_seed0", [0.8, 0.85, 0.7, 0.6], [0.7, 0.5, 0.8])
    _evaluation(tmp_path / "federated_int8_r2x1_seed0", [0.8, 0.85, 0.7, 0.5], [0.7, 0.5, 0.8])
    _evaluation(tmp_path / "federated_int8ef_r2x1_seed0", [0.8, 0.85, 0.7, 0.7], [0.7, 0.5, 0.8])  # error feedback
    _evaluation(tmp_path / "federated_fp32_r2x1_seed0_repeat", [0.8, 0.85, 0.7, 0.64], [0.7, 0.5, 0.8])
    updates = [{"side": "site", "bytes_sent": 264, "bytes_uncompressed": 1000}] * 4
    summary = {"wall_s": 10.0, "updates": updates}
    (tmp_path / "federated_int8_r2x1_seed0" / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    table = report(tmp_path)
    assert table["federated_fp32_r2x1_seed0"]["minus_centralised"]["site-1"]["mean"] == pytest.approx(-0.0125)
    assert table["federated_int8_r2x1_seed0"]["minus_fp32"]["site-1"]["mean"] == pytest.approx(-0.025)
    assert table["federated_int8_r2x1_seed0"]["upload_bytes"]["ratio"] == pytest.approx(0.264)
    assert table["federated_int8ef_r2x1_seed0"]["minus_fp32"]["site-1"]["mean"] == pytest.approx(0.025)
    assert table["federated_fp32_r2x1_seed0_repeat"]["minus_original"]["site-1"]["mean"] == pytest.approx(0.01)
    assert "seed_means" not in table  # a repeat is not a second seed of its family
    assert table["centralised"]["of_centralised"] == {"site-1": 1.0, "site-2": 1.0}
    assert "0.264x" in markdown(table) and (tmp_path / "report.json").is_file()


def test_condensed_summary_keeps_bytes_and_what_crossed_not_the_tensor_lists():
    server = {"side": "server", "kind": "WEIGHT_DIFF", "tensors": {"w": [[2], "float32"]}, "meta_keys": ["m"],
              "other_keys": []}  # fmt: skip
    site = {"side": "site", "bytes_sent": 500, "bytes_uncompressed": 1000, "tensors_sent": {"w": [[2], "int8"]}}
    sites = {"site-1": {"datalist": "/machine/ws/sites/site-1.json", "frames": 2}}
    kept = condensed({"rounds": 1, "updates": [site, server], "global_models": ["a.pt"], "sites": sites,
                      "result": "/machine/ws/nvflare"})  # fmt: skip
    assert "updates" not in kept and "global_models" not in kept
    assert "/machine" not in str(kept) and kept["sites"] == {"site-1": {"frames": 2}}
    assert kept["upload_bytes"]["ratio"] == 0.5
    assert kept["what_crossed"] == {"kinds": ["WEIGHT_DIFF"], "tensors": 1, "meta_keys": ["m"], "other_keys": []}


def test_seeds_of_a_family_are_averaged_and_a_federation_meets_the_centralised_run_of_its_seed(tmp_path):
    _evaluation(tmp_path / "centralised", [0.8, 0.9], [0.7, 0.5])
    _evaluation(tmp_path / "centralised_seed1", [0.6, 0.7], [0.5, 0.5])
    _evaluation(tmp_path / "centralised_last_epoch", [0.1, 0.1], [0.1, 0.1])  # no seed family: not averaged
    _evaluation(tmp_path / "federated_fp32_r2x1_seed0", [0.7, 0.8], [0.6, 0.4])
    _evaluation(tmp_path / "federated_fp32_r2x1_seed1", [0.5, 0.6], [0.5, 0.3])
    table = report(tmp_path)
    means = table["seed_means"]
    assert set(means) == {"centralised", "federated_fp32_r2x1"}
    assert means["centralised"]["dice"] == {"site-1": 0.75, "site-2": 0.55}
    assert means["federated_fp32_r2x1"]["dice"] == {"site-1": 0.65, "site-2": 0.45}
    assert means["federated_fp32_r2x1"]["of_centralised_mean"] == {"site-1": round(0.65 / 0.75, 3),
                                                                   "site-2": round(0.45 / 0.55, 3)}  # fmt: skip
    same = table["federated_fp32_r2x1_seed1"]["minus_centralised_same_seed"]
    assert same["reference"] == "centralised_seed1" and same["site-1"]["mean"] == pytest.approx(-0.1)
    assert same["site-2"]["mean"] == pytest.approx(-0.1)
    assert "minus_centralised_same_seed" not in table["federated_fp32_r2x1_seed0"]  # its reference is the bundle
    text = markdown(table)
    assert "minus centralised_seed1 (same seed)" in text
    assert "| federated_fp32_r2x1 | 0, 1 | 0.650 | 0.450 | 0.750 / 0.550 | 86.7% / 81.8% |" in text


def test_a_family_is_measured_against_the_centralised_runs_of_its_own_seeds(tmp_path):
    """A third centralised seed moves the centralised mean, not the share of a family trained with two seeds;
    a family with a seed that has no centralised run gets no share."""
    _evaluation(tmp_path / "centralised", [0.8, 0.9], [0.7, 0.5])
    _evaluation(tmp_path / "centralised_seed1", [0.6, 0.7], [0.5, 0.5])
    _evaluation(tmp_path / "centralised_seed2", [1.0, 1.0], [1.0, 1.0])
    _evaluation(tmp_path / "federated_fp32_r2x1_seed0", [0.7, 0.8], [0.6, 0.4])
    _evaluation(tmp_path / "federated_fp32_r2x1_seed1", [0.5, 0.6], [0.5, 0.3])
    _evaluation(tmp_path / "federated_int8_r2x1_seed1", [0.5, 0.6], [0.5, 0.3])
    _evaluation(tmp_path / "federated_int8_r2x1_seed3", [0.5, 0.6], [0.5, 0.3])
    means = report(tmp_path)["seed_means"]
    assert means["centralised"]["dice"]["site-1"] == pytest.approx((0.85 + 0.65 + 1.0) / 3, abs=1e-4)
    family = means["federated_fp32_r2x1"]
    assert family["centralised_same_seeds"] == {"site-1": 0.75, "site-2": 0.55}
    assert family["of_centralised_mean"] == {"site-1": round(0.65 / 0.75, 3), "site-2": round(0.45 / 0.55, 3)}
    assert "of_centralised_mean" not in means["federated_int8_r2x1"]  # seed 3 has no centralised run


def test_divergence_sets_each_run_against_its_float32_twin(tmp_path):
    """benchmarks/federated_divergence.py: weight distance and per-frame spread against the twin, compressed runs
    of the same seed and float32 runs of other seeds only."""
    import torch

    weights = {"federated_fp32_r2x1_seed0": 1.0, "federated_int8_r2x1_seed0": 1.1, "federated_fp32_r2x1_seed1": 3.0,
               "federated_int8_r2x1_seed1": 5.0, "federated_fp32_r4x1_seed0": 9.0,
               "federated_fp32_r2x1_seed0_site_bn": 9.0, "federated_fp32_r2x1_reset_seed1": 9.0}  # fmt: skip
    for name, w in weights.items():
        _evaluation(tmp_path / name, [0.5, 0.5 + w / 10], [0.5, 0.5])
        (tmp_path / name / "workspace").mkdir()
        state = {"conv.weight": torch.full((2, 2), w), "bn.running_var": torch.full((2,), w * 7)}
        torch.save(state, tmp_path / name / "workspace" / "model.pt")
    out = compare(tmp_path, "federated_fp32_r2x1_seed0")
    assert sorted(out["runs"]) == ["federated_fp32_r2x1_seed1", "federated_int8_r2x1_seed0"]  # same recipe only
    assert out["runs"]["federated_fp32_r2x1_seed1"]["kind"] == "another seed"
    assert out["runs"]["federated_int8_r2x1_seed0"]["weight_distance"] == pytest.approx(0.1)  # running_var ignored
    assert out["runs"]["federated_fp32_r2x1_seed1"]["weight_distance"] == pytest.approx(2.0)
    spread = out["runs"]["federated_int8_r2x1_seed0"]["per_frame_difference_sd"]
    assert spread["site-1"] == pytest.approx(0.0071, abs=1e-4) and spread["site-2"] == 0
    with pytest.raises(ValueError, match="float32 federation"):
        compare(tmp_path, "federated_int8_r2x1_seed0")
