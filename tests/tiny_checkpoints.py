"""Tiny random-weight checkpoints of several encoder architectures, as a user would have them.

Each checkpoint is built from its architecture's config (2 layers, hidden 32), saved with
``save_pretrained`` (safetensors) next to a fast tokenizer of the architecture's own kind
(Unigram for XLM-R / DeBERTa-v2 / RemBERT, WordPiece for BERT / DistilBERT / ELECTRA, byte-level
BPE for ModernBERT) trained with the ``tokenizers`` library on the demo text the project ships
(``assets/demo/text``). Besides the bare ``*Model`` encoders there are checkpoints with heads
(sequence classification, ELECTRA discriminator, DistilBERT masked LM, BERT pretraining) and an
XLM-R with only 64 positions. Nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from xtransfer.config import asset_path  # noqa: E402

# Sizes shared by every tiny model: small enough to train on a laptop CPU in seconds.
HIDDEN, LAYERS, HEADS, FFN = 32, 2, 2, 64
POSITIONS = 128  # usable positions; QA's 384-token windows are clamped to this
VOCAB = 2000

# The bare encoders every format is run through, by the name the tests use.
ARCHITECTURES = ("xlmr", "bert", "distilbert", "electra", "deberta-v2", "rembert", "modernbert")
# Checkpoints that carry a head (or a short position table) on top of one of the encoders.
WITH_HEADS = ("xlmr-cls", "electra-disc", "distilbert-mlm", "bert-pretraining")
SHORT_POSITIONS = "xlmr-64pos"


def demo_lines() -> list[str]:
    """The demo text of every language, in a fixed order."""
    lines: list[str] = []
    for path in sorted(Path(asset_path("demo"), "text").glob("*.txt")):
        lines.extend(path.read_text(encoding="utf-8").splitlines())
    return lines


def _unigram(lines: list[str], specials: list[str], unk: str) -> list[tuple[str, float]]:
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import Unigram
    from tokenizers.trainers import UnigramTrainer

    tok = Tokenizer(Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = UnigramTrainer(
        vocab_size=VOCAB, special_tokens=specials, unk_token=unk, show_progress=False
    )
    tok.train_from_iterator(lines, trainer=trainer)
    import json

    return [(piece, float(score)) for piece, score in json.loads(tok.to_str())["model"]["vocab"]]


def _wordpiece(lines: list[str]) -> dict[str, int]:
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece
    from tokenizers.trainers import WordPieceTrainer

    tok = Tokenizer(WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = WordPieceTrainer(vocab_size=VOCAB, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(lines, trainer=trainer)
    return tok.get_vocab()


def xlmr_tokenizer(lines):
    from transformers import XLMRobertaTokenizerFast

    vocab = _unigram(lines, ["<s>", "<pad>", "</s>", "<unk>"], "<unk>")
    return XLMRobertaTokenizerFast(vocab=[*vocab, ("<mask>", 0.0)], model_max_length=512)


def bert_tokenizer(lines):
    from transformers import BertTokenizerFast

    return BertTokenizerFast(vocab=_wordpiece(lines), do_lower_case=False, model_max_length=512)


def distilbert_tokenizer(lines):
    """BERT's WordPiece without token_type_ids (DistilBERT has no segment embeddings)."""
    from transformers import DistilBertTokenizerFast

    return DistilBertTokenizerFast(
        vocab=_wordpiece(lines), do_lower_case=False, model_max_length=512
    )


def deberta_tokenizer(lines):
    from transformers import DebertaV2TokenizerFast

    vocab = _unigram(lines, ["[PAD]", "[CLS]", "[SEP]", "[UNK]"], "[UNK]")
    return DebertaV2TokenizerFast(vocab=[*vocab, ("[MASK]", 0.0)], unk_id=3, model_max_length=512)


