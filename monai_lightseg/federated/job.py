"""The federated job: FedAvg over the sites of :mod:`.sites` with NVFlare 2.9's ``FedAvgRecipe``, run by its
simulator (every site a process on this machine), driven by a polyp bundle's own ``train.json``.

- Global model: the bundle's ``network_def`` initialised with ``seed`` on the server; after every round the
  aggregate is saved (``global_models/round_<r>.pt`` in the workspace, a plain state_dict) and the last one is
  also ``model.pt``.
- Aggregation: FedAvg weighted by each site's number of training frames (the recipe's ``aggregation_weights``;
  the sites send no step count, so NVFlare's step factor is 1 and the weights are exactly the frame counts).
- Sites send the difference from the global model (``ParamsType.DIFF``), optionally compressed
  (:mod:`.filters`); ``updates.jsonl`` records per site and round the bytes before and after compression and
  what arrived at the server.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import torch
from monai.bundle import ConfigParser

from monai_lightseg.federated.overrides import federated_overrides
from monai_lightseg.federated.sites import SITES, site_datalists

__all__ = ["run_federation", "validation_curve"]

_ROUND_LINE = re.compile(r"(site-[\w-]+) round (\d+): global model val Dice ([0-9.]+)")


def validation_curve(workspace: str | Path) -> dict[str, list[float]]:
    """Per site, the global model's validation Dice on the site's own frames at the start of each round (round r:
    the model aggregated after round r - 1; round 0: the initial one), read from the sites' NVFlare logs (the
    client prints it; the logs are the record the simulator keeps)."""
    curve: dict[str, dict[int, float]] = {}
    for log in sorted(Path(workspace).rglob("site-*/log.txt")):
        for match in _ROUND_LINE.finditer(log.read_text(encoding="utf-8", errors="replace")):
            curve.setdefault(match[1], {})[int(match[2])] = float(match[3])
    return {site: [rounds[r] for r in sorted(rounds)] for site, rounds in sorted(curve.items())}


def _network(bundle: Path, seed: int) -> tuple[dict, dict]:
    """(NVFlare's model spec {"class_path", "args"}, the seeded initial state_dict) of the bundle's network."""
    config = json.loads((bundle / "configs" / "inference.json").read_text(encoding="utf-8"))["network_def"]
    spec = {"class_path": config["_target_"], "args": {k: v for k, v in config.items() if k != "_target_"}}
    parser = ConfigParser({"network_def": config})
    torch.manual_seed(seed)
    return spec, parser.get_parsed_content("network_def").state_dict()


def run_federation(
    bundle: str | Path,
    data_dir: str | Path,
    workspace: str | Path,
    rounds: int,
    local_epochs: int = 1,
    compression: str | None = None,
    seed: int = 0,
    datalist: str | Path | None = None,
    sites: dict[str, str] = SITES,
    record_updates: bool = False,
    threads_per_site: int = 1,
) -> dict:
    """Run the federation; returns a summary (workspace paths, per-site frames, per-round update records).

    ``datalist``: the split to divide between the sites (default: the bundle's committed one); ``data_dir``: the
    folder its paths are relative to. ``record_updates``: each site also saves the updates it sends
    (``updates/<site>_round<r>.pt``, for tests). Raises FileExistsError if ``workspace`` exists and is not empty.
    """
    from nvflare.app_opt.pt.recipes.fedavg import FedAvgRecipe
    from nvflare.recipe import SimEnv, set_per_site_config

    from monai_lightseg.federated import client
    from monai_lightseg.federated.filters import CompressUpdate, RestoreUpdate
    from monai_lightseg.federated.persistor import RoundModelPersistor

    bundle, workspace = Path(bundle).resolve(), Path(workspace).resolve()
    if workspace.exists() and any(workspace.iterdir()):
        raise FileExistsError(f"{workspace} exists and is not empty; choose a new workspace (nothing is overwritten)")
    workspace.mkdir(parents=True, exist_ok=True)
    found = site_datalists(datalist or bundle / "configs" / "datalist.json", workspace / "sites", sites)
    for site, info in found.items():
        overrides = federated_overrides(bundle, info["datalist"], info["frames"], rounds, local_epochs,
                                        Path(data_dir).resolve())  # fmt: skip
        (workspace / "sites" / f"{site}_config.json").write_text(
            json.dumps({"overrides": overrides}, indent=4) + "\n", encoding="utf-8"
        )
    spec, initial = _network(bundle, seed)
    torch.save(initial, workspace / "initial.pt")
    record = str(workspace / "updates.jsonl")
    recipe = FedAvgRecipe(
        name="monai_lightseg_fedavg",
        model=spec,
        model_persistor=RoundModelPersistor(model=spec, source_ckpt_file_full_name=str(workspace / "initial.pt")),
        min_clients=len(found),
        num_rounds=rounds,
        train_script=client.__file__,
        aggregation_weights={site: float(info["frames"]) for site, info in found.items()},
    )
    args = f"--bundle {bundle} --local-epochs {local_epochs} --threads {threads_per_site}"
    if record_updates:
        args += f" --record {workspace / 'updates'}"
    set_per_site_config(recipe, {
        site: {"train_args": f"{args} --site-config {workspace / 'sites' / f'{site}_config.json'}"} for site in found
    })  # fmt: skip
    # monai_lightseg is installed at every site: NVFlare must not copy its modules into the job's custom/ folder
    # (with an editable install the copies, an incomplete namespace package, would shadow the real package)
    recipe._job.set_app_packages(["monai_lightseg"])
    recipe.add_client_output_filter(CompressUpdate(compression, record=record), tasks=["train"])
    recipe.add_server_input_filter(RestoreUpdate(record=record), tasks=["train"])
    start = time.time()
    run = recipe.run(SimEnv(clients=list(found), workspace_root=str(workspace / "nvflare")))
    result = run.get_result()
    saved = sorted(Path(workspace / "nvflare").rglob("global_models/round_*.pt"), key=lambda p: int(p.stem[6:]))
    if len(saved) != rounds:
        raise RuntimeError(f"the federation saved {len(saved)} of {rounds} global models; see {workspace / 'nvflare'}")
    (workspace / "global_models").mkdir()
    for path in saved:
        shutil.copy2(path, workspace / "global_models" / path.name)
    shutil.copy2(saved[-1], workspace / "model.pt")
    rows = [json.loads(line) for line in Path(record).read_text(encoding="utf-8").splitlines()]
    summary = {
        "bundle": bundle.name, "rounds": rounds, "local_epochs": local_epochs, "compression": compression,
        "seed": seed, "sites": found, "wall_s": round(time.time() - start, 1), "result": str(result),
        "validation_curve": validation_curve(workspace / "nvflare"),
        "global_models": [str(workspace / "global_models" / p.name) for p in saved], "updates": rows,
    }  # fmt: skip
    (workspace / "summary.json").write_text(json.dumps(summary, indent=4) + "\n", encoding="utf-8")
    return summary
