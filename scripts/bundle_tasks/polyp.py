"""The four polyp bundles: 2D RGB colonoscopy frames (Kvasir-SEG + CVC-ClinicDB), one binary polyp mask."""

from __future__ import annotations

import math
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
    copy_images,
    load_2d_image,
    mask_and_overlay_png,
    metadata_record,
)
from .readme import compose, cpu_time, flip_tta_command
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


def runs_auto(spec: dict) -> bool:
    """Whether the bundle's inference.json says ``"runtime": "auto"`` (ONNX Runtime on a CPU with the extra)."""
    return spec.get("inference_options", {}).get("runtime") == "auto"


def runtime_note(spec: dict) -> str:
    """What the README's CPU time ran on, for a bundle whose inference runs on ONNX Runtime on the CPU."""
    return ", ONNX Runtime" if runs_auto(spec) else ""


def runtime_paragraph(spec: dict) -> list[str]:
    """README lines on the ``"runtime": "auto"`` setting (none for the bundles that run eager PyTorch); the
    measurements behind it are the spec's ``"runtime_evidence"``."""
    if not runs_auto(spec):
        return []
    evidence = spec["runtime_evidence"]
    return [
        'Runtime (`"runtime": "auto"` in inference.json): on a CPU with ONNX Runtime installed',
        "(`pip install 'monai_lightseg[onnx]'`) the network runs there, exported once per process and window",
        f"shape ({evidence['export_s']} s before the first frame, measured); on a GPU (with AMP, as every bundle), or",
        "without ONNX Runtime, on PyTorch. On the CPU the masks are the same: on the 232 validation frames,",
        f"{evidence['masks']}. `--runtime eager` skips the export (for a single frame); the",
        f"repository's docs/results.md, \"{evidence['section']}\", has the timings.",
        "",
    ]


#: the scale rule: every frame is resized so that its longer side is this many pixels before the network sees it,
#: and the mask is resized back. Polyps then appear at one scale whatever the endoscope's resolution (a full-HD
#: frame shows the same field of view as a 352x352 Kvasir-SEG frame, with 3-5x more pixels per polyp).
FRAME_SIZE = 256
#: training budget, identical for the four networks: epochs over the 1160 training frames, batch 8
EPOCHS = 100
BATCH_SIZE = 8
#: rotation and scale augmentation (``RandAffined`` with a share ``affine_prob`` of the frames; docs/results.md
#: "Rotation and scale augmentation"): any angle, each axis scaled independently by 1 +- AFFINE_SCALE
AFFINE_SCALE = 0.25
AFFINE_TEXT = f"rotation by any angle and scaling of each axis by {1 - AFFINE_SCALE:g}-{1 + AFFINE_SCALE:g}"
#: changelog entries
AFFINE_OPTION = (
    f'training can apply {AFFINE_TEXT} to a share of the frames ("affine_prob" in train.json; 0, off, for these '
    "weights); weights unchanged"
)
AFFINE_WEIGHTS = (
    "new weights (issue 17): the same network, budget and training seed trained with "
    f'{AFFINE_TEXT} on half the frames (MONAI RandAffined, "affine_prob" 0.5 in train.json); inference unchanged'
)
#: post-processing: connected components smaller than this (pixels at the frame size, 0.1 % of 256^2) are dropped;
#: scikit-image 0.26.0 (pinned) drops those of exactly this size too (scikit-image issue #8001, fixed after 0.26.0)
MIN_POLYP_AREA = 64
#: scale test-time augmentation (docs/results.md "Scale test-time augmentation"): the frame as it is and enlarged 1.25x
SCALE_TTA_FACTORS = [1.0, 1.25]
SCALE_TTA_CHANGES = (
    "inference can average the logits over the frame and the frame enlarged 1.25x (\"scale_tta\": true, factors in "
    "\"scale_tta_factors\"; off by default; 3-5 network windows instead of 1, 1.4-1.7x the time per frame; with "
    "flip_tta every scale gets every flip); weights and default masks unchanged"
)


