"""The longest input a model can take, and the one rule that clamps a task's ``max_length`` to it.

A task's ``max_length`` (384 for QA, 256 for NLI) is a property of the task; the model may take
fewer tokens: its position table (``max_position_embeddings``, less RoBERTa's offset) and its
tokenizer's ``model_max_length``. Feeding more is an index error deep inside the model, so the
length is clamped, with one printed line per task and length. QA and tagging windows are built
from the clamped length, since they are cut from whatever ``max_length`` they are given.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

# Architectures whose position ids start after the padding index (RoBERTa's
# ``create_position_ids_from_input_ids``): the first ``pad_token_id + 1`` rows are never used.
_OFFSET_POSITIONS = {
    "roberta",
    "xlm-roberta",
    "xlm-roberta-xl",
    "camembert",
    "data2vec-text",
    "roberta-prelayernorm",
    "xmod",
    "mpnet",
}
# Tokenizers without a known limit report a huge placeholder (transformers' VERY_LARGE_INTEGER).
_NO_LIMIT = 1_000_000

# Lines already printed, per tokenizer (one per run: a run loads its tokenizer once), so the
# train, dev and test featurisation of one task print the clamp once.
_printed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def position_limit(config) -> int | None:
    """Tokens the model's position table covers (None: no table size in the config)."""
    size = getattr(config, "max_position_embeddings", None)
    if size is None:
        return None
    if getattr(config, "model_type", None) in _OFFSET_POSITIONS:
        return int(size) - int(getattr(config, "pad_token_id", 1) or 0) - 1
    return int(size)


def length_limit(config, tokenizer) -> tuple[int | None, str]:
    """(the longest input the model takes, why): the smaller of its positions and the
    tokenizer's ``model_max_length``; (None, "") when neither says."""
    limits = []
    positions = position_limit(config) if config is not None else None
    if positions is not None:
        limits.append((positions, f"{positions} positions"))
    declared = getattr(tokenizer, "model_max_length", None) if tokenizer is not None else None
    if declared is not None and int(declared) < _NO_LIMIT:
        limits.append((int(declared), f"tokenizer model_max_length {int(declared)}"))
    if not limits:
        return None, ""
    return min(limits)


def clamp_max_length(requested: int, config, tokenizer, what: str) -> int:
    """``requested`` unless the model takes fewer tokens; a clamp prints one line."""
    limit, why = length_limit(config, tokenizer)
    requested = int(requested)
    if limit is None or requested <= limit:
        return requested
    try:
        seen = _printed.setdefault(tokenizer, set())
    except TypeError:  # not weak-referenceable: print every time
        seen = set()
    if (what, requested, limit) not in seen:
        seen.add((what, requested, limit))
        model = getattr(config, "model_type", "the model")
        print(f"max length: {what} asks for {requested} tokens; {model} takes {limit} ({why})")
    return limit


def clamped_settings(settings: Any, config, tokenizer, what: str) -> Any:
    """A target's settings with ``max_length`` clamped (the same object when nothing changes)."""
    from omegaconf import DictConfig, OmegaConf

    if settings.get("max_length") is None:
        return settings
    requested = int(settings["max_length"])
    length = clamp_max_length(requested, config, tokenizer, what)
    if length == requested:
        return settings
    if isinstance(settings, DictConfig):
        copy = OmegaConf.create(OmegaConf.to_container(settings, resolve=True))
        copy.max_length = length
        return copy
    assert isinstance(settings, Mapping)
    return {**settings, "max_length": length}
