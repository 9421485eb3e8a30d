"""Command line: ``python -m monai_lightseg <command>`` (console script ``monai-lightseg``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "polyp" / "images"


def _demo(args: argparse.Namespace) -> int:
    """Run every registered net (untrained) on the shipped sample images; print shapes, params and MACs."""
    import torch
    from monai.transforms import Compose, EnsureChannelFirst, LoadImage, ScaleIntensityRange

    from monai_lightseg.networks import create_net, list_nets
    from monai_lightseg.networks.profile import count_macs, count_parameters

    images = sorted(p for p in Path(args.images).iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    if not images:
        print(f"error: no PNG/JPEG images in {args.images}", file=sys.stderr)
        return 2
    load = Compose([LoadImage(image_only=True), EnsureChannelFirst(), ScaleIntensityRange(0, 255, 0, 1, clip=True)])
    torch.manual_seed(0)
    print("Untrained networks (random weights): this shows that each net runs on a real image at its native size.")
    print(f"{'network':26s}{'image':24s}{'input':>20s}{'output':>20s}{'params':>11s}{'MACs@256^2':>12s}")
    for name in list_nets():
        net = create_net(name, args.variant, spatial_dims=2, in_channels=3, out_channels=1).eval()
        params, macs = count_parameters(net), count_macs(net, (1, 3, 256, 256))
        for path in images:
            x = load(str(path)).unsqueeze(0).float()
            with torch.no_grad():
                y = net(x)
            print(
                f"{name:26s}{path.name:24s}{str(tuple(x.shape)):>20s}{str(tuple(y.shape)):>20s}"
                f"{params / 1e6:>10.3f}M{macs / 1e9:>11.3f}G"
            )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monai-lightseg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run every network on the shipped sample images")
    demo.add_argument("--images", default=str(SAMPLES), help="folder of PNG/JPEG images (default: shipped samples)")
    demo.add_argument("--variant", default="base", help="network variant: tiny, small or base")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
