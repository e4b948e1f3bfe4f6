"""How many optimizer steps one epoch of a training set takes: the one rule that both the
training loop and `xtransfer plan` use (torch-free, so `plan` can import it cheaply).

A batch of ``batch_size`` examples is split into ``grad_accum`` micro-batches; with ``world``
data-parallel processes each takes an equal share of the epoch's micro-batches (the remainder
that does not divide evenly is dropped, as every process must run the same number of steps).
"""

from __future__ import annotations

import math


def micro_batch_size(batch_size: int, grad_accum: int = 1) -> int:
    return max(1, int(batch_size) // max(1, int(grad_accum)))


def micro_batches_per_epoch(
    n_features: int, batch_size: int, grad_accum: int = 1, world: int = 1
) -> int:
    """Micro-batches one process runs per epoch."""
    micro = micro_batch_size(batch_size, grad_accum)
    return math.ceil(int(n_features) / micro) // max(1, int(world))


def optimizer_steps_per_epoch(
    n_features: int, batch_size: int, grad_accum: int = 1, world: int = 1
) -> int:
    """Optimizer steps per epoch (at least one); the last step may have fewer micro-batches."""
    micro_batches = micro_batches_per_epoch(n_features, batch_size, grad_accum, world)
    return max(1, math.ceil(micro_batches / max(1, int(grad_accum))))
