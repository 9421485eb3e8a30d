"""The four 3D hippocampus bundles: MSD Task04 T1 MRI crops, anterior and posterior hippocampus."""

from __future__ import annotations

from pathlib import Path

from .engine import (
    EXPORT_CHANGES,
    FLIP_TTA_CHANGES,
    OUTPUT_DIR_CHANGES,
    RUNTIME_CHANGES,
    ZOO_CHANGES,
    Task,
    metadata_record,
)
from .polyp import BASELINE, SEED_A, SEED_B, SEED_C
from .readme import compose, cpu_time, flip_tta_command
from .report import fmt

CLASSES = {"0": "background", "1": "anterior", "2": "posterior"}
#: the volume file types of monai_lightseg.data, as a config expression fragment
VOLUME_SUFFIXES = "monai_lightseg.data.VOLUME_SUFFIXES"

LICENSE = """Code and configuration: Apache License 2.0 (see the monai_lightseg repository).

Model weights (models/model.pt) were trained on the Medical Segmentation Decathlon's Task04 Hippocampus data,
released under CC-BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/). As a work derived from those
data, the weights are shared under the same licence: attribution is required (cite Antonelli et al., Nature
Communications 13 (2022) 4128, and Simpson et al., arXiv:1902.09063), and derivatives must be shared alike.

The sample volumes in sample_data/ are MSD files under CC-BY-SA 4.0 (see sample_data/README.md). The weights
are for research only and are not a medical device.
"""


#: the start of a seed bundle's whole-head refusal; the measured masks follow (docs/whole_head.md)
WHOLE_HEAD = "on whole-head T1 volumes (the moved MNI152 template) its masks are "


