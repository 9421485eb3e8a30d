"""Write the four 3D hippocampus bundles' configs from one definition, so that they differ only in the network.

Run from the repository root after changing the recipe::

    python scripts/make_hippocampus_bundles.py

The engine layout (trainer, validation, resume, best-model keeping, multi-GPU) is the polyp bundles' (taken from
``make_polyp_bundles``); this script replaces what differs for 3D MRI: loading and per-volume normalisation,
orientation and spacing, the class-balanced crop, softmax over three classes, per-class metrics and NIfTI
output. ``tests/bundles/test_hippocampus_bundles.py`` fails if a committed config drifts from what it writes.
"""

from __future__ import annotations

import copy
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import make_polyp_bundles as polyp  # noqa: E402

#: nnU-Net's patch size for this task; divisible by 8 (the 3-level UNet baseline), larger than most volumes.
ROI = [40, 56, 40]
RECIPE = {"max_steps": 2000, "batch_size": 4, "epoch_length": 100, "learning_rate": 0.002, "warmup_steps": 100}
CLASSES = {"0": "background", "1": "anterior", "2": "posterior"}

#: 3D arguments, chosen so each seed net costs fewer multiply-adds per 40x56x40 window than the baseline
#: (0.555 G): the 2D defaults cost 1.2-1.3 G here because their full-resolution decoder stages dominate in 3D.
#: Measured with monai_lightseg.networks.profile.count_macs (see docs/networks.md).
NETWORKS = {
    "hippocampus_mri_emisnet_segmentation": {
        "target": "monai_lightseg.networks.nets.EMISNet",
        "args": {
            "channels": [8, 12, 24, 48, 96],
            "encoder_depths": [1, 1, 1, 2, 2],
            "dilation": 3,
            "efam_dilations": [1, 2],
        },
        "title": "EMIS-Net 3D",
        "seed": "EMIS-Net patent (LGFE, ICM, EFAM blocks)",
    },
    "hippocampus_mri_feature_compression_net_segmentation": {
        "target": "monai_lightseg.networks.nets.FeatureCompressionNet",
        "args": {"channels": [8, 24, 48, 96], "bir_kernel": 5, "attention_kernel": 5},
        "title": "FeatureCompressionNet 3D",
        "seed": "Kaviani & Shahryari, deep segmentation network with feature compression (BIR + DCM)",
    },
    "hippocampus_mri_light_u2net_segmentation": {
        "target": "monai_lightseg.networks.nets.LightU2Net",
        "args": {"channels": [8, 24, 64, 128], "mid_channels": [4, 12, 32, 64], "kernel_sizes": [3, 5, 5]},
        "title": "LightU2Net 3D",
        "seed": "Sun et al. 2024, lightweight U2-Net with multi-scale asymmetric convolution and UNet++ skips",
    },
    "hippocampus_mri_unet_segmentation": {
        "target": "monai.networks.nets.UNet",
        "args": {"channels": [16, 32, 64, 128], "strides": [2, 2, 2], "num_res_units": 2},
        "title": "MONAI UNet 3D (baseline)",
        "seed": "Baseline: MONAI's UNet trained with the identical recipe and step budget",
    },
}

#: the volume file types of monai_lightseg.data, as a config expression fragment
VOLUME_SUFFIXES = "monai_lightseg.data.VOLUME_SUFFIXES"


def load_transforms(keys: list[str]) -> list[dict]:
    """Read a volume (NIfTI, NRRD, MHA), channel-first, direction made exactly orthonormal (so that a DICOM and a
    NIfTI copy of one oblique volume, whose headers differ by rounding, get the same grid), RAS, 1 mm grid (with
    StableSpacingd: an extent on a rounding tie gets the same size whatever the header noise), then
    scale each volume on its own: the 0.5th..99.5th intensity percentile to [0, 1], clipped (MSD intensities are
    uncalibrated; scales differ by four orders of magnitude between volumes). Labels are resampled with nearest
    neighbour."""
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


def argmax_pred(with_label: bool) -> list[dict]:
    """Softmax, argmax; for metrics both prediction and label become one-hot over the three classes."""
    if not with_label:
        return [
            {"_target_": "Activationsd", "keys": "pred", "softmax": True},
            {"_target_": "AsDiscreted", "keys": "pred", "argmax": True},
        ]
    return [
        {"_target_": "Activationsd", "keys": "pred", "softmax": True},
        {
            "_target_": "AsDiscreted",
            "keys": ["pred", "label"],
            "argmax": [True, False],
            "to_onehot": [len(CLASSES), len(CLASSES)],
        },
    ]


