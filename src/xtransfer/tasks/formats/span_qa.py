"""Extractive question answering: SQuAD v1.1/v2.0, XQuAD, MLQA, TyDiQA-GoldP.

Featurisation follows the reference recipe (HF ``run_qa.py`` / jiant X-STILTs, SPEC §6): question
first, context second, only the context truncated, long contexts cut into windows that overlap
by ``doc_stride`` tokens. A window that does not hold the whole answer is trained to point at
CLS (token 0), which is also where SQuAD v2's "no answer" points. At prediction time the n-best
start and end tokens of every window of a question are combined, spans that leave the context or
exceed ``max_answer_length`` tokens are skipped, and the best span over all windows is mapped
back to the original context text through the tokenizer's character offsets.

Rows have the Hub schema (``id``, ``context``, ``question``, ``answers: {text, answer_start}``),
mapped by the catalogue's ``columns``; an empty ``answers`` means "unanswerable" (SQuAD v2).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from xtransfer.errors import UserError
from xtransfer.evaluation.metrics import squad
from xtransfer.tasks.formats.base import (
    TaskFormat,
    pad_segments,
    pad_sequences,
    require_fast_tokenizer,
    uses_segments,
)

log = logging.getLogger(__name__)

IGNORE = -100  # cross_entropy's ignore_index: features of examples left out of training

# How many rows are tokenised per call: bounds the memory of one BatchEncoding (offsets of
# every window) on SQuAD-sized training sets without slowing the fast tokenizer down.
_TOKENIZE_CHUNK = 1000


class SpanQAHead(nn.Module):
    """One linear layer to a start and an end logit per token (as HF's *ForQuestionAnswering,
    which also applies no dropout here: the encoder's own dropout regularises)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.qa_outputs = nn.Linear(hidden_size, 2)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.qa_outputs(hidden_states)  # (batch, tokens, 2): [..., 0] start, [..., 1] end


class SpanQAFormat(TaskFormat):
    name = "span_qa"
    version = 2  # 2: segment ids for BERT-style tokenizers (mBERT)

    # The reference values of SPEC §6. They are code, not config, on purpose: they change what a
    # phase learns, so a change must bump ``version`` (part of every phase's content key).
    doc_stride: ClassVar[int] = 128
    max_query_length: ClassVar[int] = 64
    n_best: ClassVar[int] = 20
    max_answer_length: ClassVar[int] = 30
    null_threshold: ClassVar[float] = 0.0

    def __init__(
        self,
        task,
        *,
        doc_stride: int | None = None,
        n_best: int | None = None,
        max_answer_length: int | None = None,
    ):
        super().__init__(task)
        # Overrides exist for tests (small windows on short texts); runs use the class values.
        if doc_stride is not None:
            self.doc_stride = doc_stride
        if n_best is not None:
            self.n_best = n_best
        if max_answer_length is not None:
            self.max_answer_length = max_answer_length

    @property
    def v2(self) -> bool:
        """SQuAD v2 semantics: questions may be unanswerable and the null span can win."""
        return bool(self.task.raw.get("version_2_with_negative", False))

    # ------------------------------------------------------------------ featurisation

    @staticmethod
    def _locate(row: dict[str, Any]) -> tuple[str, tuple[int, int] | None]:
        """("ok" | "moved" | "missing" | "none", character span of the first answer).

        "moved": the text is not at ``answer_start`` but occurs elsewhere in the context (the
        occurrence nearest to ``answer_start`` is taken); "missing": it does not occur at all.
        """
        answers = row.get("answers") or {}
        texts = list(answers.get("text") or [])
        if not texts:
            return "none", None
        text = texts[0]
        starts = list(answers.get("answer_start") or [])
        start = int(starts[0]) if starts else -1
        context = row["context"]
        status = "ok"
        if start < 0 or context[start : start + len(text)] != text:
            found = []
            at = context.find(text)
            while at != -1:
                found.append(at)
                at = context.find(text, at + 1)
            if not found or not text:
                return "missing", None
            start = min(found, key=lambda pos: abs(pos - start))
            status = "moved"
        end = start + len(text)
        # Offsets are whitespace-trimmed below; trim the gold span the same way so that an
        # answer like "Denver Broncos " still ends on its last word.
        while start < end and context[start].isspace():
            start += 1
        while end > start and context[end - 1].isspace():
            end -= 1
        if start == end:
            return "missing", None
        return status, (start, end)

    @staticmethod
    def _clip_questions(questions: list[str], tokenizer, max_query: int) -> list[str]:
        """Questions cut to ``max_query`` tokens (as the reference's max_query_length does), so
        that a long question can never squeeze the context window below the stride."""
        encoded = tokenizer(
            questions, add_special_tokens=False, return_offsets_mapping=True, truncation=False
        )
        clipped = []
        for question, offsets in zip(questions, encoded["offset_mapping"], strict=True):
            if len(offsets) > max_query:
                question = question[: offsets[max_query - 1][1]]
            clipped.append(question)
        return clipped

    def _window_sizes(self, tokenizer, max_length: int) -> tuple[int, int]:
        """(max question tokens, stride) for ``max_length``; the configured stride is kept
        unless max_length is too small for it (tiny test windows)."""
        specials = tokenizer.num_special_tokens_to_add(pair=True)
        room = max_length - specials
        max_query = min(self.max_query_length, max(1, room // 4))
        window = room - max_query
        if window < 2:
            raise UserError(f"max_length {max_length} leaves no room for the QA context")
        return max_query, min(self.doc_stride, window // 2)

    def featurize(self, rows, tokenizer, max_length):
        require_fast_tokenizer(tokenizer, "extractive QA (answers are found by offsets)")
        max_query, stride = self._window_sizes(tokenizer, max_length)
        located = [self._locate(row) for row in rows]
        features: list[dict[str, Any]] = []
        for chunk in range(0, len(rows), _TOKENIZE_CHUNK):
            part = rows[chunk : chunk + _TOKENIZE_CHUNK]
            # Leading whitespace in a question only wastes window room (some SQuAD questions
            # have dozens of spaces), as the reference script notes.
            questions = [str(row["question"]).lstrip() for row in part]
            questions = self._clip_questions(questions, tokenizer, max_query)
            contexts = [row["context"] for row in part]
            encoded = tokenizer(
                questions,
                contexts,
                truncation="only_second",
                max_length=max_length,
                stride=stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
                padding=False,
            )
            samples = encoded["overflow_to_sample_mapping"]
            spaces: dict[int, np.ndarray] = {}  # per example: is context[i] whitespace
            for i, input_ids in enumerate(encoded["input_ids"]):
                example = chunk + samples[i]
                if example not in spaces:
                    context = contexts[samples[i]]
                    spaces[example] = np.fromiter(
                        (c.isspace() for c in context), dtype=bool, count=len(context)
                    )
                features.append(
                    self._feature(
                        input_ids,
                        encoded.sequence_ids(i),
                        encoded["offset_mapping"][i],
                        spaces[example],
                        example,
                        located[example],
                    )
                )
                if uses_segments(tokenizer):
                    features[-1]["token_type_ids"] = encoded["token_type_ids"][i]
        self._report(located)
        return features

    @staticmethod
    def _trimmed_spans(offsets: np.ndarray, space: np.ndarray) -> np.ndarray:
        """Token character spans without edge whitespace.

        Metaspace tokenizers (XLM-R) include the preceding space in a word's offsets; trimming
        it makes predicted answers exact substrings of the context. A token that is only
        whitespace ends up empty (start == end) and is never a span edge.
        """
        starts, ends = offsets[:, 0].copy(), offsets[:, 1].copy()
        if len(space) == 0:
            return np.stack([starts, starts], axis=1)
        last = len(space) - 1
        while True:  # one step per whitespace character; Metaspace adds one
            move = (starts < ends) & space[np.minimum(starts, last)]
            if not move.any():
                break
            starts += move
        while True:
            move = (ends > starts) & space[np.clip(ends - 1, 0, last)]
            if not move.any():
                break
            ends -= move
        return np.stack([starts, ends], axis=1)

    def _feature(
        self,
        input_ids: list[int],
        sequence_ids: list[int | None],
        offsets: list[tuple[int, int]],
        space: np.ndarray,
        example: int,
        located: tuple[str, tuple[int, int] | None],
    ) -> dict[str, Any]:
        # The context is one contiguous run of tokens (between the separators).
        if 1 in sequence_ids:
            first = sequence_ids.index(1)
            last = len(sequence_ids) - sequence_ids[::-1].index(1)
        else:
            first = last = len(input_ids)
        raw = np.asarray(offsets[first:last], dtype=np.int32).reshape(-1, 2)
        spans = self._trimmed_spans(raw, space)
        status, span = located
        if status == "missing":
            start_pos = end_pos = IGNORE
        elif span is None:
            start_pos = end_pos = 0  # unanswerable: CLS
        else:
            start_pos = end_pos = 0  # the answer is not (wholly) in this window: CLS
            valid = np.flatnonzero(spans[:, 1] > spans[:, 0])
            if len(valid) and spans[valid[0], 0] <= span[0] and spans[valid[-1], 1] >= span[1]:
                # Last token starting at or before the answer start; first token ending at or
                # after the answer end (answers may start or end inside a sub-word).
                s = valid[np.searchsorted(spans[valid, 0], span[0], side="right") - 1]
                e = valid[np.searchsorted(spans[valid, 1], span[1], side="left")]
                start_pos, end_pos = first + int(s), first + int(e)
        return {
            "input_ids": list(input_ids),
            "example_index": example,
            "context_start": first,  # token index of the first context token
            "context_offsets": spans,  # (context tokens, 2) character spans, int32
            "start_position": start_pos,
            "end_position": end_pos,
        }

    def _report(self, located: Sequence[tuple[str, Any]]) -> None:
        """One line per featurised split about answers that were not where the data said."""
        moved = sum(status == "moved" for status, _ in located)
        missing = sum(status == "missing" for status, _ in located)
        if moved or missing:
            log.warning(
                "%s: %d of %d answers are not at their answer_start: %d were found elsewhere in "
                "the context and used from there, %d do not occur in the context and those "
                "questions are left out of training",
                self.task.name,
                moved + missing,
                len(located),
                moved,
                missing,
            )

    # ------------------------------------------------------------------ model

    def collate(self, features, pad_id):
        input_ids = pad_sequences([f["input_ids"] for f in features], pad_id)
        return {
            "input_ids": input_ids,
            "attention_mask": (input_ids != pad_id).long(),
            "start_positions": torch.tensor(
                [f["start_position"] for f in features], dtype=torch.long
            ),
            "end_positions": torch.tensor([f["end_position"] for f in features], dtype=torch.long),
            **pad_segments(features),
        }

    def make_head(self, hidden_size, dropout):
        return SpanQAHead(hidden_size)

    def head_signature(self) -> dict[str, Any]:
        return {"format": self.name, "v2": self.v2}

    def loss(self, outputs, batch):
        logits = outputs.float()
        # Padding is not a candidate position: keep it out of the softmax.
        padding = batch["attention_mask"] == 0
        logits = logits.masked_fill(padding.unsqueeze(-1), torch.finfo(logits.dtype).min / 2)
        starts, ends = batch["start_positions"], batch["end_positions"]
        # Sum / count instead of the mean reduction: a batch made only of ignored features
        # (answers missing from their context) must give 0, not NaN.
        kept = (starts != IGNORE).sum().clamp(min=1)
        start_loss = nn.functional.cross_entropy(
            logits[..., 0], starts, ignore_index=IGNORE, reduction="sum"
        )
        end_loss = nn.functional.cross_entropy(
            logits[..., 1], ends, ignore_index=IGNORE, reduction="sum"
        )
        return (start_loss + end_loss) / (2 * kept)

    def decode(self, outputs):
        """(start logits, end logits) per feature, float32 numpy arrays over the padded batch
        length; ``finalize`` only reads the feature's own positions."""
        logits = outputs.float().cpu().numpy()
        return [(row[:, 0].copy(), row[:, 1].copy()) for row in logits]

    # ------------------------------------------------------------------ decoding

    def _best_span(
        self, feature: dict[str, Any], start_logits: np.ndarray, end_logits: np.ndarray
    ) -> tuple[float, int, int] | None:
        """(score, char start, char end) of the best valid span of one window, or None."""
        spans = feature["context_offsets"]
        first = int(feature["context_start"])
        count = len(spans)
        if count == 0:
            return None
        start = np.asarray(start_logits[first : first + count], dtype=np.float64)
        end = np.asarray(end_logits[first : first + count], dtype=np.float64)
        valid = spans[:, 1] > spans[:, 0]
        if not valid.any():
            return None
        # Only context tokens are candidates, so a span can never leave the context.
        k = min(self.n_best, int(valid.sum()))
        starts = np.argsort(-np.where(valid, start, -np.inf), kind="stable")[:k]
        ends = np.argsort(-np.where(valid, end, -np.inf), kind="stable")[:k]
        length = ends[None, :] - starts[:, None] + 1
        ok = (length >= 1) & (length <= self.max_answer_length)
        if not ok.any():
            return None
        scores = np.where(ok, start[starts][:, None] + end[ends][None, :], -np.inf)
        i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
        s, e = int(starts[i]), int(ends[j])
        return float(scores[i, j]), int(spans[s, 0]), int(spans[e, 1])

    def finalize(self, rows, features, feature_predictions):
        """The answer text of every row: the best span over all of its windows; for SQuAD v2,
        "" when the null (CLS) score beats the best span by more than ``null_threshold``."""
        best: list[tuple[float, int, int] | None] = [None] * len(rows)
        null: list[float | None] = [None] * len(rows)
        for feature, prediction in zip(features, feature_predictions, strict=True):
            start_logits, end_logits = prediction
            example = int(feature["example_index"])
            span = self._best_span(feature, start_logits, end_logits)
            if span is not None and (best[example] is None or span[0] > best[example][0]):
                best[example] = span
            # The reference keeps the smallest null score over an example's windows.
            score = float(start_logits[0]) + float(end_logits[0])
            if null[example] is None or score < null[example]:
                null[example] = score
        answers = []
        for row, span, null_score in zip(rows, best, null, strict=True):
            if span is None:
                answers.append("")
            elif self.v2 and null_score is not None and null_score - span[0] > self.null_threshold:
                answers.append("")
            else:
                answers.append(row["context"][span[1] : span[2]])
        return answers

    # ------------------------------------------------------------------ scores and files

    def dev_score(self, rows: Sequence[dict], predictions: Sequence[str]) -> float:
        """SQuAD F1 (0-100) with the scorer's normalisation. An unanswerable question counts 1
        when the prediction is empty, as in the official v2 script."""
        if not rows:
            return 0.0
        total = 0.0
        for row, prediction in zip(rows, predictions, strict=True):
            golds = list((row.get("answers") or {}).get("text") or [])
            if golds:
                total += max(squad.token_f1(prediction, gold) for gold in golds)
            else:
                total += float(squad.normalize_answer(prediction) == "")
        return 100.0 * total / len(rows)

    def write_predictions(self, path: Path, rows, predictions: Sequence[str]) -> None:
        # XTREME submission format: {"<question id>": "answer text"}.
        answers = {str(row["id"]): text for row, text in zip(rows, predictions, strict=True)}
        path.write_text(json.dumps(answers, ensure_ascii=False), encoding="utf-8")

    def write_labels(self, path: Path, rows) -> None:
        """SQuAD-format gold (what the scorer's ``read_squad_articles`` reads); consecutive
        questions on one context share a paragraph, as in the released files."""
        unanswered = sum(not (row.get("answers") or {}).get("text") for row in rows)
        if unanswered and not self.v2:
            raise UserError(
                f"{self.task.name}: {unanswered} of {len(rows)} questions written to {path} "
                "have no gold answer, so they cannot be scored (XTREME's download_data.sh "
                "removes the answers of the QA test sets; use data=hub, or data=local with the "
                "original files, e.g. deepmind/xquad's xquad.{lang}.json)"
            )
        articles: list[dict[str, Any]] = []
        for row in rows:
            answers = row.get("answers") or {}
            qa: dict[str, Any] = {
                "id": str(row["id"]),
                "question": row["question"],
                "answers": [
                    {"text": text, "answer_start": int(start)}
                    for text, start in zip(
                        answers.get("text") or [], answers.get("answer_start") or [], strict=True
                    )
                ],
            }
            if self.v2:
                qa["is_impossible"] = not qa["answers"]
            title = str(row.get("title") or "")
            last = articles[-1] if articles else None
            same_context = last is not None and last["paragraphs"][-1]["context"] == row["context"]
            if last is not None and same_context and last["title"] == title:
                last["paragraphs"][-1]["qas"].append(qa)
            else:
                articles.append(
                    {"title": title, "paragraphs": [{"context": row["context"], "qas": [qa]}]}
                )
        version = "v2.0" if self.v2 else "1.1"
        document = {"version": version, "data": articles}
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
