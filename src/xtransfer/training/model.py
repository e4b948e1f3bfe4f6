"""The trained model: one shared encoder and one head per task.

Only the encoder moves between phases by default; heads are saved beside it so that
`keep_head` and `xtransfer evaluate` can load them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib.util import find_spec
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
        self._takes_segments = "token_type_ids" in inspect.signature(encoder.forward).parameters
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
        # token_type_ids only for models with segment embeddings (mBERT); XLM-R gets none, and
        # encoders whose forward takes none (DistilBERT, ModernBERT) never get them.
        segments = (
            {"token_type_ids": token_type_ids}
            if token_type_ids is not None and self._takes_segments
            else {}
        )
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
    except (OSError, ValueError) as err:
        raise UserError(
            f"could not load the tokenizer {source!r} ({str(err).splitlines()[0][:200]}). "
            "If the Hugging Face Hub is unreachable, use model=tiny or a local folder."
        ) from None


def model_source(model_cfg: Mapping[str, Any]) -> str:
    """Where the model's config lives: the pretrained checkpoint, else the tiny model's config."""
    source = model_cfg.get("pretrained") or model_cfg.get("config_dir")
    if not source:
        raise UserError("set model.pretrained (a Hub id or a local checkpoint folder)")
    return str(source)


def load_model_config(model_cfg: Mapping[str, Any], offline: bool = False):
    """The checkpoint's own ``config.json`` (``offline``: local folders and the Hub cache only,
    None when it is not there, for dry runs such as `xtransfer plan`)."""
    from transformers import AutoConfig

    _silence_transformers()
    source = model_source(model_cfg)
    try:
        return AutoConfig.from_pretrained(source, local_files_only=offline)
    except (OSError, ValueError) as err:
        if offline:
            return None
        raise UserError(
            f"could not read the model config of {source!r} ({str(err).splitlines()[0][:200]})"
        ) from None


def check_vocabulary(tokenizer, config) -> None:
    """A tokenizer that produces ids beyond the embedding matrix would index out of range."""
    rows = getattr(config, "vocab_size", None)
    if rows is not None and len(tokenizer) > int(rows):
        raise UserError(
            f"the tokenizer has {len(tokenizer)} tokens but the model's embedding matrix only "
            f"{rows} rows: use the checkpoint's own tokenizer (drop model.tokenizer=) or one "
            "trained for this model"
        )


@dataclass
class LoadReport:
    """How the encoder was built: recorded in the phase checkpoint's meta and results.json."""

    source: str
    checkpoint_class: str | None  # the class the checkpoint was saved from (config.architectures)
    encoder_class: str
    attn_implementation: str
    dropped_head_weights: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_report(encoder: nn.Module) -> LoadReport | None:
    """The report of an encoder built by this module (None for one built elsewhere)."""
    return encoder.__dict__.get("_xtransfer_load_report")


def _encoder_class(config):
    """The bare encoder class ``AutoModel`` would build for ``config`` (no remote code)."""
    from transformers.models.auto.modeling_auto import MODEL_MAPPING

    try:
        return MODEL_MAPPING[type(config)]
    except KeyError:
        raise UserError(
            f"model type {config.model_type!r} has no encoder class in transformers "
            "(AutoModel); custom code (trust_remote_code) is not loaded"
        ) from None


def _encoder_kwargs(cls) -> dict[str, Any]:
    """No pooler: only the token states are used. Only classes that have one take the flag
    (BERT, XLM-R, RemBERT); DistilBERT, ELECTRA, DeBERTa-v2 and ModernBERT reject it."""
    params = inspect.signature(cls.__init__).parameters
    return {"add_pooling_layer": False} if "add_pooling_layer" in params else {}


def choose_attention(cls, requested: str | None) -> str:
    """``auto``: FlashAttention-2 when the package is installed, a GPU is there and the class
    supports it; else PyTorch SDPA where the class supports it; else eager. An explicit choice
    the class does not support is an error."""
    requested = str(requested or "auto")
    supports_sdpa = bool(getattr(cls, "_supports_sdpa", False))
    supports_flash = bool(
        getattr(cls, "_supports_flash_attn", False) or getattr(cls, "_supports_flash_attn_2", False)
    )
    if requested == "auto":
        if supports_flash and torch.cuda.is_available() and find_spec("flash_attn") is not None:
            return "flash_attention_2"
        return "sdpa" if supports_sdpa else "eager"
    unsupported = (requested == "sdpa" and not supports_sdpa) or (
        requested.startswith("flash_attention") and not supports_flash
    )
    if unsupported:
        raise UserError(
            f"{cls.__name__} does not support model.attn_implementation={requested}; "
            "use model.attn_implementation=auto (or eager)"
        )
    return requested


