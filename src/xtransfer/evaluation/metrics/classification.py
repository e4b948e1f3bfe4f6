"""Accuracy over line-aligned predictions (XNLI, PAWS-X, XCOPA, Tatoeba)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def accuracy(gold: Sequence[Any], predicted: Sequence[Any]) -> float:
    """Share of positions where prediction equals gold (0-1); values are compared as they are.

    The official script compares the stripped lines as strings, so ``1`` and ``1.0`` or ``367``
    and ``[367]`` differ. Callers check that both sides have the same length and are not empty.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold labels")
    if not predicted:
        raise ValueError("no predictions")
    return sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(predicted)
