"""Accuracy, BUCC pair F1 and mAP@k, with hand-computed expectations."""

from __future__ import annotations

import pytest

from xtransfer.evaluation.metrics.classification import accuracy
from xtransfer.evaluation.metrics.retrieval_metrics import (
    average_precision_at_k,
    mean_average_precision_at_k,
    pair_f1,
)


def test_accuracy_compares_values_as_they_are() -> None:
    gold = ["entailment", "neutral", "contradiction", "neutral"]
    pred = ["entailment", "contradiction", "contradiction", "neutral"]
    assert accuracy(gold, pred) == pytest.approx(3 / 4)
    # Tatoeba indices are strings: "367" and "[367]" differ
    assert accuracy(["367", "12"], ["[367]", "12"]) == pytest.approx(1 / 2)
    with pytest.raises(ValueError):
        accuracy(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        accuracy([], [])


def test_pair_f1() -> None:
    gold = [("d1", "e1"), ("d2", "e2"), ("d3", "e3"), ("d4", "e4")]
    # the duplicate (d1, e1) counts once: 3 distinct predictions, 2 correct
    pred = [("d1", "e1"), ("d1", "e1"), ("d2", "e3"), ("d3", "e3")]
    # P = 2/3, R = 2/4, F1 = 2 * (2/3) * (1/2) / (2/3 + 1/2) = 4/7
    scores = pair_f1(gold, pred)
    assert scores == pytest.approx({"precision": 2 / 3, "recall": 1 / 2, "f1": 4 / 7})
    assert pair_f1(gold, [("d9", "e9")]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    assert pair_f1(gold, []) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_average_precision_at_k() -> None:
    # single relevant id: reciprocal rank (Mewsli-X's MRR@20)
    assert average_precision_at_k(["a"], ["a", "b"]) == 1.0
    assert average_precision_at_k(["a"], ["x", "y", "a"]) == pytest.approx(1 / 3)
    # a repeated id cannot push the gold down or score twice
    assert average_precision_at_k(["a"], ["x", "x", "a", "a"]) == pytest.approx(1 / 3)
    # only the first k ranks count
    assert average_precision_at_k(["a"], [f"n{i}" for i in range(20)] + ["a"]) == 0.0
    assert average_precision_at_k(["a"], [f"n{i}" for i in range(19)] + ["a"]) == 1 / 20
    # several relevant ids (LAReQA): hits at ranks 1 and 3 -> (1/1 + 2/3) / min(20, 3) = 5/9
    assert average_precision_at_k(["a", "b", "c"], ["a", "x", "b", "y"]) == pytest.approx(5 / 9)
    # a repeated relevant id counts once: [a, a, b] -> hits at 1 and 3 -> 5/9, not 1
    assert average_precision_at_k(["a", "b", "c"], ["a", "a", "b"]) == pytest.approx(5 / 9)
    # more relevant ids than k: the denominator is k. k=2, relevant 3, ranks 1,2 hit -> 2/2
    assert average_precision_at_k(["a", "b", "c"], ["a", "b"], k=2) == 1.0


def test_mean_average_precision_at_k() -> None:
    gold = {"q1": ["a"], "q2": ["b"], "q3": ["c"]}
    # q1 rank 1 -> 1; q2 rank 3 -> 1/3; q3 missing -> 0; "extra" ignored: (1 + 1/3 + 0) / 3
    predictions = {"q1": ["a", "z"], "q2": ["x", "y", "b"], "extra": ["c"]}
    assert mean_average_precision_at_k(gold, predictions) == pytest.approx(4 / 9)
    assert mean_average_precision_at_k({}, predictions) == 0.0