class HippocampusTask(Task):
    name = "hippocampus"
    prefix = "hippocampus_mri"
    #: 3D arguments, chosen so each seed net costs fewer multiply-adds per 40x56x40 window than the baseline
    #: (0.555 G): the 2D defaults cost 1.2-1.3 G here because their full-resolution decoder stages dominate in 3D.
    #: Measured with monai_lightseg.networks.profile.count_macs (see docs/networks.md).
    networks = {
        "hippocampus_mri_emisnet_segmentation": {
            "target": "monai_lightseg.networks.nets.EMISNet",
            "args": {
                "channels": [8, 12, 24, 48, 96],
                "encoder_depths": [1, 1, 1, 2, 2],
                "dilation": 3,
                "efam_dilations": [1, 2],
            },
            "title": "EMIS-Net 3D",
            "whole_head_refused": WHOLE_HEAD
            + "0.86-1.0 cm3 per side, none of it anterior, 9-18 mm from the hippocampus",
            "seed": SEED_C,
        },
        "hippocampus_mri_feature_compression_net_segmentation": {
            "target": "monai_lightseg.networks.nets.FeatureCompressionNet",
            "args": {"channels": [8, 24, 48, 96], "bir_kernel": 5, "attention_kernel": 5},
            "title": "FeatureCompressionNet 3D",
            "whole_head_refused": WHOLE_HEAD + "0.6-0.7 cm3 per side, 28 mm from the hippocampus",
            "seed": SEED_A,
        },
        "hippocampus_mri_light_u2net_segmentation": {
            "target": "monai_lightseg.networks.nets.LightU2Net",
            "args": {"channels": [8, 24, 64, 128], "mid_channels": [4, 12, 32, 64], "kernel_sizes": [3, 5, 5]},
            "title": "LightU2Net 3D",
            "whole_head_refused": WHOLE_HEAD + "0.6 cm3 per side, 28 mm from the hippocampus",
            "seed": SEED_B,
        },
        "hippocampus_mri_unet_segmentation": {
            "target": "monai.networks.nets.UNet",
            "args": {"channels": [16, 32, 64, 128], "strides": [2, 2, 2], "num_res_units": 2},
            "title": "MONAI UNet 3D (baseline)",
            "seed": BASELINE,
        },
    }
    spatial_dims, in_channels, out_channels = 3, 1, 3
    #: nnU-Net's patch size for this task; divisible by 8 (the 3-level UNet baseline), larger than most volumes.
    roi = [40, 56, 40]
    recipe = {"max_steps": 2000, "batch_size": 4, "epoch_length": 100, "learning_rate": 0.002, "warmup_steps": 100}
    val_roi = roi
    include_background = False
    memory_format = "$torch.channels_last_3d"
    report_options = {"include_background": False, "class_names": ["anterior", "posterior"]}
    inference_datalist = (
        f"$monai_lightseg.data.build_datalist(@dataset_dir, suffixes={VOLUME_SUFFIXES}, output_dir=@output_dir)"
    )
    samples = "hippocampus"
    license = LICENSE
    #: training volumes of the committed split
    train_volumes = 167

    def datalist(self, split: str) -> str:
        return f"$monai_lightseg.data.bundle_datalist(@dataset_dir, @datalist_file, '{split}', {VOLUME_SUFFIXES})"

    def load(self, keys: list[str]) -> list[dict]:
        """Read a volume (NIfTI, NRRD, MHA), channel-first, direction made exactly orthonormal (so that a DICOM and
        a NIfTI copy of one oblique volume, whose headers differ by rounding, get the same grid), RAS, 1 mm grid
        (with StableSpacingd: an extent on a rounding tie gets the same size whatever the header noise), then
        scale each volume on its own: the 0.5th..99.5th intensity percentile to [0, 1], clipped (MSD intensities
        are uncalibrated; scales differ by four orders of magnitude between volumes). Labels are resampled with
        nearest neighbour."""
        modes = {"image": "bilinear", "label": "nearest"}
        return [
            {"_target_": "LoadImaged", "keys": keys, "image_only": False},
            {"_target_": "EnsureChannelFirstd", "keys": keys},
            {"_target_": "monai_lightseg.transforms.OrthonormalizeAffined", "keys": keys},
            {"_target_": "Orientationd", "keys": keys, "axcodes": "RAS"},
            {
                "_target_": "monai_lightseg.transforms.StableSpacingd",
                "keys": keys,
                "pixdim": [1.0, 1.0, 1.0],
                "mode": [modes[k] for k in keys],
            },
            {
                "_target_": "ScaleIntensityRangePercentilesd",
                "keys": "image",
                "lower": 0.5,
                "upper": 99.5,
                "b_min": 0.0,
                "b_max": 1.0,
                "clip": True,
            },
        ]

    def augmentation(self) -> list[dict]:
        return [
            {"_target_": "SpatialPadd", "keys": ["image", "label"], "spatial_size": "@roi_size"},
            {
                "_target_": "RandCropByLabelClassesd",
                "keys": ["image", "label"],
                "label_key": "label",
                "spatial_size": "@roi_size",
                "num_classes": len(CLASSES),
                "ratios": [1, 1, 1],
                "num_samples": 1,
            },
            # left-right only: both hemispheres occur; a front-back flip would swap anterior and posterior anatomy
            {"_target_": "RandFlipd", "keys": ["image", "label"], "prob": 0.5, "spatial_axis": 0},
            {
                "_target_": "RandAffined",
                "keys": ["image", "label"],
                "prob": 0.5,
                "rotate_range": [0.17, 0.17, 0.17],
                "scale_range": [0.1, 0.1, 0.1],
                "mode": ["bilinear", "nearest"],
                "padding_mode": "zeros",
            },
            {"_target_": "RandScaleIntensityd", "keys": "image", "factors": 0.1, "prob": 0.5},
            {"_target_": "RandShiftIntensityd", "keys": "image", "offsets": 0.1, "prob": 0.5},
            {"_target_": "RandGaussianNoised", "keys": "image", "std": 0.02, "prob": 0.2},
            {"_target_": "EnsureTyped", "keys": ["image", "label"]},
        ]

    def metric_postprocessing(self, preprocessing: str = "@preprocessing") -> list[dict]:
        """Softmax, argmax; prediction and label both one-hot over the three classes."""
        return [
            {"_target_": "Activationsd", "keys": "pred", "softmax": True},
            {
                "_target_": "AsDiscreted",
                "keys": ["pred", "label"],
                "argmax": [True, False],
                "to_onehot": [len(CLASSES), len(CLASSES)],
            },
        ]

    def inference_postprocessing(self) -> list[dict]:
        return [
            {"_target_": "Activationsd", "keys": "pred", "softmax": True},
            # back to the file's own grid and orientation before the argmax (probabilities interpolate)
            {
                "_target_": "Invertd",
                "keys": "pred",
                "transform": "@preprocessing",
                "orig_keys": "image",
                "nearest_interp": False,
                "to_tensor": True,
            },
            {"_target_": "AsDiscreted", "keys": "pred", "argmax": True},
            {
                "_target_": "SaveImaged",
                "keys": "pred",
                "output_dir": "@output_dir",
                "output_postfix": "seg",
                "output_ext": ".nii.gz",
                "output_dtype": "$np.uint8",
                "separate_folder": False,
                "resample": False,
                "print_log": False,
            },
        ]

    def loss(self) -> dict:
        return {
            "_target_": "monai_lightseg.losses.BceDiceMsSsimLoss",
            "spatial_dims": 3,
            "softmax": True,
            "include_background": False,
        }

    def extra_configs(self) -> dict[str, dict]:
        """inference_whole_head.json, merged over inference.json: whole-head T1 volumes localised first
        (monai_lightseg.localisation), crops as they are."""
        return {
            "inference_whole_head.json": {
                "run": [
                    "$import monai_lightseg.localisation.bundle_run",
                    "$monai_lightseg.localisation.bundle_run.segment_folder(@bundle_root, @dataset_dir, @output_dir)",
                ]
            }
        }

    def shared_datalist(self, data_root: Path) -> dict:
        from monai_lightseg.data import hippocampus_datalist

        return hippocampus_datalist(data_root / "msd_hippocampus")

    def metadata(self, spec: dict) -> dict:
        shape = {"spatial_shape": self.roi, "dtype": "float32", "value_range": [0, 1], "is_patch_data": True}
        extra = {"monai_lightseg_localisation": "hippocampus_mni152"}
        if spec.get("whole_head_refused"):  # measured implausible on whole heads: refused with the reason
            extra["monai_lightseg_whole_head_refused"] = spec["whole_head_refused"]
        return metadata_record(
            "0.2.4",
            {
                "0.2.4": OUTPUT_DIR_CHANGES + "; weights unchanged",
                "0.2.3": FLIP_TTA_CHANGES,
                "0.2.2": (
                    "whole-head T1 studies: the three seed-network bundles refuse them with the measured reason "
                    "(their masks there are implausible: monai_lightseg_whole_head_refused), the UNet bundle "
                    "segments them as before; MSD-style crops unchanged; weights unchanged"
                ),
                "0.2.1": EXPORT_CHANGES + "; weights unchanged",
                "0.2.0": (
                    "whole-head T1 studies: `monai-lightseg segment` and configs/inference_whole_head.json register "
                    "them to the MNI152 template, crop each hippocampus, segment the crops and paste the masks back "
                    "(monai_lightseg_localisation); MSD-style crops unchanged; " + ZOO_CHANGES + "; weights unchanged"
                ),
                "0.1.2": (
                    "preprocessing: StableSpacingd instead of Spacingd, so that header noise far below a voxel cannot "
                    "change the 1 mm grid's size where a volume's extent falls on a rounding tie; " + RUNTIME_CHANGES
                ),
                "0.1.1": (
                    "preprocessing: OrthonormalizeAffined before Orientationd and Spacingd, so that the DICOM and "
                    "NIfTI copies of an oblique volume get one grid (masks equal voxel for voxel); weights unchanged"
                ),
                "0.1.0": "first release: trained on the shared MSD Task04 training split (by subject)",
            },
            {
                "name": f"Hippocampus segmentation in MRI crops, {spec['title']}",
                "task": "Segmentation of the anterior and posterior hippocampus in 3D T1-weighted MRI crops",
                "description": (
                    f"{spec['title']} ({spec['seed']}) trained from scratch on the shared training split of MSD "
                    "Task04 Hippocampus. Intended input: an MSD-style MRI volume cropped around one hippocampus "
                    "(about 35x50x35 mm at 1 mm); "
                    + (
                        "whole-head T1 volumes are refused with the reason (monai_lightseg_whole_head_refused: this "
                        "network's masks on whole heads are implausible; the UNet bundle segments them). "
                        if spec.get("whole_head_refused")
                        else "whole-head T1 volumes go through `monai-lightseg segment`, which locates and crops each "
                        "hippocampus first (monai_lightseg_localisation). "
                    )
                    + "Output: labels 0 "
                    "background, 1 anterior, 2 posterior on the input's own grid. Weights inherit CC-BY-SA 4.0 from "
                    "the data."
                ),
                "copyright": "Copyright (c) monai_lightseg contributors; weights derived from MSD data (CC-BY-SA 4.0)",
                "data_source": (
                    "Medical Segmentation Decathlon, Task04 Hippocampus (Vanderbilt University Medical Center)"
                ),
                "data_type": "NIfTI (also NRRD, MHA; DICOM MR series through `monai-lightseg segment`)",
                "image_classes": "single-channel MRI, each volume scaled from its 0.5..99.5 percentiles to [0, 1]",
                "label_classes": "0 background, 1 anterior hippocampus, 2 posterior hippocampus",
                "pred_classes": "3 channels of logits (softmax); argmax gives the label",
                "eval_metrics": {"val_mean_dice": None},
                "intended_use": "Research only. Not a medical device; not for clinical decisions.",
                "references": [
                    "Antonelli et al., The Medical Segmentation Decathlon, Nature Communications 13 (2022) 4128",
                    "Simpson et al., A large annotated medical image dataset for the development and evaluation of "
                    "segmentation algorithms, arXiv:1902.09063 (2019)",
                ],
                "network_data_format": {
                    "inputs": {
                        "image": {
                            "type": "image",
                            "format": "magnitude",
                            "modality": "MR",
                            "num_channels": 1,
                            **shape,
                            "channel_def": {"0": "T1"},
                        }
                    },
                    "outputs": {
                        "pred": {
                            "type": "image",
                            "format": "segmentation",
                            "num_channels": 3,
                            **shape,
                            "channel_def": dict(CLASSES),
                        }
                    },
                },
            },
            packages=self.monai_packages,
            extra=extra,
        )

    # --- the report (scripts/report_results.py) ---
    tags = "Segmentation, MR, T1, Hippocampus, 3D"
    monai_packages = ("nibabel",)
    selection = "weights with the best mean validation Dice over both classes"
    reference_pattern = "*_seg.nii.gz"

    @property
    def speed_shape(self) -> tuple[int, ...]:
        """One window: a 1x1x40x56x40 volume."""
        return (1, 1, *self.roi)

    def evaluation_data(self, data: Path) -> Path:
        return data / "msd_hippocampus"

    def readme(self, spec: dict, record: dict | None) -> str:
        roi, r = "x".join(map(str, self.roi)), self.recipe
        results = []
        if record is not None:
            s = record["summary"]["all"]
            results = [
                "| class | volumes | Dice | IoU | precision | recall |",
                "| --- | ---: | --- | --- | --- | --- |",
            ]
            for c in ("anterior", "posterior"):
                st = s[c]
                results.append(
                    f"| {c} | {st['n_images']} | {fmt(st, 'dice')} | {fmt(st, 'iou')} | {fmt(st, 'precision')} | "
                    f"{fmt(st, 'recall')} |"
                )
            results += [
                "",
                f"Mean ± standard deviation over volumes. Parameters {record['params'] / 1e6:.3f} M; "
                f"{record['macs'] / 1e9:.3f} G multiply-adds per {roi} window; " + cpu_time(record, "window"),
                "These volumes picked the best checkpoint, so they are not an unbiased test; the dataset's holdout",
                "part was never used. Reproduce: `python scripts/report_results.py --task hippocampus`.",
            ]
        return compose(
            self,
            spec,
            record,
            title="Hippocampus segmentation in MRI crops",
            use="Research only",
            what_it_does=[
                "Input: a T1-weighted MRI volume **cropped around one hippocampus**, like the MSD Task04 "
                "volumes (about",
                "35x50x35 voxels at 1 mm): the network never saw anything but hippocampus crops. A whole-head T1",
                *(
                    [
                        "is refused with the reason: on whole heads (the moved MNI152 template) this network's masks",
                        f"are implausible ({spec['whole_head_refused'].split('its masks are ')[-1]}); segment whole",
                        "heads with the UNet bundle (the monai_lightseg repository's docs/whole_head.md). Formats:",
                    ]
                    if spec.get("whole_head_refused")
                    else [
                        "goes through `monai-lightseg segment`, which registers it to the MNI152 template, crops each",
                        "hippocampus, segments the crops with this bundle and pastes the masks back (the",
                        "monai_lightseg repository's docs/whole_head.md). Formats:",
                    ]
                ),
                "NIfTI (`.nii`, `.nii.gz`), NRRD, MHA; a DICOM MR series goes through",
                "`monai-lightseg segment` (the package's checked DICOM reader; masks come back as NIfTI "
                "and DICOM SEG).",
                "",
                "Output: `<stem>_seg.nii.gz`, uint8 labels 0 background, 1 anterior hippocampus (head), 2 posterior",
                "(body and tail), on the input's own grid with its exact affine. Each volume is reoriented to RAS and",
                "resampled to 1 mm, its intensities scaled from their 0.5..99.5 percentiles to [0, 1] (MSD intensities",
                "are uncalibrated), segmented by MONAI's `SlidingWindowInferer` with the training ROI",
                f"{roi} (overlap 0.25, Gaussian blending), and the class probabilities are resampled",
                "back with MONAI's `Invertd` before the argmax. CUDA is used when available (with AMP).",
                "",
                "```bash",
                "python -m monai.bundle run --config_file configs/inference.json --dataset_dir IN --output_dir OUT",
                flip_tta_command(self),
                "monai-lightseg segment --bundle . --input DICOM_OR_NIFTI_FOLDER --output OUT   # DICOM series too",
                "python -m monai.bundle run \\",
                "    --config_file \"['configs/inference.json','configs/inference_whole_head.json']\" \\",
                "    --dataset_dir WHOLE_HEADS --output_dir OUT   # whole-head T1 volumes, localised first",
                "```",
            ],
            training_rows=[
                f"| data | shared MSD Task04 training split: {self.train_volumes} volumes of 109 subjects |",
                "| validation | 42 volumes of 27 subjects; split by subject (key `(id + 1) // 2`, every 5th sorted "
                "key), so both hippocampi of a person are on one side |",
                f"| budget | {r['max_steps']} optimizer steps x batch {r['batch_size']} "
                f"({self.epochs(r['max_steps']):.0f} epochs), identical for every hippocampus bundle |",
                f"| crops | {roi} (nnU-Net's patch for this task), centred on background, anterior and posterior "
                "voxels in equal shares (`RandCropByLabelClassesd`), zero-padded when the volume is smaller |",
                "| augmentation | left-right flip only (a front-back flip would swap the classes' anatomy), affine "
                "(±10°, scale ±10 %), intensity scale/shift, Gaussian noise |",
                "| loss | cross-entropy + Dice (foreground classes) + 3D MS-SSIM (kernel 7, 3 scales), equal weights; "
                "deep supervision where the net has it |",
            ],
            data_help=[
                "`DATA` is a folder with `images/` and `masks/` (pairs by file stem) or the MSD folder (`imagesTr/`,",
                "`labelsTr/`), where `configs/datalist.json` (the committed split) applies. Checkpoints "
                "every 100 steps",
                "in `models/checkpoints/`; `models/training_log.csv` holds steps, loss, learning rate, wall time and",
                "validation metrics. Evaluation writes `per_image.csv` (one row per volume and class) and "
                "`summary.json`.",
            ],
            results=results,
            limits=[
                "- Research on hippocampus subfield segmentation in MSD-style crops. Not for diagnosis or "
                "clinical use.",
                "- One site (Vanderbilt), adults, healthy and with psychotic disorders; other scanners, ages and",
                "  pathologies are untested."
                + (
                    " Whole heads are refused: the crop around the hippocampus must be made beforehand."
                    if spec.get("whole_head_refused")
                    else " Whole-head T1s are located by registration to the MNI152 template, validated on the moved"
                    "\n  template only, not on patients' scans (the monai_lightseg repository's docs/whole_head.md)."
                ),
            ],
            licence=[
                "Code: Apache-2.0 (`LICENSE`). Weights derive from MSD data and are shared under CC-BY-SA 4.0: see",
                "`docs/data_license.txt` and `sample_data/README.md`. Cite Antonelli et al. (Nature Communications",
                "2022) and Simpson et al. (2019).",
            ],
        )

    def epochs(self, steps: int) -> float:
        return steps * self.recipe["batch_size"] / self.train_volumes

    def results_table(self, records: dict[str, dict | None]) -> list[str]:
        roi = "x".join(map(str, self.roi))
        lines = [
            f"| bundle | anterior Dice | posterior Dice | mean Dice | params | MACs ({roi}) | CPU ms / window "
            "| steps (epochs) | wall time |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in records.items():
            if r is None:
                lines.append(f"| {name} | not trained yet | | | | | | | |")
                continue
            a, p = r["summary"]["all"]["anterior"], r["summary"]["all"]["posterior"]
            speed = "not measured yet" if r["cpu_ms"] is None else f"{r['cpu_ms']:.0f}"
            lines.append(
                f"| {name} | {fmt(a, 'dice')} | {fmt(p, 'dice')} | {(a['dice']['mean'] + p['dice']['mean']) / 2:.3f} "
                f"| {r['params'] / 1e6:.3f} M | {r['macs'] / 1e9:.3f} G | {speed} "
                f"| {r['steps']} ({self.epochs(r['steps']):.0f}) | {r['wall_time_s'] / 3600:.2f} h |"
            )
        return lines


TASK = HippocampusTask()
