"""Image-text alignment: a contrastive loss between captions and given image vectors.

Rows are ``{"text": caption, "vector": [float, ...]}``. The image side is never computed: the
vectors come with the data (precomputed CLIP features, or the synthetic demo's), so no vision
model is needed at training time. The text side is the encoder's pooled caption embedding (the
first token's final hidden state, the position XLM-R's classification heads read), projected by
a linear head to the image-vector dimension (the catalogue's ``vector_dim``).

The loss is the symmetric InfoNCE of CLIP over a batch of n pairs: with t_i and v_i the
L2-normalised caption and image embeddings and logits s_ij = t_i·v_j / tau (the catalogue's
``temperature``),

    L = ( CE(s, targets) + CE(sᵀ, targets) ) / 2,

the mean over the batch of cross-entropies from every caption to all images and from every
image to all captions. With distinct images the target of row i is column i alone; a batch may
hold several captions of one image (equal vectors), and then the target is spread evenly over
all of them, so a caption is never pushed away from its own image. The head is specific to this
task and never moves to a target phase.

Model selection uses caption-to-image retrieval on English dev: the share of captions whose
nearest dev image (cosine) is their own (or one equal to it), 0-100.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xtransfer.errors import UserError
from xtransfer.tasks.formats.base import TaskFormat, pad_sequences

DEFAULT_TEMPERATURE = 0.07  # CLIP's initial temperature


class ImageTextHead(nn.Module):
    """Dropout and a linear projection of the first token's hidden state."""

    def __init__(self, hidden_size: int, vector_dim: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(hidden_size, vector_dim)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.dropout(hidden_states[:, 0]))


def _targets(images: torch.Tensor) -> torch.Tensor:
    """Row i: uniform over the images equal to image i (itself at least)."""
    same = (images[:, None, :] == images[None, :, :]).all(dim=-1).float()
    return same / same.sum(dim=1, keepdim=True)


def symmetric_info_nce(
    text: torch.Tensor, images: torch.Tensor, temperature: float
) -> torch.Tensor:
    """The symmetric contrastive loss of the module docstring (inputs need not be normalised)."""
    t = nn.functional.normalize(text.float(), dim=-1)
    v = nn.functional.normalize(images.float(), dim=-1)
    logits = t @ v.T / temperature
    targets = _targets(images.float())
    # Equal images are equal in both directions, so the same target matrix serves sᵀ.
    text_to_image = nn.functional.cross_entropy(logits, targets)
    image_to_text = nn.functional.cross_entropy(logits.T, targets.T)
    return (text_to_image + image_to_text) / 2


def retrieval_accuracy(text: torch.Tensor, images: torch.Tensor) -> float:
    """Share (0-100) of captions whose most similar image (cosine) equals their own."""
    t = nn.functional.normalize(text.float(), dim=-1)
    v = nn.functional.normalize(images.float(), dim=-1)
    nearest = (t @ v.T).argmax(dim=1)
    hit = (images[nearest] == images).all(dim=-1)
    return 100.0 * hit.float().mean().item()


def _parse_vector(value: Any, where: str) -> list[float]:
    if isinstance(value, str):  # TSV: "0.1 0.2 ..." or "0.1,0.2,..." or a JSON list
        text = value.strip()
        try:
            value = (
                json.loads(text)
                if text.startswith("[")
                else [float(x) for x in text.replace(",", " ").split()]
            )
        except ValueError:
            raise UserError(f"{where}: the image vector is not a list of numbers") from None
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in value
    ):
        raise UserError(f"{where}: the image vector is not a list of numbers")
    vector = [float(x) for x in value]
    if not all(math.isfinite(x) for x in vector):
        raise UserError(f"{where}: the image vector has NaN or infinite values")
    if not any(vector):
        raise UserError(f"{where}: the image vector is all zeros (it has no direction)")
    return vector


class ImageTextFormat(TaskFormat):
    name = "image_text"
    version = 1

    def __init__(self, task):
        super().__init__(task)
        dim = task.raw.get("vector_dim")
        if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
            raise UserError(
                f"task {task.name}: format image_text needs vector_dim (the image vectors' "
                f"length, a positive integer), got {dim!r}"
            )
        temperature = task.raw.get("temperature", DEFAULT_TEMPERATURE)
        if not isinstance(temperature, (int, float)) or not temperature > 0:
            raise UserError(f"task {task.name}: temperature must be > 0, got {temperature!r}")
        self.vector_dim = dim
        self.temperature = float(temperature)

    def vector(self, row: dict, number: int) -> list[float]:
        """The row's image vector, checked against ``vector_dim``."""
        where = f"task {self.task.name}: row {number}"
        if "vector" not in row:
            raise UserError(f"{where} has no image vector")
        vector = _parse_vector(row["vector"], where)
        if len(vector) != self.vector_dim:
            raise UserError(
                f"{where}: the image vector has {len(vector)} values, the task's vector_dim "
                f"is {self.vector_dim}"
            )
        return vector

    def featurize(self, rows, tokenizer, max_length):
        captions = []
        for number, row in enumerate(rows, start=1):
            text = row.get("text")
            if not isinstance(text, str) or not text.strip():
                raise UserError(f"task {self.task.name}: row {number} has no caption text")
            captions.append(text)
        encoded = tokenizer(captions, truncation=True, max_length=max_length)
        return [
            {"input_ids": ids, "vector": self.vector(row, i + 1), "example_index": i}
            for i, (ids, row) in enumerate(zip(encoded["input_ids"], rows, strict=True))
        ]

    def collate(self, features, pad_id):
        input_ids = pad_sequences([f["input_ids"] for f in features], pad_id)
        lengths = torch.tensor([len(f["input_ids"]) for f in features])
        return {
            "input_ids": input_ids,
            "attention_mask": (torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]).long(),
            "images": torch.tensor([f["vector"] for f in features], dtype=torch.float32),
        }

    def make_head(self, hidden_size, dropout):
        return ImageTextHead(hidden_size, self.vector_dim, dropout)

    def head_signature(self) -> dict[str, Any]:
        # The task name is part of it: no other task's head is ever interchangeable with this.
        return {"format": self.name, "task": self.task.name, "vector_dim": self.vector_dim}

    def loss(self, outputs, batch):
        return symmetric_info_nce(outputs, batch["images"], self.temperature)

    def decode(self, outputs):
        return nn.functional.normalize(outputs.float(), dim=-1).tolist()

    def dev_score(self, rows: Sequence[dict], predictions: Sequence[Sequence[float]]) -> float:
        images = torch.tensor([self.vector(r, i + 1) for i, r in enumerate(rows)])
        return retrieval_accuracy(torch.tensor(list(predictions)), images)

    def write_predictions(self, path: Path, rows, predictions) -> None:
        """One line per caption: the dev/test row number of its nearest image."""
        images = torch.tensor([self.vector(r, i + 1) for i, r in enumerate(rows)])
        t = nn.functional.normalize(torch.tensor(list(predictions)), dim=-1)
        nearest = (t @ nn.functional.normalize(images, dim=-1).T).argmax(dim=1).tolist()
        path.write_text("".join(f"{n}\n" for n in nearest), encoding="utf-8")

    def write_labels(self, path: Path, rows) -> None:
        path.write_text("".join(f"{i}\n" for i in range(len(rows))), encoding="utf-8")
