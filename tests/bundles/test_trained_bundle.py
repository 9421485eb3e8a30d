"""benchmarks/trained_bundle.py: benchmarks run a bundle's network as the bundle deploys it (re-parameterised,
in its memory layout), with the same outputs as the network as trained, and refuse a folder without weights."""

import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from trained_bundle import trained_network  # noqa: E402

LIGHT = REPO / "bundles" / "polyp_endoscopy_light_u2net_segmentation"


def test_the_network_is_deployed_as_the_bundle_says_and_computes_the_same_logits() -> None:
    parser, deployed = trained_network(LIGHT, "test")
    assert parser.get("reparameterize") is True
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in deployed.modules())
    _, raw = trained_network(LIGHT, "test", deployed=False)
    assert any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in raw.modules())  # as trained
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(deployed(x), raw(x), atol=1e-4, rtol=1e-4)


def test_a_bundle_without_weights_is_refused_by_the_scripts_name(tmp_path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "inference.json").write_bytes((LIGHT / "configs" / "inference.json").read_bytes())
    with pytest.raises(SystemExit, match="^my_script: .* has no trained weights"):
        trained_network(tmp_path, "my_script")


def test_the_latency_comparison_times_both_forms_of_each_bundle_at_each_batch(tmp_path) -> None:
    import json
    import subprocess

    out = tmp_path / "latency.json"
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "deployed_vs_trained_latency.py"), "--bundle", str(LIGHT),
         "--window", "64", "--threads", "1", "--seconds", "0.05", "--rounds", "1", "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert {(r["form"], r["batch"]) for r in rows} == {("trained", 1), ("trained", 4), ("deployed", 1), ("deployed", 4)}
    assert all(r["ms_per_window"] > 0 and len(r["rounds"]) == 1 for r in rows)


def test_a_runtime_given_by_the_caller_replaces_the_bundles() -> None:
    """LightU2Net's bundle says ``"runtime": "auto"`` (ONNX Runtime here when installed); a benchmark that asks
    for eager gets the folded PyTorch network with the same logits."""
    from monai_lightseg.inference import OnnxRuntimeNetwork

    parser, eager = trained_network(LIGHT, "test", runtime="eager")
    assert parser.get("runtime") == "eager" and not isinstance(eager, OnnxRuntimeNetwork)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in eager.modules())
    _, raw = trained_network(LIGHT, "test", deployed=False)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(eager(x), raw(x), atol=1e-4, rtol=1e-4)
