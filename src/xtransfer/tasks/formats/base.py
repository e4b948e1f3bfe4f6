"""The interface every task format implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from xtransfer.errors import UserError
from xtransfer.tasks.registry import TaskSpec


@dataclass
class LanguageContext:
    """What predicting one test language may use; the zero-shot evaluator makes one per
    evaluation (so state kept in ``cache``, e.g. a dual encoder's candidate pool, lives exactly
    as long as one evaluation)."""

    settings: Any  # the target config (max_length, test_split, retrieval settings, ...)
    accelerator: Any
    batch_size: int
    languages: Sequence[str]  # every language this evaluation scores
    load: Callable[[str, str], list[dict]]  # (split, lang) -> rows of the same task
    featurize: Callable[[Sequence[dict]], list[dict]]  # rows -> (cached) features
    predict_features: Callable[[Sequence[dict]], list[Any]]  # features -> head predictions
    cache: dict[Any, Any] = field(default_factory=dict)


class TaskFormat:
    """Featurise rows, build the head, compute the loss, decode and write predictions.

    Features are dicts with ``input_ids`` (list[int]) plus whatever the format needs to train
    (``label``) or to decode (``example_index``); ``collate`` turns a list of them into tensors.
    """

    name: ClassVar[str]
    # False for formats scored from the encoder alone (retrieval): they implement
    # ``predict_rows`` instead of a head, loss and decode.
    trainable: ClassVar[bool] = True
    # Bumped whenever featurisation or decoding changes: part of every phase's content key.
    version: ClassVar[int] = 1

    def __init__(self, task: TaskSpec):
        self.task = task

    def featurize(self, rows: Sequence[dict[str, Any]], tokenizer, max_length: int) -> list[dict]:
        raise NotImplementedError

    def collate(self, features: Sequence[dict], pad_id: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def feature_length(self, feature: dict) -> int:
        """Tokens one feature costs in a padded batch: the key of length-grouped batching."""
        return len(feature["input_ids"])

    def make_head(self, hidden_size: int, dropout: float) -> nn.Module:
        raise NotImplementedError

    def head_signature(self) -> dict[str, Any]:
        """What a head's shape depends on; two heads are interchangeable iff these match."""
        raise NotImplementedError

    def loss(self, outputs: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, outputs: torch.Tensor) -> list[Any]:
        """Per-feature predictions from a batch of head outputs (moved to CPU)."""
        raise NotImplementedError

    def finalize(
        self, rows: Sequence[dict], features: Sequence[dict], feature_predictions: Sequence[Any]
    ) -> list[Any]:
        """Per-row predictions from per-feature ones. A row may span several features (QA
        document strides, tagging windows); by default features and rows correspond 1:1."""
        return list(feature_predictions)

    def dev_score(self, rows: Sequence[dict], predictions: Sequence[Any]) -> float:
        """The model-selection metric on English dev (higher is better, 0-100)."""
        raise NotImplementedError

    def predict_language(
        self, model: nn.Module, tokenizer, rows: Sequence[dict], lang: str, ctx: LanguageContext
    ) -> list[Any]:
        """Per-row predictions for one test language: the one hook the evaluator calls. By
        default (a trained head): featurise, run the head, map features back to rows."""
        features = ctx.featurize(rows)
        return self.finalize(rows, features, ctx.predict_features(features))

    def predict_rows(
        self,
        encoder: nn.Module,
        tokenizer,
        rows: Sequence[dict],
        settings: Any,
        accelerator,
        load_split,
    ) -> list[Any]:
        """Encoder-only formats: per-row predictions for one language. ``settings`` is the
        target config; ``load_split(split)`` returns the rows of another split of the same
        language (e.g. BUCC's dev gold for choosing the threshold)."""
        raise NotImplementedError

    def write_predictions(self, path: Path, rows: Sequence[dict], predictions: Sequence[Any]):
        raise NotImplementedError

    def write_labels(self, path: Path, rows: Sequence[dict]) -> None:
        raise NotImplementedError


def pad_sequences(seqs: Sequence[Sequence[int]], pad_value: int) -> torch.Tensor:
    """Right-pads to the longest sequence of the batch (dynamic padding, never to max_length)."""
    longest = max(len(s) for s in seqs)
    out = torch.full((len(seqs), longest), pad_value, dtype=torch.long)
    for i, seq in enumerate(seqs):
        out[i, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return out


def uses_segments(tokenizer) -> bool:
    """BERT-style models (mBERT) embed which segment of a pair a token is in; XLM-R does not."""
    return "token_type_ids" in getattr(tokenizer, "model_input_names", ())


def pad_segments(features: Sequence[dict]) -> dict[str, torch.Tensor]:
    """``{"token_type_ids": padded}`` when the features carry segment ids, else ``{}``.

    Padding positions get segment 0; the attention mask hides them anyway.
    """
    if not features or "token_type_ids" not in features[0]:
        return {}
    return {"token_type_ids": pad_sequences([f["token_type_ids"] for f in features], 0)}


def require_fast_tokenizer(tokenizer, needs: str) -> None:
    """QA and tagging map characters and words to sub-tokens through a fast (Rust) tokenizer's
    offsets; a slow, pure-Python one cannot, so it is refused with the way to get a fast one."""
    if getattr(tokenizer, "is_fast", False):
        return
    raise UserError(
        f"{needs} needs a fast tokenizer (offset mappings); {type(tokenizer).__name__} is a slow "
        "one. Give the checkpoint a tokenizer.json: with the `tokenizers` (and, for SentencePiece "
        "models, `sentencepiece`) package installed, AutoTokenizer.from_pretrained(DIR)"
        ".save_pretrained(DIR) converts it; or set model.tokenizer= to a folder or Hub id that "
        "has one"
    )


def setting(settings: Any, key: str, default: Any) -> Any:
    """``settings[key]`` for a dict or a DictConfig, ``default`` when absent or null."""
    try:
        value = settings.get(key, default)
    except AttributeError:
        value = getattr(settings, key, default)
    return default if value is None else value
