"""Sample training items so that each source (a datalist field such as ``"dataset"``) has an equal share.

A training set pooled from sources of different sizes (800 Kvasir-SEG + 360 CVC-ClinicDB frames, or a public set
plus a hospital's own few hundred frames) is otherwise seen in proportion to their sizes, and the smaller source's
look and annotation habits are learnt less. MONAI has no per-group sampler and torch's
``WeightedRandomSampler`` takes per-item weights, so this module only computes those weights.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from torch.utils.data import WeightedRandomSampler

__all__ = ["balanced_sampler", "group_weights"]


def group_weights(datalist: Sequence[Mapping], key: str = "dataset") -> list[float]:
    """One weight per item, ``1 / (items in its group)``: every group's weights sum to 1, so each group is drawn
    equally often whatever its size. Raises ``ValueError`` naming the first item without ``key``."""
    groups = []
    for i, item in enumerate(datalist):
        if key not in item:
            raise ValueError(
                f"balanced sampling by {key!r}: datalist item {i} ({item.get('image', item)!r}) has no {key!r} field;"
                f" give every item one (e.g. the source it came from) or switch the balancing off"
            )
        groups.append(item[key])
    if not groups:
        raise ValueError("balanced sampling: the datalist is empty")
    sizes = Counter(groups)
    return [1.0 / sizes[g] for g in groups]


def balanced_sampler(datalist: Sequence[Mapping], num_samples: int, key: str = "dataset") -> WeightedRandomSampler:
    """A sampler drawing ``num_samples`` item indices per epoch, with replacement, each group of ``datalist`` (by
    its ``key`` field) an equal share on average. Its draws come from torch's global generator, so
    ``monai.utils.set_determinism(seed=...)`` makes them repeatable (a ``DataLoader``'s ``generator`` does not reach
    it). Use it as a ``DataLoader``'s ``sampler`` (with ``shuffle=False``); it is for one process: under
    distributed training every rank would draw the same indices."""
    return WeightedRandomSampler(group_weights(datalist, key), num_samples=num_samples, replacement=True)
