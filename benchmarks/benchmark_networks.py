"""Inference latency, training-step time and peak memory of the networks as the bundles ship them, against MONAI's
UNet and three other MONAI baselines (``benchmarks/roster.py`` lists them), on the CPU or a CUDA GPU.

One command writes one CSV (and a PNG plot of latency against parameters and multiply-adds):

- **latency**: batch 1 (``2d`` 1x3x256x256, ``3d`` one hippocampus window 1x1x40x56x40), eval mode, no grad;
  runtimes ``eager`` (the network as trained), ``folded`` (:func:`monai_lightseg.networks.reparameterize`),
  ``torchscript`` and ``onnxruntime`` (both of the folded network; ONNX Runtime on the CPU only); on the CPU at
  each of ``--threads``, on CUDA in fp32 and with autocast fp16 (``amp``). In each network's process the runtimes
  alternate, so a drifting machine load falls on all of them alike; each is the median of ``--repeats`` calls
  after ``--warmup``.
- **training step** (``2d`` only): batch 4 at 3x256x256, forward + BCE over every deep-supervision output +
  backward + AdamW, tensors in memory, channels-last (as the bundles train) on the CPU, fp32 and AMP on CUDA.
- **peak memory**: on the CPU the peak RSS of a fresh process that builds the network, prepares one runtime and
  runs it (so each runtime's figure is its own); on CUDA the peak memory one call allocates beyond the resident
  weights and input (``cuda_call_peak_mb``).

On the CPU every network's measurements run in a fresh process (so RSS and allocator state are its own); on CUDA
all run in one process, networks and runtimes built once and reused by every table (``--in-process``).

The whole table is measured ``--table-repeats`` times and every row reports the median over the tables (the
machine this project runs on drifts 10-30 % between runs); ratios are to MONAI's UNet within one case, runtime,
precision and thread count.

Usage::

    python benchmarks/benchmark_networks.py --out benchmarks/results/networks_cpu.csv
    python benchmarks/benchmark_networks.py --device cuda --out benchmarks/results/networks_cuda.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_name  # noqa: E402
from roster import BASELINE, CASES, build, roster  # noqa: E402

CPU_RUNTIMES = ("eager", "folded", "torchscript", "onnxruntime")
CUDA_RUNTIMES = ("eager", "folded", "torchscript")
TRAIN_SHAPE = (4, 3, 256, 256)


_CACHE: dict = {}  # in-process mode (CUDA): networks and prepared runtimes, built once for all the tables


def _build(entry: str, case: str, device: str):
    key = (entry, case, device)
    if key not in _CACHE:
        _CACHE[key] = build(entry, case).eval().to(device)
    return _CACHE[key]


def _prepare(net, runtime: str, threads: int):
    """``net`` (eval) as ``runtime`` runs it; ONNX Runtime's export is made here, outside any timing."""
    key = (id(net), runtime, threads)
    if key not in _CACHE:
        _CACHE[key] = _prepare_uncached(net, runtime, threads)
    return _CACHE[key]


