"""Margin-based bitext mining, BUCC threshold search and Tatoeba retrieval on hand-made cases.

Most cases build embeddings with a prescribed cosine matrix C: source i is the basis vector e_i
and target j is (C[0,j], C[1,j], C[2,j], sqrt(1 - sum_i C[i,j]^2)), so cos(x_i, y_j) = C[i,j].
"""

from __future__ import annotations

import numpy as np
import pytest

from xtransfer.evaluation.metrics.retrieval_metrics import pair_f1
from xtransfer.evaluation.retrieval import (
    bucc_candidates,
    extract_pairs,
    mine_pairs,
    nearest_neighbors,
    optimize_threshold,
)


def _with_cosines(cos: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(cos, dtype=np.float64)
    n, m = c.shape
    x = np.hstack([np.eye(n), np.zeros((n, 1))])
    rest = np.sqrt(1.0 - (c**2).sum(axis=0))
    y = np.hstack([c.T, rest[:, None]])
    return x.astype(np.float32), y.astype(np.float32)


# A "hub" target y0 is the nearest neighbour of both x0 and x1.
HUB = [
    [0.7, 0.3, 0.1],
    [0.6, 0.1, 0.1],
    [0.1, 0.2, 0.6],
]
# Hand computation for HUB with k = 2 (ties in the k-NN lists go to the lower index):
#   fwd_mean: x0 (0.7+0.3)/2 = 0.5   x1 (0.6+0.1)/2 = 0.35   x2 (0.6+0.2)/2 = 0.4
#   bwd_mean: y0 (0.7+0.6)/2 = 0.65  y1 (0.3+0.2)/2 = 0.25   y2 (0.6+0.1)/2 = 0.35
#   ratio margin cos / ((fwd_mean + bwd_mean) / 2):
#   x0-y0 0.7/0.575 = 28/23   x0-y1 0.3/0.375 = 0.8    x1-y0 0.6/0.5 = 1.2
#   x1-y1 0.1/0.3 = 1/3       x2-y2 0.6/0.375 = 1.6    x2-y1 0.2/0.325 = 8/13
#   x0-y2 0.1/0.425 = 4/17
#   forward best:  x0->y0 (28/23), x1->y0 (1.2), x2->y2 (1.6)
#   backward best: y0->x0 (28/23), y1->x0 (0.8), y2->x2 (1.6)
HUB_FWD = [(0, 0, 28 / 23), (1, 0, 1.2), (2, 2, 1.6)]
HUB_BWD = [(0, 0, 28 / 23), (0, 1, 0.8), (2, 2, 1.6)]


def _approx(pairs: list[tuple[int, int, float]]) -> list:
    return [(s, t, pytest.approx(v, rel=1e-5)) for s, t, v in pairs]


def test_fwd_and_bwd_modes_work() -> None:
    # The official fwd/bwd modes crash; these are what they were meant to return.
    x, y = _with_cosines(HUB)
    assert mine_pairs(x, y, k=2, mode="fwd").as_list() == _approx(HUB_FWD)
    assert mine_pairs(x, y, k=2, mode="bwd").as_list() == _approx(HUB_BWD)


def test_intersect_and_max_modes() -> None:
    x, y = _with_cosines(HUB)
    # intersect: pairs found in both directions
    assert mine_pairs(x, y, k=2, mode="intersect").as_list() == _approx(
        [(0, 0, 28 / 23), (2, 2, 1.6)]
    )
    # max: all six candidates best first - (2,2) 1.6 twice, (0,0) 28/23 twice, (1,0) 1.2,
    # (0,1) 0.8 - taken greedily: (1,0) loses y0 to x0 and (0,1) loses x0 to y0.
    assert mine_pairs(x, y, k=2, mode="max").as_list() == _approx([(2, 2, 1.6), (0, 0, 28 / 23)])


def test_margin_variants_and_threshold() -> None:
    x, y = _with_cosines(HUB)
    # absolute margin = plain cosine: forward best of x1 is y0 (0.6)
    absolute = mine_pairs(x, y, k=2, mode="fwd", margin="absolute").as_list()
    assert absolute == _approx([(0, 0, 0.7), (1, 0, 0.6), (2, 2, 0.6)])
    # distance margin: x1-y0 0.6 - 0.5 = 0.1 beats x1-y1 0.1 - 0.3 = -0.2
    distance = mine_pairs(x, y, k=2, mode="fwd", margin="distance").as_list()
    assert distance[1] == _approx([(1, 0, 0.1)])[0]
    # pairs scoring at or below the threshold are dropped
    assert mine_pairs(x, y, k=2, mode="fwd", threshold=1.3).as_list() == _approx([(2, 2, 1.6)])


def test_default_k4_larger_than_the_sets() -> None:
    # with k = 4 > 3 every neighbourhood is the whole other side:
    # fwd_mean x0 = 1.1/3, x1 = 0.8/3, x2 = 0.9/3; bwd_mean y0 = 1.4/3, y1 = 0.6/3, y2 = 0.8/3
    # x2-y2: 0.6 / ((0.9/3 + 0.8/3) / 2) = 3.6 / 1.7 = 36/17
    x, y = _with_cosines(HUB)
    pairs = mine_pairs(x, y).as_list()
    assert pairs[0] == _approx([(2, 2, 36 / 17)])[0]


def test_empty_and_bad_inputs() -> None:
    x, y = _with_cosines(HUB)
    assert mine_pairs(x[:0], y).as_list() == []
    with pytest.raises(ValueError, match="unknown mode"):
        mine_pairs(x, y, mode="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dimension mismatch"):
        mine_pairs(x, y[:, :3])
    with pytest.raises(ValueError, match="2-D"):
        mine_pairs(x[0], y)


def test_bucc_candidates_with_duplicate_sentences() -> None:
    src = np.array([[1, 0], [0, 1], [1, 0]], dtype=np.float32)
    trg = np.array([[1, 0], [0, 1]], dtype=np.float32)
    # Without texts, three rows: fwd k = 2, bwd k = 3.
    #   fwd_mean: every source (1 + 0) / 2 = 0.5; bwd_mean: t1 (1 + 1 + 0) / 3 = 2/3, t2 1/3
    #   s1-t1 = s3-t1 = 1 / ((0.5 + 2/3) / 2) = 12/7; s2-t2 = 1 / ((0.5 + 1/3) / 2) = 12/5
    #   max mode: (s2,t2) 12/5, then (s1,t1) 12/7; (s3,t1) loses t1 to s1 (lower index first)
    plain = bucc_candidates(["s1", "s2", "s3"], src, ["t1", "t2"], trg)
    assert plain == pytest.approx({("s2", "t2"): 12 / 5, ("s1", "t1"): 12 / 7})
    # With texts, s1 and s3 are the same sentence "a": mined once (2 x 2, k = 2, all means 0.5,
    # diagonal scores 1 / 0.5 = 2), and "a" is ambiguous (two ids), so only (s2, t2) remains.
    unified = bucc_candidates(
        ["s1", "s2", "s3"],
        src,
        ["t1", "t2"],
        trg,
        source_texts=["a", "b", "a"],
        target_texts=["A", "B"],
    )
    assert unified == pytest.approx({("s2", "t2"): 2.0})


def test_threshold_search_best_at_last_candidate() -> None:
    candidates = {("d1", "e1"): 3.0, ("d2", "e9"): 2.0, ("d3", "e3"): 1.0}
    gold = [("d1", "e1"), ("d3", "e3"), ("d4", "e4")]
    # cut after 3.0: P 1/1, R 1/3 -> F1 0.5 (threshold (3+2)/2 = 2.5)
    # cut after 2.0: P 1/2, R 1/3 -> F1 0.4
    # keep all:      P 2/3, R 2/3 -> F1 2/3 (best, at the last candidate: the official search
    #                crashes here with an IndexError) -> threshold = 1.0 itself
    threshold = optimize_threshold(candidates, gold)
    assert threshold == 1.0
    kept = extract_pairs(candidates, threshold)
    assert kept == [("d1", "e1"), ("d2", "e9"), ("d3", "e3")]
    assert pair_f1(gold, kept)["f1"] == pytest.approx(2 / 3)


def test_threshold_search_midpoint_and_ties() -> None:
    candidates = {("a", "1"): 2.0, ("b", "2"): 2.0, ("c", "3"): 1.0}
    # No cut can separate the two 2.0 scores: keeping both gives P 1/2, R 1 -> F1 2/3;
    # keeping all gives P 1/3 -> F1 1/2. Threshold = (2 + 1) / 2.
    threshold = optimize_threshold(candidates, [("a", "1")])
    assert threshold == 1.5
    assert extract_pairs(candidates, threshold) == [("a", "1"), ("b", "2")]
    # nothing correct: every threshold gives F1 0 -> 0.0, as in the official search
    assert optimize_threshold(candidates, [("z", "9")]) == 0.0


def _bucc_split(seed: int, n_pairs: int = 40, n_extra: int = 15):
    """Parallel sentences (noisy copies of shared vectors) plus unpaired ones on both sides."""
    rng = np.random.default_rng(seed)
    dim = 64
    base = rng.normal(size=(n_pairs, dim))
    src = np.vstack([base + 0.1 * rng.normal(size=base.shape), rng.normal(size=(n_extra, dim))])
    perm = rng.permutation(n_pairs)
    trg = np.vstack(
        [base[perm] + 0.1 * rng.normal(size=base.shape), rng.normal(size=(n_extra, dim))]
    )
    src_ids = [f"de-{seed}-{i}" for i in range(n_pairs + n_extra)]
    trg_ids = [f"en-{seed}-{i}" for i in range(n_pairs + n_extra)]
    gold = [(src_ids[perm[r]], trg_ids[r]) for r in range(n_pairs)]
    return src_ids, src.astype(np.float32), trg_ids, trg.astype(np.float32), gold


def test_dev_threshold_applied_to_test() -> None:
    dev_src_ids, dev_src, dev_trg_ids, dev_trg, dev_gold = _bucc_split(1)
    dev_candidates = bucc_candidates(dev_src_ids, dev_src, dev_trg_ids, dev_trg)
    threshold = optimize_threshold(dev_candidates, dev_gold)
    # on dev the chosen threshold reaches the best F1: every gold pair, no unpaired sentence
    assert pair_f1(dev_gold, extract_pairs(dev_candidates, threshold))["f1"] == 1.0
    test_src_ids, test_src, test_trg_ids, test_trg, test_gold = _bucc_split(2)
    test_candidates = bucc_candidates(test_src_ids, test_src, test_trg_ids, test_trg)
    assert len(test_candidates) > len(test_gold)  # unpaired sentences produce candidates too
    assert pair_f1(test_gold, extract_pairs(test_candidates, threshold))["f1"] == 1.0


def test_tatoeba_nearest_neighbour_ties_and_duplicates() -> None:
    queries = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32)
    # database: d1 and d2 are duplicate sentences (same direction, different norms)
    database = np.array([[0, 2], [3, 0], [1, 0]], dtype=np.float32)
    # q0: cos 0, 1, 1 -> tie -> lower index 1; q1: d0 (cos 1); q2: cos 1/sqrt2 for all -> 0;
    # q3 (zero vector): similarity 0 to everything -> 0
    assert nearest_neighbors(queries, database).tolist() == [1, 0, 0, 0]