def network_def(spec: dict) -> dict:
    return {"_target_": spec["target"], "spatial_dims": 3, "in_channels": 1, "out_channels": 3, **spec["args"]}


def inference_config(spec: dict) -> dict:
    config = polyp.inference_config(spec)
    config.update(
        {
            "dataset_dir": "$@bundle_root + '/sample_data/images'",
            "network_def": network_def(spec),
            "datalist": f"$monai_lightseg.data.build_datalist(@dataset_dir, suffixes={VOLUME_SUFFIXES})",
            "preprocessing": {
                "_target_": "Compose",
                "transforms": load_transforms(["image"]) + [{"_target_": "EnsureTyped", "keys": "image"}],
            },
            "roi_size": ROI,
            "inferer": polyp.sliding_window("@roi_size", 4),
            "postprocessing": {
                "_target_": "Compose",
                "transforms": [
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
                ],
            },
        }
    )
    return config


def evaluate_config() -> dict:
    config = polyp.evaluate_config()
    config["datalist"] = (
        "$monai_lightseg.data.bundle_datalist(@dataset_dir, @datalist_file, 'validation', "
        f"{VOLUME_SUFFIXES})"
    )
    config["preprocessing"]["transforms"] = load_transforms(["image", "label"]) + [
        {"_target_": "EnsureTyped", "keys": ["image", "label"]}
    ]
    config["postprocessing"]["transforms"] = argmax_pred(with_label=True)
    config["handlers"][-1].update({"include_background": False, "class_names": ["anterior", "posterior"]})
    config["evaluator#key_val_metric"]["val_mean_dice"]["include_background"] = False
    return config


def train_config(spec: dict) -> dict:
    config = polyp.train_config(spec)
    aug = [
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
    val_pre = load_transforms(["image", "label"]) + [{"_target_": "EnsureTyped", "keys": ["image", "label"]}]
    datalist = "$monai_lightseg.data.bundle_datalist(@dataset_dir, @datalist_file, '{}', " + VOLUME_SUFFIXES + ")"
    config.update(
        {
            "roi_size": ROI,
            "val_roi_size": ROI,
            "max_steps": RECIPE["max_steps"],
            "epoch_length": RECIPE["epoch_length"],
            "batch_size": RECIPE["batch_size"],
            "learning_rate": RECIPE["learning_rate"],
            "warmup_steps": RECIPE["warmup_steps"],
            "network_def": network_def(spec),
            "memory_format": "$torch.channels_last_3d",
            "loss": {
                "_target_": "monai_lightseg.losses.StackedDeepSupervisionLoss",
                "loss": {
                    "_target_": "monai_lightseg.losses.BceDiceMsSsimLoss",
                    "spatial_dims": 3,
                    "softmax": True,
                    "include_background": False,
                },
            },
        }
    )
    train, validate = config["train"], config["validate"]
    train["datalist"] = datalist.format("training")
    train["preprocessing"]["transforms"] = load_transforms(["image", "label"]) + aug
    validate["datalist"] = datalist.format("validation")
    validate["preprocessing"]["transforms"] = val_pre
    validate["inferer"] = polyp.sliding_window("@val_roi_size", 4)
    validate["postprocessing"]["transforms"] = argmax_pred(with_label=True)
    validate["key_metric"]["val_mean_dice"]["include_background"] = False
    validate["additional_metrics"]["val_mean_iou"]["include_background"] = False
    return config


def metadata(name: str, spec: dict) -> dict:
    meta = polyp.metadata(name, spec)
    meta.update(
        {
            "version": "0.1.2",
            "changelog": {
                "0.1.2": (
                    "preprocessing: StableSpacingd instead of Spacingd, so that header noise far below a voxel cannot "
                    "change the 1 mm grid's size where a volume's extent falls on a rounding tie; "
                    + polyp.RUNTIME_CHANGES
                ),
                "0.1.1": (
                    "preprocessing: OrthonormalizeAffined before Orientationd and Spacingd, so that the DICOM and "
                    "NIfTI copies of an oblique volume get one grid (masks equal voxel for voxel); weights unchanged"
                ),
                "0.1.0": "first release: trained on the shared MSD Task04 training split (by subject)",
            },
            "name": f"Hippocampus segmentation in MRI crops, {spec['title']}",
            "task": "Segmentation of the anterior and posterior hippocampus in 3D T1-weighted MRI crops",
            "description": (
                f"{spec['title']} ({spec['seed']}) trained from scratch on the shared training split of MSD "
                "Task04 Hippocampus. Intended input: an MSD-style MRI volume cropped around one hippocampus "
                "(about 35x50x35 mm at 1 mm); whole-brain volumes are out of scope. Output: labels 0 background, "
                "1 anterior, 2 posterior on the input's own grid. Weights inherit CC-BY-SA 4.0 from the data."
            ),
            "copyright": "Copyright (c) monai_lightseg contributors; weights derived from MSD data (CC-BY-SA 4.0)",
            "data_source": "Medical Segmentation Decathlon, Task04 Hippocampus (Vanderbilt University Medical Center)",
            "data_type": "NIfTI (also NRRD, MHA; DICOM MR series through `monai-lightseg segment`)",
            "image_classes": "single-channel MRI, each volume scaled from its 0.5..99.5 percentiles to [0, 1]",
            "label_classes": "0 background, 1 anterior hippocampus, 2 posterior hippocampus",
            "pred_classes": "3 channels of logits (softmax); argmax gives the label",
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
                        "spatial_shape": ROI,
                        "dtype": "float32",
                        "value_range": [0, 1],
                        "is_patch_data": True,
                        "channel_def": {"0": "T1"},
                    }
                },
                "outputs": {
                    "pred": {
                        "type": "image",
                        "format": "segmentation",
                        "num_channels": 3,
                        "spatial_shape": ROI,
                        "dtype": "float32",
                        "value_range": [0, 1],
                        "is_patch_data": True,
                        "channel_def": dict(CLASSES),
                    }
                },
            },
        }
    )
    return meta