def rembert_tokenizer(lines):
    from transformers import RemBertTokenizerFast

    vocab = _unigram(lines, ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"], "<unk>")
    return RemBertTokenizerFast(vocab=vocab, model_max_length=512)


def modernbert_tokenizer(lines):
    """Byte-level BPE with [CLS] A [SEP] framing, like ModernBERT's own (no segment ids)."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=8192,
        model_input_names=["input_ids", "attention_mask"],
    )


def _common(tok) -> dict:
    return {"vocab_size": len(tok), "pad_token_id": tok.pad_token_id}


def _xlmr_config(tok, positions: int = POSITIONS):
    from transformers import XLMRobertaConfig

    return XLMRobertaConfig(
        **_common(tok),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        # RoBERTa-style position ids start after padding_idx: positions + pad_token_id + 1 rows.
        max_position_embeddings=positions + tok.pad_token_id + 1,
        type_vocab_size=1,
        bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id,
    )


def _bert_config(tok):
    from transformers import BertConfig

    return BertConfig(
        **_common(tok),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=POSITIONS,
    )


def _distilbert_config(tok):
    from transformers import DistilBertConfig

    return DistilBertConfig(
        **_common(tok),
        dim=HIDDEN,
        n_layers=LAYERS,
        n_heads=HEADS,
        hidden_dim=FFN,
        max_position_embeddings=POSITIONS,
    )


def _electra_config(tok):
    from transformers import ElectraConfig

    return ElectraConfig(
        **_common(tok),
        embedding_size=16,  # != hidden: the masked-LM head must project to it
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=POSITIONS,
    )


def _deberta_config(tok):
    from transformers import DebertaV2Config

    # mDeBERTa-v3's shape: relative attention only, no absolute positions, no segment table.
    return DebertaV2Config(
        **_common(tok),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=POSITIONS,
        relative_attention=True,
        position_biased_input=False,
        pos_att_type=["p2c", "c2p"],
        position_buckets=32,
        max_relative_positions=-1,
        norm_rel_ebd="layer_norm",
        share_att_key=True,
        type_vocab_size=0,
    )


def _rembert_config(tok):
    from transformers import RemBertConfig

    return RemBertConfig(
        **_common(tok),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        input_embedding_size=16,  # decoupled embeddings, smaller than hidden
        output_embedding_size=16,
        intermediate_size=FFN,
        max_position_embeddings=POSITIONS,
    )


def _modernbert_config(tok):
    from transformers import ModernBertConfig

    return ModernBertConfig(
        **_common(tok),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=POSITIONS,
        global_attn_every_n_layers=2,
        local_attention=16,
        cls_token_id=tok.cls_token_id,
        sep_token_id=tok.sep_token_id,
        bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id,
    )


# name -> (tokenizer builder, config builder, model class name)
_SPECS: dict[str, tuple[Callable, Callable, str]] = {
    "xlmr": (xlmr_tokenizer, _xlmr_config, "XLMRobertaModel"),
    "bert": (bert_tokenizer, _bert_config, "BertModel"),
    "distilbert": (distilbert_tokenizer, _distilbert_config, "DistilBertModel"),
    "electra": (bert_tokenizer, _electra_config, "ElectraModel"),
    "deberta-v2": (deberta_tokenizer, _deberta_config, "DebertaV2Model"),
    "rembert": (rembert_tokenizer, _rembert_config, "RemBertModel"),
    "modernbert": (modernbert_tokenizer, _modernbert_config, "ModernBertModel"),
    "xlmr-cls": (xlmr_tokenizer, _xlmr_config, "XLMRobertaForSequenceClassification"),
    "electra-disc": (bert_tokenizer, _electra_config, "ElectraForPreTraining"),
    "distilbert-mlm": (distilbert_tokenizer, _distilbert_config, "DistilBertForMaskedLM"),
    "bert-pretraining": (bert_tokenizer, _bert_config, "BertForPreTraining"),
    "xlmr-64pos": (xlmr_tokenizer, lambda tok: _xlmr_config(tok, positions=64), "XLMRobertaModel"),
}


def build_checkpoint(name: str, out: Path, lines: list[str], seed: int = 0) -> Path:
    """Writes checkpoint ``name`` (config, safetensors weights, tokenizer) into ``out``."""
    import transformers

    make_tokenizer, make_config, class_name = _SPECS[name]
    tokenizer = make_tokenizer(lines)
    config = make_config(tokenizer)
    if class_name.endswith("ForSequenceClassification"):
        config.num_labels = 3
    torch.manual_seed(seed)
    model = getattr(transformers, class_name)(config)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def build_all(root: Path) -> dict[str, Path]:
    """Every checkpoint under ``root``, by name."""
    transformers_logging()
    lines = demo_lines()
    return {name: build_checkpoint(name, root / name, lines) for name in _SPECS}


def transformers_logging() -> None:
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
