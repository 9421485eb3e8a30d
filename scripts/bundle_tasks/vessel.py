"""The retinal vessel bundle: LightU2Net (seed B) in its own domain, DRIVE fundus photographs."""

from __future__ import annotations

import shutil
from pathlib import Path

from .engine import (
    EXPORT_CHANGES,
    FLIP_TTA_CHANGES,
    OUTPUT_DIR_CHANGES,
    PHOTO_READER_CHANGES,
    REPO,
    RUNTIME_CHANGES,
    ZOO_CHANGES,
    Task,
    binarize_pred,
    load_2d_image,
    mask_and_overlay_png,
    metadata_record,
)
from .polyp import SEED_B
from .readme import compose, cpu_time, flip_tta_command
from .report import fmt
from .synthetic_fundus import write_samples

#: MS-SSIM for 128^2 patches: kernel 7 and three scales (MONAI's five scales with kernel 11 need >= 176 px)
MS_SSIM = {"ms_ssim_kernel_size": 7, "ms_ssim_weights": [0.0448 / 0.6305, 0.2856 / 0.6305, 0.3001 / 0.6305]}
#: CLAHE of the green channel: scikit-image's default contextual regions (1/8 of each image side) and clip limit
CLAHE = {"clip_limit": 0.01}

LICENSE = """Code and configuration: Apache License 2.0 (see the monai_lightseg repository).

Model weights (models/model.pt) were trained on DRIVE (Digital Retinal Images for Vessel Extraction) and
inherit its terms: released for scientific research; the official download
(https://drive.grand-challenge.org/) asks users to register and to cite J. Staal, M. D. Abramoff,
M. Niemeijer, M. A. Viergever, B. van Ginneken, "Ridge-based vessel segmentation in color images of the
retina", IEEE Transactions on Medical Imaging 23(4) (2004) 501-509. Research use only.

No DRIVE image is shipped: sample_data/ holds synthetic images drawn by scripts/bundle_tasks/synthetic_fundus.py
(Apache-2.0, see sample_data/README.md). The weights are not a medical device.
"""


def fundus_input(keep_photo: bool = True) -> list[dict]:
    """The network's input: the green channel (where vessels contrast most with the background), equalised
    with CLAHE, the standard preprocessing of vessel segmentation. ``keep_photo``: keep the colour photograph
    as ``photo`` for the overlay (inference only). Runs after the FOV estimate, which needs the red channel."""
    photo = [{"_target_": "CopyItemsd", "keys": "image", "names": "photo"}] if keep_photo else []
    return photo + [
        {"_target_": "Lambdad", "keys": "image", "func": "$lambda x: x[1:2]"},
        {"_target_": "monai_lightseg.transforms.AdaptiveHistogramEqualized", "keys": "image", **CLAHE},
    ]


def fov_transforms() -> list[dict]:
    """The FOV mask loads like a vessel mask: :func:`monai_lightseg.io.photographs.to_binary_mask`, then > 127."""
    return [
        {
            "_target_": "LoadImaged",
            "keys": "fov",
            "image_only": True,
            "reader": {
                "_target_": "PILReader",
                "converter": {"_target_": "monai_lightseg.io.photographs.to_binary_mask", "_mode_": "callable"},
            },
        },
        {"_target_": "EnsureChannelFirstd", "keys": "fov"},
        {"_target_": "AsDiscreted", "keys": "fov", "threshold": 128},
    ]


def estimated_fov() -> list[dict]:
    """Inference has no FOV mask: estimate it (preprocessing, from the colour image) as the red channel (scaled
    to [0, 1]) above ``fov_threshold``, holes filled, largest component kept; the postprocessing zeroes the
    prediction outside it. On the 40 shared DRIVE images this matches the official FOV masks with IoU 0.996 on
    average (worst 0.986) at threshold 0.1. ``fov_threshold`` 0 keeps the whole image."""
    return [
        {"_target_": "CopyItemsd", "keys": "image", "names": "fov"},
        {"_target_": "Lambdad", "keys": "fov", "func": "$lambda x: x[:1]"},
        {"_target_": "AsDiscreted", "keys": "fov", "threshold": "@fov_threshold"},
        {"_target_": "FillHolesd", "keys": "fov"},
        {"_target_": "KeepLargestConnectedComponentd", "keys": "fov"},
    ]


#: zero the prediction outside the field of view
INSIDE_FOV = {"_target_": "MaskIntensityd", "keys": "pred", "mask_key": "fov"}


