"""Token tagging (UD-POS, PAN-X, morphological features, ...): one label per word.

Rows are ``{"tokens": [word, ...], "label": [tag id, ...]}``. Words are tokenised as given
(``is_split_into_words``) and each word is labelled and predicted on its first sub-token only.

A sentence longer than the model window is cut into overlapping windows of whole words; every
word is predicted by exactly one window, the one where it has the most context on both sides
(the "max context" rule of BERT's SQuAD code), so no gold word is ever dropped from prediction or
scoring. A word that the tokenizer turns into no sub-token at all (an empty string, some
zero-width or control characters) is fed as the unknown token so that it still gets a prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xtransfer.errors import UserError
from xtransfer.evaluation.metrics.seqeval_compat import chunk_scores, token_accuracy
from xtransfer.tasks.formats.base import TaskFormat, pad_sequences, require_fast_tokenizer

IGNORE = -100  # cross_entropy's ignore_index: non-first sub-tokens, special tokens, padding
# Consecutive windows start about this share of the window apart, so that every word away from
# the sentence ends sits in the central half of some window (>= 1/4 window of context per side).
WINDOW_STRIDE = 0.5
_TOKENIZE_CHUNK = 1024  # sentences per tokenizer call: bounds memory on large test sets

Window = tuple[int, int]  # word range [start, end)


class TaggingHead(nn.Module):
    """Dropout and a linear layer on every token's hidden state."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.dropout(hidden_states))


def plan_windows(lengths: Sequence[int], budget: int) -> list[Window]:
    """Overlapping word windows of at most ``budget`` sub-tokens that together cover every word.

    ``lengths`` are the sub-token counts of the words, each already capped at ``budget``. A
    window takes as many words as fit; the next one starts about ``WINDOW_STRIDE * budget``
    sub-tokens later; the last one is extended backwards to a full window, so that the final
    words also have left context.
    """
    n = len(lengths)
    if n == 0:
        return []
    ends = [0]  # ends[i] = sub-tokens of words [0, i)
    for length in lengths:
        ends.append(ends[-1] + length)
    stride = max(1, int(budget * WINDOW_STRIDE))
    windows: list[Window] = []
    start = 0
    while True:
        if ends[n] - ends[start] <= budget:
            floor = windows[-1][0] + 1 if windows else 0
            while start > floor and ends[n] - ends[start - 1] <= budget:
                start -= 1
            windows.append((start, n))
            return windows
        end = start + 1  # a window always holds at least one word
        while ends[end + 1] - ends[start] <= budget:
            end += 1
        windows.append((start, end))
        next_start = start + 1
        while next_start < end and ends[next_start] - ends[start] < stride:
            next_start += 1
        start = next_start


def assign_words(lengths: Sequence[int], windows: Sequence[Window]) -> list[int]:
    """For every word, the index of the window that predicts it.

    The chosen window maximises the word's smaller side of context (in sub-tokens); a side
    that reaches the sentence boundary is complete and counts as unlimited. Ties go to the
    earlier window.
    """
    n = len(lengths)
    ends = [0]
    for length in lengths:
        ends.append(ends[-1] + length)
    unlimited = float("inf")
    best: list[tuple[float, int]] = [(-1.0, -1)] * n
    for index, (start, end) in enumerate(windows):
        for word in range(start, end):
            left = ends[word] - ends[start] if start > 0 else unlimited
            right = ends[end] - ends[word + 1] if end < n else unlimited
            context = min(left, right)
            if context > best[word][0]:
                best[word] = (context, index)
    owners = [index for _, index in best]
    assert all(index >= 0 for index in owners), "the windows do not cover every word"
    return owners


