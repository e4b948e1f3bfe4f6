"""Extractive-QA exact match and F1 with SQuAD v1.1 semantics (XQuAD, TyDiQA-GoldP).

Semantics of the official SQuAD v1.1 script, which XTREME uses for every language of XQuAD and
TyDiQA: lower-case, delete ASCII punctuation (``string.punctuation`` only, so ``«»¿。`` survive),
delete the English articles a/an/the as whole words, split on whitespace. Per question the best
score over the gold answers counts; questions without a prediction score 0; prediction ids that
are not in the label file are ignored.

The question loop is shared with MLQA (:mod:`.mlqa`), which only swaps the normaliser.
"""

from __future__ import annotations

import logging
import re
import string
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from xtransfer.errors import UserError

log = logging.getLogger("xtransfer.evaluation")

Normalizer = Callable[[str], str]

_ASCII_PUNCT = frozenset(string.punctuation)
# `\b` is Unicode-aware for str patterns, as in the official script: "the" inside "thé" or
# "Athens" is not an article.
_EN_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalisation: lower, drop ASCII punctuation, drop articles, squeeze spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _ASCII_PUNCT)
    text = _EN_ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str, normalize: Normalizer = normalize_answer) -> float:
    """1.0 when both strings normalise to the same text (two empty strings do), else 0.0."""
    return float(normalize(prediction) == normalize(gold))


def token_f1(prediction: str, gold: str, normalize: Normalizer = normalize_answer) -> float:
    """Bag-of-tokens F1 of the normalised strings; 0.0 when no token is shared.

    An empty normalised answer shares no token with anything, so its F1 is 0 even against an
    empty gold answer (while its exact match is 1) - the official scripts behave the same way.
    """
    pred_tokens = normalize(prediction).split()
    gold_tokens = normalize(gold).split()
    shared = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if shared == 0:
        return 0.0
    precision = shared / len(pred_tokens)
    recall = shared / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def evaluate_qa(
    articles: Sequence[Mapping[str, Any]],
    predictions: Mapping[str, str],
    normalize: Normalizer = normalize_answer,
    source: str = "label file",
) -> dict[str, float]:
    """``{"exact_match": .., "f1": ..}`` on the 0-100 scale over every question of ``articles``.

    ``articles`` is the SQuAD ``data`` list of the *label* file; ``source`` names it in errors.
    A question without gold answers is an input error (the official script crashes on it).
    """
    total = 0
    em_sum = 0.0
    f1_sum = 0.0
    unanswered: list[str] = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                qid = qa["id"]
                golds = [answer["text"] for answer in qa["answers"]]
                if not golds:
                    raise UserError(f"{source}: question {qid!r} has no gold answers")
                if qid not in predictions:
                    unanswered.append(str(qid))
                    continue
                prediction = predictions[qid]
                em_sum += max(exact_match(prediction, g, normalize) for g in golds)
                f1_sum += max(token_f1(prediction, g, normalize) for g in golds)
    if total == 0:
        raise UserError(f"{source}: contains no questions")
    if unanswered:
        log.warning(
            "%s: %d of %d questions have no prediction and score 0 (first: %s)",
            source,
            len(unanswered),
            total,
            unanswered[0],
        )
    return {"exact_match": 100.0 * em_sum / total, "f1": 100.0 * f1_sum / total}