def _prepare_uncached(net, runtime: str, threads: int):
    from monai_lightseg.inference.runtimes import deploy
    from monai_lightseg.networks import reparameterize

    if runtime == "eager":
        return net
    if runtime == "folded":
        return reparameterize(net)
    return deploy(net, runtime, threads=threads)


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def measure_latency(entry: str, case: str, device: str, threads: list[int], runtimes: list[str], warmup: int,
                    repeats: int) -> list[dict]:  # fmt: skip
    """Rows for every (runtime, precision, threads) of one network; runtimes alternate call by call."""
    import torch

    from monai_lightseg.networks.profile import count_macs, count_parameters

    shape = CASES[case]
    net = _build(entry, case, device)
    params, macs = count_parameters(net), count_macs(net, shape)
    x = torch.randn(shape, device=device)
    precisions = ["fp32", "amp"] if device == "cuda" else ["fp32"]
    rows = []
    for n_threads in threads if device == "cpu" else [torch.get_num_threads()]:
        torch.set_num_threads(n_threads)
        variants = {}
        for runtime in runtimes:
            for precision in precisions:
                if precision == "amp" and runtime == "torchscript":
                    continue  # a frozen TorchScript graph does not take autocast; fp32 only
                try:
                    variants[(runtime, precision)] = _prepare(net, runtime, n_threads)
                    with torch.no_grad():
                        variants[(runtime, precision)](x)  # ONNX Runtime exports at the first call
                except Exception as err:  # a runtime that cannot take this network: say so, measure the others
                    variants.pop((runtime, precision), None)
                    print(f"{entry} {case}: {runtime} failed: {type(err).__name__}: {err}"[:500], file=sys.stderr)
        times: dict = {k: [] for k in variants}

        def call(key):
            module = variants[key]
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=key[1] == "amp"):
                return module(x)

        call_memory = {}
        for key in variants:
            for _ in range(warmup):
                call(key)
            if device == "cuda":  # what one call needs beyond the resident weights and input
                _sync(device)
                resident = torch.cuda.memory_allocated()
                torch.cuda.reset_peak_memory_stats()
                call(key)
                _sync(device)
                call_memory[key] = (torch.cuda.max_memory_allocated() - resident) / 2**20
        _sync(device)
        keys = list(variants)
        for i in range(repeats):
            for key in keys if i % 2 == 0 else keys[::-1]:
                _sync(device)
                start = time.perf_counter()
                call(key)
                _sync(device)
                times[key].append(time.perf_counter() - start)
        for (runtime, precision), t in times.items():
            rows.append({"device": device, "case": case, "network": entry, "input": "x".join(map(str, shape)),
                         "params": params, "macs": macs, "measure": "latency_ms", "runtime": runtime,
                         "precision": precision, "threads": n_threads, "value": 1000 * statistics.median(t),
                         "repeats": repeats})  # fmt: skip
            if (runtime, precision) in call_memory:
                rows.append({**rows[-1], "measure": "cuda_call_peak_mb", "value": call_memory[(runtime, precision)]})
    return rows


def measure_memory(entry: str, case: str, runtime: str, threads: int) -> list[dict]:
    """Peak RSS (MB) of a fresh CPU process that builds one network, prepares one runtime and runs it 3 times."""
    import torch

    torch.set_num_threads(threads)
    x = torch.randn(CASES[case])
    try:
        module = _prepare(build(entry, case).eval(), runtime, threads)
        with torch.no_grad():
            for _ in range(3):
                module(x)
    except Exception as err:  # reported by the latency job too
        print(f"{entry} {case}: {runtime} failed: {type(err).__name__}: {err}"[:500], file=sys.stderr)
        return []
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return [{"device": "cpu", "case": case, "network": entry, "measure": "peak_rss_mb", "runtime": runtime,
             "precision": "fp32", "threads": threads, "value": value}]  # fmt: skip


def measure_train_step(entry: str, device: str, threads: int, warmup: int, steps: int) -> list[dict]:
    """Median step time (s) of one network, batch 4 at 3x256x256; fp32 and AMP alternate on CUDA."""
    import torch

    if device == "cpu":
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    layout = torch.channels_last
    x = torch.randn(TRAIN_SHAPE, device=device).to(memory_format=layout)
    y = (torch.rand(TRAIN_SHAPE[0], 1, *TRAIN_SHAPE[2:], device=device) > 0.8).float()
    precisions = ["fp32", "amp"] if device == "cuda" else ["fp32"]
    runs = {}
    for precision in precisions:
        net = build(entry, "2d").train().to(device).to(memory_format=layout)
        scaler = torch.amp.GradScaler(device, enabled=precision == "amp")
        runs[precision] = (net, torch.optim.AdamW(net.parameters(), lr=1e-3), scaler)
    times: dict[str, list[float]] = {p: [] for p in precisions}
    for i in range(warmup + steps):
        for precision in precisions if i % 2 == 0 else precisions[::-1]:
            net, optimizer, scaler = runs[precision]
            _sync(device)
            start = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.float16, enabled=precision == "amp"):
                out = net(x)  # deep-supervision nets stack their outputs: (N, levels, 1, H, W); the loss takes all
                target = y.unsqueeze(1).expand_as(out) if out.dim() == y.dim() + 1 else y
                loss = torch.nn.functional.binary_cross_entropy_with_logits(out.float(), target)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            _sync(device)
            if i >= warmup:
                times[precision].append(time.perf_counter() - start)
    return [{"device": device, "case": "2d", "network": entry, "input": "x".join(map(str, TRAIN_SHAPE)),
             "measure": "train_step_s", "runtime": "eager", "precision": p, "threads": threads,
             "value": statistics.median(t), "repeats": steps} for p, t in times.items()]  # fmt: skip


