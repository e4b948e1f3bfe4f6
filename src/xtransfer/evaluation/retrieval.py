"""Embedding-based retrieval for BUCC bitext mining and Tatoeba (numpy; faiss for large sets).

Functional API: embeddings go in as ``(n, d)`` float arrays (converted to float32), indices or ids
come out. Similarity is cosine: rows are L2-normalised here (an all-zero row stays zero, i.e.
similarity 0 to everything). Nothing here builds an ``n x m`` matrix for large inputs: queries
are processed in chunks whose similarity block stays under ``block_bytes``, and above
``faiss_min_pairs`` query/database pairs the exact flat inner-product index of faiss is used.

Semantics follow XTREME's ``third_party/utils_retrieve.py`` (itself from LASER) where it works:

* **k-NN** (:func:`knn`): the ``min(k, m)`` most similar database rows per query, best first.
  Ties are broken by the lower database index in the numpy path (faiss does not promise an order
  among equal scores).
* **Ratio margin** (:func:`mine_pairs`): with ``k = 4`` and ``fwd_mean[x]`` / ``bwd_mean[y]`` the
  mean similarity of x to its k nearest targets / of y to its k nearest sources,
  ``score(x, y) = cos(x, y) / ((fwd_mean[x] + bwd_mean[y]) / 2)``, i.e. cos divided by
  (sum of x's k-NN similarities)/(2k) + (sum of y's k-NN similarities)/(2k). ``distance``
  (cos - that mean) and ``absolute`` (cos) margins are also available.
* **Candidates**: forward, each source's best-scoring target among its k nearest; backward, each
  target's best-scoring source among its k nearest. Modes: ``fwd``, ``bwd``, ``intersect``
  (pairs found in both directions) and ``max`` (the official default: all forward and backward
  candidates sorted by score, taken greedily so that every source and every target is used at
  most once). The official ``fwd`` and ``bwd`` modes crash (they skip the k-NN pass whose means
  the margin needs); here they compute both passes and return one direction's candidates.
  Equal scores are ordered deterministically (forward before backward, then by index) instead of
  by an unstable sort. Only pairs scoring above ``threshold`` (default 0) are returned; the
  official miner applies that threshold in ``max`` mode only, here it applies in every mode.
* **BUCC ids** (:func:`bucc_candidates`): identical sentences are mined once (one embedding per
  distinct text); a text that occurs under several ids is ambiguous and, as in the official
  evaluation, yields no candidate.
* **Threshold** (:func:`optimize_threshold`): the candidate-score threshold that maximises F1
  against the dev gold; applied to test with ``score >= threshold`` (:func:`extract_pairs`). The
  official search crashes when the best F1 is reached at the last candidate and can pick a cut
  between two equal scores; here cuts are only placed between distinct scores and the last
  candidate's own score is a valid threshold.
* **Tatoeba** (:func:`nearest_neighbors`): for each query the single most similar database row
  by cosine, ties to the lower index.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Literal, NamedTuple

import numpy as np

Mode = Literal["max", "fwd", "bwd", "intersect"]
Margin = Literal["ratio", "distance", "absolute"]
Backend = Literal["auto", "numpy", "faiss"]

BLOCK_BYTES = 128 * 1024 * 1024
FAISS_MIN_PAIRS = 200_000_000


def as_embeddings(x: np.ndarray, name: str = "embeddings") -> np.ndarray:
    """``x`` as a C-contiguous 2-D float32 array; rejects other shapes and non-finite values."""
    arr = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, dim), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return arr


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """A float32 copy of ``x`` with unit-length rows; all-zero rows stay zero."""
    arr = as_embeddings(x).copy()
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    np.divide(arr, norms, out=arr, where=norms > 0)
    return arr


def _chunk_rows(n_database: int, block_bytes: int) -> int:
    # Several temporaries of the block's shape live at once (float32 similarities, a partitioned
    # copy, a mask, int64 orderings): budget 32 bytes per similarity.
    return max(1, block_bytes // (32 * max(1, n_database)))


def _topk_block(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of every row of ``sims``, best first, ties to the lower column."""
    rows_n, m = sims.shape
    if k == m:
        order = np.argsort(-sims, axis=1, kind="stable")
        return np.take_along_axis(sims, order, axis=1), order
    # Every entry at least as large as the row's k-th largest value is a candidate; ties at the
    # boundary can make that more than k, so sort the candidates and keep k per row.
    kth = np.partition(sims, m - k, axis=1)[:, m - k : m - k + 1]
    rows, cols = np.nonzero(sims >= kth)
    vals = sims[rows, cols]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(rows_n))
    keep = (np.arange(rows.size) - starts[rows]) < k
    return vals[keep].reshape(rows_n, k), cols[keep].reshape(rows_n, k)


