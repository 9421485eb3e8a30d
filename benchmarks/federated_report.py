"""Table of the federated-learning comparison (issue 21): every setting that ``federated_polyp.py`` evaluated,
per site, against the centralised bundle, with paired per-frame differences, and the bytes each site uploaded.

Reads ``<results>/<setting>/evaluation.json`` (per-frame Dice on the bundles' validation frames) and, for
federations, ``<results>/<setting>/summary.json``; writes ``<results>/report.json`` and prints a Markdown table
for docs/federated.md (``--docs FILE``: also written between its ``federated-table`` markers).

Why paired: every setting is scored on the same 232 frames, so the per-frame difference to the centralised model
removes the frames' own difficulty; its 95 % confidence interval (t over frames) says whether a difference of
0.01 is real, which two seeds per setting could not on this machine's budget.

Seeds: a setting named ``<family>_seed<S>`` is seed S of that family; ``centralised`` is seed 0 of the family
``centralised`` (the shipped bundle) and ``centralised_seed<S>`` its retrainings. A federation is also compared
with the centralised run of its own seed (paired), and every family with two or more seeds gets its mean over
seeds and, where the centralised runs of the same seeds all exist, that mean as a share of theirs.

    python benchmarks/federated_report.py [--results benchmarks/results/federated] [--docs docs/federated.md]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
SITES = ("site-1", "site-2")
REFERENCE = "centralised"
COMPRESSED = re.compile(r"federated_(int8|fp16)(ef)?(?=_)")  # its float32 twin: the same name with fp32
_SEEDED = re.compile(r"^(?P<family>.+)_seed(?P<seed>\d+)$")


def family_and_seed(name: str) -> tuple[str, int] | None:
    """("federated_fp32_r50x2", 1) for ``federated_fp32_r50x2_seed1``; ("centralised", 0) for the bundle itself;
    None for settings that are not one seed of a family (e.g. ``centralised_last_epoch``)."""
    if name == REFERENCE:
        return REFERENCE, 0
    match = _SEEDED.match(name)
    return (match["family"], int(match["seed"])) if match else None


# Means and bounds are stored with 6 decimals so that the 3 quoted in the docs are rounded once: a value stored
# as 0.0125 (4 decimals) could have been 0.01246 or 0.01254, and rounding it again gives 0.013 for both.
STORED_DECIMALS = 6


def paired(a: dict[str, float], b: dict[str, float]) -> dict:
    """Mean of ``a - b`` over the frames both score, with a 95 % t interval and the frames each side wins."""
    frames = sorted(set(a) & set(b))
    if len(frames) != len(a) or len(frames) != len(b):
        raise ValueError(f"the two settings scored different frames ({len(a)} vs {len(b)}, {len(frames)} shared)")
    d = np.array([a[f] - b[f] for f in frames])
    half = float(stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    mean = float(d.mean())
    low, high = round(mean - half, STORED_DECIMALS), round(mean + half, STORED_DECIMALS)
    return {"mean": round(mean, STORED_DECIMALS), "ci95": [low, high],
            "better": int((d > 0.005).sum()), "worse": int((d < -0.005).sum()), "frames": len(d)}  # fmt: skip


def upload_bytes(summary: dict) -> dict:
    """Mean serialized upload per site per round, as sent and as float32 would have been."""
    rows = [r for r in summary.get("updates", []) if r.get("side") == "site"]
    if not rows:
        return summary.get("upload_bytes", {})
    sent = float(np.mean([r["bytes_sent"] for r in rows]))
    full = float(np.mean([r["bytes_uncompressed"] for r in rows]))
    return {"sent": round(sent), "float32": round(full), "ratio": round(sent / full, 4), "uploads": len(rows)}


def condensed(summary: dict) -> dict:
    """A federation's summary without the per-update tensor lists (megabytes); keeps bytes and what crossed."""
    rows = summary.get("updates", [])
    server = [r for r in rows if r.get("side") == "server"]
    kept = {k: v for k, v in summary.items() if k not in ("updates", "global_models", "result", "sites")}
    # the workspace's paths are this machine's; what identifies a site is its name and frame count
    kept["sites"] = {site: {"frames": info["frames"]} for site, info in summary.get("sites", {}).items()}
    kept["upload_bytes"] = upload_bytes(summary)
    if server:
        kept["what_crossed"] = {
            "kinds": sorted({r["kind"] for r in server}),
            "tensors": len(server[0]["tensors"]),
            "meta_keys": sorted({k for r in server for k in r["meta_keys"]}),
            "other_keys": sorted({k for r in server for k in r["other_keys"]}),
        }
    return kept


