"""An ensemble of trained bundles as one bundle folder: the mean logit of its members (e.g. two seeds of one recipe).

Writes ``OUT`` as a copy of the first member's bundle whose ``network_def`` is :class:`MeanLogitEnsemble` over
every member's ``network_def`` and whose ``models/model.pt`` holds every member's weights, so the first member's
own configs evaluate, infer and time it unchanged (``benchmarks`` on ``PYTHONPATH``, where this class lives):

    python benchmarks/seed_ensemble.py --bundle BUNDLE_SEED0 --bundle BUNDLE_SEED1 --out OUT
    PYTHONPATH=benchmarks python -m monai.bundle run \\
        --config_file "['OUT/configs/inference.json','OUT/configs/evaluate.json']" --bundle_root OUT \\
        --dataset_dir ../shared/data --output_dir OUT/eval

Why by hand: MONAI's ensembles (``EnsembleEvaluator``, ``MeanEnsembled``) average post-processed outputs of
separate networks in an evaluator; a module that averages logits keeps the bundle's own inferer, sliding window
and thresholds, and its time per frame is measured like any network's. An exploration tool, not a shipped model.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from torch import nn


class MeanLogitEnsemble(nn.Module):
    """Mean of the members' outputs. Input (N, C, *spatial); output that of one member (in eval mode, the main
    output). ``members``: networks with the same input and output shapes."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("MeanLogitEnsemble needs at least one member network")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(x) for member in self.members]).mean(dim=0)


#: inference.json settings that say how the network runs, not what it computes (the runtimes give the same masks,
#: tests/inference/test_runtimes.py): members may differ in them, and the ensemble then runs eager PyTorch
HOW_IT_RUNS = ("runtime",)


def build(bundles: list[Path], out: Path) -> None:
    """Write the ensemble bundle folder ``out`` from the trained bundle folders ``bundles`` (first = template)."""
    if out.exists():
        raise SystemExit(f"seed_ensemble: {out} exists; choose a new folder (nothing is overwritten)")
    defs, weights, rest, runtimes = [], {}, None, set()
    for i, bundle in enumerate(bundles):
        config, model = bundle / "configs" / "inference.json", bundle / "models" / "model.pt"
        for path in (config, model):
            if not path.is_file():
                raise SystemExit(f"seed_ensemble: {path} does not exist (not a trained bundle)")
        settings = json.loads(config.read_text(encoding="utf-8"))
        defs.append(settings.pop("network_def"))
        runtimes.add(json.dumps([settings.pop(key, None) for key in HOW_IT_RUNS]))
        rest = settings if rest is None else rest
        differ = sorted(k for k in set(rest) | set(settings) if rest.get(k) != settings.get(k))
        if differ:  # only the first member's configs are used: every member must be run the same way
            raise SystemExit(f"seed_ensemble: {config} differs from {bundles[0]}'s inference.json in {differ}")
        for key, value in torch.load(model, map_location="cpu", weights_only=True).items():
            weights[f"members.{i}.{key}"] = value
    shutil.copytree(bundles[0] / "configs", out / "configs")
    config_path = out / "configs" / "inference.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["network_def"] = {"_target_": "seed_ensemble.MeanLogitEnsemble", "members": defs}
    if len(runtimes) > 1:
        config["runtime"] = "eager"
    config_path.write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")
    (out / "models").mkdir()
    torch.save(weights, out / "models" / "model.pt")
    members = json.dumps({"members": [str(b) for b in bundles]}, indent=2)
    (out / "ensemble.json").write_text(members + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, action="append", required=True, help="trained bundle folder; repeat")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    build(args.bundle, args.out)
    print(f"{args.out}: ensemble of {len(args.bundle)} bundles")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