def knn(
    queries: np.ndarray,
    database: np.ndarray,
    k: int,
    *,
    backend: Backend = "auto",
    block_bytes: int = BLOCK_BYTES,
    faiss_min_pairs: int = FAISS_MIN_PAIRS,
) -> tuple[np.ndarray, np.ndarray]:
    """Inner-product k-NN: ``(similarities, indices)``, both ``(n_queries, min(k, m))``.

    Pass L2-normalised rows for cosine. ``backend="auto"`` uses faiss (exact flat index) when
    ``n * m >= faiss_min_pairs``, numpy otherwise.
    """
    q = as_embeddings(queries, "queries")
    db = as_embeddings(database, "database")
    if q.shape[1] != db.shape[1]:
        raise ValueError(f"dimension mismatch: queries {q.shape[1]}, database {db.shape[1]}")
    if k < 1:
        raise ValueError("k must be at least 1")
    n, m = q.shape[0], db.shape[0]
    k = min(k, m)
    if n == 0 or m == 0:
        return np.zeros((n, k), np.float32), np.zeros((n, k), np.int64)
    use_faiss = backend == "faiss" or (backend == "auto" and n * m >= faiss_min_pairs)
    if use_faiss:
        import faiss  # deferred: only large searches pay for importing it

        index = faiss.IndexFlatIP(db.shape[1])
        index.add(db)
        sims_out = np.empty((n, k), np.float32)
        ind_out = np.empty((n, k), np.int64)
        step = max(1, min(n, 65536))
        for start in range(0, n, step):
            s, i = index.search(q[start : start + step], k)
            sims_out[start : start + step], ind_out[start : start + step] = s, i
        return sims_out, ind_out
    step = _chunk_rows(m, block_bytes)
    sims_parts, ind_parts = [], []
    for start in range(0, n, step):
        block = q[start : start + step] @ db.T
        s, i = _topk_block(block, k)
        sims_parts.append(s)
        ind_parts.append(i.astype(np.int64))
    return np.concatenate(sims_parts), np.concatenate(ind_parts)


def nearest_neighbors(
    queries: np.ndarray, database: np.ndarray, *, block_bytes: int = BLOCK_BYTES
) -> np.ndarray:
    """For each query row, the index of the database row with the highest cosine similarity.

    This is Tatoeba's retrieval: queries are the (sorted) English sentences, the database the
    other language's sentences, and the result is the prediction file's integer per line. Ties
    (e.g. duplicate database sentences) go to the lower index.
    """
    q = normalize_rows(queries)
    db = normalize_rows(database)
    if q.shape[1] != db.shape[1]:
        raise ValueError(f"dimension mismatch: queries {q.shape[1]}, database {db.shape[1]}")
    if db.shape[0] == 0:
        raise ValueError("empty database")
    out = np.empty(q.shape[0], np.int64)
    step = _chunk_rows(db.shape[0], block_bytes)
    for start in range(0, q.shape[0], step):
        # argmax returns the first maximum, i.e. the lowest index among ties.
        out[start : start + step] = np.argmax(q[start : start + step] @ db.T, axis=1)
    return out


class MinedPairs(NamedTuple):
    """Mined candidate pairs as parallel arrays: source index, target index, margin score."""

    source: np.ndarray
    target: np.ndarray
    score: np.ndarray

    def as_list(self) -> list[tuple[int, int, float]]:
        return [
            (int(s), int(t), float(v))
            for s, t, v in zip(self.source, self.target, self.score, strict=True)
        ]


