"""The config skeleton every monai_lightseg bundle shares, filled in by a task definition (:class:`Task`).

A bundle's five configs (``inference.json``, ``evaluate.json``, ``train.json``, ``multi_gpu_train.json``,
``metadata.json``) have one layout across tasks: MONAI's ``SupervisedEvaluator`` over a sliding window, a
``SupervisedTrainer`` with warm-up + cosine AdamW, resume from the newest checkpoint, best-weights keeping,
a CSV training log, DDP. What differs per task (loading and normalisation, augmentation, loss, the prediction's
activation, post-processing, metadata text, licence, samples) is a method or attribute of the task's
:class:`Task` subclass in this package; :func:`generate` writes a task's bundles from it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCHEMA_URL = "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/meta_schema_20240725.json"
IMPORTS = [
    "$import os",
    "$import numpy as np",
    "$import torch",
    "$import monai_lightseg",
    "$import monai_lightseg.data",
]

#: the changelog line of every bundle's first release after the zoo-convention changes (issue 19)
#: the changelog line of every bundle's first release with the self-contained export
EXPORT_CHANGES = (
    "metadata lists the packages MONAI's readers and transforms in these configs need, so that the zoo's CI "
    "installs them; `monai-lightseg export-bundle` writes a copy that runs without monai_lightseg"
)

ZOO_CHANGES = (
    "inference leaves out files that cannot be decoded, names each with the reason, and exits non-zero at the end; "
    "eval_metrics holds the shipped weights' validation result; pins are the tested versions; LICENSE holds the "
    "Apache-2.0 text and the data terms are in docs/data_license.txt"
)

#: the changelog line of every 2D bundle's first release with :func:`monai_lightseg.io.photographs.to_rgb8` and
#: :func:`monai_lightseg.io.photographs.to_binary_mask`
PHOTO_READER_CHANGES = (
    "images are read by monai_lightseg.io.photographs.to_rgb8, the rule the batch uses: 16-bit and float images are "
    "scaled to 8 bit (by their maximum when it is above 255, float images in [0, 1] times 255; they were clipped at "
    "255, so a 16-bit frame turned white); 8-bit images, all the training and validation data, read exactly as "
    "before; masks by to_binary_mask: a label map (greyscale maximum under 128, at most 4 values: 0/1, class ids, "
    "one pure colour) has its foreground above 0 and a float mask in [0, 1] above 0.5 (both read as empty, so "
    "evaluation gave Dice 0 and training learnt background); other masks as before; weights unchanged"
)

#: the changelog line of every bundle's first release that refuses to write its masks among its inputs
OUTPUT_DIR_CHANGES = (
    "inference refuses an output_dir that is the dataset_dir (the masks would replace or mix with the inputs, and a "
    "rerun would read them as inputs)"
)

#: the changelog line of every bundle's first release with flip test-time augmentation
FLIP_TTA_CHANGES = (
    "inference can average the logits over the image and its flips along the axes training flipped "
    '("flip_tta": true; off by default); weights and default masks unchanged'
)

#: the changelog line of every bundle's first release after these changes; weights and masks unchanged
RUNTIME_CHANGES = (
    "inference re-parameterises the loaded network (batch norms folded, linear branches merged; same masks, less "
    "time; \"reparameterize\": false turns it off) and can run it on ONNX Runtime (\"runtime\": \"onnxruntime\"); "
    "multi-GPU training tears its process group down before exit; weights unchanged"
)

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


def load_2d_image(keys: list[str]) -> list[dict]:
    """Load 2D images of any PIL format, channel-first: images converted to 8-bit RGB by
    :func:`monai_lightseg.io.photographs.to_rgb8` (palette GIFs, greyscale, RGBA and CMYK included; 16-bit and
    float images scaled, not clipped, as the batch reads them), masks by
    :func:`monai_lightseg.io.photographs.to_binary_mask` (0/255 mask images above 127; 0/1 label maps above 0;
    palette PNGs by label) and binarised, image intensities 0..255 scaled to [0, 1]."""
    t = [
        {
            "_target_": "LoadImaged",
            "keys": "image",
            "image_only": False,
            "reader": {
                "_target_": "PILReader",
                "converter": {"_target_": "monai_lightseg.io.photographs.to_rgb8", "_mode_": "callable"},
            },
        },
        {"_target_": "EnsureChannelFirstd", "keys": "image"},
    ]
    if "label" in keys:
        t += [
            {
                "_target_": "LoadImaged",
                "keys": "label",
                "image_only": False,
                "reader": {
                    "_target_": "PILReader",
                    "converter": {"_target_": "monai_lightseg.io.photographs.to_binary_mask", "_mode_": "callable"},
                },
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
    """MONAI's sliding window (overlap 0.25, Gaussian blending)."""
    return {
        "_target_": "SlidingWindowInferer",
        "roi_size": roi_ref,
        "sw_batch_size": sw_batch_size,
        "overlap": 0.25,
        "mode": "gaussian",
    }


