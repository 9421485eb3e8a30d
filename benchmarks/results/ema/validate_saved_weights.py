"""Validate saved weights with a bundle's own in-training validator (same frames, same metric as the
``val_mean_dice`` in ``models/training_log.csv``), without writing ``models/model.pt``. Run from the bundle copy:

    python validate_saved_weights.py --dataset_dir ../shared/data models/raw/epoch0*.pt models/raw/epoch100.pt

Prints each file's ``val_mean_dice``, then all of them as JSON.
"""

import argparse
import json

import torch
from monai.bundle import ConfigParser


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--dataset_dir", required=True)
    args.add_argument("weights", nargs="+", help="state_dict files of the bundle's network")
    args = args.parse_args()
    parser = ConfigParser()
    parser.read_config("configs/train.json")
    parser["bundle_root"] = "."
    parser["dataset_dir"] = args.dataset_dir
    parser["validate#handlers"] = [parser["validate#handlers"][0]]  # StatsHandler only: no KeepBestNetwork
    network = parser.get_parsed_content("network")
    evaluator = parser.get_parsed_content("validate#evaluator")
    scores = {}
    for path in args.weights:
        network.load_state_dict(torch.load(path, map_location="cpu"))
        evaluator.run()
        scores[path] = float(evaluator.state.metrics["val_mean_dice"])
        print(path, round(scores[path], 5), flush=True)
    print(json.dumps(scores))


if __name__ == "__main__":
    main()
