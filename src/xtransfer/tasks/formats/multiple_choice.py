"""Multiple choice (XCOPA, COPA, SIQA, HellaSwag, Cosmos QA, CommonsenseQA, ...).

A row is a prompt and N choices. Every choice is encoded as the pair (prompt, choice), where the
prompt is ``context`` and ``question`` joined by a space (either may be absent), and one score per
choice is taken from the first token; the N scores are the logits of a softmax over the choices.
This is the jiant / X-STILTs multiple-choice template (``jiant/tasks/lib/templates/
multiple_choice.py``; prompts as in its ``copa.py``, ``socialiqa.py``, ``cosmosqa.py``,
``hellaswag.py`` and ``commonsenseqa.py``).

Canonical row columns (mapped from each source by the catalogue's ``columns``):

* ``context`` and/or ``question``: the prompt. A task may declare ``question_templates`` (a map
  from the source value to the text used), e.g. COPA's ``cause`` -> "What was the cause of
  this?"; XCOPA stores these two English words in every language, so the same English phrase
  follows the premise whatever its language, exactly as in English training.
* the choices, in label order, from the first of:
  ``choices_field`` (a dotted path, e.g. ``choices.text`` for CommonsenseQA's dict of lists,
  optionally re-ordered by ``choice_labels_field`` so that choice i carries label ``labels[i]``);
  a ``choices`` column holding a list (HellaSwag ``endings``); or ``choice_columns`` (default
  ``choice1`` .. ``choiceN``: COPA ``choice1/2``, SIQA ``answerA..C``, Cosmos ``answer0..3``
  mapped to those names).
* ``choice_prefix`` (optional): text put before every choice (HellaSwag's ``ctx_b``).
* ``label``: the index of the right choice (``load_rows`` has already mapped the source's label
  through the task's ``labels`` list).
* ``idx`` (optional): copied into the prediction file next to the predicted label.

The number of choices N is ``num_choices`` or the length of ``labels``; it is part of the head's
signature, so tasks with 2, 3, 4 or 5 choices get different heads.

Shapes: a feature holds one ``input_ids`` list per choice. ``collate`` flattens a batch of B
features into B*N sequences padded to the longest one in the batch (the encoder takes 2-D input),
and the head reshapes its B*N scores back to (B, N).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xtransfer.errors import UserError
from xtransfer.tasks.formats.base import TaskFormat, pad_segments, pad_sequences, uses_segments

IGNORE = -100  # cross_entropy's ignore_index: rows without a gold label
_TOKENIZE_CHUNK = 1024  # rows per tokenizer call: bounds memory on large training sets
_CHOICE_COLUMN = re.compile(r"choice\d+")  # the default canonical choice columns


class MultipleChoiceHead(nn.Module):
    """One score per choice from its first token, RoBERTa-style (dropout, dense + tanh, dropout,
    projection to 1), like ``RobertaForMultipleChoice`` with the pooler kept inside the head (the
    encoder is built without a pooling layer). Input (B*N, L, H), output (B, N)."""

    def __init__(self, hidden_size: int, num_choices: int, dropout: float):
        super().__init__()
        # A plain attribute, not a buffer: the state dict stays the weights alone, and the head
        # signature guarantees that a loaded head has the same N.
        self.num_choices = num_choices
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, 1)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        x = self.dropout(hidden_states[:, 0])
        x = torch.tanh(self.dense(x))
        scores = self.out_proj(self.dropout(x)).squeeze(-1)
        if scores.shape[0] % self.num_choices:
            raise ValueError(
                f"{scores.shape[0]} sequences are not a multiple of {self.num_choices} choices"
            )
        return scores.view(-1, self.num_choices)


def _dotted(row: Mapping[str, Any], path: str) -> Any:
    """``row["choices"]["text"]`` for ``choices.text``; None when a step is missing."""
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def feature_length(feature: Mapping[str, Any]) -> int:
    """The padded length a feature needs: its longest choice (for length-grouped batching)."""
    return max(len(ids) for ids in feature["input_ids"])


class MultipleChoiceFormat(TaskFormat):
    name = "multiple_choice"
    version = 2  # 2: batches grouped by the longest choice; segment ids for mBERT

    @property
    def num_choices(self) -> int:
        declared = self.task.raw.get("num_choices")
        if declared is not None:
            return int(declared)
        if not self.task.labels:
            raise UserError(
                f"task {self.task.name!r} declares neither num_choices nor labels "
                "(one label per choice)"
            )
        return len(self.task.labels)

    # -- rows -> texts ---------------------------------------------------------------------------

    def _prompt(self, row: Mapping[str, Any], where: str) -> str:
        templates: Mapping[str, str] | None = self.task.raw.get("question_templates")
        parts = []
        context = row.get("context")
        if context:
            parts.append(str(context).strip())
        question = row.get("question")
        if question:
            question = str(question).strip()
            if templates is not None:
                if question not in templates:
                    raise UserError(
                        f"{where}: question {question!r} is not one of "
                        f"{', '.join(sorted(templates))} (task {self.task.name})"
                    )
                question = templates[question]
            parts.append(question)
        if not parts:
            raise UserError(f"{where}: no context or question to ask (task {self.task.name})")
        return " ".join(parts)

    def _choices(self, row: Mapping[str, Any], where: str) -> list[str]:
        raw = self.task.raw
        field = raw.get("choices_field")
        if field:
            choices = _dotted(row, str(field))
            keys_field = raw.get("choice_labels_field")
            keys = _dotted(row, str(keys_field)) if keys_field else None
            if isinstance(choices, list) and isinstance(keys, list) and self.task.labels:
                # Choice i must be the one labelled labels[i] (CommonsenseQA: A..E), whatever
                # order the source lists them in.
                by_key = dict(zip((str(k).strip() for k in keys), choices, strict=False))
                if set(by_key) == set(self.task.labels):
                    choices = [by_key[key] for key in self.task.labels]
        elif isinstance(row.get("choices"), list):
            choices = row["choices"]
        else:
            columns = raw.get("choice_columns") or [
                f"choice{i}" for i in range(1, self.num_choices + 1)
            ]
            missing = [c for c in columns if c not in row]
            if missing:
                raise UserError(
                    f"{where}: row has no choice column(s) {', '.join(missing)} "
                    f"(task {self.task.name}; map them in the catalogue's `columns`)"
                )
            # Rows of a task with more choices (SIQA's 3 under a 2-choice head) must not be cut.
            extra = sorted(k for k in row if _CHOICE_COLUMN.fullmatch(k) and k not in columns)
            if extra:
                raise UserError(
                    f"{where}: row has more choices ({', '.join(extra)}) than task "
                    f"{self.task.name!r} ({self.num_choices})"
                )
            choices = [row[c] for c in columns]
        if not isinstance(choices, list) or len(choices) != self.num_choices:
            found = len(choices) if isinstance(choices, list) else "no"
            raise UserError(
                f"{where}: {found} choices, task {self.task.name!r} has {self.num_choices}"
            )
        prefix = row.get("choice_prefix")
        texts = ["" if c is None else str(c).strip() for c in choices]
        if prefix:
            texts = [f"{str(prefix).strip()} {text}".strip() for text in texts]
        return texts

    # -- TaskFormat ------------------------------------------------------------------------------

    def featurize(self, rows, tokenizer, max_length):
        n = self.num_choices
        features: list[dict[str, Any]] = []
        for start in range(0, len(rows), _TOKENIZE_CHUNK):
            chunk = rows[start : start + _TOKENIZE_CHUNK]
            firsts: list[str] = []
            seconds: list[str] = []
            for offset, row in enumerate(chunk):
                where = f"task {self.task.name} row {start + offset + 1}"
                prompt = self._prompt(row, where)
                for choice in self._choices(row, where):
                    firsts.append(prompt)
                    seconds.append(choice)
            # longest_first truncation: a long context (Cosmos QA) gives way before the choice.
            encoded = tokenizer(firsts, seconds, truncation=True, max_length=max_length)
            ids = encoded["input_ids"]
            for offset, row in enumerate(chunk):
                label = row.get("label")
                if label is None:
                    label = IGNORE
                elif not 0 <= int(label) < n:
                    raise UserError(
                        f"task {self.task.name} row {start + offset + 1}: label {label!r} "
                        f"is not a choice index 0..{n - 1}"
                    )
                features.append(
                    {
                        "input_ids": ids[offset * n : (offset + 1) * n],
                        "label": int(label),
                        "example_index": start + offset,
                    }
                )
                if uses_segments(tokenizer):
                    types = encoded["token_type_ids"][offset * n : (offset + 1) * n]
                    features[-1]["token_type_ids"] = types
        return features

    def collate(self, features, pad_id):
        n = len(features[0]["input_ids"])
        if any(len(f["input_ids"]) != n for f in features):
            raise ValueError("every feature of a batch needs the same number of choices")
        # (B, N, len) flattened to (B*N, len): the encoder takes 2-D input; the head reshapes.
        input_ids = pad_sequences([ids for f in features for ids in f["input_ids"]], pad_id)
        return {
            "input_ids": input_ids,
            "attention_mask": (input_ids != pad_id).long(),
            "labels": torch.tensor([f["label"] for f in features], dtype=torch.long),
            **pad_segments(
                [{"token_type_ids": t} for f in features for t in f.get("token_type_ids", ())]
            ),
        }

    def feature_length(self, feature):
        # Every choice is padded to the longest choice of the batch (the number of choices is
        # fixed per task), so the longest choice is the key that keeps padding low.
        return feature_length(feature)

    def make_head(self, hidden_size, dropout):
        return MultipleChoiceHead(hidden_size, self.num_choices, dropout)

    def head_signature(self) -> dict[str, Any]:
        return {"format": self.name, "choices": self.num_choices}

    def loss(self, outputs, batch):
        return nn.functional.cross_entropy(outputs.float(), batch["labels"], ignore_index=IGNORE)

    def decode(self, outputs):
        return outputs.argmax(dim=-1).tolist()

    def dev_score(self, rows: Sequence[dict], predictions: Sequence[int]) -> float:
        correct = sum(int(p == row["label"]) for p, row in zip(predictions, rows, strict=True))
        return 100.0 * correct / len(rows)

    @staticmethod
    def _record(row: Mapping[str, Any], label: int) -> str:
        record: dict[str, Any] = {"idx": row["idx"]} if "idx" in row else {}
        record["label"] = int(label)
        return json.dumps(record) + "\n"

    def write_predictions(self, path: Path, rows, predictions: Sequence[int]) -> None:
        # XTREME-R submission format (XCOPA): one JSON object per line, in test-file order, with
        # the chosen index as ``label`` (0 = choice1); the scorer ignores other keys.
        text = "".join(self._record(r, p) for r, p in zip(rows, predictions, strict=True))
        path.write_text(text, encoding="utf-8")

    def write_labels(self, path: Path, rows) -> None:
        path.write_text("".join(self._record(r, r["label"]) for r in rows), encoding="utf-8")
