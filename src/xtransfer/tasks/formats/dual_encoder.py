"""Dual-encoder retrieval (XTREME-R's LAReQA and Mewsli-X): queries and candidates are embedded
by one shared encoder, and candidates are ranked by cosine.

**Model.** A text is the mean of the encoder's last hidden states over its non-padding tokens,
optionally followed by a linear projection (the catalogue's ``dual_encoder.projection_dim``;
``null`` = no projection). Queries and candidates go through the same encoder and head: in a
training batch of n pairs they are one batch of 2n sequences (queries first).

**Loss.** In-batch softmax: with q_i and c_j the L2-normalised query and candidate embeddings and
s_ij = q_i·c_j / tau (``dual_encoder.temperature``), L = mean_i CE(s_i, target_i), where the
target of query i is its own candidate, spread evenly over every candidate of the batch that is
the same item (the same answer sentence, the same entity): SQuAD asks several questions about
one sentence, and such a duplicate must not be pushed away as a negative.

**Training pairs** are derived from the rows, whatever their source:

* SQuAD-shaped rows (``question``, ``context``, ``answers``; LAReQA's training data is SQuAD
  v1.1): the question, and the sentence of the context that holds the first answer's start
  (the context is split into sentences as in :func:`split_sentences`, or by the row's
  ``sentence_breaks`` when the source has them). Rows without an answer are skipped.
* Mewsli-X rows (``contextual_mention`` + ``entity``, the MentionEntityPair schema): the mention
  in its context (the mention text paired with the context sentence that holds it, or a window
  of ``MENTION_WINDOW`` characters around it) and the entity (title paired with description).

**Evaluation** (``rank_language``, called by the zero-shot evaluator for every language):

* ``kind: answer_sentence`` (LAReQA): the candidate pool is every sentence of every paragraph
  of the test split in *all* the benchmark's languages (built once, embedded once); a question's
  relevant candidates are the answer sentences of the question with the same id in every
  language (XQuAD-R is parallel: up to 11).
* ``kind: entity`` (Mewsli-X): the pool is the task's ``candidates`` split (entity
  descriptions); a mention's relevant candidate is its gold entity id.

The top ``TOP_K`` = 20 candidate ids of each query are written as ``{"<query id>": [ids]}`` and
the gold as ``{"<query id>": [relevant ids]}``: the files ``xtransfer score`` reads and scores by
mAP@20. The search is the blocked k-NN of :mod:`xtransfer.evaluation.retrieval` (no n×m matrix).
"""

from __future__ import annotations

import bisect
import json
import logging
import re
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from xtransfer.errors import UserError
from xtransfer.evaluation.metrics.retrieval_metrics import mean_average_precision_at_k
from xtransfer.evaluation.retrieval import knn, normalize_rows
from xtransfer.tasks.formats.base import TaskFormat, pad_sequences, setting, uses_segments

log = logging.getLogger(__name__)

TOP_K = 20  # mAP@20: only the first 20 ranked ids count
DEFAULT_TEMPERATURE = 0.05
MENTION_WINDOW = 250  # characters each side of a mention when the context has no sentence spans
KINDS = ("answer_sentence", "entity")

# A text to embed: (text, optional second segment).
Text = tuple[str, str | None]

# Sentence ends: ., !, ? followed by whitespace; CJK full stops and the Devanagari danda with or
# without a following space. Good enough for the demo and the Hub's XQuAD-R (which has no
# sentence breaks); the XTREME/LAReQA files carry the official breaks and those are used instead.
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+|[。！？]+|[।॥]\s*")
# Words ending in "." that do not end a sentence: common abbreviations, and words with another
# dot inside (U.S., e.g., the Thai era marker ค.ศ.).
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "vs", "no", "jr", "sr", "prof", "mt", "inc"}


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` character spans of the sentences of ``text`` (whitespace trimmed)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        word = text[:end].rstrip().rsplit(None, 1)[-1] if text[:end].strip() else ""
        core = word.rstrip(".!?\"')]")
        if match.group().lstrip().startswith(".") and (
            core.lower() in _ABBREVIATIONS or "." in core
        ):
            continue
        spans.append((start, end))
        start = end
    if start < len(text):
        spans.append((start, len(text)))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed


def sentence_spans(context: str, breaks: Any = None) -> list[tuple[int, int]]:
    """The source's ``sentence_breaks`` (``[[start, end], ...]``) when given, else split."""
    if breaks:
        return [(int(s), int(e)) for s, e in breaks]
    return split_sentences(context)


def sentence_at(spans: Sequence[tuple[int, int]], position: int) -> int:
    """Index of the sentence holding character ``position`` (a position between two sentences
    belongs to the next one; past the end, to the last)."""
    ends = [e for _, e in spans]
    return min(bisect.bisect_right(ends, position), len(spans) - 1)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` (b, t, h) over the positions where ``mask`` (b, t) is 1."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def in_batch_softmax_loss(
    queries: torch.Tensor, candidates: torch.Tensor, groups: torch.Tensor, temperature: float
) -> torch.Tensor:
    """The in-batch softmax loss of the module docstring; ``groups[j]`` identifies candidate
    j's item (equal groups = the same item)."""
    q = nn.functional.normalize(queries.float(), dim=-1)
    c = nn.functional.normalize(candidates.float(), dim=-1)
    logits = q @ c.T / temperature
    same = (groups[:, None] == groups[None, :]).float()
    return nn.functional.cross_entropy(logits, same / same.sum(dim=1, keepdim=True))


