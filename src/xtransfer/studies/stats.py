"""Statistics for the studies, on numpy only (no scipy needed).

Correlations with percentile-bootstrap confidence intervals (pairs resampled with replacement,
seeded), and the representation-similarity measures of the alignment study: nearest-neighbour
retrieval accuracy, the cosine gap between translation pairs and random pairs, and linear CKA
(Kornblith et al. 2019, "Similarity of Neural Network Representations Revisited", eq. for
linear kernels on column-centred features).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_BOOTSTRAP = 2000


def rankdata(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n; tied values get the average of the ranks they span."""
    x = np.asarray(values, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=float)
    sorted_x = x[order]
    start = 0
    while start < len(x):
        end = start
        while end + 1 < len(x) and sorted_x[end + 1] == sorted_x[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's r; NaN when either side is constant or there are fewer than 2 points."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) != len(b):
        raise ValueError(f"x and y differ in length ({len(a)} vs {len(b)})")
    if len(a) < 2:
        return math.nan
    a, b = a - a.mean(), b - b.mean()
    denom = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / denom if denom > 0 else math.nan


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: Pearson's r of the average ranks (the tie-corrected definition)."""
    return pearson(rankdata(x), rankdata(y))


METHODS: dict[str, Callable[[Sequence[float], Sequence[float]], float]] = {
    "pearson": pearson,
    "spearman": spearman,
}


@dataclass
class Correlation:
    method: str
    r: float
    low: float  # bootstrap percentile interval
    high: float
    n: int
    level: float = 0.95

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def fmt(self, digits: int = 2) -> str:
        if math.isnan(self.r):
            return "–"
        ci = "" if math.isnan(self.low) else f" [{self.low:.{digits}f}, {self.high:.{digits}f}]"
        return f"{self.r:.{digits}f}{ci}"


def bootstrap_ci(
    x: Sequence[float],
    y: Sequence[float],
    statistic: Callable[[np.ndarray, np.ndarray], float],
    n_boot: int = DEFAULT_BOOTSTRAP,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(x, y)`` over resampled (x_i, y_i) pairs.

    Resamples where the statistic is undefined (e.g. all points the same) are dropped; the
    interval is NaN when fewer than 3 points or no usable resample remain.
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(a)
    if n < 3 or n_boot <= 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    stats = np.array([statistic(a[i], b[i]) for i in idx], dtype=float)
    stats = stats[~np.isnan(stats)]
    if len(stats) == 0:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(stats, [tail, 100.0 - tail])
    return float(low), float(high)


def correlate(
    x: Sequence[float],
    y: Sequence[float],
    method: str = "pearson",
    n_boot: int = DEFAULT_BOOTSTRAP,
    level: float = 0.95,
    seed: int = 0,
) -> Correlation:
    """The correlation coefficient with its percentile-bootstrap confidence interval."""
    if method not in METHODS:
        raise ValueError(f"unknown correlation {method!r}; known: {', '.join(METHODS)}")
    fn = METHODS[method]
    low, high = bootstrap_ci(x, y, fn, n_boot, level, seed)
    return Correlation(method, fn(x, y), low, high, len(x), level)


# ---- representation similarity (rows = examples, columns = features) -------------------------


def _unit_rows(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


def cosine_matrix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """cos(x_i, y_j) for every pair of rows."""
    return _unit_rows(np.asarray(x, dtype=float)) @ _unit_rows(np.asarray(y, dtype=float)).T


def retrieval_accuracy(x: np.ndarray, y: np.ndarray) -> float:
    """Share of rows x_i whose cosine nearest neighbour among the rows of y is y_i (0-1)."""
    sims = cosine_matrix(x, y)
    return float(np.mean(np.argmax(sims, axis=1) == np.arange(len(sims))))


def cosine_gap(x: np.ndarray, y: np.ndarray) -> float:
    """Mean cosine of the translation pairs (x_i, y_i) minus the mean over all other pairs
    (x_i, y_j), i != j: positive when translations are closer than random sentences."""
    sims = cosine_matrix(x, y)
    n = len(sims)
    if n < 2:
        return math.nan
    diag = float(np.trace(sims))
    return diag / n - (float(sims.sum()) - diag) / (n * (n - 1))


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA: ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F) on column-centred Xc, Yc.

    Invariant to orthogonal transforms and isotropic scaling of either side; 1 for identical
    representations (up to those), near 0 for unrelated ones with many examples.
    """
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"x and y need the same number of rows ({a.shape[0]} vs {b.shape[0]})")
    a = a - a.mean(axis=0, keepdims=True)
    b = b - b.mean(axis=0, keepdims=True)
    cross = np.linalg.norm(b.T @ a, "fro") ** 2
    denom = np.linalg.norm(a.T @ a, "fro") * np.linalg.norm(b.T @ b, "fro")
    return float(cross / denom) if denom > 0 else math.nan
