"""Measure trained bundles and write what a user reads: each bundle's docs/README.md (usage, recipe, validation
results), its validation curve, per-image report, sample reference masks, and the task's table in
docs/results.md. The shared machinery; the words and tables specific to a task come from its :class:`Task`.

Only a bundle whose training log has reached the recipe's step budget gets results (interim weights are not a
result); before that its README says how to train it. Validation numbers come from ``evaluate.json`` on the
committed validation split (never trained on; used for model selection, so reported as validation, not test).
CPU speed: median of 10 runs after 2 warm-ups of the bundle's own inferer on ``task.speed_shape``, 2 threads.
"""

from __future__ import annotations

import csv
import json
import shutil
import statistics
import time
from pathlib import Path

from .engine import REPO, Task


def training_rows(bundle: Path) -> list[dict]:
    with (bundle / "models" / "training_log.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def finished_training_rows(bundle: Path, max_steps: int) -> list[dict] | None:
    """The training log's rows when the run has reached its step budget; ``None`` while it has not."""
    log = bundle / "models" / "training_log.csv"
    rows = training_rows(bundle) if log.is_file() else []
    return rows if rows and int(rows[-1]["iteration"]) >= max_steps else None


def parse_validation(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in (kv.split("=") for kv in text.split(";") if kv)}


def plateau_gain(rows: list[dict], metric: str = "val_mean_dice") -> float | None:
    """How much the best validation ``metric`` rose over the last quarter of the epochs: the best of the whole
    run minus the best before its last quarter (issue 17's budget rule: under 0.005 means plateaued)."""
    values = [(int(r["epoch"]), parse_validation(r["validation"])[metric]) for r in rows if r["validation"]]
    if not values:
        return None
    last = int(rows[-1]["epoch"])
    before = [v for e, v in values if e <= 0.75 * last]
    return max(v for _, v in values) - max(before) if before else None


def plot_curve(bundle: Path, rows: list[dict]) -> None:
    """docs/validation_curve.png: training loss and validation Dice against optimizer steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [int(r["iteration"]) for r in rows]
    fig, ax1 = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax1.plot(steps, [float(r["train_loss"]) for r in rows], color="tab:gray", label="training loss (epoch mean)")
    ax1.set_xlabel("optimizer step")
    ax1.set_ylabel("training loss")
    ax2 = ax1.twinx()
    val = [(int(r["iteration"]), parse_validation(r["validation"])) for r in rows if r["validation"]]
    ax2.plot([s for s, _ in val], [v["val_mean_dice"] for _, v in val], "o-", color="tab:red", label="validation Dice")
    ax2.set_ylabel("validation Dice")
    ax2.set_ylim(0, 1)
    fig.legend(loc="lower center", ncol=2, fontsize=8)
    ax1.set_title(bundle.name, fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(bundle / "docs" / "validation_curve.png")
    plt.close(fig)


def cpu_ms_per_image(bundle: Path, shape: tuple[int, ...], flip_tta: bool = False) -> float:
    """Median wall time (ms) of 10 runs, after 2 warm-ups, of the bundle's own inferer and network (deployed as
    its inference.json says: re-parameterised, runtime) on a random input of ``shape``, 2 threads; with
    ``flip_tta`` its flip test-time augmentation on."""
    import torch
    from monai.bundle import ConfigParser

    from monai_lightseg.inference.runtimes import deploy_as_bundle_says

    torch.set_num_threads(2)
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "inference.json"))
    parser["bundle_root"] = str(bundle)
    parser["flip_tta"] = flip_tta  # before the first parse: setting an item resets what was parsed
    net = parser.get_parsed_content("network_def").eval()
    net = deploy_as_bundle_says(net, parser)
    inferer = parser.get_parsed_content("tta_inferer")
    x = torch.rand(*shape)
    times = []
    with torch.no_grad():
        for i in range(12):
            start = time.perf_counter()
            inferer(x, net)
            if i >= 2:
                times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def interleaved_cpu_ms(
    bundles: list[Path], shape: tuple[int, ...], rounds: int = 5, warmup_rounds: int = 1
) -> dict[str, list[float]]:
    """{str(bundle): ms of each round}: :func:`cpu_ms_per_image` of every bundle in turn, ``rounds`` times, after
    ``warmup_rounds`` rounds that are discarded. Rounds alternate so that a change in machine load hits every
    bundle alike, and the discarded round takes the first-call outliers (FeatureCompressionNet 5.7 ms first, 4.5
    later). It does not make ratios to the UNet exact: the UNet's time depends on its place in the order
    (2026-12-06, quiet machine, 2 threads, six rounds each: 10 ms when timed after the three seed networks, 13.4 ms
    when timed first, 11-12 ms alone; the seed networks' times move by under 10 %;
    benchmarks/results/polyp_latency_unet_*_cpu.json), so read such ratios to about +-0.15."""
    times: dict[str, list[float]] = {str(b): [] for b in bundles}
    for i in range(warmup_rounds + rounds):
        for bundle in bundles:
            ms = cpu_ms_per_image(bundle, shape)
            if i >= warmup_rounds:
                times[str(bundle)].append(ms)
    return times


def evaluate(bundle: Path, data: Path) -> dict:
    """Run the bundle's evaluate.json on ``data``; its summary (per-image rows land in docs/validation/)."""
    from monai.bundle import run

    out = bundle / "docs" / "validation"
    run(
        config_file=[str(bundle / "configs/inference.json"), str(bundle / "configs/evaluate.json")],
        bundle_root=str(bundle),
        dataset_dir=str(data),
        output_dir=str(out),
    )
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def reference_masks(bundle: Path, pattern: str) -> None:
    """sample_data/reference/: the shipped weights' masks of the samples (files matching ``pattern``), which a
    test checks the weights still reproduce."""
    from monai.bundle import run

    tmp = bundle / "eval" / "reference_tmp"
    run(
        config_file=str(bundle / "configs/inference.json"),
        bundle_root=str(bundle),
        dataset_dir=str(bundle / "sample_data" / "images"),
        output_dir=str(tmp),
    )
    ref = bundle / "sample_data" / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    for f in tmp.glob(pattern):
        if not f.stem.endswith("_overlay"):
            shutil.copyfile(f, ref / f.name)
    shutil.rmtree(tmp)


