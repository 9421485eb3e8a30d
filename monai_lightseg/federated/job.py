"""The federated job: FedAvg over the sites of :mod:`.sites` with NVFlare 2.9's ``FedAvgRecipe``, run by its
simulator (every site a process on this machine), driven by a polyp bundle's own ``train.json``.

- Global model: the bundle's ``network_def`` initialised with ``seed`` on the server; after every round the
  aggregate is saved (``global_models/round_<r>.pt`` in the workspace, a plain state_dict) and the last one is
  also ``model.pt``.
- Aggregation: FedAvg weighted by each site's number of training frames (the recipe's ``aggregation_weights``;
  the sites send no step count, so NVFlare's step factor is 1 and the weights are exactly the frame counts).
  ``aggregation="fednova"``: the same weighted mean of updates that every site has normalised by its own step
  count (:mod:`.normalised_averaging`), so a site's pull follows its frames, not its frames times its steps.
- Sites send the difference from the global model (``ParamsType.DIFF``), optionally compressed
  (:mod:`.filters`; ``error_feedback``: with what compression dropped from the site's previous update added,
  :mod:`.error_feedback`); ``updates.jsonl`` records per site and round the bytes before and after compression
  and what arrived at the server.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import torch
from monai.bundle import ConfigParser

from monai_lightseg.federated.normalised_averaging import effective_steps, local_steps
from monai_lightseg.federated.overrides import federated_overrides
from monai_lightseg.federated.sites import SITES, site_datalists

__all__ = ["AGGREGATIONS", "export_job", "run_federation", "validation_curve", "write_site_config"]

AGGREGATIONS = ("fedavg", "fednova")

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


def _recipe(spec: dict, rounds: int, compression: str | None, frames: dict[str, int], site_args: dict[str, str],
            initial: str | None = None, record: str | None = None, error_feedback: bool = False):  # fmt: skip
    """NVFlare's ``FedAvgRecipe`` for these sites: frame-weighted FedAvg, the client script with each site's
    arguments, the compression filter pair, the persistor that keeps every round's global model."""
    from nvflare.app_opt.pt.recipes.fedavg import FedAvgRecipe
    from nvflare.recipe import set_per_site_config

    from monai_lightseg.federated import client
    from monai_lightseg.federated.filters import CompressUpdate, RestoreUpdate
    from monai_lightseg.federated.persistor import RoundModelPersistor

    recipe = FedAvgRecipe(
        name="monai_lightseg_fedavg",
        model=spec,
        model_persistor=RoundModelPersistor(model=spec, source_ckpt_file_full_name=initial),
        min_clients=len(site_args),
        num_rounds=rounds,
        train_script=client.__file__,
        aggregation_weights={site: float(n) for site, n in frames.items()},
    )
    set_per_site_config(recipe, {site: {"train_args": a} for site, a in site_args.items()})
    # monai_lightseg is installed at every site: NVFlare must not copy its modules into the job's custom/ folder
    # (with an editable install the copies, an incomplete namespace package, would shadow the real package)
    recipe._job.set_app_packages(["monai_lightseg"])
    compress = CompressUpdate(compression, record=record, error_feedback=error_feedback)
    recipe.add_client_output_filter(compress, tasks=["train"])
    recipe.add_server_input_filter(RestoreUpdate(record=record), tasks=["train"])
    return recipe


def _fednova_steps(bundle: Path, aggregation: str, frames: dict[str, int], local_epochs: int) -> float | None:
    """FedNova's ``tau_eff`` that every site is given (None for plain FedAvg)."""
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation {aggregation!r}: expected one of {AGGREGATIONS}")
    if aggregation == "fedavg":
        return None
    steps = {site: local_steps(bundle, n, local_epochs) for site, n in frames.items()}
    return round(effective_steps(frames, steps), 6)


def write_site_config(bundle: str | Path, datalist: str | Path, data_dir: str | Path, rounds: int, local_epochs: int,
                      out: str | Path) -> int:  # fmt: skip
    """Write one site's config (``{"overrides": ..., "frames": n}``, read by the client script) from the site's own
    datalist (its ``training`` and ``validation`` lists, paths relative to ``data_dir``); returns its number of
    training frames, the site's FedAvg weight (the one number a site tells the coordinator)."""
    split = json.loads(Path(datalist).read_text(encoding="utf-8"))
    frames = len(split.get("training", []))
    if not frames or not split.get("validation"):
        raise ValueError(f"{datalist}: a site's datalist needs 'training' and 'validation' lists")
    overrides = federated_overrides(bundle, Path(datalist).resolve(), frames, rounds, local_epochs,
                                    Path(data_dir).resolve())  # fmt: skip
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps({"overrides": overrides, "frames": frames}, indent=4) + "\n", encoding="utf-8")
    return frames


