"""Whole-pipeline CPU time of a bundle under each runtime: what a user waits for, not the network alone.

``bundle_latency.py`` times the network on one window. This times :class:`monai_lightseg.inference.BundleSegmenter`
on the bundle's own sample frames (reading, preprocessing, the network, post-processing, the mask at the frame's
size), 2 threads:

- ``first_frame_s``: in a fresh process, the first frame after the bundle is loaded (ONNX Runtime's export happens
  here), then the import and load times;
- ``ms_per_frame``: in one process, after two warm-up passes, each (bundle, runtime) in turn for ``--rounds``
  rounds of 5 passes over the samples; the median round and the range.

    python benchmarks/bundle_runtime_pipeline.py --bundle bundles/polyp_endoscopy_light_u2net_segmentation \\
        --runtime eager --runtime onnxruntime --out benchmarks/results/some_pipeline.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from machine import cpu_name  # noqa: E402

from monai_lightseg.inference.runtimes import RUNTIMES  # noqa: E402

PASSES = 5


def samples(bundle: Path) -> list[Path]:
    """The bundle's sample frames (none for a folder without ``sample_data/images``)."""
    folder = bundle / "sample_data" / "images"
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def first_frame(bundle: Path, runtime: str) -> dict:
    """Import, load and first-frame seconds of ``bundle`` under ``runtime`` in a fresh Python process."""
    code = f"""
import json, time
t0 = time.perf_counter()
import torch
from monai_lightseg.inference import BundleSegmenter
torch.set_num_threads(2)
t1 = time.perf_counter()
seg = BundleSegmenter({str(bundle)!r}, device="cpu", runtime={runtime!r})
t2 = time.perf_counter()
seg({str(samples(bundle)[0])!r})
t3 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "load_s": t2 - t1, "first_frame_s": t3 - t2}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def shown(bundle: Path) -> str:
    """``bundle`` relative to the repository when inside it (the results name no machine's paths)."""
    try:
        return str(bundle.relative_to(REPO))
    except ValueError:
        return str(bundle)


def steady_ms(runs: list[tuple[Path, str]], rounds: int) -> dict[tuple[Path, str], list[float]]:
    """Per (bundle, runtime), each round's mean ms per frame over ``PASSES`` passes of the samples."""
    import torch

    from monai_lightseg.inference import BundleSegmenter

    torch.set_num_threads(2)
    segmenters = {(b, r): (BundleSegmenter(b, device="cpu", runtime=r), samples(b)) for b, r in runs}
    for seg, frames in segmenters.values():
        for _ in range(2):
            for frame in frames:
                seg(frame)
    times: dict[tuple[Path, str], list[float]] = {key: [] for key in segmenters}
    for _ in range(rounds):
        for key, (seg, frames) in segmenters.items():
            start = time.perf_counter()
            for _ in range(PASSES):
                for frame in frames:
                    seg(frame)
            times[key].append((time.perf_counter() - start) / (PASSES * len(frames)) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, action="append", required=True, help="bundle folder; repeat")
    ap.add_argument("--runtime", action="append", required=True, choices=RUNTIMES, help="repeat")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    for bundle in args.bundle:
        if not samples(bundle):
            ap.error(f"{bundle}: no sample frames to time (sample_data/images)")
    runs = [(b.resolve(), r) for b in args.bundle for r in args.runtime]  # the fresh process runs in REPO
    result: dict = {"machine": cpu_name(), "threads": 2, "rounds": args.rounds, "passes_per_round": PASSES, "runs": {}}
    for bundle, runtime in runs:
        result["runs"][f"{shown(bundle)}:{runtime}"] = {"fresh_process": first_frame(bundle, runtime)}
    for (bundle, runtime), rounds in steady_ms(runs, args.rounds).items():
        result["runs"][f"{shown(bundle)}:{runtime}"].update(
            {
                "ms_per_frame_per_round": rounds,
                "ms_per_frame": statistics.median(rounds),
                "range": [min(rounds), max(rounds)],
            }
        )
    for key, row in result["runs"].items():
        fresh = row["fresh_process"]
        print(f"{key}: {row['ms_per_frame']:.1f} ms per frame ({row['range'][0]:.1f}-{row['range'][1]:.1f}); "
              f"first frame in a fresh process {fresh['first_frame_s']:.2f} s")  # fmt: skip
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
