"""A bundle's trained network for the benchmarks that run it outside ``monai.bundle run`` (the distillation
teacher, the polyp-free windows, locate-then-segment): the network and weights the bundle's own
``configs/inference.json`` names, deployed as its ``ReparameterizeNetwork`` handler deploys them
(``reparameterize``, ``runtime``), so a benchmark scores and times exactly what the bundle ships.

Until 2026-12-06 the network was not deployed: masks were the same (logits within 2e-5), but LightU2Net ran
4.1-4.3x slower than shipped (not re-parameterised, not channels-last;
``benchmarks/deployed_vs_trained_latency.py``), which made its locate-then-segment times wrong (docs/inference.md).

MONAI's ``ConfigWorkflow`` would also build the bundle's datasets and handlers; these scripts need the network,
the inferer and a few settings only.
"""

from __future__ import annotations

from pathlib import Path


def trained_network(
    bundle: Path, script: str, require: tuple[str, ...] = (), deployed: bool = True, runtime: str | None = None
):
    """(parser of ``bundle``/configs/inference.json, its ``network_def`` with ``models/model.pt`` loaded, on the
    CPU in eval mode, re-parameterised and put on the bundle's ``runtime`` where its inference.json says so, or on
    ``runtime`` when given; with ``deployed=False`` the network as trained). Refuses by name (``SystemExit`` starting
    with ``script``) a bundle whose inference.json lacks a key in ``require`` (``("frame_size",)``: not a polyp
    bundle) or that has no trained weights."""
    import torch
    from monai.bundle import ConfigParser

    config = bundle / "configs" / "inference.json"
    parser = ConfigParser()
    parser.read_config(str(config))
    if runtime is not None:
        parser["runtime"] = runtime
    missing = [key for key in require if key not in parser.config]
    if missing:
        raise SystemExit(f"{script}: {config} has no {', '.join(missing)} (not a polyp bundle)")
    weights = bundle / "models" / "model.pt"
    if not weights.is_file():
        raise SystemExit(f"{script}: {bundle} has no trained weights ({weights})")
    net = parser.get_parsed_content("network_def")
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    net = net.eval()
    if deployed:
        from monai_lightseg.inference.runtimes import deploy_as_bundle_says

        net = deploy_as_bundle_says(net, parser)
    return parser, net
