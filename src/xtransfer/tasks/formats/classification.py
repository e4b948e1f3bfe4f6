"""Sentence and sentence-pair classification (XNLI, PAWS-X, MNLI, QQP, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xtransfer.tasks.formats.base import TaskFormat, pad_segments, pad_sequences, uses_segments


class ClassificationHead(nn.Module):
    """RoBERTa-style head on the first token: dropout, dense + tanh, dropout, projection."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        x = self.dropout(hidden_states[:, 0])
        x = torch.tanh(self.dense(x))
        return self.out_proj(self.dropout(x))


class ClassificationFormat(TaskFormat):
    name = "classification"
    version = 2  # 2: segment ids for BERT-style tokenizers (mBERT)

    @property
    def labels(self) -> list[str]:
        assert self.task.labels is not None, f"task {self.task.name} declares no labels"
        return self.task.labels

    def featurize(self, rows, tokenizer, max_length):
        first = [row["text_a"] for row in rows]
        second = [row["text_b"] for row in rows] if "text_b" in rows[0] else None
        encoded = tokenizer(first, second, truncation=True, max_length=max_length)
        features = [
            {"input_ids": ids, "label": row.get("label", -100), "example_index": i}
            for i, (ids, row) in enumerate(zip(encoded["input_ids"], rows, strict=True))
        ]
        if uses_segments(tokenizer):
            for feature, types in zip(features, encoded["token_type_ids"], strict=True):
                feature["token_type_ids"] = types
        return features

    def collate(self, features, pad_id):
        input_ids = pad_sequences([f["input_ids"] for f in features], pad_id)
        return {
            "input_ids": input_ids,
            "attention_mask": (input_ids != pad_id).long(),
            "labels": torch.tensor([f["label"] for f in features], dtype=torch.long),
            **pad_segments(features),
        }

    def make_head(self, hidden_size, dropout):
        return ClassificationHead(hidden_size, len(self.labels), dropout)

    def head_signature(self) -> dict[str, Any]:
        return {"format": self.name, "labels": list(self.labels)}

    def loss(self, outputs, batch):
        return nn.functional.cross_entropy(outputs.float(), batch["labels"])

    def decode(self, outputs):
        return outputs.argmax(dim=-1).tolist()

    def dev_score(self, rows: Sequence[dict], predictions: Sequence[int]) -> float:
        correct = sum(int(p == row["label"]) for p, row in zip(predictions, rows, strict=True))
        return 100.0 * correct / len(rows)

    def write_predictions(self, path: Path, rows, predictions: Sequence[int]) -> None:
        # XTREME submission format: one label string per line, in test-file order.
        path.write_text("".join(f"{self.labels[p]}\n" for p in predictions), encoding="utf-8")

    def write_labels(self, path: Path, rows) -> None:
        path.write_text("".join(f"{self.labels[r['label']]}\n" for r in rows), encoding="utf-8")
