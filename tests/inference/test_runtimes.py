"""Inference runtimes: the folded network on PyTorch, TorchScript or ONNX Runtime gives the eager network's output."""

from __future__ import annotations

import importlib.util
import logging

import numpy as np
import pytest
import torch
from monai.networks.utils import eval_mode

from monai_lightseg.inference import BundleSegmenter, OnnxRuntimeNetwork, deploy, runtimes
from monai_lightseg.inference.runtimes import (
    choose_runtime,
    deploy_as_bundle_says,
    deploy_as_configured,
    to_preferred_memory_format,
)
from monai_lightseg.networks import create_net, is_reparameterized
from tests.bundles.conftest import copy_bundle, ensure_weights
from tests.networks.test_reparameterize import randomize_batch_norms

needs_onnxruntime = pytest.mark.skipif(
    __import__("importlib").util.find_spec("onnxruntime") is None, reason="onnxruntime is not installed"
)


def test_eager_runtime_is_the_folded_network_and_unknown_runtimes_are_named() -> None:
    net = create_net("feature_compression_net", "tiny", spatial_dims=2, in_channels=3, out_channels=1)
    assert is_reparameterized(deploy(net, "eager"))
    with pytest.raises(ValueError, match="unknown runtime 'tensorrt'"):
        deploy(net, "tensorrt")


def test_a_bundles_settings_decide_whether_the_network_is_deployed() -> None:
    net = create_net("feature_compression_net", "tiny", spatial_dims=2, in_channels=3, out_channels=1).eval()
    assert deploy_as_configured(net, reparameterize=False, runtime="eager") is net
    assert is_reparameterized(deploy_as_configured(net, reparameterize=True, runtime="eager"))
    fresh = create_net("feature_compression_net", "tiny", spatial_dims=2, in_channels=3, out_channels=1).eval()
    assert deploy_as_configured(fresh, reparameterize=False, runtime="torchscript") is not fresh  # always folded


def test_the_deploy_rule_reads_reparameterize_as_the_command_line_gives_it() -> None:
    """``--reparameterize false`` arrives as the string "false": every caller of the rule must read it as false."""
    net = create_net("feature_compression_net", "tiny", spatial_dims=2, in_channels=3, out_channels=1).eval()
    assert deploy_as_configured(net, reparameterize="false", runtime="eager") is net
    assert deploy_as_configured(net, reparameterize="0", runtime="eager") is net
    assert is_reparameterized(deploy_as_configured(net, reparameterize="True", runtime="eager"))
    with pytest.raises(ValueError, match="reparameterize: expected true or false, got 'maybe'"):
        deploy_as_configured(net, reparameterize="maybe", runtime="eager")


def test_the_deploy_rule_reads_its_settings_from_a_bundle_config_with_defaults() -> None:
    """What benchmarks and reports use: a config without the keys leaves the network as trained; a command-line
    style ``"false"`` string is false; ``"true"`` folds."""
    from monai.bundle import ConfigParser

    net = create_net("feature_compression_net", "tiny", spatial_dims=2, in_channels=3, out_channels=1).eval()
    assert deploy_as_bundle_says(net, ConfigParser({})) is net
    assert deploy_as_bundle_says(net, ConfigParser({"reparameterize": "false", "runtime": "eager"})) is net
    assert is_reparameterized(deploy_as_bundle_says(net, ConfigParser({"reparameterize": "true"})))


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_channels_last_only_for_networks_with_depthwise_convs(spatial_dims: int) -> None:
    """The seed nets go channels-last (same output to rounding); MONAI's UNet (dense convs only) stays as it is."""
    from monai.networks.nets import UNet

    fmt = torch.channels_last if spatial_dims == 2 else torch.channels_last_3d
    shape = (1, 3, 40, 36) if spatial_dims == 2 else (1, 3, 16, 20, 12)
    net = randomize_batch_norms(create_net("emisnet", "fast", spatial_dims=spatial_dims, in_channels=3,
                                           out_channels=2)).eval()  # fmt: skip
    deployed = deploy(net, "eager")
    conv = next(m for m in deployed.modules() if isinstance(m, torch.nn.modules.conv._ConvNd))
    assert conv.weight.is_contiguous(memory_format=fmt) and not conv.weight.is_contiguous()
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = net(x), deployed(x)
    assert float((got - expected).abs().max()) <= 1e-4 * max(1.0, float(expected.abs().max()))
    unet = UNet(spatial_dims, 3, 2, channels=(4, 8, 16), strides=(2, 2)).eval()
    kept = to_preferred_memory_format(unet)
    assert all(p.is_contiguous() for p in kept.parameters())


