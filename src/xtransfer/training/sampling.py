"""Multi-task samplers: which task each optimizer step trains on.

Probabilities follow the sampler kind over the tasks' training-set sizes n_t:
- ``proportional`` (examples-proportional, the default): p_t ∝ n_t
- ``temperature``: p_t ∝ min(n_t, cap)^(1/T)  (T=1 and no cap = proportional)
- ``uniform``: p_t = 1/k
- ``fixed``: p_t ∝ the given weights
The task of step s is a pure function of (seed, s), so a resumed run draws the same tasks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from xtransfer.errors import UserError

KINDS = ("proportional", "temperature", "uniform", "fixed")


def task_probabilities(sizes: Sequence[int], sampler: Mapping[str, Any]) -> list[float]:
    """Per-task probabilities. ``sampler["rates"]`` (one entry per task, None = sampled) gives
    some tasks a fixed probability (mlm's mixing rate); the others share the rest by ``kind``."""
    rates = sampler.get("rates")
    if rates and any(r is not None for r in rates):
        return _with_fixed_rates(sizes, sampler, list(rates))
    return _kind_probabilities(sizes, sampler)


def _with_fixed_rates(
    sizes: Sequence[int], sampler: Mapping[str, Any], rates: list[float | None]
) -> list[float]:
    if len(rates) != len(sizes):
        raise UserError(f"{len(rates)} mixing rates for {len(sizes)} tasks")
    for rate in rates:
        if rate is not None and not 0 < float(rate) <= 1:
            raise UserError(f"a task's mixing rate must be in (0, 1], got {rate}")
    fixed = sum(float(r) for r in rates if r is not None)
    free = [i for i, r in enumerate(rates) if r is None]
    if not free:  # every task has a rate: they are the (normalised) probabilities
        return [float(r) / fixed for r in rates]  # type: ignore[arg-type]
    if fixed >= 1:
        raise UserError(
            f"the mixing rates sum to {fixed:g}: they must leave room (< 1) for the other tasks"
        )
    shares = _kind_probabilities([sizes[i] for i in free], sampler, fixed_rate=True)
    out = [float(r) if r is not None else 0.0 for r in rates]
    for i, share in zip(free, shares, strict=True):
        out[i] = (1.0 - fixed) * share
    return out


def _kind_probabilities(
    sizes: Sequence[int], sampler: Mapping[str, Any], fixed_rate: bool = False
) -> list[float]:
    kind = sampler.get("kind", "proportional")
    if kind not in KINDS:
        raise UserError(f"unknown sampler kind {kind!r}; use one of {', '.join(KINDS)}")
    if not sizes:
        raise UserError("multi-task training needs at least one task")
    if kind == "proportional":
        weights = [float(n) for n in sizes]
    elif kind == "uniform":
        weights = [1.0] * len(sizes)
    elif kind == "temperature":
        temperature = float(sampler.get("temperature", 1.0))
        if temperature <= 0:
            raise UserError(f"sampler temperature must be positive, got {temperature}")
        cap = sampler.get("cap")
        weights = [float(min(n, int(cap)) if cap else n) ** (1.0 / temperature) for n in sizes]
    else:
        weights = [float(w) for w in (sampler.get("weights") or [])]
        if len(weights) != len(sizes):
            raise UserError(
                f"sampler weights {weights} do not match the {len(sizes)} tasks "
                + (
                    "sampled by weight (a task with a mixing rate, like mlm, takes no weight; "
                    "give one weight per other task, in the order of intermediate.tasks)"
                    if fixed_rate
                    else "(give one weight per task, in the order of intermediate.tasks)"
                )
            )
        if any(w < 0 for w in weights):
            raise UserError(f"sampler weights must be non-negative, got {weights}")
    total = sum(weights)
    if total <= 0:
        raise UserError("sampler weights sum to zero")
    return [w / total for w in weights]


def task_for_step(probabilities: Sequence[float], seed: int, step: int) -> int:
    """The task index trained at optimizer step ``step`` (deterministic, resumable)."""
    if len(probabilities) == 1:
        return 0
    generator = torch.Generator().manual_seed(seed * 1_000_003 + 7_919 * step + 17)
    return int(torch.multinomial(torch.tensor(probabilities), 1, generator=generator).item())


def make_schedule(
    sizes: Sequence[int],
    batch_sizes: Sequence[int],
    steps_per_epoch: Sequence[int],
    epochs: Sequence[int],
    sampler: Mapping[str, Any] | None,
    budget: Mapping[str, Any] | None,
    budget_share: float = 1.0,
) -> tuple[int, int, list[float]]:
    """(total optimizer steps, steps between English-dev evaluations, task probabilities).

    Without a budget every task gets its own epochs (a multi-task phase trains the sum of the
    single-task step counts). A budget of ``steps`` or ``examples`` fixes the total instead, so
    single, multi-task and sequential runs can be compared at equal cost; a sequential stage
    gets ``budget_share`` of it.
    """
    probabilities = [1.0] if len(sizes) == 1 else task_probabilities(sizes, sampler or {})
    default_total = sum(s * e for s, e in zip(steps_per_epoch, epochs, strict=True))
    rates = (sampler or {}).get("rates") if len(sizes) > 1 else None
    if rates and any(r is None for r in rates) and any(r is not None for r in rates):
        # Tasks with a fixed rate come on top: the others still get their own epochs, and
        # the rate-fixed tasks take `rate` of the (longer) phase.
        free_steps = sum(
            s * e for s, e, r in zip(steps_per_epoch, epochs, rates, strict=True) if r is None
        )
        default_total = math.ceil(free_steps / (1.0 - sum(r for r in rates if r is not None)))
    if budget is None:
        total = default_total
    elif budget["kind"] == "steps":
        total = max(1, round(int(budget["value"]) * budget_share))
    else:  # examples: each step trains one batch of the drawn task
        per_step = sum(p * b for p, b in zip(probabilities, batch_sizes, strict=True))
        total = max(1, round(int(budget["value"]) * budget_share / per_step))
    rounds = max(epochs)
    if len(sizes) == 1 and budget is None:
        eval_every = steps_per_epoch[0]  # once per epoch
    else:
        eval_every = max(1, -(-total // rounds))
    return total, eval_every, probabilities
