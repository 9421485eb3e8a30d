"""The layout of every bundle's docs/README.md; the task supplies the words (see ``Task.readme``)."""

from __future__ import annotations

from .engine import Task

EVALUATE = [
    "python -m monai.bundle run --config_file \"['configs/inference.json','configs/evaluate.json']\" \\",
    "    --dataset_dir DATA --output_dir REPORT",
]
TRAIN = "python -m monai.bundle run --config_file configs/train.json --dataset_dir DATA   # reruns resume"
MULTI_GPU = [
    "torchrun --standalone --nnodes=1 --nproc_per_node=2 -m monai.bundle run \\",
    "    --config_file \"['configs/train.json','configs/multi_gpu_train.json']\" --dataset_dir DATA",
]


def optimizer_rows(task: Task, record: dict | None) -> list[str]:
    """Training-table rows every task shares: optimizer, selection rule, hardware and wall time."""
    r = task.recipe
    rows = [
        f"| optimizer | AdamW, lr {r['learning_rate']}, weight decay 1e-4, {r['warmup_steps']} warm-up steps, "
        "cosine decay |",
        f"| selection | {task.selection} |",
    ]
    if record is not None:
        import torch

        rows.append(
            f"| wall time | {record['wall_time_s'] / 3600:.2f} h for {record['steps']} steps on "
            f"{record.get('device', '2 CPU cores (shared with other work, so this overstates the cost)')}, "
            f"torch {torch.__version__.split('+')[0]} |"
        )
    return rows


def compose(
    task: Task,
    spec: dict,
    record: dict | None,
    *,
    title: str,
    use: str,
    what_it_does: list[str],
    training_rows: list[str],
    data_help: list[str],
    results: list[str],
    limits: list[str],
    licence: list[str],
) -> str:
    """The README text: what it does and how to run it, the training recipe, validation results (or how to get
    them before training has finished), intended use and limits, licence."""
    lines = [
        f"# {title}: {spec['title']}",
        "",
        f"{spec['seed']}. A MONAI bundle of [monai_lightseg](../../../README.md). {use}: not a medical device.",
        "",
        "## What it does",
        "",
        *what_it_does,
        "",
        "## Training",
        "",
        "| item | value |",
        "| --- | --- |",
        *training_rows,
        *optimizer_rows(task, record),
        "",
        "```bash",
        TRAIN,
        *MULTI_GPU,
        *EVALUATE,
        "```",
        "",
        *data_help,
        "",
        "## Results on the validation split",
        "",
    ]
    if record is None:
        lines += [
            "Not trained yet: this bundle has its configuration and tests, but no weights of this recipe. Train it",
            f"with the command above, then run `python scripts/report_results.py --task {task.name}` to fill this",
            "section.",
        ]
    else:
        lines += ["![validation curve](validation_curve.png)", "", *results]
    lines += ["", "## Intended use and limits", "", *limits, "", "## Licence and data terms", "", *licence, ""]
    return "\n".join(lines)


def cpu_time(record: dict, what: str) -> str:
    if record["cpu_ms"] is None:
        return "CPU time: not measured yet."
    return f"{record['cpu_ms']:.0f} ms per {what} on 2 CPU threads."