class DualEncoderHead(nn.Module):
    """Masked mean pooling and an optional linear projection."""

    takes_batch = True  # it needs the padding mask of the batch

    def __init__(self, hidden_size: int, projection_dim: int | None):
        super().__init__()
        self.proj = nn.Linear(hidden_size, projection_dim) if projection_dim else nn.Identity()
        # Without a projection the head has no weights; this marker (its output size) makes the
        # checkpoint hold an entry for the head all the same, so loading it finds the head.
        self.register_buffer("output_dim", torch.tensor(projection_dim or hidden_size))

    def forward(self, hidden_states: torch.Tensor, pool_mask: torch.Tensor, **_) -> torch.Tensor:
        return self.proj(mean_pool(hidden_states, pool_mask))


# --- Rows -> texts ---------------------------------------------------------------------------


def _answer_sentence(row: dict) -> str | None:
    """The sentence of a SQuAD-shaped row's context that holds its first answer (None: none)."""
    answers = row.get("answers") or {}
    starts = answers.get("answer_start") if isinstance(answers, dict) else None
    if not starts:
        return None
    context = str(row["context"])
    spans = sentence_spans(context, row.get("sentence_breaks"))
    if not spans:
        return None
    s, e = spans[sentence_at(spans, int(starts[0]))]
    return context[s:e]


def mention_query(row: dict) -> tuple[str, Text, str]:
    """(example id, query text, gold entity id) of a Mewsli-X mention row (a ContextualMention,
    or a MentionEntityPair's ``contextual_mention``)."""
    cm = row.get("contextual_mention") or row
    context, mention = cm.get("context"), cm.get("mention")
    if not isinstance(context, dict) or not isinstance(mention, dict):
        raise UserError("a Mewsli-X row has no context/mention objects")
    text = str(context.get("text") or "")
    span = mention.get("mention_span") or {}
    start, end = int(span.get("start", 0)), int(span.get("end", 0))
    surface = str(span.get("text") or text[start:end])
    window = None
    for sent in context.get("sentence_spans") or []:
        if int(sent["start"]) <= start < int(sent["end"]):
            window = text[int(sent["start"]) : int(sent["end"])]
            break
    if window is None:
        window = text[max(0, start - MENTION_WINDOW) : end + MENTION_WINDOW]
    example_id = str(mention.get("example_id") or f"{start}-{end}")
    return example_id, (surface, window.strip()), str(mention.get("entity_id") or "").strip()


def entity_text(row: dict) -> tuple[str, Text]:
    """(entity id, title + description) of an Entity row (or a pair's ``entity``)."""
    entity = row.get("entity") if isinstance(row.get("entity"), dict) else row
    entity_id = str(entity.get("entity_id") or "").strip()
    if not entity_id:
        raise UserError("a Mewsli-X entity has no entity_id")
    title = str(entity.get("title") or "")
    return entity_id, (title, str(entity.get("description") or ""))


def _tokenize(tokenizer, texts: Sequence[Text], max_length: int, segments: bool) -> list[dict]:
    """Token ids (and segment ids for BERT-style models) of every text, in order; texts with and
    without a second segment are tokenised in two calls (a tokenizer takes one kind at a time)."""
    out: list[dict] = [{} for _ in texts]
    for paired in (False, True):
        idx = [i for i, t in enumerate(texts) if (t[1] is not None) == paired]
        if not idx:
            continue
        first = [texts[i][0] for i in idx]
        second = [texts[i][1] for i in idx] if paired else None
        enc = tokenizer(first, second, truncation=True, max_length=max_length)
        for k, i in enumerate(idx):
            out[i] = {"ids": enc["input_ids"][k]}
            if segments:
                out[i]["types"] = enc["token_type_ids"][k]
    return out