def save_png(key: str, postfix: str, scale: int | None = None) -> dict:
    """``SaveImaged`` of ``key`` as an 8-bit PNG named ``<stem>[_postfix].png`` in ``@output_dir``."""
    scaled = {} if scale is None else {"scale": scale}
    return {
        "_target_": "SaveImaged",
        "keys": key,
        "output_dir": "@output_dir",
        "output_postfix": postfix,
        "output_ext": ".png",
        "output_dtype": "$np.uint8",
        **scaled,
        "separate_folder": False,
        "resample": False,
        "writer": "PILWriter",
        "print_log": False,
    }


def mask_and_overlay_png(photo_key: str = "image") -> list[dict]:
    """The 2D outputs: ``<stem>.png`` (mask 0/255) and ``<stem>_overlay.png`` (mask blended on ``photo_key``)."""
    return [
        {
            "_target_": "monai_lightseg.transforms.BlendMaskOverlayd",
            "image_key": photo_key,
            "mask_key": "pred",
            "overlay_key": "overlay",
        },
        save_png("pred", "", scale=255),
        save_png("overlay", "overlay"),
    ]


def mean_dice(include_background: bool) -> dict:
    return {
        "_target_": "MeanDice",
        "include_background": include_background,
        "output_transform": "$monai.handlers.from_engine(['pred', 'label'])",
    }


def tta_inferer(task: "Task") -> dict:
    """inference.json's ``tta_inferer`` (and the scale options where the task has them): the inferer averaged over
    flipped copies when ``flip_tta``, and, around that, over rescaled copies when ``scale_tta``."""
    flips = {
        "_target_": "monai_lightseg.inference.FlipAveragingInferer",
        "inferer": "@inferer",
        "spatial_axes": "@flip_tta_axes",
        "enabled": "@flip_tta",
    }
    if not task.scale_tta_factors:
        return {"tta_inferer": flips}
    return {
        "scale_tta": False,
        "scale_tta_factors": list(task.scale_tta_factors),
        "tta_inferer": {
            "_target_": "monai_lightseg.inference.ScaleAveragingInferer",
            "inferer": flips,
            "factors": "@scale_tta_factors",
            "enabled": "@scale_tta",
        },
    }