def report(results: Path) -> dict:
    order = ("centralised", "federated_fp32", "federated_int8", "federated_fp16", "alone")  # then by name

    def rank(path: Path) -> tuple:
        name = path.parent.name
        return next((i for i, p in enumerate(order) if name.startswith(p)), len(order)), name

    scored = {p.parent.name: json.loads(p.read_text(encoding="utf-8"))
              for p in sorted(results.glob("*/evaluation.json"), key=rank)}  # fmt: skip
    if REFERENCE not in scored:
        raise FileNotFoundError(
            f"{results / REFERENCE / 'evaluation.json'} is missing: run --setting centralised first"
        )
    table = {}
    for name, result in scored.items():
        row = {"dice": {s: result[s]["dice"] for s in SITES}}
        row["of_centralised"] = {s: round(result[s]["dice"] / scored[REFERENCE][s]["dice"], 3) for s in SITES}
        if name != REFERENCE:
            row["minus_centralised"] = {
                s: paired(result[s]["per_frame"], scored[REFERENCE][s]["per_frame"]) for s in SITES
            }
        summary = results / name / "summary.json"
        if summary.exists():
            info = json.loads(summary.read_text(encoding="utf-8"))
            row.update(wall_s=info.get("wall_s"), upload_bytes=upload_bytes(info))
            if info.get("validation_curve"):  # per site, the global model at the start of each round
                row["validation_curve"] = info["validation_curve"]
        table[name] = row
    for name in table:  # compressed federation vs the uncompressed one of the same seed
        compressed = COMPRESSED.match(name)
        if compressed:
            twin = "federated_fp32" + name[compressed.end() :]
            if twin in scored:
                table[name]["minus_fp32"] = {s: paired(scored[name][s]["per_frame"], scored[twin][s]["per_frame"])
                                             for s in SITES}  # fmt: skip
    for name in table:  # the same setting run again (`<name>_repeat`): 0 where runs are deterministic (as here,
        # one thread per site), else the noise floor of a paired comparison
        original = name[: -len("_repeat")] if name.endswith("_repeat") else None
        if original in scored:
            table[name]["minus_original"] = {s: paired(scored[name][s]["per_frame"], scored[original][s]["per_frame"])
                                             for s in SITES}  # fmt: skip
    seeded = {name: found for name in scored if (found := family_and_seed(name))}
    centralised_of_seed = {seed: name for name, (family, seed) in seeded.items() if family == REFERENCE}
    for name, (family, seed) in seeded.items():  # a federation vs the centralised run of its own seed
        reference = centralised_of_seed.get(seed)
        if family.startswith("federated") and reference and reference != REFERENCE:
            table[name]["minus_centralised_same_seed"] = {
                "reference": reference,
                **{s: paired(scored[name][s]["per_frame"], scored[reference][s]["per_frame"]) for s in SITES},
            }
    families: dict[str, list[str]] = {}
    for name, (family, _) in seeded.items():
        families.setdefault(family, []).append(name)
    means = {}
    for family, names in families.items():
        if len(names) >= 2:
            dice = {s: round(float(np.mean([scored[n][s]["dice"] for n in names])), STORED_DECIMALS) for s in SITES}
            means[family] = {"settings": names, "dice": dice}
            # against the centralised runs of the same seeds, so that a family's share is not moved by seeds it lacks
            references = [centralised_of_seed.get(seeded[n][1]) for n in names]
            if family != REFERENCE and all(references):
                reference = {s: float(np.mean([scored[r][s]["dice"] for r in references])) for s in SITES}
                means[family]["centralised_same_seeds"] = {s: round(reference[s], STORED_DECIMALS) for s in SITES}
                means[family]["of_centralised_mean"] = {s: round(dice[s] / reference[s], 3) for s in SITES}
    if means:
        table["seed_means"] = means
    (results / "report.json").write_text(json.dumps(table, indent=4) + "\n", encoding="utf-8")
    return table


