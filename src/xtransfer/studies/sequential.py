"""Study 1: single-task vs multi-task vs sequential intermediate training (same example budget).

Rows are the arms of the sweep (one intermediate setup each: the no-intermediate baseline,
single tasks, the multi-task mix, sequential orders); columns the target tasks and their overall
average. A cell is the mean ± std over seeds of the task's average over languages; the overall
score of a seed is the mean over the target tasks (computed only for seeds that have them all).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError
from xtransfer.studies.common import (
    Run,
    Table,
    collect_runs,
    fmt_mean_std,
    mean_std,
    pyplot,
    rounded,
    save_figure,
    write_report,
)

OPTIONS = {
    "benchmark": "only runs scored under this benchmark (default: all; the sweep uses xtreme-r)",
    "model": "only runs of this model (default: the folder must hold one model/data pair)",
}
MODE_ORDER = {"none": 0, "single": 1, "multitask": 2, "sequential": 3}
MODE_COLOURS = {
    "none": "#7f7f7f",
    "single": "#1f77b4",
    "multitask": "#d62728",
    "sequential": "#2ca02c",
}


def arm_of(run: Run) -> dict[str, Any]:
    """Mode, task order and budget of a run's intermediate training, from its phase records."""
    phases = run.phases("intermediate")
    if not phases:
        return {"mode": "none", "tasks": [], "budget": None}
    mode = str(phases[0].get("mode", "single"))
    tasks = (
        [t for p in phases for t in p.get("tasks", [])]
        if mode == "sequential"
        else list(phases[0].get("tasks", []))
    )
    return {"mode": mode, "tasks": tasks, "budget": phases[0].get("budget")}


def _describe(arm: dict[str, Any]) -> str:
    if arm["mode"] == "none":
        return "–"
    joiner = " → " if arm["mode"] == "sequential" else " + "
    return joiner.join(arm["tasks"])


def _budget(arm: dict[str, Any]) -> str:
    budget = arm.get("budget")
    if not budget:
        return "epochs" if arm["mode"] != "none" else "–"
    return f"{budget['value']} {budget['kind']}"


def _select(runs: list[Run], benchmark: str | None, model: str | None) -> list[Run]:
    if benchmark:
        runs = [r for r in runs if str(r.result.get("benchmark", "xtreme")) == benchmark]
    if model:
        runs = [r for r in runs if r.model == model]
    if not runs:
        raise UserError("no runs left after filtering by benchmark/model")
    pairs = sorted({(r.model, r.data) for r in runs})
    if len(pairs) > 1:
        raise UserError(
            "runs of several model/data pairs ("
            + ", ".join(f"{m}/{d}" for m, d in pairs)
            + ") in one folder: pick one with --set model=NAME or point at one sweep"
        )
    return runs


def summarise(runs: list[Run]) -> dict[str, Any]:
    """{arm name: {mode, tasks, budget, scores: {task: {seed: value}}}} and the target tasks."""
    arms: dict[str, dict[str, Any]] = {}
    targets: list[str] = []
    for run in runs:
        name = run.intermediate
        entry = arms.setdefault(name, {**arm_of(run), "scores": defaultdict(dict)})
        for task in run.tasks:
            value = run.headline(task)
            if value is None:
                continue
            if task not in targets:
                targets.append(task)
            seed = run.result.get("target_seed", run.seed)
            entry["scores"][task][(run.seed, seed)] = value
    targets.sort()
    for entry in arms.values():
        per_task = [set(entry["scores"].get(t, {})) for t in targets]
        seeds = set.intersection(*per_task) if per_task else set()
        entry["overall"] = {
            s: sum(entry["scores"][t][s] for t in targets) / len(targets) for s in sorted(seeds)
        }
    return {"arms": arms, "targets": targets}


