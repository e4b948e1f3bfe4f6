from __future__ import annotations

import random

from xtransfer.training.batching import (
    length_grouped_batches,
    padding_efficiency,
    sorted_batches,
)


def test_length_grouped_batches_cover_every_index_once_and_are_deterministic():
    rng = random.Random(0)
    lengths = [rng.randint(5, 120) for _ in range(1003)]
    batches = length_grouped_batches(lengths, batch_size=16, seed=7, epoch=0, group_factor=8)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1003))
    assert batches == length_grouped_batches(lengths, 16, seed=7, epoch=0, group_factor=8)
    assert batches != length_grouped_batches(lengths, 16, seed=7, epoch=1, group_factor=8)


def test_grouping_pads_far_less_than_random_batches():
    rng = random.Random(1)
    lengths = [rng.randint(5, 120) for _ in range(4000)]
    grouped = length_grouped_batches(lengths, 32, seed=0, epoch=0, group_factor=50)
    order = list(range(4000))
    rng.shuffle(order)
    random_batches = [order[i : i + 32] for i in range(0, 4000, 32)]
    assert padding_efficiency(lengths, grouped) > 0.95
    assert padding_efficiency(lengths, random_batches) < 0.7


def test_sorted_batches_longest_first():
    lengths = [3, 9, 1, 7, 5]
    assert sorted_batches(lengths, 2) == [[1, 3], [4, 0], [2]]
    # padding efficiency by hand: batches (9,7) (5,3) (1) -> real 25, processed 18+10+1 = 29
    assert abs(padding_efficiency(lengths, sorted_batches(lengths, 2)) - 25 / 29) < 1e-12
