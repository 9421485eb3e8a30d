"""The four polyp bundles: 2D RGB colonoscopy frames (Kvasir-SEG + CVC-ClinicDB), one binary polyp mask."""

from __future__ import annotations

from pathlib import Path

from .engine import (
    REPO,
    RUNTIME_CHANGES,
    Task,
    binarize_pred,
    copy_images,
    load_2d_image,
    mask_and_overlay_png,
    metadata_record,
)
from .readme import compose, cpu_time
from .report import fmt

SEED_A = "Kaviani & Shahryari, deep segmentation network with feature compression (BIR + DCM)"
SEED_B = "Sun et al. 2024, lightweight U2-Net with multi-scale asymmetric convolution and UNet++ skips"
SEED_C = "EMIS-Net patent (LGFE, ICM, EFAM blocks)"
BASELINE = "Baseline: MONAI's UNet trained with the identical recipe and step budget"

LICENSE = """Code and configuration: Apache License 2.0 (see the monai_lightseg repository).

Model weights (models/model.pt) were trained on Kvasir-SEG and CVC-ClinicDB and inherit their terms:

- Kvasir-SEG: released for research and educational use only; commercial use requires the authors'
  permission (https://datasets.simula.no/kvasir-seg/). Cite Jha et al., MMM 2020.
- CVC-ClinicDB: use restricted to research and education; commercial use is forbidden. Images are
  property of Hospital Clinic, Barcelona; ground truth property of the Computer Vision Center, Barcelona.
  Cite Bernal et al., CMIG 43 (2015) 99-111.

The sample images in sample_data/ carry the same terms (see sample_data/README.md). The weights are for
research and education only and are not a medical device.
"""


