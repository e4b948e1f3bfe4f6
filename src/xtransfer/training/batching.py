"""Length-grouped dynamic batches: little padding, yet random enough to train well.

Examples are shuffled, cut into groups of ``group_factor`` batches, sorted by length inside each
group and batched; the batch order is shuffled again. Each batch is then padded only to its own
longest sequence (see ``pad_sequences``), never to ``max_length``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int, group_factor: int = 50
) -> list[list[int]]:
    """Training batches of indices for one epoch; a pure function of (lengths, seed, epoch)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    group = max(batch_size * group_factor, batch_size)
    batches: list[list[int]] = []
    for start in range(0, len(order), group):
        chunk = sorted(order[start : start + group], key=lambda i: -lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in shuffled]


def sorted_batches(lengths: Sequence[int], max_batch: int) -> list[list[int]]:
    """Evaluation batches: longest first, so padding is minimal and memory peaks early."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + max_batch] for i in range(0, len(order), max_batch)]


def padding_efficiency(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """Real tokens / processed tokens (each batch padded to its longest member)."""
    real = sum(lengths)
    processed = sum(max(lengths[i] for i in batch) * len(batch) for batch in batches)
    return real / processed if processed else 1.0
