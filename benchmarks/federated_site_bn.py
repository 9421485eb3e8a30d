"""Does the federated model lose Dice to its batch-norm statistics? Re-estimate them at each site and rescore.

FedAvg averages every tensor of the two sites' models, BatchNorm running means and variances included. Each site
trained with batch statistics of its own frames only (Kvasir-SEG and CVC-ClinicDB differ in colour and
illumination), while the averaged running statistics describe neither site. The bundle's centralised run mixes
both sites in every batch, so its statistics fit both. This script separates the two effects:

    site-BN: a copy of the model whose BatchNorm running statistics are re-estimated on one site's *training*
             images (one pass of the bundle's training pipeline, forward only, no labels, no weight changes), then
             scored with the bundle's evaluate.json on that site's validation frames.

It is AdaBN (Li et al., 2016): it needs the site's unlabelled images and no training, so a hospital can run it
itself; what leaves the site is nothing. It is applied to every model compared (centralised and federated), so
the comparison stays fair. Output: ``--out/<name>/evaluation.json`` (as federated_polyp.py writes, one entry per
site, each from the model adapted to that site).

    python benchmarks/federated_site_bn.py --name centralised_site_bn \
        --weights bundles/polyp_endoscopy_feature_compression_net_segmentation/models/model.pt
    python benchmarks/federated_site_bn.py --name federated_fp32_r50x2_seed0_site_bn \
        --weights benchmarks/results/federated/federated_fp32_r50x2_seed0/workspace/model.pt
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from federated_polyp import BUNDLE, DATASET_OF_SITE, REPO, evaluate  # noqa: E402


def site_statistics(state: dict, site: str, data: Path, work: Path, passes: int = 1, bundle: Path = BUNDLE,
                    datalist: Path | None = None) -> dict:  # fmt: skip
    """``state`` with every BatchNorm's running mean/var re-estimated (cumulative average over ``passes`` epochs
    of the bundle's training loader on ``site``'s training frames of ``datalist``, by default the bundle's;
    forward only, weights unchanged)."""
    from monai.bundle import ConfigParser

    from monai_lightseg.federated.sites import site_datalists

    found = site_datalists(datalist or bundle / "configs" / "datalist.json", work / "sites")[site]
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "train.json"))
    batch = min(int(parser["batch_size"]), found["frames"])  # the loader drops an incomplete last batch
    parser.update({"bundle_root": str(bundle), "dataset_dir": str(data), "datalist_file": found["datalist"],
                   "batch_size": batch, "device": "$torch.device('cpu')"})  # fmt: skip
    network = parser.get_parsed_content("network_def")
    network.load_state_dict(state)
    norms = [m for m in network.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        raise ValueError("the network has no BatchNorm layer: nothing to re-estimate")
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch counts equally
    loader = parser.get_parsed_content("train#dataloader")
    network.train()
    with torch.no_grad():
        for _ in range(passes):
            for batch in loader:
                network(batch["image"])
    return {k: v.detach().clone() for k, v in network.state_dict().items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True, help="a state_dict or a bundle checkpoint")
    parser.add_argument("--name", required=True, help="the result's folder under --out")
    parser.add_argument("--passes", type=int, default=1, help="epochs over the site's training frames")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "federated")
    args = parser.parse_args()
    torch.manual_seed(0)
    state = torch.load(args.weights, map_location="cpu", weights_only=True)
    state = state.get("network", state)
    out = args.out / args.name
    source = args.weights.resolve()
    result = {"weights": str(source.relative_to(REPO)) if source.is_relative_to(REPO) else str(source),
              "adaptation": f"BatchNorm statistics re-estimated per site ({args.passes} pass over its training "
              "frames, forward only)"}  # fmt: skip
    for site in DATASET_OF_SITE:
        work = out / site
        work.mkdir(parents=True, exist_ok=True)
        torch.save(site_statistics(state, site, args.data, work, args.passes), work / "weights.pt")
        result[site] = evaluate(work / "weights.pt", args.data, work)[site]
        print(f"{args.name} {site}: {result[site]['dice']:.4f}", flush=True)
    for site in DATASET_OF_SITE:
        shutil.rmtree(out / site)  # adapted weights (re-made in a minute), site datalists, the site's result
    (out / "evaluation.json").write_text(json.dumps(result, indent=4) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
