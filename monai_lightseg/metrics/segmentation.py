"""Dice, IoU, precision, recall, accuracy and F1 per image, from MONAI's metric functions."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from monai.metrics import compute_confusion_matrix_metric, compute_dice, compute_iou, get_confusion_matrix

__all__ = ["METRIC_NAMES", "per_image_metrics", "summarize"]

METRIC_NAMES = ("dice", "iou", "precision", "recall", "specificity", "accuracy", "f1")


def per_image_metrics(
    pred: torch.Tensor, label: torch.Tensor, include_background: bool = True, mask: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Per image and channel: ``{name: (N, C) tensor}`` for :data:`METRIC_NAMES`.

    ``pred`` and ``label`` are binarised / one-hot (N, C, *S). For a binary task pass the single foreground
    channel with ``include_background=True``; for one-hot multi-class pass ``include_background=False`` to
    drop channel 0. An image whose prediction and label are both empty scores Dice = IoU = 1 (MONAI's
    ``ignore_empty=False``); precision of an empty prediction is NaN and reported as such.

    ``mask`` (N, 1, *S), binary: count only pixels inside it (the field of view of a fundus photograph). MONAI's
    metric functions have no mask argument, so the confusion matrix is counted here, in MONAI's (N, C, 4)
    layout, and every metric (Dice as F1, IoU as threat score) comes from ``compute_confusion_matrix_metric``.
    """
    if pred.shape != label.shape:
        raise ValueError(f"per_image_metrics: pred shape {tuple(pred.shape)} != label shape {tuple(label.shape)}.")
    pred, label = pred.float(), label.float()
    if mask is not None:
        return _masked_metrics(pred, label, mask, include_background)
    cm = get_confusion_matrix(pred, label, include_background=include_background)
    out = {
        "dice": compute_dice(pred, label, include_background=include_background, ignore_empty=False),
        "iou": compute_iou(pred, label, include_background=include_background, ignore_empty=False),
    }
    out.update(_from_confusion_matrix(cm))
    return out


def _from_confusion_matrix(cm: torch.Tensor) -> dict[str, torch.Tensor]:
    names = {"precision": "precision", "recall": "recall", "specificity": "specificity", "accuracy": "accuracy"}
    out = {name: compute_confusion_matrix_metric(monai_name, cm) for name, monai_name in names.items()}
    out["f1"] = compute_confusion_matrix_metric("f1 score", cm)
    return out


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Mean, std (population), median, min, max and count over the finite values; NaNs are counted apart."""
    finite = sorted(v for v in values if not math.isnan(v))
    n = len(finite)
    if n == 0:
        return {
            "mean": math.nan,
            "std": math.nan,
            "median": math.nan,
            "min": math.nan,
            "max": math.nan,
            "n": 0,
            "n_nan": len(values),
        }
    mean = sum(finite) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in finite) / n)
    median = finite[n // 2] if n % 2 else (finite[n // 2 - 1] + finite[n // 2]) / 2
    return {
        "mean": mean,
        "std": std,
        "median": median,
        "min": finite[0],
        "max": finite[-1],
        "n": n,
        "n_nan": len(values) - n,
    }


def _masked_metrics(
    pred: torch.Tensor, label: torch.Tensor, mask: torch.Tensor, include_background: bool
) -> dict[str, torch.Tensor]:
    if mask.shape[0] != pred.shape[0] or mask.shape[2:] != pred.shape[2:]:
        raise ValueError(f"per_image_metrics: mask shape {tuple(mask.shape)} does not fit pred {tuple(pred.shape)}.")
    if not include_background:
        pred, label = pred[:, 1:], label[:, 1:]
    inside = (mask > 0).float().expand_as(pred)
    dims = tuple(range(2, pred.ndim))
    tp = (pred * label * inside).sum(dims)
    fp = (pred * (1 - label) * inside).sum(dims)
    tn = ((1 - pred) * (1 - label) * inside).sum(dims)
    fn = ((1 - pred) * label * inside).sum(dims)
    cm = torch.stack([tp, fp, tn, fn], dim=-1)
    out = {
        "dice": compute_confusion_matrix_metric("f1 score", cm),
        "iou": compute_confusion_matrix_metric("threat score", cm),
    }
    out.update(_from_confusion_matrix(cm))
    return out
