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


# Keys of a collated batch that run along the sequence, and what pads them (anything else, e.g.
# labels of one class per example or image vectors, is left as it is).
_SEQUENCE_PAD = {"attention_mask": 0, "pool_mask": 0, "token_type_ids": 0, "labels": -100}


def pad_to_multiple(
    batch: dict[str, torch.Tensor], multiple: int, pad_id: int
) -> dict[str, torch.Tensor]:
    """Pads the sequence dimension up to a multiple of ``multiple`` (with the pad id, a zero
    attention mask and ignored labels), so that length-grouped batches take few distinct shapes
    (what a compiled model and tensor cores want). ``multiple <= 1`` returns the batch unchanged.
    """
    if multiple <= 1 or "input_ids" not in batch:
        return batch
    length = batch["input_ids"].shape[-1]
    extra = -length % multiple
    if extra == 0:
        return batch
    out = dict(batch)
    out["input_ids"] = torch.nn.functional.pad(batch["input_ids"], (0, extra), value=pad_id)
    for key, value in _SEQUENCE_PAD.items():
        tensor = batch.get(key)
        # Per-token tensors only: a (batch, length) tensor aligned with the input ids.
        if tensor is not None and tensor.dim() >= 2 and tensor.shape[-1] == length:
            out[key] = torch.nn.functional.pad(tensor, (0, extra), value=value)
    return out
