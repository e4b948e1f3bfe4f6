"""The paper-style grid: rows = intermediate setups, columns = target tasks and their average.

Reads ``results.json`` files from run or sweep folders, averages over seeds (mean ± std), shows
deltas against the ``none`` (no-intermediate) baseline, and renders Markdown, CSV or LaTeX.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from xtransfer.errors import UserError
from xtransfer.results import (
    RESULTS_FILE,
    headline,
    language_headlines,
    metric_means,
    read_results,
)


@dataclass
class Cell:
    mean: float
    std: float | None
    n: int
    em: float | None = None  # QA: exact match and F1 beside the headline (EM + F1) / 2
    f1: float | None = None
    # False when any seed's score is not comparable to the published benchmark number
    comparable: bool = True


def find_result_files(paths: Iterable[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """(path, parsed content) of every results.json under the given run or sweep folders
    (a path may also name a results file itself)."""
    paths = [Path(p) for p in paths]
    found = []
    for root in paths:
        if not root.exists():
            raise UserError(f"no such run or sweep folder: {root}")
        files = [root] if root.is_file() else sorted(root.rglob(RESULTS_FILE))
        found += [(file, read_results(file).to_dict()) for file in files]
    if not found:
        raise UserError("no results.json found under " + ", ".join(map(str, paths)))
    return found


def find_results(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every results.json under the given run or sweep folders."""
    return [result for _, result in find_result_files(paths)]


def _comparable(result: dict[str, Any], task: str) -> bool:
    """The run's own verdict (results.json ``summary.<task>.comparable``); results written
    before it was recorded count as comparable."""
    return bool(result["summary"][task].get("comparable", True))


def _task_values(result: dict[str, Any], task: str) -> tuple[float, tuple[float, float] | None]:
    """(headline value, (EM, F1) or None): the official avg_metric (results.headline: (EM + F1)
    / 2 for QA), with QA's EM and F1 means beside it."""
    value = headline(result, task)
    means = metric_means(result, task)
    qa = (means["exact_match"], means["f1"]) if {"exact_match", "f1"} <= set(means) else None
    return (value if value is not None else float("nan")), qa


def row_label(result: dict[str, Any]) -> str:
    """The intermediate setup, plus the values that made the run a variant (its folder's
    ``.cfg-<hash>``, e.g. ``mnli [trainer.lr=0.01]``): runs that differ in a setting are
    separate rows, never averaged as if they were seeds. Task lists and the mode are in the
    setup name already."""
    setup = str(result.get("intermediate", "?"))
    differs = {
        k: v
        for k, v in (result.get("variant") or {}).items()
        if not k.startswith("intermediate.tasks") and k != "intermediate.mode"
    }
    if not differs:
        return setup
    return f"{setup} [{', '.join(f'{k}={v}' for k, v in sorted(differs.items()))}]"


def build_grid(results: Sequence[dict[str, Any]]) -> tuple[list[str], list[str], dict]:
    """(rows, columns, {(row, col): Cell}) with seeds aggregated."""
    values: dict[tuple[str, str], list[tuple[float, tuple[float, float] | None]]] = defaultdict(
        list
    )
    comparable: dict[tuple[str, str], bool] = defaultdict(lambda: True)
    for result in results:
        row = row_label(result)
        for task in result.get("summary", {}):
            values[(row, task)].append(_task_values(result, task))
            comparable[(row, task)] &= _comparable(result, task)
    rows = sorted({r for r, _ in values}, key=lambda r: (r != "none", r))
    cols = sorted({c for _, c in values})
    grid = {}
    for key, vals in values.items():
        mains = [v for v, _ in vals]
        qa = [q for _, q in vals if q is not None]
        grid[key] = Cell(
            mean=statistics.fmean(mains),
            std=statistics.stdev(mains) if len(mains) > 1 else None,
            n=len(mains),
            em=statistics.fmean(em for em, _ in qa) if qa else None,
            f1=statistics.fmean(f1 for _, f1 in qa) if qa else None,
            comparable=comparable[key],
        )
    return rows, cols, grid


def load_reference(name: str) -> dict[str, Any]:
    refs = yaml.safe_load(
        (resources.files("xtransfer.reporting") / "references.yaml").read_text("utf-8")
    )
    if name not in refs:
        raise UserError(f"unknown reference {name!r}; known: {', '.join(refs)}")
    return refs[name]


NOT_COMPARABLE = "†"


def _published(entry: dict[str, Any] | None) -> float | None:
    """The published headline number of a reference entry, by the same rule as ours: (EM + F1)
    / 2 for QA; None where a QA entry gives F1 alone (no like-for-like number)."""
    if entry is None:
        return None
    if "f1" in entry:
        return (float(entry["f1"]) + float(entry["em"])) / 2 if "em" in entry else None
    return float(entry["value"])


