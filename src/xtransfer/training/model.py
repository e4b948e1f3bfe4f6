"""The trained model: one shared encoder and one head per task.

Only the encoder moves between phases by default; heads are saved beside it so that
`keep_head` and `xtransfer evaluate` can load them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from xtransfer.errors import UserError

log = logging.getLogger(__name__)

# Weights that a pretrained checkpoint may hold but the bare encoder does not use: the
# masked-LM / NSP heads of the pretraining objective and BERT/RoBERTa's pooler. Anything else
# unused, and anything missing, means the checkpoint does not match the model: an error.
_NON_ENCODER_PREFIXES = ("lm_head.", "cls.", "pooler.", "roberta.pooler.", "bert.pooler.")


class TaskModel(nn.Module):
    """An encoder with named heads; ``forward`` runs the encoder and one head."""

    def __init__(self, encoder: nn.Module, heads: Mapping[str, nn.Module] | None = None):
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict(dict(heads or {}))
        for module in self.heads.values():
            # Heads that reuse encoder weights (the masked-LM decoder = the input embeddings).
            if hasattr(module, "tie_to"):
                module.tie_to(encoder)

    def forward(
        self,
        head: str,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        **batch,
    ):
        # token_type_ids only for models with segment embeddings (mBERT); XLM-R gets none.
        segments = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, **segments
        ).last_hidden_state
        module = self.heads[head]
        # A head that needs more of the batch (the masked-LM head scores masked positions only).
        if getattr(module, "takes_batch", False):
            return module(hidden, **batch)
        return module(hidden)


def _silence_transformers() -> None:
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def load_tokenizer(source: str):
    """A fast tokenizer (offset mappings are needed for QA) from a Hub id or a local folder."""
    from transformers import AutoTokenizer

    _silence_transformers()
    try:
        return AutoTokenizer.from_pretrained(source, use_fast=True)
    except OSError as err:
        raise UserError(
            f"could not load the tokenizer {source!r} ({str(err).splitlines()[0][:200]}). "
            "If the Hugging Face Hub is unreachable, use model=tiny or a local folder."
        ) from None


def build_pretrained_encoder(model_cfg: Mapping[str, Any], seed: int) -> nn.Module:
    """Phase 0: the pretrained encoder (or the tiny model, randomly initialised under ``seed``)."""
    from transformers import AutoConfig, AutoModel

    _silence_transformers()
    attn = model_cfg.get("attn_implementation") or "sdpa"
    if model_cfg.get("pretrained"):
        return load_encoder(str(model_cfg["pretrained"]), attn_implementation=attn)
    config = AutoConfig.from_pretrained(model_cfg["config_dir"])
    # Seed right before initialisation so the random "pretrained" weights depend on the seed only.
    torch.manual_seed(seed)
    return AutoModel.from_config(config, add_pooling_layer=False, attn_implementation=attn)


def load_encoder(source: str | Path, attn_implementation: str = "sdpa") -> nn.Module:
    """Loads an encoder strictly: missing or unused encoder weights are an error, not a warning."""
    from transformers import AutoModel

    _silence_transformers()
    try:
        encoder, info = AutoModel.from_pretrained(
            str(source),
            add_pooling_layer=False,
            use_safetensors=True,
            output_loading_info=True,
            attn_implementation=attn_implementation,
        )
    except OSError as err:
        raise UserError(
            f"could not load the encoder {str(source)!r} ({str(err).splitlines()[0][:200]}). "
            "If the Hugging Face Hub is unreachable, use model=tiny or a local folder "
            "written by save_pretrained (safetensors)."
        ) from None
    missing = sorted(info["missing_keys"])
    unused = sorted(k for k in info["unexpected_keys"] if not k.startswith(_NON_ENCODER_PREFIXES))
    mismatched = sorted(str(k) for k in info.get("mismatched_keys", []))
    if missing or unused or mismatched:
        raise UserError(
            f"encoder checkpoint {source} does not match the model: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unused {unused[:5]}{'...' if len(unused) > 5 else ''}, mismatched {mismatched[:5]}"
        )
    ignored = sorted(info["unexpected_keys"])
    if ignored:
        log.info(
            "encoder %s: ignored %d non-encoder weights (%s ...)", source, len(ignored), ignored[0]
        )
    return encoder
