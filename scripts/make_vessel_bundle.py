"""Write the retinal vessel bundle (LightU2Net on DRIVE) and its synthetic sample images.

Run from the repository root after changing the recipe::

    python scripts/make_vessel_bundle.py

DRIVE's terms do not allow shipping its images, so the bundle's ``sample_data`` (and ``samples/vessels``) hold
small synthetic fundus-like images: a dark disk outside the field of view, an orange-red background with
uneven illumination, and dark tree-like vessels of 1-4 px width, each with its vessel mask and FOV mask. They
are drawn deterministically (seeded) by :func:`synthetic_fundus`, so the test data is reproducible and no real
image is needed. The engine layout is the polyp bundles' (``make_polyp_bundles``); this script replaces what
differs: the fundus input (green channel + CLAHE), patch sampling inside the field of view, a field-of-view mask
for metrics, and a 3-scale MS-SSIM that fits 128^2 patches.
``tests/bundles/test_vessel_bundle.py`` fails if a committed config drifts from what it writes.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import make_polyp_bundles as polyp  # noqa: E402

NAME = "retinal_vessel_fundus_light_u2net_segmentation"
ROI = [128, 128]
RECIPE = {
    "max_steps": 2000,
    "batch_size": 4,
    "patches_per_image": 2,
    "epoch_length": 100,
    "learning_rate": 0.002,
    "warmup_steps": 100,
}
SPEC = {
    "target": "monai_lightseg.networks.nets.LightU2Net",
    "args": {"in_channels": 1},
    "title": "LightU2Net",
    "seed": "Sun et al. 2024, lightweight U2-Net with multi-scale asymmetric convolution and UNet++ skips",
}
#: MS-SSIM for 128^2 patches: kernel 7 and three scales (MONAI's five scales with kernel 11 need >= 176 px)
MS_SSIM = {"ms_ssim_kernel_size": 7, "ms_ssim_weights": [0.0448 / 0.6305, 0.2856 / 0.6305, 0.3001 / 0.6305]}


#: CLAHE of the green channel: scikit-image's default contextual regions (1/8 of each image side) and clip limit
CLAHE = {"clip_limit": 0.01}


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
    """The FOV mask loads like a vessel mask: one 8-bit channel, foreground > 127."""
    return [
        {
            "_target_": "LoadImaged",
            "keys": "fov",
            "image_only": True,
            "reader": {"_target_": "PILReader", "converter": "$lambda im: im.convert('L')"},
        },
        {"_target_": "EnsureChannelFirstd", "keys": "fov"},
        {"_target_": "AsDiscreted", "keys": "fov", "threshold": 128},
    ]


def inside_fov() -> list[dict]:
    """Binarise, then zero the prediction outside the field of view: Dice over the image is then Dice inside
    the FOV (DRIVE's vessel masks are empty outside it)."""
    return polyp.binarize_pred() + [{"_target_": "MaskIntensityd", "keys": "pred", "mask_key": "fov"}]


def datalist_expr(key: str) -> str:
    return f"$monai_lightseg.data.bundle_datalist(@dataset_dir, @datalist_file, '{key}', extra_fields=['fov'])"


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


def inference_config() -> dict:
    config = polyp.inference_config(SPEC)
    config["roi_size"] = ROI
    config["fov_threshold"] = 0.1
    pre = config["preprocessing"]["transforms"]
    assert pre[-1]["_target_"] == "EnsureTyped", "the polyp preprocessing no longer ends with EnsureTyped"
    config["preprocessing"]["transforms"] = pre[:-1] + estimated_fov() + fundus_input() + pre[-1:]
    post = config["postprocessing"]["transforms"]
    at = len(polyp.binarize_pred())
    assert post[:at] == polyp.binarize_pred(), "the polyp postprocessing no longer starts by binarising"
    assert post[at]["_target_"] == "monai_lightseg.transforms.BlendMaskOverlayd", "no overlay after binarising"
    overlay = {**post[at], "image_key": "photo"}
    mask = {"_target_": "MaskIntensityd", "keys": "pred", "mask_key": "fov"}
    config["postprocessing"]["transforms"] = post[:at] + [mask, overlay] + post[at + 1 :]
    return config


def evaluate_config() -> dict:
    config = polyp.evaluate_config()
    config["datalist"] = datalist_expr("validation")
    config["preprocessing"]["transforms"] = (
        polyp.load_transforms(["image", "label"])
        + fov_transforms()
        + fundus_input(keep_photo=False)
        + [{"_target_": "EnsureTyped", "keys": ["image", "label", "fov"]}]
    )
    config["postprocessing"]["transforms"] = inside_fov()
    config["handlers"][-1]["mask_key"] = "fov"
    config["handlers"][-1]["class_names"] = ["vessel"]
    return config


def train_config() -> dict:
    config = polyp.train_config(SPEC)
    aug = [
        {"_target_": "SpatialPadd", "keys": ["image", "label", "fov"], "spatial_size": "@roi_size"},
        {  # patch centres drawn uniformly inside the field of view (none wasted on the black surround)
            "_target_": "RandWeightedCropd",
            "keys": ["image", "label"],
            "w_key": "fov",
            "spatial_size": "@roi_size",
            "num_samples": RECIPE["patches_per_image"],
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
    config.update(
        {
            "roi_size": ROI,
            "val_roi_size": ROI,
            "max_steps": RECIPE["max_steps"],
            "epoch_length": RECIPE["epoch_length"],
            "batch_size": RECIPE["batch_size"],
            "learning_rate": RECIPE["learning_rate"],
            "warmup_steps": RECIPE["warmup_steps"],
            "loss": {
                "_target_": "monai_lightseg.losses.StackedDeepSupervisionLoss",
                "loss": {"_target_": "monai_lightseg.losses.BceDiceMsSsimLoss", "spatial_dims": 2, **MS_SSIM},
            },
        }
    )
    train, validate = config["train"], config["validate"]
    train["datalist"] = datalist_expr("training")
    train["preprocessing"]["transforms"] = (
        polyp.load_transforms(["image", "label"]) + fov_transforms() + fundus_input(keep_photo=False) + aug
    )
    validate["datalist"] = datalist_expr("validation")
    validate["preprocessing"]["transforms"] = (
        polyp.load_transforms(["image", "label"])
        + fov_transforms()
        + fundus_input(keep_photo=False)
        + [{"_target_": "EnsureTyped", "keys": ["image", "label", "fov"]}]
    )
    validate["inferer"] = polyp.sliding_window("@val_roi_size", 4)
    validate["postprocessing"]["transforms"] = inside_fov()
    return config


def metadata() -> dict:
    meta = polyp.metadata(NAME, SPEC)
    image = meta["network_data_format"]["inputs"]["image"]
    pred = meta["network_data_format"]["outputs"]["pred"]
    image.update(
        {
            "modality": "fundus photography",
            "spatial_shape": ROI,
            "num_channels": 1,
            "channel_def": {"0": "green channel after CLAHE (the preprocessing makes it from an RGB photograph)"},
        }
    )
    pred.update({"spatial_shape": ROI, "channel_def": {"0": "vessel"}})
    meta.update(
        {
            "version": "0.3.1",
            "changelog": {
                "0.3.1": polyp.RUNTIME_CHANGES,
                "0.3.0": (
                    "network input is the green channel after CLAHE (was RGB); training patches centred inside "
                    "the field of view; weights retrained on the same 24 training images"
                ),
                "0.2.0": "weights retrained on the 24 training images only (validation F1 0.789 on the other 8)",
                "0.1.0": "first release; its weights had also trained on the 8 validation images: do not use",
            },
            "name": "Retinal vessel segmentation in colour fundus photographs, LightU2Net",
            "task": "Binary segmentation of retinal blood vessels in 2D colour fundus photographs",
            "description": (
                f"LightU2Net ({SPEC['seed']}), seed B's own domain, trained from scratch on 128x128 patches of the "
                "shared DRIVE training split; the network sees the green channel equalised with CLAHE. Input: an RGB "
                "fundus photograph of any size at DRIVE-like scale "
                "(about 565x584 for a 45-degree field); output: a vessel mask of the same size. Research use only "
                "(the training data's terms)."
            ),
            "copyright": "Copyright (c) monai_lightseg contributors; weights subject to the DRIVE terms",
            "data_source": "DRIVE (Staal et al., IEEE TMI 2004), first observer's manual segmentations",
            "data_type": "RGB fundus photographs: TIFF, PNG, JPEG, GIF, BMP",
            "label_classes": "single channel: 1 vessel, 0 background",
            "pred_classes": "single channel logit; sigmoid > 0.5 is vessel",
            "intended_use": "Research only. Not a medical device; not for clinical decisions.",
            "references": [
                "Staal et al., Ridge-based vessel segmentation in color images of the retina, IEEE TMI 23(4) 2004",
            ],
        }
    )
    return meta


LICENSE = """Code and configuration: Apache License 2.0 (see the monai_lightseg repository).

Model weights (models/model.pt) were trained on DRIVE (Digital Retinal Images for Vessel Extraction) and
inherit its terms: released for scientific research; the official download
(https://drive.grand-challenge.org/) asks users to register and to cite J. Staal, M. D. Abramoff,
M. Niemeijer, M. A. Viergever, B. van Ginneken, "Ridge-based vessel segmentation in color images of the
retina", IEEE Transactions on Medical Imaging 23(4) (2004) 501-509. Research use only.

No DRIVE image is shipped: sample_data/ holds synthetic images drawn by scripts/make_vessel_bundle.py
(Apache-2.0, see sample_data/README.md). The weights are not a medical device.
"""

SAMPLES_README = """# Synthetic fundus-like samples

DRIVE's images may not be redistributed, so the vessel bundle's tests and examples use these synthetic
images instead, drawn deterministically by `synthetic_fundus` in `scripts/make_vessel_bundle.py`
(Apache-2.0, no real patient data): a circular field of view on black, an orange-red background with uneven
illumination and noise, and dark branching vessels of 1-4 px width.

- `images/<name>.png`: RGB (`synthetic_1` is 190x200, `synthetic_2` 240x224, width x height).
- `masks/<name>.png`: vessel mask, 0/255 (vessels inside the field of view only).
- `fov/<name>.png`: field-of-view mask, 0/255.
- `reference/<name>.png` (the bundle's copy only): the shipped weights' masks of the samples, written by
  `scripts/report_vessel_results.py`; a test checks that the weights still reproduce them.

They exercise the pipeline (formats, sizes, the FOV mask, metrics); a model's accuracy on them says nothing
about real fundus photographs.
"""


def synthetic_fundus(width: int, height: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An RGB fundus-like image (H, W, 3) uint8, its vessel mask and FOV mask (H, W) uint8 in {0, 255}."""
    rng = np.random.default_rng(seed)
    cy, cx, radius = height / 2, width / 2, 0.46 * min(width, height)
    yy, xx = np.mgrid[:height, :width]
    fov = ((yy - cy) ** 2 + (xx - cx) ** 2) <= radius**2
    vessels = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(vessels)
    disc = np.array([cx + 0.35 * radius * rng.choice([-1, 1]), cy + rng.uniform(-0.1, 0.1) * radius])

    def branch(start: np.ndarray, angle: float, width_px: int, length: int) -> None:
        point = start.copy()
        for step in range(length):
            angle += rng.normal(0, 0.12)
            nxt = point + 3.0 * np.array([np.cos(angle), np.sin(angle)])
            draw.line([tuple(point), tuple(nxt)], fill=255, width=width_px)
            point = nxt
            if width_px > 1 and step > 8 and rng.random() < 0.06:
                branch(point, angle + rng.choice([-1, 1]) * rng.uniform(0.4, 0.9), width_px - 1, length - step)

    for angle in np.linspace(0, 2 * np.pi, 7, endpoint=False) + rng.uniform(0, 0.5):
        branch(disc, angle, 4, int(radius / 2))
    vessel = (np.asarray(vessels) > 0) & fov
    shade = 0.75 + 0.25 * np.exp(-(((yy - disc[1]) ** 2 + (xx - disc[0]) ** 2) / (0.9 * radius) ** 2))
    base = np.stack([190 * shade, 85 * shade, 35 * shade], axis=-1) + rng.normal(0, 6, (height, width, 3))
    dark = np.array([110.0, 35.0, 20.0])
    soft = np.asarray(Image.fromarray(vessel.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(0.7))) / 255
    image = base * (1 - soft[..., None]) + dark * soft[..., None]
    image[~fov] = rng.normal(4, 2, (int((~fov).sum()), 3))
    as_u8 = lambda a: np.clip(a, 0, 255).astype(np.uint8)  # noqa: E731
    return as_u8(image), as_u8(vessel * 255.0), as_u8(fov * 255.0)


def write_samples(folder: Path) -> None:
    for name, (w, h, seed) in {"synthetic_1": (190, 200, 1), "synthetic_2": (240, 224, 2)}.items():
        image, vessel, fov = synthetic_fundus(w, h, seed)
        for sub, array in (("images", image), ("masks", vessel), ("fov", fov)):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(folder / sub / f"{name}.png")
    (folder / "README.md").write_text(SAMPLES_README)


def generate(bundles_dir: Path, data_root: Path | None) -> list[Path]:
    """Write every generated file; returns their paths. ``data_root``: shared data, to (re)build the split."""
    root = bundles_dir / NAME
    files = {
        "configs/metadata.json": polyp.dumps(metadata()),
        "configs/inference.json": polyp.dumps(inference_config()),
        "configs/evaluate.json": polyp.dumps(evaluate_config()),
        "configs/train.json": polyp.dumps(train_config()),
        "configs/multi_gpu_train.json": polyp.dumps(polyp.multi_gpu_config()),
        "configs/logging.conf": polyp.LOGGING_CONF,
        "LICENSE": LICENSE,
    }
    if data_root is not None:
        from monai_lightseg.data import drive_datalist

        files["configs/datalist.json"] = polyp.dumps(drive_datalist(data_root / "drive"))
    written = []
    for rel, text in files.items():
        polyp.write(root / rel, text)
        written.append(root / rel)
    return written


if __name__ == "__main__":
    samples = REPO / "samples" / "vessels"
    write_samples(samples)
    shared = REPO.parent / "shared" / "data"
    paths = generate(REPO / "bundles", shared if shared.is_dir() else None)
    shutil.copytree(samples, REPO / "bundles" / NAME / "sample_data", dirs_exist_ok=True)
    print(f"wrote {len(paths)} files under bundles/ and the samples")
