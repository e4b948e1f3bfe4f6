"""Heatmap of the paper-style grid: intermediate setup × target, the change against ``none``.

The matrix comes from the same grid as ``xtransfer table`` (seed means; QA as F1), so the figure
and the table always agree. matplotlib is the optional ``plots`` extra, imported only here.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError
from xtransfer.reporting.table import build_grid

BASELINE = "none"


def delta_matrix(
    results: Sequence[dict[str, Any]],
) -> tuple[list[str], list[str], list[list[float]]]:
    """(rows, columns, deltas): each intermediate setup's seed-mean score minus the baseline's,
    per target and for the average over targets (NaN where a run is missing)."""
    rows, cols, grid = build_grid(results)
    if BASELINE not in rows:
        raise UserError(
            "the heatmap shows changes against the no-intermediate baseline: "
            "add intermediate=none runs to the folders"
        )
    setups = [r for r in rows if r != BASELINE]
    if not setups:
        raise UserError("the heatmap needs at least one intermediate setup besides none")

    def mean_of(row: str, col: str) -> float:
        cell = grid.get((row, col))
        return cell.mean if cell is not None else math.nan

    def average(row: str) -> float:
        values = [mean_of(row, c) for c in cols]
        return math.nan if any(math.isnan(v) for v in values) else statistics.fmean(values)

    matrix = [
        [mean_of(row, c) - mean_of(BASELINE, c) for c in cols] + [average(row) - average(BASELINE)]
        for row in setups
    ]
    return setups, [*cols, "avg"], matrix


def _pyplot_free_figure(size: tuple[float, float]):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError("--figure needs matplotlib: pip install 'xtransfer[plots]'") from None
    return Figure(figsize=size, layout="constrained")


def heatmap_figure(results: Sequence[dict[str, Any]]):
    """A matplotlib Figure (no pyplot, no display needed) of the delta matrix."""
    import numpy as np

    rows, cols, matrix = delta_matrix(results)
    data = np.array(matrix, dtype=float)
    fig = _pyplot_free_figure((1.1 * len(cols) + 3.0, max(3.2, 0.55 * len(rows) + 2.0)))
    ax = fig.add_subplot()
    finite = np.abs(data[np.isfinite(data)])
    limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    # Diverging and centred at 0: gains blue, losses red, no change white.
    image = ax.imshow(
        np.ma.masked_invalid(data), cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto"
    )
    ax.set_xticks(range(len(cols)), labels=cols)
    ax.set_yticks(range(len(rows)), labels=rows)
    ax.set_xlabel("target (zero-shot average over languages; QA: F1)")
    ax.set_ylabel("intermediate")
    ax.axvline(len(cols) - 1.5, color="black", linewidth=1.2)  # targets | average
    for i in range(len(rows)):
        for j in range(len(cols)):
            value = data[i, j]
            text = "–" if math.isnan(value) else f"{value:+.1f}"
            strong = not math.isnan(value) and abs(value) > 0.6 * limit
            ax.text(j, i, text, ha="center", va="center", color="white" if strong else "black")
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    bar.set_label("change vs. none (points)")
    ax.set_title("Intermediate-task training: change against intermediate=none", fontsize=10)
    return fig


def write_heatmap(results: Sequence[dict[str, Any]], path: Path) -> Path:
    """Writes the heatmap as PNG or PDF (by the file's suffix)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".pdf"):
        raise UserError(f"--figure must end in .png or .pdf, not {path.name!r}")
    fig = heatmap_figure(results)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150)
    except OSError as err:
        raise UserError(f"cannot write the figure {path}: {err.strerror}") from None
    return path
