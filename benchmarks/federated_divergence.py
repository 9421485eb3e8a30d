"""How far apart two federations end, in weights and per frame: each compressed run (``federated_int8*``,
``federated_fp16*``) against its float32 twin (same seed, same recipe), and the float32 runs of other seeds
against the same twin for scale. On this machine the federation is deterministic (a 2-round federation run twice
with the same seed gave identical weights), so whatever separates a compressed run from its twin started as that
run's rounding.

Measures: the median over trained tensors of ||w_run - w_twin|| / ||w_twin|| for the final global models (the
batch-norm statistics left out), and the standard deviation over frames of the per-frame Dice difference (the
spread a paired mean has to beat). Needs the runs' workspaces (not in git); writes ``--out``.

    python benchmarks/federated_divergence.py --twin federated_fp32_r50x2_reset_fednova_seed0 \
        --out benchmarks/results/federated/divergence_reset_fednova_seed0.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from federated_report import SITES  # noqa: E402  (benchmarks/, this script's folder)

RESULTS = Path(__file__).resolve().parent / "results" / "federated"
NAME = re.compile(r"^federated_(?P<scheme>fp32|int8|fp16)(?P<ef>ef)?_(?P<recipe>r\d+x\d+\w*?)_seed(?P<seed>\d+)$")


def weight_distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """Median over trained float tensors of ||a - b|| / ||b||."""
    keys = [k for k in b if b[k].is_floating_point() and "running_" not in k and float(b[k].norm()) > 0]
    return float(np.median([float((a[k] - b[k]).norm() / b[k].norm()) for k in keys]))


def compare(results: Path, twin: str) -> dict:
    def model(name: str) -> dict[str, torch.Tensor]:
        return torch.load(results / name / "workspace" / "model.pt", map_location="cpu", weights_only=True)

    def per_frame(name: str) -> dict[str, dict[str, float]]:
        scored = json.loads((results / name / "evaluation.json").read_text(encoding="utf-8"))
        return {s: scored[s]["per_frame"] for s in SITES}

    match = NAME.match(twin)
    if not match or match["scheme"] != "fp32":
        raise ValueError(f"{twin}: expected a float32 federation's name, e.g. federated_fp32_r50x2_reset_seed0")
    runs = []
    for path in sorted(results.glob("federated_*/workspace/model.pt")):
        other = NAME.match(path.parent.parent.name)
        if not other or other[0] == twin or other["recipe"] != match["recipe"]:
            continue  # other recipes, repeats, re-estimated statistics (..._site_bn)
        if other["scheme"] == "fp32" or other["seed"] == match["seed"]:
            runs.append(other[0])
    reference, reference_frames, out = model(twin), per_frame(twin), {"twin": twin, "runs": {}}
    for name in runs:
        frames = per_frame(name)
        out["runs"][name] = {
            "kind": "another seed" if NAME.match(name)["scheme"] == "fp32" else "compressed, same seed",
            "weight_distance": round(weight_distance(model(name), reference), 4),
            "per_frame_difference_sd": {s: round(float(np.std([frames[s][f] - reference_frames[s][f]
                                                               for f in reference_frames[s]], ddof=1)), 4)
                                        for s in SITES},
        }  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--twin", required=True, help="the float32 federation the others are set against")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = compare(args.results, args.twin)
    print(json.dumps(out, indent=2))
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
