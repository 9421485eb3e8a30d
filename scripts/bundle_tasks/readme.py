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


def flip_tta_command(task: Task) -> str:
    """The inference command with flip test-time augmentation, and what it costs."""
    passes = 1 + len(task.flip_axes())
    return (
        "python -m monai.bundle run --config_file configs/inference.json --dataset_dir IN --output_dir OUT "
        f"--flip_tta True   # mean over the image and its flips: {passes} passes"
    )


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
            f"{record.get('device', '2 CPU cores (most runs shared them with other work: overstates the cost)')}, "
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
    """The README text under the MONAI model zoo template's headings (Authors, Tags, Model Description, Data,
    Performance, Additional Usage Steps, System Configuration, Limitations, Citation Info), self-contained: no
    link leaves the bundle folder. Before training has finished, Performance says how to get the results."""
    lines = [
        f"# {title}: {spec['title']}",
        "",
        "### **Authors**",
        "",
        "monai_lightseg contributors",
        "",
        "### **Tags**",
        "",
        task.tags,
        "",
        "## **Model Description**",
        "",
        f"{spec['seed']}. {use}: not a medical device. The configs use the monai_lightseg package (networks,",
        "transforms, handlers), which must be installed alongside MONAI; the copy that `monai-lightseg export-bundle`",
        "writes carries that code in its `scripts/` folder instead and needs only MONAI and the packages its",
        "`configs/metadata.json` lists.",
        "",
        *what_it_does,
        "",
        "## **Data**",
        "",
        "| item | value |",
        "| --- | --- |",
        *training_rows,
        "",
        *data_help,
        "",
        "## **Performance**",
        "",
    ]
    if record is None:
        lines += [
            "Not trained yet: this bundle has its configuration and tests, but no weights of this recipe. Train it",
            "with the commands below; in the monai_lightseg repository, `python scripts/report_results.py --task "
            f"{task.name}`",
            "then fills this section.",
        ]
    else:
        lines += ["![validation curve](validation_curve.png)", "", *results]
    lines += [
        "",
        "## **Additional Usage Steps**",
        "",
        "```bash",
        TRAIN,
        *MULTI_GPU,
        *EVALUATE,
        "```",
        "",
        "## **System Configuration**",
        "",
        "| item | value |",
        "| --- | --- |",
        *optimizer_rows(task, record),
        "",
        "## **Limitations**",
        "",
        *limits,
        "",
        "## **Citation Info**",
        "",
        *licence,
        "",
    ]
    return "\n".join(lines)


def cpu_time(record: dict, what: str) -> str:
    if record["cpu_ms"] is None:
        return "CPU time: not measured yet."
    return f"{record['cpu_ms']:.0f} ms per {what} on 2 CPU threads."