class DualEncoderFormat(TaskFormat):
    name = "dual_encoder_retrieval"
    version = 1

    def __init__(self, task):
        super().__init__(task)
        conf = dict(task.raw.get("dual_encoder") or {})
        self.kind = conf.get("kind")
        if self.kind not in KINDS:
            raise UserError(
                f"task {task.name}: dual_encoder.kind must be one of {', '.join(KINDS)}, "
                f"got {self.kind!r}"
            )
        temperature = conf.get("temperature", DEFAULT_TEMPERATURE)
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise UserError(f"task {task.name}: dual_encoder.temperature must be a number")
        if not temperature > 0:
            raise UserError(f"task {task.name}: dual_encoder.temperature must be > 0")
        dim = conf.get("projection_dim")
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
            raise UserError(f"task {task.name}: dual_encoder.projection_dim must be null or > 0")
        self.temperature = float(temperature)
        self.projection_dim: int | None = dim
        self.candidate_split = str(conf.get("candidate_split", "candidates"))

    # --- training --------------------------------------------------------------------------

    def pairs(self, rows: Sequence[dict]) -> list[tuple[int, Text, Text, str]]:
        """(row index, query, candidate, item key) of every row that yields a training pair."""
        out = []
        for i, row in enumerate(rows):
            if "question" in row and "context" in row:
                sentence = _answer_sentence(row)
                if sentence is not None:
                    out.append((i, (str(row["question"]), None), (sentence, None), sentence))
            elif "contextual_mention" in row and "entity" in row:
                _, query, _ = mention_query(row)
                entity_id, candidate = entity_text(row)
                out.append((i, query, candidate, entity_id))
            else:
                raise UserError(
                    f"task {self.task.name}: row {i + 1} is neither a SQuAD-style question "
                    "(question, context, answers) nor a Mewsli-X mention-entity pair "
                    "(contextual_mention, entity)"
                )
        if not out and rows:
            raise UserError(f"task {self.task.name}: no row yields a query-candidate pair")
        return out

    def featurize(self, rows, tokenizer, max_length):
        pairs = self.pairs(rows)
        segments = uses_segments(tokenizer)
        queries = _tokenize(tokenizer, [p[1] for p in pairs], max_length, segments)
        candidates = _tokenize(tokenizer, [p[2] for p in pairs], max_length, segments)
        groups: dict[str, int] = {}
        features = []
        for (index, _, _, key), q, c in zip(pairs, queries, candidates, strict=True):
            feature = {
                "input_ids": q["ids"],
                "candidate_ids": c["ids"],
                "group": groups.setdefault(key, len(groups)),
                "example_index": index,
            }
            if segments:
                feature["token_type_ids"] = q["types"]
                feature["candidate_type_ids"] = c["types"]
            features.append(feature)
        return features

    def feature_length(self, feature: dict) -> int:
        return max(len(feature["input_ids"]), len(feature["candidate_ids"]))

    def collate(self, features, pad_id):
        seqs = [f["input_ids"] for f in features] + [f["candidate_ids"] for f in features]
        input_ids = pad_sequences(seqs, pad_id)
        lengths = torch.tensor([len(s) for s in seqs])
        mask = (torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]).long()
        batch = {
            "input_ids": input_ids,
            "attention_mask": mask,
            "pool_mask": mask,
            "groups": torch.tensor([f["group"] for f in features], dtype=torch.long),
        }
        if "token_type_ids" in features[0]:
            types = [f["token_type_ids"] for f in features]
            types += [f["candidate_type_ids"] for f in features]
            batch["token_type_ids"] = pad_sequences(types, 0)
        return batch

    def make_head(self, hidden_size, dropout):
        return DualEncoderHead(hidden_size, self.projection_dim)

    def head_signature(self) -> dict[str, Any]:
        # Task-specific (never carried to or from another task); the temperature is here so
        # that it is part of the phase key.
        return {
            "format": self.name,
            "task": self.task.name,
            "projection_dim": self.projection_dim,
            "temperature": self.temperature,
        }

    def loss(self, outputs, batch):
        n = outputs.shape[0] // 2
        return in_batch_softmax_loss(outputs[:n], outputs[n:], batch["groups"], self.temperature)

    def decode(self, outputs):
        n = outputs.shape[0] // 2
        return [(outputs[i].tolist(), outputs[n + i].tolist()) for i in range(n)]

    def finalize(self, rows, features, feature_predictions):
        out: list[Any] = [None] * len(rows)
        for feature, (q, c) in zip(features, feature_predictions, strict=True):
            out[feature["example_index"]] = {"query": q, "candidate": c, "group": feature["group"]}
        return out

    def dev_score(self, rows: Sequence[dict], predictions: Sequence[Any]) -> float:
        """mAP@20 (= MRR@20 with one relevant item) of every dev query against the dev pool
        (one candidate per distinct item), 0-100."""
        preds = [p for p in predictions if p is not None]
        if not preds:
            return 0.0
        pool: dict[int, list[float]] = {}
        for p in preds:
            pool.setdefault(p["group"], p["candidate"])
        keys = list(pool)
        _, idx = knn(
            normalize_rows(np.asarray([p["query"] for p in preds], np.float32)),
            normalize_rows(np.asarray([pool[k] for k in keys], np.float32)),
            TOP_K,
        )
        gold = {str(i): [str(p["group"])] for i, p in enumerate(preds)}
        ranked = {str(i): [str(keys[j]) for j in row] for i, row in enumerate(idx)}
        return 100.0 * mean_average_precision_at_k(gold, ranked, TOP_K)

    # --- evaluation ------------------------------------------------------------------------

    @torch.no_grad()
    def encode(
        self,
        model: nn.Module,
        tokenizer,
        texts: Sequence[Text],
        max_length: int,
        batch_size: int,
        accelerator=None,
    ) -> np.ndarray:
        """L2-normalised ``(len(texts), dim)`` embeddings (encoder + this task's head), in order;
        batches are length-sorted and padded to their own longest text."""
        head = model.heads[self.task.name]
        encoder = model.encoder
        device = next(encoder.parameters()).device
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        segments = uses_segments(tokenizer)
        tokens = _tokenize(tokenizer, texts, max_length, segments)
        order = sorted(range(len(tokens)), key=lambda i: -len(tokens[i]["ids"]))
        out: np.ndarray | None = None
        was_training = model.training
        model.eval()
        try:
            for b in range(0, len(order), batch_size):
                idx = order[b : b + batch_size]
                seqs = [tokens[i]["ids"] for i in idx]
                ids = pad_sequences(seqs, pad_id)
                lengths = torch.tensor([len(s) for s in seqs])
                mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).long()
                extra = {}
                if segments:
                    extra["token_type_ids"] = pad_sequences(
                        [tokens[i]["types"] for i in idx], 0
                    ).to(device)
                # A fresh autocast context per batch (a context manager is entered once).
                with accelerator.autocast() if accelerator is not None else nullcontext():
                    hidden = encoder(
                        input_ids=ids.to(device), attention_mask=mask.to(device), **extra
                    ).last_hidden_state
                    emb = head(hidden, pool_mask=mask.to(device))
                emb = emb.float().cpu().numpy()
                if out is None:
                    out = np.zeros((len(texts), emb.shape[1]), np.float32)
                out[idx] = emb
        finally:
            model.train(was_training)
        if out is None:
            return np.zeros((0, 1), np.float32)
        return normalize_rows(out)

    def _answer_sentence_pool(
        self, load: Callable[[str, str], list[dict]], split: str, languages: Sequence[str]
    ) -> tuple[list[str], list[Text], dict[str, list[str]]]:
        """Every sentence of every paragraph of ``split`` in every language, with the relevant
        candidate ids of each question id (its answer sentence in every language)."""
        ids: list[str] = []
        texts: list[Text] = []
        relevant: dict[str, list[str]] = {}
        for lang in languages:
            paragraphs: dict[str, list[str]] = {}  # context -> candidate ids of its sentences
            for row in load(split, lang):
                context = str(row["context"])
                spans = sentence_spans(context, row.get("sentence_breaks"))
                if context not in paragraphs:
                    p = len(paragraphs)
                    paragraphs[context] = [f"{lang}-{p}-{s}" for s in range(len(spans))]
                    ids.extend(paragraphs[context])
                    texts.extend((context[s:e], None) for s, e in spans)
                starts = (row.get("answers") or {}).get("answer_start") or []
                if starts and spans:
                    answer = paragraphs[context][sentence_at(spans, int(starts[0]))]
                    relevant.setdefault(str(row["id"]), []).append(answer)
        return ids, texts, relevant

    def _entity_pool(
        self, load: Callable[[str, str], list[dict]], lang: str
    ) -> tuple[list[str], list[Text], dict[str, list[str]]]:
        ids: list[str] = []
        texts: list[Text] = []
        for row in load(self.candidate_split, lang):
            entity_id, text = entity_text(row)
            ids.append(entity_id)
            texts.append(text)
        return ids, texts, {}

    def predict_language(self, model, tokenizer, rows, lang, ctx) -> list[list[str]]:
        """Queries ranked against the candidate pool shared by the evaluation's languages."""
        return self.rank_language(
            model,
            tokenizer,
            rows,
            lang,
            ctx.settings,
            ctx.accelerator,
            ctx.batch_size,
            load=ctx.load,
            languages=ctx.languages,
            pools=ctx.cache,
        )

    def rank_language(
        self,
        model: nn.Module,
        tokenizer,
        rows: list[dict],
        lang: str,
        settings: Any,
        accelerator,
        batch_size: int,
        load: Callable[[str, str], list[dict]],
        languages: Sequence[str],
        pools: dict[Any, Any] | None = None,
    ) -> list[list[str]]:
        """The top-20 candidate ids of every row's query. Each row gets its query id
        (``row["query_id"]``) and relevant candidate ids (``row["relevant"]``), which
        :meth:`write_labels` writes. ``pools`` keeps the candidate embeddings between the
        languages of one evaluation (LAReQA's pool serves every language); the evaluator passes
        its per-evaluation ``LanguageContext.cache``, so a pool never outlives an evaluation."""
        pools = {} if pools is None else pools
        max_length = int(setting(settings, "max_length", 128))
        split = str(setting(settings, "test_split", "test"))
        if self.kind == "answer_sentence":
            key: Any = ("dual_encoder_pool", "answer_sentence", split, tuple(languages))
        else:
            key = ("dual_encoder_pool", "entity", self.candidate_split)
        if key not in pools:
            for old in [k for k in pools if k[:1] == ("dual_encoder_pool",)]:
                del pools[old]  # one pool at a time: memory stays bounded
            if self.kind == "answer_sentence":
                ids, texts, relevant = self._answer_sentence_pool(load, split, languages)
            else:
                ids, texts, relevant = self._entity_pool(load, lang)
            if not ids:
                raise UserError(f"task {self.task.name}: the candidate pool is empty")
            emb = self.encode(model, tokenizer, texts, max_length, batch_size, accelerator)
            pools[key] = (ids, emb, relevant)
        ids, pool, relevant = pools[key]
        queries: list[Text] = []
        for row in rows:
            if self.kind == "answer_sentence":
                row["query_id"] = str(row["id"])
                row["relevant"] = list(relevant.get(row["query_id"], []))
                queries.append((str(row["question"]), None))
            else:
                example_id, query, gold = mention_query(row)
                if not gold:
                    raise UserError(
                        f"task {self.task.name} ({lang}): mention {example_id} has no gold "
                        "entity id (XTREME's download blanks the test entity ids; score the "
                        "wikinews dev mentions with target.test_split=wikinews_dev, or use "
                        "data=hub)"
                    )
                row["query_id"], row["relevant"] = example_id, [gold]
                queries.append(query)
        q = self.encode(model, tokenizer, queries, max_length, batch_size, accelerator)
        _, idx = knn(q, pool, TOP_K)
        return [[ids[j] for j in row] for row in idx]

    def write_predictions(self, path: Path, rows, predictions) -> None:
        if len(predictions) != len(rows):
            raise ValueError(f"{len(predictions)} predictions for {len(rows)} rows")
        ranked = {row["query_id"]: list(p) for row, p in zip(rows, predictions, strict=True)}
        path.write_text(json.dumps(ranked, ensure_ascii=False), encoding="utf-8")

    def write_labels(self, path: Path, rows) -> None:
        gold = {row["query_id"]: row["relevant"] for row in rows if row.get("relevant")}
        skipped = sum(1 for row in rows if not row.get("relevant"))
        if skipped:
            # e.g. an XQuAD-R question whose answer sentence could not be located
            log.warning("%s: %d queries without a relevant candidate are not scored", path, skipped)
        if not gold:
            raise UserError(f"task {self.task.name}: no query has a relevant candidate ({path})")
        path.write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
