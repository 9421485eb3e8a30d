"""Measure the trained retinal vessel bundle and write its results: docs/README.md, the validation curve, the
per-image validation report (inside the field of view) and the vessel table of docs/results.md.

    python scripts/report_vessel_results.py [--data ../shared/data] [--no-speed]

Before the training has finished its step budget, only the README (recipe, usage, "not trained yet") is
written. Validation numbers come from ``evaluate.json`` on the committed split of the shared DRIVE images
(8 images never trained on; used for model selection, so reported as validation). CPU speed: median of 10
runs after 2 warm-ups of the bundle's inferer on a 584x565 image (the network's input: one channel, green +
CLAHE; the CLAHE itself, about 40 ms, is preprocessing and not timed), 2 threads. Needs the ``docs`` extra.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import torch  # noqa: E402
from make_vessel_bundle import NAME, RECIPE, ROI  # noqa: E402
from monai.bundle import ConfigParser, run  # noqa: E402
from report_polyp_results import (  # noqa: E402
    cpu_ms_per_image,
    finished_training_rows,
    fmt,
    plot_curve,
    reference_masks,
    replace_table,
)

from monai_lightseg.networks.profile import count_macs, count_parameters  # noqa: E402

BUNDLE = REPO / "bundles" / NAME
TRAIN_IMAGES = 24


def write_readme(result: dict | None) -> None:
    patches = RECIPE["batch_size"] * RECIPE["patches_per_image"]
    lines = [
        "# Retinal vessel segmentation in colour fundus photographs: LightU2Net",
        "",
        "Seed B's network (Sun et al. 2024, lightweight U2-Net with multi-scale asymmetric convolution and UNet++",
        "skips) in its own domain. A MONAI bundle of [monai_lightseg](../../../README.md). Research use only: not a",
        "medical device.",
        "",
        "## What it does",
        "",
        "Input: a colour fundus photograph of any size (TIFF, PNG, JPEG, GIF, BMP) at a DRIVE-like scale (about",
        "565x584 pixels for a 45° field; rescale larger photographs to that field of view first). Output:",
        "`<image stem>.png`, a uint8 0/255 vessel mask of the image's original size, and `<image stem>_overlay.png`.",
        f"The whole image is segmented at native scale by MONAI's `SlidingWindowInferer` with {ROI[0]}x{ROI[1]}",
        "windows (the training patch size; overlap 0.25, Gaussian blending). CUDA is used when available.",
        "The network sees the green channel (where vessels contrast most) equalised with CLAHE (scikit-image,",
        "contextual regions 1/8 of each image side, clip limit 0.01); the overlay is drawn on the colour photograph.",
        "Pixels outside the field of view (FOV), the retina's disk, are set to background: inference estimates the",
        "FOV as the red channel above `fov_threshold` (0.1 of full scale), holes filled, largest component kept,",
        "which matches DRIVE's FOV masks with IoU 0.996 on average (worst 0.986 of 40 images). For photographs",
        "whose background is not dark, pass `--fov_threshold 0` to keep the whole image. Evaluation uses the",
        "dataset's own FOV masks and restricts every metric to them.",
        "",
        "```bash",
        "python -m monai.bundle run --config_file configs/inference.json --dataset_dir IN --output_dir OUT",
        "```",
        "",
        "## Training",
        "",
        "| item | value |",
        "| --- | --- |",
        f"| data | shared DRIVE images, training split: {TRAIN_IMAGES} images (sorted ids except every 4th) |",
        "| validation | 8 images (every 4th sorted id: 04, 09, 14, 19 _test; 24, 29, 34, 39 _training) |",
        f"| budget | {RECIPE['max_steps']} optimizer steps x {patches} patches ({RECIPE['batch_size']} images x "
        f"{RECIPE['patches_per_image']} random {ROI[0]}x{ROI[1]} patches each, centred inside the FOV) |",
        "| input | green channel scaled to [0, 1], CLAHE (clip limit 0.01) |",
        "| augmentation | flips, 90° rotations, intensity scale/shift, contrast |",
        "| loss | BCE + Dice + MS-SSIM (kernel 7, 3 scales, to fit 128^2 patches), deep supervision |",
        f"| optimizer | AdamW, lr {RECIPE['learning_rate']}, weight decay 1e-4, {RECIPE['warmup_steps']} warm-up "
        "steps, cosine decay |",
        "| selection | weights with the best validation Dice inside the FOV (whole images, sliding window) |",
    ]
    if result is not None:
        last = result["rows"][-1]
        lines.append(
            f"| wall time | {float(last['elapsed_s']) / 3600:.2f} h for {last['iteration']} steps on 2 shared CPU "
            f"cores, torch {torch.__version__.split('+')[0]} |"
        )
    lines += [
        "",
        "```bash",
        "python -m monai.bundle run --config_file configs/train.json --dataset_dir DATA   # reruns resume",
        "python -m monai.bundle run --config_file \"['configs/inference.json','configs/evaluate.json']\" \\",
        "    --dataset_dir DATA --output_dir REPORT",
        "```",
        "",
        "`DATA` holds `images/`, `masks/` and `fov/` (paired by file stem; masks binarised at > 127), like the",
        "shared DRIVE folder, for which `configs/datalist.json` is the committed split. Evaluation writes",
        "`per_image.csv` and `summary.json` with F1 (= Dice), sensitivity (recall), specificity, precision and",
        "accuracy counted inside the FOV.",
        "",
        "## Results on the validation split",
        "",
    ]
    if result is None:
        lines += [
            "Not trained yet: this bundle has its configuration and tests, but no weights. Train it with the",
            "command above, then run `python scripts/report_vessel_results.py` to fill this section.",
            "",
        ]
    else:
        st = result["summary"]["all"]["vessel"]
        lines += [
            "![validation curve](validation_curve.png)",
            "",
            "| images | F1 (Dice) | sensitivity | specificity | accuracy |",
            "| ---: | --- | --- | --- | --- |",
            f"| {st['n_images']} | {fmt(st, 'dice')} | {fmt(st, 'recall')} | {fmt(st, 'specificity')} | "
            f"{fmt(st, 'accuracy')} |",
            "",
            f"Inside the FOV; mean ± std over images. Parameters {result['params'] / 1e6:.3f} M; "
            f"{result['macs'] / 1e9:.3f} G multiply-adds per {ROI[0]}x{ROI[1]} window; "
            + (
                f"{result['cpu_ms']:.0f} ms per 584x565 image on 2 CPU threads."
                if result["cpu_ms"] is not None
                else "CPU time: not measured yet."
            ),
            "The shared part mixes DRIVE's official training and test images, so these numbers are not comparable",
            "with published DRIVE test-set results. Benchmark goal F1 >= 0.80: "
            + ("met." if st["dice"]["mean"] >= 0.80 else f"not met ({st['dice']['mean']:.3f})."),
            "",
            "`sample_data/reference/` holds these weights' masks of the synthetic samples; a test checks that the",
            "shipped weights still reproduce them.",
            "",
        ]
    lines += [
        "## Intended use and limits",
        "",
        "- Research on retinal vessel segmentation. Not for diagnosis or any clinical decision.",
        "- 24 training images from one screening programme (the Netherlands, one camera); other cameras,",
        "  fields of view and pathologies are untested.",
        "",
        "## Licence and data terms",
        "",
        "Code: Apache-2.0. Weights inherit DRIVE's terms (research use; cite Staal et al., IEEE TMI 2004); see",
        "`LICENSE`. The sample images are synthetic (`sample_data/README.md`).",
        "",
    ]
    (BUNDLE / "docs").mkdir(exist_ok=True)
    (BUNDLE / "docs" / "README.md").write_text("\n".join(lines))


def write_results_md(result: dict | None) -> None:
    lines = [
        "| bundle | F1 (Dice) | sensitivity | specificity | params | MACs (128^2) | CPU ms / 584x565 image "
        "| steps | wall time |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    if result is None:
        lines.append(f"| {NAME} | not trained yet | | | | | | | |")
    else:
        st = result["summary"]["all"]["vessel"]
        speed = "not measured yet" if result["cpu_ms"] is None else f"{result['cpu_ms']:.0f}"
        lines.append(
            f"| {NAME} | {fmt(st, 'dice')} | {fmt(st, 'recall')} | {fmt(st, 'specificity')} "
            f"| {result['params'] / 1e6:.3f} M | {result['macs'] / 1e9:.3f} G | {speed} | {result['steps']} "
            f"| {result['wall_time_s'] / 3600:.2f} h |"
        )
    replace_table("vessel", lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--no-speed", action="store_true", help="skip the CPU timing on a busy machine")
    args = parser.parse_args()
    rows = finished_training_rows(BUNDLE, RECIPE["max_steps"])
    if rows is None:
        write_readme(None)
        write_results_md(None)
        print(f"{NAME}: training not finished; README without results")
        return 0
    plot_curve(BUNDLE, rows)
    out = BUNDLE / "docs" / "validation"
    run(
        config_file=[str(BUNDLE / "configs/inference.json"), str(BUNDLE / "configs/evaluate.json")],
        bundle_root=str(BUNDLE),
        dataset_dir=str(args.data.resolve() / "drive"),
        output_dir=str(out),
    )
    config = ConfigParser()
    config.read_config(str(BUNDLE / "configs/inference.json"))
    network = config.get_parsed_content("network_def")
    in_channels = int(config["network_def"]["in_channels"])
    result = {
        "bundle": NAME,
        "summary": json.loads((out / "summary.json").read_text()),
        "rows": rows,
        "params": count_parameters(network),
        "macs": count_macs(network, (1, in_channels, *ROI)),
        "cpu_ms": None if args.no_speed else cpu_ms_per_image(BUNDLE, (1, in_channels, 584, 565)),
        "steps": int(rows[-1]["iteration"]),
        "wall_time_s": float(rows[-1]["elapsed_s"]),
        "best": json.loads((BUNDLE / "models" / "model.best.json").read_text()),
    }
    reference_masks(BUNDLE)
    write_readme(result)
    write_results_md(result)
    (BUNDLE / "docs" / "results.json").write_text(
        json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=2) + "\n"
    )
    print(f"{NAME}: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
