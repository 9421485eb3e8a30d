"""Compressed updates: round trip within the stated error bound, payload size, integers untouched."""

from __future__ import annotations

import numpy as np
import pytest

from monai_lightseg.federated.compression import PACKED, compress, decompress, error_bound


@pytest.mark.parametrize("scheme, ratio", [("int8", 0.25), ("fp16", 0.5)])
def test_round_trip_is_within_the_bound_and_the_payload_shrinks(scheme: str, ratio: float) -> None:
    rng = np.random.default_rng(0)
    update = {"conv.weight": rng.normal(0, 1e-3, (32, 16, 3, 3)).astype(np.float32),
              "bn.bias": rng.normal(0, 1e-2, 32).astype(np.float32), "zeros": np.zeros(8, np.float32),
              "bn.num_batches_tracked": np.array(7, dtype=np.int64)}  # fmt: skip
    arrays, meta = compress(update, scheme)
    restored = decompress(arrays, meta)
    for name, x in update.items():
        assert restored[name].dtype == x.dtype and restored[name].shape == x.shape
        assert np.abs(restored[name] - x).max() <= error_bound(x, scheme), name
    assert restored["bn.num_batches_tracked"] == 7 and arrays["bn.num_batches_tracked"].dtype == np.int64
    floats = [n for n in update if update[n].dtype == np.float32]
    assert arrays[PACKED].nbytes == ratio * sum(update[n].nbytes for n in floats)  # one packed array


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown compression 'zip'"):
        compress({"w": np.ones(2, np.float32)}, "zip")
