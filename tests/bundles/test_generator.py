"""The bundles are written by one generator from per-task definitions (scripts/make_bundles.py): the committed
configs, licences and samples must be exactly what it writes, and the report must render for every task."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from PIL import Image

from tests.bundles.conftest import BUNDLES_DIR
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "scripts"))
try:
    from bundle_tasks import TASKS
    from bundle_tasks.engine import generate
    from bundle_tasks.synthetic_fundus import write_samples
finally:
    sys.path.pop(0)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_committed_bundles_match_the_generator(task: str, tmp_path) -> None:
    written = generate(TASKS[task], tmp_path, data_root=None)
    assert written, task
    for path in written:
        committed = BUNDLES_DIR / path.relative_to(tmp_path)
        same = committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
        assert same, f"{committed} differs: run make_bundles.py --task {task}"
    for copied in tmp_path.rglob("sample_data/**/*"):
        if copied.is_file():
            committed = BUNDLES_DIR / copied.relative_to(tmp_path)
            assert committed.read_bytes() == copied.read_bytes(), f"{committed} differs from samples/"


def test_every_bundle_folder_belongs_to_a_task() -> None:
    defined = {name for task in TASKS.values() for name in task.networks}
    shipped = {p.parent.parent.name for p in BUNDLES_DIR.glob("*/configs/metadata.json")}
    assert shipped == defined


def test_synthetic_vessel_samples_are_reproducible(tmp_path) -> None:
    write_samples(tmp_path)
    drawn = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.png"))
    assert len(drawn) == 6
    for rel in drawn:
        for shipped in (REPO / "samples" / "vessels", BUNDLES_DIR / "retinal_vessel_fundus_light_u2net_segmentation"
                        / "sample_data"):  # fmt: skip
            assert np.array_equal(np.asarray(Image.open(shipped / rel)), np.asarray(Image.open(tmp_path / rel))), rel


@pytest.mark.parametrize("task", sorted(TASKS))
def test_report_renders_readmes_and_table(task: str) -> None:
    """Before training (no record) and with each bundle's committed results.json where there is one."""
    definition = TASKS[task]
    records = {}
    for name, spec in definition.networks.items():
        before = definition.readme(spec, None)
        assert "Not trained yet" in before and spec["title"] in before
        path = BUNDLES_DIR / name / "docs" / "results.json"
        records[name] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        if records[name] is not None:
            after = definition.readme(spec, records[name])
            assert "validation_curve.png" in after and f"{records[name]['steps']} steps" in after
    for name in definition.networks:  # the committed README: the zoo template's headings, nothing linked outside
        text = (BUNDLES_DIR / name / "docs" / "README.md").read_text(encoding="utf-8")
        headings = ["### **Authors**", "### **Tags**", "## **Model Description**", "## **Data**", "## **Performance**",
                    "## **Additional Usage Steps**", "## **System Configuration**", "## **Limitations**",
                    "## **Citation Info**"]  # fmt: skip
        assert all(h in text for h in headings), name
        assert "](../" not in text and "](/" not in text, name
    table = definition.results_table(records)
    assert table[0].startswith("| bundle |") and len(table) >= 2 + len(definition.networks)
    assert all(line.count("|") == table[0].count("|") for line in table), "ragged table"


def test_plateau_gain_is_the_last_quarters_improvement() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from bundle_tasks.report import plateau_gain
    finally:
        sys.path.pop(0)
    dice = {5: 0.5, 10: 0.7, 15: 0.74, 20: 0.745}  # epochs 1-15 are the first three quarters of 20
    rows = [{"epoch": str(e), "validation": f"val_mean_dice={dice[e]};val_mean_iou=0.1" if e in dice else ""}
            for e in range(1, 21)]  # fmt: skip
    assert plateau_gain(rows) == pytest.approx(0.005)
    assert plateau_gain([{"epoch": "1", "validation": ""}]) is None