def fmt(stats: dict, key: str) -> str:
    return f"{stats[key]['mean']:.3f} ± {stats[key]['std']:.3f}"


def replace_table(task: str, lines: list[str]) -> None:
    """Put ``lines`` between the ``<!-- {task}-table-start/end -->`` markers of docs/results.md."""
    doc = REPO / "docs" / "results.md"
    text = doc.read_text(encoding="utf-8")
    start, end = f"<!-- {task}-table-start -->", f"<!-- {task}-table-end -->"
    i, j = text.index(start) + len(start), text.index(end)
    doc.write_text(text[:i] + "\n" + "\n".join(lines) + "\n" + text[j:], encoding="utf-8")


def measure(task: Task, name: str, bundle: Path, rows: list[dict], data: Path, cpu_ms: float | None) -> dict:
    """Evaluate and profile one trained bundle; its ``results.json`` record (``cpu_ms``: its time per frame, timed
    with the other bundles by :func:`interleaved_cpu_ms`, or None)."""
    from monai.bundle import ConfigParser

    from monai_lightseg.networks.profile import count_macs, count_parameters

    config = ConfigParser()
    config.read_config(str(bundle / "configs/inference.json"))
    network = config.get_parsed_content("network_def")
    return {
        "bundle": name,
        "summary": evaluate(bundle, task.evaluation_data(data)),
        "params": count_parameters(network),
        "macs": count_macs(network, (1, task.in_channels, *task.roi)),
        "cpu_ms": cpu_ms,
        "best": json.loads((bundle / "models" / "model.best.json").read_text(encoding="utf-8")),
        "steps": int(rows[-1]["iteration"]),
        "wall_time_s": float(rows[-1]["elapsed_s"]),
    }


def report(
    task: Task, names: list[str], data: Path, speed: bool = True, speed_only: bool = False, text_only: bool = False
) -> None:
    """Report ``task``'s bundles ``names``, then rewrite the task's table in docs/results.md. ``speed_only``:
    re-time bundles already reported; ``text_only``: rewrite READMEs and table from the recorded results, with no
    figures (so no matplotlib). Timing (unless ``text_only`` or not ``speed``): the finished bundles among ``names``
    together, in interleaved rounds (:func:`interleaved_cpu_ms`), each bundle's median round recorded; ratios to the
    UNet in the table come from one run when the UNet is among ``names``."""
    timed: dict[str, float] = {}
    if speed_only or (speed and not text_only):
        finished = [n for n in names if finished_training_rows(REPO / "bundles" / n, task.recipe["max_steps"])]
        rounds = interleaved_cpu_ms([REPO / "bundles" / n for n in finished], task.speed_shape)
        timed = {n: statistics.median(rounds[str(REPO / "bundles" / n)]) for n in finished}
    for name in names:
        bundle = REPO / "bundles" / name
        (bundle / "docs").mkdir(exist_ok=True)
        rows = finished_training_rows(bundle, task.recipe["max_steps"])
        readme = bundle / "docs" / "README.md"
        if rows is None:
            readme.write_text(task.readme(task.networks[name], None), encoding="utf-8")
            print(f"{name}: training not finished; README without results")
            continue
        results = bundle / "docs" / "results.json"
        if speed_only or text_only:
            record = json.loads(results.read_text(encoding="utf-8"))
            if speed_only:
                record["cpu_ms"] = timed[name]
        else:
            plot_curve(bundle, rows)
            record = measure(task, name, bundle, rows, data.resolve(), timed.get(name))
            reference_masks(bundle, task.reference_pattern)
        record["plateau_gain"] = plateau_gain(rows)
        results.write_text(json.dumps(record, indent=4) + "\n", encoding="utf-8")
        readme.write_text(task.readme(task.networks[name], record), encoding="utf-8")
        print(f"{name}: done")
    records = {}
    for name in task.networks:
        path = REPO / "bundles" / name / "docs" / "results.json"
        records[name] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    replace_table(task.name, task.results_table(records))
    if text_only and hasattr(task, "plot"):
        print("figures not redrawn (--text-only); run without it, with the docs extra, to redraw them")
    elif not text_only and hasattr(task, "plot") and any(r and r["cpu_ms"] is not None for r in records.values()):
        task.plot(records, REPO / "docs" / f"{task.name}_dice_vs_latency.png")
