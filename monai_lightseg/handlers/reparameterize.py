"""Re-parameterise an evaluator's network for inference once its weights are loaded."""

from __future__ import annotations

import logging

from ignite.engine import Events

from monai_lightseg.config_flags import as_bool
from monai_lightseg.inference.runtimes import deploy

__all__ = ["ReparameterizeNetwork"]

logger = logging.getLogger(__name__)


class ReparameterizeNetwork:
    """At ``Events.STARTED`` replace ``engine.network`` by :func:`monai_lightseg.networks.reparameterize` of it:
    same masks (to float rounding), less time. Put it after the ``CheckpointLoader`` in an evaluator's handler
    list: handlers of one event run in the order they were attached, so the weights are loaded first.

    For inference and evaluation only: the folded network is eval-only. A bundle's ``inference.json`` sets
    ``"reparameterize": true`` and ``"runtime": "eager"``; ``--reparameterize false`` on
    ``python -m monai.bundle run`` turns folding off, ``--runtime torchscript`` runs the folded network scripted and
    frozen, ``--runtime onnxruntime`` on ONNX Runtime, ``--runtime auto`` on ONNX Runtime on a CPU with it installed
    and eager otherwise (:func:`monai_lightseg.inference.runtimes.deploy`; all three always folded).

    Args:
        enabled: False leaves the network as it is (with the ``eager`` runtime).
        runtime: one of :data:`monai_lightseg.inference.runtimes.RUNTIMES`.
    """

    def __init__(self, enabled: bool = True, runtime: str = "eager") -> None:
        self.enabled = as_bool(enabled, "reparameterize")
        self.runtime = runtime

    def attach(self, engine) -> None:
        if self.enabled or self.runtime != "eager":
            engine.add_event_handler(Events.STARTED, self)

    def __call__(self, engine) -> None:
        engine.network = deploy(engine.network, self.runtime)  # folded on every runtime
        logger.info("Network re-parameterised for inference, runtime %s.", self.runtime)