class VesselTask(Task):
    name = "vessel"
    prefix = "retinal_vessel_fundus"
    networks = {
        "retinal_vessel_fundus_light_u2net_segmentation": {
            "target": "monai_lightseg.networks.nets.LightU2Net",
            "args": {},
            "title": "LightU2Net",
            "seed": SEED_B,
        }
    }
    spatial_dims, in_channels, out_channels = 2, 1, 1
    roi = [128, 128]
    recipe = {
        "max_steps": 2000,
        "batch_size": 4,
        "patches_per_image": 2,
        "epoch_length": 100,
        "learning_rate": 0.002,
        "warmup_steps": 100,
    }
    val_roi = roi
    inference_options = {"fov_threshold": 0.1}
    report_options = {"mask_key": "fov", "class_names": ["vessel"]}
    samples = "vessels"
    license = LICENSE
    train_images = 24

    def datalist(self, split: str) -> str:
        return f"$monai_lightseg.data.bundle_datalist(@dataset_dir, @datalist_file, '{split}', extra_fields=['fov'])"

    def load(self, keys: list[str]) -> list[dict]:
        return load_2d_image(keys)

    def inference_preprocessing(self) -> list[dict]:
        return self.load(["image"]) + estimated_fov() + fundus_input() + [{"_target_": "EnsureTyped", "keys": "image"}]

    def labelled_preprocessing(self) -> list[dict]:
        """The dataset's own FOV mask; every metric is counted inside it."""
        return (
            self.load(["image", "label"])
            + fov_transforms()
            + fundus_input(keep_photo=False)
            + [{"_target_": "EnsureTyped", "keys": ["image", "label", "fov"]}]
        )

    def train_preprocessing(self) -> list[dict]:
        return self.load(["image", "label"]) + fov_transforms() + fundus_input(keep_photo=False) + self.augmentation()

    def augmentation(self) -> list[dict]:
        return [
            {"_target_": "SpatialPadd", "keys": ["image", "label", "fov"], "spatial_size": "@roi_size"},
            {  # patch centres drawn uniformly inside the field of view (none wasted on the black surround)
                "_target_": "RandWeightedCropd",
                "keys": ["image", "label"],
                "w_key": "fov",
                "spatial_size": "@roi_size",
                "num_samples": self.recipe["patches_per_image"],
            },
            {"_target_": "DeleteItemsd", "keys": "fov"},
            {"_target_": "RandFlipd", "keys": ["image", "label"], "prob": 0.5, "spatial_axis": 0},
            {"_target_": "RandFlipd", "keys": ["image", "label"], "prob": 0.5, "spatial_axis": 1},
            {"_target_": "RandRotate90d", "keys": ["image", "label"], "prob": 0.5, "max_k": 3},
            {"_target_": "RandScaleIntensityd", "keys": "image", "factors": 0.15, "prob": 0.5},
            {"_target_": "RandShiftIntensityd", "keys": "image", "offsets": 0.1, "prob": 0.5},
            {"_target_": "RandAdjustContrastd", "keys": "image", "gamma": [0.7, 1.5], "prob": 0.3},
            {"_target_": "EnsureTyped", "keys": ["image", "label"]},
        ]

    def metric_postprocessing(self, preprocessing: str = "@preprocessing") -> list[dict]:
        """Binarise, then zero the prediction outside the field of view: Dice over the image is then Dice inside
        the FOV (DRIVE's vessel masks are empty outside it)."""
        return binarize_pred() + [INSIDE_FOV]

    def inference_postprocessing(self) -> list[dict]:
        return binarize_pred() + [INSIDE_FOV] + mask_and_overlay_png(photo_key="photo")

    def loss(self) -> dict:
        return {"_target_": "monai_lightseg.losses.BceDiceMsSsimLoss", "spatial_dims": 2, **MS_SSIM}

    def shared_datalist(self, data_root: Path) -> dict:
        from monai_lightseg.data import drive_datalist

        return drive_datalist(data_root / "drive")

    def prepare_samples(self) -> None:
        """(Re)draw the synthetic samples into samples/vessels."""
        write_samples(REPO / "samples" / self.samples)

    def write_samples(self, root: Path) -> None:
        shutil.copytree(REPO / "samples" / self.samples, root / "sample_data", dirs_exist_ok=True)

    def metadata(self, spec: dict) -> dict:
        shape = {"spatial_shape": self.roi, "dtype": "float32", "value_range": [0, 1], "is_patch_data": True}
        return metadata_record(
            "0.3.5",
            {
                "0.3.5": (
                    PHOTO_READER_CHANGES + "; " + OUTPUT_DIR_CHANGES + ": its <stem>.png mask replaced a PNG input"
                ),
                "0.3.4": FLIP_TTA_CHANGES,
                "0.3.3": EXPORT_CHANGES + "; weights unchanged",
                "0.3.2": ZOO_CHANGES + "; weights unchanged",
                "0.3.1": RUNTIME_CHANGES,
                "0.3.0": (
                    "network input is the green channel after CLAHE (was RGB); training patches centred inside "
                    "the field of view; weights retrained on the same 24 training images"
                ),
                "0.2.0": "weights retrained on the 24 training images only (validation F1 0.789 on the other 8)",
                "0.1.0": "first release; its weights had also trained on the 8 validation images: do not use",
            },
            {
                "name": "Retinal vessel segmentation in colour fundus photographs, LightU2Net",
                "task": "Binary segmentation of retinal blood vessels in 2D colour fundus photographs",
                "description": (
                    f"LightU2Net ({spec['seed']}), seed B's own domain, trained from scratch on 128x128 patches of "
                    "the shared DRIVE training split; the network sees the green channel equalised with CLAHE. "
                    "Input: an RGB fundus photograph of any size at DRIVE-like scale (about 565x584 for a 45-degree "
                    "field); output: a vessel mask of the same size. Research use only (the training data's terms)."
                ),
                "copyright": "Copyright (c) monai_lightseg contributors; weights subject to the DRIVE terms",
                "data_source": "DRIVE (Staal et al., IEEE TMI 2004), first observer's manual segmentations",
                "data_type": "RGB fundus photographs: TIFF, PNG, JPEG, GIF, BMP",
                "image_classes": "RGB image, intensities 0..255 scaled to [0, 1]",
                "label_classes": "single channel: 1 vessel, 0 background",
                "pred_classes": "single channel logit; sigmoid > 0.5 is vessel",
                "eval_metrics": {"val_mean_dice": None},
                "intended_use": "Research only. Not a medical device; not for clinical decisions.",
                "references": [
                    "Staal et al., Ridge-based vessel segmentation in color images of the retina, IEEE TMI 23(4) 2004",
                ],
                "network_data_format": {
                    "inputs": {
                        "image": {
                            "type": "image",
                            "format": "magnitude",
                            "modality": "fundus photography",
                            "num_channels": 1,
                            **shape,
                            "channel_def": {
                                "0": "green channel after CLAHE (the preprocessing makes it from an RGB photograph)"
                            },
                        }
                    },
                    "outputs": {
                        "pred": {
                            "type": "image",
                            "format": "segmentation",
                            "num_channels": 1,
                            **shape,
                            "channel_def": {"0": "vessel"},
                        }
                    },
                },
            },
            packages=self.monai_packages,
        )

    # --- the report (scripts/report_results.py) ---
    tags = "Segmentation, Fundus photography, Retinal vessels, 2D"
    monai_packages = ("pillow", "scikit-image", "scipy")
    selection = "weights with the best validation Dice inside the FOV (whole images, sliding window)"
    reference_pattern = "*.png"
    #: one DRIVE-sized image as the network sees it (one channel: green + CLAHE; the CLAHE itself, about 40 ms,
    #: is preprocessing and not timed)
    speed_shape = (1, 1, 584, 565)

    def evaluation_data(self, data: Path) -> Path:
        return data / "drive"

    def readme(self, spec: dict, record: dict | None) -> str:
        r = self.recipe
        results = []
        if record is not None:
            st = record["summary"]["all"]["vessel"]
            results = [
                "| images | F1 (Dice) | sensitivity | specificity | accuracy |",
                "| ---: | --- | --- | --- | --- |",
                f"| {st['n_images']} | {fmt(st, 'dice')} | {fmt(st, 'recall')} | {fmt(st, 'specificity')} | "
                f"{fmt(st, 'accuracy')} |",
                "",
                f"Inside the FOV; mean ± std over images. Parameters {record['params'] / 1e6:.3f} M; "
                f"{record['macs'] / 1e9:.3f} G multiply-adds per {self.roi[0]}x{self.roi[1]} window; "
                + cpu_time(record, "584x565 image"),
                "The shared part mixes DRIVE's official training and test images, so these numbers are not "
                "comparable",
                "with published DRIVE test-set results. Benchmark goal F1 >= 0.80: "
                + ("met." if st["dice"]["mean"] >= 0.80 else f"not met ({st['dice']['mean']:.3f})."),
                "",
                "`sample_data/reference/` holds these weights' masks of the synthetic samples; a test checks that the",
                "shipped weights still reproduce them.",
            ]
        return compose(
            self,
            spec,
            record,
            title="Retinal vessel segmentation in colour fundus photographs",
            use="Research use only",
            what_it_does=[
                "Seed B's network in its own domain. Input: a colour fundus photograph of any size (TIFF, PNG, JPEG,",
                "GIF, BMP) at a DRIVE-like scale (about 565x584 pixels for a 45° field; rescale larger photographs to",
                "that field of view first). Output: `<image stem>.png`, a uint8 0/255 vessel mask of the image's",
                "original size, and `<image stem>_overlay.png`. The whole image is segmented at native "
                "scale by MONAI's",
                f"`SlidingWindowInferer` with {self.roi[0]}x{self.roi[1]} windows (the training patch size; overlap",
                "0.25, Gaussian blending). CUDA is used when available. The network sees the green channel (where",
                "vessels contrast most) equalised with CLAHE (scikit-image, contextual regions 1/8 of each image side,",
                "clip limit 0.01); the overlay is drawn on the colour photograph. Pixels outside the field of view",
                "(FOV), the retina's disk, are set to background: inference estimates the FOV as the red channel above",
                "`fov_threshold` (0.1 of full scale), holes filled, largest component kept, which matches DRIVE's FOV",
                "masks with IoU 0.996 on average (worst 0.986 of 40 images). For photographs whose background is not",
                "dark, pass `--fov_threshold 0` to keep the whole image. Evaluation uses the dataset's own FOV masks",
                "and restricts every metric to them.",
                "",
                "```bash",
                "python -m monai.bundle run --config_file configs/inference.json --dataset_dir IN --output_dir OUT",
                flip_tta_command(self),
                "```",
            ],
            training_rows=[
                f"| data | shared DRIVE images, training split: {self.train_images} images (sorted ids except every "
                "4th) |",
                "| validation | 8 images (every 4th sorted id: 04, 09, 14, 19 _test; 24, 29, 34, 39 _training) |",
                f"| budget | {r['max_steps']} optimizer steps x {r['batch_size'] * r['patches_per_image']} patches "
                f"({r['batch_size']} images x {r['patches_per_image']} random {self.roi[0]}x{self.roi[1]} patches "
                "each, centred inside the FOV) |",
                "| input | green channel scaled to [0, 1], CLAHE (clip limit 0.01) |",
                "| augmentation | flips, 90° rotations, intensity scale/shift, contrast |",
                "| loss | BCE + Dice + MS-SSIM (kernel 7, 3 scales, to fit 128^2 patches), deep supervision |",
            ],
            data_help=[
                "`DATA` holds `images/`, `masks/` and `fov/` (paired by file stem; masks and FOV masks binarised",
                "at 128, 0/1 label maps above 0, palette PNGs by their labels: `monai_lightseg.io.to_binary_mask`),",
                "like the shared DRIVE folder, for which `configs/datalist.json` is the committed split. Evaluation",
                "writes `per_image.csv` and `summary.json` with F1 (= Dice), sensitivity (recall), specificity,",
                "precision and accuracy counted inside the FOV.",
            ],
            results=results,
            limits=[
                "- Research on retinal vessel segmentation. Not for diagnosis or any clinical decision.",
                "- 24 training images from one screening programme (the Netherlands, one camera); other cameras,",
                "  fields of view and pathologies are untested.",
            ],
            licence=[
                "Code: Apache-2.0 (`LICENSE`). Weights inherit DRIVE's terms (research use; cite Staal et al., IEEE",
                "TMI 2004): see `docs/data_license.txt`. The sample images are synthetic (`sample_data/README.md`).",
            ],
        )

    def results_table(self, records: dict[str, dict | None]) -> list[str]:
        lines = [
            "| bundle | F1 (Dice) | sensitivity | specificity | params | MACs (128^2) | CPU ms / 584x565 image "
            "| steps | wall time |",
            "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in records.items():
            if r is None:
                lines.append(f"| {name} | not trained yet | | | | | | | |")
                continue
            st = r["summary"]["all"]["vessel"]
            speed = "not measured yet" if r["cpu_ms"] is None else f"{r['cpu_ms']:.0f}"
            lines.append(
                f"| {name} | {fmt(st, 'dice')} | {fmt(st, 'recall')} | {fmt(st, 'specificity')} "
                f"| {r['params'] / 1e6:.3f} M | {r['macs'] / 1e9:.3f} G | {speed} | {r['steps']} "
                f"| {r['wall_time_s'] / 3600:.2f} h |"
            )
        return lines


TASK = VesselTask()
