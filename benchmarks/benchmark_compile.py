"""Do channels-last or ``torch.compile`` pay at inference? The folded networks (the polyp bundles' UNet, the seed
layouts and the fast settings) at 1x3x256x256 on the CPU: contiguous, channels-last (weights and input) and
``torch.compile`` (inductor, contiguous) alternate call by call in one process; medians of ``--repeats`` calls.
``torch.compile``'s one-off compile time per input shape is reported too, with an empty compile cache (it needs a
C++ compiler at run time). What this found is what :func:`monai_lightseg.inference.runtimes.to_preferred_memory_format`
does.

Usage::

    python benchmarks/benchmark_compile.py --out benchmarks/results/compile_cpu.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from roster import BASELINE, CASES, build  # noqa: E402

SEED_LAYOUTS = ["emisnet", "feature_compression_net", "light_u2net"]
ENTRIES = [BASELINE, *SEED_LAYOUTS, *(f"{n}_fast" for n in SEED_LAYOUTS)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import os
    import tempfile

    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor_")  # compile times from scratch
    import torch

    from monai_lightseg.networks import reparameterize

    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    x = torch.randn(CASES["2d"])
    x_cl = x.contiguous(memory_format=torch.channels_last)
    results = []
    print("| network | folded ms | channels-last ms | torch.compile ms | compile s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for entry in ENTRIES:
        folded = reparameterize(build(entry, "2d").eval())
        start = time.perf_counter()
        compiled = torch.compile(reparameterize(build(entry, "2d").eval()))
        with torch.no_grad():
            compiled(x)
        compile_s = time.perf_counter() - start
        variants = {
            "folded": (folded, x),
            "channels_last": (reparameterize(build(entry, "2d").eval()).to(memory_format=torch.channels_last), x_cl),
            "compile": (compiled, x),
        }
        times: dict[str, list[float]] = {k: [] for k in variants}
        with torch.no_grad():
            for net, xi in variants.values():
                net(xi), net(xi)
            keys = list(variants)
            for i in range(args.repeats):
                for k in keys if i % 2 == 0 else keys[::-1]:
                    net, xi = variants[k]
                    start = time.perf_counter()
                    net(xi)
                    times[k].append(time.perf_counter() - start)
        row = {"network": entry, "compile_s": compile_s}
        row.update({f"{k}_ms": 1000 * statistics.median(t) for k, t in times.items()})
        results.append(row)
        print(f"| {entry} | {row['folded_ms']:.1f} | {row['channels_last_ms']:.1f} | {row['compile_ms']:.1f} "
              f"| {compile_s:.0f} |")  # fmt: skip
    if args.out:
        meta = {"torch": torch.__version__, "threads": args.threads, "command": " ".join(sys.argv)}
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=4) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
