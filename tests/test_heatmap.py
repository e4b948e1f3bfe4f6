"""`xtransfer table --figure`: the heatmap shows exactly the table's deltas against none."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest

from xtransfer.cli import main as cli
from xtransfer.errors import UserError
from xtransfer.reporting.heatmap import heatmap_figure, write_heatmap
from xtransfer.reporting.table import render

pytest.importorskip("matplotlib", reason="the `plots` extra (matplotlib) is not installed")

# (intermediate, seed) -> {target: score}; xquad is QA (F1 and EM), mnli has no xquad run.
SCORES = {
    ("none", 0): {"xnli": 50.0, "pawsx": 60.0, "xquad": 40.0},
    ("none", 1): {"xnli": 52.0, "pawsx": 62.0, "xquad": 42.0},
    ("mnli", 0): {"xnli": 57.0, "pawsx": 59.0},
    ("mnli", 1): {"xnli": 58.0, "pawsx": 60.0},
    ("squad", 0): {"xnli": 49.5, "pawsx": 63.5, "xquad": 47.0},
}


def _result(inter: str, seed: int, task: str, value: float) -> dict:
    if task == "xquad":
        scores = [
            {"task": task, "lang": lang, "split": "test", "metric": m, "value": value + d}
            for lang in ("en", "de")
            for m, d in (("f1", 0.0), ("exact_match", -12.0))
        ]
    else:
        scores = [{"task": task, "lang": "en", "split": "test", "metric": "acc", "value": value}]
    return {
        "intermediate": inter,
        "target": task,
        "seed": seed,
        "scores": scores,
        "summary": {task: {"avg_metric": value, "languages": 1}},
    }


@pytest.fixture
def results() -> list[dict]:
    return [
        _result(inter, seed, task, value)
        for (inter, seed), by_task in SCORES.items()
        for task, value in by_task.items()
    ]


def _expected_deltas() -> dict[tuple[str, str], float]:
    """From the definition: mean over seeds minus the mean of `none` over seeds."""

    def mean(inter: str, task: str) -> float | None:
        values = [v[task] for (i, _), v in SCORES.items() if i == inter and task in v]
        return sum(values) / len(values) if values else None

    out = {}
    for inter in ("mnli", "squad"):
        for task in ("pawsx", "xnli", "xquad"):
            m = mean(inter, task)
            out[(inter, task)] = math.nan if m is None else m - mean("none", task)
    return out


def test_plotted_matrix_is_the_delta_against_none(results):
    fig = heatmap_figure(results)
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    assert rows == ["mnli", "squad"] and cols == ["pawsx", "xnli", "xquad", "avg"]
    plotted = ax.images[0].get_array()
    expected = _expected_deltas()
    for i, row in enumerate(rows):
        for j, col in enumerate(cols[:-1]):
            if math.isnan(expected[(row, col)]):
                assert plotted.mask[i, j]  # no run: blank cell, annotated "–"
            else:
                assert plotted[i, j] == pytest.approx(expected[(row, col)])
    # avg column: mean over all targets, only for complete rows (squad; mnli lacks xquad).
    base_avg = (51.0 + 61.0 + 41.0) / 3
    assert plotted[1, 3] == pytest.approx((49.5 + 63.5 + 47.0) / 3 - base_avg)
    assert plotted.mask[0, 3]
    # Cells are annotated with the rounded delta; the colour scale is centred at 0.
    texts = [t.get_text() for t in ax.texts]
    assert f"{expected[('squad', 'xquad')]:+.1f}" in texts and "–" in texts
    vmin, vmax = ax.images[0].get_clim()
    assert vmin == -vmax > -math.inf


def test_figure_agrees_with_the_rendered_table(results):
    table = render(results, "md")
    plotted = heatmap_figure(results).axes[0].images[0].get_array()
    lines = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()}
    for i, row in enumerate(("mnli", "squad")):
        deltas = [float(x) for x in re.findall(r"\(([+-]\d+\.\d)\)", lines[row])]
        shown = [f"{v:.1f}" for v in plotted[i, :3].compressed()]
        assert [f"{d:.1f}" for d in deltas] == shown


def test_cli_writes_png_and_pdf(results, tmp_path, capsys):
    for k, result in enumerate(results):
        run = tmp_path / "runs" / f"r{k}"
        run.mkdir(parents=True)
        (run / "results.json").write_text(json.dumps(result))
    png, pdf = tmp_path / "fig" / "grid.png", tmp_path / "grid.pdf"
    assert cli(["table", str(tmp_path / "runs"), "--figure", str(png)]) == 0
    assert cli(["table", str(tmp_path / "runs"), "--figure", str(pdf), "--format", "csv"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert f"figure: {png}" in capsys.readouterr().out


def test_bad_figure_requests_are_one_line_errors(results, tmp_path, monkeypatch):
    with pytest.raises(UserError, match="baseline"):
        heatmap_figure([r for r in results if r["intermediate"] != "none"])
    with pytest.raises(UserError, match=r"\.png or \.pdf"):
        write_heatmap(results, tmp_path / "grid.jpg")
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # as if not installed
    with pytest.raises(UserError, match=r"xtransfer\[plots\]"):
        write_heatmap(results, Path(tmp_path / "grid.png"))
