"""The two real hospitals of the polyp data as federation sites: site-1 = Kvasir-SEG (Vestre Viken, Norway),
site-2 = CVC-ClinicDB (Hospital Clinic, Barcelona), each with its part of the polyp bundles' committed split,
so the validation frames are the bundles' own (a site never sees the other's frames)."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["SITES", "site_datalists"]

#: site name -> the ``dataset`` field of the committed datalist's items
SITES = {"site-1": "kvasir_seg", "site-2": "cvc_clinicdb"}


def site_datalists(datalist_file: str | Path, out_dir: str | Path, sites: dict[str, str] = SITES) -> dict[str, dict]:
    """Write ``out_dir/<site>.json`` ({"training": [...], "validation": [...]}) from the bundle's committed
    ``datalist_file``; returns ``{site: {"datalist": path, "frames": number of training frames}}``.

    Raises ValueError when a site would get no training frame."""
    split = json.loads(Path(datalist_file).read_text(encoding="utf-8"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    found = {}
    for site, dataset in sites.items():
        part = {key: [i for i in split[key] if i.get("dataset") == dataset] for key in ("training", "validation")}
        if not part["training"]:
            raise ValueError(f"{datalist_file}: no training frame of dataset {dataset!r} for {site}")
        path = out / f"{site}.json"
        path.write_text(json.dumps(part, indent=4) + "\n", encoding="utf-8")
        found[site] = {"datalist": str(path), "frames": len(part["training"])}
    return found
