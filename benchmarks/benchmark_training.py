"""What a bundle's training pipeline costs per step, against a bare loop doing the same work.

For each bundle three steady-state step times (seconds), on the same images:

- ``bundle``: ``python -m monai.bundle run --config_file configs/train.json`` as shipped (data loading, workers,
  augmentation, handlers, the per-epoch checkpoint), in a subprocess; the time per step of every epoch after
  the first, from the bundle's own ``models/training_log.csv`` (its ``elapsed_s`` per epoch), median over epochs;
- ``bare``: a plain loop in one process with the bundle's own network, loss, optimiser and **the same
  transforms**: the deterministic prefix of ``train#preprocessing`` applied once per image (what the bundle's
  CacheDataset caches), the random rest applied per sample at every step, MONAI's collate, forward, backward,
  optimiser step; median over steps;
- ``compute``: the same loop on one fixed batch (no data work at all): the floor.

Issue 17's goal: ``bundle / bare <= 1.25``. Validation is pushed past the run (``val_interval``) so that both
measure training steps only; what it adds is measured apart: one pass of the bundle's own validator over a few
validation images, scaled to the whole validation list and spread over the steps between two validations (the
committed ``val_interval`` x ``epoch_length``). The datalist is cut to ``--images`` training images so caching
stays short.

Usage::

    python benchmarks/benchmark_training.py --data ../shared/data --out benchmarks/results/training_pipeline_cpu.json
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NETWORKS = ("unet", "emisnet", "feature_compression_net", "light_u2net")
DEFAULT_BUNDLES = [f"polyp_endoscopy_{n}_segmentation" for n in NETWORKS]


def scratch_bundle(name: str, images: int, dest: Path) -> tuple[Path, Path]:
    """A copy of the bundle's configs under ``dest`` and a datalist cut to its first ``images`` training items."""
    root = dest / name
    shutil.copytree(REPO / "bundles" / name / "configs", root / "configs")
    datalist = json.loads((root / "configs" / "datalist.json").read_text(encoding="utf-8"))
    datalist["training"] = datalist["training"][:images]
    datalist["validation"] = datalist["validation"][:4]  # instantiated (and cached) by the config, never run
    cut = dest / f"{name}_datalist.json"
    cut.write_text(json.dumps(datalist), encoding="utf-8")
    return root, cut


def bundle_step(root: Path, datalist: Path, data: Path, epochs: int, epoch_length: int, extra: dict) -> dict:
    """Steady-state seconds per step of the bundle's own training run (epochs after the first); ``extra``: more
    config overrides (an ablation such as ``num_workers=0``)."""
    overrides = {"dataset_dir": str(data), "datalist_file": str(datalist), "epoch_length": epoch_length,
                 "max_steps": epochs * epoch_length, "val_interval": epochs + 1, **extra}  # fmt: skip
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", "configs/train.json",
           "--bundle_root", str(root)]  # fmt: skip
    for key, value in overrides.items():
        cmd += [f"--{key}", str(value)]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"bundle training failed in {root}:\n{result.stderr[-3000:]}")
    with (root / "models" / "training_log.csv").open(newline="", encoding="utf-8") as f:
        elapsed = [float(r["elapsed_s"]) for r in csv.DictReader(f)]
    per_epoch = [(b - a) / epoch_length for a, b in zip(elapsed, elapsed[1:])]
    return {"step_s": statistics.median(per_epoch), "per_epoch_step_s": per_epoch,
            "first_epoch_s": elapsed[0], "wall_s": time.perf_counter() - start}  # fmt: skip


