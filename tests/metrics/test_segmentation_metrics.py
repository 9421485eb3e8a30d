"""Per-image metrics against hand counts, and the summary statistics."""

from __future__ import annotations

import math

import pytest
import torch

from monai_lightseg.metrics import per_image_metrics, summarize


def test_metrics_match_hand_counts() -> None:
    label = torch.zeros(1, 1, 10, 10)
    label[..., :4, :5] = 1  # 20 foreground pixels
    pred = torch.zeros(1, 1, 10, 10)
    pred[..., :4, :3] = 1  # 12 true positives
    pred[..., 9, :6] = 1  # 6 false positives
    m = {k: v.item() for k, v in per_image_metrics(pred, label).items()}
    tp, fp, fn, tn = 12, 6, 8, 74
    assert m["dice"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert m["iou"] == pytest.approx(tp / (tp + fp + fn))
    assert m["precision"] == pytest.approx(tp / (tp + fp))
    assert m["recall"] == pytest.approx(tp / (tp + fn))
    assert m["accuracy"] == pytest.approx((tp + tn) / 100)
    assert m["specificity"] == pytest.approx(tn / (tn + fp))
    assert m["f1"] == pytest.approx(m["dice"])


def test_a_mask_restricts_every_count_to_its_inside() -> None:
    """Field-of-view metrics: pixels outside the mask count for nothing, not even as true negatives."""
    label = torch.zeros(1, 1, 10, 10)
    label[..., :4, :5] = 1
    pred = torch.zeros(1, 1, 10, 10)
    pred[..., :4, :3] = 1
    pred[..., 9, :6] = 1
    fov = torch.zeros(1, 1, 10, 10)
    fov[..., :8, :] = 1  # rows 8-9 outside: the 6 false positives of row 9 and 14 true negatives drop out
    m = {k: v.item() for k, v in per_image_metrics(pred, label, mask=fov).items()}
    tp, fp, fn, tn = 12, 0, 8, 60
    assert m["dice"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert m["iou"] == pytest.approx(tp / (tp + fp + fn))
    assert m["recall"] == pytest.approx(tp / (tp + fn)) and m["precision"] == pytest.approx(1.0)
    assert m["specificity"] == pytest.approx(tn / (tn + fp)) and m["accuracy"] == pytest.approx((tp + tn) / 80)
    # a full mask gives the unmasked numbers
    full = per_image_metrics(pred, label, mask=torch.ones(1, 1, 10, 10))
    for k, v in per_image_metrics(pred, label).items():
        assert full[k].item() == pytest.approx(v.item()), k
    with pytest.raises(ValueError, match="mask shape"):
        per_image_metrics(pred, label, mask=torch.ones(1, 1, 9, 10))


def test_empty_prediction_and_label_score_one() -> None:
    empty = torch.zeros(2, 1, 4, 4)
    m = per_image_metrics(empty, empty)
    assert m["dice"].flatten().tolist() == [1.0, 1.0] and m["iou"].flatten().tolist() == [1.0, 1.0]


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="pred shape"):
        per_image_metrics(torch.zeros(1, 1, 4, 4), torch.zeros(1, 2, 4, 4))


def test_summarize() -> None:
    s = summarize([1.0, 3.0, math.nan, 2.0])
    assert s == {
        "mean": 2.0,
        "std": pytest.approx(math.sqrt(2 / 3)),
        "median": 2.0,
        "min": 1.0,
        "max": 3.0,
        "n": 3,
        "n_nan": 1,
    }
    assert summarize([])["n"] == 0
