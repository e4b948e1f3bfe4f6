"""Chunk precision/recall/F1 with the semantics of seqeval 0.0.12 (PAN-X and UD-POS).

XTREME's ``evaluate.py`` scores tagging with whatever seqeval is installed; its published numbers
(and the mock submission's UD-POS average of 70.2175) come from seqeval 0.0.12. seqeval 1.x splits
tags differently and gives other numbers, so the 0.0.12 rules are reimplemented here:

* A tag is read as ``prefix = tag[0]`` and ``type = tag.split("-")[-1]``. For IOB2 tags this is
  the usual B/I + entity type. For a tag without a dash, such as the UPOS tag ``NOUN``, the prefix
  is its first letter (``N``) and the type is the whole tag, so:

  - a run of identical tags is one chunk (``NOUN NOUN`` → one NOUN chunk), because only a type
    change ends or starts a chunk for prefixes other than B/I/E/S/O;
  - tags whose first letter is ``S`` (``SCONJ``, ``SYM``) are single-token chunks, because ``S``
    always ends the previous chunk and starts a new one;
  - ``INTJ`` is read as an ``I`` prefix and ``ADJ``/``ADP``/... as other prefixes; all still merge
    runs of identical tags.

* Chunk boundaries (``end_of_chunk`` / ``start_of_chunk``) follow 0.0.12 exactly, including its
  leniency towards IOB2 errors: an ``I-X`` after ``O`` or after another type starts a chunk, and a
  type switch inside a chunk (``B-PER I-LOC``) closes one chunk and opens another.

* A list of sentences is flattened with an ``O`` appended after every sentence, and chunks are
  identified by ``(type, start, end)`` in that flattened sequence. The extra ``O`` is what keeps a
  chunk from running across a sentence boundary; the positions only line up between gold and
  prediction when their sentences have the same lengths (the official script does not check
  this, so neither does the arithmetic here; the caller warns).

* Precision = correct / predicted chunks, recall = correct / gold chunks (0 when the denominator
  is 0), F1 = 2PR/(P+R) (0 when P+R = 0); micro-averaged over all chunk types.
"""

from __future__ import annotations

from collections.abc import Sequence

Chunk = tuple[str, int, int]

_SEPARATOR = "O"


def split_tag(tag: str) -> tuple[str, str]:
    """``(prefix, type)`` of a tag as seqeval 0.0.12 reads it."""
    if not tag:
        raise ValueError("empty tag")
    return tag[0], tag.split("-")[-1]


def end_of_chunk(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """Whether a chunk ended between the previous token and the current one."""
    if prev_prefix in ("E", "S"):
        return True
    if prev_prefix in ("B", "I") and prefix in ("B", "S", "O"):
        return True
    return prev_prefix not in ("O", ".") and prev_type != type_


def start_of_chunk(prev_prefix: str, prefix: str, prev_type: str, type_: str) -> bool:
    """Whether a chunk starts at the current token."""
    if prefix in ("B", "S"):
        return True
    if prev_prefix in ("E", "S", "O") and prefix in ("E", "I"):
        return True
    return prefix not in ("O", ".") and prev_type != type_


def flatten(sentences: Sequence[Sequence[str]]) -> list[str]:
    """The sentences joined into one sequence, each followed by an ``O`` separator."""
    flat: list[str] = []
    for sentence in sentences:
        flat.extend(sentence)
        flat.append(_SEPARATOR)
    return flat


def get_entities(tags: Sequence[str]) -> list[Chunk]:
    """``(type, first, last)`` of every chunk in one flat tag sequence (positions inclusive)."""
    chunks: list[Chunk] = []
    prev_prefix, prev_type = "O", ""
    begin = 0
    # The trailing "O" flushes a chunk that runs to the end of the sequence.
    for i, tag in enumerate([*tags, _SEPARATOR]):
        prefix, type_ = split_tag(tag)
        if end_of_chunk(prev_prefix, prefix, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if start_of_chunk(prev_prefix, prefix, prev_type, type_):
            begin = i
        prev_prefix, prev_type = prefix, type_
    return chunks


def sentence_chunks(sentences: Sequence[Sequence[str]]) -> set[Chunk]:
    """The chunk set of a list of sentences, positions in the flattened sequence."""
    return set(get_entities(flatten(sentences)))


def chunk_scores(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> dict[str, float]:
    """``{"f1", "precision", "recall"}`` on the 0-1 scale, micro-averaged over chunks."""
    gold_chunks = sentence_chunks(gold)
    pred_chunks = sentence_chunks(predicted)
    correct = len(gold_chunks & pred_chunks)
    precision = correct / len(pred_chunks) if pred_chunks else 0.0
    recall = correct / len(gold_chunks) if gold_chunks else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """Share of gold tokens whose predicted tag is identical (0-1), sentence by sentence.

    A secondary metric only: tokens a prediction sentence lacks count as wrong, extra predicted
    tokens are ignored. 0.0 when the gold has no token at all.
    """
    total = sum(len(sentence) for sentence in gold)
    if total == 0:
        return 0.0
    correct = sum(
        g == p
        for gold_sentence, pred_sentence in zip(gold, predicted, strict=False)
        for g, p in zip(gold_sentence, pred_sentence, strict=False)
    )
    return correct / total
