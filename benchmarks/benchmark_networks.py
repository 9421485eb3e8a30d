"""Parameters, multiply-adds, CPU latency and peak memory of every registered net against MONAI's UNet.

Each (network, case) runs in its own subprocess, so peak RSS belongs to that network alone. All cases use
the same input, the same fixed thread count and eval mode with ``torch.no_grad()``; latency is the median
of ``--repeats`` timed runs after ``--warmup`` untimed ones, and is also given as a ratio to MONAI's UNet
measured in the same invocation and the same runtime. Runtimes: ``eager`` (the network as trained),
``folded`` (:func:`monai_lightseg.networks.reparameterize`: batch norms folded, linear branches merged; what
bundle inference runs) and ``onnxruntime`` (the folded network exported and run by ONNX Runtime's CPU provider
with the same thread count).

Usage::

    python benchmarks/benchmark_networks.py --threads 2 --cases 2d --repeats 20 \
        --out benchmarks/results/networks_cpu_runtimes.json

Cases: ``2d`` = 1x3x256x256 (RGB), ``3d`` = 1x1x96x96x96.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = {"2d": (1, 3, 256, 256), "3d": (1, 1, 96, 96, 96)}
BASELINE = "monai_unet"


def build(name: str, spatial_dims: int, in_channels: int):
    if name == BASELINE:
        from monai.networks.nets import UNet

        return UNet(
            spatial_dims, in_channels, 1, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), num_res_units=2
        )
    from monai_lightseg.networks import create_net

    return create_net(name, spatial_dims=spatial_dims, in_channels=in_channels, out_channels=1)


def measure_one(name: str, case: str, threads: int, warmup: int, repeats: int, runtimes: list[str]) -> list[dict]:
    """One row per runtime. The runtimes' forward passes alternate (the order flipped every round), so a
    drifting machine load falls on all of them alike and their ratio is fair; peak RSS is the process's."""
    import torch

    from monai_lightseg.networks import reparameterize
    from monai_lightseg.networks.profile import count_macs, count_parameters

    torch.set_num_threads(threads)
    shape = CASES[case]
    net = build(name, len(shape) - 2, shape[1]).eval()
    params, macs = count_parameters(net), count_macs(net, shape)
    from monai_lightseg.inference import deploy

    nets = {"eager": net, "folded": reparameterize(net)}
    if "onnxruntime" in runtimes:
        nets["onnxruntime"] = deploy(net, "onnxruntime", threads=threads)
        with torch.no_grad():
            nets["onnxruntime"](torch.randn(shape))  # export before timing
    x = torch.randn(shape)
    times: dict[str, list[float]] = {r: [] for r in runtimes}
    with torch.no_grad():
        for _ in range(warmup):
            for m in nets.values():
                m(x)
        for i in range(repeats):
            for r in runtimes if i % 2 == 0 else runtimes[::-1]:
                start = time.perf_counter()
                nets[r](x)
                times[r].append(time.perf_counter() - start)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return [
        {
            "network": name,
            "case": case,
            "runtime": r,
            "input": list(shape),
            "params": params,
            "macs": macs,
            "latency_ms_median": 1000 * statistics.median(times[r]),
            "latency_ms_min": 1000 * min(times[r]),
            "repeats": repeats,
            "warmup": warmup,
            "threads": threads,
            "peak_rss_mb": peak_rss_mb,
        }
        for r in runtimes
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--repeats-3d", type=int, default=5)
    parser.add_argument("--table-repeats", type=int, default=3, help="whole-table repeats; rows report the median")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument(
        "--runtimes", nargs="+", default=["eager", "folded", "onnxruntime"], choices=["eager", "folded", "onnxruntime"]
    )
    parser.add_argument("--out", type=Path, default=None, help="write all results as JSON here")
    parser.add_argument("--one", nargs=2, metavar=("NETWORK", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:  # child process: one measurement, printed as JSON
        name, case = args.one
        repeats = args.repeats if case == "2d" else args.repeats_3d
        print(json.dumps(measure_one(name, case, args.threads, args.warmup, repeats, args.runtimes)))
        return 0

    from monai_lightseg.networks import list_nets

    tables = []  # the whole table, --table-repeats times; each row's latency is then its median over the tables
    for repeat in range(args.table_repeats):
        rows = []
        for case, name in [(c, n) for c in args.cases for n in [BASELINE, *list_nets()]]:
            cmd = [sys.executable, __file__, "--one", name, case, "--threads", str(args.threads), "--warmup",
                   str(args.warmup), "--repeats", str(args.repeats), "--repeats-3d", str(args.repeats_3d),
                   "--runtimes", *args.runtimes]  # fmt: skip
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            rows += json.loads(out.strip().splitlines()[-1])
            print(f"measured {name} {case} (table {repeat + 1} of {args.table_repeats})", file=sys.stderr)
        tables.append(rows)
    results = tables[0]
    for i, r in enumerate(results):
        per_table = [t[i]["latency_ms_median"] for t in tables]
        r["latency_ms_per_table"] = per_table
        r["latency_ms_median"] = statistics.median(per_table)
        r["peak_rss_mb"] = max(t[i]["peak_rss_mb"] for t in tables)
    for case, runtime in [(c, r) for c in args.cases for r in args.runtimes]:
        base = next(r for r in results if r["network"] == BASELINE and r["case"] == case and r["runtime"] == runtime)
        for r in results:
            if r["case"] == case and r["runtime"] == runtime:
                r["latency_ratio_vs_unet"] = r["latency_ms_median"] / base["latency_ms_median"]
                r["macs_ratio_vs_unet"] = r["macs"] / base["macs"]

    print("| network | input | runtime | params | MACs | MACs / UNet | CPU ms (median) | ms / UNet | peak RSS MB |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r['network']} | {'x'.join(map(str, r['input']))} | {r['runtime']} "
            f"| {r['params'] / 1e6:.3f} M | {r['macs'] / 1e9:.3f} G "
            f"| {r['macs_ratio_vs_unet']:.2f} | {r['latency_ms_median']:.1f} | {r['latency_ratio_vs_unet']:.2f} "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    if args.out:
        import torch

        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "threads": args.threads,
            "command": " ".join(sys.argv),
        }
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
