"""CVC-ClinicDB validation Dice per video sequence (issues 17 and 21): the 132 validation frames are six
sequences, six polyps filmed 18-25 times each, so a frame is not an independent sample and one missed polyp
moves the mean by up to 0.19 x its Dice.

Reads per-frame Dice that other benchmarks stored (nothing is re-run):
- ``benchmarks/results/flip_tta_polyp.json``: each polyp bundle on the validation frames, flips off and on;
- ``benchmarks/results/federated/<setting>/evaluation.json``: each federated-learning setting.

Writes ``--out`` (JSON): per model, the mean Dice of each sequence, the mean over sequences (each polyp weighted
once), the frame mean and the frame mean without the sequence that scores lowest for the UNet bundle; and, for
every federation with a centralised run of the same seed, the federated-minus-centralised difference per
sequence with a t interval over the six sequences (the paired interval that treats the polyps, not the frames,
as the samples), and per family of federations with two or more such seeds the mean of those differences over
its seeds, per sequence. Prints Markdown tables for docs/results.md and docs/federated.md.

    python benchmarks/polyp_per_sequence.py [--out benchmarks/results/polyp_per_sequence.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from monai_lightseg.data import cvc_clinicdb_sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from federated_report import STORED_DECIMALS, family_and_seed, paired  # noqa: E402  (benchmarks/, this script's folder)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def by_sequence(per_frame: dict[str, float]) -> dict[int, list[float]]:
    """CVC-ClinicDB per-frame Dice ``{".../<n>.png": dice}`` grouped by video sequence."""
    groups: dict[int, list[float]] = {}
    for path, dice in per_frame.items():
        groups.setdefault(cvc_clinicdb_sequence(int(Path(path).stem)), []).append(float(dice))
    return dict(sorted(groups.items()))


def summarise(per_frame: dict[str, float], hard: int | None = None) -> dict:
    groups = by_sequence(per_frame)
    means = {s: float(np.mean(v)) for s, v in groups.items()}
    row = {
        "frames": {str(s): len(v) for s, v in groups.items()},
        "sequence_dice": {str(s): round(m, STORED_DECIMALS) for s, m in means.items()},
        "frame_mean": round(float(np.mean(list(per_frame.values()))), STORED_DECIMALS),
        "sequence_mean": round(float(np.mean(list(means.values()))), STORED_DECIMALS),
    }
    if hard is not None:
        rest = [d for s, v in groups.items() if s != hard for d in v]
        row[f"frame_mean_without_sequence_{hard}"] = round(float(np.mean(rest)), STORED_DECIMALS)
    return row


def sequence_means(per_frame: dict[str, float]) -> dict[int, float]:
    """Mean Dice of each video sequence."""
    return {s: float(np.mean(v)) for s, v in by_sequence(per_frame).items()}


def paired_by_sequence(a: dict[str, float], b: dict[str, float]) -> dict:
    """Mean over sequences of (mean Dice of ``a`` - of ``b``) on each sequence, with a 95 % t interval over
    the sequences (:func:`federated_report.paired` with the sequences as its samples)."""
    if set(a) != set(b):
        raise ValueError("the two settings scored different frames")
    ma, mb = sequence_means(a), sequence_means(b)
    return {"per_sequence": {str(s): round(ma[s] - mb[s], STORED_DECIMALS) for s in ma}, **paired(ma, mb)}


def bundles_table(flip: dict) -> tuple[dict, int]:
    """Per polyp bundle and flip setting, the CVC-ClinicDB summary; the UNet's (flips off) lowest sequence."""
    unet = flip["bundles"]["polyp_endoscopy_unet_segmentation"]["groups"]["cvc_clinicdb/class_1"]
    unet_means = {s: np.mean(v) for s, v in by_sequence(unet["per_image_dice"]["off"]).items()}
    hard = int(min(unet_means, key=unet_means.get))
    out = {}
    for name, bundle in flip["bundles"].items():
        per_image = bundle["groups"]["cvc_clinicdb/class_1"]["per_image_dice"]
        out[name] = {flips: summarise(per_image[flips], hard) for flips in ("off", "on")}
    return out, hard


