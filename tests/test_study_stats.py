"""Statistics of the studies against their definitions and planted answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xtransfer.studies.stats import (
    correlate,
    cosine_gap,
    linear_cka,
    pearson,
    rankdata,
    retrieval_accuracy,
    spearman,
)


def _pearson_by_formula(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy)


def _average_rank(values, i):
    """Definition: 1 + (number below) + (number of ties including itself - 1) / 2."""
    below = sum(v < values[i] for v in values)
    equal = sum(v == values[i] for v in values)
    return below + (equal + 1) / 2


def test_rankdata_averages_ties():
    assert rankdata([10, 20, 20, 5, 20]).tolist() == [2.0, 4.0, 4.0, 1.0, 4.0]


def test_spearman_with_ties_is_pearson_of_average_ranks():
    x = [1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 8.0, 0.5, 2.0]
    y = [3.0, 1.0, 4.0, 4.0, 2.0, 9.0, 9.0, 7.0, 1.0, 0.0]
    rx = [_average_rank(x, i) for i in range(len(x))]
    ry = [_average_rank(y, i) for i in range(len(y))]
    assert spearman(x, y) == pytest.approx(_pearson_by_formula(rx, ry), abs=1e-12)
    try:
        from scipy.stats import spearmanr
    except ImportError:
        return
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)


def test_pearson_matches_formula_and_is_nan_for_constant_input():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=30).tolist(), rng.normal(size=30).tolist()
    assert pearson(x, y) == pytest.approx(_pearson_by_formula(x, y), abs=1e-12)
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))


def test_planted_correlation_is_inside_its_bootstrap_interval():
    # Fixed design: the log sizes of 46 languages; gain = b * x + noise. The population
    # correlation for this design is b*sd(x) / sqrt(b^2 var(x) + sigma^2).
    rng = np.random.default_rng(0)
    x = np.log10(rng.uniform(0.2, 300.0, size=46))
    b, sigma = 2.0, 1.0
    y = b * x + rng.normal(0.0, sigma, size=len(x))
    planted = b * x.std() / math.sqrt(b**2 * x.var() + sigma**2)
    result = correlate(x, y, "pearson", n_boot=2000, seed=1)
    assert result.low < result.r < result.high
    assert result.contains(planted)
    assert result.high - result.low < 0.5  # informative, not a trivially wide interval
    # A perfectly monotone relation: Spearman exactly 1, and its interval collapses on 1.
    mono = correlate(x, np.exp(x), "spearman", n_boot=500, seed=1)
    assert mono.r == pytest.approx(1.0)
    assert mono.low == pytest.approx(1.0) and mono.high == pytest.approx(1.0)


def test_bootstrap_interval_covers_the_planted_value_most_of_the_time():
    rng = np.random.default_rng(42)
    x = rng.normal(size=40)
    b, sigma = 1.0, 1.5
    planted = b * x.std() / math.sqrt(b**2 * x.var() + sigma**2)
    hits = 0
    reps = 40
    for rep in range(reps):
        y = b * x + rng.normal(0.0, sigma, size=len(x))
        hits += correlate(x, y, "pearson", n_boot=400, seed=rep).contains(planted)
    # Nominal 95%; the percentile bootstrap undercovers a little at n=40.
    assert hits / reps >= 0.8


def test_bootstrap_is_seeded():
    x, y = list(range(12)), [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]
    a = correlate(x, y, "spearman", n_boot=300, seed=7)
    b = correlate(x, y, "spearman", n_boot=300, seed=7)
    assert (a.low, a.high) == (b.low, b.high)


def _orthogonal(d, rng):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return q


def test_cka_is_one_under_rotation_and_isotropic_scaling():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 16))
    q = _orthogonal(16, rng)
    assert linear_cka(x, x @ q) == pytest.approx(1.0, abs=1e-10)
    assert linear_cka(x, 3.7 * x) == pytest.approx(1.0, abs=1e-10)
    assert linear_cka(2.0 * x @ q, x) == pytest.approx(1.0, abs=1e-10)
    # Invariance of the value (not only at 1): scaling and rotating one side of a partial match.
    y = x[:, :8] + 0.5 * rng.normal(size=(200, 8))
    assert linear_cka(x @ q * 5.0, y) == pytest.approx(linear_cka(x, y), abs=1e-10)


def test_cka_of_one_feature_each_is_the_squared_correlation():
    rng = np.random.default_rng(2)
    a = rng.normal(size=100)
    b = 0.6 * a + rng.normal(size=100)
    assert linear_cka(a[:, None], b[:, None]) == pytest.approx(pearson(a, b) ** 2, abs=1e-12)


def test_cka_of_independent_representations_is_near_zero():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(4000, 10)), rng.normal(size=(4000, 10))
    assert linear_cka(x, y) < 0.02  # expectation ~ d/n = 0.0025


def test_cosine_gap_and_retrieval_on_planted_pairs():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(100, 32))
    aligned = x + 0.3 * rng.normal(size=x.shape)
    assert cosine_gap(x, aligned) > 0.5
    assert retrieval_accuracy(x, aligned) == 1.0
    unrelated = rng.normal(size=x.shape)
    assert abs(cosine_gap(x, unrelated)) < 0.05
    assert retrieval_accuracy(x, unrelated) < 0.1
    # By hand: identity rows -> translation cosines 1, all other pairs 0.
    assert cosine_gap(np.eye(3), np.eye(3)) == pytest.approx(1.0)
    # Swapped pairs: the nearest neighbour of each row is the other's translation.
    assert retrieval_accuracy(np.eye(2), np.eye(2)[::-1]) == 0.0