def _fmt_cell(
    cell: Cell | None, base: Cell | None, show_delta: bool, published: float | None = None
) -> str:
    if cell is None:
        return "–"
    text = f"{cell.mean:.1f}" + ("" if cell.comparable else NOT_COMPARABLE)
    if cell.std is not None:
        text += f" ± {cell.std:.1f}"
    if show_delta and base is not None:
        text += f" ({cell.mean - base.mean:+.1f})"
    # Against a published number only where the test set and protocol are the benchmark's.
    if published is not None and cell.comparable:
        text += f" [{cell.mean - published:+.1f} pub]"
    if cell.em is not None and cell.f1 is not None:
        text += f" (EM {cell.em:.1f}, F1 {cell.f1:.1f})"
    return text


def render(results: Sequence[dict[str, Any]], fmt: str = "md", reference: str | None = None) -> str:
    rows, cols, grid = build_grid(results)
    header = ["intermediate", *cols, "avg"]
    body: list[list[str]] = []
    ref = load_reference(reference) if reference else None
    published = {c: _published(ref["scores"].get(c)) if ref else None for c in cols}
    marked = False
    for row in rows:
        cells = [grid.get((row, c)) for c in cols]
        present = [c.mean for c in cells if c is not None]
        avg = statistics.fmean(present) if present and len(present) == len(cols) else None
        base_cells = [grid.get(("none", c)) for c in cols]
        line = [row] + [
            _fmt_cell(cell, base, row != "none", published[col])
            for cell, base, col in zip(cells, base_cells, cols, strict=True)
        ]
        # The average is only comparable when every cell it averages is.
        all_comparable = all(c.comparable for c in cells if c is not None)
        marked |= not all_comparable or any(c is not None and not c.comparable for c in cells)
        line.append(
            f"{avg:.1f}" + ("" if all_comparable else NOT_COMPARABLE) if avg is not None else "–"
        )
        body.append(line)
    if ref is not None:
        line = [f"{ref['label']}"]
        for col in cols:
            entry = ref["scores"].get(col)
            if entry is None:
                line.append("–")
                continue
            value = _published(entry)
            text = "–" if value is None else f"{value:.1f}"
            if "f1" in entry:
                text += (f" (EM {entry['em']:.1f}, " if "em" in entry else " (") + (
                    f"F1 {entry['f1']:.1f})"
                )
            line.append(text + ("*" if entry.get("verified") is False else ""))
        line.append("–")  # the published average covers tasks that may not be columns here
        body.append(line)
    return _render_rows(header, body, fmt, reference is not None, marked)


def _render_rows(
    header: list[str], body: list[list[str]], fmt: str, has_ref: bool, marked: bool = False
) -> str:
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(body)
        return out.getvalue()
    if fmt == "latex":

        def esc(text: str) -> str:
            return (
                text.replace("±", r"$\pm$")
                .replace("_", r"\_")
                .replace("%", r"\%")
                .replace(NOT_COMPARABLE, r"$^\dagger$")
            )

        lines = [
            r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}",
            r"\toprule",
            " & ".join(esc(h) for h in header) + r" \\",
            r"\midrule",
        ]
        lines += [" & ".join(esc(c) for c in row) + r" \\" for row in body]
        lines += [r"\bottomrule", r"\end{tabular}"]
        return "\n".join(lines) + "\n"
    if fmt != "md":
        raise UserError(f"unknown table format {fmt!r}; use md, csv or latex")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    note = (
        "\nEach cell is the task's official avg_metric (QA: (EM + F1) / 2, with the EM and F1"
        " means beside it); (±x) is the std over seeds; (+x) the change against "
        "intermediate=none."
    )
    if has_ref:
        note += (
            " [+x pub] the change against the published number; * = not independently confirmed."
        )
    if marked:
        note += (
            f" {NOT_COMPARABLE} = not comparable to the published benchmark number (see `why` in"
            " results.json): no published delta, and an average over it is marked too."
        )
    return "\n".join(lines) + "\n" + note + "\n"


def per_language(results: Sequence[dict[str, Any]], task: str) -> str:
    """Markdown: rows = intermediate setups, columns = languages (mean over seeds) of the
    headline rule per language (QA: (EM + F1) / 2), so a row averages to the grid's cell."""
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    metrics: list[str] = []
    for result in results:
        metrics += [r["metric"] for r in result["scores"] if r["task"] == task]
        for lang, value in language_headlines(result, task).items():
            values[(row_label(result), lang)].append(value)
    if not values:
        raise UserError(f"no scores for task {task!r} in these results")
    distinct = set(metrics)
    metric_of_task = (
        "(EM + F1) / 2"
        if {"exact_match", "f1"} <= distinct
        else metrics[0]
        if len(distinct) == 1
        else "the official metric"
    )
    rows = sorted({r for r, _ in values}, key=lambda r: (r != "none", r))
    langs = list(dict.fromkeys(lang for _, lang in values))
    lines = [
        f"{task} ({metric_of_task}) per language",
        "",
        "| intermediate | " + " | ".join(langs) + " |",
        "|" + "---|" * (len(langs) + 1),
    ]
    for row in rows:
        cells = [
            f"{statistics.fmean(values[(row, lang)]):.1f}" if (row, lang) in values else "–"
            for lang in langs
        ]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