LICENSE = """Code and configuration: Apache License 2.0 (see the monai_lightseg repository).

Model weights (models/model.pt) were trained on the Medical Segmentation Decathlon's Task04 Hippocampus data,
released under CC-BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/). As a work derived from those
data, the weights are shared under the same licence: attribution is required (cite Antonelli et al., Nature
Communications 13 (2022) 4128, and Simpson et al., arXiv:1902.09063), and derivatives must be shared alike.

The sample volumes in sample_data/ are MSD files under CC-BY-SA 4.0 (see sample_data/README.md). The weights
are for research only and are not a medical device.
"""


def generate(bundles_dir: Path, data_root: Path | None) -> list[Path]:
    """Write every generated file; returns their paths. ``data_root``: shared data, to (re)build the split."""
    written = []
    datalist = None
    if data_root is not None:
        from monai_lightseg.data import hippocampus_datalist

        datalist = hippocampus_datalist(data_root / "msd_hippocampus")
    for name, spec in NETWORKS.items():
        root = bundles_dir / name
        files = {
            "configs/metadata.json": polyp.dumps(metadata(name, spec)),
            "configs/inference.json": polyp.dumps(inference_config(spec)),
            "configs/evaluate.json": polyp.dumps(evaluate_config()),
            "configs/train.json": polyp.dumps(train_config(spec)),
            "configs/multi_gpu_train.json": polyp.dumps(copy.deepcopy(polyp.multi_gpu_config())),
            "configs/logging.conf": polyp.LOGGING_CONF,
            "LICENSE": LICENSE,
        }
        if datalist is not None:
            files["configs/datalist.json"] = polyp.dumps(datalist)
        for rel, text in files.items():
            polyp.write(root / rel, text)
            written.append(root / rel)
        samples = REPO / "samples" / "hippocampus"
        for sub in ("images", "masks"):
            (root / "sample_data" / sub).mkdir(parents=True, exist_ok=True)
            for f in sorted((samples / sub).iterdir()):
                shutil.copyfile(f, root / "sample_data" / sub / f.name)
        shutil.copyfile(samples / "README.md", root / "sample_data" / "README.md")
    return written


if __name__ == "__main__":
    shared = REPO.parent / "shared" / "data"
    paths = generate(REPO / "bundles", shared if shared.is_dir() else None)
    print(f"wrote {len(paths)} files under bundles/")