def _order(arms: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(arms, key=lambda a: (MODE_ORDER.get(arms[a]["mode"], 9), a))


def _table_rows(arms: dict, order: list[str], targets: list[str]) -> tuple[list, list]:
    """A row per arm: the Markdown cells (mean ± std) and the CSV's mean, std and n columns."""
    base = arms.get("none")
    rows, csv_rows = [], []
    for name in order:
        arm = arms[name]
        overall = list(arm["overall"].values())
        per_task = [list(arm["scores"].get(t, {}).values()) for t in targets]
        delta = "–"
        if base is not None and name != "none" and overall and base["overall"]:
            delta = f"{mean_std(overall)[0] - mean_std(list(base['overall'].values()))[0]:+.1f}"
        n_seeds = max((len(arm["scores"].get(t, {})) for t in targets), default=0)
        rows.append(
            [name, arm["mode"], _describe(arm), _budget(arm)]
            + [fmt_mean_std(values) for values in [*per_task, overall]]
            + [delta, n_seeds]
        )
        line: list[Any] = [name, arm["mode"], " ".join(arm["tasks"]), _budget(arm)]
        for values in [*per_task, overall]:
            mean, std = mean_std(values) if values else (None, None)
            line += [rounded(mean, 6), rounded(std, 6), len(values)]
        csv_rows.append(line)
    return rows, csv_rows


def analyse(
    runs_dir: Path, out_dir: Path, benchmark: str | None = None, model: str | None = None
) -> dict[str, Any]:
    out_dir = Path(out_dir)
    runs = _select(collect_runs(runs_dir), benchmark, model)
    summary = summarise(runs)
    arms, targets = summary["arms"], summary["targets"]
    order = _order(arms)
    header = ["arm", "mode", "intermediate tasks", "budget", *targets, "overall", "Δ overall"]
    csv_header = ["arm", "mode", "tasks", "budget"]
    for col in [*targets, "overall"]:
        csv_header += [f"{col}_mean", f"{col}_std", f"{col}_n"]
    rows, csv_rows = _table_rows(arms, order, targets)
    run0 = runs[0]
    notes = [
        f"Model {run0.model}, data {run0.data}, benchmark "
        f"{run0.result.get('benchmark', 'xtreme')}. Cells: mean ± std over seeds of the task's "
        "official avg_metric (QA: (EM + F1) / 2); overall = mean over the target tasks per seed; "
        "Δ overall against the no-intermediate arm.",
    ]
    title = "Single-task vs multi-task vs sequential intermediate training (same budget)"
    return write_report(
        "sequential",
        out_dir,
        Table([*header, "seeds"], rows, title, notes, csv_header, csv_rows),
        figures=lambda out: _figure(arms, order, targets, out),
        notes=[f"{len(runs)} runs, {len(arms)} arms, targets: {', '.join(targets)}"],
        data={
            name: {
                "mode": arms[name]["mode"],
                "tasks": arms[name]["tasks"],
                "scores": {t: list(v.values()) for t, v in arms[name]["scores"].items()},
                "overall": list(arms[name]["overall"].values()),
            }
            for name in order
        },
    )


def _figure(arms: dict, order: list[str], targets: list[str], out_dir: Path) -> list[Path]:
    """Grouped bars (mean, std whiskers, seeds as dots) per target and overall, one per arm."""
    plt = pyplot()
    columns = [*targets, "overall"]
    width = 0.8 / max(len(order), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(columns) * len(order) * 0.45 + 2), 4.2))
    for i, name in enumerate(order):
        arm = arms[name]
        colour = MODE_COLOURS.get(arm["mode"], "#9467bd")
        hatch = "//" if arm["mode"] == "sequential" and i % 2 else None
        for j, col in enumerate(columns):
            values = list(
                arm["overall"].values() if col == "overall" else arm["scores"].get(col, {}).values()
            )
            if not values:
                continue
            mean, std = mean_std(values)
            x = j + (i - (len(order) - 1) / 2) * width
            ax.bar(
                x,
                mean,
                width * 0.9,
                color=colour,
                alpha=0.55 + 0.45 * (i % 2),
                hatch=hatch,
                edgecolor="black",
                linewidth=0.4,
                label=name if j == 0 else None,
            )
            if std is not None:
                ax.errorbar(x, mean, yerr=std, color="black", capsize=2, linewidth=0.8)
            ax.scatter([x] * len(values), values, s=6, color="black", zorder=3)
    ax.set_xticks(range(len(columns)), columns)
    ax.set_ylabel("zero-shot score (avg over languages)")
    ax.set_title("Intermediate training: single vs multi-task vs sequential (same budget)")
    ax.legend(
        fontsize=8,
        ncol=min(3, len(order)),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.08),
        frameon=False,
    )
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, out_dir, "scores")
