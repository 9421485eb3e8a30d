"""One training step's CPU time of every registered net against MONAI's UNet, tensors already in memory.

A step is forward + BCE-with-logits loss (over every deep-supervision output of a net that returns them in
training mode, as the networks' defaults do) + backward + AdamW on a batch of 4 at 3x256x256 (random image and
mask: the time does not depend on the values). Each network runs in its own subprocess; in it the contiguous
and channels-last layouts alternate step by step (the bundles train channels-last), so their ratio is fair on a
machine whose speed drifts. The median of ``--steps`` timed steps after ``--warmup`` untimed ones; the UNet's
median in the same layout is the ratio's denominator.

Usage::

    python benchmarks/benchmark_train_step.py --threads 2 --out benchmarks/results/train_step_cpu.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark_networks import BASELINE, build  # noqa: E402

SHAPE = (4, 3, 256, 256)
LAYOUTS = ("contiguous", "channels_last")


def measure_one(name: str, threads: int, warmup: int, steps: int) -> list[dict]:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y = torch.randn(SHAPE), (torch.rand(SHAPE[0], 1, *SHAPE[2:]) > 0.8).float()
    runs = {}
    for layout in LAYOUTS:
        net = build(name, 2, SHAPE[1]).train()
        memory_format = torch.channels_last if layout == "channels_last" else torch.contiguous_format
        net = net.to(memory_format=memory_format)
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
        runs[layout] = (net, optimizer, x.to(memory_format=memory_format), y.to(memory_format=memory_format))
    times: dict[str, list[float]] = {layout: [] for layout in LAYOUTS}
    for i in range(warmup + steps):
        for layout in LAYOUTS if i % 2 == 0 else LAYOUTS[::-1]:
            net, optimizer, xi, yi = runs[layout]
            start = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            out = net(xi)  # deep-supervision nets stack their outputs: (N, levels, 1, H, W); the loss takes all
            target = yi.unsqueeze(1).expand_as(out) if out.dim() == yi.dim() + 1 else yi
            loss = torch.nn.functional.binary_cross_entropy_with_logits(out, target)
            loss.backward()
            optimizer.step()
            if i >= warmup:
                times[layout].append(time.perf_counter() - start)
    return [
        {"network": name, "layout": layout, "batch": list(SHAPE), "threads": threads, "steps": steps,
         "step_s_median": statistics.median(times[layout])}  # fmt: skip
        for layout in LAYOUTS
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--one", metavar="NETWORK", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one, args.threads, args.warmup, args.steps)))
        return 0
    from monai_lightseg.networks import list_nets

    results = []
    for name in [BASELINE, *list_nets()]:
        cmd = [sys.executable, __file__, "--one", name, "--threads", str(args.threads), "--warmup",
               str(args.warmup), "--steps", str(args.steps)]  # fmt: skip
        results += json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        print(f"measured {name}", file=sys.stderr)
    print("| network | layout | step s (median) | step / UNet |")
    print("| --- | --- | ---: | ---: |")
    for r in results:
        base = next(b for b in results if b["network"] == BASELINE and b["layout"] == r["layout"])
        r["step_ratio_vs_unet"] = r["step_s_median"] / base["step_s_median"]
        print(f"| {r['network']} | {r['layout']} | {r['step_s_median']:.3f} | {r['step_ratio_vs_unet']:.2f} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"command": " ".join(sys.argv), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
