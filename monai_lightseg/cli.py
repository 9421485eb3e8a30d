"""Command line: ``python -m monai_lightseg <command>`` (console script ``monai-lightseg``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "polyp" / "images"
BUNDLES = REPO / "bundles"


def best_polyp_bundle() -> Path | None:
    """The finished polyp bundle (weights and docs/results.json) with the best validation Dice, or None.
    A bundle still training has interim weights for resuming; it is not offered."""
    import json

    best, score = None, -1.0
    for bundle in sorted(BUNDLES.glob("polyp_endoscopy_*_segmentation")):
        record = bundle / "models" / "model.best.json"
        finished = (bundle / "docs" / "results.json").is_file()
        if finished and (bundle / "models" / "model.pt").is_file() and record.is_file():
            value = float(json.loads(record.read_text(encoding="utf-8"))["value"])
            if value > score:
                best, score = bundle, value
    return best


def _segment_samples(args: argparse.Namespace) -> int:
    """Run a polyp bundle's inference on the sample images; print mask area and, where a mask exists, Dice."""
    import numpy as np
    from monai.bundle import run
    from PIL import Image

    bundle = Path(args.bundle) if args.bundle else best_polyp_bundle()
    if bundle is None:
        print("No trained polyp bundle found (bundles/*/models/model.pt): showing the networks instead.")
        return _networks(args)
    images, out = Path(args.images), Path(args.output)
    run(
        config_file=str(bundle / "configs" / "inference.json"),
        bundle_root=str(bundle),
        dataset_dir=str(images),
        output_dir=str(out),
    )
    masks_dir = images.parent / "masks"
    print(f"bundle: {bundle.name}; masks and overlays written to {out}/")
    print(f"{'image':28s}{'size':>12s}{'polyp area':>12s}{'Dice vs mask':>14s}")
    for image in sorted(p for p in images.iterdir() if p.is_file()):
        mask_file = out / f"{image.stem}.png"
        if not mask_file.is_file():
            continue
        pred = np.asarray(Image.open(mask_file)) > 127
        truth = [m for m in masks_dir.glob(f"{image.stem}.*")] if masks_dir.is_dir() else []
        dice = ""
        if truth:
            from monai_lightseg.io.photographs import to_binary_mask  # the bundles' own reading of a mask

            with Image.open(truth[0]) as opened:
                gt = np.asarray(to_binary_mask(opened)) > 127
            dice = f"{2 * (pred & gt).sum() / max(1, pred.sum() + gt.sum()):.3f}"
        size = "x".join(map(str, Image.open(image).size))
        print(f"{image.name:28s}{size:>12s}{pred.mean():>11.1%}{dice:>14s}")
    return 0


