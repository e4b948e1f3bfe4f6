"""Encoder-only retrieval targets: Tatoeba (sentence retrieval) and BUCC 2018 (bitext mining).

XTREME trains nothing for these: the encoder of the last phase is scored directly. A sentence is
the mean of one layer's hidden states over its non-padding tokens (special tokens included, as
in XTREME's ``run_retrieval.py``); similarity is cosine. The layer is ``target.retrieval_layer``
(``hidden_states[0]`` = embeddings, ``hidden_states[i]`` = output of layer *i*; the paper uses
14 of XLM-R Large's 24). The search itself lives in :mod:`xtransfer.evaluation.retrieval`.

Rows (canonical columns of the catalogue): ``source`` (non-English), ``target`` (English),
``source_lang``, ``target_lang``.

* **Tatoeba**: a row is one translation pair. As in XTREME, every English sentence queries the
  non-English sentences, and the prediction is the 0-based index of the nearest one. Files are
  written in XTREME's order, i.e. one line per English sentence sorted by Python string order
  (stripped, stable sort), and the label of that line is the sentence's original row index. So
  the label file equals the one rebuilt from the LASER files for the official scorer, and the
  prediction file is a valid XTREME submission. Accuracy does not depend on that order.
* **BUCC**: the rows of a split describe two corpora: a row with both sides is a gold pair, a
  row with one side ``""`` a sentence without translation (the Hub configs hold gold pairs only,
  so there the corpora are just the gold sentences: a documented limitation, see the catalogue).
  A side may carry its BUCC id in-band as ``id<TAB>sentence`` (the file readers do); otherwise
  ids are made up from the row number (``de-000000007``). Candidates come from ratio-margin k-NN
  mining (k = 4, ``max`` mode); the threshold maximising F1 on the *dev* gold (the
  ``validation`` split) is applied to the test candidates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from xtransfer.data.tatoeba import BUCC_ID
from xtransfer.errors import UserError
from xtransfer.evaluation.retrieval import (
    bucc_candidates,
    extract_pairs,
    nearest_neighbors,
    optimize_threshold,
)
from xtransfer.tasks.formats.base import TaskFormat, setting

log = logging.getLogger(__name__)

# Sentences tokenised at once: length-sorting happens inside such a chunk, so memory stays
# bounded on BUCC-sized corpora (hundreds of thousands of sentences) while padding stays low.
TOKENIZE_CHUNK = 8192
DEFAULT_BATCH_SIZE = 64
# Progress bars only where embedding takes a while (real corpora, not the 30-pair demo files,
# whose languages already tick in the evaluator's own bar).
PROGRESS_MIN_SENTENCES = 5000
PAPER_LAYER, PAPER_DEPTH = 14, 24  # XLM-R Large in the paper: layer 14 of 24


def encoder_depth(encoder: nn.Module) -> int:
    """Number of transformer layers (``hidden_states`` has one more entry: the embeddings)."""
    depth = getattr(getattr(encoder, "config", None), "num_hidden_layers", None)
    if depth is None:
        raise UserError("the encoder's config does not say how many layers it has")
    return int(depth)


def relative_depth_layer(depth: int) -> int:
    """The paper's layer at the same relative depth in a model of ``depth`` layers:
    ``depth * 14 / 24`` rounded half up, at least 1 (24 -> 14, 12 -> 7, 6 -> 4, 2 -> 1)."""
    return max(1, (depth * PAPER_LAYER * 2 + PAPER_DEPTH) // (2 * PAPER_DEPTH))


def resolve_layer(layer: Any, depth: int) -> int:
    """Validates ``retrieval_layer`` against a model of ``depth`` layers (``auto``: the paper's
    relative depth); never clips silently, since a score from another layer than asked for
    would be mislabelled."""
    suggestion = relative_depth_layer(depth)
    if str(layer) == "auto":
        return suggestion
    hint = (
        f"hidden_states[0] is the embedding output and 1..{depth} the layer outputs; "
        f"choose 0..{depth}, e.g. target.retrieval_layer={suggestion} "
        f"(the paper's relative depth, layer {PAPER_LAYER} of {PAPER_DEPTH})"
    )
    if isinstance(layer, bool) or not isinstance(layer, int | np.integer):
        try:
            layer = int(str(layer))
        except ValueError:
            raise UserError(f"target.retrieval_layer={layer!r} is not an integer; {hint}") from None
    if not 0 <= int(layer) <= depth:
        raise UserError(
            f"target.retrieval_layer={layer} is out of range: the model has {depth} layers; {hint}"
        )
    return int(layer)


def embed_sentences(
    encoder: nn.Module,
    tokenizer,
    texts: Sequence[str],
    *,
    layer: int,
    max_length: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    accelerator=None,
    desc: str | None = None,
) -> np.ndarray:
    """``(len(texts), hidden)`` float32 sentence embeddings: hidden state ``layer`` mean-pooled
    over the non-padding tokens. Batches are length-sorted and padded to their own longest
    sentence; the result is in input order."""
    depth = encoder_depth(encoder)
    layer = resolve_layer(layer, depth)
    hidden = int(encoder.config.hidden_size)
    out = np.zeros((len(texts), hidden), dtype=np.float32)
    if not texts:
        return out
    device = next(encoder.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    main = accelerator is None or accelerator.is_main_process
    was_training = encoder.training
    encoder.eval()  # dropout off: embeddings must be deterministic
    show = main and desc is not None and len(texts) >= PROGRESS_MIN_SENTENCES
    progress = tqdm(total=len(texts), desc=desc, unit="sent", leave=False, disable=not show)
    try:
        with torch.no_grad():
            for start in range(0, len(texts), TOKENIZE_CHUNK):
                chunk = [str(t) for t in texts[start : start + TOKENIZE_CHUNK]]
                ids = tokenizer(chunk, truncation=True, max_length=max_length)["input_ids"]
                order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
                for b in range(0, len(order), batch_size):
                    batch_idx = order[b : b + batch_size]
                    input_ids, mask = _pad_batch([ids[i] for i in batch_idx], pad_id)
                    pooled = _pooled_batch(
                        encoder, input_ids.to(device), mask.to(device), layer, depth, accelerator
                    )
                    out[[start + i for i in batch_idx]] = pooled
                    progress.update(len(batch_idx))
    finally:
        progress.close()
        encoder.train(was_training)
    return out


def _pad_batch(seqs: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and their attention mask, built in one vectorised step (a per-row copy
    costs more than the tiny model's forward pass). The mask comes from the lengths, not from
    ``pad_id``, so a real token equal to the pad id would still count."""
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    mask = np.arange(int(lengths.max()))[None, :] < lengths[:, None]
    ids = np.full(mask.shape, pad_id, dtype=np.int64)
    # Boolean-mask assignment fills row by row, i.e. in the order of the concatenated rows.
    ids[mask] = np.fromiter(chain.from_iterable(seqs), dtype=np.int64, count=int(lengths.sum()))
    return torch.from_numpy(ids), torch.from_numpy(mask.astype(np.int64))