def special_frame(tokenizer) -> tuple[list[int], list[int]]:
    """The special-token ids the model expects before and after a single sequence
    (``<s>``/``</s>`` for XLM-R, ``[CLS]``/``[SEP]`` for BERT), read off the tokenizer itself."""
    encoded = tokenizer(["x"], is_split_into_words=True, add_special_tokens=True)
    word_ids = encoded.word_ids()
    first = word_ids.index(0)
    last = len(word_ids) - 1 - word_ids[::-1].index(0)
    ids = list(encoded["input_ids"])
    return ids[:first], ids[last + 1 :]


def word_pieces(sentences: Sequence[Sequence[str]], tokenizer) -> list[list[list[int]]]:
    """Sub-token ids of every word of every sentence; never empty for a word."""
    unk = tokenizer.unk_token_id
    if unk is None:  # byte-level vocabularies have no unknown token: any placeholder works
        unk = tokenizer(["_"], is_split_into_words=True, add_special_tokens=False)["input_ids"][0]
    out: list[list[list[int]]] = []
    for offset in range(0, len(sentences), _TOKENIZE_CHUNK):
        chunk = [list(words) for words in sentences[offset : offset + _TOKENIZE_CHUNK]]
        # Empty sentences cannot go through the tokenizer as split words; they have no pieces.
        present = [i for i, words in enumerate(chunk) if words]
        encoded = (
            tokenizer(
                [chunk[i] for i in present], is_split_into_words=True, add_special_tokens=False
            )
            if present
            else None
        )
        pieces: list[list[list[int]]] = [[[] for _ in words] for words in chunk]
        for batch_index, i in enumerate(present):
            ids = encoded["input_ids"][batch_index]
            for token_id, word in zip(ids, encoded.word_ids(batch_index), strict=True):
                if word is not None:
                    pieces[i][word].append(token_id)
        for sentence in pieces:
            for i, word in enumerate(sentence):
                if not word:
                    sentence[i] = [unk]
        out.extend(pieces)
    return out