def _known_head_weights(config, source: str) -> tuple[str | None, set[str]]:
    """(class the checkpoint was saved from, the weights of its task head): every weight of that
    class outside its base model, found by building the class on the meta device (no memory).
    Only the heads of the task families below count; any other class gives no head weights."""
    import transformers

    names = list(getattr(config, "architectures", None) or [])
    saved_from = names[0] if names else None
    if saved_from is None or not saved_from.endswith(_HEAD_CLASS_SUFFIXES):
        return saved_from, set()
    cls = getattr(transformers, saved_from, None)
    if cls is None:
        return saved_from, set()
    try:
        with torch.device("meta"):
            model = cls(config)
    except Exception as err:  # noqa: BLE001 - a class that cannot be built has no known head
        log.info("could not build %s of %s (%s): no head weights known", saved_from, source, err)
        return saved_from, set()
    prefix = f"{model.base_model_prefix}."
    return saved_from, {k for k in model.state_dict() if not k.startswith(prefix)}


# The task heads whose checkpoints give up their encoder (the ELECTRA discriminator is
# ElectraForPreTraining, BERT's MLM+NSP checkpoint BertForPreTraining).
_HEAD_CLASS_SUFFIXES = (
    "ForSequenceClassification",
    "ForMaskedLM",
    "ForPreTraining",
    "ForQuestionAnswering",
    "ForTokenClassification",
)


def build_pretrained_encoder(model_cfg: Mapping[str, Any], seed: int) -> nn.Module:
    """Phase 0: the pretrained encoder (or the tiny model, randomly initialised under ``seed``)."""
    _silence_transformers()
    attn = model_cfg.get("attn_implementation")
    if model_cfg.get("pretrained"):
        return load_encoder(
            str(model_cfg["pretrained"]),
            attn_implementation=attn,
            revision=model_cfg.get("revision"),
        )
    from transformers import AutoModel

    config = load_model_config(model_cfg)
    cls = _encoder_class(config)
    chosen = choose_attention(cls, attn)
    # Seed right before initialisation so the random "pretrained" weights depend on the seed only.
    torch.manual_seed(seed)
    encoder = AutoModel.from_config(config, attn_implementation=chosen, **_encoder_kwargs(cls))
    report = LoadReport(str(model_cfg.get("config_dir")), None, cls.__name__, chosen)
    encoder.__dict__["_xtransfer_load_report"] = report
    return encoder


def load_encoder(
    source: str | Path, attn_implementation: str | None = "auto", revision: str | None = None
) -> nn.Module:
    """Loads an encoder strictly: missing or unused encoder weights are an error, not a warning;
    the task head of a fine-tuned or pretraining checkpoint is dropped, and named. ``revision``
    pins a Hub checkpoint's commit (``model.revision``)."""
    from transformers import AutoConfig

    _silence_transformers()
    try:
        config = AutoConfig.from_pretrained(str(source), revision=revision)
    except (OSError, ValueError) as err:
        raise UserError(
            f"could not load the encoder {str(source)!r} ({str(err).splitlines()[0][:200]}). "
            "If the Hugging Face Hub is unreachable, use model=tiny or a local folder "
            "written by save_pretrained (safetensors)."
        ) from None
    cls = _encoder_class(config)
    chosen = choose_attention(cls, attn_implementation)
    try:
        encoder, info = cls.from_pretrained(
            str(source),
            revision=revision,
            use_safetensors=True,
            output_loading_info=True,
            attn_implementation=chosen,
            **_encoder_kwargs(cls),
        )
    except OSError as err:
        raise UserError(
            f"could not load the encoder {str(source)!r} ({str(err).splitlines()[0][:200]}). "
            "If the Hugging Face Hub is unreachable, use model=tiny or a local folder "
            "written by save_pretrained (safetensors)."
        ) from None
    saved_from, head = _known_head_weights(config, str(source))
    unexpected = sorted(info["unexpected_keys"])
    dropped = [k for k in unexpected if k in head]
    missing = sorted(info["missing_keys"])
    unused = [k for k in unexpected if k not in head and not k.startswith(_NON_ENCODER_PREFIXES)]
    mismatched = sorted(str(k) for k in info.get("mismatched_keys", []))
    if missing or unused or mismatched:
        raise UserError(
            f"encoder checkpoint {source} does not match the model: "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unused {unused[:5]}{'...' if len(unused) > 5 else ''}, mismatched {mismatched[:5]}"
        )
    if dropped:
        print(
            f"model: using the encoder of {saved_from} checkpoint {source}; dropped its head "
            f"({len(dropped)} weights: {', '.join(dropped)})"
        )
    ignored = [k for k in unexpected if k not in head]
    if ignored:
        log.info("encoder %s: ignored %d pooler/pretraining weights", source, len(ignored))
    report = LoadReport(str(source), saved_from, cls.__name__, chosen, dropped)
    encoder.__dict__["_xtransfer_load_report"] = report
    return encoder
