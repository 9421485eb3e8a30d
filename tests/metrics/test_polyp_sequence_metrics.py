"""CVC-ClinicDB Dice, precision and recall per sequence (benchmarks/polyp_sequence_metrics.py): rows grouped by the
dataset's sequence table, Kvasir-SEG rows ignored, a file without CVC-ClinicDB rows refused with its name."""

import csv
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from polyp_sequence_metrics import per_sequence  # noqa: E402

FIELDS = ["image", "dataset", "class", "dice", "iou", "precision", "recall"]


def _write(path: Path, rows: list[tuple[str, str, float, float, float]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(FIELDS)
        for image, dataset, dice, precision, recall in rows:
            writer.writerow([image, dataset, "class_1", dice, 0.0, precision, recall])
    return path


def test_means_are_taken_per_sequence_over_its_frames(tmp_path):
    csv_path = _write(tmp_path / "per_image.csv", [
        ("cvc_clinicdb/images/1.png", "cvc_clinicdb", 0.4, 0.9, 0.2),   # sequence 1 (frames 1-25)
        ("cvc_clinicdb/images/25.png", "cvc_clinicdb", 0.6, 1.0, 0.4),
        ("cvc_clinicdb/images/529.png", "cvc_clinicdb", 0.6, 0.5, 1.0),  # sequence 26
        ("kvasir_seg/images/val_0.jpg", "kvasir_seg", 0.0, 0.0, 0.0),
    ])  # fmt: skip
    result = per_sequence(csv_path)
    assert list(result) == ["1", "26"]
    assert result["1"] == pytest.approx({"frames": 2, "dice": 0.5, "precision": 0.95, "recall": 0.3})
    assert result["26"] == pytest.approx({"frames": 1, "dice": 0.6, "precision": 0.5, "recall": 1.0})


def test_a_file_without_cvc_clinicdb_rows_is_refused_by_name(tmp_path):
    csv_path = _write(tmp_path / "kvasir_only.csv", [("kvasir_seg/images/val_0.jpg", "kvasir_seg", 0.9, 0.9, 0.9)])
    with pytest.raises(ValueError, match="kvasir_only.csv"):
        per_sequence(csv_path)