def _networks(args: argparse.Namespace) -> int:
    """Run every registered net (untrained) on the shipped sample images; print shapes, params and MACs."""
    import torch
    from monai.transforms import Compose, EnsureChannelFirst, LoadImage, ScaleIntensityRange

    from monai_lightseg.networks import create_net, list_nets
    from monai_lightseg.networks.profile import count_macs, count_parameters

    images = sorted(p for p in Path(args.images).iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    if not images:
        raise FileNotFoundError(f"no PNG/JPEG images in {args.images}")
    load = Compose([LoadImage(image_only=True), EnsureChannelFirst(), ScaleIntensityRange(0, 255, 0, 1, clip=True)])
    torch.manual_seed(0)
    print("Untrained networks (random weights): this shows that each net runs on a real image at its native size.")
    print(f"{'network':26s}{'image':24s}{'input':>20s}{'output':>20s}{'params':>11s}{'MACs@256^2':>12s}")
    for name in list_nets():
        net = create_net(name, args.variant, spatial_dims=2, in_channels=3, out_channels=1).eval()
        params, macs = count_parameters(net), count_macs(net, (1, 3, 256, 256))
        for path in images:
            x = load(str(path)).unsqueeze(0).float()
            with torch.no_grad():
                y = net(x)
            print(
                f"{name:26s}{path.name:24s}{str(tuple(x.shape)):>20s}{str(tuple(y.shape)):>20s}"
                f"{params / 1e6:>10.3f}M{macs / 1e9:>11.3f}G"
            )
    return 0


def _segment(args: argparse.Namespace) -> int:
    """Batch-segment a folder of studies with a bundle (see monai_lightseg.batch.segment)."""
    import logging

    from monai_lightseg.batch import BatchOptions, run_batch
    from monai_lightseg.io.discovery import SeriesRules

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    rules = SeriesRules(
        modalities=tuple(args.modality), exclude_image_types=tuple(args.exclude_image_type),
        orientations=tuple(args.orientation), min_slices=args.min_slices,
    )  # fmt: skip
    from monai_lightseg.batch.pacs import is_dicomweb_url

    filters = dict(f.split("=", 1) for f in args.pacs_filter)
    options = BatchOptions(
        bundle=Path(args.bundle), input=args.input if is_dicomweb_url(args.input) else Path(args.input),
        output=Path(args.output), device=args.device, resume=args.resume, overwrite=args.overwrite,
        num_parts=args.num_parts, part_id=args.part_id, rules=rules, progress=not args.no_progress,
        pacs_filters=filters, store=not args.no_store, reparameterize=False if args.no_reparameterize else None,
        runtime=args.runtime, flip_tta=True if args.flip_tta else None,
        scale_tta=True if args.scale_tta else None,
    )  # fmt: skip
    return run_batch(options)


def _merge(args: argparse.Namespace) -> int:
    from monai_lightseg.batch import merge_parts

    n = merge_parts(args.output)
    print(f"merged {n} studies into {args.output}/report.csv, report.json and keys.csv")
    return 0


def _export_bundle(args: argparse.Namespace) -> int:
    from monai_lightseg.export import export_bundle

    written = export_bundle(args.bundle, args.output, zip_file=args.zip)
    print(f"wrote {written}: needs MONAI and the packages in its configs/metadata.json, not monai_lightseg")
    return 0


def _federate(args: argparse.Namespace) -> int:
    """Federated training of a polyp bundle between the Kvasir-SEG and CVC-ClinicDB sites (NVFlare simulator)."""
    try:
        from monai_lightseg.federated.job import run_federation
    except ImportError as err:
        print(f"error: federated training needs NVIDIA FLARE: pip install 'monai_lightseg[federated]' ({err})",
              file=sys.stderr)  # fmt: skip
        return 2
    summary = run_federation(
        args.bundle, args.data, args.workspace, rounds=args.rounds, local_epochs=args.local_epochs,
        compression=args.compression, seed=args.seed, threads_per_site=args.threads,
        reset_optimizer=args.reset_optimizer, aggregation=args.aggregation, error_feedback=args.error_feedback,
    )  # fmt: skip
    sent = [r for r in summary["updates"] if r["side"] == "site"]
    ratio = sum(r["bytes_sent"] for r in sent) / max(1, sum(r["bytes_uncompressed"] for r in sent))
    print(f"{args.rounds} rounds in {summary['wall_s']:.0f} s; global models in {args.workspace}/global_models, "
          f"final {args.workspace}/model.pt; updates sent at {ratio:.3f}x their float32 size")  # fmt: skip
    return 0


def _federate_site(args: argparse.Namespace) -> int:
    """A hospital's part of a real federation: its site config from its own datalist."""
    from monai_lightseg.federated.job import write_site_config

    frames = write_site_config(args.bundle, args.datalist, args.data, args.rounds, args.local_epochs, args.out)
    print(f"wrote {args.out}: {frames} training frames; tell the coordinator this number (the site's FedAvg weight)")
    return 0


def _federate_export(args: argparse.Namespace) -> int:
    """The coordinator's part: the NVFlare job folder to submit to a provisioned federation."""
    from monai_lightseg.federated.job import export_job

    frames = {}
    for item in args.site:
        name, _, count = item.partition("=")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--site {item}: expected NAME=FRAMES, e.g. site-1=800")
        frames[name] = int(count)
    job = export_job(args.bundle, args.job_dir, args.rounds, args.local_epochs, frames, args.site_bundle,
                     args.site_config, compression=args.compression,
                     reset_optimizer=args.reset_optimizer, aggregation=args.aggregation,
                     error_feedback=args.error_feedback)  # fmt: skip
    print(f"wrote the job {job}: submit it with `nvflare job submit -j {job}` from the admin console")
    return 0


ERROR_FEEDBACK_HELP = ("with --compression: each site adds to its update what compression dropped from its "
                       "previous one, so rounding errors do not add up over rounds (docs/federated.md)")
RESET_HELP = "each site clears its optimizer state (AdamW's moments) before every round (docs/federated.md)"
AGGREGATION_HELP = ("fedavg: frame-weighted mean of the updates; fednova: the same of updates normalised by each "
                    "site's local steps, so a site's pull follows its frames (docs/federated.md)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monai-lightseg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="segment the shipped sample images with the best trained polyp bundle")
    demo.add_argument("--images", default=str(SAMPLES), help="folder of images (default: shipped samples)")
    demo.add_argument("--output", default="demo_output", help="folder for masks and overlays")
    demo.add_argument("--bundle", default=None, help="bundle folder (default: best trained polyp bundle)")
    demo.add_argument("--variant", default="base", help="network variant when no bundle is trained")
    demo.set_defaults(func=_segment_samples)
    nets = sub.add_parser("networks", help="run every network (untrained) on sample images: shapes, params, MACs")
    nets.add_argument("--images", default=str(SAMPLES), help="folder of PNG/JPEG images (default: shipped samples)")
    nets.add_argument("--variant", default="base", help="network variant: tiny, small or base")
    nets.set_defaults(func=_networks)
    seg = sub.add_parser("segment", help="segment every study in a folder tree with a bundle")
    seg.add_argument("--bundle", required=True, help="bundle folder (configs/, models/model.pt)")
    seg.add_argument("--input", required=True, help="folder tree of DICOM, NIfTI and 2D images, or a DICOMweb URL")
    seg.add_argument("--output", required=True, help="output root (mirrors the input tree; not inside it)")
    seg.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA when available)")
    seg.add_argument("--resume", action="store_true", help="skip studies the manifest lists as fully written")
    seg.add_argument(
        "--overwrite",
        action="store_true",
        help="redo every study, replacing outputs a batch here wrote (no other files)",
    )
    seg.add_argument("--num-parts", type=int, default=1, help="split the batch into this many parts")
    seg.add_argument("--part-id", type=int, default=0, help="which part this process runs (0-based)")
    seg.add_argument("--modality", nargs="*", default=["CT", "MR"], help="DICOM modalities to segment")
    seg.add_argument("--orientation", nargs="*", default=[], help="axial, coronal, sagittal, oblique (default any)")
    seg.add_argument(
        "--exclude-image-type",
        nargs="*",
        default=["LOCALIZER", "SCOUT"],
        help="skip DICOM series whose ImageType holds any of these values",
    )
    seg.add_argument("--min-slices", type=int, default=3, help="skip DICOM series with fewer slices")
    seg.add_argument("--no-progress", action="store_true", help="no progress bar")
    seg.add_argument(
        "--no-reparameterize", action="store_true",
        help="run the network as trained (default: as the bundle says; its batch norms folded for speed)",
    )  # fmt: skip
    seg.add_argument(
        "--runtime", choices=["eager", "torchscript", "onnxruntime", "auto"], default=None,
        help="how the network runs: PyTorch eager, TorchScript, ONNX Runtime on the CPU, or auto (ONNX Runtime "
        "when the network runs on the CPU and the onnx extra is installed, else eager) (default: the bundle's "
        "runtime)",
    )  # fmt: skip
    seg.add_argument(
        "--flip-tta", action="store_true",
        help="test-time augmentation: average the network's output over the image and its flips "
        "(one more pass per flipped axis; default: as the bundle says, off in the shipped bundles)",
    )  # fmt: skip
    seg.add_argument(
        "--scale-tta", action="store_true",
        help="test-time augmentation: average the network's output over the image resized by the bundle's "
        "scale_tta_factors (polyp bundles: as is and 1.25x, 1.4-1.7x the time per frame; default: as the bundle "
        "says, off)",
    )  # fmt: skip
    seg.add_argument(
        "--pacs-filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="QIDO-RS study filter for a DICOMweb input, e.g. ModalitiesInStudy=MR (repeatable)",
    )
    seg.add_argument("--no-store", action="store_true", help="with a DICOMweb input: do not store SEGs back")
    seg.set_defaults(func=_segment)
    export = sub.add_parser(
        "export-bundle", help="write a copy of a bundle that runs without monai_lightseg (its code in scripts/)"
    )
    export.add_argument("bundle", help="bundle folder (configs/, models/model.pt)")
    export.add_argument("output", help="new folder for the copy (never overwritten)")
    export.add_argument("--zip", action="store_true", help="also write OUTPUT.zip (one top folder, as the zoo's)")
    export.set_defaults(func=_export_bundle)
    fed = sub.add_parser("federate", help="federated training of a polyp bundle: Kvasir-SEG and CVC-ClinicDB sites")
    fed.add_argument("--bundle", required=True, help="polyp bundle folder (its train.json drives each site)")
    fed.add_argument("--data", required=True, help="folder the bundle's datalist is relative to (../shared/data)")
    fed.add_argument("--workspace", required=True, help="new folder for the run (never overwritten)")
    fed.add_argument("--rounds", type=int, required=True, help="federated rounds")
    fed.add_argument("--local-epochs", type=int, default=1, help="passes over a site's frames per round")
    fed.add_argument("--compression", choices=["int8", "fp16"], default=None, help="compress the sites' updates")
    fed.add_argument("--seed", type=int, default=0, help="seed of the global model's initialisation")
    fed.add_argument("--threads", type=int, default=1, help="torch threads per site process")
    fed.add_argument("--reset-optimizer", action="store_true", help=RESET_HELP)
    fed.add_argument("--aggregation", choices=["fedavg", "fednova"], default="fedavg", help=AGGREGATION_HELP)
    fed.add_argument("--error-feedback", action="store_true", help=ERROR_FEEDBACK_HELP)
    fed.set_defaults(func=_federate)
    site = sub.add_parser("federate-site", help="real federation, at a hospital: write its site config")
    site.add_argument("--bundle", required=True, help="the polyp bundle folder at this site")
    site.add_argument("--datalist", required=True, help="this site's datalist JSON ('training' and 'validation')")
    site.add_argument("--data", required=True, help="folder the datalist's paths are relative to")
    site.add_argument("--rounds", type=int, required=True, help="federated rounds (as in the job)")
    site.add_argument("--local-epochs", type=int, default=1, help="passes over the site's frames per round")
    site.add_argument("--out", required=True, help="the site config to write (the job's --site-config path)")
    site.set_defaults(func=_federate_site)
    export = sub.add_parser("federate-export", help="real federation, at the coordinator: write the NVFlare job")
    export.add_argument("--bundle", required=True, help="the polyp bundle (its network is the global model)")
    export.add_argument("--job-dir", required=True, help="new folder for the job")
    export.add_argument("--rounds", type=int, required=True)
    export.add_argument("--local-epochs", type=int, default=1)
    export.add_argument("--site", action="append", required=True, help="NAME=FRAMES per site, e.g. site-1=800")
    export.add_argument("--site-bundle", required=True, help="the bundle's path at the sites ({site}: the name)")
    export.add_argument("--site-config", required=True, help="the site config's path at the sites ({site}: the name)")
    export.add_argument("--compression", choices=["int8", "fp16"], default=None)
    export.add_argument("--reset-optimizer", action="store_true", help=RESET_HELP)
    export.add_argument("--aggregation", choices=["fedavg", "fednova"], default="fedavg", help=AGGREGATION_HELP)
    export.add_argument("--error-feedback", action="store_true", help=ERROR_FEEDBACK_HELP)
    export.set_defaults(func=_federate_export)
    merge = sub.add_parser("merge", help="merge the reports of a batch split with --num-parts")
    merge.add_argument("output", help="the batch's output root")
    merge.set_defaults(func=_merge)
    return parser


# Notices from the libraries underneath that say nothing about the user's data or results, printed on every run:
# every MONAI LoadImage builds its nvImageCodec DICOM reader, which reports twice (a log line and a warning) that
# NVIDIA's GPU decoder is absent and pydicom's own decoders are used (what a CPU machine is meant to do);
# scikit-image 0.26 deprecates the ``min_size`` that MONAI's RemoveSmallObjects passes (same behaviour until
# scikit-image 2.0). Regular expressions on the start of each message, and its category; every other warning is
# shown.
KNOWN_LIBRARY_NOTICES = (
    (r"NvImgCodecPydicomReader: nvImageCodec decoder plugin did not register", UserWarning),
    (r"Parameter `min_size` is deprecated", FutureWarning),
)
KNOWN_LIBRARY_LOGGERS = ("monai.data.nvimgcodec_pydicom_plugin",)


def silence_known_library_notices() -> None:
    """Hide :data:`KNOWN_LIBRARY_NOTICES` (warnings) and warnings logged by :data:`KNOWN_LIBRARY_LOGGERS`, for
    this process: called by :func:`main` only, so code that imports the package keeps its own filters."""
    import logging
    import warnings

    for message, category in KNOWN_LIBRARY_NOTICES:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name in KNOWN_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; what the user gave that cannot be used (a missing file, an existing output, a bad value)
    is one line on stderr naming it, and exit status 2, not a traceback."""
    args = build_parser().parse_args(argv)
    silence_known_library_notices()
    try:
        return int(args.func(args))
    except (FileExistsError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