class _StopForward(Exception):
    """Raised by a forward hook to end the forward pass once the wanted layer has run."""

    def __init__(self, hidden: torch.Tensor):
        super().__init__()
        self.hidden = hidden


def _layer_module(encoder: nn.Module, layer: int, depth: int) -> nn.Module | None:
    """The module whose output is ``hidden_states[layer]`` in BERT-style encoders (XLM-R,
    RoBERTa, mBERT): ``embeddings`` for 0, ``encoder.layer[layer - 1]`` otherwise. None where
    that is not certain (other architectures, or the last layer, which some models normalise
    once more), and the full forward pass is used instead."""
    if layer >= depth:
        return None
    if layer == 0:
        return getattr(encoder, "embeddings", None)
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if isinstance(layers, nn.ModuleList) and len(layers) == depth:
        return layers[layer - 1]
    return None


def _hidden_state(
    encoder: nn.Module, input_ids: torch.Tensor, mask: torch.Tensor, layer: int, depth: int
) -> torch.Tensor:
    """``hidden_states[layer]`` of the batch. The layers above ``layer`` are not run: with the
    paper's layer 14 of 24 that saves 40 % of the compute on BUCC-sized corpora."""
    module = _layer_module(encoder, layer, depth)
    if module is None:
        outputs = encoder(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
        return outputs.hidden_states[layer]

    def stop(_module, _inputs, output):
        raise _StopForward(output[0] if isinstance(output, tuple) else output)

    handle = module.register_forward_hook(stop)
    try:
        encoder(input_ids=input_ids, attention_mask=mask)
    except _StopForward as stopped:
        return stopped.hidden
    finally:
        handle.remove()
    raise RuntimeError(f"the forward pass never reached layer {layer}")


def _pooled_batch(
    encoder: nn.Module,
    input_ids: torch.Tensor,
    mask: torch.Tensor,
    layer: int,
    depth: int,
    accelerator,
) -> np.ndarray:
    autocast = accelerator.autocast() if accelerator is not None else nullcontext()
    with autocast:
        states = _hidden_state(encoder, input_ids, mask, layer, depth).float()
    weights = mask.unsqueeze(-1).to(states.dtype)
    pooled = (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
    return pooled.cpu().numpy().astype(np.float32, copy=False)


def _embed_from_settings(
    encoder: nn.Module, tokenizer, texts: Sequence[str], settings: Any, accelerator, desc: str
) -> np.ndarray:
    return embed_sentences(
        encoder,
        tokenizer,
        texts,
        layer=setting(settings, "retrieval_layer", PAPER_LAYER),
        max_length=int(setting(settings, "max_length", 128)),
        batch_size=int(setting(settings, "batch_size", DEFAULT_BATCH_SIZE)),
        accelerator=accelerator,
        desc=desc,
    )


class _EncoderOnlyFormat(TaskFormat):
    """Shared parts of the formats scored from the encoder alone (no head, loss or decoding)."""

    trainable: ClassVar[bool] = False

    def head_signature(self) -> dict[str, Any]:
        return {"format": self.name}

    def featurize(self, rows, tokenizer, max_length):
        raise UserError(
            f"task {self.task.name!r} ({self.name}) is scored from the encoder alone and cannot "
            "be trained; use it as a target without `train`"
        )

    def predict_language(self, model, tokenizer, rows, lang, ctx) -> list[Any]:
        """Scored from the encoder alone (no head): the rows' own predictions, with the
        language's other splits at hand (BUCC's dev gold chooses the threshold)."""
        return self.predict_rows(
            model.encoder,
            tokenizer,
            rows,
            ctx.settings,
            ctx.accelerator,
            load_split=lambda split: ctx.load(split, lang),
        )


def english_order(targets: Sequence[str]) -> list[int]:
    """Row indices in XTREME's order of the English side: stripped, Python string order, stable
    (``utils_preprocess.py`` sorts ``{L}-en.en`` this way)."""
    return sorted(range(len(targets)), key=lambda i: str(targets[i]).strip())


class RetrievalFormat(_EncoderOnlyFormat):
    """Tatoeba: for each English sentence, the nearest non-English sentence by cosine."""

    name = "retrieval"
    version = 1

    def predict_rows(
        self,
        encoder: nn.Module,
        tokenizer,
        rows: Sequence[dict],
        settings: Any,
        accelerator,
        load_split: Callable[[str], list[dict]] | None = None,
    ) -> list[int]:
        """Per row: the index (into ``rows``) of the source sentence nearest to its English."""
        if not rows:
            return []
        lang = rows[0].get("source_lang", "")
        sources = _embed_from_settings(
            encoder, tokenizer, [r["source"] for r in rows], settings, accelerator, f"{lang} side"
        )
        english = _embed_from_settings(
            encoder, tokenizer, [r["target"] for r in rows], settings, accelerator, "en side"
        )
        return [int(i) for i in nearest_neighbors(english, sources)]

    def write_predictions(self, path: Path, rows: Sequence[dict], predictions: Sequence[Any]):
        if len(predictions) != len(rows):
            raise ValueError(f"{len(predictions)} predictions for {len(rows)} rows")
        order = english_order([r["target"] for r in rows])
        _write_lines(path, [str(int(predictions[i])) for i in order])

    def write_labels(self, path: Path, rows: Sequence[dict]) -> None:
        # The gold of English line k (in sorted order) is its own row index: the sides are
        # line-aligned.
        _write_lines(path, [str(i) for i in english_order([r["target"] for r in rows])])


@dataclass
class BitextCorpora:
    """One BUCC split as mining input: both corpora with ids, and the gold pairs."""

    source_ids: list[str]
    source_texts: list[str]
    target_ids: list[str]
    target_texts: list[str]
    gold: list[tuple[str, str]]


def _split_id(value: Any) -> tuple[str | None, str]:
    """``"de-000413461<TAB>text"`` -> (id, text); a plain sentence -> (None, text)."""
    text = "" if value is None else str(value)
    ident, tab, rest = text.partition("\t")
    if tab and BUCC_ID.match(ident):
        return ident, rest
    return None, text


def bitext_corpora(rows: Sequence[dict]) -> BitextCorpora:
    """The corpora and gold of a split's rows (see the module docstring); an id seen twice is one
    sentence (a sentence can be in several gold pairs)."""
    corpora = BitextCorpora([], [], [], [], [])
    seen_src: set[str] = set()
    seen_trg: set[str] = set()
    for row_no, row in enumerate(rows):
        src_lang = str(row.get("source_lang") or "src")
        trg_lang = str(row.get("target_lang") or "en")
        sid, stext = _split_id(row.get("source"))
        tid, ttext = _split_id(row.get("target"))
        has_src, has_trg = bool(stext.strip()), bool(ttext.strip())
        # google/xtreme bucc18 rows hold the BUCC ids in their *_lang columns (mapped to
        # source_id / target_id by the catalogue's hub entry).
        sid = sid or (str(row["source_id"]) if row.get("source_id") else f"{src_lang}-{row_no:09d}")
        tid = tid or (str(row["target_id"]) if row.get("target_id") else f"{trg_lang}-{row_no:09d}")
        if has_src and sid not in seen_src:
            seen_src.add(sid)
            corpora.source_ids.append(sid)
            corpora.source_texts.append(stext)
        if has_trg and tid not in seen_trg:
            seen_trg.add(tid)
            corpora.target_ids.append(tid)
            corpora.target_texts.append(ttext)
        if has_src and has_trg:
            corpora.gold.append((sid, tid))
    return corpora


class BitextMiningFormat(_EncoderOnlyFormat):
    """BUCC 2018: margin-based mining, threshold from the dev gold, predictions = id pairs."""

    name = "bitext_mining"
    version = 1

    def __init__(self, task):
        super().__init__(task)
        # The dev-chosen threshold of the last predict_rows call (reported in the run log).
        self.last_threshold: float | None = None

    def _candidates(
        self, corpora: BitextCorpora, encoder, tokenizer, settings, accelerator, what: str
    ) -> dict[tuple[Hashable, Hashable], float]:
        src = _embed_from_settings(
            encoder, tokenizer, corpora.source_texts, settings, accelerator, f"{what} source"
        )
        trg = _embed_from_settings(
            encoder, tokenizer, corpora.target_texts, settings, accelerator, f"{what} target"
        )
        return bucc_candidates(
            corpora.source_ids,
            src,
            corpora.target_ids,
            trg,
            source_texts=corpora.source_texts,
            target_texts=corpora.target_texts,
            k=int(setting(settings, "mining_k", 4)),
            mode=str(setting(settings, "mining_mode", "max")),
            margin=str(setting(settings, "margin", "ratio")),
        )

    def predict_rows(
        self,
        encoder: nn.Module,
        tokenizer,
        rows: Sequence[dict],
        settings: Any,
        accelerator,
        load_split: Callable[[str], list[dict]] | None = None,
    ) -> list[tuple[str, str]]:
        """The mined test pairs ``(source_id, target_id)``, best first."""
        if load_split is None:
            raise UserError("BUCC needs its dev split to choose the mining threshold")
        dev_split = str(setting(settings, "threshold_split", "validation"))
        dev = bitext_corpora(load_split(dev_split))
        if not dev.gold:
            raise UserError(
                f"the {dev_split!r} split of {self.task.name!r} has no gold pairs: the mining "
                "threshold cannot be chosen"
            )
        dev_candidates = self._candidates(dev, encoder, tokenizer, settings, accelerator, "dev")
        threshold = optimize_threshold(dev_candidates, dev.gold)
        self.last_threshold = threshold
        test_candidates = self._candidates(
            bitext_corpora(rows), encoder, tokenizer, settings, accelerator, "test"
        )
        pairs = extract_pairs(test_candidates, threshold)
        log.info(
            "%s: threshold %.6f from %d dev gold pairs; %d test pairs mined",
            self.task.name,
            threshold,
            len(dev.gold),
            len(pairs),
        )
        return [(str(s), str(t)) for s, t in pairs]

    def write_predictions(self, path: Path, rows: Sequence[dict], predictions: Sequence[Any]):
        _write_lines(path, [f"{s}\t{t}" for s, t in predictions])

    def write_labels(self, path: Path, rows: Sequence[dict]) -> None:
        gold = list(dict.fromkeys(bitext_corpora(rows).gold))  # unique, in row order
        _write_lines(path, [f"{s}\t{t}" for s, t in gold])


def _write_lines(path: Path, lines: Sequence[str]) -> None:
    """One entry per line, ``\\n``-terminated, no trailing empty line (the official scorer counts
    an empty line as an entry)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(f"{line}\n" for line in lines)
