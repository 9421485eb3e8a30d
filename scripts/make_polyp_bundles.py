"""Write the four polyp bundles' configs from one definition, so that they differ only in the network.

Run from the repository root after changing the recipe::

    python scripts/make_polyp_bundles.py

Each bundle stays a standalone MONAI bundle (its own configs, samples, licence); this script is the single
source for what they share, and ``tests/bundles/test_polyp_bundles.py`` fails if a committed config drifts
from what it writes. Trained weights, logs and hand-written results in ``docs/README.md`` are not touched.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monai_lightseg import __version__  # noqa: E402

SCHEMA_URL = "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/meta_schema_20240725.json"
ROI = [256, 256]
RECIPE = {"max_steps": 2000, "batch_size": 4, "epoch_length": 100, "learning_rate": 0.002, "warmup_steps": 100}

NETWORKS = {
    "polyp_endoscopy_emisnet_segmentation": {
        "target": "monai_lightseg.networks.nets.EMISNet",
        "args": {},
        "title": "EMIS-Net",
        "seed": "EMIS-Net patent (LGFE, ICM, EFAM blocks)",
    },
    "polyp_endoscopy_feature_compression_net_segmentation": {
        "target": "monai_lightseg.networks.nets.FeatureCompressionNet",
        "args": {},
        "title": "FeatureCompressionNet",
        "seed": "Kaviani & Shahryari, deep segmentation network with feature compression (BIR + DCM)",
    },
    "polyp_endoscopy_light_u2net_segmentation": {
        "target": "monai_lightseg.networks.nets.LightU2Net",
        "args": {},
        "title": "LightU2Net",
        "seed": "Sun et al. 2024, lightweight U2-Net with multi-scale asymmetric convolution and UNet++ skips",
    },
    "polyp_endoscopy_unet_segmentation": {
        "target": "monai.networks.nets.UNet",
        "args": {"channels": [16, 32, 64, 128, 256], "strides": [2, 2, 2, 2], "num_res_units": 2},
        "title": "MONAI UNet (baseline)",
        "seed": "Baseline: MONAI's UNet trained with the identical recipe and step budget",
    },
}

IMPORTS = [
    "$import os",
    "$import numpy as np",
    "$import torch",
    "$import monai_lightseg",
    "$import monai_lightseg.data",
]


def load_transforms(keys: list[str]) -> list[dict]:
    """Load 2D images of any PIL format, channel-first: images converted to RGB (palette GIFs, greyscale and RGBA
    included), masks to one 8-bit greyscale channel (RGB masks too) and binarised at 128 (``mask > 127``)."""
    t = [
        {
            "_target_": "LoadImaged",
            "keys": "image",
            "image_only": False,
            "reader": {"_target_": "PILReader", "converter": "$lambda im: im.convert('RGB')"},
        },
        {"_target_": "EnsureChannelFirstd", "keys": "image"},
    ]
    if "label" in keys:
        t += [
            {
                "_target_": "LoadImaged",
                "keys": "label",
                "image_only": False,
                "reader": {"_target_": "PILReader", "converter": "$lambda im: im.convert('L')"},
            },
            {"_target_": "EnsureChannelFirstd", "keys": "label"},
            {"_target_": "AsDiscreted", "keys": "label", "threshold": 128},
        ]
    t.append(
        {
            "_target_": "ScaleIntensityRanged",
            "keys": "image",
            "a_min": 0,
            "a_max": 255,
            "b_min": 0.0,
            "b_max": 1.0,
            "clip": True,
        }
    )
    return t


def binarize_pred() -> list[dict]:
    """Sigmoid, then threshold 0.5: the same decision in inference, evaluation and validation."""
    return [
        {"_target_": "Activationsd", "keys": "pred", "sigmoid": True},
        {"_target_": "AsDiscreted", "keys": "pred", "threshold": 0.5},
    ]


def sliding_window(roi_ref: str, sw_batch_size: int) -> dict:
    """MONAI's sliding window over the whole frame at native scale (overlap 0.25, Gaussian blending)."""
    return {
        "_target_": "SlidingWindowInferer",
        "roi_size": roi_ref,
        "sw_batch_size": sw_batch_size,
        "overlap": 0.25,
        "mode": "gaussian",
    }


#: the changelog line of every bundle's first release after these changes; weights and masks unchanged
RUNTIME_CHANGES = (
    "inference re-parameterises the loaded network (batch norms folded, linear branches merged; same masks, less "
    "time; \"reparameterize\": false turns it off) and can run it on ONNX Runtime (\"runtime\": \"onnxruntime\"); "
    "multi-GPU training tears its process group down before exit; weights unchanged"
)