def bare_steps(root: Path, datalist: Path, data: Path, steps: int, threads: int, extra: dict | None = None) -> dict:
    """Seconds per step of a plain loop with the bundle's network, loss, optimiser and transforms; ``extra``: the
    same config overrides as the bundle run (``batch_size=16`` reaches both loops)."""
    import torch
    from monai.bundle import ConfigParser
    from monai.data import list_data_collate
    from monai.transforms import Compose, Randomizable

    torch.set_num_threads(threads)
    parser = ConfigParser()
    parser.read_config(str(root / "configs" / "train.json"))
    parser.update({"bundle_root": str(root), "dataset_dir": str(data), "datalist_file": str(datalist)})
    parser.update(extra or {})
    network, loss_fn = parser.get_parsed_content("network"), parser.get_parsed_content("loss")
    optimizer = parser.get_parsed_content("optimizer")
    memory_format = parser.get_parsed_content("memory_format")
    batch_size = parser.get_parsed_content("batch_size")
    transforms = parser.get_parsed_content("train#preprocessing").transforms
    first_random = next(i for i, t in enumerate(transforms) if isinstance(t, Randomizable))
    deterministic, augment = Compose(transforms[:first_random]), Compose(transforms[first_random:])
    items = parser.get_parsed_content("train#datalist")
    start = time.perf_counter()
    cached = [deterministic(item) for item in items]
    cache_s = time.perf_counter() - start
    rng = random.Random(0)
    augment.set_random_state(seed=0)
    network.train()

    def batch() -> tuple:
        samples = []
        for item in rng.sample(cached, batch_size):
            out = augment(copy.deepcopy(item))
            samples += out if isinstance(out, list) else [out]
        collated = list_data_collate(samples)
        return (collated["image"].to(memory_format=memory_format), collated["label"].to(memory_format=memory_format))

    def step(images, labels) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(network(images), labels)
        loss.backward()
        optimizer.step()

    times = {"bare": [], "compute": []}
    fixed = batch()
    for i in range(steps + 2):  # the two kinds alternate, so a drifting machine load falls on both
        start = time.perf_counter()
        step(*batch())
        if i >= 2:
            times["bare"].append(time.perf_counter() - start)
        start = time.perf_counter()
        step(*fixed)
        if i >= 2:
            times["compute"].append(time.perf_counter() - start)
    # one pass of the bundle's own validator over the cut validation list, scaled to the full list and spread
    # over the steps between two validations: what validation adds to every training step
    evaluator = parser.get_parsed_content("validate#evaluator")
    start = time.perf_counter()
    evaluator.run()
    val_s_per_image = (time.perf_counter() - start) / len(parser.get_parsed_content("validate#datalist"))
    full_val = len(json.loads((root / "configs" / "datalist.json").read_text(encoding="utf-8"))["validation"])
    steps_between = parser.get_parsed_content("val_interval") * parser.get_parsed_content("epoch_length")
    return {"bare_step_s": statistics.median(times["bare"]), "compute_step_s": statistics.median(times["compute"]),
            "cache_s": cache_s, "batch_size": batch_size, "validation_s_per_image": val_s_per_image,
            "validation_images": full_val, "steps_between_validations": steps_between,
            "validation_s_per_step": val_s_per_image * full_val / steps_between}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--bundles", nargs="+", default=DEFAULT_BUNDLES)
    parser.add_argument("--images", type=int, default=160, help="training images used (first of the datalist)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--epoch-length", type=int, default=20)
    parser.add_argument("--steps", type=int, default=12, help="timed steps of the bare loop")
    parser.add_argument("--threads", type=int, default=2, help="the bare loop's torch threads (the bundle: its own)")
    parser.add_argument(
        "--set", nargs="+", default=[], metavar="KEY=VALUE",
        help="config overrides of both loops (VALUE read as JSON where it parses, e.g. batch_size=16)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    extra = {}
    for kv in args.set:
        key, sep, value = kv.partition("=")
        if not sep:
            raise SystemExit(f"benchmark_training: --set {kv!r} is not KEY=VALUE")
        try:
            extra[key] = json.loads(value)
        except json.JSONDecodeError:
            extra[key] = value
    if not args.data.is_dir():
        raise SystemExit(f"benchmark_training: data folder {args.data} not found (pass --data)")

    results = []
    print("| bundle | bundle step s | bare loop step s | compute-only step s | bundle / bare | validation s / step |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in args.bundles:
        with tempfile.TemporaryDirectory() as tmp:
            root, datalist = scratch_bundle(name, args.images, Path(tmp))
            run = bundle_step(root, datalist, args.data.resolve(), args.epochs, args.epoch_length, extra)
            bare = bare_steps(root, datalist, args.data.resolve(), args.steps, args.threads, extra)
        row = {"bundle": name, **run, **bare, "ratio_bundle_to_bare": run["step_s"] / bare["bare_step_s"]}
        results.append(row)
        print(f"| {name} | {run['step_s']:.3f} | {bare['bare_step_s']:.3f} | {bare['compute_step_s']:.3f} "
              f"| {row['ratio_bundle_to_bare']:.2f} | {bare['validation_s_per_step']:.3f} |", flush=True)  # fmt: skip
    if args.out:
        import torch

        meta = {"torch": torch.__version__, "images": args.images, "epochs": args.epochs,
                "epoch_length": args.epoch_length, "bundle_overrides": extra,
                "command": " ".join(sys.argv)}  # fmt: skip
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=4) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
