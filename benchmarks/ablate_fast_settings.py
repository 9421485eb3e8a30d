"""How issue 16's fast settings were chosen: inference latency and training-step time of candidate architecture
settings, all in one process and interleaved call by call, so their ratios to MONAI's UNet are fair on a machine
whose speed drifts.

2D: 1x3x256x256 (inference, folded, no grad) and a batch of 4 (training step: forward + BCE over every output +
backward + AdamW, channels-last), against the polyp bundles' UNet. 3D: one hippocampus window 1x1x40x56x40
(inference) and a batch of 2 (training step, cross-entropy over 3 classes), the hippocampus bundles' settings
against the hippocampus UNet. Medians of ``--repeats`` calls after two warm-up calls.

Usage::

    python benchmarks/ablate_fast_settings.py --out benchmarks/results/ablate_fast_settings_cpu.json
    python benchmarks/ablate_fast_settings.py --cases 2d_width --out benchmarks/results/fast_widths_cpu.json

The ``2d_width`` case (issue 17) times the three ``fast`` settings at 1, 1.5 and 2 times their widths.
Inference is timed on the folded network in the default (NCHW) layout; ``--deployed`` times it as the bundles
deploy it (``monai_lightseg.inference.runtimes.deploy``: channels-last for networks with depthwise convolutions),
which makes the seed networks markedly faster against the UNet (issue 17: widths x2 0.98x the UNet in NCHW,
0.58-0.68x deployed in the bundle).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from roster import BASELINE, CASES, network_def, widened  # noqa: E402

#: case -> [(label, network, architecture overrides)]; "base" rows are the bundles' current settings
CANDIDATES = {
    "2d": [
        ("feature_compression_net base", "feature_compression_net", {}),
        ("feature_compression_net stem_stride=2", "feature_compression_net", {"stem_stride": 2}),
        ("feature_compression_net stem_stride=4", "feature_compression_net", {"stem_stride": 4}),
        ("emisnet base", "emisnet", {}),
        ("emisnet stem_stride=2", "emisnet", {"stem_stride": 2}),
        ("emisnet stem_stride=2, ReLU", "emisnet", {"stem_stride": 2, "act": "relu"}),
        ("emisnet stem_stride=2, depths 1", "emisnet", {"stem_stride": 2, "encoder_depths": (1, 1, 1, 1, 1)}),
        ("emisnet stem_stride=4", "emisnet", {"stem_stride": 4}),
        ("light_u2net base", "light_u2net", {}),
        ("light_u2net stem_stride=2", "light_u2net", {"stem_stride": 2}),
        ("light_u2net stem_stride=2, 3 levels", "light_u2net",
         {"stem_stride": 2, "channels": (16, 48, 128), "mid_channels": (8, 24, 64), "heights": (4, 3, 3)}),
        ("light_u2net stem_stride=4", "light_u2net", {"stem_stride": 4}),
        ("light_u2net stem_stride=4, heights 4-3-2-2", "light_u2net", {"stem_stride": 4, "heights": (4, 3, 2, 2)}),
        ("light_u2net stem_stride=4, 3 levels (fast)", "light_u2net",
         {"stem_stride": 4, "channels": (16, 48, 128), "mid_channels": (8, 24, 64), "heights": (4, 3, 3)}),
    ],  # fmt: skip
    "3d": [
        ("feature_compression_net bundle", "feature_compression_net", {}),
        ("feature_compression_net stem_stride=2", "feature_compression_net", {"stem_stride": 2}),
        ("emisnet bundle", "emisnet", {}),
        ("emisnet stem_stride=2", "emisnet", {"stem_stride": 2}),
        ("light_u2net bundle", "light_u2net", {}),
        ("light_u2net stem_stride=2", "light_u2net", {"stem_stride": 2}),
    ],
}


def _fast_widths(name: str, factors=(1.5, 2.0)) -> list[tuple[str, str, dict]]:
    """``name``'s ``fast`` setting and the same with every width scaled (issue 17: do the seed networks trail
    the UNet for want of width, and what does width cost on the clock?)."""
    from monai_lightseg.networks.registry import NETWORKS

    fast = dict(NETWORKS[name][1]["fast"])
    return [(f"{name} fast", name, fast)] + [(f"{name} fast, widths x{f:g}", name, fast | widened(name, "fast", f))
                                             for f in factors]  # fmt: skip


#: the ``2d_width`` case: the 2D shapes, the ``fast`` settings at 1, 1.5 and 2 times their widths
CANDIDATES["2d_width"] = [row for name in ("feature_compression_net", "emisnet", "light_u2net")
                          for row in _fast_widths(name)]  # fmt: skip
#: case -> the input shape (``roster.CASES``) it is measured on
SHAPE = {"2d": "2d", "2d_width": "2d", "3d": "3d"}


def build(case: str, name: str, overrides: dict):
    from monai.bundle import ConfigParser

    from monai_lightseg.networks import create_net

    if case == "2d" and name != BASELINE:
        return create_net(name, "base", spatial_dims=2, in_channels=3, out_channels=1, **overrides)
    return ConfigParser({"net": network_def(name, case) | overrides}).get_parsed_content("net")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--train-repeats", type=int, default=5)
    parser.add_argument("--cases", nargs="+", default=["2d", "3d"], choices=list(CANDIDATES),
                        help="2d and 3d: issue 16's candidates (default); 2d_width: the widened fast settings")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--deployed", action="store_true",
                        help="time inference as the bundles deploy it (channels-last where it pays), not NCHW")
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    from monai_lightseg.inference.runtimes import deploy
    from monai_lightseg.networks import reparameterize
    from monai_lightseg.networks.profile import count_macs, count_parameters

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = []
    for case in args.cases:
        kind = SHAPE[case]
        shape = CASES[kind]
        rows = [("monai_unet (bundle)", BASELINE, {})] + CANDIDATES[case]
        nets = {label: build(kind, name, kw) for label, name, kw in rows}
        labels = list(nets)
        # inference
        prepare = deploy if args.deployed else reparameterize
        folded = {k: prepare(n.eval()) for k, n in nets.items()}
        x = torch.randn(shape)
        infer: dict[str, list[float]] = {k: [] for k in labels}
        with torch.no_grad():
            for k in labels:
                folded[k](x), folded[k](x)
            for i in range(args.repeats):
                for k in labels if i % 2 == 0 else labels[::-1]:
                    start = time.perf_counter()
                    folded[k](x)
                    infer[k].append(time.perf_counter() - start)
        # training step
        batch = (4, *shape[1:]) if kind == "2d" else (2, *shape[1:])
        xb = torch.randn(batch)
        if kind == "2d":
            xb = xb.contiguous(memory_format=torch.channels_last)
            yb = (torch.rand(batch[0], 1, *batch[2:]) > 0.8).float()
        else:
            yb = torch.randint(0, 3, (batch[0], *batch[2:]))
        optimizers = {}
        for k, n in nets.items():
            n.train()
            if kind == "2d":
                n.to(memory_format=torch.channels_last)
            optimizers[k] = torch.optim.AdamW(n.parameters(), lr=1e-3)

        def step(k: str) -> None:
            out = nets[k](xb)
            outs = out.unbind(1) if out.dim() == xb.dim() + 1 else [out]  # deep supervision: every output
            if kind == "2d":
                loss = sum(F.binary_cross_entropy_with_logits(o, yb) for o in outs)
            else:
                loss = sum(F.cross_entropy(o, yb) for o in outs)
            optimizers[k].zero_grad(set_to_none=True)
            loss.backward()
            optimizers[k].step()

        train: dict[str, list[float]] = {k: [] for k in labels}
        for k in labels:
            step(k)
        for i in range(args.train_repeats):
            for k in labels if i % 2 == 0 else labels[::-1]:
                start = time.perf_counter()
                step(k)
                train[k].append(time.perf_counter() - start)
        base_infer, base_train = statistics.median(infer[labels[0]]), statistics.median(train[labels[0]])
        print(f"\n{case} ({'x'.join(map(str, shape))}, {args.threads} threads)")
        print("| setting | params | MACs | inference ms | / UNet | train step s | / UNet |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, name, kw in rows:
            net = nets[label]
            r = {"case": case, "setting": label, "network": name, "overrides": kw, "params": count_parameters(net),
                 "macs": count_macs(net, shape), "inference_ms": 1000 * statistics.median(infer[label]),
                 "train_step_s": statistics.median(train[label])}  # fmt: skip
            r["inference_ratio"] = r["inference_ms"] / (1000 * base_infer)
            r["train_ratio"] = r["train_step_s"] / base_train
            results.append(r)
            print(f"| {label} | {r['params'] / 1e6:.3f} M | {r['macs'] / 1e9:.3f} G | {r['inference_ms']:.1f} "
                  f"| {r['inference_ratio']:.2f} | {r['train_step_s']:.3f} | {r['train_ratio']:.2f} |")  # fmt: skip
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {"torch": torch.__version__, "threads": args.threads, "deployed": args.deployed,
                "command": " ".join(sys.argv)}  # fmt: skip
        args.out.write_text(
            json.dumps({"meta": meta, "results": results}, indent=4, default=list) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
