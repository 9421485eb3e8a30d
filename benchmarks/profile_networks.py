"""Where the CPU time of each network goes: per-op (torch.profiler) and per-layer-type tables, eager and folded.

For every network as the bundles ship it (``2d``: the four polyp bundles' networks at 1x3x256x256; ``3d``: the
four hippocampus bundles' networks at their 40x56x40 window) the forward passes are profiled after warm-up, as
trained (``eager``) and after :func:`monai_lightseg.networks.reparameterize` (``folded``). Two views:

- **ops**: ``torch.profiler`` self CPU time per aten op (convolution kernels, cat, interpolation, element-wise
  ops, reductions), the top ``--top`` per network;
- **layers**: self time per leaf-module type (Conv2d by kind: dense / depthwise / pointwise, BatchNorm, ReLU,
  ...), from forward hooks, so that the cost of a design choice (a depthwise 7x7, a full-resolution stage) is
  visible; time spent in a module's own forward code (cat, split, interpolation) is counted as ``<name> (code)``.

Usage::

    python benchmarks/profile_networks.py --threads 2 --out benchmarks/results/profile_cpu.json

"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
from monai.bundle import ConfigParser
from torch import nn
from torch.profiler import ProfilerActivity, profile

from monai_lightseg.networks import reparameterize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_name  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: case -> (input shape, bundle name pattern)
CASES = {"2d": ((1, 3, 256, 256), "polyp_endoscopy_*_segmentation"), "3d": ((1, 1, 40, 56, 40), "hippocampus_mri_*")}


def bundle_networks(pattern: str) -> dict[str, nn.Module]:
    """network name -> the bundle's ``network_def`` (random weights: speed does not depend on them)."""
    nets = {}
    for root in sorted((REPO / "bundles").glob(pattern)):
        parser = ConfigParser()
        parser.read_config(str(root / "configs" / "inference.json"))
        nets[root.name.split("_", 2)[2].rsplit("_segmentation", 1)[0]] = parser.get_parsed_content("network_def")
    return nets


def layer_kind(module: nn.Module) -> str:
    """A leaf module's type; convolutions split by what they cost on a CPU."""
    name = type(module).__name__
    if isinstance(module, nn.modules.conv._ConvNd):
        k = "x".join(map(str, module.kernel_size))
        if module.groups == module.in_channels and module.groups > 1:
            return f"{name} depthwise {k}"
        if all(s == 1 for s in module.kernel_size):
            return f"{name} pointwise"
        return f"{name} {'grouped' if module.groups > 1 else 'dense'} {k}"
    return name


def layer_times(net: nn.Module, x: torch.Tensor, repeats: int) -> dict[str, float]:
    """Mean ms per forward pass by leaf-module kind (self time), plus the rest of the forward code."""
    totals: dict[str, float] = defaultdict(float)
    starts: dict[int, float] = {}
    handles = []
    for m in net.modules():
        if next(m.children(), None) is None:  # leaf
            kind = layer_kind(m)
            start = lambda mod, inp: starts.__setitem__(id(mod), time.perf_counter())  # noqa: E731
            handles.append(m.register_forward_pre_hook(start))
            handles.append(
                m.register_forward_hook(
                    lambda mod, inp, out, kind=kind: totals.__setitem__(
                        kind, totals[kind] + time.perf_counter() - starts[id(mod)]
                    )
                )
            )
    with torch.no_grad():
        net(x)
        totals.clear()
        start = time.perf_counter()
        for _ in range(repeats):
            net(x)
        wall = time.perf_counter() - start
    for h in handles:
        h.remove()
    out = {k: 1000 * v / repeats for k, v in totals.items()}
    out["(forward code: cat, split, interpolation, attention arithmetic)"] = 1000 * wall / repeats - sum(out.values())
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def op_times(net: nn.Module, x: torch.Tensor, repeats: int, top: int) -> list[dict]:
    with torch.no_grad():
        net(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(repeats):
                net(x)
    rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:top]
    return [
        {"op": e.key, "self_ms": e.self_cpu_time_total / 1000 / repeats, "calls": e.count // repeats} for e in rows
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = []
    for case in args.cases:
        shape, pattern = CASES[case]
        x = torch.randn(shape)
        for name, eager in bundle_networks(pattern).items():
            eager.eval()
            for runtime, net in (("eager", eager), ("folded", reparameterize(eager))):
                layers = layer_times(net, x, args.repeats)
                ops = op_times(net, x, args.repeats, args.top)
                total = sum(layers.values())
                results.append({"network": name, "case": case, "runtime": runtime, "ms": total, "layers": layers,
                                "ops": ops})  # fmt: skip
                print(f"\n## {name} {case} {runtime}: {total:.1f} ms per forward pass", flush=True)
                for kind, ms in list(layers.items())[: args.top]:
                    print(f"  {ms:8.1f} ms  {100 * ms / total:5.1f} %  {kind}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {"torch": torch.__version__, "cpu": cpu_name(),
                "threads": args.threads, "command": " ".join(sys.argv)}  # fmt: skip
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