def _margin(cos: np.ndarray, mean: np.ndarray, margin: Margin) -> np.ndarray:
    if margin == "ratio":
        # A zero neighbourhood mean (all-zero embeddings) would give inf/NaN: such a pair
        # carries no evidence, so it gets the lowest possible score instead.
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = cos / mean
        return np.where(np.isfinite(ratio), ratio, -np.inf)
    if margin == "distance":
        return cos - mean
    if margin == "absolute":
        return cos
    raise ValueError(f"unknown margin {margin!r} (ratio, distance, absolute)")


def mine_pairs(
    source: np.ndarray,
    target: np.ndarray,
    *,
    k: int = 4,
    mode: Mode = "max",
    margin: Margin = "ratio",
    threshold: float = 0.0,
    backend: Backend = "auto",
) -> MinedPairs:
    """Margin-based bitext mining between two embedding sets (see the module docstring)."""
    if mode not in ("max", "fwd", "bwd", "intersect"):
        raise ValueError(f"unknown mode {mode!r} (max, fwd, bwd, intersect)")
    x = normalize_rows(source)
    y = normalize_rows(target)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"dimension mismatch: source {x.shape[1]}, target {y.shape[1]}")
    empty = np.zeros(0, np.int64)
    if x.shape[0] == 0 or y.shape[0] == 0:
        return MinedPairs(empty, empty, np.zeros(0))

    # Both directions are always needed: the margin of a pair uses both neighbourhoods.
    fwd_sim, fwd_ind = knn(x, y, k, backend=backend)
    bwd_sim, bwd_ind = knn(y, x, k, backend=backend)
    fwd_mean = fwd_sim.astype(np.float64).mean(axis=1)
    bwd_mean = bwd_sim.astype(np.float64).mean(axis=1)

    fwd_scores = _margin(fwd_sim, (fwd_mean[:, None] + bwd_mean[fwd_ind]) / 2, margin)
    bwd_scores = _margin(bwd_sim, (bwd_mean[:, None] + fwd_mean[bwd_ind]) / 2, margin)
    # argmax takes the first maximum: among equal scores, the nearer neighbour.
    fwd_pick = fwd_scores.argmax(axis=1)
    bwd_pick = bwd_scores.argmax(axis=1)
    src_range = np.arange(x.shape[0])
    trg_range = np.arange(y.shape[0])
    fwd_best = fwd_ind[src_range, fwd_pick]
    fwd_score = fwd_scores[src_range, fwd_pick]
    bwd_best = bwd_ind[trg_range, bwd_pick]
    bwd_score = bwd_scores[trg_range, bwd_pick]

    if mode == "fwd":
        src, trg, score = src_range, fwd_best, fwd_score
    elif mode == "bwd":
        src, trg, score = bwd_best, trg_range, bwd_score
    elif mode == "intersect":
        mutual = bwd_best[fwd_best] == src_range
        src, trg, score = src_range[mutual], fwd_best[mutual], fwd_score[mutual]
    else:
        src, trg, score = _greedy_max(
            np.concatenate([src_range, bwd_best]),
            np.concatenate([fwd_best, trg_range]),
            np.concatenate([fwd_score, bwd_score]),
        )
    keep = score > threshold
    return MinedPairs(np.asarray(src[keep], np.int64), np.asarray(trg[keep], np.int64), score[keep])


