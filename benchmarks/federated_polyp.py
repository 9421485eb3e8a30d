"""Federated vs centralised vs single-site training of a polyp bundle, each model scored per site on the
bundles' validation frames (issue 21, docs/federated.md).

Settings (same recipe as the bundle, same number of epochs over the data each setting trains on):
    federated   FedAvg between site-1 (Kvasir-SEG) and site-2 (CVC-ClinicDB): --rounds x --local-epochs epochs
                (50 x 2 = the bundle's 100), optionally --compression int8, --reset-optimizer (each site
                clears AdamW's moments before every round), --aggregation fednova (updates normalised by
                each site's local steps), --error-feedback (with --compression: what compression dropped is
                added to the site's next update; the result's name gets "ef" after the scheme)
    alone       one site's training frames only (--site), the bundle's 100 epochs over them, its best by that
                site's validation frames (the bundle's own selection rule)
    centralised the bundle itself (its shipped weights, seed 0: 100 epochs over both sites' frames); only
                evaluated. With --seed S > 0: the bundle's train.json retrained in a copy with seed S (resumes),
                for the reference's own seed spread
    weights     any weights of the bundle's network (--weights: a state_dict or a bundle checkpoint, whose
                "network" is used; --name: the result's folder), e.g. the centralised run's last epoch, which,
                like the federation's last round, was not picked on the validation frames

Every model is evaluated with the bundle's own evaluate.json on all 232 validation frames; the result is split by
site, with per-frame Dice kept for paired comparisons. Results: ``--out/<name>/evaluation.json`` (and
``summary.json`` of the federation). Training resumes where the bundle's does (alone); a federation does not
resume, so run it where it can finish (about 1-1.5 h for FeatureCompressionNet on 2 CPU cores).

    python benchmarks/federated_polyp.py --setting centralised
    python benchmarks/federated_polyp.py --setting federated --seed 0 [--compression int8]
    python benchmarks/federated_polyp.py --setting alone --site site-1 --seed 0
    python benchmarks/federated_polyp.py --setting weights --name centralised_last_epoch \
        --weights "$BUNDLE/models/checkpoints/checkpoint_epoch=100.pt"    # BUNDLE: the FCN polyp bundle
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / "bundles" / "polyp_endoscopy_feature_compression_net_segmentation"
DATASET_OF_SITE = {"site-1": "kvasir_seg", "site-2": "cvc_clinicdb"}


def evaluate(weights: Path, data: Path, out: Path, bundle: Path = BUNDLE) -> dict:
    """Per-site mean Dice (and per-frame Dice) of ``weights`` in ``bundle``'s evaluation pipeline."""
    from monai.bundle import run

    work = out / "evaluation_bundle"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(bundle / "configs", work / "configs")
    (work / "models").mkdir(parents=True)
    shutil.copy2(weights, work / "models" / "model.pt")
    run(config_file=[str(work / "configs/inference.json"), str(work / "configs/evaluate.json")],
        bundle_root=str(work), dataset_dir=str(data), output_dir=str(out / "evaluation"))  # fmt: skip
    with (out / "evaluation" / "per_image.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    result = {"weights": str(weights.relative_to(REPO)) if weights.is_relative_to(REPO) else str(weights)}
    for site, dataset in DATASET_OF_SITE.items():
        frames = {r["image"]: float(r["dice"]) for r in rows if r["dataset"] == dataset}
        result[site] = {"dataset": dataset, "dice": round(float(np.mean(list(frames.values()))), 4),
                        "frames": len(frames), "per_frame": frames}  # fmt: skip
    shutil.rmtree(work)
    shutil.rmtree(out / "evaluation")  # its per-frame rows are kept in evaluation.json
    (out / "evaluation.json").write_text(json.dumps(result, indent=4) + "\n", encoding="utf-8")
    print({s: result[s]["dice"] for s in DATASET_OF_SITE}, flush=True)
    return result


def _bundle_copy(bundle: Path, out: Path) -> Path:
    """``out/bundle`` with ``bundle``'s configs (copied once: a rerun resumes from the copy's checkpoints)."""
    work = out / "bundle"
    if not work.exists():
        shutil.copytree(bundle / "configs", work / "configs")
    return work


def train_alone(site: str, seed: int, data: Path, out: Path, epochs: int, bundle: Path = BUNDLE) -> Path:
    """The bundle's train.json on one site's frames; returns its best weights."""
    from monai.bundle import run

    from monai_lightseg.federated.sites import site_datalists

    work = _bundle_copy(bundle, out)
    found = site_datalists(bundle / "configs" / "datalist.json", out / "sites")[site]
    batch = json.loads((bundle / "configs" / "train.json").read_text(encoding="utf-8"))["batch_size"]
    epoch_length = max(1, found["frames"] // batch)
    run(config_file=str(work / "configs/train.json"), bundle_root=str(work), dataset_dir=str(data),
        datalist_file=found["datalist"], epoch_length=epoch_length, max_steps=epochs * epoch_length,
        warmup_steps=epoch_length, initialize=[f"$monai.utils.set_determinism(seed={seed})"])  # fmt: skip
    return work / "models" / "model.pt"


def train_centralised(seed: int, data: Path, out: Path, bundle: Path = BUNDLE) -> Path:
    """The bundle's train.json unchanged but for its seed, in a copy (resumes from the copy's checkpoints)."""
    from monai.bundle import run

    work = _bundle_copy(bundle, out)
    run(config_file=str(work / "configs/train.json"), bundle_root=str(work), dataset_dir=str(data),
        initialize=[f"$monai.utils.set_determinism(seed={seed})"])  # fmt: skip
    return work / "models" / "model.pt"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setting", choices=["federated", "alone", "centralised", "weights"], required=True)
    parser.add_argument("--weights", type=Path, help="weights: a state_dict or a bundle checkpoint")
    parser.add_argument("--name", help="weights: the result's folder under --out")
    parser.add_argument("--site", choices=sorted(DATASET_OF_SITE))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compression", choices=["int8", "fp16"], default=None)
    parser.add_argument("--reset-optimizer", action="store_true", help="federated: sites clear AdamW's state per round")
    parser.add_argument("--aggregation", choices=["fedavg", "fednova"], default="fedavg",
                        help="federated: fednova normalises each site's update by its local steps")
    parser.add_argument("--error-feedback", action="store_true",
                        help="federated, with --compression: carry what compression dropped into the next update")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--local-epochs", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=100, help="alone: epochs over the site's frames")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "federated")
    args = parser.parse_args()
    if args.setting == "centralised" and args.seed == 0:
        evaluate(BUNDLE / "models" / "model.pt", args.data, args.out / "centralised")
        return 0
    if args.setting == "centralised":
        out = args.out / f"centralised_seed{args.seed}"
        evaluate(train_centralised(args.seed, args.data, out), args.data, out)
        return 0
    if args.setting == "weights":
        if not (args.weights and args.name):
            parser.error("--setting weights needs --weights and --name")
        state = torch.load(args.weights, map_location="cpu", weights_only=True)
        out = args.out / args.name
        out.mkdir(parents=True, exist_ok=True)
        torch.save(state.get("network", state), out / "weights.pt")
        result = evaluate(out / "weights.pt", args.data, out)
        result["weights"] = str(args.weights)
        (out / "evaluation.json").write_text(json.dumps(result, indent=4) + "\n", encoding="utf-8")
        (out / "weights.pt").unlink()  # a copy: the source is named in evaluation.json
        return 0
    if args.setting == "alone":
        if not args.site:
            parser.error("--setting alone needs --site")
        out = args.out / f"alone_{args.site}_seed{args.seed}"
        evaluate(train_alone(args.site, args.seed, args.data, out, args.epochs), args.data, out)
        return 0
    from monai_lightseg.federated.job import run_federation

    reset = "_reset" if args.reset_optimizer else ""
    reset += "_fednova" if args.aggregation == "fednova" else ""
    scheme = (args.compression or "fp32") + ("ef" if args.error_feedback else "")
    name = f"federated_{scheme}_r{args.rounds}x{args.local_epochs}{reset}_seed{args.seed}"
    out = args.out / name
    summary = run_federation(BUNDLE, args.data, out / "workspace", rounds=args.rounds,
                             local_epochs=args.local_epochs, compression=args.compression, seed=args.seed,
                             reset_optimizer=args.reset_optimizer, aggregation=args.aggregation,
                             error_feedback=args.error_feedback)  # fmt: skip
    from federated_report import condensed

    (out / "summary.json").write_text(json.dumps(condensed(summary), indent=4) + "\n", encoding="utf-8")
    evaluate(out / "workspace" / "model.pt", args.data, out)
    print(f"{name}: {summary['wall_s']:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