def inference_handlers() -> list[dict]:
    """Load the shipped weights, re-parameterise the loaded network (``reparameterize``), log the run."""
    return [
        {
            "_target_": "CheckpointLoader",
            "load_path": "$@bundle_root + '/models/model.pt'",
            "load_dict": {"model": "@network"},
            "map_location": "@device",
        },
        {
            "_target_": "monai_lightseg.handlers.ReparameterizeNetwork",
            "enabled": "@reparameterize",
            "runtime": "@runtime",
        },
        {"_target_": "StatsHandler", "iteration_log": False},
    ]


def network_def(spec: dict) -> dict:
    return {"_target_": spec["target"], "spatial_dims": 2, "in_channels": 3, "out_channels": 1, **spec["args"]}


def inference_config(spec: dict) -> dict:
    return {
        "imports": IMPORTS,
        "bundle_root": ".",
        "dataset_dir": "$@bundle_root + '/sample_data/images'",
        "output_dir": "$@bundle_root + '/eval'",
        "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
        "amp": "$torch.cuda.is_available()",
        "network_def": network_def(spec),
        "network": "$@network_def.to(@device)",
        "reparameterize": True,
        "runtime": "eager",
        "datalist": "$monai_lightseg.data.build_datalist(@dataset_dir)",
        "preprocessing": {
            "_target_": "Compose",
            "transforms": load_transforms(["image"]) + [{"_target_": "EnsureTyped", "keys": "image"}],
        },
        "dataset": {"_target_": "Dataset", "data": "@datalist", "transform": "@preprocessing"},
        "dataloader": {
            "_target_": "DataLoader",
            "dataset": "@dataset",
            "batch_size": 1,
            "shuffle": False,
            "num_workers": 0,
        },
        "roi_size": ROI,
        "inferer": sliding_window("@roi_size", 4),
        "postprocessing": {
            "_target_": "Compose",
            "transforms": binarize_pred()
            + [
                {
                    "_target_": "monai_lightseg.transforms.BlendMaskOverlayd",
                    "image_key": "image",
                    "mask_key": "pred",
                    "overlay_key": "overlay",
                },
                {
                    "_target_": "SaveImaged",
                    "keys": "pred",
                    "output_dir": "@output_dir",
                    "output_postfix": "",
                    "output_ext": ".png",
                    "output_dtype": "$np.uint8",
                    "scale": 255,
                    "separate_folder": False,
                    "resample": False,
                    "writer": "PILWriter",
                    "print_log": False,
                },
                {
                    "_target_": "SaveImaged",
                    "keys": "overlay",
                    "output_dir": "@output_dir",
                    "output_postfix": "overlay",
                    "output_ext": ".png",
                    "output_dtype": "$np.uint8",
                    "separate_folder": False,
                    "resample": False,
                    "writer": "PILWriter",
                    "print_log": False,
                },
            ],
        },
        "handlers": inference_handlers(),
        "evaluator": {
            "_target_": "SupervisedEvaluator",
            "device": "@device",
            "val_data_loader": "@dataloader",
            "network": "@network",
            "inferer": "@inferer",
            "postprocessing": "@postprocessing",
            "val_handlers": "@handlers",
            "amp": "@amp",
        },
        "initialize": ["$monai.utils.set_determinism(seed=0)"],
        "run": ["$@evaluator.run()"],
    }


def evaluate_config() -> dict:
    """Merged over inference.json: labelled data, no files but the metrics report."""
    return {
        "dataset_dir": "$@bundle_root + '/sample_data'",
        "datalist_file": "$@bundle_root + '/configs/datalist.json'",
        "datalist": "$monai_lightseg.data.bundle_datalist(@dataset_dir, @datalist_file, 'validation')",
        "preprocessing": {
            "_target_": "Compose",
            "transforms": load_transforms(["image", "label"])
            + [{"_target_": "EnsureTyped", "keys": ["image", "label"]}],
        },
        "postprocessing": {"_target_": "Compose", "transforms": binarize_pred()},
        "handlers": inference_handlers()
        + [{"_target_": "monai_lightseg.handlers.SegmentationReport", "output_dir": "@output_dir"}],
        "evaluator#key_val_metric": {
            "val_mean_dice": {
                "_target_": "MeanDice",
                "include_background": True,
                "output_transform": "$monai.handlers.from_engine(['pred', 'label'])",
            }
        },
    }


