"""Balanced sampling: each source of a pooled training set drawn equally often, whatever its size."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from monai_lightseg.data import balanced_sampler, group_weights


def pooled(big: int = 800, small: int = 360) -> list[dict]:
    return [{"image": f"a/{i}.jpg", "dataset": "a"} for i in range(big)] + [
        {"image": f"b/{i}.png", "dataset": "b"} for i in range(small)
    ]


def test_every_group_weighs_the_same_in_total() -> None:
    weights = group_weights(pooled())
    assert sum(weights[:800]) == pytest.approx(1.0)
    assert sum(weights[800:]) == pytest.approx(1.0)


def test_the_sampler_draws_each_group_about_half_the_time_and_repeats_under_a_seed() -> None:
    data = pooled()
    with torch.random.fork_rng():  # leaves the global generator as the other tests find it
        torch.manual_seed(0)
        first = list(balanced_sampler(data, num_samples=4000))
        torch.manual_seed(0)
        assert list(balanced_sampler(data, num_samples=4000)) == first
    share_b = Counter(data[i]["dataset"] for i in first)["b"] / len(first)
    assert len(first) == 4000 and 0.46 < share_b < 0.54  # binomial sd 0.008: 5 sd either side; unshuffled 0.31


def test_an_item_without_the_field_is_named() -> None:
    data = pooled(3, 2) + [{"image": "hospital/7.png"}]
    with pytest.raises(ValueError, match=r"item 5 \('hospital/7.png'\) has no 'dataset' field"):
        group_weights(data)
    with pytest.raises(ValueError, match="empty"):
        group_weights([])