@pytest.mark.parametrize("variant", ["tiny", "fast"])
@pytest.mark.parametrize(("name", "spatial_dims"), [("light_u2net", 2), ("emisnet", 2), ("feature_compression_net", 3)])
def test_torchscript_matches_eager(name: str, spatial_dims: int, variant: str) -> None:
    """Within 1e-4 x max(1, max |logit|), for two input sizes (scripting, unlike tracing, keeps every size)."""
    net = randomize_batch_norms(create_net(name, variant, spatial_dims=spatial_dims, in_channels=3, out_channels=2))
    runtime = deploy(net, "torchscript")
    assert isinstance(runtime, torch.jit.ScriptModule)
    shapes = [(2, 3, 48, 40), (1, 3, 37, 29)] if spatial_dims == 2 else [(1, 3, 24, 16, 20), (1, 3, 13, 17, 11)]
    for shape in shapes:
        x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            expected = net.eval()(x)
            got = runtime(x)
        assert got.shape == expected.shape
        assert float((got - expected).abs().max()) <= 1e-4 * max(1.0, float(expected.abs().max()))


@needs_onnxruntime
@pytest.mark.parametrize(("name", "spatial_dims"), [("light_u2net", 2), ("emisnet", 2), ("feature_compression_net", 3)])
def test_onnxruntime_matches_eager(name: str, spatial_dims: int) -> None:
    """Within 1e-4 x max(1, max |logit|); one export per input shape, reused."""
    shape = (2, 3, 48, 40) if spatial_dims == 2 else (1, 1, 24, 16, 20)
    net = randomize_batch_norms(create_net(name, "tiny", spatial_dims=spatial_dims, in_channels=shape[1],
                                           out_channels=2))  # fmt: skip
    runtime = deploy(net, "onnxruntime", threads=1)
    assert isinstance(runtime, OnnxRuntimeNetwork)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = net(x)
    got = runtime(x)
    assert got.shape == expected.shape and got.dtype == torch.float32
    assert float((got - expected).abs().max()) <= 1e-4 * max(1.0, float(expected.abs().max()))
    runtime(x + 1)
    assert len(runtime._sessions) == 1  # same shape: the export is reused
    with pytest.raises(RuntimeError, match="inference only"):
        runtime.train()


def _without_onnx_extra(monkeypatch) -> None:
    """As if ``pip install 'monai_lightseg[onnx]'`` had not been run."""
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name in runtimes._ONNX_PACKAGES else real(name, *args)

    monkeypatch.setattr(runtimes.importlib.util, "find_spec", find_spec)


@needs_onnxruntime
def test_onnxruntime_network_runs_under_monai_eval_mode_and_keeps_the_log_short(caplog) -> None:
    """MONAI's evaluators wrap every step in ``eval_mode``, which puts back the mode it found: the network must be
    in eval mode from the start (it was not, and ``python -m monai.bundle run`` with ONNX Runtime failed on the
    first frame). The exporter's hundreds of INFO lines stay out of the log."""
    net = create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1)
    runtime = deploy(net, "onnxruntime", threads=1)
    assert not runtime.training
    with caplog.at_level(logging.INFO), eval_mode(runtime):
        out = runtime(torch.randn(1, 3, 32, 32))
    assert out.shape == (1, 1, 32, 32) and not runtime.training
    assert not [r for r in caplog.records if r.name.startswith(("onnxscript", "onnx_ir", "torch.onnx"))]
    # the exporter's loggers are as they were after the export; a level a user set is left alone (to read them)
    assert all(logging.getLogger(name).level == logging.NOTSET for name in runtimes._EXPORTER_LOGGERS)
    logging.getLogger("onnx_ir").setLevel(logging.DEBUG)
    try:
        with runtimes._EXPORT_LOCK, runtimes._exporter_quiet():
            assert logging.getLogger("onnx_ir").level == logging.DEBUG
            assert logging.getLogger("onnxscript").level == logging.ERROR
    finally:
        logging.getLogger("onnx_ir").setLevel(logging.NOTSET)


@needs_onnxruntime
def test_concurrent_first_calls_export_a_shape_once(monkeypatch) -> None:
    """A server's threads sharing one loaded bundle: the first calls of one input shape wait for one export."""
    import threading

    net = create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1)
    runtime = deploy(net, "onnxruntime", threads=1)
    exports = []
    real = OnnxRuntimeNetwork._export

    def counted(self, x):
        exports.append(tuple(x.shape))
        return real(self, x)

    monkeypatch.setattr(OnnxRuntimeNetwork, "_export", counted)
    x = torch.randn(1, 3, 32, 32)
    outs = [None] * 3

    def call(i):
        outs[i] = runtime(x)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert exports == [(1, 3, 32, 32)]
    assert all(torch.equal(o, outs[0]) for o in outs)