def train_config(spec: dict) -> dict:
    aug = [
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
    val_pre = load_transforms(["image", "label"]) + [{"_target_": "EnsureTyped", "keys": ["image", "label"]}]
    return {
        "imports": IMPORTS,
        "bundle_root": ".",
        "ckpt_dir": "$@bundle_root + '/models/checkpoints'",
        "output_dir": "$@bundle_root + '/eval'",
        "dataset_dir": "$@bundle_root + '/sample_data'",
        "datalist_file": "$@bundle_root + '/configs/datalist.json'",
        "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
        "amp": "$torch.cuda.is_available()",
        "roi_size": ROI,
        "max_steps": RECIPE["max_steps"],
        "epoch_length": RECIPE["epoch_length"],
        "batch_size": RECIPE["batch_size"],
        "learning_rate": RECIPE["learning_rate"],
        "warmup_steps": RECIPE["warmup_steps"],
        "val_interval": 5,
        "val_roi_size": [384, 384],
        "num_workers": 2,
        "cache_rate": 1.0,
        "network_def": network_def(spec),
        # channels-last layout: the same arithmetic, but oneDNN's depthwise-convolution backward is much faster in it
        # on CPU (a seed net's training step: 1.2-1.8x); the 3D bundles use torch.channels_last_3d
        "memory_format": "$torch.channels_last",
        "network": "$@network_def.to(@device, memory_format=@memory_format)",
        "loss": {
            "_target_": "monai_lightseg.losses.StackedDeepSupervisionLoss",
            "loss": {"_target_": "monai_lightseg.losses.BceDiceMsSsimLoss", "spatial_dims": 2},
        },
        "optimizer": {
            "_target_": "torch.optim.AdamW",
            "params": "$@network.parameters()",
            "lr": "@learning_rate",
            "weight_decay": 0.0001,
        },
        "lr_scheduler": {
            "_target_": "monai.optimizers.WarmupCosineSchedule",
            "optimizer": "@optimizer",
            "warmup_steps": "@warmup_steps",
            "t_total": "@max_steps",
        },
        "train": {
            "datalist": "$monai_lightseg.data.bundle_datalist(@dataset_dir, @datalist_file, 'training')",
            "preprocessing": {"_target_": "Compose", "transforms": load_transforms(["image", "label"]) + aug},
            "dataset": {
                "_target_": "CacheDataset",
                "data": "@train#datalist",
                "transform": "@train#preprocessing",
                "cache_rate": "@cache_rate",
                "num_workers": "@num_workers",
                "progress": False,
            },
            "dataloader": {
                "_target_": "DataLoader",
                "dataset": "@train#dataset",
                "batch_size": "@batch_size",
                "shuffle": True,
                "num_workers": "@num_workers",
                "drop_last": True,
            },
            "inferer": {"_target_": "SimpleInferer"},
            "handlers": [
                {
                    "_target_": "LrScheduleHandler",
                    "lr_scheduler": "@lr_scheduler",
                    "epoch_level": False,
                    "print_lr": False,
                },
                {
                    "_target_": "ValidationHandler",
                    "validator": "@validate#evaluator",
                    "epoch_level": True,
                    "interval": "@val_interval",
                },
                {
                    "_target_": "StatsHandler",
                    "tag_name": "train_loss",
                    "iteration_log": False,
                    "output_transform": "$monai.handlers.from_engine(['loss'], first=True)",
                },
            ],
            # handlers that need the trainer itself; attached in "run", in this order (resume first)
            "stateful_handlers": [
                {
                    "_target_": "monai_lightseg.handlers.ResumeFromCheckpoint",
                    "checkpoint_dir": "@ckpt_dir",
                    "load_dict": {
                        "network": "@network",
                        "optimizer": "@optimizer",
                        "lr_scheduler": "@lr_scheduler",
                        "trainer": "@train#trainer",
                    },
                    "map_location": "@device",
                },
                {
                    "_target_": "CheckpointSaver",
                    "save_dir": "@ckpt_dir",
                    "save_interval": 1,
                    "n_saved": 1,
                    "save_dict": {
                        "network": "@network",
                        "optimizer": "@optimizer",
                        "lr_scheduler": "@lr_scheduler",
                        "trainer": "@train#trainer",
                    },
                },
                {
                    "_target_": "monai_lightseg.handlers.TrainingLogCSV",
                    "path": "$@bundle_root + '/models/training_log.csv'",
                    "validator": "@validate#evaluator",
                    "optimizer": "@optimizer",
                },
            ],
            "trainer": {
                "_target_": "SupervisedTrainer",
                "max_epochs": "$@max_steps // @epoch_length",
                "epoch_length": "@epoch_length",
                "device": "@device",
                "train_data_loader": "@train#dataloader",
                "network": "@network",
                "loss_function": "@loss",
                "optimizer": "@optimizer",
                "inferer": "@train#inferer",
                "train_handlers": "@train#handlers",
                "amp": "@amp",
            },
        },
        "validate": {
            "datalist": "$monai_lightseg.data.bundle_datalist(@dataset_dir, @datalist_file, 'validation')",
            "preprocessing": {"_target_": "Compose", "transforms": val_pre},
            "dataset": {
                "_target_": "CacheDataset",
                "data": "@validate#datalist",
                "transform": "@validate#preprocessing",
                "cache_rate": "@cache_rate",
                "num_workers": "@num_workers",
                "progress": False,
            },
            "dataloader": {
                "_target_": "DataLoader",
                "dataset": "@validate#dataset",
                "batch_size": 1,
                "shuffle": False,
                "num_workers": 0,
            },
            "inferer": sliding_window("@val_roi_size", 1),
            "postprocessing": {"_target_": "Compose", "transforms": binarize_pred()},
            "handlers": [
                {"_target_": "StatsHandler", "iteration_log": False},
                {
                    "_target_": "monai_lightseg.handlers.KeepBestNetwork",
                    "network": "@network",
                    "model_path": "$@bundle_root + '/models/model.pt'",
                    "metric_name": "val_mean_dice",
                },
            ],
            "key_metric": {
                "val_mean_dice": {
                    "_target_": "MeanDice",
                    "include_background": True,
                    "output_transform": "$monai.handlers.from_engine(['pred', 'label'])",
                }
            },
            "additional_metrics": {
                "val_mean_iou": {
                    "_target_": "MeanIoUHandler",
                    "include_background": True,
                    "output_transform": "$monai.handlers.from_engine(['pred', 'label'])",
                }
            },
            "evaluator": {
                "_target_": "SupervisedEvaluator",
                "device": "@device",
                "val_data_loader": "@validate#dataloader",
                "network": "@network",
                "inferer": "@validate#inferer",
                "postprocessing": "@validate#postprocessing",
                "key_val_metric": "@validate#key_metric",
                "additional_metrics": "@validate#additional_metrics",
                "val_handlers": "@validate#handlers",
                "amp": "@amp",
            },
        },
        "initialize": ["$monai.utils.set_determinism(seed=0)"],
        "run": ["$[h.attach(@train#trainer) for h in @train#stateful_handlers]", "$@train#trainer.run()"],
    }


def multi_gpu_config() -> dict:
    """Merged over train.json; run with torchrun (see the bundle README)."""
    return {
        "device": "$torch.device('cuda:' + os.environ['LOCAL_RANK'] if torch.cuda.is_available() else 'cpu')",
        "network": {
            "_target_": "torch.nn.parallel.DistributedDataParallel",
            "module": "$@network_def.to(@device, memory_format=@memory_format)",
            "device_ids": "$[@device] if torch.cuda.is_available() else None",
        },
        "train#sampler": {
            "_target_": "DistributedSampler",
            "dataset": "@train#dataset",
            "even_divisible": True,
            "shuffle": True,
        },
        "train#dataloader#sampler": "@train#sampler",
        "train#dataloader#shuffle": False,
        "train#trainer#train_handlers": "$@train#handlers if dist.get_rank() == 0 else @train#handlers[:2]",
        "validate#sampler": {
            "_target_": "DistributedSampler",
            "dataset": "@validate#dataset",
            "even_divisible": False,
            "shuffle": False,
        },
        "validate#dataloader#sampler": "@validate#sampler",
        "validate#evaluator#val_handlers": "$None if dist.get_rank() > 0 else @validate#handlers",
        "initialize": [
            "$import torch.distributed as dist",
            "$import monai_lightseg.distributed",
            "$dist.is_initialized() or dist.init_process_group("
            "backend='nccl' if torch.cuda.is_available() else 'gloo')",
            "$torch.cuda.set_device(@device) if torch.cuda.is_available() else None",
            "$monai.utils.set_determinism(seed=123)",
        ],
        # every rank resumes; only rank 0 saves checkpoints and writes the log
        "run": [
            "$[h.attach(@train#trainer) for h in @train#stateful_handlers[: None if dist.get_rank() == 0 else 1]]",
            "$@train#trainer.run()",
        ],
        # barrier, then free the gloo/NCCL group before interpreter exit (DDP would keep its threads alive until then)
        "finalize": ["$monai_lightseg.distributed.shutdown(@network)"],
    }


def metadata(name: str, spec: dict) -> dict:
    import monai
    import numpy
    import torch

    return {
        "schema": SCHEMA_URL,
        "version": "0.1.1",
        "changelog": {
            "0.1.1": RUNTIME_CHANGES,
            "0.1.0": "first release: trained on the shared Kvasir-SEG + CVC-ClinicDB training split",
        },
        "monai_version": monai.__version__,
        "pytorch_version": torch.__version__.split("+")[0],
        "numpy_version": numpy.__version__,
        "required_packages_version": {"monai_lightseg": __version__, "pytorch-ignite": "0.5.2", "fire": "0.7.1"},
        "name": f"Polyp segmentation in colonoscopy frames, {spec['title']}",
        "task": "Binary segmentation of colorectal polyps in 2D colonoscopy RGB frames",
        "description": (
            f"{spec['title']} ({spec['seed']}) trained from scratch on the shared training split of Kvasir-SEG and "
            "CVC-ClinicDB. Input: an RGB frame of any size at its native pixel scale; output: a polyp mask of the "
            "same size. Research and education use only (the training data's terms)."
        ),
        "authors": "monai_lightseg contributors",
        "copyright": (
            "Copyright (c) monai_lightseg contributors; weights subject to the Kvasir-SEG and CVC-ClinicDB terms"
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
                    "spatial_shape": ROI,
                    "dtype": "float32",
                    "value_range": [0, 1],
                    "is_patch_data": True,
                    "channel_def": {"0": "R", "1": "G", "2": "B"},
                }
            },
            "outputs": {
                "pred": {
                    "type": "image",
                    "format": "segmentation",
                    "num_channels": 1,
                    "spatial_shape": ROI,
                    "dtype": "float32",
                    "value_range": [0, 1],
                    "is_patch_data": True,
                    "channel_def": {"0": "polyp"},
                }
            },
        },
    }


