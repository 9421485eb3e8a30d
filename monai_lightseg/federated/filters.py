"""NVFlare filters around a site's model update: compress it as it leaves the site, restore it before the
server aggregates it, and record what crossed (bytes, and which tensors and metadata keys) for the report and
the tests.

``CompressUpdate`` (client output filter on the ``train`` task): measures the update (:func:`payload_bytes`),
compresses every float tensor of it with :func:`.compression.compress` (or leaves it, ``scheme=None``:
measurement only), measures again; with ``error_feedback`` it first adds what compression dropped from the
site's previous update (:mod:`.error_feedback`). ``RestoreUpdate``
(server input filter, before aggregation): restores float32 and records the tensor names, shapes and metadata
keys that arrived. Records are JSON lines appended to ``record`` (one per site and round).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from nvflare.apis.dxo import DataKind, from_shareable
from nvflare.apis.filter import Filter
from nvflare.apis.fl_constant import ReservedKey
from nvflare.apis.fl_context import FLContext
from nvflare.apis.shareable import ReservedHeaderKey, Shareable

from monai_lightseg.federated.compression import compress, decompress
from monai_lightseg.federated.error_feedback import ErrorFeedback

__all__ = ["CompressUpdate", "RestoreUpdate", "payload_bytes"]

_META = "monai_lightseg_compression"


def _append(record: str | None, row: dict) -> None:
    if record:
        Path(record).parent.mkdir(parents=True, exist_ok=True)
        with open(record, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def payload_bytes(arrays: dict[str, np.ndarray], meta: dict | None = None) -> int:
    """Bytes of an update as it is sent: each array in NumPy's ``.npy`` serialisation (its raw bytes plus a header
    with dtype and shape; NVFlare streams arrays as their raw bytes, so this is at least as large), its name, and
    the compression metadata as JSON. Why not ``fobs.dumps`` of the task result: inside NVFlare it replaces arrays
    by download references, so it measures a few hundred bytes whatever the model."""
    total = len(json.dumps(meta).encode()) if meta else 0
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(array), allow_pickle=False)
        total += len(name.encode()) + buffer.getbuffer().nbytes
    return total


def _is_dxo(shareable: Shareable) -> bool:
    return shareable.get_header(ReservedHeaderKey.CONTENT_TYPE) == "DXO"


def _round(shareable: Shareable, fl_ctx: FLContext) -> int | None:
    value = shareable.get_header("current_round")
    return int(value) if value is not None else fl_ctx.get_prop("current_round")


class CompressUpdate(Filter):
    def __init__(self, scheme: str | None = "int8", record: str | None = None, error_feedback: bool = False) -> None:
        super().__init__()
        if error_feedback and not scheme:
            raise ValueError("error feedback needs a compression scheme (int8 or fp16)")
        self.scheme, self.record, self.error_feedback = scheme, record, error_feedback
        self._feedback = ErrorFeedback()

    def process(self, shareable: Shareable, fl_ctx: FLContext) -> Shareable:
        if not _is_dxo(shareable):  # an error reply from a failed task: nothing to compress
            return shareable
        dxo = from_shareable(shareable)
        if dxo.data_kind not in (DataKind.WEIGHTS, DataKind.WEIGHT_DIFF):  # e.g. metrics only: no model to compress
            return shareable
        update = {k: np.asarray(v) for k, v in dxo.data.items()}
        before = payload_bytes(update)
        after = before
        if self.scheme:
            if self.error_feedback:
                if dxo.data_kind != DataKind.WEIGHT_DIFF:
                    raise ValueError(f"error feedback needs weight differences, the site sent {dxo.data_kind}")
                update = self._feedback.add(update)
            arrays, meta = compress(update, self.scheme)
            if self.error_feedback:
                self._feedback.keep(update, decompress(arrays, meta))
            dxo.data = arrays
            dxo.set_meta_prop(_META, meta)
            dxo.update_shareable(shareable)
            after = payload_bytes(arrays, meta)
        site = fl_ctx.get_identity_name()
        sent = from_shareable(shareable)
        _append(self.record, {
            "side": "site", "site": site, "round": _round(shareable, fl_ctx), "scheme": self.scheme,
            "error_feedback": self.error_feedback,
            "bytes_uncompressed": before, "bytes_sent": after,
            "tensors_sent": {k: [list(np.shape(v)), str(np.asarray(v).dtype)] for k, v in sent.data.items()},
            "meta_keys": sorted(sent.meta),
        })  # fmt: skip
        self.log_info(fl_ctx, f"update of {site}: {before} -> {after} bytes ({self.scheme or 'uncompressed'})")
        return shareable


class RestoreUpdate(Filter):
    def __init__(self, record: str | None = None) -> None:
        super().__init__()
        self.record = record

    def process(self, shareable: Shareable, fl_ctx: FLContext) -> Shareable:
        if not _is_dxo(shareable):
            return shareable
        dxo = from_shareable(shareable)
        meta = dxo.get_meta_prop(_META)
        if meta is not None:
            dxo.data = decompress(dxo.data, meta)
            dxo.remove_meta_props([_META])
            dxo.update_shareable(shareable)
        _append(self.record, {
            "side": "server", "site": shareable.get_peer_prop(ReservedKey.IDENTITY_NAME, None),
            "round": _round(shareable, fl_ctx), "kind": dxo.data_kind,
            "tensors": {k: [list(np.shape(v)), str(np.asarray(v).dtype)] for k, v in dxo.data.items()},
            "meta_keys": sorted(dxo.meta),
            "header_keys": sorted(str(k) for k in shareable.get(ReservedHeaderKey.HEADERS, {})),
            "other_keys": sorted(str(k) for k in shareable if k not in (ReservedHeaderKey.HEADERS, "DXO")),
        })  # fmt: skip
        return shareable
