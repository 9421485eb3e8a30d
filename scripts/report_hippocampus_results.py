"""Measure the trained 3D hippocampus bundles and write their results: per-bundle docs/README.md, validation
curves, per-volume validation reports, sample reference masks, and the hippocampus table of docs/results.md.

    python scripts/report_hippocampus_results.py [--data ../shared/data] [--bundles unet emisnet ...]
        [--no-speed | --speed-only]

A bundle whose training has not finished its step budget gets its README (recipe, usage, "not trained yet")
and no results. Validation
numbers come from ``evaluate.json`` on the committed subject-level validation split (never trained on; used
for model selection, so reported as validation, not test). CPU speed: median of 10 runs after 2 warm-ups of
the bundle's inferer on a 1x1x40x56x40 volume (one window), 2 threads. Needs the ``docs`` extra (matplotlib).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import torch  # noqa: E402
from make_hippocampus_bundles import NETWORKS, RECIPE, ROI  # noqa: E402
from monai.bundle import ConfigParser, run  # noqa: E402
from report_polyp_results import (  # noqa: E402
    cpu_ms_per_image,
    finished_training_rows,
    fmt,
    plot_curve,
    replace_table,
)

from monai_lightseg.networks.profile import count_macs, count_parameters  # noqa: E402

NAMES = {k.split("hippocampus_mri_")[1].rsplit("_segmentation")[0]: k for k in NETWORKS}
TRAIN_VOLUMES = 167


def evaluate(bundle: Path, data: Path) -> dict:
    out = bundle / "docs" / "validation"
    run(
        config_file=[str(bundle / "configs/inference.json"), str(bundle / "configs/evaluate.json")],
        bundle_root=str(bundle),
        dataset_dir=str(data / "msd_hippocampus"),
        output_dir=str(out),
    )
    return json.loads((out / "summary.json").read_text())


def reference_masks(bundle: Path) -> None:
    tmp = bundle / "eval" / "reference_tmp"
    run(
        config_file=str(bundle / "configs/inference.json"),
        bundle_root=str(bundle),
        dataset_dir=str(bundle / "sample_data" / "images"),
        output_dir=str(tmp),
    )
    ref = bundle / "sample_data" / "reference"
    ref.mkdir(parents=True, exist_ok=True)
    for f in tmp.glob("*_seg.nii.gz"):
        shutil.copyfile(f, ref / f.name)
    shutil.rmtree(tmp)


def write_readme(bundle: Path, spec: dict, result: dict | None) -> None:
    lines = [
        f"# Hippocampus segmentation in MRI crops: {spec['title']}",
        "",
        f"{spec['seed']}. A MONAI bundle of [monai_lightseg](../../../README.md). Research only: not a medical",
        "device.",
        "",
        "## What it does",
        "",
        "Input: a T1-weighted MRI volume **cropped around one hippocampus**, like the MSD Task04 volumes (about",
        "35x50x35 voxels at 1 mm). Whole-brain volumes are out of scope: the network never saw anything but",
        "hippocampus crops. Formats: NIfTI (`.nii`, `.nii.gz`), NRRD, MHA; a DICOM MR series goes through",
        "`monai-lightseg segment` (the package's checked DICOM reader; masks come back as NIfTI and DICOM SEG).",
        "",
        "Output: `<stem>_seg.nii.gz`, uint8 labels 0 background, 1 anterior hippocampus (head), 2 posterior",
        "(body and tail), on the input's own grid with its exact affine. Each volume is reoriented to RAS and",
        "resampled to 1 mm, its intensities scaled from their 0.5..99.5 percentiles to [0, 1] (MSD intensities",
        "are uncalibrated), segmented by MONAI's `SlidingWindowInferer` with the training ROI",
        f"{'x'.join(map(str, ROI))} (overlap 0.25, Gaussian blending), and the class probabilities are resampled",
        "back with MONAI's `Invertd` before the argmax. CUDA is used when available (with AMP).",
        "",
        "```bash",
        "python -m monai.bundle run --config_file configs/inference.json --dataset_dir IN --output_dir OUT",
        "monai-lightseg segment --bundle . --input DICOM_OR_NIFTI_FOLDER --output OUT   # DICOM series too",
        "```",
        "",
        "## Training",
        "",
        "| item | value |",
        "| --- | --- |",
        f"| data | shared MSD Task04 training split: {TRAIN_VOLUMES} volumes of 109 subjects |",
        "| validation | 42 volumes of 27 subjects; split by subject (key `(id + 1) // 2`, every 5th sorted key), "
        "so both hippocampi of a person are on one side |",
        f"| budget | {RECIPE['max_steps']} optimizer steps x batch {RECIPE['batch_size']} "
        f"({RECIPE['max_steps'] * RECIPE['batch_size'] / TRAIN_VOLUMES:.0f} epochs), identical for every "
        "hippocampus bundle |",
        f"| crops | {'x'.join(map(str, ROI))} (nnU-Net's patch for this task), centred on background, anterior "
        "and posterior voxels in equal shares (`RandCropByLabelClassesd`), zero-padded when the volume is smaller |",
        "| augmentation | left-right flip only (a front-back flip would swap the classes' anatomy), affine "
        "(±10°, scale ±10 %), intensity scale/shift, Gaussian noise |",
        "| loss | cross-entropy + Dice (foreground classes) + 3D MS-SSIM (kernel 7, 3 scales), equal weights; "
        "deep supervision where the net has it |",
        f"| optimizer | AdamW, lr {RECIPE['learning_rate']}, weight decay 1e-4, {RECIPE['warmup_steps']} warm-up "
        "steps, cosine decay |",
        "| selection | weights with the best mean validation Dice over both classes |",
    ]
    if result is not None:
        last = result["rows"][-1]
        lines += [
            f"| hardware | CPU only, 2 cores, torch {torch.__version__.split('+')[0]} |",
            f"| wall time | {float(last['elapsed_s']) / 3600:.2f} h for {last['iteration']} steps (shared machine) |",
        ]
    lines += [
        "",
        "```bash",
        "python -m monai.bundle run --config_file configs/train.json --dataset_dir DATA   # reruns resume",
        "python -m monai.bundle run --config_file \"['configs/inference.json','configs/evaluate.json']\" \\",
        "    --dataset_dir DATA --output_dir REPORT",
        "```",
        "",
        "`DATA` is a folder with `images/` and `masks/` (pairs by file stem) or the MSD folder (`imagesTr/`,",
        "`labelsTr/`), where `configs/datalist.json` (the committed split) applies. Checkpoints every 100 steps",
        "in `models/checkpoints/`; `models/training_log.csv` holds steps, loss, learning rate, wall time and",
        "validation metrics. Evaluation writes `per_image.csv` (one row per volume and class) and `summary.json`.",
        "",
        "## Results on the validation split",
        "",
    ]
    if result is None:
        lines += [
            "Not trained yet: this bundle has its configuration and tests, but no weights. Train it with the",
            "command above (`bash scripts/train_bundles.sh hippocampus` in the repository), then run",
            "`python scripts/report_hippocampus_results.py` to fill this section.",
            "",
        ]
    else:
        s = result["summary"]["all"]
        lines += [
            "![validation curve](validation_curve.png)",
            "",
            "| class | volumes | Dice | IoU | precision | recall |",
            "| --- | ---: | --- | --- | --- | --- |",
        ]
        for c in ("anterior", "posterior"):
            st = s[c]
            lines.append(
                f"| {c} | {st['n_images']} | {fmt(st, 'dice')} | {fmt(st, 'iou')} | {fmt(st, 'precision')} | "
                f"{fmt(st, 'recall')} |"
            )
        lines += [
            "",
            f"Mean ± standard deviation over volumes. Parameters {result['params'] / 1e6:.3f} M; "
            f"{result['macs'] / 1e9:.3f} G multiply-adds per {'x'.join(map(str, ROI))} window; "
            + (
                f"{result['cpu_ms']:.0f} ms per window on 2 CPU threads."
                if result["cpu_ms"] is not None
                else "CPU time: not measured yet."
            ),
            "These volumes picked the best checkpoint, so they are not an unbiased test; the dataset's holdout",
            "part was never used. Reproduce: `python scripts/report_hippocampus_results.py`.",
            "",
        ]
    lines += [
        "## Intended use and limits",
        "",
        "- Research on hippocampus subfield segmentation in MSD-style crops. Not for diagnosis or clinical use.",
        "- One site (Vanderbilt), adults, healthy and with psychotic disorders; other scanners, ages and",
        "  pathologies are untested. The crop around the hippocampus must be made beforehand.",
        "",
        "## Licence and data terms",
        "",
        "Code: Apache-2.0. Weights derive from MSD data and are shared under CC-BY-SA 4.0; see `LICENSE` and",
        "`sample_data/README.md`. Cite Antonelli et al. (Nature Communications 2022) and Simpson et al. (2019).",
        "",
    ]
    (bundle / "docs").mkdir(exist_ok=True)
    (bundle / "docs" / "README.md").write_text("\n".join(lines))


def write_results_md() -> None:
    """The hippocampus table of docs/results.md from every bundle's docs/results.json."""
    lines = [
        "| bundle | anterior Dice | posterior Dice | mean Dice | params | MACs (40x56x40) | CPU ms / window "
        "| steps (epochs) | wall time |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in NETWORKS:
        path = REPO / "bundles" / name / "docs" / "results.json"
        if not path.is_file():
            lines.append(f"| {name} | not trained yet | | | | | | | |")
            continue
        r = json.loads(path.read_text())
        a, p = r["summary"]["all"]["anterior"], r["summary"]["all"]["posterior"]
        speed = "not measured yet" if r["cpu_ms"] is None else f"{r['cpu_ms']:.0f}"
        epochs = r["steps"] * RECIPE["batch_size"] / TRAIN_VOLUMES
        lines.append(
            f"| {name} | {fmt(a, 'dice')} | {fmt(p, 'dice')} | {(a['dice']['mean'] + p['dice']['mean']) / 2:.3f} "
            f"| {r['params'] / 1e6:.3f} M | {r['macs'] / 1e9:.3f} G | {speed} "
            f"| {r['steps']} ({epochs:.0f}) | {r['wall_time_s'] / 3600:.2f} h |"
        )
    replace_table("hippocampus", lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--bundles", nargs="+", default=list(NAMES))
    parser.add_argument("--no-speed", action="store_true", help="skip the CPU timing on a busy machine")
    parser.add_argument(
        "--speed-only",
        action="store_true",
        help="only (re)measure CPU time per window of bundles already reported, e.g. once the machine is quiet",
    )
    args = parser.parse_args()
    for short in args.bundles:
        name = NAMES[short]
        bundle = REPO / "bundles" / name
        rows = finished_training_rows(bundle, RECIPE["max_steps"])
        if rows is None:
            write_readme(bundle, NETWORKS[name], None)
            print(f"{name}: training not finished; README without results")
            continue
        if args.speed_only:
            record = json.loads((bundle / "docs" / "results.json").read_text())
            record["cpu_ms"] = cpu_ms_per_image(bundle, (1, 1, *ROI))
            (bundle / "docs" / "results.json").write_text(json.dumps(record, indent=2) + "\n")
            write_readme(bundle, NETWORKS[name], {**record, "rows": rows})
            print(f"{name}: {record['cpu_ms']:.1f} ms per window")
            continue
        (bundle / "docs").mkdir(exist_ok=True)
        plot_curve(bundle, rows)
        config = ConfigParser()
        config.read_config(str(bundle / "configs/inference.json"))
        network = config.get_parsed_content("network_def")
        result = {
            "bundle": name,
            "summary": evaluate(bundle, args.data.resolve()),
            "rows": rows,
            "params": count_parameters(network),
            "macs": count_macs(network, (1, 1, *ROI)),
            "cpu_ms": None if args.no_speed else cpu_ms_per_image(bundle, (1, 1, *ROI)),
            "best": json.loads((bundle / "models" / "model.best.json").read_text()),
        }
        reference_masks(bundle)
        write_readme(bundle, NETWORKS[name], result)
        record = {k: v for k, v in result.items() if k != "rows"}
        record.update({"steps": int(rows[-1]["iteration"]), "wall_time_s": float(rows[-1]["elapsed_s"])})
        (bundle / "docs" / "results.json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"{name}: done")
    write_results_md()
    return 0


if __name__ == "__main__":
    sys.exit(main())
