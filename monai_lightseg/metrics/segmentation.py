"""Dice, IoU, precision, recall, accuracy and F1 per image, from MONAI's metric functions."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from monai.metrics import compute_confusion_matrix_metric, compute_dice, compute_iou, get_confusion_matrix

__all__ = ["METRIC_NAMES", "per_image_metrics", "summarize"]

METRIC_NAMES = ("dice", "iou", "precision", "recall", "accuracy", "f1")


def per_image_metrics(
    pred: torch.Tensor, label: torch.Tensor, include_background: bool = True
) -> dict[str, torch.Tensor]:
    """Per image and channel: ``{name: (N, C) tensor}`` for :data:`METRIC_NAMES`.

    ``pred`` and ``label`` are binarised / one-hot (N, C, *S). For a binary task pass the single foreground
    channel with ``include_background=True``; for one-hot multi-class pass ``include_background=False`` to
    drop channel 0. An image whose prediction and label are both empty scores Dice = IoU = 1 (MONAI's
    ``ignore_empty=False``); precision of an empty prediction is NaN and reported as such.
    """
    if pred.shape != label.shape:
        raise ValueError(f"per_image_metrics: pred shape {tuple(pred.shape)} != label shape {tuple(label.shape)}.")
    pred, label = pred.float(), label.float()
    cm = get_confusion_matrix(pred, label, include_background=include_background)
    out = {
        "dice": compute_dice(pred, label, include_background=include_background, ignore_empty=False),
        "iou": compute_iou(pred, label, include_background=include_background, ignore_empty=False),
    }
    for name, monai_name in (
        ("precision", "precision"),
        ("recall", "recall"),
        ("accuracy", "accuracy"),
        ("f1", "f1 score"),
    ):
        out[name] = compute_confusion_matrix_metric(monai_name, cm)
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
