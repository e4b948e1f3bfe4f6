"""k-NN search: ties, chunking, the faiss path, and mining against a direct transcription."""

from __future__ import annotations

import numpy as np
import pytest

from xtransfer.evaluation import retrieval
from xtransfer.evaluation.retrieval import knn, mine_pairs, normalize_rows


def test_knn_ties_go_to_the_lower_index() -> None:
    q = np.array([[1, 0]], dtype=np.float32)
    sims, ind = knn(q, np.array([[1, 0], [1, 0], [0, 1]], np.float32), 2)
    assert ind.tolist() == [[0, 1]] and sims.tolist() == [[1.0, 1.0]]
    _, ind = knn(q, np.array([[0, 1], [1, 0], [1, 0]], np.float32), 2)
    assert ind.tolist() == [[1, 2]]
    # a tie straddling the k boundary: 3 equal candidates for k = 2 -> the two lowest indices
    _, ind = knn(q, np.array([[0, 1], [2, 0], [2, 0], [2, 0]], np.float32), 2)
    assert ind.tolist() == [[1, 2]]
    # k larger than the database: all of it, best first
    sims, ind = knn(q, np.array([[0, 1], [2, 0]], np.float32), 4)
    assert ind.tolist() == [[1, 0]] and sims.tolist() == [[2.0, 0.0]]


def test_normalize_rows_keeps_zero_rows() -> None:
    out = normalize_rows(np.array([[3, 4], [0, 0]], dtype=np.float64))
    assert out.dtype == np.float32
    assert out.tolist() == [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    with pytest.raises(ValueError, match="NaN"):
        normalize_rows(np.array([[np.nan, 1.0]]))


def test_chunked_search_matches_one_block() -> None:
    rng = np.random.default_rng(0)
    q = normalize_rows(rng.normal(size=(37, 8)))
    db = normalize_rows(rng.normal(size=(23, 8)))
    whole = knn(q, db, 4, backend="numpy", block_bytes=1 << 30)
    # 32 * 23 bytes per row -> 1 query row per block
    tiny = knn(q, db, 4, backend="numpy", block_bytes=32 * 23)
    np.testing.assert_array_equal(whole[1], tiny[1])
    # BLAS may sum in another order for another block shape: equal up to float32 rounding
    np.testing.assert_allclose(whole[0], tiny[0], rtol=1e-6)
    # 128 MiB / (32 bytes x 1M database rows) -> 4 query rows per block
    assert retrieval._chunk_rows(1_000_000, retrieval.BLOCK_BYTES) == 4


def test_faiss_backend_matches_numpy() -> None:
    pytest.importorskip("faiss")
    rng = np.random.default_rng(1)
    q = normalize_rows(rng.normal(size=(200, 32)))
    db = normalize_rows(rng.normal(size=(300, 32)))
    sims_np, ind_np = knn(q, db, 4, backend="numpy")
    sims_fa, ind_fa = knn(q, db, 4, backend="auto", faiss_min_pairs=1)  # forces faiss
    np.testing.assert_array_equal(ind_np, ind_fa)
    np.testing.assert_allclose(sims_np, sims_fa, rtol=1e-5, atol=1e-6)


def _official_style_mining(x: np.ndarray, y: np.ndarray, k: int) -> list[tuple[int, int, float]]:
    """The LASER/XTREME 'max' procedure written out with loops, as a cross-check."""
    x, y = normalize_rows(x).astype(np.float64), normalize_rows(y).astype(np.float64)
    cos = x @ y.T
    kx, ky = min(k, y.shape[0]), min(k, x.shape[0])
    fwd_nn = [np.argsort(-cos[i], kind="stable")[:kx] for i in range(x.shape[0])]
    bwd_nn = [np.argsort(-cos[:, j], kind="stable")[:ky] for j in range(y.shape[0])]
    fwd_mean = [cos[i, fwd_nn[i]].mean() for i in range(x.shape[0])]
    bwd_mean = [cos[bwd_nn[j], j].mean() for j in range(y.shape[0])]

    def margin(i: int, j: int) -> float:
        return cos[i, j] / ((fwd_mean[i] + bwd_mean[j]) / 2)

    candidates = []
    for i in range(x.shape[0]):
        scores = [margin(i, j) for j in fwd_nn[i]]
        candidates.append((i, int(fwd_nn[i][int(np.argmax(scores))]), max(scores)))
    for j in range(y.shape[0]):
        scores = [margin(i, j) for i in bwd_nn[j]]
        candidates.append((int(bwd_nn[j][int(np.argmax(scores))]), j, max(scores)))
    order = sorted(range(len(candidates)), key=lambda c: -candidates[c][2])
    seen_src, seen_trg, out = set(), set(), []
    for c in order:
        i, j, score = candidates[c]
        if i not in seen_src and j not in seen_trg:
            seen_src.add(i)
            seen_trg.add(j)
            if score > 0:
                out.append((i, j, score))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_max_mode_matches_a_direct_transcription(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(25, 12)).astype(np.float32)
    y = rng.normal(size=(18, 12)).astype(np.float32)
    got = mine_pairs(x, y, k=4, mode="max").as_list()
    expected = _official_style_mining(x, y, 4)
    assert [(i, j) for i, j, _ in got] == [(i, j) for i, j, _ in expected]
    np.testing.assert_allclose([s for *_, s in got], [s for *_, s in expected], rtol=1e-5)


def test_large_inputs_are_searched_in_blocks(monkeypatch) -> None:
    """No n x m similarity matrix: every block has at most `rows` query rows."""
    rng = np.random.default_rng(3)
    q = normalize_rows(rng.normal(size=(500, 8)))
    db = normalize_rows(rng.normal(size=(400, 8)))
    seen_rows: list[int] = []
    original = retrieval._topk_block

    def spy(sims: np.ndarray, k: int):
        seen_rows.append(sims.shape[0])
        return original(sims, k)

    monkeypatch.setattr(retrieval, "_topk_block", spy)
    knn(q, db, 4, backend="numpy", block_bytes=32 * 400 * 50)  # 50 rows per block
    assert max(seen_rows) == 50 and sum(seen_rows) == 500
