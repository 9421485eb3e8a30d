"""Locate-then-segment against full-resolution sliding window on large canvases: wall time, peak memory, Dice.

Each validation image (never trained on) is placed at its native scale at a seeded random position inside a
square canvas of 1024^2, 2048^2 or 4096^2 pixels; the canvas around it is lesion-free: the image's own median
non-polyp colour with Gaussian noise (sigma 6 grey levels). Both inferers run the same bundle's network with
the same ROI (the bundle's), overlap 0.25 and Gaussian blending; the mask is sigmoid > 0.5 as in the bundle.
Lesion coverage is the polyp area over the canvas area. Each (canvas size, inferer) runs in its own subprocess,
so peak RSS belongs to that run alone (it includes the interpreter, torch and the canvas itself).

    python benchmarks/benchmark_locate_then_segment.py --bundle bundles/polyp_endoscopy_unet_segmentation \\
        --data ../shared/data --images 6 --sizes 1024 2048 4096 --threads 2 \\
        --out benchmarks/results/locate_then_segment_cpu.json

``--device cuda`` runs the network on the GPU (the output is still assembled on the CPU for 4096^2).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INFERERS = ("full_sliding_window", "locate_then_segment")


def canvases(data: Path, bundle: Path, n_images: int, size: int, seed: int = 0):
    """Yield (name, canvas (3, size, size) float in [0, 1], mask (size, size) bool) for the first validation
    images of the bundle's committed split, alternating Kvasir-SEG and CVC-ClinicDB."""
    import numpy as np
    from PIL import Image

    split = json.loads((bundle / "configs" / "datalist.json").read_text())["validation"]
    kvasir = [i for i in split if i["image"].startswith("kvasir")]
    cvc = [i for i in split if i["image"].startswith("cvc")]
    chosen = [x for pair in zip(kvasir, cvc) for x in pair][:n_images]
    rng = np.random.default_rng(seed)
    for item in chosen:
        image = np.asarray(Image.open(data / item["image"]).convert("RGB"), dtype=np.float32)
        mask = np.asarray(Image.open(data / item["label"]).convert("L")) > 127
        h, w = mask.shape
        colour = np.median(image[~mask], axis=0)
        canvas = colour + rng.normal(0, 6, (size, size, 3)).astype(np.float32)
        full_mask = np.zeros((size, size), dtype=bool)
        y, x = int(rng.integers(0, size - h)), int(rng.integers(0, size - w))
        canvas[y : y + h, x : x + w] = image
        full_mask[y : y + h, x : x + w] = mask
        yield item["image"], np.clip(canvas, 0, 255).transpose(2, 0, 1) / 255.0, full_mask


def run_case(args) -> dict:
    import numpy as np
    import torch
    from monai.bundle import ConfigParser
    from monai.inferers import SlidingWindowInferer

    from monai_lightseg.inference import LocateThenSegmentInferer

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    parser = ConfigParser()
    parser.read_config(str(args.bundle / "configs" / "inference.json"))
    net = parser.get_parsed_content("network_def")
    net.load_state_dict(torch.load(args.bundle / "models" / "model.pt", map_location="cpu", weights_only=True))
    net = net.to(device).eval()
    roi = parser.get_parsed_content("roi_size")
    common = {"roi_size": roi, "sw_batch_size": 4, "overlap": 0.25, "mode": "gaussian", "sw_device": device,
              "device": torch.device("cpu")}  # fmt: skip
    if args.inferer == "full_sliding_window":
        inferer = SlidingWindowInferer(**common)
    else:
        inferer = LocateThenSegmentInferer(**common, downsample=args.downsample, margin=args.margin)
    rows = []
    for name, canvas, mask in canvases(args.data, args.bundle, args.images, args.size):
        x = torch.from_numpy(canvas[None].astype(np.float32))
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.no_grad(), torch.autocast("cuda", enabled=device.type == "cuda"):
            logits = inferer(x.to(device) if args.inferer == "full_sliding_window" else x, net)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        pred = (torch.sigmoid(logits.float())[0, 0] > 0.5).numpy()
        dice = 2 * (pred & mask).sum() / max(1, pred.sum() + mask.sum())
        row = {"image": name, "seconds": elapsed, "dice": float(dice), "lesion_coverage": float(mask.mean())}
        if args.inferer == "locate_then_segment":
            row.update({k: v for k, v in inferer.last_run.items() if isinstance(v, (int, float, str))})
        rows.append(row)
    peak = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        peak["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return {"rows": rows, **peak}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, default=REPO / "bundles" / "polyp_endoscopy_unet_segmentation")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--downsample", type=int, default=4)
    ap.add_argument("--margin", type=int, default=16)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--inferer", choices=INFERERS, help=argparse.SUPPRESS)  # one case, in a subprocess
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inferer:
        print(json.dumps(run_case(args)))
        return 0
    results = []
    for size in args.sizes:
        for inferer in INFERERS:
            cmd = [sys.executable, __file__, "--inferer", inferer, "--size", str(size)]
            for key in ("bundle", "data", "images", "threads", "device", "downsample", "margin"):
                cmd += [f"--{key}", str(getattr(args, key))]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            case = json.loads(done.stdout.strip().splitlines()[-1])
            seconds = sum(r["seconds"] for r in case["rows"])
            dice = sum(r["dice"] for r in case["rows"]) / len(case["rows"])
            print(f"{size}^2 {inferer:>22}: {seconds:7.2f} s for {len(case['rows'])} images, mean Dice {dice:.4f}, "
                  f"peak RSS {case['peak_rss_mb']:.0f} MB", flush=True)  # fmt: skip
            results.append({"size": size, "inferer": inferer, **case})
    if args.out:
        import torch

        meta = {
            "bundle": args.bundle.name,
            "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(0),
            "threads": args.threads,
            "cpu": platform.processor() or platform.machine(),
            "torch": torch.__version__,
            "downsample": args.downsample,
            "margin": args.margin,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