def federated_table(results: Path, hard: int) -> dict:
    """Per federated-learning setting, the CVC-ClinicDB (site-2) summary; per federation with a centralised run
    of its seed, the paired difference by sequence; per family with two or more such seeds, the mean over its
    seeds of those differences, per sequence, with a t interval over the sequences."""
    scored = {p.parent.name: json.loads(p.read_text(encoding="utf-8"))["site-2"]["per_frame"]
              for p in sorted(results.glob("*/evaluation.json"))}  # fmt: skip
    seeded = {n: f for n in scored if (f := family_and_seed(n))}
    centralised = {seed: n for n, (family, seed) in seeded.items() if family == "centralised"}
    out, families = {}, {}
    for name, frames in scored.items():
        out[name] = summarise(frames, hard)
        family, seed = seeded.get(name, (None, None))
        if family and family.startswith("federated") and seed in centralised:
            out[name]["minus_centralised_same_seed"] = {
                "reference": centralised[seed], **paired_by_sequence(frames, scored[centralised[seed]])
            }
            families.setdefault(family, []).append(name)
    means = {}
    for family, names in families.items():
        if len(names) >= 2:  # the mean of (federated - centralised) over seeds = mean federated - mean centralised
            fed = [sequence_means(scored[n]) for n in names]
            ref = [sequence_means(scored[centralised[seeded[n][1]]]) for n in names]
            fed_mean = {s: float(np.mean([m[s] for m in fed])) for s in fed[0]}
            ref_mean = {s: float(np.mean([m[s] for m in ref])) for s in fed[0]}
            differences = {str(s): round(fed_mean[s] - ref_mean[s], STORED_DECIMALS) for s in fed_mean}
            means[family] = {"settings": names, "per_sequence": differences, **paired(fed_mean, ref_mean)}
    return out, means


def markdown(report: dict) -> str:
    hard = report["hardest_sequence"]
    sequences = list(next(iter(report["bundles"].values()))["off"]["sequence_dice"])
    head = " | ".join(f"seq {s} ({n})" for s, n in next(iter(report["bundles"].values()))["off"]["frames"].items())
    lines = [f"| bundle, flips | {head} | frame mean | mean of sequences | frame mean without seq {hard} |",
             "|---|" + "---|" * (len(sequences) + 3)]  # fmt: skip
    for name, rows in report["bundles"].items():
        for flips, row in rows.items():
            cells = " | ".join(f"{row['sequence_dice'][s]:.3f}" for s in sequences)
            short = name.replace("polyp_endoscopy_", "").replace("_segmentation", "")
            lines.append(f"| {short}, {flips} | {cells} | {row['frame_mean']:.3f} | {row['sequence_mean']:.3f} | "
                         f"{row[f'frame_mean_without_sequence_{hard}']:.3f} |")  # fmt: skip
    lines += ["", f"| federated setting | {head} | frame mean | minus centralised (same seed), by sequence |",
              "|---|" + "---|" * (len(sequences) + 2)]  # fmt: skip
    for name, row in report["federated"].items():
        cells = " | ".join(f"{row['sequence_dice'][s]:.3f}" for s in sequences)
        p = row.get("minus_centralised_same_seed")
        diff = f"{p['mean']:+.3f} [{p['ci95'][0]:+.3f}, {p['ci95'][1]:+.3f}]" if p else ""
        lines.append(f"| {name} | {cells} | {row['frame_mean']:.3f} | {diff} |")
    lines += ["", "| federation, mean over seeds of minus centralised (same seed) | "
              + " | ".join(f"seq {s}" for s in sequences) + " | mean [95 % t over sequences] |",
              "|---|" + "---|" * (len(sequences) + 1)]  # fmt: skip
    for family, row in report["federated_seed_means"].items():
        cells = " | ".join(f"{row['per_sequence'][s]:+.3f}" for s in sequences)
        seeds = len(row["settings"])
        lines.append(f"| {family} ({seeds} seeds) | {cells} | {row['mean']:+.3f} [{row['ci95'][0]:+.3f}, "
                     f"{row['ci95'][1]:+.3f}] |")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flip", type=Path, default=RESULTS / "flip_tta_polyp.json")
    parser.add_argument("--federated", type=Path, default=RESULTS / "federated")
    parser.add_argument("--out", type=Path, default=RESULTS / "polyp_per_sequence.json")
    args = parser.parse_args()
    bundles, hard = bundles_table(json.loads(args.flip.read_text(encoding="utf-8")))
    federated, family_means = federated_table(args.federated, hard)
    report = {"hardest_sequence": hard, "bundles": bundles, "federated": federated,
              "federated_seed_means": family_means}  # fmt: skip
    args.out.write_text(json.dumps(report, indent=4) + "\n", encoding="utf-8")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
