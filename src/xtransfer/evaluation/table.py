"""Plain-text rendering of a :func:`~xtransfer.evaluation.scoring.score_folder` result."""

from __future__ import annotations

from typing import Any

from xtransfer.evaluation.benchmarks import get_benchmark
from xtransfer.evaluation.scoring import task_metric
from xtransfer.tasks.registry import get_task

_WIDTH = 100


def _primary_metrics(task: str) -> list[str]:
    """The metrics shown per language: the outputs ``avg_metric`` averages (its task metric's
    headline), F1 first for QA."""
    return sorted(task_metric(get_task(task)).headline, key=lambda name: name != "f1")


def render_table(result: dict[str, Any], benchmark: str = "xtreme") -> str:
    """Overall and group scores, one row per task, then per-language scores; 2 decimals."""
    bench = get_benchmark(benchmark)
    detailed: dict[str, dict[str, Any]] = result["detailed_scores"]
    overall: dict[str, float] = result["overall_scores"]
    missing: dict[str, list[str]] = result.get("missing", {})
    lines = [f"{bench.display_name} scores (0-100)", ""]

    summary_keys = [bench.overall, *bench.groups]
    lines.append("overall")
    for key in summary_keys:
        value = overall.get(key)
        shown = f"{value:6.2f}" if value is not None else "     -  (needs every task complete)"
        lines.append(f"  {key:<16}{shown}")
    lines.append("")

    header = f"  {'task':<10}{'avg_metric':>11}{'languages':>11}  averages"
    lines += [header, "  " + "-" * 90]
    for task in bench.tasks:
        n_langs = len(get_task(task).languages_for(bench.name))
        entry = detailed.get(task)
        if entry is None:
            if task in missing:
                lines.append(f"  {task:<10}{'-':>11}{0:>7}/{n_langs:<3}  (not scored)")
            continue
        averages = "  ".join(
            f"{k[4:]} {v:.2f}"
            for k, v in entry.items()
            if k.startswith("avg_") and k != "avg_metric"
        )
        scored = n_langs - len(missing.get(task, []))
        avg = entry["avg_metric"]
        lines.append(f"  {task:<10}{avg:>11.2f}{scored:>7}/{n_langs:<3}  {averages}")
    lines.append("")

    for task, entry in detailed.items():
        for metric in (m for m in _primary_metrics(task) if m in entry):
            cells = [f"{lang} {value:.2f}" for lang, value in entry[metric].items()]
            lines += _wrap_cells(f"  {task} {metric}: ", cells)
    if missing:
        lines += ["", "missing (no prediction or no label file):"]
        for task, langs in missing.items():
            lines.append(f"  {task}: {' '.join(langs)}")
    return "\n".join(lines) + "\n"


def _wrap_cells(prefix: str, cells: list[str]) -> list[str]:
    """``prefix`` followed by the cells, two spaces apart, wrapped without splitting a cell."""
    out: list[str] = []
    current = prefix
    indent = " " * 6
    for cell in cells:
        candidate = cell if current.endswith(": ") or current == indent else f"  {cell}"
        if len(current) + len(candidate) > _WIDTH and current.strip():
            out.append(current.rstrip())
            current, candidate = indent, cell
        current += candidate
    out.append(current.rstrip())
    return out
