"""Masked-language modelling on plain multilingual text: the paper's MLM co-training task.

Rows are ``{"text": line}``. Masking is dynamic (drawn anew each time a batch is collated) from
the process-wide torch RNG, which the trainer seeds and saves with every resume state, so it is
deterministic under the seed and a resumed run masks exactly like an uninterrupted one. As in
BERT/RoBERTa: each non-special token is chosen with probability 15%; a chosen token becomes
``<mask>`` 80% of the time, a random token 10%, and stays itself 10%; the loss covers the chosen
tokens only. The head is RoBERTa's LM head (dense, GELU, LayerNorm, a decoder tied to the
encoder's input embeddings; the dense layer maps to the embedding width where that is smaller
than the hidden size). It never leaves its phase: no target head has its signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from xtransfer.errors import UserError
from xtransfer.tasks.formats.base import TaskFormat, pad_sequences

IGNORE = -100  # label of positions without a loss (cross_entropy's ignore_index)


def mask_tokens(
    input_ids: torch.Tensor,
    special: torch.Tensor,
    mask_id: int,
    vocab_size: int,
    probability: float = 0.15,
    replace: Sequence[float] = (0.8, 0.1, 0.1),
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked input ids, labels): labels hold the original id at chosen positions, -100
    elsewhere. ``special`` (bool, same shape) marks positions never chosen (<s>, </s>, padding).
    ``replace`` = shares of chosen tokens turned into <mask>, a random token, left unchanged."""
    chance = torch.full(input_ids.shape, float(probability))
    chance.masked_fill_(special, 0.0)
    chosen = torch.bernoulli(chance, generator=generator).bool()
    labels = input_ids.masked_fill(~chosen, IGNORE)
    draw = torch.rand(input_ids.shape, generator=generator)
    to_mask = chosen & (draw < replace[0])
    to_random = chosen & (draw >= replace[0]) & (draw < replace[0] + replace[1])
    masked = input_ids.clone()
    masked[to_mask] = mask_id
    random_ids = torch.randint(vocab_size, input_ids.shape, generator=generator)
    masked[to_random] = random_ids[to_random]
    return masked, labels


class MLMHead(nn.Module):
    """RoBERTa's LM head: dense, GELU, LayerNorm, then the input embeddings as the decoder (tied,
    so it adds no vocabulary-sized matrix) plus a bias. Given ``labels``, it scores only the
    masked positions: (n_masked, vocab) logits instead of (batch, length, vocab)."""

    takes_batch = True  # TaskModel passes the batch (labels) on

    def __init__(self, hidden_size: int):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=1e-5)
        self.bias: nn.Parameter | None = None

    def tie_to(self, encoder: nn.Module) -> None:
        """Ties the decoder to ``encoder``'s input embeddings (kept out of this module's
        parameters and state_dict: they are saved once, with the encoder)."""
        embeddings = encoder.get_input_embeddings()
        self.__dict__["_embeddings"] = embeddings
        width = int(embeddings.embedding_dim)
        if width != self.dense.out_features:
            # Embeddings narrower than the hidden states (ELECTRA, RemBERT, ALBERT): the dense
            # layer projects down to them, as in ELECTRA's generator head and ALBERT's MLM head.
            self.dense = nn.Linear(self.dense.in_features, width)
            self.layer_norm = nn.LayerNorm(width)
        self.layer_norm.eps = float(getattr(encoder.config, "layer_norm_eps", 1e-5))
        self.bias = nn.Parameter(torch.zeros(embeddings.num_embeddings))

    def forward(self, hidden: torch.Tensor, labels: torch.Tensor | None = None, **_: Any):
        if "_embeddings" not in self.__dict__:
            raise RuntimeError("MLMHead.tie_to(encoder) must be called before use")
        if labels is not None:
            hidden = hidden[labels != IGNORE]
        x = self.layer_norm(nn.functional.gelu(self.dense(hidden)))
        return nn.functional.linear(x, self.__dict__["_embeddings"].weight, self.bias)


class MLMFormat(TaskFormat):
    name = "mlm"
    version = 1
    labelled = False  # plain text: training on it does not make a language "seen" by a task

    @property
    def probability(self) -> float:
        return float(self.task.raw.get("mask_probability", 0.15))

    @property
    def replace(self) -> tuple[float, float, float]:
        shares = tuple(float(x) for x in self.task.raw.get("mask_replace", (0.8, 0.1, 0.1)))
        assert len(shares) == 3 and abs(sum(shares) - 1.0) < 1e-6, shares
        return shares  # type: ignore[return-value]

    def featurize(self, rows, tokenizer, max_length):
        if tokenizer.mask_token_id is None:
            raise UserError(
                "masked-LM training needs a tokenizer with a mask token; "
                f"{type(tokenizer).__name__} has none"
            )
        encoded = tokenizer(
            [row["text"] for row in rows],
            truncation=True,
            max_length=max_length,
            return_special_tokens_mask=True,
        )
        # The mask id and vocabulary size travel with the features: a feature-cache hit
        # skips featurize, so the format cannot keep them from the tokenizer itself.
        mask_id, vocab = int(tokenizer.mask_token_id), len(tokenizer)
        return [
            {
                "input_ids": ids,
                "special_tokens_mask": special,
                "mask_id": mask_id,
                "vocab_size": vocab,
                "example_index": i,
            }
            for i, (ids, special) in enumerate(
                zip(encoded["input_ids"], encoded["special_tokens_mask"], strict=True)
            )
        ]

    def collate(self, features, pad_id):
        input_ids = pad_sequences([f["input_ids"] for f in features], pad_id)
        special = pad_sequences([f["special_tokens_mask"] for f in features], 1).bool()
        attention_mask = (input_ids != pad_id).long()  # from the unmasked ids
        masked, labels = mask_tokens(
            input_ids,
            special,
            int(features[0]["mask_id"]),
            int(features[0]["vocab_size"]),
            self.probability,
            self.replace,
        )
        return {"input_ids": masked, "attention_mask": attention_mask, "labels": labels}

    def make_head(self, hidden_size, dropout):
        return MLMHead(hidden_size)

    def head_signature(self) -> dict[str, Any]:
        return {"format": self.name}

    def loss(self, outputs, batch):
        labels = batch["labels"]
        target = labels[labels != IGNORE]
        if target.numel() == 0:  # nothing chosen in this batch (very short lines)
            return outputs.sum() * 0.0
        return nn.functional.cross_entropy(outputs.float(), target)

    def decode(self, outputs):
        return outputs.argmax(dim=-1).tolist()

    def dev_score(self, rows, predictions) -> float:
        raise UserError("mlm has no dev set: it is a training task only")

    def write_predictions(self, path, rows, predictions) -> None:
        raise UserError("mlm is a training task only; it cannot be a target")

    def write_labels(self, path, rows) -> None:
        raise UserError("mlm is a training task only; it cannot be a target")