class Task:
    """One task's bundles: the class attributes and methods the skeleton asks for. Subclasses override them."""

    #: short name (``make_bundles.py --task``) and the bundles' folder-name prefix
    name: str
    prefix: str
    #: bundle folder name -> {"target", "args", "title", "seed"}, optionally "inference_options": a bundle's own
    #: values of inference.json's settings (``runtime``, ``reparameterize`` or a key of ``inference_options``)
    networks: dict[str, dict]
    spatial_dims: int
    in_channels: int
    out_channels: int
    roi: list[int]
    recipe: dict
    #: validation window and its batch size; metrics over the foreground classes only when ``False``
    val_roi: list[int]
    val_sw_batch_size: int = 4
    include_background: bool = True
    memory_format: str = "$torch.channels_last"
    #: the samples folder under samples/ copied into each bundle's sample_data/
    samples: str
    license: str
    #: the README's Tags line (the zoo template)
    tags: str
    #: packages MONAI itself needs for the readers and transforms these configs name (PILReader: pillow,
    #: RemoveSmallObjectsd and KeepLargestConnectedComponentd: scikit-image, FillHolesd: scipy, NIfTI: nibabel);
    #: MONAI does not require them, so the metadata must list them for the zoo's CI to install them
    monai_packages: tuple[str, ...] = ()

    def network_def(self, spec: dict) -> dict:
        return {
            "_target_": spec["target"],
            "spatial_dims": self.spatial_dims,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            **spec["args"],
        }

    def bundle_inference_options(self, spec: dict) -> dict:
        """The task's ``inference_options`` with a bundle's own values over them (``spec["inference_options"]``, for
        a setting measured on that bundle alone); a key that is no setting of inference.json is refused."""
        own = spec.get("inference_options", {})
        unknown = set(own) - set(self.inference_options) - {"runtime", "reparameterize"}
        if unknown:
            raise ValueError(f"{self.name}: inference_options {sorted(unknown)} are not settings of inference.json")
        return {**self.inference_options, **own}

    def datalist(self, split: str) -> str:
        """Config expression of the committed split ``split`` (``training`` or ``validation``)."""
        return f"$monai_lightseg.data.bundle_datalist(@dataset_dir, @datalist_file, '{split}')"

    inference_datalist = "$monai_lightseg.data.build_datalist(@dataset_dir, output_dir=@output_dir)"
    #: extra top-level keys of inference.json (user-facing options) and of train.json
    inference_options: dict = {}
    train_options: dict = {}
    #: scale test-time augmentation's factors (``ScaleAveragingInferer``, off by default), for tasks where it was
    #: measured; None: the bundles have no such option
    scale_tta_factors: list[float] | None = None

    def load(self, keys: list[str]) -> list[dict]:
        """Loading and normalisation of ``keys`` (``image``, ``label``...), shared by every config."""
        raise NotImplementedError

    def inference_preprocessing(self) -> list[dict]:
        return self.load(["image"]) + [{"_target_": "EnsureTyped", "keys": "image"}]

    def labelled_preprocessing(self) -> list[dict]:
        """Evaluation's and validation's preprocessing."""
        return self.load(["image", "label"]) + [{"_target_": "EnsureTyped", "keys": ["image", "label"]}]

    def train_preprocessing(self) -> list[dict]:
        return self.load(["image", "label"]) + self.augmentation()

    def augmentation(self) -> list[dict]:
        raise NotImplementedError

    def flip_axes(self) -> list[int]:
        """The spatial axes training flips along (its ``RandFlipd``): the axes flip test-time augmentation may use."""
        axes: set[int] = set()

        def visit(obj) -> None:
            if isinstance(obj, dict):
                if obj.get("_target_") == "RandFlipd":
                    axes.add(int(obj["spatial_axis"]))
                for value in obj.values():
                    visit(value)
            elif isinstance(obj, list):
                for value in obj:
                    visit(value)

        visit(self.augmentation())
        return sorted(axes)

    def inference_postprocessing(self) -> list[dict]:
        raise NotImplementedError

    def metric_postprocessing(self, preprocessing: str = "@preprocessing") -> list[dict]:
        """Evaluation's and validation's: the prediction (and label) in the form the metrics take.
        ``preprocessing``: reference to the preprocessing that made the item (for ``Invertd``)."""
        return binarize_pred()

    #: options of monai_lightseg.handlers.SegmentationReport in evaluate.json
    report_options: dict = {}

    def loss(self) -> dict:
        raise NotImplementedError

    def metadata(self, spec: dict) -> dict:
        raise NotImplementedError

    def shared_datalist(self, data_root: Path) -> dict:
        """The committed split, built from the shared data at ``data_root``."""
        raise NotImplementedError

    def extra_configs(self) -> dict[str, dict]:
        """More configs of the task's bundles: file name under configs/ -> content."""
        return {}

    def write_samples(self, root: Path) -> None:
        """Copy the task's samples (``images/``, ``masks/``, ``README.md``) into bundle ``root``'s
        ``sample_data``."""
        samples = REPO / "samples" / self.samples
        copy_images(samples, root / "sample_data")
        shutil.copyfile(samples / "README.md", root / "sample_data" / "README.md")


def copy_images(samples: Path, sample_data: Path) -> None:
    """``samples/{images,masks}/*`` -> ``sample_data/{images,masks}/``."""
    for sub in ("images", "masks"):
        (sample_data / sub).mkdir(parents=True, exist_ok=True)
        for f in sorted((samples / sub).iterdir()):
            shutil.copyfile(f, sample_data / sub / f.name)


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