def _greedy_max(
    src: np.ndarray, trg: np.ndarray, score: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best-first selection in which every source and every target is used at most once."""
    order = np.argsort(-score, kind="stable")
    seen_src: set[int] = set()
    seen_trg: set[int] = set()
    chosen = []
    for i in order:
        s, t = int(src[i]), int(trg[i])
        if s not in seen_src and t not in seen_trg:
            seen_src.add(s)
            seen_trg.add(t)
            chosen.append(i)
    chosen_idx = np.asarray(chosen, np.int64)
    return src[chosen_idx], trg[chosen_idx], score[chosen_idx]


def _unique_rows(
    ids: Sequence[Hashable], emb: np.ndarray, texts: Sequence[str] | None
) -> tuple[np.ndarray, list[Hashable | None]]:
    """One embedding per distinct text, with the id it maps to (None when ambiguous)."""
    if len(ids) != emb.shape[0]:
        raise ValueError(f"{len(ids)} ids for {emb.shape[0]} embeddings")
    if texts is None:
        return emb, list(ids)
    if len(texts) != len(ids):
        raise ValueError(f"{len(texts)} texts for {len(ids)} ids")
    first_row: dict[str, int] = {}
    owner: dict[str, Hashable | None] = {}
    for row, (text, ident) in enumerate(zip(texts, ids, strict=True)):
        if text in first_row:
            owner[text] = None  # repeated sentence: its id is ambiguous
        else:
            first_row[text] = row
            owner[text] = ident
    rows = list(first_row.values())
    return emb[rows], [owner[t] for t in first_row]


def bucc_candidates(
    source_ids: Sequence[Hashable],
    source: np.ndarray,
    target_ids: Sequence[Hashable],
    target: np.ndarray,
    *,
    source_texts: Sequence[str] | None = None,
    target_texts: Sequence[str] | None = None,
    k: int = 4,
    mode: Mode = "max",
    margin: Margin = "ratio",
    backend: Backend = "auto",
) -> dict[tuple[Hashable, Hashable], float]:
    """Mined ``{(source_id, target_id): margin score}`` for BUCC.

    With ``source_texts``/``target_texts`` identical sentences are mined once and a sentence that
    occurs under several ids yields no candidate (the official behaviour); without texts every
    row is its own sentence.
    """
    src_emb, src_owner = _unique_rows(source_ids, as_embeddings(source, "source"), source_texts)
    trg_emb, trg_owner = _unique_rows(target_ids, as_embeddings(target, "target"), target_texts)
    mined = mine_pairs(src_emb, trg_emb, k=k, mode=mode, margin=margin, backend=backend)
    candidates: dict[tuple[Hashable, Hashable], float] = {}
    for s, t, score in mined.as_list():
        sid, tid = src_owner[s], trg_owner[t]
        if sid is None or tid is None:
            continue
        pair = (sid, tid)
        candidates[pair] = max(score, candidates.get(pair, score))
    return candidates


def optimize_threshold(
    candidates: Mapping[tuple[Hashable, Hashable], float],
    gold: Iterable[tuple[Hashable, Hashable]],
) -> float:
    """The score threshold whose extraction (``score >= threshold``) maximises F1 on ``gold``.

    Cuts are tried after each distinct score, best first; the threshold is the midpoint between
    the last kept score and the next lower one, or the last kept score itself when everything is
    kept. The first (highest) threshold wins ties in F1. When no candidate is correct every
    threshold has F1 0 and 0.0 is returned, as in the official search.
    """
    gold_set = {tuple(pair) for pair in gold}
    if not gold_set:
        raise ValueError("empty gold")
    items = sorted(candidates.items(), key=lambda item: -item[1])
    best_f1 = 0.0
    threshold = 0.0
    extracted = correct = 0
    for i, (pair, score) in enumerate(items):
        extracted += 1
        correct += tuple(pair) in gold_set
        next_score = items[i + 1][1] if i + 1 < len(items) else None
        if next_score == score:
            continue  # no cut can separate equal scores
        if correct:
            precision = correct / extracted
            recall = correct / len(gold_set)
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1 = f1
                threshold = score if next_score is None else (score + next_score) / 2
    return float(threshold)


def extract_pairs(
    candidates: Mapping[tuple[Hashable, Hashable], float], threshold: float
) -> list[tuple[Hashable, Hashable]]:
    """Candidate pairs scoring at least ``threshold``, best first."""
    kept = [(pair, score) for pair, score in candidates.items() if score >= threshold]
    kept.sort(key=lambda item: -item[1])
    return [pair for pair, _ in kept]
