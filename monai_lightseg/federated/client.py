"""One federation site: the NVFlare Client API script the job runs at each site (``train_script``).

Per round it receives the global model, validates it on the site's validation frames (the Dice it reports is
the global model's, before local training), trains ``--local-epochs`` passes over the site's training frames
with the bundle's own ``train.json`` (through MONAI's ``MonaiAlgo``, with :func:`.overrides.federated_overrides`)
and sends back the difference from the global model. What leaves the site: that difference (tensors), its
validation metrics and step count; never images, labels or file names.

Arguments: ``--bundle`` (a polyp bundle folder), ``--site-config`` (JSON: {"overrides": {...}}, written by
:func:`.job.write_site_config`; ``{site}`` in either path becomes the site's name), ``--local-epochs``,
``--threads``, ``--reset-optimizer`` (clear the optimizer's state, AdamW's moment estimates, before each round's
local training; by default they carry over from the site's previous round), ``--fednova-steps TAU_EFF``
(FedNova: scale the parameters' update by ``TAU_EFF / local steps``, :mod:`.normalised_averaging`) and
``--record DIR`` (tests: also save each update sent, as ``DIR/<site>_round<r>.pt``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--site-config", required=True)
    parser.add_argument("--local-epochs", type=int, default=1)
    parser.add_argument("--record", default=None)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--reset-optimizer", action="store_true", help="clear the optimizer state every round")
    parser.add_argument("--fednova-steps", type=float, default=None,
                        help="FedNova: the federation's effective steps per round (tau_eff); default: plain FedAvg")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    import nvflare.client as flare
    from monai.fl.client import MonaiAlgo
    from monai.fl.utils.exchange_object import ExchangeObject
    from nvflare.app_common.abstract.fl_model import ParamsType

    from monai_lightseg.federated.normalised_averaging import normalise_update

    flare.init()
    site = flare.get_site_name()
    config = Path(args.site_config.replace("{site}", site))
    overrides = json.loads(config.read_text(encoding="utf-8"))["overrides"]
    algo = MonaiAlgo(
        bundle_root=args.bundle.replace("{site}", site),
        local_epochs=args.local_epochs,
        send_weight_diff=True,
        config_train_filename="configs/train.json",
        config_evaluate_filename="configs/train.json",  # the bundle's validate#evaluator on the site's frames
        train_kwargs=overrides,
        eval_kwargs=overrides,
        disable_ckpt_loading=True,
    )
    algo.initialize(extra={"CLIENT_NAME": site})
    while flare.is_running():
        received = flare.receive()
        weights = {k: torch.as_tensor(v) for k, v in received.params.items()}
        metrics = algo.evaluate(ExchangeObject(weights=weights)).metrics
        if args.reset_optimizer:  # the moments were estimated for this site's previous local model
            algo.trainer.optimizer.state.clear()
        algo.train(ExchangeObject(weights=weights))
        update = algo.get_weights()
        steps = int(update.statistics["num_executed_iterations"])
        diff = {k: torch.as_tensor(v).cpu() for k, v in update.weights.items()}  # torch: NVFlare converts
        raw = diff
        if args.fednova_steps:
            network = getattr(algo.trainer.network, "module", algo.trainer.network)  # MonaiAlgo's names: unwrapped
            parameters = {k for k, p in network.named_parameters(remove_duplicate=False) if p.requires_grad}
            diff = normalise_update(diff, parameters, steps, args.fednova_steps)
        if args.record:
            moments = next(iter(algo.trainer.optimizer.state.values()), {})  # steps the optimizer state has seen
            Path(args.record).mkdir(parents=True, exist_ok=True)
            torch.save({"global": received.params, "diff": {k: v.numpy() for k, v in diff.items()}, "steps": steps,
                        "raw_diff": {k: v.numpy() for k, v in raw.items()},
                        "optimizer_steps": int(moments.get("step", 0))},
                       Path(args.record) / f"{site}_round{received.current_round}.pt")  # fmt: skip
        print(f"{site} round {received.current_round}: global model val Dice {metrics.get('val_mean_dice', 0):.4f} "
              f"before local training; {steps} local steps", flush=True)  # fmt: skip
        flare.send(flare.FLModel(params=diff, params_type=ParamsType.DIFF,
                                 metrics={k: float(v) for k, v in metrics.items()}))  # fmt: skip
    algo.finalize()


if __name__ == "__main__":
    main()