def inference_config(task: Task, spec: dict) -> dict:
    return {
        "imports": IMPORTS,
        "bundle_root": ".",
        "dataset_dir": "$@bundle_root + '/sample_data/images'",
        "output_dir": "$@bundle_root + '/eval'",
        "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
        "amp": "$torch.cuda.is_available()",
        "network_def": task.network_def(spec),
        "network": "$@network_def.to(@device)",
        "reparameterize": True,
        "runtime": "eager",
        **task.bundle_inference_options(spec),
        # files that cannot be decoded are left out, named with the reason, and fail the run at its end (RunSummary)
        "unreadable": "$[]",
        "datalist": f"$monai_lightseg.data.readable_items({task.inference_datalist[1:]}, @unreadable)",
        "preprocessing": {"_target_": "Compose", "transforms": task.inference_preprocessing()},
        "dataset": {"_target_": "Dataset", "data": "@datalist", "transform": "@preprocessing"},
        "dataloader": {
            "_target_": "DataLoader",
            "dataset": "@dataset",
            "batch_size": 1,
            "shuffle": False,
            "num_workers": 0,
        },
        "roi_size": task.roi,
        "inferer": sliding_window("@roi_size", 4),
        # test-time augmentation, off by default: the mean logit over the image and its flips along each axis
        # training flipped (1 + len(flip_tta_axes) passes); "inferer" stays replaceable (locate-then-segment)
        "flip_tta": False,
        "flip_tta_axes": task.flip_axes(),
        **tta_inferer(task),
        "postprocessing": {"_target_": "Compose", "transforms": task.inference_postprocessing()},
        "handlers": inference_handlers()
        + [{"_target_": "monai_lightseg.handlers.RunSummary", "datalist": "@datalist", "unreadable": "@unreadable"}],
        "evaluator": {
            "_target_": "SupervisedEvaluator",
            "device": "@device",
            "val_data_loader": "@dataloader",
            "network": "@network",
            "inferer": "@tta_inferer",
            "postprocessing": "@postprocessing",
            "val_handlers": "@handlers",
            "amp": "@amp",
        },
        "initialize": ["$monai.utils.set_determinism(seed=0)"],
        "run": ["$@evaluator.run()"],
    }


def evaluate_config(task: Task) -> dict:
    """Merged over inference.json: labelled data, no files but the metrics report."""
    report = {"_target_": "monai_lightseg.handlers.SegmentationReport", "output_dir": "@output_dir"}
    return {
        "dataset_dir": "$@bundle_root + '/sample_data'",
        "datalist_file": "$@bundle_root + '/configs/datalist.json'",
        "datalist": task.datalist("validation"),
        "preprocessing": {"_target_": "Compose", "transforms": task.labelled_preprocessing()},
        "postprocessing": {"_target_": "Compose", "transforms": task.metric_postprocessing()},
        "handlers": inference_handlers() + [{**report, **task.report_options}],
        "evaluator#key_val_metric": {"val_mean_dice": mean_dice(task.include_background)},
    }


