"""How a trained network runs at inference: PyTorch eager, TorchScript or ONNX Runtime, behind one call.

All start from :func:`monai_lightseg.networks.reparameterize` of the loaded network (same function, fewer ops).
``torchscript`` scripts that, freezes it (weights become constants) and lets TorchScript fuse what it can
(``torch.jit.optimize_for_inference``): 4-24 % off the folded latency in 2D on 2 CPU threads (more for dense 3D
convs), on CPU or CUDA. ``onnxruntime`` exports that with ``torch.onnx.export(dynamo=True)`` and runs it on ONNX
Runtime's CPU execution provider; the export is made once per input shape (a sliding window calls with one or two
shapes) and kept in memory. Install: ``pip install 'monai_lightseg[onnx]'``. ``auto`` runs ONNX Runtime where it can
(the network on the CPU, the extra installed) and eager PyTorch otherwise (on a GPU, or without the extra): one
bundle setting for both machines, for a bundle whose network was measured faster on ONNX Runtime than eager.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import logging
import threading
import warnings

import torch
from torch import nn

from monai_lightseg.config_flags import as_bool
from monai_lightseg.networks.reparameterize import reparameterize

__all__ = [
    "RUNTIMES",
    "OnnxRuntimeNetwork",
    "choose_runtime",
    "deploy",
    "deploy_as_bundle_says",
    "deploy_as_configured",
    "script_for_inference",
    "to_preferred_memory_format",
]

#: the runtimes :func:`deploy` accepts
RUNTIMES = ("eager", "torchscript", "onnxruntime", "auto")

logger = logging.getLogger(__name__)

#: the packages the ``onnxruntime`` runtime imports (the ``onnx`` extra)
_ONNX_PACKAGES = ("onnx", "onnxruntime", "onnxscript")
#: loggers of the exporter: a line per optimisation pass at INFO (hundreds in a bundle's log) and, at WARNING, one
#: per torchvision operator it skips ("torchvision is not installed"), which says nothing about our networks
_EXPORTER_LOGGERS = ("onnxscript", "onnx_ir", "torch.onnx")


#: one export at a time in a process: the exporter's logger levels are process-wide, and two first calls of one
#: network (a server's threads sharing a loaded bundle) must not both export it. A shape already exported is run
#: without it, so one network's export does not hold up another's calls.
_EXPORT_LOCK = threading.Lock()


@contextlib.contextmanager
def _exporter_quiet():
    """The exporter's loggers at ERROR for the duration, unless a user set their level (to read them); a failed
    export raises (and ``auto`` logs it). Call with :data:`_EXPORT_LOCK` held."""
    loggers = [logging.getLogger(name) for name in _EXPORTER_LOGGERS]
    unset = [log for log in loggers if log.level == logging.NOTSET]
    for log in unset:
        log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for log in unset:
            log.setLevel(logging.NOTSET)


class OnnxRuntimeNetwork(nn.Module):
    """A network run by ONNX Runtime (CPU), called like the PyTorch module it was exported from.

    Shapes: (N, C, *S) float tensor in, (N, K, *S) logits out, on the input's device (computed on the CPU).

    Always in eval mode (``training`` is False from the start, so MONAI's ``eval_mode``, which restores the mode it
    found, never asks it to train). CPU inputs may come from several threads: a shape is exported once, a shape
    already exported runs without waiting for another's export, and a failed export is not retried. The PyTorch
    path of ``fall_back_to_eager`` moves the network to the input's device: do not mix devices across threads.

    Args:
        network: the module to export (eval mode; re-parameterised by :func:`deploy`).
        threads: ONNX Runtime's intra-op threads (default: ``torch.get_num_threads()``).
        fall_back_to_eager: the ``auto`` runtime: run ``network`` in PyTorch for an input that is not on the CPU
            (moved with the input), and from then on for every input when an export fails but PyTorch runs the
            input (an operator the installed exporter cannot write; logged once) instead of raising.
    """

    def __init__(self, network: nn.Module, threads: int | None = None, fall_back_to_eager: bool = False) -> None:
        super().__init__()
        try:  # ONNX Runtime runs the model; torch.onnx.export writes it with onnx and onnxscript
            import onnx  # noqa: F401
            import onnxruntime  # noqa: F401
            import onnxscript  # noqa: F401
        except Exception as err:  # a missing package, or a mismatched build failing inside its import
            raise ImportError(
                f"the onnxruntime runtime needs ONNX Runtime, onnx and onnxscript ({err}): "
                "pip install 'monai_lightseg[onnx]'."
            ) from err
        self.network = network.eval()
        self.threads = threads or torch.get_num_threads()
        self.fall_back_to_eager = fall_back_to_eager
        self._sessions: dict[tuple[int, ...], object] = {}
        self._export_errors: dict[tuple[int, ...], Exception] = {}  # shapes whose export failed: not retried
        self._export_failed = False  # set once an export has failed, PyTorch ran the input, and fallback is allowed
        self._pytorch_device: torch.device | None = None  # where ``network`` was last prepared to run in PyTorch
        self.train(False)

    def _session(self, x: torch.Tensor):
        key = tuple(x.shape)
        session = self._sessions.get(key)
        if session is not None:
            return session
        with _EXPORT_LOCK:
            if key in self._export_errors:
                raise self._export_errors[key]
            if key not in self._sessions:
                try:
                    self._sessions[key] = self._export(x)
                except Exception as err:
                    self._export_errors[key] = err
                    raise
        return self._sessions[key]

    def _export(self, x: torch.Tensor):
        import onnxruntime as ort

        buffer = io.BytesIO()
        # a copy on the CPU: the network itself stays where the PyTorch path may be running it
        network = copy.deepcopy(self.network).cpu()
        with warnings.catch_warnings(), torch.no_grad(), _exporter_quiet():
            warnings.simplefilter("ignore")  # the exporter's notes on ops of packages that are not installed
            program = torch.onnx.export(network, (x.cpu(),), dynamo=True, verbose=False)
        program.save(buffer)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # no spinning after a run: its idle threads would otherwise busy-wait and slow the PyTorch work
        # (pre- and post-processing, blending) that follows each call on the same cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def _pytorch(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` through the PyTorch network, moved to ``x``'s device once (channels-last on the CPU, where it pays)."""
        first = next(self.network.parameters(), None)
        if self._pytorch_device != x.device or (first is not None and first.device != x.device):
            with _EXPORT_LOCK:  # not while an export copies the network
                self.network.to(x.device)
                if x.device.type == "cpu":
                    to_preferred_memory_format(self.network)
                self._pytorch_device = x.device
        return self.network(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fall_back_to_eager and (self._export_failed or x.device.type != "cpu"):
            return self._pytorch(x)
        try:
            session = self._session(x)
        except Exception as err:  # the exporter raises many kinds of error
            if not self.fall_back_to_eager:
                raise
            out = self._pytorch(x)  # an input PyTorch cannot run either raises here: not the export's fault
            with _EXPORT_LOCK:
                if not self._export_failed:
                    logger.warning("ONNX export failed (%s: %s); running the network in PyTorch instead.",
                                   type(err).__name__, err)  # fmt: skip
                self._export_failed = True
            return out
        (name,) = [i.name for i in session.get_inputs()]
        (out,) = session.run(None, {name: x.detach().cpu().float().numpy()})
        return torch.from_numpy(out).to(x.device)

    def __getstate__(self) -> dict:
        """Copies and pickles leave the ONNX Runtime sessions behind (they cannot be copied; they are a cache and are
        made again on the first call), so ``copy.deepcopy`` works after the network has run."""
        return {**super().__getstate__(), "_sessions": {}}

    def train(self, mode: bool = True) -> OnnxRuntimeNetwork:
        if mode:
            raise RuntimeError("an ONNX Runtime network runs inference only; train the PyTorch network instead.")
        return super().train(False)


def script_for_inference(network: nn.Module) -> torch.jit.ScriptModule:
    """``network`` (eval mode, on its device) scripted, frozen and optimised for inference by TorchScript.

    TorchScript is deprecated upstream in favour of ``torch.export``, but it still runs (and exports) these nets
    on CPU and CUDA without a compiler at run time, which ``torch.compile`` needs; its deprecation warnings are
    silenced here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(network.eval())
        return torch.jit.optimize_for_inference(scripted)


def to_preferred_memory_format(network: nn.Module) -> nn.Module:
    """``network`` in channels-last (``channels_last_3d`` in 3D), in place, when that pays: on the CPU, for a
    network with depthwise convolutions (oneDNN's depthwise kernels are much faster on channels-last data).

    Measured at inference, folded, 2 threads, 1x3x256x256 (``benchmarks/benchmark_compile.py``): the seed nets'
    layouts 30-49 % faster, the fast variants 14-37 %; MONAI's UNet (dense convs only) 2 % slower, so a network
    without depthwise convs is left alone. In 3D (hippocampus window, one exploratory run) the fast settings gained
    up to 11 % and EMISNet's seed layout 48 %. The output's values are unchanged up to float summation order.
    """
    convs = [m for m in network.modules() if isinstance(m, nn.modules.conv._ConvNd)]
    depthwise = any(c.groups > 1 and c.groups == c.in_channels for c in convs)
    on_cpu = all(p.device.type == "cpu" for p in network.parameters())
    if not (convs and depthwise and on_cpu) or convs[0].weight.dim() not in (4, 5):
        return network
    fmt = torch.channels_last if convs[0].weight.dim() == 4 else torch.channels_last_3d
    return network.to(memory_format=fmt)


def choose_runtime(network: nn.Module) -> str:
    """What ``"auto"`` runs ``network`` on: ``"onnxruntime"`` when all its parameters are on the CPU and the
    ``onnx`` extra is installed, else ``"eager"`` (ONNX Runtime here computes on the CPU, so a GPU keeps PyTorch)."""
    on_cpu = all(p.device.type == "cpu" for p in network.parameters())
    installed = all(importlib.util.find_spec(name) is not None for name in _ONNX_PACKAGES)
    return "onnxruntime" if on_cpu and installed else "eager"


def deploy(network: nn.Module, runtime: str = "eager", threads: int | None = None) -> nn.Module:
    """The loaded ``network`` as ``runtime`` runs it (:data:`RUNTIMES`), re-parameterised, eval-only; on the CPU in
    the memory layout that pays for it (:func:`to_preferred_memory_format`). ``"auto"``: :func:`choose_runtime`,
    and eager PyTorch if the ONNX export fails.

    Example::

        >>> net.load_state_dict(torch.load("models/model.pt"))
        >>> fast = deploy(net, "onnxruntime")   # fast(x) equals net.eval()(x) to about 1e-5
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; choose one of {list(RUNTIMES)}.")
    folded = reparameterize(network)
    if runtime == "auto":
        chosen = choose_runtime(folded)
        logger.info("Runtime auto: %s.", "ONNX Runtime" if chosen == "onnxruntime" else "PyTorch (eager)")
        if chosen == "onnxruntime":
            try:
                return OnnxRuntimeNetwork(folded, threads, fall_back_to_eager=True)
            except ImportError as err:  # installed but not importable (a broken or mismatched build)
                logger.warning("Runtime auto: %s; running the network in PyTorch instead.", err.__cause__ or err)
        runtime = "eager"
    if runtime == "onnxruntime":
        return OnnxRuntimeNetwork(folded, threads)
    folded = to_preferred_memory_format(folded)
    return script_for_inference(folded) if runtime == "torchscript" else folded


def deploy_as_configured(network: nn.Module, reparameterize: bool | int | str, runtime: str = "eager") -> nn.Module:
    """``network`` as a bundle's ``"reparameterize"`` and ``"runtime"`` settings ask: :func:`deploy` when either
    asks for it (every runtime but eager PyTorch runs the folded network), else ``network`` unchanged. The one rule
    for every path that runs a bundle's network outside its ``ReparameterizeNetwork`` handler; ``reparameterize``
    may be the setting as a config or the command line gives it (``"false"`` is false: :func:`as_bool`)."""
    folded = as_bool(reparameterize, "reparameterize")
    return deploy(network, runtime) if folded or runtime != "eager" else network


def deploy_as_bundle_says(network: nn.Module, parser) -> nn.Module:
    """:func:`deploy_as_configured` with the ``"reparameterize"`` (default false) and ``"runtime"`` (default eager)
    settings read from ``parser``, a ``monai.bundle.ConfigParser`` of the bundle's inference.json: the one place
    where the paths that load a bundle's network themselves (benchmarks, reports) read those two settings."""
    return deploy_as_configured(
        network,
        parser.get_parsed_content("reparameterize", default=False),
        parser.get_parsed_content("runtime", default="eager"),
    )
