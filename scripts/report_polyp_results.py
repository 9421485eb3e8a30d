"""Measure the trained polyp bundles and write their results: per-bundle docs/README.md, validation curves,
validation summaries, sample reference masks, and the table in docs/results.md.

    python scripts/report_polyp_results.py [--data ../shared/data] [--bundles unet emisnet ...] [--no-speed]
    python scripts/report_polyp_results.py --speed-only     # on a quiet machine, after the runs are reported

Only bundles whose training log has reached the recipe's step budget are reported (interim weights are not a
result).
Validation numbers come from ``evaluate.json`` on the committed validation split (never trained on; used
for model selection, so reported as validation, not test). CPU speed: median of 10 timed runs after 2
warm-up runs of the bundle's own inferer on a 352x352 RGB frame, 2 threads, in this process.
Needs the ``docs`` extra (matplotlib) for the curves.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import torch  # noqa: E402
from make_polyp_bundles import NETWORKS, RECIPE, ROI  # noqa: E402
from monai.bundle import ConfigParser, run  # noqa: E402

from monai_lightseg.networks.profile import count_macs, count_parameters  # noqa: E402

NAMES = {k.split("polyp_endoscopy_")[1].rsplit("_segmentation")[0]: k for k in NETWORKS}


def training_rows(bundle: Path) -> list[dict]:
    with (bundle / "models" / "training_log.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def finished_training_rows(bundle: Path, max_steps: int) -> list[dict] | None:
    """The training log's rows when the run has reached its step budget; ``None`` while it has not (interim
    weights are not a result). Shared by the report scripts of every task."""
    log = bundle / "models" / "training_log.csv"
    rows = training_rows(bundle) if log.is_file() else []
    return rows if rows and int(rows[-1]["iteration"]) >= max_steps else None


def parse_validation(text: str) -> dict[str, float]:
    return {k: float(v) for k, v in (kv.split("=") for kv in text.split(";") if kv)}


def plot_curve(bundle: Path, rows: list[dict]) -> None:
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


def cpu_ms_per_image(bundle: Path, shape: tuple[int, ...] = (1, 3, 352, 352)) -> float:
    """Median wall time (ms) of 10 runs, after 2 warm-ups, of the bundle's own inferer and network on a random
    input of ``shape``, 2 threads. Shared by the report scripts of every task."""
    torch.set_num_threads(2)
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "inference.json"))
    parser["bundle_root"] = str(bundle)
    net = parser.get_parsed_content("network_def").eval()
    inferer = parser.get_parsed_content("inferer")
    x = torch.rand(*shape)
    times = []
    with torch.no_grad():
        for i in range(12):
            start = time.perf_counter()
            inferer(x, net)
            if i >= 2:
                times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def evaluate(bundle: Path, data: Path) -> dict:
    out = bundle / "docs" / "validation"
    run(
        config_file=[str(bundle / "configs/inference.json"), str(bundle / "configs/evaluate.json")],
        bundle_root=str(bundle),
        dataset_dir=str(data),
        output_dir=str(out),
    )
    return json.loads((out / "summary.json").read_text())


def reference_masks(bundle: Path) -> None:
    ref = bundle / "sample_data" / "reference"
    tmp = bundle / "eval" / "reference_tmp"
    run(
        config_file=str(bundle / "configs/inference.json"),
        bundle_root=str(bundle),
        dataset_dir=str(bundle / "sample_data" / "images"),
        output_dir=str(tmp),
    )
    ref.mkdir(parents=True, exist_ok=True)
    for f in tmp.glob("*.png"):
        if not f.stem.endswith("_overlay"):
            shutil.copyfile(f, ref / f.name)
    shutil.rmtree(tmp)


def fmt(stats: dict, key: str) -> str:
    return f"{stats[key]['mean']:.3f} ± {stats[key]['std']:.3f}"


def write_readme(bundle: Path, spec: dict, result: dict) -> None:
    s = result["summary"]
    rows = result["rows"]
    last = rows[-1]
    lines = [
        f"# Polyp segmentation in colonoscopy frames: {spec['title']}",
        "",
        f"{spec['seed']}. A MONAI bundle of [monai_lightseg](../../../README.md). Research and education only:",
        "not a medical device.",
        "",
        "## What it does",
        "",
        "Input: an RGB colonoscopy frame of any size (PNG, JPEG, TIFF, GIF, BMP; greyscale, palette and RGBA",
        "images are converted to RGB). Output: `<image stem>.png`, a uint8 0/255 polyp mask of the frame's",
        "original size, and `<image stem>_overlay.png`, the mask blended in red on the frame. The whole frame is",
        f"segmented at its native pixel scale by MONAI's `SlidingWindowInferer` with the training ROI {ROI[0]}x{ROI[1]}",
        "(overlap 0.25, Gaussian blending); no mask or box is needed. CUDA is used when available (with AMP).",
        "",
        "```bash",
        "python -m monai.bundle run --config_file configs/inference.json --dataset_dir IN --output_dir OUT",
        "```",
        "",
        "Frames much larger than the training data (say 1920x1080 at a finer pixel scale): the network still runs",
        "at native scale, window by window. If polyps look much larger in pixels than in Kvasir-SEG (352x352) or",
        "CVC-ClinicDB (384x288), downscale the frames to a similar field of view first; to trade memory for",
        'speed, change the window: `--roi_size "[384, 384]"` (any size works for the monai_lightseg networks;',
        "MONAI's UNet needs multiples of 16).",
        "",
        "## Training",
        "",
        "| item | value |",
        "| --- | --- |",
        "| data | shared training split: 800 Kvasir-SEG + 360 CVC-ClinicDB frames (17 video sequences) |",
        "| validation | 100 Kvasir-SEG (EffiSegNet validation split) + 132 CVC-ClinicDB frames (sequences 1, 6, 11, 16, 21, 26) |",
        f"| budget | {RECIPE['max_steps']} optimizer steps x batch {RECIPE['batch_size']} "
        f"({RECIPE['max_steps'] * RECIPE['batch_size'] / 1160:.1f} epochs), identical for every polyp bundle |",
        f"| crops | {ROI[0]}x{ROI[1]}, centred on a random polyp pixel 3 times in 4, random otherwise "
        "(`RandCropByPosNegLabeld`), zero-padded when smaller |",
        "| augmentation | flips, 90° rotations, affine (±15°, scale ±20 %), intensity scale/shift, contrast |",
        "| loss | BCE + Dice + MS-SSIM (equal weights), deep supervision with MONAI's `DeepSupervisionLoss` where the net has it |",
        f"| optimizer | AdamW, lr {RECIPE['learning_rate']}, weight decay 1e-4, {RECIPE['warmup_steps']} warm-up steps, cosine decay |",
        "| selection | weights with the best validation Dice (whole frames, sliding window 384x384) |",
        f"| hardware | CPU only, 2 cores (AMD EPYC), torch {torch.__version__} |",
        f"| wall time | {float(last['elapsed_s']) / 3600:.2f} h for {last['iteration']} steps (the machine was shared with other work, so this overstates the cost) |",
        "",
        "```bash",
        "python -m monai.bundle run --config_file configs/train.json --dataset_dir DATA   # reruns resume",
        "torchrun --standalone --nnodes=1 --nproc_per_node=2 -m monai.bundle run \\",
        "    --config_file \"['configs/train.json','configs/multi_gpu_train.json']\" --dataset_dir DATA",
        "python -m monai.bundle run --config_file \"['configs/inference.json','configs/evaluate.json']\" \\",
        "    --dataset_dir DATA --output_dir REPORT",
        "```",
        "",
        "`DATA` is either a folder with `images/` and `masks/` (pairs by file stem; masks binarised at > 127) or",
        "the root of the shared data, where `configs/datalist.json` (the committed split, paths relative to",
        "`DATA`) applies. Training saves `models/checkpoints/` every 100 steps and resumes from the newest when",
        "rerun; `models/training_log.csv` holds steps, loss, learning rate, wall time and validation metrics.",
        "Evaluation writes `per_image.csv` and `summary.json` (overall and per dataset).",
        "",
        "![validation curve](validation_curve.png)",
        "",
        "## Results on the validation split",
        "",
        "| dataset | images | Dice | IoU | precision | recall |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]
    for ds in ("kvasir_seg", "cvc_clinicdb", "all"):
        st = s[ds]["class_1"]
        lines.append(
            f"| {ds} | {st['n_images']} | {fmt(st, 'dice')} | {fmt(st, 'iou')} | {fmt(st, 'precision')} | "
            f"{fmt(st, 'recall')} |"
        )
    lines += [
        "",
        f"Mean ± standard deviation over images. Parameters {result['params'] / 1e6:.3f} M; "
        f"{result['macs'] / 1e9:.3f} G multiply-adds per 256x256 window; "
        + (
            f"{result['cpu_ms']:.0f} ms per 352x352 frame on 2 CPU threads (sliding window, 4 windows)."
            if result["cpu_ms"] is not None
            else "CPU time per frame: not measured yet (see docs/networks.md)."
        ),
        "These frames were used to pick the best checkpoint, so they are not an unbiased test; the datasets'",
        "holdout parts were never used. Reproduce: `python scripts/report_polyp_results.py`.",
        "",
        "## Intended use and limits",
        "",
        "- Research and education on colonoscopy polyp segmentation. Not for diagnosis or any clinical decision.",
        "- Trained on two public datasets (Norway, Spain), one frame per polyp view; other endoscopes, bowel",
        "  preparation, lighting, or non-polyp lesions are untested. Both datasets contain only frames that show",
        "  a polyp: false positives on polyp-free frames are unmeasured.",
        "- Trained from scratch on CPU with a short budget; see the monai_lightseg docs for the comparison.",
        "",
        "## Licence and data terms",
        "",
        "Code: Apache-2.0. Weights inherit the data terms (research and education only); see `LICENSE` and",
        "`sample_data/README.md`. Cite Kvasir-SEG (Jha et al., MMM 2020) and CVC-ClinicDB (Bernal et al., CMIG 2015).",
        "",
    ]
    (bundle / "docs" / "README.md").write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--bundles", nargs="+", default=list(NAMES))
    parser.add_argument(
        "--no-speed",
        action="store_true",
        help="skip the CPU timing (when other jobs share the machine: timings would mislead)",
    )
    parser.add_argument(
        "--speed-only",
        action="store_true",
        help="only (re)measure CPU time per frame of bundles already reported, e.g. once the machine is quiet",
    )
    args = parser.parse_args()
    for short in args.bundles:
        name = NAMES[short]
        bundle = REPO / "bundles" / name
        rows = finished_training_rows(bundle, RECIPE["max_steps"])
        if rows is None:
            print(f"{name}: training not finished, skipped")
            continue
        if args.speed_only:
            record = json.loads((bundle / "docs" / "results.json").read_text())
            record["cpu_ms"] = cpu_ms_per_image(bundle)
            (bundle / "docs" / "results.json").write_text(json.dumps(record, indent=2) + "\n")
            write_readme(bundle, NETWORKS[name], {**record, "rows": rows})
            print(f"{name}: {record['cpu_ms']:.1f} ms per frame")
            continue
        (bundle / "docs").mkdir(exist_ok=True)
        plot_curve(bundle, rows)
        net = ConfigParser()
        net.read_config(str(bundle / "configs/inference.json"))
        network = net.get_parsed_content("network_def")
        summary = evaluate(bundle, args.data.resolve())
        reference_masks(bundle)
        result = {
            "bundle": name,
            "summary": summary,
            "rows": rows,
            "params": count_parameters(network),
            "macs": count_macs(network, (1, 3, *ROI)),
            "cpu_ms": None if args.no_speed else cpu_ms_per_image(bundle),
            "best": json.loads((bundle / "models" / "model.best.json").read_text()),
        }
        write_readme(bundle, NETWORKS[name], result)
        record = {k: v for k, v in result.items() if k != "rows"}
        record.update({"steps": int(rows[-1]["iteration"]), "wall_time_s": float(rows[-1]["elapsed_s"])})
        (bundle / "docs" / "results.json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"{name}: done")
    write_results_md()
    return 0


def write_results_md() -> None:
    """The polyp table of docs/results.md from every bundle's docs/results.json."""
    rows = []
    for name in NETWORKS:
        path = REPO / "bundles" / name / "docs" / "results.json"
        if path.is_file():
            rows.append((name, json.loads(path.read_text())))
    base = next((r for n, r in rows if n.endswith("unet_segmentation")), None)
    lines = [
        "| bundle | Kvasir-SEG Dice | Kvasir-SEG IoU | CVC-ClinicDB Dice | CVC-ClinicDB IoU | params | MACs (256^2) "
        "| CPU ms / 352^2 frame | steps (epochs) | wall time |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in rows:
        k, c = r["summary"]["kvasir_seg"]["class_1"], r["summary"]["cvc_clinicdb"]["class_1"]
        if r["cpu_ms"] is None:
            speed = "not measured yet"
        else:
            ratio = base is not None and base is not r and base["cpu_ms"] is not None
            speed = f"{r['cpu_ms']:.0f}" + (f" ({r['cpu_ms'] / base['cpu_ms']:.1f}x UNet)" if ratio else "")
        lines.append(
            f"| {name} | {fmt(k, 'dice')} | {fmt(k, 'iou')} | {fmt(c, 'dice')} | {fmt(c, 'iou')} "
            f"| {r['params'] / 1e6:.3f} M | {r['macs'] / 1e9:.3f} G | {speed} "
            f"| {r['steps']} ({r['steps'] * RECIPE['batch_size'] / 1160:.1f}) | {r['wall_time_s'] / 3600:.2f} h |"
        )
    replace_table("polyp", lines)


def replace_table(task: str, lines: list[str]) -> None:
    """Put ``lines`` between the ``<!-- {task}-table-start/end -->`` markers of docs/results.md."""
    doc = REPO / "docs" / "results.md"
    text = doc.read_text()
    start, end = f"<!-- {task}-table-start -->", f"<!-- {task}-table-end -->"
    i, j = text.index(start) + len(start), text.index(end)
    doc.write_text(text[:i] + "\n" + "\n".join(lines) + "\n" + text[j:])


if __name__ == "__main__":
    sys.exit(main())