@needs_onnxruntime
def test_an_onnxruntime_network_that_has_run_copies_and_locate_then_segment_uses_it_as_it_is() -> None:
    """Its sessions cannot be copied: a deep copy (what folding makes) leaves them behind and exports again when
    called. LocateThenSegmentInferer, which folds the network it is given, takes a deployed one as it is."""
    import copy

    from monai_lightseg.inference import LocateThenSegmentInferer

    net = create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1)
    runtime = deploy(net, "onnxruntime", threads=1)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    expected = runtime(x)
    copied = copy.deepcopy(runtime)
    assert copied._sessions == {} and len(runtime._sessions) == 1 and not copied.training
    assert torch.allclose(copied(x), expected, atol=1e-5)
    inferer = LocateThenSegmentInferer(roi_size=(32, 32), sw_batch_size=1)
    assert inferer._deployed(runtime) is runtime
    scripted = deploy(net, "torchscript")
    assert inferer._deployed(scripted) is scripted


@needs_onnxruntime
def test_auto_runtime_is_onnxruntime_on_the_cpu_and_eager_elsewhere(monkeypatch) -> None:
    """``auto``: ONNX Runtime for a CPU network with the extra installed; eager PyTorch (folded) for a network off
    the CPU (ONNX Runtime would compute on the CPU) or without the extra."""
    net = create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1)
    assert choose_runtime(net) == "onnxruntime"
    assert isinstance(deploy(net, "auto"), OnnxRuntimeNetwork)
    assert choose_runtime(create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1).to("meta")) \
        == "eager"
    _without_onnx_extra(monkeypatch)
    assert choose_runtime(net) == "eager"
    folded = deploy(net, "auto")
    assert not isinstance(folded, OnnxRuntimeNetwork) and is_reparameterized(folded)


@needs_onnxruntime
def test_auto_runtime_runs_pytorch_when_the_export_fails(monkeypatch, caplog) -> None:
    """An export the installed exporter cannot write: ``auto`` logs a warning and gives eager's output from then
    on; an explicit ``onnxruntime`` raises."""
    net = randomize_batch_norms(create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1))
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = net.eval()(x)

    def cannot_export(self, x):
        raise NotImplementedError("no ONNX symbol for this operator")

    monkeypatch.setattr(OnnxRuntimeNetwork, "_export", cannot_export)
    auto = deploy(net, "auto", threads=1)
    with caplog.at_level(logging.WARNING), torch.no_grad():
        with pytest.raises(RuntimeError):  # two channels where the network takes three: PyTorch's error, raised
            auto(torch.randn(1, 2, 32, 32))
        assert not auto._export_failed  # a bad input does not switch the network off ONNX Runtime
        got = auto(x)
        auto(x)
    assert torch.allclose(got, expected, atol=1e-4)
    assert [r.getMessage() for r in caplog.records if "ONNX export failed" in r.getMessage()] == [
        "ONNX export failed (NotImplementedError: no ONNX symbol for this operator); running the network in PyTorch "
        "instead."
    ]  # once, not per call
    with pytest.raises(NotImplementedError):
        deploy(net, "onnxruntime", threads=1)(x)


@needs_onnxruntime
def test_auto_runtime_runs_pytorch_where_onnxruntime_cannot_be_imported(monkeypatch, caplog) -> None:
    """An ONNX Runtime that is installed but fails to import (a mismatched build): ``auto`` runs PyTorch, with a
    warning; an explicit ``onnxruntime`` raises the ImportError naming the extra."""
    import builtins

    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("DLL load failed")
        return real_import(name, *args, **kwargs)

    net = create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1)
    monkeypatch.setattr(builtins, "__import__", broken)
    with caplog.at_level(logging.WARNING):
        folded = deploy(net, "auto")
    assert not isinstance(folded, OnnxRuntimeNetwork) and is_reparameterized(folded)
    assert any("DLL load failed" in r.getMessage() for r in caplog.records)
    with pytest.raises(ImportError, match=r"monai_lightseg\[onnx\]"):
        deploy(net, "onnxruntime")


@needs_onnxruntime
def test_auto_runtime_network_moved_to_another_device_runs_pytorch_there() -> None:
    """Deployed on the CPU, then given an input elsewhere (a benchmark's ``net.to(device)``): the PyTorch network
    runs on the input's device, never ONNX Runtime. The "meta" device stands in for a GPU, as none is here."""
    net = create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1)
    auto = deploy(net, "auto", threads=1)
    out = auto(torch.randn(1, 3, 16, 16, device="meta"))
    assert out.device.type == "meta" and out.shape == (1, 1, 16, 16)
    assert auto._sessions == {} and next(auto.network.parameters()).device.type == "meta"


