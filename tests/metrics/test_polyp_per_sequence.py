"""CVC-ClinicDB Dice per video sequence (benchmarks/polyp_per_sequence.py): frames grouped by the dataset's own
sequence table, each polyp weighted once, and the paired difference taken over sequences, not frames."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from polyp_per_sequence import by_sequence, paired_by_sequence, summarise  # noqa: E402


def _frames(dice_of_sequence: dict[int, float], starts=(1, 104, 206)) -> dict[str, float]:
    """Three frames of each of the validation sequences 1, 6 and 11 (first frames 1, 104, 206)."""
    out = {}
    for seq, start in zip((1, 6, 11), starts):
        for i in range(3):
            out[f"cvc_clinicdb/images/{start + i}.png"] = dice_of_sequence[seq]
    return out


def test_frames_are_grouped_by_the_datasets_sequences_and_each_polyp_counts_once():
    frames = _frames({1: 0.3, 6: 0.9, 11: 0.9})
    frames["cvc_clinicdb/images/25.png"] = 0.3  # sequence 1 ends at 25; 26 would be sequence 2
    assert {s: len(v) for s, v in by_sequence(frames).items()} == {1: 4, 6: 3, 11: 3}
    row = summarise(frames, hard=1)
    assert row["sequence_mean"] == pytest.approx(0.7)  # (0.3 + 0.9 + 0.9) / 3, whatever the frame counts
    assert row["frame_mean"] == pytest.approx((4 * 0.3 + 6 * 0.9) / 10)
    assert row["frame_mean_without_sequence_1"] == pytest.approx(0.9)


def test_the_paired_difference_has_one_sample_per_sequence():
    a = _frames({1: 0.5, 6: 0.8, 11: 0.7})
    b = _frames({1: 0.4, 6: 0.9, 11: 0.6})
    result = paired_by_sequence(a, b)
    assert result["per_sequence"] == pytest.approx({"1": 0.1, "6": -0.1, "11": 0.1})
    assert result["mean"] == pytest.approx(0.1 / 3, abs=1e-4)
    d = np.array([0.1, -0.1, 0.1])  # t interval over 3 sequences (2 degrees of freedom): 4.303 x sd / sqrt(3)
    half = 4.3027 * d.std(ddof=1) / np.sqrt(3)
    assert result["ci95"] == pytest.approx([d.mean() - half, d.mean() + half], abs=1e-3)
    with pytest.raises(ValueError, match="different frames"):
        paired_by_sequence(a, {k: v for k, v in list(b.items())[1:]})
