"""CPU time per window of trained bundles' networks as trained and as the bundle deploys them (its
``ReparameterizeNetwork`` handler: re-parameterised, channels-last where that pays), at batch sizes 1 and 4 (the
polyp bundles' ``sw_batch_size``): why benchmarks must time the deployed network (``benchmarks/trained_bundle.py``,
corrected 2026-12-06). The bundles' own latency figures (``bundle_latency.py``) already time it deployed.

Each (bundle, form, batch) is timed for ``--seconds`` of repeated calls after one warm-up call, all of them in
turn, ``--rounds`` times; reported: ms per window (a call's time over its batch), the median over rounds::

    python benchmarks/deployed_vs_trained_latency.py --bundle bundles/polyp_endoscopy_unet_segmentation \\
        --bundle bundles/polyp_endoscopy_light_u2net_segmentation --threads 2 --out OUT.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_name  # noqa: E402
from trained_bundle import trained_network  # noqa: E402


def networks(bundle: Path) -> dict[str, torch.nn.Module]:
    """``{"trained": ..., "deployed": ...}``: the bundle's network with its weights, as trained and as deployed."""
    return {form: trained_network(bundle, "deployed_vs_trained_latency", deployed=form == "deployed")[1]
            for form in ("trained", "deployed")}  # fmt: skip


def ms_per_window(net: torch.nn.Module, x: torch.Tensor, seconds: float) -> float:
    with torch.no_grad():
        net(x)
        start, calls = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            net(x)
            calls += 1
    return 1000 * (time.perf_counter() - start) / calls / x.shape[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, action="append", required=True)
    parser.add_argument("--window", type=int, default=256)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    nets = {b.name: networks(b) for b in args.bundle}
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for batch in args.batches:
            x = torch.rand(batch, 3, args.window, args.window, generator=torch.Generator().manual_seed(0))
            for name, forms in nets.items():
                for form, net in forms.items():
                    times.setdefault(f"{name}|{form}|{batch}", []).append(ms_per_window(net, x, args.seconds))
    rows = []
    for key, runs in times.items():
        name, form, batch = key.split("|")
        rows.append({"bundle": name, "form": form, "batch": int(batch), "ms_per_window": statistics.median(runs),
                     "rounds": runs})  # fmt: skip
    print("| bundle | batch | as trained (ms / window) | deployed (ms / window) | trained / deployed |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in nets:
        for batch in args.batches:
            t, d = (next(r["ms_per_window"] for r in rows if (r["bundle"], r["form"], r["batch"]) == (name, f, batch))
                    for f in ("trained", "deployed"))  # fmt: skip
            print(f"| {name} | {batch} | {t:.1f} | {d:.1f} | {t / d:.2f}x |")
    if args.out:
        meta = {"cpu": cpu_name(), "threads": args.threads, "window": args.window, "seconds": args.seconds,
                "torch": torch.__version__}  # fmt: skip
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
