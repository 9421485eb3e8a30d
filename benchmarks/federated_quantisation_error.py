"""How much int8 compression (one scale per tensor) loses of a federation's updates, measured offline on the
global models a run saved: each round's change of the global model (the frame-weighted mean of what the sites
sent) is compressed and restored as a site's update would be, per round and summed over the rounds, with and
without error feedback (:mod:`monai_lightseg.federated.error_feedback`).

A proxy, said plainly: the sites' own updates are not stored by a benchmark run, and the mean of two updates is
smoother than either. It answers whether rounding, per round or accumulated, is large enough to explain a Dice
difference between an int8 federation and its float32 twin.

    python benchmarks/federated_quantisation_error.py \
        benchmarks/results/federated/federated_fp32_r50x2_reset_fednova_seed0/workspace \
        --out benchmarks/results/federated/quantisation_error_fednova_seed0.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from monai_lightseg.federated.compression import compress, decompress
from monai_lightseg.federated.error_feedback import ErrorFeedback


def _load(path: Path) -> dict[str, np.ndarray]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.double().numpy() for k, v in state.items() if v.is_floating_point()}


def _relative(error: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict[str, float]:
    """Per tensor ||error|| / ||reference|| (tensors that did not move are skipped)."""
    return {k: float(np.linalg.norm(error[k]) / np.linalg.norm(reference[k]))
            for k in reference if np.linalg.norm(reference[k]) > 0}  # fmt: skip


def _roundtrip(update: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    arrays, meta = compress({k: v.astype(np.float32) for k, v in update.items()}, "int8")
    return {k: v.astype(np.float64) for k, v in decompress(arrays, meta).items()}


def measure(workspace: Path) -> dict:
    paths = sorted((workspace / "global_models").glob("round_*.pt"), key=lambda p: int(p.stem[6:]))
    models = [_load(workspace / "initial.pt")] + [_load(p) for p in paths]
    parameters = [k for k in models[0] if "running_" not in k]  # the batch-norm statistics are not trained
    plain_sum = {k: np.zeros_like(models[0][k]) for k in parameters}
    fed_back_sum = {k: np.zeros_like(models[0][k]) for k in parameters}
    feedback, per_round = ErrorFeedback(), []
    for before, after in zip(models, models[1:]):
        update = {k: after[k] - before[k] for k in parameters}
        restored = _roundtrip(update)
        zeroed = sum(int(((restored[k] == 0) & (update[k] != 0)).sum()) for k in parameters)
        moved = sum(int((update[k] != 0).sum()) for k in parameters)
        rel = list(_relative({k: restored[k] - update[k] for k in parameters}, update).values())
        per_round.append({"median_tensor_relative_error": float(np.median(rel)), "max_tensor_relative_error":
                          float(np.max(rel)), "share_of_entries_rounded_to_zero": zeroed / max(moved, 1)})  # fmt: skip
        corrected = {k: v.astype(np.float32) for k, v in feedback.add(update).items()}
        sent = _roundtrip(corrected)
        feedback.keep(corrected, sent)
        for k in parameters:
            plain_sum[k] += restored[k]
            fed_back_sum[k] += sent[k]
    total = {k: models[-1][k] - models[0][k] for k in parameters}
    summed = {}
    for name, received in (("plain", plain_sum), ("error_feedback", fed_back_sum)):
        rel = _relative({k: received[k] - total[k] for k in parameters}, total)
        summed[name] = {"median_tensor_relative_error": float(np.median(list(rel.values()))),
                        "max_tensor_relative_error": float(max(rel.values())),
                        "worst_tensor": max(rel, key=rel.get)}  # fmt: skip
    keys = per_round[0]
    return {
        "workspace": str(workspace), "rounds": len(per_round), "tensors": len(parameters),
        "per_round_mean": {k: float(np.mean([r[k] for r in per_round])) for k in keys},
        "per_round_worst": {k: float(np.max([r[k] for r in per_round])) for k in keys},
        "summed_over_rounds": summed, "per_round": per_round,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path, help="a federation's workspace (global_models/, initial.pt)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = measure(args.workspace)
    print(json.dumps({k: v for k, v in result.items() if k != "per_round"}, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