LOGGING_CONF = """[loggers]
keys=root

[handlers]
keys=consoleHandler

[formatters]
keys=fullFormatter

[logger_root]
level=INFO
handlers=consoleHandler

[handler_consoleHandler]
class=StreamHandler
level=INFO
formatter=fullFormatter
args=(sys.stdout,)

[formatter_fullFormatter]
format=%(asctime)s - %(name)s - %(levelname)s - %(message)s
"""

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


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def dumps(obj: dict) -> str:
    return json.dumps(obj, indent=4) + "\n"


def generate(bundles_dir: Path, data_root: Path | None) -> list[Path]:
    """Write every generated file; returns their paths. ``data_root``: shared data, to (re)build the split."""
    written = []
    datalist = None
    if data_root is not None:
        from monai_lightseg.data import polyp_datalist

        datalist = polyp_datalist(data_root)
    for name, spec in NETWORKS.items():
        root = bundles_dir / name
        files = {
            "configs/metadata.json": dumps(metadata(name, spec)),
            "configs/inference.json": dumps(inference_config(spec)),
            "configs/evaluate.json": dumps(evaluate_config()),
            "configs/train.json": dumps(train_config(spec)),
            "configs/multi_gpu_train.json": dumps(multi_gpu_config()),
            "configs/logging.conf": LOGGING_CONF,
            "LICENSE": LICENSE,
        }
        if datalist is not None:
            files["configs/datalist.json"] = dumps(datalist)
        for rel, text in files.items():
            write(root / rel, text)
            written.append(root / rel)
        samples = REPO / "samples" / "polyp"
        for sub in ("images", "masks"):
            (root / "sample_data" / sub).mkdir(parents=True, exist_ok=True)
            for f in sorted((samples / sub).iterdir()):
                shutil.copyfile(f, root / "sample_data" / sub / f.name)
        readme = (REPO / "samples" / "README.md").read_text().splitlines(keepends=True)
        other = ("mri/", "hippocampus/", "vessels/")  # rows of samples other bundles ship
        polyp_only = "".join(line for line in readme if not any(o in line for o in other))
        write(root / "sample_data" / "README.md", polyp_only)
    return written


if __name__ == "__main__":
    shared = REPO.parent / "shared" / "data"
    paths = generate(REPO / "bundles", shared if shared.is_dir() else None)
    print(f"wrote {len(paths)} files under bundles/")