def train_config(task: Task, spec: dict) -> dict:
    checkpointed = {
        "network": "@network",
        "optimizer": "@optimizer",
        "lr_scheduler": "@lr_scheduler",
        "trainer": "@train#trainer",
    }
    return {
        "imports": IMPORTS,
        "bundle_root": ".",
        "ckpt_dir": "$@bundle_root + '/models/checkpoints'",
        "output_dir": "$@bundle_root + '/eval'",
        "dataset_dir": "$@bundle_root + '/sample_data'",
        "datalist_file": "$@bundle_root + '/configs/datalist.json'",
        "device": "$torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')",
        "amp": "$torch.cuda.is_available()",
        "roi_size": task.roi,
        "max_steps": task.recipe["max_steps"],
        "epoch_length": task.recipe["epoch_length"],
        "batch_size": task.recipe["batch_size"],
        "learning_rate": task.recipe["learning_rate"],
        "warmup_steps": task.recipe["warmup_steps"],
        "val_interval": task.recipe.get("val_interval", 5),
        "val_roi_size": task.val_roi,
        "num_workers": task.recipe.get("num_workers", 2),
        "cache_rate": 1.0,
        **task.train_options,
        "network_def": task.network_def(spec),
        # channels-last layout: the same arithmetic, but oneDNN's depthwise-convolution backward is much faster in it
        # on CPU (a seed net's training step: 1.2-1.8x); the 3D bundles use torch.channels_last_3d
        "memory_format": task.memory_format,
        "network": "$@network_def.to(@device, memory_format=@memory_format)",
        "loss": {"_target_": "monai_lightseg.losses.StackedDeepSupervisionLoss", "loss": task.loss()},
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
            "datalist": task.datalist("training"),
            "preprocessing": {"_target_": "Compose", "transforms": task.train_preprocessing()},
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
                    "load_dict": dict(checkpointed),
                    "map_location": "@device",
                },
                {
                    "_target_": "CheckpointSaver",
                    "save_dir": "@ckpt_dir",
                    "save_interval": 1,
                    "n_saved": 1,
                    "save_dict": dict(checkpointed),
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
            "datalist": task.datalist("validation"),
            "preprocessing": {"_target_": "Compose", "transforms": task.labelled_preprocessing()},
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
            "inferer": sliding_window("@val_roi_size", task.val_sw_batch_size),
            "postprocessing": {
                "_target_": "Compose",
                "transforms": task.metric_postprocessing("@validate#preprocessing"),
            },
            "handlers": [
                {"_target_": "StatsHandler", "iteration_log": False},
                {
                    "_target_": "monai_lightseg.handlers.KeepBestNetwork",
                    "network": "@network",
                    "model_path": "$@bundle_root + '/models/model.pt'",
                    "metric_name": "val_mean_dice",
                },
            ],
            "key_metric": {"val_mean_dice": mean_dice(task.include_background)},
            "additional_metrics": {
                "val_mean_iou": {
                    "_target_": "MeanIoUHandler",
                    "include_background": task.include_background,
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


#: metadata.json's fields after the versions, in the order every bundle writes them
METADATA_FIELDS = (
    "name", "task", "description", "authors", "copyright", "data_source", "data_type", "image_classes",
    "label_classes", "pred_classes", "eval_metrics", "intended_use", "references", "network_data_format",
)  # fmt: skip


def recorded_metrics(bundle: str) -> dict:
    """``eval_metrics`` of a bundle's metadata: its shipped weights' validation result as the report recorded it
    (docs/results.json: the best checkpoint's key metric); ``{"val_mean_dice": None}`` before training ends."""
    path = REPO / "bundles" / bundle / "docs" / "results.json"
    if not path.is_file():
        return {"val_mean_dice": None}
    best = json.loads(path.read_text(encoding="utf-8"))["best"]
    return {best["metric"]: round(float(best["value"]), 4)}


def installed_version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


def metadata_record(
    version: str, changelog: dict, fields: dict, packages: tuple[str, ...], extra: dict | None = None
) -> dict:
    """metadata.json: the schema, ``version`` and ``changelog``, the versions of what the bundle was built with
    (``packages``: what MONAI's readers and transforms in the configs need, see :attr:`Task.monai_packages`),
    then the task's ``fields`` (every key of :data:`METADATA_FIELDS` but ``authors``), then ``extra`` keys of
    this package (``monai_lightseg_*``; MONAI's schema allows additional properties)."""
    import monai
    import numpy
    import torch

    from monai_lightseg import __version__

    fields = {"authors": "monai_lightseg contributors", **fields}
    assert set(fields) == set(METADATA_FIELDS), f"metadata fields differ: {set(fields) ^ set(METADATA_FIELDS)}"
    return {
        "schema": SCHEMA_URL,
        "version": version,
        "changelog": changelog,
        "monai_version": monai.__version__,
        "pytorch_version": torch.__version__.split("+")[0],
        "numpy_version": numpy.__version__,
        # what the tests ran with (constraints.txt pins the test environment)
        "required_packages_version": {
            "monai_lightseg": __version__,
            "pytorch-ignite": installed_version("pytorch-ignite"),
            "fire": installed_version("fire"),
            **{name: installed_version(name) for name in packages},
        },
        **{k: fields[k] for k in METADATA_FIELDS},
        **(extra or {}),
    }


def dumps(obj: dict) -> str:
    return json.dumps(obj, indent=4) + "\n"


def bundle_files(task: Task, name: str, spec: dict) -> dict[str, str]:
    """Relative path -> text of every generated file of bundle ``name`` (the split excluded)."""
    metadata = task.metadata(spec)
    metadata["eval_metrics"] = recorded_metrics(name)
    return {
        "configs/metadata.json": dumps(metadata),
        "configs/inference.json": dumps(inference_config(task, spec)),
        "configs/evaluate.json": dumps(evaluate_config(task)),
        "configs/train.json": dumps(train_config(task, spec)),
        "configs/multi_gpu_train.json": dumps(multi_gpu_config()),
        "configs/logging.conf": LOGGING_CONF,
        # the zoo's layout: the code's licence text in LICENSE, the data's terms (which the weights inherit) apart
        "LICENSE": (REPO / "LICENSE").read_text(encoding="utf-8"),
        "docs/data_license.txt": task.license,
        **{f"configs/{name}": dumps(config) for name, config in task.extra_configs().items()},
    }


def generate(task: Task, bundles_dir: Path, data_root: Path | None, samples: bool = True) -> list[Path]:
    """Write every generated file of ``task``'s bundles under ``bundles_dir``; returns their paths.
    ``data_root``: the shared data, to (re)build the committed split; ``samples``: copy sample_data too."""
    datalist = None if data_root is None else dumps(task.shared_datalist(data_root))
    written = []
    for name, spec in task.networks.items():
        root = bundles_dir / name
        files = bundle_files(task, name, spec)
        if datalist is not None:
            files["configs/datalist.json"] = datalist
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
            written.append(root / rel)
        if samples:
            task.write_samples(root)
    return written