class TaggingFormat(TaskFormat):
    name = "tagging"
    version = 1

    @property
    def labels(self) -> list[str]:
        assert self.task.labels is not None, f"task {self.task.name} declares no labels"
        return self.task.labels

    def featurize(self, rows, tokenizer, max_length):
        """One feature per window; ``word_index``/``token_index`` say which words the feature
        predicts and at which positions their first sub-tokens are."""
        require_fast_tokenizer(tokenizer, "tagging (words are mapped to their sub-tokens)")
        prefix, suffix = special_frame(tokenizer)
        budget = int(max_length) - len(prefix) - len(suffix)
        if budget < 1:
            raise UserError(f"max_length {max_length} leaves no room for words")
        sentences = [row["tokens"] for row in rows]
        features: list[dict[str, Any]] = []
        for example, (row, pieces) in enumerate(
            zip(rows, word_pieces(sentences, tokenizer), strict=True)
        ):
            gold = row.get("label")
            if gold is not None and len(gold) != len(pieces):
                raise UserError(
                    f"task {self.task.name}: row {example + 1} has {len(pieces)} words "
                    f"but {len(gold)} tags"
                )
            # Only a word's first sub-token is ever read, so an over-long word can be cut.
            pieces = [word[:budget] for word in pieces]
            lengths = [len(word) for word in pieces]
            windows = plan_windows(lengths, budget)
            owners = assign_words(lengths, windows)
            for index, (start, end) in enumerate(windows):
                input_ids = list(prefix)
                labels = [IGNORE] * len(prefix)
                word_index: list[int] = []
                token_index: list[int] = []
                for word in range(start, end):
                    if owners[word] == index:
                        word_index.append(word)
                        token_index.append(len(input_ids))
                        labels.append(gold[word] if gold is not None else IGNORE)
                    else:  # context only: predicted (and trained) in another window
                        labels.append(IGNORE)
                    labels.extend([IGNORE] * (len(pieces[word]) - 1))
                    input_ids.extend(pieces[word])
                input_ids.extend(suffix)
                labels.extend([IGNORE] * len(suffix))
                if not word_index:
                    continue  # pure context: every word is better predicted elsewhere
                features.append(
                    {
                        "input_ids": input_ids,
                        "label": labels,
                        "example_index": example,
                        "word_index": word_index,
                        "token_index": token_index,
                    }
                )
        return features

    def collate(self, features, pad_id):
        input_ids = pad_sequences([f["input_ids"] for f in features], pad_id)
        lengths = torch.tensor([len(f["input_ids"]) for f in features])
        # The mask comes from the lengths, not from ``input_ids != pad_id``: a tokenizer may
        # reuse its pad id for a real token (e.g. a pad-as-unk vocabulary).
        attention_mask = (torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]).long()
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": pad_sequences([f["label"] for f in features], IGNORE),
        }

    def make_head(self, hidden_size, dropout):
        return TaggingHead(hidden_size, len(self.labels), dropout)

    def head_signature(self) -> dict[str, Any]:
        return {"format": self.name, "labels": list(self.labels)}

    def loss(self, outputs, batch):
        labels = batch["labels"]
        total = nn.functional.cross_entropy(
            outputs.float().reshape(-1, outputs.shape[-1]),
            labels.reshape(-1),
            ignore_index=IGNORE,
            reduction="sum",
        )
        # Mean over labelled words; a batch without any (possible with tiny sentences split
        # across windows) gives 0 instead of the NaN of an empty mean.
        return total / (labels != IGNORE).sum().clamp(min=1)

    def decode(self, outputs):
        return outputs.argmax(dim=-1).tolist()

    def finalize(self, rows, features, feature_predictions):
        """Exactly one tag id per word of every row, gathered from the windows that own them."""
        predictions: list[list[int | None]] = [[None] * len(row["tokens"]) for row in rows]
        for feature, predicted in zip(features, feature_predictions, strict=True):
            sentence = predictions[feature["example_index"]]
            for word, position in zip(feature["word_index"], feature["token_index"], strict=True):
                if sentence[word] is not None:
                    raise RuntimeError(f"word {word} was predicted by two windows")
                sentence[word] = predicted[position]
        for example, sentence in enumerate(predictions):
            if any(tag is None for tag in sentence):
                raise RuntimeError(f"row {example} has words that no window predicted")
        return predictions

    def _tags(self, ids: Sequence[int]) -> list[str]:
        return [self.labels[i] for i in ids]

    def dev_score(self, rows: Sequence[dict], predictions: Sequence[Sequence[int]]) -> float:
        # The task's own metric (catalogue `metric:`), as the scorer computes it, so model
        # selection optimises the reported number: seqeval 0.0.12 chunk F1 (PAN-X, UD-POS) or
        # per-token accuracy (CCG supertags, which are not chunks).
        gold = [self._tags(row["label"]) for row in rows]
        predicted = [self._tags(sentence) for sentence in predictions]
        if self.task.metric == "token_accuracy":
            return 100.0 * token_accuracy(gold, predicted)
        return 100.0 * chunk_scores(gold, predicted)["f1"]

    def write_predictions(self, path: Path, rows, predictions: Sequence[Sequence[int]]) -> None:
        _write_tag_file(path, [self._tags(sentence) for sentence in predictions])

    def write_labels(self, path: Path, rows) -> None:
        _write_tag_file(path, [self._tags(row["label"]) for row in rows])


def _write_tag_file(path: Path, sentences: Sequence[Sequence[str]]) -> None:
    """XTREME tagging layout: one tag per line, one empty line between sentences and none
    after the last (as in the official mock files). An empty sentence is written as its own
    empty line, which the official reader turns back into an empty sentence."""
    parts: list[str] = []
    last = len(sentences) - 1
    for i, tags in enumerate(sentences):
        parts.extend(f"{tag}\n" for tag in tags)
        if i < last or not tags:
            parts.append("\n")
    path.write_text("".join(parts), encoding="utf-8")
