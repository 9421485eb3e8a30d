"""What a polyp bundle marks on mucosa without a polyp: its network on one polyp-free window of each validation
frame (issue 17, "Foreground prior").

Both polyp datasets show a polyp in every frame, so a validation Dice says nothing about false positives on
polyp-free tissue, which is what decides whether locate-then-segment can trust its coarse pass
(docs/inference.md). Here each validation frame of the bundle's committed split is resized by the bundle's scale
rule (longer side ``frame_size``), one ``--side`` x ``--side`` window without a polyp pixel is drawn from it (a
fixed generator, so every bundle sees the same windows; frames with no such window are skipped), and the
bundle's network runs on the window alone. Reported per bundle: the share of windows where anything is marked
(sigmoid > 0.5, components under the bundle's ``min_polyp_area`` dropped, as its inference does) and the mean
share of the window marked, per dataset and overall.

A window alone is a small input; under the scale rule the network always sees a whole ``frame_size`` view, and
every training view held a polyp. So the same is measured on ``--mosaics`` views of ``frame_size`` x
``frame_size`` made of 64 x 64 polyp-free tiles (cut with stride 32 from the validation frames of one dataset,
the tiles the locate-then-segment benchmark's canvas is made of): what the network marks when a whole view holds
no polyp.

    python benchmarks/polyp_free_windows.py --bundle bundles/polyp_endoscopy_feature_compression_net_segmentation \\
        --bundle /path/to/another/bundle --out benchmarks/results/polyp_free_windows.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from trained_bundle import trained_network  # noqa: E402

DATASETS = ("kvasir_seg", "cvc_clinicdb")


def validation_frames(data: Path, bundle: Path, frame_size: int) -> list[tuple]:
    """(dataset, frame name, RGB float (H, W, 3) in [0, 1], polyp mask bool (H, W)) of each validation frame of the
    bundle's committed split, resized by the scale rule (longer side ``frame_size``); read once, used by both
    measures."""
    import numpy as np
    from PIL import Image

    split = json.loads((bundle / "configs" / "datalist.json").read_text(encoding="utf-8"))["validation"]
    frames = []
    for item in split:
        try:
            image = Image.open(data / item["image"]).convert("RGB")
            label = Image.open(data / item["label"]).convert("L")
        except OSError as err:
            raise SystemExit(f"polyp_free_windows: cannot read {item['image']} / {item['label']} under {data}: {err}")
        scale = frame_size / max(image.size)
        size = (round(image.width * scale), round(image.height * scale))
        pixels = np.asarray(image.resize(size, Image.BILINEAR), dtype=np.float32) / 255.0
        polyp = np.asarray(label.resize(size, Image.NEAREST)) > 127
        dataset = next((d for d in DATASETS if item["image"].startswith(d)), "other")
        frames.append((dataset, Path(item["image"]).stem, pixels, polyp))
    return frames


def windows(frames: list, side: int, seed: int = 0):
    """Yield (dataset, frame name, window (1, 3, side, side)) for each of ``frames`` that has a polyp-free
    ``side`` window (one drawn per frame with a seeded generator)."""
    import numpy as np
    import torch

    from monai_lightseg.transforms import lesion_free_window_starts

    rng = np.random.default_rng(seed)
    for dataset, name, pixels, polyp in frames:
        starts = lesion_free_window_starts(torch.from_numpy(polyp)[None], (side, side))
        if not len(starts):
            continue
        top, left = starts[int(rng.integers(len(starts)))].tolist()
        window = pixels[top : top + side, left : left + side]
        yield dataset, name, torch.from_numpy(window).permute(2, 0, 1)[None].contiguous()


def mosaics(frames: list, frame_size: int, count: int, seed: int = 0):
    """Yield (dataset, index, view (1, 3, frame_size, frame_size)) for ``count`` mosaics per dataset of 64 x 64
    polyp-free tiles (stride 32) of that dataset's ``frames`` (seeded picks)."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    for dataset in DATASETS:
        tiles = []
        for _, _, pixels, polyp in (f for f in frames if f[0] == dataset):
            for y in range(0, pixels.shape[0] - 63, 32):
                for x in range(0, pixels.shape[1] - 63, 32):
                    if not polyp[y : y + 64, x : x + 64].any():
                        tiles.append(pixels[y : y + 64, x : x + 64])
        per_side = -(-frame_size // 64)
        for k in range(count):
            picks = rng.integers(0, len(tiles), per_side**2)
            rows = [np.concatenate([tiles[p] for p in picks[r * per_side : (r + 1) * per_side]], 1)
                    for r in range(per_side)]  # fmt: skip
            view = np.concatenate(rows, 0)[:frame_size, :frame_size]
            yield dataset, k, torch.from_numpy(view).permute(2, 0, 1)[None].contiguous()


def _summary(per: dict[str, list[tuple[bool, float]]]) -> dict:
    import numpy as np

    per["all"] = [r for d in DATASETS for r in per.get(d, [])]
    return {
        name: {"views": len(rows), "share_marked": float(np.mean([m for m, _ in rows])),
               "mean_area_marked": float(np.mean([a for _, a in rows]))}  # fmt: skip
        for name, rows in per.items()
        if rows
    }


def measure(bundle: Path, data: Path, side: int, n_mosaics: int, threads: int) -> dict:
    import torch
    from monai.transforms import RemoveSmallObjects

    torch.set_num_threads(threads)
    parser, net = trained_network(bundle, "polyp_free_windows", require=("frame_size",))
    frame_size, min_area = int(parser["frame_size"]), int(parser.get("min_polyp_area", 0))
    drop = RemoveSmallObjects(min_size=min_area, connectivity=2)
    out = {}
    frames = validation_frames(data, bundle, frame_size)
    for kind, views in (("windows", windows(frames, side)), ("mosaics", mosaics(frames, frame_size, n_mosaics))):
        per: dict[str, list[tuple[bool, float]]] = {}
        with torch.no_grad():
            for dataset, _, view in views:
                pred = (torch.sigmoid(net(view)[:, :1]) > 0.5)[0].float()
                pred = drop(pred) if min_area else pred
                per.setdefault(dataset, []).append((bool(pred.any()), float(pred.mean())))
        out[kind] = _summary(per)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, action="append", required=True, help="a polyp bundle; repeatable")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--side", type=int, default=96, help="window side at the scale rule's frame size")
    ap.add_argument("--mosaics", type=int, default=50, help="polyp-free mosaic views per dataset")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    results = {}
    for bundle in args.bundle:
        results[str(bundle)] = measure(bundle, args.data, args.side, args.mosaics, args.threads)
        for kind, r in results[str(bundle)].items():
            r = r["all"]
            print(f"{bundle}: {r['views']} {kind}, marked {r['share_marked']:.3f}, area {r['mean_area_marked']:.4f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {"side": args.side, "mosaics": args.mosaics, "results": results}
        args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
