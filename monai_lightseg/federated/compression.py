"""Compressing a site's model update (seed A's claim: small updates between hospitals), as plain numpy.

``int8``: each float tensor of the update (the difference from the global model) becomes int8 with one float32
scale per tensor (symmetric: scale = max|x| / 127), restored as ``q * scale``; the error of every value is at
most ``scale / 2`` = max|x| / 254 (plus float32 rounding, :func:`error_bound`), and the payload about a quarter
of float32 (0.264x for FeatureCompressionNet's 367 tensors, framing included: ``filters.payload_bytes``).
``fp16``: half precision (relative error at most 2^-11 in the normal range), half the payload. Integer tensors
(batch-norm counters) pass unchanged.

Why by hand: NVFlare 2.9's own filter pair (``nvflare.app_opt.pt.quantization.ModelQuantizer`` and
``ModelDequantizer``) needs bitsandbytes, moves every tensor to CUDA for its 8- and 4-bit types (an
AssertionError on a CPU-only site, tried with bitsandbytes 0.50.2), and refuses integer tensors such as the
batch-norm counters every network here has (ValueError on ``num_batches_tracked``); its float16 type would run
but only halves the payload.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PACKED", "SCHEMES", "compress", "decompress", "error_bound"]

SCHEMES = ("int8", "fp16")


PACKED = "__monai_lightseg_packed__"


def compress(update: dict[str, np.ndarray], scheme: str) -> tuple[dict[str, np.ndarray], dict]:
    """(compressed arrays, metadata needed to restore them) for a name -> array update.

    The float tensors are packed into one array (``PACKED``) in the order of ``meta["layout"]`` (name, shape,
    dtype, int8 scale): one array instead of hundreds keeps the per-tensor framing (a few hundred bytes each in
    NVFlare's messages, more than a small batch-norm vector itself) out of the payload."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown compression {scheme!r}; one of {SCHEMES}")
    arrays, layout, parts = {}, [], []
    for name, x in update.items():
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            arrays[name] = x
            continue
        if scheme == "fp16":
            parts.append(x.astype(np.float16).ravel())
            layout.append([name, list(x.shape), str(x.dtype), None])
            continue
        peak = float(np.abs(x).max()) if x.size else 0.0
        scale = peak / 127.0 if peak > 0 else 1.0
        parts.append(np.clip(np.rint(x / scale), -127, 127).astype(np.int8).ravel())
        layout.append([name, list(x.shape), str(x.dtype), scale])
    dtype = np.int8 if scheme == "int8" else np.float16
    arrays[PACKED] = np.concatenate(parts) if parts else np.zeros(0, dtype)
    return arrays, {"scheme": scheme, "layout": layout}


def decompress(arrays: dict[str, np.ndarray], meta: dict) -> dict[str, np.ndarray]:
    """The update :func:`compress` encoded, in its original dtypes."""
    out = {name: x for name, x in arrays.items() if name != PACKED}
    packed, offset = np.asarray(arrays[PACKED]), 0
    for name, shape, dtype, scale in meta["layout"]:
        size = int(np.prod(shape, dtype=np.int64))
        part = packed[offset : offset + size].reshape(shape)
        offset += size
        restored = part.astype(np.float32) * np.float32(scale) if scale is not None else part
        out[name] = restored.astype(dtype)
    return out


def error_bound(x: np.ndarray, scheme: str) -> float:
    """The largest absolute error :func:`compress` + :func:`decompress` can make on array ``x`` (half a
    quantisation step, plus float32 rounding)."""
    peak = float(np.abs(x).max()) if x.size else 0.0
    rounding = peak * 2.0**-22  # restoring in float32: the product q * scale is rounded too
    return peak / 254.0 + rounding if scheme == "int8" else peak * 2.0**-11 + 2.0**-24 + rounding