#: the changelog line of a bundle switched to ``"runtime": "auto"`` with its weights unchanged
AUTO_RUNTIME_CHANGES = (
    'runs on ONNX Runtime on a CPU when the onnx extra is installed ("runtime": "auto"; PyTorch on a GPU or without '
    "it): on the validation frames the same masks as eager PyTorch (Dice within {max_diff}), the network {network} "
    "and the whole frame {pipeline} of eager's time per frame, the first frame of a process {export} s later (the "
    "export) and loading about 0.4 s longer; weights unchanged"
)


class PolypTask(Task):
    name = "polyp"
    prefix = "polyp_endoscopy"
    #: the seed nets in their ``fast`` setting (issue 16: the stem downsamples by 4; LightU2Net also narrower and
    #: shallower), the settings chosen by the clock; the baseline UNet as before. LightU2Net from 0.3.0: the
    #: ``fast`` widths x1.5 (issue 17: over two seeds level with the UNet on Kvasir-SEG and 0.017 below it on
    #: CVC-ClinicDB, at about half its CPU time per frame; docs/results.md "LightU2Net with 1.5x the widths").
    #: ``release``: a bundle's own version and changelog entries, newer than the task's.
    networks = {
        "polyp_endoscopy_emisnet_segmentation": {
            "target": "monai_lightseg.networks.nets.EMISNet",
            "args": {"stem_stride": 4},
            "title": "EMIS-Net",
            "seed": SEED_C,
            # measured faster on ONNX Runtime, same masks (benchmarks/results/onnxruntime_fcn_emisnet)
            "inference_options": {"runtime": "auto"},
            "runtime_evidence": {
                "export_s": 5.5,
                "masks": "per-frame Dice under ONNX Runtime within 1.3e-4 of eager PyTorch's (4 frames differ)",
                "section": "The other seed networks on ONNX Runtime",
            },
            "release": (
                "0.3.3",
                {
                    "0.3.3": AUTO_RUNTIME_CHANGES.format(max_diff="1.3e-4", network="0.35x", pipeline="0.75x",
                                                         export="5.5"),  # fmt: skip
                    "0.3.2": (
                        PHOTO_READER_CHANGES + "; " + OUTPUT_DIR_CHANGES + ": its <stem>.png mask replaced a PNG input"
                    ),
                    "0.3.1": SCALE_TTA_CHANGES,
                    "0.3.0": (
                        AFFINE_WEIGHTS + "; validation Dice 0.811 Kvasir-SEG / 0.712 CVC-ClinicDB against 0.791 / "
                        "0.706 before (a second training seed: 0.831 / 0.717)"
                    ),
                    "0.2.4": AFFINE_OPTION,
                },
            ),
        },
        "polyp_endoscopy_feature_compression_net_segmentation": {
            "target": "monai_lightseg.networks.nets.FeatureCompressionNet",
            "args": {"stem_stride": 4},
            "title": "FeatureCompressionNet",
            "seed": SEED_A,
            # measured faster on ONNX Runtime, same masks (benchmarks/results/onnxruntime_fcn_emisnet)
            "inference_options": {"runtime": "auto"},
            "runtime_evidence": {
                "export_s": 3.6,
                "masks": "per-frame Dice under ONNX Runtime within 2e-5 of eager PyTorch's (1 frame differs)",
                "section": "The other seed networks on ONNX Runtime",
            },
            "release": (
                "0.3.3",
                {
                    "0.3.3": AUTO_RUNTIME_CHANGES.format(max_diff="2e-5", network="0.54x", pipeline="0.86x",
                                                         export="3.6"),  # fmt: skip
                    "0.3.2": (
                        PHOTO_READER_CHANGES + "; " + OUTPUT_DIR_CHANGES + ": its <stem>.png mask replaced a PNG input"
                    ),
                    "0.3.1": SCALE_TTA_CHANGES,
                    "0.3.0": (
                        AFFINE_WEIGHTS + "; validation Dice 0.820 Kvasir-SEG / 0.739 CVC-ClinicDB against 0.795 / "
                        "0.708 before (a second training seed: 0.826 / 0.725)"
                    ),
                },
            ),
        },
        "polyp_endoscopy_light_u2net_segmentation": {
            "target": "monai_lightseg.networks.nets.LightU2Net",
            "args": {
                "stem_stride": 4,
                "channels": [32, 96, 256],
                "mid_channels": [16, 48, 128],
                "heights": [4, 3, 3],
            },
            "title": "LightU2Net",
            "seed": SEED_B,
            # measured faster on ONNX Runtime than eager on the CPU (benchmarks/results/lu2_w2_onnxruntime)
            "inference_options": {"runtime": "auto"},
            "runtime_evidence": {
                "export_s": 4.6,
                "masks": "Dice under ONNX Runtime equalled eager PyTorch's on every frame",
                "section": "LightU2Net on ONNX Runtime",
            },
            "tta_note": [
                "With this bundle's 0.5.0 weights (two trainings; the same section): scales +0.004 / +0.003",
                "(Kvasir-SEG / CVC-ClinicDB), flips +0.009 / -0.010 (worse on CVC-ClinicDB, on the flat lesion of its",
                "sequence 1), both +0.015 / -0.005. The scales are worth their time here; the flips are not.",
            ],
            "release": (
                "0.5.0",
                {
                    "0.5.0": (
                        "new weights (issue 17): every width twice the fast setting's (channels 32, 96, 256; "
                        "mid_channels 16, 48, 128; 0.321 M parameters), trained with the same recipe and budget; "
                        "validation Dice 0.860 Kvasir-SEG / 0.755 CVC-ClinicDB against 0.853 / 0.740 before (a second "
                        "training seed: 0.850 / 0.756); runs on ONNX Runtime on a CPU when the onnx extra is installed "
                        '("runtime": "auto"; PyTorch on a GPU or without it; on the CPU the same masks either way), '
                        "where its network takes 0.64x the time of 0.4.x's eager per frame"
                    ),
                    "0.4.2": (
                        PHOTO_READER_CHANGES + "; " + OUTPUT_DIR_CHANGES + ": its <stem>.png mask replaced a PNG input"
                    ),
                    "0.4.1": SCALE_TTA_CHANGES,
                    "0.4.0": (
                        AFFINE_WEIGHTS + "; validation Dice 0.853 Kvasir-SEG / 0.740 CVC-ClinicDB against 0.847 / "
                        "0.742 before (a second training seed: 0.859 / 0.738)"
                    ),
                    "0.3.1": AFFINE_OPTION,
                    "0.3.0": (
                        "new weights (issue 17): LightU2Net's fast setting with every width x1.5 (channels 24, 72, "
                        "192; mid_channels 12, 36, 96), trained with the same recipe and budget; validation Dice "
                        "0.847 Kvasir-SEG / 0.742 CVC-ClinicDB against 0.810 / 0.708 before (a second training seed: "
                        "0.850 / 0.721), level with the UNet bundle on Kvasir-SEG and 0.017 below it on CVC-ClinicDB "
                        "over the two seeds, at about 0.3x more CPU time per frame"
                    )
                },
            ),
        },
        "polyp_endoscopy_unet_segmentation": {
            "target": "monai.networks.nets.UNet",
            "args": {"channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 2},
            "title": "MONAI UNet (baseline)",
            "seed": BASELINE,
            "release": (
                "0.3.2",
                {
                    "0.3.2": (
                        PHOTO_READER_CHANGES + "; " + OUTPUT_DIR_CHANGES + ": its <stem>.png mask replaced a PNG input"
                    ),
                    "0.3.1": SCALE_TTA_CHANGES,
                    "0.3.0": (
                        AFFINE_WEIGHTS + "; validation Dice 0.844 Kvasir-SEG / 0.765 CVC-ClinicDB against 0.841 / "
                        "0.748 before"
                    ),
                },
            ),
        },
    }
    spatial_dims, in_channels, out_channels = 2, 3, 1
    roi = [FRAME_SIZE, FRAME_SIZE]
    #: training frames of the committed split (800 Kvasir-SEG + 360 CVC-ClinicDB)
    train_frames = 1160
    recipe = {
        "max_steps": EPOCHS * (1160 // BATCH_SIZE),
        "batch_size": BATCH_SIZE,
        "epoch_length": 1160 // BATCH_SIZE,
        "learning_rate": 0.002,
        "warmup_steps": 1160 // BATCH_SIZE,
        "val_interval": 5,
        # augmentation is a few flips on cached 256^2 tensors: worker processes would only compete with the
        # training threads for the two cores (benchmarks/results/training_pipeline_cpu*.json)
        "num_workers": 0,
    }
    val_roi = roi
    val_sw_batch_size = 1
    inference_options = {"frame_size": FRAME_SIZE, "min_polyp_area": MIN_POLYP_AREA}
    scale_tta_factors = SCALE_TTA_FACTORS
    #: lesion-free windows (``RandLesionFreeWindowd``): the window's side at the frame size, and the chance that a
    #: frame with such a window is swapped for one (0: off; 0.22 swaps about 11 % of the training samples, half the
    #: frames having a polyp-free 128 px window)
    #: rotation and scale augmentation (``RandAffined``, ``AFFINE_TEXT``): the share of training frames it is applied
    #: to (0: off; 0.5 for all four bundles since their 0.3.0 / 0.4.0 weights)
    train_options = {
        **inference_options,
        "lesion_free_window": [128, 128],
        "lesion_free_prob": 0.0,
        "affine_prob": 0.5,
    }
    samples = "polyp"
    license = LICENSE
    #: scale augmentation: a random square crop of 60-100 % of the frame's side, resized back to the frame size
    zoom = False
    #: seed B's BCE + Dice + MS-SSIM (True) or MONAI's DiceCE (False)
    ms_ssim = False

    def load(self, keys: list[str]) -> list[dict]:
        return load_2d_image(keys)

    def scale_rule(self, keys: list[str]) -> list[dict]:
        """Resize so that the longer side is ``@frame_size`` (aspect kept; anti-aliased bilinear for the image,
        nearest for a mask). Inference inverts it on the prediction with MONAI's ``Invertd``."""
        return [
            {
                "_target_": "Resized",
                "keys": keys,
                "spatial_size": "@frame_size",
                "size_mode": "longest",
                "mode": ["bilinear", "nearest"][: len(keys)],
                "anti_aliasing": [True, False][: len(keys)],
            }
        ]

    def inference_preprocessing(self) -> list[dict]:
        """The frame at its own size is kept as ``photo`` for the overlay."""
        photo = {"_target_": "CopyItemsd", "keys": "image", "names": "photo"}
        typed = {"_target_": "EnsureTyped", "keys": "image"}
        return self.load(["image"]) + [photo] + self.scale_rule(["image"]) + [typed]

    def labelled_preprocessing(self) -> list[dict]:
        """Only the image is resized: metrics compare the mask brought back to the frame's size with the truth."""
        return (
            self.load(["image", "label"])
            + self.scale_rule(["image"])
            + [{"_target_": "EnsureTyped", "keys": ["image", "label"]}]
        )

    def train_preprocessing(self) -> list[dict]:
        """After the scale rule and before padding, ``RandLesionFreeWindowd``: a share ``@lesion_free_prob`` of the
        frames that have one is swapped for a polyp-free ``@lesion_free_window`` of the frame, reflect-padded to
        the ROI (the negative examples these datasets lack). Off (0.0) in the shipped recipe: see docs/results.md,
        "Lesion-free windows in the bundles"."""
        lesion_free = {
            "_target_": "monai_lightseg.transforms.RandLesionFreeWindowd",
            "keys": ["image", "label"],
            "label_key": "label",
            "window": "@lesion_free_window",
            "spatial_size": "@roi_size",
            "prob": "@lesion_free_prob",
        }
        return (
            self.load(["image", "label"]) + self.scale_rule(["image", "label"]) + [lesion_free] + self.augmentation()
        )

    def augmentation(self) -> list[dict]:
        both = ["image", "label"]
        zoom = [
            {
                "_target_": "RandSpatialCropd",
                "keys": both,
                "roi_size": [int(0.6 * FRAME_SIZE)] * 2,
                "max_roi_size": "@roi_size",
                "random_size": True,
            },
            {"_target_": "Resized", "keys": both, "spatial_size": "@roi_size", "mode": ["bilinear", "nearest"]},
        ]
        affine = {
            "_target_": "RandAffined",
            "keys": both,
            "prob": "@affine_prob",
            "rotate_range": math.pi,
            "scale_range": [AFFINE_SCALE, AFFINE_SCALE],
            "mode": ["bilinear", "nearest"],
            "padding_mode": "zeros",
        }
        return (
            [{"_target_": "SpatialPadd", "keys": both, "spatial_size": "@roi_size"}, affine]
            + (zoom if self.zoom else [])
            + [
                {"_target_": "RandFlipd", "keys": both, "prob": 0.5, "spatial_axis": 0},
                {"_target_": "RandFlipd", "keys": both, "prob": 0.5, "spatial_axis": 1},
                {"_target_": "RandRotate90d", "keys": both, "prob": 0.5, "max_k": 3},
                {"_target_": "RandScaleIntensityd", "keys": "image", "factors": 0.15, "prob": 0.5},
                {"_target_": "RandShiftIntensityd", "keys": "image", "offsets": 0.1, "prob": 0.5},
                {"_target_": "EnsureTyped", "keys": both},
            ]
        )

    def metric_postprocessing(self, preprocessing: str = "@preprocessing") -> list[dict]:
        """Sigmoid > 0.5 at the frame size, components below ``@min_polyp_area`` dropped, the mask resized back to
        the frame's own size (MONAI's ``Invertd`` of the scale rule) and binarised again."""
        return binarize_pred() + [
            {"_target_": "RemoveSmallObjectsd", "keys": "pred", "min_size": "@min_polyp_area", "connectivity": 2},
            {
                "_target_": "Invertd",
                "keys": "pred",
                "transform": preprocessing,
                "orig_keys": "image",
                "nearest_interp": False,
                "to_tensor": True,
            },
            {"_target_": "AsDiscreted", "keys": "pred", "threshold": 0.5},
        ]

    def inference_postprocessing(self) -> list[dict]:
        return self.metric_postprocessing() + mask_and_overlay_png(photo_key="photo")

    def loss(self) -> dict:
        if self.ms_ssim:
            return {"_target_": "monai_lightseg.losses.BceDiceMsSsimLoss", "spatial_dims": 2}
        return {"_target_": "DiceCELoss", "sigmoid": True}

    def shared_datalist(self, data_root: Path) -> dict:
        from monai_lightseg.data import polyp_datalist

        return polyp_datalist(data_root)

    def write_samples(self, root: Path) -> None:
        """The polyp frames of samples/, with the rows of samples/README.md that describe them."""
        copy_images(REPO / "samples" / self.samples, root / "sample_data")
        readme = (REPO / "samples" / "README.md").read_text(encoding="utf-8").splitlines(keepends=True)
        other = ("mri/", "hippocampus/", "vessels/")  # rows of samples other bundles ship
        (root / "sample_data" / "README.md").write_text(
            "".join(line for line in readme if not any(o in line for o in other)), encoding="utf-8"
        )

    def metadata(self, spec: dict) -> dict:
        shape = {"spatial_shape": self.roi, "dtype": "float32", "value_range": [0, 1], "is_patch_data": True}
        version, newer = spec.get("release", ("0.2.3", {}))
        return metadata_record(
            version,
            {
                **newer,
                "0.2.3": (
                    "training can swap a share of the frames for polyp-free windows of themselves "
                    '("lesion_free_prob" in train.json; 0, off, by default); weights unchanged'
                ),
                "0.2.2": FLIP_TTA_CHANGES,
                "0.2.1": EXPORT_CHANGES + "; weights unchanged",
                "0.2.0": (
                    "new recipe and weights (issue 17): a scale rule (frames resized to a longer side of 256 px, masks "
                    "resized back), whole frames instead of polyp-centred crops, components under 64 px dropped, "
                    "the seed nets in their fast setting (stem stride 4), Dice + BCE loss, batch 8, a fixed "
                    "number of epochs for all four networks; " + ZOO_CHANGES
                ),
                "0.1.1": RUNTIME_CHANGES,
                "0.1.0": "first release: trained on the shared Kvasir-SEG + CVC-ClinicDB training split",
            },
            {
                "name": f"Polyp segmentation in colonoscopy frames, {spec['title']}",
                "task": "Binary segmentation of colorectal polyps in 2D colonoscopy RGB frames",
                "description": (
                    f"{spec['title']} ({spec['seed']}) trained from scratch on the shared training split of "
                    "Kvasir-SEG and CVC-ClinicDB. Input: a whole RGB colonoscopy frame of any size (resized to a "
                    "longer side of 256 px for the network); output: a polyp mask of the frame's size. Research and "
                    "education use only (the training data's terms)."
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
            packages=self.monai_packages,
        )

    # --- the report (scripts/report_results.py) ---
    tags = "Segmentation, Endoscopy, Colonoscopy, Polyp, 2D, RGB"
    monai_packages = ("pillow", "scikit-image")
    selection = (
        "weights with the best validation Dice, every 5 epochs (the bundle's own inference: scale rule, "
        "post-processing, masks at the frames' own size)"
    )
    reference_pattern = "*.png"
    #: what the network sees of any frame under the scale rule: a 352x352 Kvasir-SEG frame becomes 256x256 (the
    #: resize itself, about a millisecond, is preprocessing and not timed)
    speed_shape = (1, 3, FRAME_SIZE, FRAME_SIZE)
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
                f"{record['macs'] / 1e9:.3f} G multiply-adds per {roi} window; "
                + cpu_time(record, "frame (one 256x256 window after the scale rule)" + runtime_note(spec)),
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
                "Input: an RGB colonoscopy frame of any size (PNG, JPEG, TIFF, GIF, BMP; greyscale, palette, RGBA",
                "and CMYK images are converted to RGB, 16-bit and float images scaled by their maximum to 8 bit:",
                "`monai_lightseg.io.to_rgb8`). Output: `<image stem>.png`, a uint8 0/255 polyp mask of the frame's",
                "original size, and `<image stem>_overlay.png`, the mask blended in red on the frame. CUDA is used",
                "when available (with AMP).",
                "",
                *runtime_paragraph(spec),
                f"Scale rule: the frame is resized so that its longer side is `frame_size` ({FRAME_SIZE} px, the "
                "training",
                "scale; aspect kept, anti-aliased) and segmented whole by MONAI's `SlidingWindowInferer` (one window",
                f"of {roi}); the probabilities are thresholded at 0.5, components smaller than `min_polyp_area`",
                f"({MIN_POLYP_AREA} px at the frame size, 0.1 % of it; with scikit-image 0.26.0, as pinned, also those",
                f"of exactly {MIN_POLYP_AREA} px: its issue #8001) are dropped, and MONAI's `Invertd` brings the",
                "mask back to the frame's own size. An endoscope frame shows one field of view whatever its",
                "resolution, so a 1920x1080 frame and a 384x288 one are seen at the same scale; a test checks that",
                "3x and 5x upsampled frames give Dice within 0.02 of the native size. Pass whole frames: a crop of",
                "a frame would be enlarged to `frame_size`, and its polyps with it.",
                "",
                "```bash",
                "python -m monai.bundle run --config_file configs/inference.json --dataset_dir IN --output_dir OUT",
                flip_tta_command(self),
                "python -m monai.bundle run --config_file configs/inference.json --dataset_dir IN --output_dir OUT "
                "--scale_tta True   # mean over the frame as it is and enlarged 1.25x: 1.4-1.7x the time",
                "```",
                "",
                "Both test-time augmentations are off by default. Over two trainings of each polyp network (the",
                "UNet, FeatureCompressionNet and EMISNet 0.3.x, LightU2Net 0.4.x) the scale one lifted validation",
                "Dice on both datasets (+0.002 to +0.009 Kvasir-SEG, +0.006 to +0.012 CVC-ClinicDB, for 1.4-1.7x the",
                "time per frame; the flips +0.006 to +0.015 and -0.003 to +0.003 for 1.6-1.8x; both, every scale with",
                "every flip, +0.011 to +0.016 and +0.004 to +0.015 for 2.6-3.9x): the monai_lightseg repository's",
                "docs/results.md, \"Scale test-time augmentation\".",
                *spec.get("tta_note", []),
            ],
            training_rows=[
                "| data | shared training split: 800 Kvasir-SEG + 360 CVC-ClinicDB frames (17 video sequences) |",
                "| validation | 100 Kvasir-SEG (EffiSegNet validation split) + 132 CVC-ClinicDB frames (sequences 1, "
                "6, 11, 16, 21, 26) |",
                f"| budget | {self.epochs(r['max_steps']):.0f} epochs = {r['max_steps']} optimizer steps x batch "
                f"{r['batch_size']}, identical for every polyp bundle"
                + (
                    f"; best validation Dice gained {record['plateau_gain']:.3f} over the last quarter of the epochs"
                    if record is not None and record.get("plateau_gain") is not None
                    else ""
                )
                + " |",
                f"| input | whole frames resized by the scale rule (longer side {FRAME_SIZE}), zero-padded to {roi}; "
                "decoded, normalised and resized once, cached in memory |",
                "| augmentation | "
                + ("random square crop of 60-100 % of the side resized back (scale), " if self.zoom else "")
                + f"{AFFINE_TEXT} (`RandAffined`, `affine_prob` {self.train_options['affine_prob']:g}), "
                + "flips, 90° rotations, intensity scale/shift |",
                "| polyp-free windows | off (`lesion_free_prob` 0.0); `--lesion_free_prob 0.22` swaps that share of "
                "the frames that have one for a polyp-free 128x128 window of the frame, reflect-padded to "
                f"{roi}: fewer marks on polyp-free tissue for a little Dice (measured in the repository's "
                "docs/results.md) |",
                "| loss | "
                + ("BCE + Dice + MS-SSIM (seed B's)" if self.ms_ssim else "Dice + BCE (MONAI's `DiceCELoss`)")
                + ", deep supervision where the net has it |",
            ],
            data_help=[
                "`DATA` is either a folder with `images/` and `masks/` (pairs by file stem; 0/255 masks binarised",
                "at 128, 0/1 label maps above 0, palette PNGs such as Pascal VOC's by their labels:",
                "`monai_lightseg.io.to_binary_mask`) or the root of the shared data, where",
                "`configs/datalist.json` (the committed split, paths relative to `DATA`) applies.",
                "Training saves `models/checkpoints/` every epoch and resumes from the newest when rerun;",
                "`models/training_log.csv` holds steps, loss, learning rate, wall time and validation metrics.",
                "Evaluation writes `per_image.csv` and `summary.json` (overall and per dataset).",
            ],
            results=results,
            limits=[
                "- Research and education on colonoscopy polyp segmentation. Not for diagnosis or any clinical "
                "decision.",
                "- Trained on two public datasets (Norway, Spain), one frame per polyp view; other endoscopes, bowel",
                "  preparation, lighting, or non-polyp lesions are untested. Both datasets contain only frames that",
                "  show a polyp, so false positives on real polyp-free frames are unmeasured; on views made of",
                "  polyp-free tiles of the validation frames, every shipped polyp bundle marks something in all of",
                "  them, 11-17 % of a view on average (the repository's docs/results.md, \"Rotation and scale",
                "  augmentation\").",
                "- Masks can miss a flat base or a stalk (CVC-ClinicDB validation sequences 1 and 6: recall",
                "  0.25-0.32 and 0.65-0.69) and can run past a polyp along a neighbouring fold and onto stool",
                "  (sequence 26: precision 0.66-0.67 for the UNet and FeatureCompressionNet, 0.44-0.47 for EMISNet",
                "  and LightU2Net, 0.57 and 0.46 for a second training of each); the repository's docs/results.md,",
                "  \"CVC-ClinicDB per polyp\", shows both.",
            ],
            licence=[
                "Code: Apache-2.0 (`LICENSE`). Weights inherit the data terms (research and education only): see",
                "`docs/data_license.txt` and `sample_data/README.md`. Cite Kvasir-SEG (Jha et al., MMM 2020) and",
                "CVC-ClinicDB (Bernal et al., CMIG 2015).",
            ],
        )

    def results_table(self, records: dict[str, dict | None]) -> list[str]:
        """One row per bundle and dataset: Dice, IoU, precision, recall (mean ± std over frames), then the
        bundle's size, CPU time as a ratio to the UNet's (one run), epochs and wall time."""
        base = records.get("polyp_endoscopy_unet_segmentation")
        lines = [
            "| bundle | dataset | Dice | IoU | precision | recall | params | MACs (256^2) | CPU ms / frame "
            "| epochs (steps) | wall time |",
            "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in records.items():
            short = name[len(self.prefix) + 1 : -len("_segmentation")]
            if r is None:
                lines.append(f"| {short} | not trained yet | | | | | | | | | |")
                continue
            if r["cpu_ms"] is None:
                speed = "not measured yet"
            else:
                ratio = base is not None and base is not r and base["cpu_ms"] is not None
                speed = f"{r['cpu_ms']:.0f}" + (f" ({r['cpu_ms'] / base['cpu_ms']:.2f}x UNet)" if ratio else "")
            for i, ds in enumerate(self.datasets):
                st = r["summary"][ds]["class_1"]
                size = (
                    f"| {r['params'] / 1e6:.3f} M | {r['macs'] / 1e9:.3f} G | {speed} "
                    f"| {self.epochs(r['steps']):.0f} ({r['steps']}) | {r['wall_time_s'] / 3600:.2f} h |"
                    if i == 0
                    else "| | | | | |"
                )
                lines.append(
                    f"| {short if i == 0 else ''} | {ds} | {fmt(st, 'dice')} | {fmt(st, 'iou')} "
                    f"| {fmt(st, 'precision')} | {fmt(st, 'recall')} {size}"
                )
        return lines

    def plot(self, records: dict[str, dict | None], path: Path) -> None:
        """Mean validation Dice per dataset against CPU ms per frame, one point per trained bundle."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7.5, 4), dpi=100)
        colours = iter(plt.get_cmap("tab10").colors)
        for name, r in records.items():
            if r is None or r["cpu_ms"] is None:
                continue
            short = name[len(self.prefix) + 1 : -len("_segmentation")]
            colour = next(colours)
            dice = [r["summary"][ds]["class_1"]["dice"]["mean"] for ds in self.datasets]
            ax.plot([r["cpu_ms"]] * 2, dice, color=colour, linewidth=0.8, label=short)
            for value, marker in zip(dice, ("o", "s")):
                ax.scatter(r["cpu_ms"], value, marker=marker, color=colour, zorder=3)
        ax.scatter([], [], marker="o", color="k", label="Kvasir-SEG")
        ax.scatter([], [], marker="s", color="k", label="CVC-ClinicDB")
        ax.set_xlabel("CPU ms per frame (one 256x256 window, 2 threads)")
        ax.set_ylabel("validation Dice (mean over frames)")
        ax.set_xlim(left=0)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        ax.set_title("Polyp bundles: accuracy against CPU latency", fontsize=9)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


TASK = PolypTask()
