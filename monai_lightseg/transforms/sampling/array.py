"""Where a lesion-free window fits in a label: the positions a lesion-free crop may start at."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.data import MetaTensor

__all__ = ["lesion_free_window_starts"]


def lesion_free_window_starts(label: torch.Tensor, window: Sequence[int]) -> torch.Tensor:
    """The start corners of every ``window``-sized box that lies inside ``label`` and holds no foreground voxel.

    Written here because MONAI's crops choose a *centre* (a background voxel for ``RandCropByPosNegLabeld``, a
    weighted voxel for ``RandWeightedCropd``) without checking what else the window holds. The box sums come from
    cumulative sums along each spatial axis in turn, so the cost is a few passes over the label whatever the window.

    Args:
        label: (C, *S) any numeric tensor; a voxel is foreground where any channel is non-zero. 2D or 3D.
        window: one size per spatial dimension of ``label``.

    Returns:
        (K, len(S)) int64 on the label's device, the start corner of each of the K lesion-free windows (K is 0
        when none fits or the window is larger than the label).

    Example::

        >>> label = torch.zeros(1, 4, 4); label[0, 0, 0] = 1
        >>> lesion_free_window_starts(label, (3, 3)).tolist()
        [[0, 1], [1, 0], [1, 1]]
    """
    spatial = label.shape[1:]
    if len(window) != len(spatial):
        raise ValueError(
            f"lesion_free_window_starts: window {tuple(window)} has {len(window)} sizes for a label with "
            f"{len(spatial)} spatial dimensions (shape {tuple(label.shape)})."
        )
    if any(int(w) < 1 for w in window):
        raise ValueError(f"lesion_free_window_starts: window sizes must be >= 1, got {tuple(window)}.")
    if any(int(w) > s for w, s in zip(window, spatial)):
        return torch.zeros((0, len(spatial)), dtype=torch.int64)
    label = label.as_tensor() if isinstance(label, MetaTensor) else torch.as_tensor(label)
    counts = (label != 0).any(dim=0).to(torch.int64)
    for axis, size in enumerate(window):
        total = torch.cumsum(counts, dim=axis)
        pad = list(counts.shape)
        pad[axis] = 1
        total = torch.cat([torch.zeros(pad, dtype=torch.int64, device=counts.device), total], dim=axis)
        # sum over [i, i + size) along this axis, for every i with the window inside the label
        counts = total.narrow(axis, int(size), total.shape[axis] - int(size)) - total.narrow(
            axis, 0, total.shape[axis] - int(size)
        )
    return torch.nonzero(counts == 0)