def _child(args: argparse.Namespace, *job: str) -> list[dict]:
    cmd = [sys.executable, __file__, "--device", args.device, "--warmup", str(args.warmup), "--repeats",
           str(args.repeats), "--repeats-3d", str(args.repeats_3d), "--train-steps", str(args.train_steps),
           "--threads", *map(str, args.threads), "--runtimes", *args.runtimes, "--job", *job]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark job {job} failed:\n{result.stderr[-3000:]}")
    for line in result.stderr.splitlines():
        if " failed: " in line:
            print(line, file=sys.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _run_job(args: argparse.Namespace, job: list[str]) -> list[dict]:
    kind, entry, case = job[:3]
    if kind == "latency":
        repeats = args.repeats if case == "2d" else args.repeats_3d
        return measure_latency(entry, case, args.device, args.threads, args.runtimes, args.warmup, repeats)
    if kind == "memory":
        return measure_memory(entry, case, job[3], max(args.threads))
    return measure_train_step(entry, args.device, max(args.threads), 2, args.train_steps)  # fresh nets every table


def _key(row: dict) -> tuple:
    return (row["device"], row["case"], row["network"], row["measure"], row["runtime"], row["precision"],
            row["threads"])  # fmt: skip


def summarise(tables: list[list[dict]], groups: dict[tuple[str, str], str]) -> list[dict]:
    """One row per key: the median over the tables, the per-table values, and the ratio to the UNet's row."""
    by_key: dict[tuple, list[dict]] = {}
    for table in tables:
        for row in table:
            by_key.setdefault(_key(row), []).append(row)
    rows = []
    for key, found in by_key.items():
        row = dict(found[0])
        row["per_table"] = ";".join(f"{r['value']:.4g}" for r in found)
        row["value"] = statistics.median(r["value"] for r in found)
        row["group"] = groups[(row["case"], row["network"])]
        rows.append(row)
    index = {_key(r): r for r in rows}
    for row in rows:
        base = index.get(_key({**row, "network": BASELINE}))
        row["ratio_vs_unet"] = row["value"] / base["value"] if base else ""
        info = index.get(_key({**row, "measure": "latency_ms", "runtime": "eager", "threads": row["threads"]}))
        for field in ("params", "macs", "input"):
            row.setdefault(field, (info or {}).get(field, ""))
    return rows


def plot(rows: list[dict], path: Path, device: str) -> None:
    """Latency against parameters and against multiply-adds of the folded networks (what bundle inference runs),
    fp32, at the most threads, one row of panels per case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    latency = [
        r for r in rows if r["measure"] == "latency_ms" and r["runtime"] == "folded" and r["precision"] == "fp32"
    ]
    for r in latency:
        r.update({k: float(r[k]) for k in ("params", "macs", "value")})
        r["threads"] = int(r["threads"])
    threads = max(r["threads"] for r in latency)
    cases = sorted({r["case"] for r in latency})
    fig, axes = plt.subplots(len(cases), 2, figsize=(11, 4.2 * len(cases)), squeeze=False)
    colours = {"baseline": "tab:gray", "bundle": "tab:blue", "fast": "tab:red"}
    for i, case in enumerate(cases):
        points = [r for r in latency if r["case"] == case and r["threads"] == threads]
        for j, (field, label) in enumerate([("params", "parameters (M)"), ("macs", "multiply-adds (G)")]):
            ax = axes[i][j]
            scale = 1e6 if field == "params" else 1e9
            for r in points:
                ax.scatter(r[field] / scale, r["value"], color=colours[r["group"]], s=30)
                ax.annotate(r["network"], (r[field] / scale, r["value"]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")  # fmt: skip
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel(label)
            ax.set_ylabel(f"latency ms ({device}, folded, {threads} thread(s))")
            ax.set_title(f"{case}: input {points[0]['input']}" if points else case)
            ax.grid(True, which="both", alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=g) for g, c in colours.items()]
    fig.legend(handles=handles, loc="upper center", ncol=3)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def wide_table(rows: list[dict]) -> str:
    """The CSV's rows as the markdown table of docs/networks.md: one line per network and case, latency in ms
    (ratio to the UNet in the same runtime and thread count), training step in s, peak RSS of eager / ONNX Runtime."""

    def cell(network: str, case: str, measure: str, runtime: str, threads: int, digits: int = 1) -> str:
        for r in rows:
            if (r["network"], r["case"], r["measure"], r["runtime"], int(r["threads"])) == (
                network, case, measure, runtime, threads
            ):  # fmt: skip
                ratio = f" ({float(r['ratio_vs_unet']):.2f})" if r["ratio_vs_unet"] not in ("", None) else ""
                return f"{float(r['value']):.{digits}f}{ratio}"
        return "-"

    threads = sorted({int(r["threads"]) for r in rows if r["measure"] == "latency_ms"})
    cols = [(rt, t) for rt in ("eager", "folded", "torchscript", "onnxruntime") for t in reversed(threads)]
    head = ["network", "group", "params", "MACs"] + [f"{rt} {t}t" for rt, t in cols] + ["train step s", "RSS MB"]
    lines = ["| " + " | ".join(head) + " |", "| --- | --- |" + " ---: |" * (len(head) - 2)]
    seen = []
    for r in rows:
        if r["measure"] == "latency_ms" and (r["case"], r["network"]) not in seen:
            seen.append((r["case"], r["network"]))
    for case, network in seen:
        info = next(r for r in rows if (r["case"], r["network"], r["measure"]) == (case, network, "latency_ms"))
        rss = "/".join(
            cell(network, case, "peak_rss_mb", rt, max(threads), 0).split(" ")[0] for rt in ("eager", "onnxruntime")
        )
        line = [f"{network} ({case})", info["group"], f"{int(info['params']) / 1e6:.3f} M",
                f"{int(info['macs']) / 1e9:.3f} G"]  # fmt: skip
        line += [cell(network, case, "latency_ms", rt, t) for rt, t in cols]
        line += [cell(network, case, "train_step_s", "eager", max(threads), 3), rss]
        lines.append("| " + " | ".join(line) + " |")
    return "\n".join(lines)


FIELDS = ["device", "case", "group", "network", "input", "params", "macs", "measure", "runtime", "precision",
          "threads", "value", "ratio_vs_unet", "per_table", "repeats"]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="CPU threads (each is measured)")
    parser.add_argument("--runtimes", nargs="+", default=None, choices=list(CPU_RUNTIMES))
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--only", nargs="+", default=None, help="only these roster entries (and the UNet)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--repeats-3d", type=int, default=10)
    parser.add_argument("--train-steps", type=int, default=6, help="timed training steps per network (0: none)")
    parser.add_argument("--table-repeats", type=int, default=3, help="whole-table repeats; rows report the median")
    parser.add_argument("--out", type=Path, default=None, help="CSV of all rows; a PNG plot beside it")
    parser.add_argument("--in-process", action="store_true", help="no child processes (default on CUDA)")
    parser.add_argument(
        "--table-from", type=Path, default=None, help="print the docs table of this CSV, redraw its plot and stop"
    )
    parser.add_argument("--job", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runtimes is None:
        args.runtimes = list(CPU_RUNTIMES if args.device == "cpu" else CUDA_RUNTIMES)
    if args.table_from:
        with args.table_from.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        print(wide_table(rows))
        plot(rows, args.table_from.with_suffix(".png"), rows[0]["device"])
        return 0
    if args.job:  # child process: one measurement, printed as JSON
        print(json.dumps(_run_job(args, args.job)))
        return 0

    jobs, groups = [], {}
    for case in args.cases:
        for entry, group in roster(case):
            if args.only and entry != BASELINE and entry not in args.only:
                continue
            groups[(case, entry)] = group
            jobs.append(["latency", entry, case])
            if case == "2d" and args.train_steps > 0:
                jobs.append(["train", entry, case])
    in_process = args.in_process or args.device == "cuda"
    memory_jobs = [] if in_process else [["memory", e, c, r] for (c, e) in groups for r in args.runtimes]
    tables = []
    for repeat in range(args.table_repeats):
        table = []
        for job in jobs + (memory_jobs if repeat == 0 else []):
            table += _run_job(args, job) if in_process else _child(args, *job)
            print(f"table {repeat + 1}/{args.table_repeats}: {' '.join(job)}", file=sys.stderr, flush=True)
        tables.append(table)
    rows = summarise(tables, groups)

    print(wide_table(rows))
    if args.out:
        import torch

        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        hardware = torch.cuda.get_device_name(0) if args.device == "cuda" else cpu_name()
        meta = {"torch": torch.__version__, "hardware": hardware, "python": platform.python_version(),
                "command": " ".join(sys.argv)}  # fmt: skip
        args.out.with_suffix(".meta.json").write_text(json.dumps(meta, indent=4) + "\n", encoding="utf-8")
        plot(rows, args.out.with_suffix(".png"), args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
