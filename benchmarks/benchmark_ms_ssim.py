"""MONAI's ``compute_ms_ssim`` against this package's separable-window ``ms_ssim``: loss forward + backward, and
whole training steps of the bundles whose loss it is.

Both compute the same values (``tests/losses/test_losses.py`` checks value and gradient); MONAI filters with
the full n-D Gaussian window (11^2 taps in 2D, 7^3 in 3D), the separable form with one 1D window per axis.
The two are timed alternately in one process, same inputs, same threads; median of ``--repeats`` after one
warm-up. Training steps: the bundle's own network (channels-last, as it trains), loss and AdamW on a random
batch of the bundle's training shape.

    python benchmarks/benchmark_ms_ssim.py --threads 1 --out benchmarks/results/ms_ssim_cpu.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from monai.bundle import ConfigParser
from monai.metrics.regression import compute_ms_ssim

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import monai_lightseg.losses.ms_ssim as ms_ssim_module  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from machine import cpu_name  # noqa: E402

#: (name, probabilities shape, kernel, weights) at the bundles' training sizes
LOSS_CASES = [
    ("polyp 2D, 4x1x256^2, kernel 11, 5 scales", (4, 1, 256, 256), 11, ms_ssim_module.DEFAULT_MS_SSIM[2][1]),
    ("hippocampus 3D, 4x3x40x56x40, kernel 7, 3 scales", (4, 3, 40, 56, 40), 7,
     ms_ssim_module.DEFAULT_MS_SSIM[3][1]),
]
NETS = ("unet", "feature_compression_net", "light_u2net", "emisnet")
STEP_BUNDLES = [f"hippocampus_mri_{n}_segmentation" for n in NETS]
_separable = ms_ssim_module.ms_ssim


def _monai(y_pred, y, kernel_size, kernel_sigma=1.5, weights=None):
    return compute_ms_ssim(
        y_pred, y, spatial_dims=y_pred.dim() - 2, kernel_size=kernel_size, kernel_sigma=kernel_sigma, weights=weights
    )


def _alternate(fns: dict, repeats: int) -> dict:
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - start)
    return {k: 1000 * statistics.median(v) for k, v in times.items()}


def loss_case(shape, kernel, weights, repeats: int) -> dict:
    torch.manual_seed(0)
    target = (torch.rand(shape) > 0.7).float()
    x = (0.6 * target + 0.4 * torch.rand(shape)).requires_grad_()

    def run(fn):
        def once():
            x.grad = None
            fn(x, target, kernel_size=kernel, weights=weights).sum().backward()

        return once

    return _alternate({"monai_ms": run(_monai), "separable_ms": run(_separable)}, repeats)


def train_step_case(bundle: str, repeats: int) -> dict:
    parser = ConfigParser()
    parser.read_config(str(REPO / "bundles" / bundle / "configs" / "train.json"))
    torch.manual_seed(0)
    net = parser.get_parsed_content("network_def").to(memory_format=torch.channels_last_3d).train()
    loss = parser.get_parsed_content("loss")
    optimizer = torch.optim.AdamW(net.parameters(), 1e-3)
    roi = parser["roi_size"]
    x = torch.rand(parser["batch_size"], 1, *roi).to(memory_format=torch.channels_last_3d)
    y = torch.randint(0, 3, (parser["batch_size"], 1, *roi))

    def with_ms_ssim(fn):
        def once():
            ms_ssim_module.ms_ssim = fn
            optimizer.zero_grad()
            loss(net(x), y).backward()
            optimizer.step()

        return once

    try:
        return _alternate({"monai_ms": with_ms_ssim(_monai), "separable_ms": with_ms_ssim(_separable)}, repeats)
    finally:
        ms_ssim_module.ms_ssim = _separable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-steps", action="store_true", help="time the loss alone")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name, shape, kernel, weights in LOSS_CASES:
        rows.append({"case": f"loss forward+backward: {name}", **loss_case(shape, kernel, weights, args.repeats)})
    if not args.no_steps:
        for bundle in STEP_BUNDLES:
            rows.append({"case": f"training step: {bundle}", **train_step_case(bundle, args.repeats)})
    for row in rows:
        row["speed_up"] = row["monai_ms"] / row["separable_ms"]
        print(f"{row['case']}: MONAI {row['monai_ms']:.0f} ms, separable {row['separable_ms']:.0f} ms, "
              f"{row['speed_up']:.2f}x")  # fmt: skip
    if args.out:
        meta = {"threads": args.threads, "repeats": args.repeats, "torch": torch.__version__}
        meta["cpu"] = cpu_name()
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