def export_job(bundle: str | Path, job_dir: str | Path, rounds: int, local_epochs: int, site_frames: dict[str, int],
               site_bundle: str, site_config: str, compression: str | None = None, threads_per_site: int = 0,
               reset_optimizer: bool = False, aggregation: str = "fedavg",
               error_feedback: bool = False) -> Path:  # fmt: skip
    """Write the NVFlare job for a real deployment (``nvflare job submit -j job_dir`` from the admin console).

    Every site runs the client script with ``--bundle site_bundle --site-config site_config`` (paths on the
    site's machine; ``{site}`` in them becomes the site's name) and must have the bundle there and its config
    from :func:`write_site_config`. ``site_frames``: each site's number of training frames (FedAvg weights).
    ``reset_optimizer``, ``aggregation``, ``error_feedback``: as in :func:`run_federation`. The server
    initialises the bundle's network itself.
    ``job_dir`` must not exist.
    """  # fmt: skip
    job_dir, bundle = Path(job_dir), Path(bundle)
    if job_dir.exists():
        raise FileExistsError(f"{job_dir} exists; choose a new folder (nothing is overwritten)")
    spec, _ = _network(bundle, 0)
    args = f"--bundle {site_bundle} --site-config {site_config} --local-epochs {local_epochs}"
    args += f" --threads {threads_per_site}"
    args += " --reset-optimizer" if reset_optimizer else ""
    tau_eff = _fednova_steps(bundle, aggregation, site_frames, local_epochs)
    args += f" --fednova-steps {tau_eff}" if tau_eff else ""
    recipe = _recipe(spec, rounds, compression, site_frames, {site: args for site in site_frames},
                     error_feedback=error_feedback)  # fmt: skip
    recipe.export(str(job_dir))
    job = job_dir / recipe.name
    # NVFlare writes the client script's absolute path on this machine; at a site it is the copy in the app's
    # custom/ folder, which NVFlare finds by a path relative to that folder
    from monai_lightseg.federated import client

    for config in sorted(job.glob("app_*/config/config_fed_client.json")):
        data = json.loads(config.read_text(encoding="utf-8"))
        for executor in data["executors"]:
            if executor["executor"]["args"].get("task_script_path") == client.__file__:
                executor["executor"]["args"]["task_script_path"] = "monai_lightseg/federated/client.py"
        config.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")
    return job


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
    reset_optimizer: bool = False,
    aggregation: str = "fedavg",
    error_feedback: bool = False,
) -> dict:
    """Run the federation in NVFlare's simulator (every site a process here); returns a summary (workspace paths,
    per-site frames, per-round update records).

    ``datalist``: the split to divide between the sites (default: the bundle's committed one); ``data_dir``: the
    folder its paths are relative to. ``record_updates``: each site also saves the updates it sends
    (``updates/<site>_round<r>.pt``, for tests). ``reset_optimizer``: each site clears its optimizer state
    (AdamW's moments) before every round's local training instead of carrying it over. ``aggregation``:
    "fedavg" (frame-weighted mean of the updates) or "fednova" (the same of step-normalised updates,
    :mod:`.normalised_averaging`). ``error_feedback``: each site adds to its update what compression dropped
    from its previous one (needs ``compression``; :mod:`.error_feedback`). Raises FileExistsError if
    ``workspace`` exists and is not empty.
    """
    from nvflare.recipe import SimEnv

    bundle, workspace = Path(bundle).resolve(), Path(workspace).resolve()
    if aggregation not in AGGREGATIONS:  # before anything is written
        raise ValueError(f"aggregation {aggregation!r}: expected one of {AGGREGATIONS}")
    if error_feedback and not compression:
        raise ValueError("error feedback needs a compression scheme (int8 or fp16)")
    if workspace.exists() and any(workspace.iterdir()):
        raise FileExistsError(f"{workspace} exists and is not empty; choose a new workspace (nothing is overwritten)")
    workspace.mkdir(parents=True, exist_ok=True)
    found = site_datalists(datalist or bundle / "configs" / "datalist.json", workspace / "sites", sites)
    for site, info in found.items():
        config = workspace / "sites" / f"{site}_config.json"
        write_site_config(bundle, info["datalist"], data_dir, rounds, local_epochs, config)
    spec, initial = _network(bundle, seed)
    torch.save(initial, workspace / "initial.pt")
    record = str(workspace / "updates.jsonl")
    args = f"--bundle {bundle} --local-epochs {local_epochs} --threads {threads_per_site}"
    if reset_optimizer:
        args += " --reset-optimizer"
    tau_eff = _fednova_steps(bundle, aggregation, {s: info["frames"] for s, info in found.items()}, local_epochs)
    args += f" --fednova-steps {tau_eff}" if tau_eff else ""
    if record_updates:
        args += f" --record {workspace / 'updates'}"
    site_args = {site: f"{args} --site-config {workspace / 'sites' / f'{site}_config.json'}" for site in found}
    recipe = _recipe(spec, rounds, compression, {s: info["frames"] for s, info in found.items()}, site_args,
                     initial=str(workspace / "initial.pt"), record=record, error_feedback=error_feedback)  # fmt: skip
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
        "error_feedback": error_feedback, "reset_optimizer": reset_optimizer, "aggregation": aggregation,
        "fednova_steps": tau_eff, "seed": seed, "sites": found, "wall_s": round(time.time() - start, 1),
        "result": str(result),
        "validation_curve": validation_curve(workspace / "nvflare"),
        "global_models": [str(workspace / "global_models" / p.name) for p in saved], "updates": rows,
    }  # fmt: skip
    (workspace / "summary.json").write_text(json.dumps(summary, indent=4) + "\n", encoding="utf-8")
    return summary