@needs_onnxruntime
def test_one_networks_export_does_not_hold_up_another_networks_calls(monkeypatch) -> None:
    """Two bundles in one server: while A exports a shape, B runs a shape it has already exported."""
    import threading

    b = deploy(create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1), "onnxruntime")
    a = deploy(create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1), "onnxruntime")
    x = torch.randn(1, 3, 32, 32)
    b(x)  # exported before A starts
    exporting, release = threading.Event(), threading.Event()
    real = OnnxRuntimeNetwork._export

    def slow_for_a(self, inputs):
        if self is a:
            exporting.set()
            release.wait(timeout=60)
        return real(self, inputs)

    monkeypatch.setattr(OnnxRuntimeNetwork, "_export", slow_for_a)
    first = threading.Thread(target=a, args=(x,))
    first.start()
    assert exporting.wait(timeout=60)
    second = threading.Thread(target=b, args=(x,))
    second.start()
    second.join(timeout=30)
    finished = not second.is_alive()
    release.set()
    first.join(timeout=60)
    assert finished, "B waited for A's export"


@needs_onnxruntime
def test_a_failed_export_is_not_retried_and_the_network_pickles(monkeypatch) -> None:
    """An export that failed for a shape raises again at once for that shape (no second multi-second export); a
    network that has run pickles (its sessions are left behind) and runs after unpickling."""
    import pickle

    net = create_net("light_u2net", "tiny", spatial_dims=2, in_channels=3, out_channels=1)
    runtime = deploy(net, "onnxruntime", threads=1)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    expected = runtime(x)
    again = pickle.loads(pickle.dumps(runtime))
    assert again._sessions == {} and torch.allclose(again(x), expected, atol=1e-5)
    tries = []

    def cannot_export(self, inputs):
        tries.append(tuple(inputs.shape))
        raise NotImplementedError("no ONNX symbol for this operator")

    monkeypatch.setattr(OnnxRuntimeNetwork, "_export", cannot_export)
    other = torch.randn(1, 3, 48, 48)
    for _ in range(2):
        with pytest.raises(NotImplementedError):
            runtime(other)
    assert tries == [(1, 3, 48, 48)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("runtime", "kind"),
    [("torchscript", torch.jit.ScriptModule), pytest.param("onnxruntime", OnnxRuntimeNetwork, marks=needs_onnxruntime)],
)
def test_bundle_segmenter_runtimes_give_the_eager_masks(tmp_path, runtime: str, kind: type) -> None:
    """The polyp FeatureCompressionNet bundle's shipped samples through each runtime: the same masks as eager
    PyTorch, up to pixels whose probability is within rounding of the threshold (none expected; at most 1e-4)."""
    root = copy_bundle("polyp_endoscopy_feature_compression_net_segmentation", tmp_path)
    ensure_weights(root)
    eager = BundleSegmenter(root, device="cpu")
    other = BundleSegmenter(root, device="cpu", runtime=runtime)
    assert isinstance(other.network, kind) and other.runtime == runtime
    for sample in sorted((root / "sample_data" / "images").iterdir()):
        a, b = eager(sample), other(sample)
        assert a.shape == b.shape and a.any()
        assert np.count_nonzero(a != b) <= 1e-4 * a.size, sample.name


@pytest.mark.slow
@needs_onnxruntime
def test_light_u2net_bundle_runs_on_onnxruntime_and_without_it_gives_the_same_masks(tmp_path, monkeypatch) -> None:
    """The LightU2Net polyp bundle ships ``"runtime": "auto"``: ONNX Runtime on this CPU; without the onnx extra the
    same bundle runs on PyTorch and writes the same masks on its shipped samples."""
    root = copy_bundle("polyp_endoscopy_light_u2net_segmentation", tmp_path)
    ensure_weights(root)
    onnx = BundleSegmenter(root, device="cpu")
    assert onnx.runtime == "auto" and isinstance(onnx.network, OnnxRuntimeNetwork)
    _without_onnx_extra(monkeypatch)
    eager = BundleSegmenter(root, device="cpu")
    assert not isinstance(eager.network, OnnxRuntimeNetwork) and is_reparameterized(eager.network)
    for sample in sorted((root / "sample_data" / "images").iterdir()):
        a, b = onnx(sample), eager(sample)
        assert a.shape == b.shape and a.any()
        assert np.count_nonzero(a != b) <= 1e-4 * a.size, sample.name