class PolypTask(Task):
    name = "polyp"
    prefix = "polyp_endoscopy"
    networks = {
        "polyp_endoscopy_emisnet_segmentation": {
            "target": "monai_lightseg.networks.nets.EMISNet",
            "args": {},
            "title": "EMIS-Net",
            "seed": SEED_C,
        },
        "polyp_endoscopy_feature_compression_net_segmentation": {
            "target": "monai_lightseg.networks.nets.FeatureCompressionNet",
            "args": {},
            "title": "FeatureCompressionNet",
            "seed": SEED_A,
        },
        "polyp_endoscopy_light_u2net_segmentation": {
            "target": "monai_lightseg.networks.nets.LightU2Net",
            "args": {},
            "title": "LightU2Net",
            "seed": SEED_B,
        },
        "polyp_endoscopy_unet_segmentation": {
            "target": "monai.networks.nets.UNet",
            "args": {"channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 2},
            "title": "MONAI UNet (baseline)",
            "seed": BASELINE,
        },
    }
    spatial_dims, in_channels, out_channels = 2, 3, 1
    roi = [256, 256]
    recipe = {"max_steps": 2000, "batch_size": 4, "epoch_length": 100, "learning_rate": 0.002, "warmup_steps": 100}
    val_roi = [384, 384]
    val_sw_batch_size = 1
    samples = "polyp"
    license = LICENSE
    #: training frames of the committed split (800 Kvasir-SEG + 360 CVC-ClinicDB)
    train_frames = 1160

    def load(self, keys: list[str]) -> list[dict]:
        return load_2d_image(keys)

    def augmentation(self) -> list[dict]:
        return [
            {"_target_": "SpatialPadd", "keys": ["image", "label"], "spatial_size": "@roi_size"},
            {
                "_target_": "RandCropByPosNegLabeld",
                "keys": ["image", "label"],
                "label_key": "label",
                "spatial_size": "@roi_size",
                "pos": 3,
                "neg": 1,
                "num_samples": 1,
            },
            {"_target_": "RandFlipd", "keys": ["image", "label"], "prob": 0.5, "spatial_axis": 0},
            {"_target_": "RandFlipd", "keys": ["image", "label"], "prob": 0.5, "spatial_axis": 1},
            {"_target_": "RandRotate90d", "keys": ["image", "label"], "prob": 0.5, "max_k": 3},
            {
                "_target_": "RandAffined",
                "keys": ["image", "label"],
                "prob": 0.5,
                "rotate_range": 0.26,
                "scale_range": [0.2, 0.2],
                "mode": ["bilinear", "nearest"],
                "padding_mode": "zeros",
            },
            {"_target_": "RandScaleIntensityd", "keys": "image", "factors": 0.15, "prob": 0.5},
            {"_target_": "RandShiftIntensityd", "keys": "image", "offsets": 0.1, "prob": 0.5},
            {"_target_": "RandAdjustContrastd", "keys": "image", "gamma": [0.7, 1.5], "prob": 0.3},
            {"_target_": "EnsureTyped", "keys": ["image", "label"]},
        ]

    def inference_postprocessing(self) -> list[dict]:
        return binarize_pred() + mask_and_overlay_png()

    def loss(self) -> dict:
        return {"_target_": "monai_lightseg.losses.BceDiceMsSsimLoss", "spatial_dims": 2}

    def shared_datalist(self, data_root: Path) -> dict:
        from monai_lightseg.data import polyp_datalist

        return polyp_datalist(data_root)

    def write_samples(self, root: Path) -> None:
        """The polyp frames of samples/, with the rows of samples/README.md that describe them."""
        copy_images(REPO / "samples" / self.samples, root / "sample_data")
        readme = (REPO / "samples" / "README.md").read_text().splitlines(keepends=True)
        other = ("mri/", "hippocampus/", "vessels/")  # rows of samples other bundles ship
        (root / "sample_data" / "README.md").write_text(
            "".join(line for line in readme if not any(o in line for o in other))
        )

    def metadata(self, spec: dict) -> dict:
        shape = {"spatial_shape": self.roi, "dtype": "float32", "value_range": [0, 1], "is_patch_data": True}
        return metadata_record(
            "0.1.1",
            {
                "0.1.1": RUNTIME_CHANGES,
                "0.1.0": "first release: trained on the shared Kvasir-SEG + CVC-ClinicDB training split",
            },
            {
                "name": f"Polyp segmentation in colonoscopy frames, {spec['title']}",
                "task": "Binary segmentation of colorectal polyps in 2D colonoscopy RGB frames",
                "description": (
                    f"{spec['title']} ({spec['seed']}) trained from scratch on the shared training split of "
                    "Kvasir-SEG and CVC-ClinicDB. Input: an RGB frame of any size at its native pixel scale; output: "
                    "a polyp mask of the same size. Research and education use only (the training data's terms)."
                ),
                "copyright": (
                    "Copyright (c) monai_lightseg contributors; weights subject to the Kvasir-SEG and "
                    "CVC-ClinicDB terms"
                ),
                "data_source": (
                    "Kvasir-SEG (Jha et al., MMM 2020; EffiSegNet 352x352 copy) and CVC-ClinicDB (Bernal et al., 2015)"
                ),
                "data_type": "RGB colonoscopy frames: PNG, JPEG, TIFF, GIF, BMP",
                "image_classes": "RGB image, intensities 0..255 scaled to [0, 1]",
                "label_classes": "single channel: 1 polyp, 0 background",
                "pred_classes": "single channel logit; sigmoid > 0.5 is polyp",
                "eval_metrics": {"val_mean_dice": None},
                "intended_use": "Research and education only. Not a medical device; not for clinical decisions.",
                "references": [
                    "Jha et al., Kvasir-SEG: A Segmented Polyp Dataset, MMM 2020",
                    "Bernal et al., WM-DOVA maps for accurate polyp highlighting in colonoscopy, CMIG 43 (2015) 99-111",
                ],
                "network_data_format": {
                    "inputs": {
                        "image": {
                            "type": "image",
                            "format": "magnitude",
                            "modality": "endoscopy",
                            "num_channels": 3,
                            **shape,
                            "channel_def": {"0": "R", "1": "G", "2": "B"},
                        }
                    },
                    "outputs": {
                        "pred": {
                            "type": "image",
                            "format": "segmentation",
                            "num_channels": 1,
                            **shape,
                            "channel_def": {"0": "polyp"},
                        }
                    },
                },
            },
        )

    # --- the report (scripts/report_results.py) ---
    selection = "weights with the best validation Dice (whole frames, sliding window 384x384)"
    reference_pattern = "*.png"
    #: one Kvasir-SEG-sized RGB frame
    speed_shape = (1, 3, 352, 352)
    datasets = ("kvasir_seg", "cvc_clinicdb")

    def evaluation_data(self, data: Path) -> Path:
        return data

    def epochs(self, steps: int) -> float:
        return steps * self.recipe["batch_size"] / self.train_frames

    def readme(self, spec: dict, record: dict | None) -> str:
        roi, r = f"{self.roi[0]}x{self.roi[1]}", self.recipe
        results = []
        if record is not None:
            results = [
                "| dataset | images | Dice | IoU | precision | recall |",
                "| --- | ---: | --- | --- | --- | --- |",
            ]
            for ds in (*self.datasets, "all"):
                st = record["summary"][ds]["class_1"]
                results.append(
                    f"| {ds} | {st['n_images']} | {fmt(st, 'dice')} | {fmt(st, 'iou')} | {fmt(st, 'precision')} | "
                    f"{fmt(st, 'recall')} |"
                )
            results += [
                "",
                f"Mean ± standard deviation over images. Parameters {record['params'] / 1e6:.3f} M; "
                f"{record['macs'] / 1e9:.3f} G multiply-adds per {roi} window; " + cpu_time(record, "352x352 frame"),
                "These frames were used to pick the best checkpoint, so they are not an unbiased test; the datasets'",
                "holdout parts were never used. Reproduce: `python scripts/report_results.py --task polyp`.",
            ]
        return compose(
            self,
            spec,
            record,
            title="Polyp segmentation in colonoscopy frames",
            use="Research and education only",
            what_it_does=[
                "Input: an RGB colonoscopy frame of any size (PNG, JPEG, TIFF, GIF, BMP; greyscale, palette and RGBA",
                "images are converted to RGB). Output: `<image stem>.png`, a uint8 0/255 polyp mask of the frame's",
                "original size, and `<image stem>_overlay.png`, the mask blended in red on the frame. The whole frame",
                f"is segmented at its native pixel scale by MONAI's `SlidingWindowInferer` with the training ROI {roi}",
                "(overlap 0.25, Gaussian blending); no mask or box is needed. CUDA is used when available (with AMP).",
                "",
                "```bash",
                "python -m monai.bundle run --config_file configs/inference.json --dataset_dir IN --output_dir OUT",
                "```",
            ],
            training_rows=[
                "| data | shared training split: 800 Kvasir-SEG + 360 CVC-ClinicDB frames (17 video sequences) |",
                "| validation | 100 Kvasir-SEG (EffiSegNet validation split) + 132 CVC-ClinicDB frames (sequences 1, "
                "6, 11, 16, 21, 26) |",
                f"| budget | {r['max_steps']} optimizer steps x batch {r['batch_size']} "
                f"({self.epochs(r['max_steps']):.1f} epochs), identical for every polyp bundle |",
                f"| crops | {roi}, centred on a random polyp pixel 3 times in 4, random otherwise "
                "(`RandCropByPosNegLabeld`), zero-padded when smaller |",
                "| augmentation | flips, 90° rotations, affine (±15°, scale ±20 %), intensity scale/shift, contrast |",
                "| loss | BCE + Dice + MS-SSIM (equal weights), deep supervision where the net has it |",
            ],
            data_help=[
                "`DATA` is either a folder with `images/` and `masks/` (pairs by file stem; masks binarised at > 127)",
                "or the root of the shared data, where `configs/datalist.json` (the committed split, paths relative to",
                "`DATA`) applies. Training saves `models/checkpoints/` every epoch and resumes from the newest when",
                "rerun; `models/training_log.csv` holds steps, loss, learning rate, wall time and validation metrics.",
                "Evaluation writes `per_image.csv` and `summary.json` (overall and per dataset).",
            ],
            results=results,
            limits=[
                "- Research and education on colonoscopy polyp segmentation. Not for diagnosis or any clinical "
                "decision.",
                "- Trained on two public datasets (Norway, Spain), one frame per polyp view; other endoscopes, bowel",
                "  preparation, lighting, or non-polyp lesions are untested. Both datasets contain only frames that",
                "  show a polyp: false positives on polyp-free frames are unmeasured.",
            ],
            licence=[
                "Code: Apache-2.0. Weights inherit the data terms (research and education only); see `LICENSE` and",
                "`sample_data/README.md`. Cite Kvasir-SEG (Jha et al., MMM 2020) and CVC-ClinicDB (Bernal et al.,",
                "CMIG 2015).",
            ],
        )

    def results_table(self, records: dict[str, dict | None]) -> list[str]:
        base = records.get("polyp_endoscopy_unet_segmentation")
        lines = [
            "| bundle | Kvasir-SEG Dice | Kvasir-SEG IoU | CVC-ClinicDB Dice | CVC-ClinicDB IoU | "
            "params | MACs (256^2) "
            "| CPU ms / 352^2 frame | steps (epochs) | wall time |",
            "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in records.items():
            if r is None:
                lines.append(f"| {name} | not trained yet | | | | | | | | |")
                continue
            k, c = r["summary"]["kvasir_seg"]["class_1"], r["summary"]["cvc_clinicdb"]["class_1"]
            if r["cpu_ms"] is None:
                speed = "not measured yet"
            else:
                ratio = base is not None and base is not r and base["cpu_ms"] is not None
                speed = f"{r['cpu_ms']:.0f}" + (f" ({r['cpu_ms'] / base['cpu_ms']:.2f}x UNet)" if ratio else "")
            lines.append(
                f"| {name} | {fmt(k, 'dice')} | {fmt(k, 'iou')} | {fmt(c, 'dice')} | {fmt(c, 'iou')} "
                f"| {r['params'] / 1e6:.3f} M | {r['macs'] / 1e9:.3f} G | {speed} "
                f"| {r['steps']} ({self.epochs(r['steps']):.1f}) | {r['wall_time_s'] / 3600:.2f} h |"
            )
        return lines


TASK = PolypTask()