def markdown(table: dict) -> str:
    def diff(p: dict) -> str:
        return f"{p['mean']:+.3f} [{p['ci95'][0]:+.3f}, {p['ci95'][1]:+.3f}]"

    lines = ["| setting | Kvasir-SEG (site-1) | CVC-ClinicDB (site-2) | vs centralised, paired: site-1 | site-2 "
             "| upload per site per round |", "|---|---|---|---|---|---|"]  # fmt: skip
    means = table.get("seed_means", {})
    table = {k: v for k, v in table.items() if k != "seed_means"}
    for name, row in table.items():
        d = row.get("minus_centralised")
        up = row.get("upload_bytes") or {}
        sent = f"{up['sent'] / 1e6:.2f} MB ({up['ratio']:.3f}x)" if up else ""
        lines.append(
            f"| {name} | {row['dice']['site-1']:.3f} ({row['of_centralised']['site-1']:.1%}) "
            f"| {row['dice']['site-2']:.3f} ({row['of_centralised']['site-2']:.1%}) "
            f"| {diff(d['site-1']) if d else ''} | {diff(d['site-2']) if d else ''} "
            f"| {sent} |"
        )
    for name, row in table.items():
        if "minus_fp32" in row:
            one, two = diff(row["minus_fp32"]["site-1"]), diff(row["minus_fp32"]["site-2"])
            lines.append(f"\n{name} minus its float32 twin, paired per frame: site-1 {one}, site-2 {two}")
    for name, row in table.items():
        if "minus_original" in row:
            one, two = diff(row["minus_original"]["site-1"]), diff(row["minus_original"]["site-2"])
            lines.append(f"\n{name} minus the first run of the same setting, paired per frame: site-1 {one}, "
                         f"site-2 {two}")  # fmt: skip
    for name, row in table.items():
        if "minus_centralised_same_seed" in row:
            same = row["minus_centralised_same_seed"]
            lines.append(f"\n{name} minus {same['reference']} (same seed), paired per frame: "
                         f"site-1 {diff(same['site-1'])}, site-2 {diff(same['site-2'])}")  # fmt: skip
    if means:
        lines += ["\n| mean over seeds | seeds | Kvasir-SEG (site-1) | CVC-ClinicDB (site-2) "
                  "| centralised, same seeds | share of it |", "|---|---|---|---|---|---|"]  # fmt: skip
        for family, row in means.items():
            seeds = ", ".join(str(family_and_seed(n)[1]) for n in row["settings"])
            ref, share = row.get("centralised_same_seeds"), row.get("of_centralised_mean")
            cells = [f"{row['dice'][s]:.3f}" for s in SITES]
            ref_cell = f"{ref['site-1']:.3f} / {ref['site-2']:.3f}" if ref else ""
            share_cell = f"{share['site-1']:.1%} / {share['site-2']:.1%}" if share else ""
            lines.append(f"| {family} | {seeds} | {cells[0]} | {cells[1]} | {ref_cell} | {share_cell} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results" / "federated")
    parser.add_argument("--docs", type=Path, help="a Markdown file with federated-table-start/-end markers")
    args = parser.parse_args()
    table = markdown(report(args.results))
    print(table)
    if args.docs:
        text = args.docs.read_text(encoding="utf-8")
        start, end = "<!-- federated-table-start -->\n", "<!-- federated-table-end -->"
        if start not in text or end not in text:
            raise SystemExit(f"{args.docs}: no {start.strip()} ... {end} markers")
        head, rest = text.split(start, 1)
        args.docs.write_text(head + start + table + "\n" + end + rest.split(end, 1)[1], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
