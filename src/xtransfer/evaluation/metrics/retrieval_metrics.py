"""Retrieval metrics: BUCC pair-set F1 and mean average precision at k (Mewsli-X, LAReQA)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def pair_f1(gold: Iterable[Sequence[str]], predicted: Iterable[Sequence[str]]) -> dict[str, float]:
    """``{"f1", "precision", "recall"}`` (0-1) of the *sets* of predicted and gold id pairs.

    Pairs are compared as tuples, so duplicates count once and order within the file does not
    matter. When no pair is correct all three are 0, as in the official BUCC scorer.
    """
    gold_set = {tuple(pair) for pair in gold}
    pred_set = {tuple(pair) for pair in predicted}
    correct = len(gold_set & pred_set)
    if correct == 0:
        return {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    precision = correct / len(pred_set)
    recall = correct / len(gold_set)
    return {
        "f1": 2 * precision * recall / (precision + recall),
        "precision": precision,
        "recall": recall,
    }


def average_precision_at_k(relevant: Iterable[str], ranked: Sequence[str], k: int = 20) -> float:
    """AP@k of one ranked list: sum of precision@i at each relevant hit in the top k, divided by
    min(k, number of relevant ids).

    A relevant id repeated in the ranking counts at its first position only, so a ranking cannot
    score above 1 by repeating the gold. With a single relevant id this is the reciprocal rank
    within the top k, which is exactly Mewsli-X's official MRR@20 ("map@20").
    """
    relevant_set = set(relevant)
    if not relevant_set:
        raise ValueError("no relevant ids")
    hits = 0
    seen: set[str] = set()
    total = 0.0
    for rank, item in enumerate(ranked[:k], start=1):
        if item in relevant_set and item not in seen:
            seen.add(item)
            hits += 1
            total += hits / rank
    return total / min(k, len(relevant_set))


def mean_average_precision_at_k(
    gold: Mapping[str, Iterable[str]], predictions: Mapping[str, Sequence[str]], k: int = 20
) -> float:
    """Mean AP@k (0-1) over every example of ``gold``; a missing prediction scores 0.

    Prediction ids that are not in ``gold`` are ignored. 0.0 when ``gold`` is empty (as the
    official Mewsli-X scorer).
    """
    if not gold:
        return 0.0
    total = sum(
        average_precision_at_k(ids, predictions.get(key, []), k) for key, ids in gold.items()
    )
    return total / len(gold)
