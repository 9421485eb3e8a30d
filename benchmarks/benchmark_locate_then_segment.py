"""Locate-then-segment against full-resolution sliding window on large canvases: wall time, peak memory, Dice.

Each validation image (never trained on) is placed at its native scale at a seeded random position inside a
square canvas of 1024^2, 2048^2 or 4096^2 pixels. The canvas around it is lesion-free mucosa: a mosaic of
64x64 tiles cut (seeded) from the polyp-free parts of the other validation frames of the same dataset (no
tile holds a polyp pixel), so the background has real texture and colour rather than a flat fill. Both
inferers run the same bundle's network with the same ROI (the bundle's), overlap 0.25 and Gaussian blending;
the mask is sigmoid > 0.5 as in the bundle. ``given_box`` is the same inferer told where to look (the polyp's
bounding box, as a user's box or a prior annotation would give it) instead of running its coarse pass.
For a bundle with a scale rule (``frame_size`` in its inference.json, the polyp bundles from 0.2.0) each
frame and the tiles are first resized the way the bundle resizes a frame (longer side ``frame_size``), so the
polyp is at the scale the network was trained at; the canvas then stands for a large image holding a small
frame-sized view (``--frame-size 0`` places frames at native scale). Lesion coverage is the polyp area over
the canvas area; "found" counts the frames whose polyp gets Dice > 0.5. Each (canvas size, inferer) runs in its
own subprocess, so peak RSS belongs to that run alone (it includes the interpreter, torch and the canvas itself).

    python benchmarks/benchmark_locate_then_segment.py --bundle bundles/polyp_endoscopy_unet_segmentation \\
        --data ../shared/data --images 6 --sizes 1024 2048 4096 --threads 2 \\
        --out benchmarks/results/locate_then_segment_cpu.json

``--max-lesions K`` tells the locate path to keep only its K coarse components of largest probability mass
(``LocateThenSegmentInferer(max_lesions=K)``) and, so that every path is judged alike, keeps the K largest
connected components of every path's mask (MONAI's ``KeepLargestConnectedComponent``, inside the timed part).

``--device cuda`` runs the network on the GPU (the output is still assembled on the CPU for 4096^2).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from machine import cpu_name  # noqa: E402
from trained_bundle import trained_network  # noqa: E402

from monai_lightseg.inference.runtimes import RUNTIMES  # noqa: E402

INFERERS = ("full_sliding_window", "locate_then_segment", "given_box")


def canvases(data: Path, bundle: Path, n_images: int, size: int, seed: int = 0, frame_size: int = 0):
    """Yield (name, canvas (3, size, size) float in [0, 1], mask (size, size) bool) for the first validation
    images of the bundle's committed split, alternating Kvasir-SEG and CVC-ClinicDB; ``frame_size`` > 0: frames
    resized to that longer side first (the bundle's scale rule)."""
    import numpy as np
    from PIL import Image

    split = json.loads((bundle / "configs" / "datalist.json").read_text(encoding="utf-8"))["validation"]
    kvasir = [i for i in split if i["image"].startswith("kvasir")]
    cvc = [i for i in split if i["image"].startswith("cvc")]
    chosen = [x for pair in zip(kvasir, cvc) for x in pair][:n_images]
    rng = np.random.default_rng(seed)

    def load(item):
        image, label = Image.open(data / item["image"]).convert("RGB"), Image.open(data / item["label"]).convert("L")
        if frame_size:
            scale = frame_size / max(image.size)
            size_ = (round(image.width * scale), round(image.height * scale))
            image, label = image.resize(size_, Image.BILINEAR), label.resize(size_, Image.NEAREST)
        return np.asarray(image, dtype=np.float32), np.asarray(label) > 127

    for item in chosen:
        image, mask = load(item)
        h, w = mask.shape
        same_dataset = [i for i in (kvasir if item in kvasir else cvc) if i is not item][:20]
        tiles = []
        for other in same_dataset:
            frame, polyp = load(other)
            for y in range(0, frame.shape[0] - 64, 32):
                for x in range(0, frame.shape[1] - 64, 32):
                    if not polyp[y : y + 64, x : x + 64].any():
                        tiles.append(frame[y : y + 64, x : x + 64])
        canvas = np.empty((size, size, 3), dtype=np.float32)
        picks = rng.integers(0, len(tiles), (size // 64) ** 2)
        for k, (ty, tx) in enumerate((a, b) for a in range(0, size, 64) for b in range(0, size, 64)):
            canvas[ty : ty + 64, tx : tx + 64] = tiles[picks[k]]
        full_mask = np.zeros((size, size), dtype=bool)
        y, x = int(rng.integers(0, size - h)), int(rng.integers(0, size - w))
        canvas[y : y + h, x : x + w] = image
        full_mask[y : y + h, x : x + w] = mask
        yield item["image"], np.clip(canvas, 0, 255).transpose(2, 0, 1) / 255.0, full_mask


def volumes(data: Path, bundle: Path, n_volumes: int, shape: tuple[int, int, int], seed: int = 0):
    """3D counterpart of :func:`canvases` for a hippocampus bundle: each validation volume (intensities scaled
    from its 0.5..99.5 percentiles to [0, 1], as the bundle does; MSD volumes are RAS at 1 mm already) sits
    in a canvas of ``shape`` made of 16^3 tiles cut from the label-free parts of other validation volumes.
    Yields (name, canvas (1, *shape) float, labels (*shape) int)."""
    import nibabel as nib
    import numpy as np

    root = data / "msd_hippocampus"
    split = json.loads((bundle / "configs" / "datalist.json").read_text(encoding="utf-8"))["validation"]
    rng = np.random.default_rng(seed)

    def load(item):
        image = np.asarray(nib.load(root / item["image"]).dataobj, dtype=np.float32)
        low, high = np.percentile(image, [0.5, 99.5])
        image = np.clip((image - low) / max(high - low, 1e-6), 0, 1)
        return image, np.asarray(nib.load(root / item["label"]).dataobj).round().astype(np.uint8)

    tiles = []
    for other in split[n_volumes : n_volumes + 12]:
        image, labels = load(other)
        for z in range(0, image.shape[0] - 16, 8):
            for y in range(0, image.shape[1] - 16, 8):
                for x in range(0, image.shape[2] - 16, 8):
                    if not labels[z : z + 16, y : y + 16, x : x + 16].any():
                        tiles.append(image[z : z + 16, y : y + 16, x : x + 16])
    for item in split[:n_volumes]:
        image, labels = load(item)
        canvas = np.empty(shape, dtype=np.float32)
        corners = [
            (a, b, c) for a in range(0, shape[0], 16) for b in range(0, shape[1], 16) for c in range(0, shape[2], 16)
        ]
        picks = rng.integers(0, len(tiles), len(corners))
        for k, (a, b, c) in enumerate(corners):
            region = canvas[a : a + 16, b : b + 16, c : c + 16]
            region[...] = tiles[picks[k]][: region.shape[0], : region.shape[1], : region.shape[2]]
        full = np.zeros(shape, dtype=np.uint8)  # uint8: a 512x512x600 case stays small
        at = [int(rng.integers(0, s - v)) for s, v in zip(shape, image.shape)]
        where = tuple(slice(a, a + v) for a, v in zip(at, image.shape))
        canvas[where], full[where] = image, labels
        yield item["image"], canvas[None], full


def run_case(args) -> dict:
    import numpy as np
    import torch
    from monai.inferers import SlidingWindowInferer
    from monai.transforms import KeepLargestConnectedComponent

    from monai_lightseg.inference import LocateThenSegmentInferer

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    parser, net = trained_network(args.bundle, "benchmark_locate_then_segment", runtime=args.runtime)
    net = net.to(device)
    roi = parser.get_parsed_content("roi_size")
    frame_size = int(parser.get("frame_size", 0)) if args.frame_size is None else args.frame_size
    common = {"roi_size": roi, "sw_batch_size": 4, "overlap": 0.25, "mode": "gaussian", "sw_device": device,
              "device": torch.device("cpu")}  # fmt: skip
    if args.inferer == "full_sliding_window":
        inferer = SlidingWindowInferer(**common)
    else:
        inferer = LocateThenSegmentInferer(**common, downsample=args.downsample, margin=args.margin,
                                           max_lesions=args.max_lesions)  # fmt: skip
    keep = KeepLargestConnectedComponent(num_components=args.max_lesions) if args.max_lesions else None
    rows = []
    shape = tuple(int(v) for v in args.size.split("x"))
    if len(roi) == 3:
        cases = volumes(args.data, args.bundle, args.images, shape if len(shape) == 3 else shape * 3)
    else:
        cases = canvases(args.data, args.bundle, args.images, shape[0], frame_size=frame_size)
    rss_before = None
    for name, canvas, mask in cases:
        x = torch.from_numpy(canvas[None].astype(np.float32))
        if rss_before is None:  # the harness's own high-water mark (canvas, labels, torch) before any inference
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.no_grad(), torch.autocast("cuda", enabled=device.type == "cuda"):
            if args.inferer == "full_sliding_window":
                logits = inferer(x.to(device), net)
            elif args.inferer == "given_box":
                where = np.nonzero(mask)
                logits = inferer(x, net, boxes=[(*(w.min() for w in where), *(w.max() + 1 for w in where))])
            else:
                logits = inferer(x, net)
        if logits.shape[1] == 1:
            pred, classes = (torch.sigmoid(logits.float())[0, 0] > 0.5).to(torch.uint8), [1]
        else:
            pred, classes = logits[0].argmax(0).to(torch.uint8), list(range(1, logits.shape[1]))
        if keep is not None:
            pred = keep(pred.cpu()[None])[0]
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        pred = pred.cpu().numpy()
        dice = np.mean([2 * ((pred == k) & (mask == k)).sum() / max(1, (pred == k).sum() + (mask == k).sum())
                        for k in classes])  # fmt: skip
        row = {"image": name, "seconds": elapsed, "dice": float(dice), "lesion_coverage": float((mask > 0).mean())}
        if args.inferer != "full_sliding_window":
            row.update({k: v for k, v in inferer.last_run.items() if isinstance(v, (int, float, str))})
        rows.append(row)
    peak = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_before_mb": rss_before}
    if device.type == "cuda":
        peak["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return {"rows": rows, "frame_size": frame_size, **peak}


def markdown(results: list[dict]) -> str:
    """A table for docs/inference.md: per canvas size and inferer, total time, speed-up, Dice, memory, paths."""
    lines = [
        "| canvas | inferer | images | lesion coverage (mean) | time (s, total) | speed-up | Dice vs truth (mean) "
        "| found (Dice > 0.5) | peak RSS (MB) (harness alone) | path taken |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    full = {r["size"]: sum(x["seconds"] for x in r["rows"]) for r in results if r["inferer"] == INFERERS[0]}
    full = {size: full.get(size, math.nan) for size in {r["size"] for r in results}}
    for r in results:
        rows = r["rows"]
        seconds = sum(x["seconds"] for x in rows)
        paths = sorted({x.get("path", "full") for x in rows})
        counts = ", ".join(f"{p} {sum(x.get('path', 'full') == p for x in rows)}" for p in paths)
        coverage = sum(x["lesion_coverage"] for x in rows) / len(rows)
        before = f" ({r['rss_before_mb']:.0f} before)" if r.get("rss_before_mb") else ""
        lines.append(
            f"| {r['size']} | {r['inferer']} | {len(rows)} | {coverage:.4f} "
            f"| {seconds:.1f} | {full[r['size']] / seconds:.2f}x | {sum(x['dice'] for x in rows) / len(rows):.4f} "
            f"| {sum(x['dice'] > 0.5 for x in rows)}/{len(rows)} | {r['peak_rss_mb']:.0f}{before} | {counts} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, default=REPO / "bundles" / "polyp_endoscopy_unet_segmentation")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--sizes", nargs="+", default=["1024", "2048", "4096"], help="N (square/cube) or AxBxC")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--downsample", type=int, default=4)
    ap.add_argument("--margin", type=int, default=16)
    ap.add_argument("--frame-size", type=int, default=None, help="default: the bundle's frame_size, if any")
    ap.add_argument("--inferers", nargs="+", choices=INFERERS, default=list(INFERERS))
    ap.add_argument("--max-lesions", type=int, default=None, help="K >= 1: keep K lesions (largest mass / area)")
    ap.add_argument(
        "--runtime", choices=RUNTIMES, default=None,
        help="how the network runs (default: as the bundle's inference.json says); ONNX Runtime exports once per "
        "window batch shape inside the first canvas's time, so compare paths on eager",
    )  # fmt: skip
    ap.add_argument("--out", type=Path)
    ap.add_argument("--inferer", choices=INFERERS, help=argparse.SUPPRESS)  # one case, in a subprocess
    ap.add_argument("--size", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.max_lesions is not None and args.max_lesions < 1:
        ap.error("--max-lesions must be >= 1 (leave it out to keep every lesion)")
    if args.inferer:
        print(json.dumps(run_case(args)))
        return 0
    results = []
    for size in args.sizes:
        for inferer in args.inferers:
            cmd = [sys.executable, __file__, "--inferer", inferer, "--size", size]
            for key in ("bundle", "data", "images", "threads", "device", "downsample", "margin"):
                cmd += [f"--{key}", str(getattr(args, key))]
            cmd += [] if args.frame_size is None else ["--frame-size", str(args.frame_size)]
            cmd += [] if args.max_lesions is None else ["--max-lesions", str(args.max_lesions)]
            cmd += [] if args.runtime is None else ["--runtime", args.runtime]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            case = json.loads(done.stdout.strip().splitlines()[-1])
            seconds = sum(r["seconds"] for r in case["rows"])
            dice = sum(r["dice"] for r in case["rows"]) / len(case["rows"])
            print(f"{size} {inferer:>22}: {seconds:7.2f} s for {len(case['rows'])} images, mean Dice {dice:.4f}, "
                  f"peak RSS {case['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
            results.append({"size": size, "inferer": inferer, **case})
    print(markdown(results))
    if args.out:
        import torch

        meta = {
            "bundle": args.bundle.name,
            **bundle_identity(args.bundle),
            "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(0),
            "threads": args.threads,
            "cpu": cpu_name(),
            "torch": torch.__version__,
            "downsample": args.downsample,
            "margin": args.margin,
            "max_lesions": args.max_lesions,
            "runtime": args.runtime or "as the bundle says",
            "frame_size": results[0].get("frame_size") if results else None,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n", encoding="utf-8")
    return 0


def bundle_identity(bundle: Path) -> dict:
    """Which weights ran: the bundle's path (relative to the repository when inside it: copies made for an
    experiment share the shipped bundle's folder name), its metadata version and the SHA-256 of its model.pt."""
    path = bundle.resolve()
    try:
        shown = str(path.relative_to(REPO))
    except ValueError:
        shown = str(path)
    metadata = path / "configs" / "metadata.json"
    version = json.loads(metadata.read_text(encoding="utf-8")).get("version") if metadata.is_file() else None
    weights = path / "models" / "model.pt"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest() if weights.is_file() else None
    return {"bundle_path": shown, "bundle_version": version, "weights_sha256": digest}


if __name__ == "__main__":
    sys.exit(main())
