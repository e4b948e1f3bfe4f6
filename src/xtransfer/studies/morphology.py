"""Study 3: English morphology as an intermediate task, for agglutinative target languages.

Setups (intermediate phase, then the target's English training data): ``none`` (standard
fine-tuning), ``udpos`` (POS-only intermediate training) and ``udfeats`` (UD English FEATS
bundles per word). Targets: UD-POS and PAN-X, scored zero-shot on every language.

For every run (one setup, target, seed) the study averages the target's per-language scores
over two groups: the *agglutinative* languages (default tr fi hu et eu ja ko ta te kk; set in the
experiment config as ``study.morphology.agglutinative``, or with ``--set agglutinative=[..]``)
that the target has, and the *rest* of its languages. English, the language of the training
data, is in neither group unless ``include_english=true`` (its score is not zero-shot). A
setup's group score is the mean of those run averages over seeds (± their sample standard
deviation); its gain is that mean minus the baseline's (``none``) for the same target, model
and data.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError
from xtransfer.studies.common import (
    Run,
    Table,
    as_list,
    collect_runs,
    fmt_mean_std,
    mean_std,
    order_setups,
    pyplot,
    rounded,
    save_figure,
    setup_label,
    signed,
    write_per_language,
    write_report,
)

DEFAULT_GROUP = ["tr", "fi", "hu", "et", "eu", "ja", "ko", "ta", "te", "kk"]
PREFERRED_ORDER = ["none", "udpos", "udfeats"]
GROUPS = ("agglutinative", "rest")
COLOURS = ["#7f7f7f", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]

OPTIONS = {
    "agglutinative": "the agglutinative language group (list; default: the runs' config "
    "study.morphology.agglutinative, else " + " ".join(DEFAULT_GROUP) + ")",
    "baseline": "the baseline setup for gains (default: none)",
    "setups": "setups to show (list; default: all found, baseline first)",
    "include_english": "count English in the 'rest' group (default false: not zero-shot)",
}


def configured_group(runs: list[Run]) -> list[str] | None:
    """``study.morphology.agglutinative`` of the runs' saved config (the experiment file)."""
    found: set[tuple[str, ...]] = set()
    for run in runs:
        config = run.config() or {}
        group = ((config.get("study") or {}).get("morphology") or {}).get("agglutinative")
        if group is not None:
            found.add(tuple(as_list(group) or []))
    if len(found) > 1:
        raise UserError(
            "the runs were made with different study.morphology.agglutinative lists; "
            "pass one with --set agglutinative=[...]"
        )
    return list(found.pop()) if found else None


def run_group_averages(
    runs: list[Run], group: list[str], include_english: bool = False
) -> list[dict[str, Any]]:
    """One record per (run, target task): the mean score over the group's languages that the
    task has and over the rest (English left out unless ``include_english``)."""
    members = set(group)
    records = []
    for run in runs:
        for task in run.tasks:
            scores = run.lang_scores(task)
            aggl = {lang: v for lang, v in scores.items() if lang in members}
            rest = {
                lang: v
                for lang, v in scores.items()
                if lang not in members and (include_english or lang != "en")
            }
            records.append(
                {
                    "model": run.model,
                    "data": run.data,
                    "setup": run.intermediate,
                    "task": task,
                    "seed": run.seed,
                    "agglutinative": statistics.fmean(aggl.values()) if aggl else None,
                    "rest": statistics.fmean(rest.values()) if rest else None,
                    "agglutinative_langs": sorted(aggl),
                    "rest_langs": sorted(rest),
                }
            )
    return records


def summarise(records: list[dict[str, Any]], baseline: str = "none") -> list[dict[str, Any]]:
    """Per (model, data, task, setup): seed lists of the group averages, their means, and the
    gain of the means over the baseline's."""
    seeds: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    langs: dict[tuple, dict[str, list[str]]] = {}
    for rec in records:
        key = (rec["model"], rec["data"], rec["task"], rec["setup"])
        for group in GROUPS:
            if rec[group] is not None:
                seeds[key][group].append(rec[group])
        langs[key] = {g: rec[f"{g}_langs"] for g in GROUPS}
    out = []
    for key, values in seeds.items():
        model, data, task, setup = key
        entry: dict[str, Any] = {
            "model": model,
            "data": data,
            "task": task,
            "setup": setup,
            "languages": langs[key],
        }
        for group in GROUPS:
            vals = values.get(group, [])
            entry[f"{group}_seeds"] = vals
            entry[group] = statistics.fmean(vals) if vals else None
        out.append(entry)
    by_key = {(e["model"], e["data"], e["task"], e["setup"]): e for e in out}
    for entry in out:
        base = by_key.get((entry["model"], entry["data"], entry["task"], baseline))
        for group in GROUPS:
            have = (
                entry["setup"] != baseline
                and entry[group] is not None
                and base is not None
                and base[group] is not None
            )
            entry[f"{group}_gain"] = entry[group] - base[group] if have else None
        entry["gap"] = (
            entry["agglutinative"] - entry["rest"]
            if entry["agglutinative"] is not None and entry["rest"] is not None
            else None
        )
    return out


CSV_HEADER = [
    "model",
    "data",
    "target",
    "setup",
    "seeds",
    "agglutinative_mean",
    "agglutinative_std",
    "agglutinative_gain",
    "rest_mean",
    "rest_std",
    "rest_gain",
    "gap",
    "agglutinative_langs",
    "rest_langs",
]


def _table_rows(summary, order: list[str], baseline: str) -> tuple[list, list]:
    """A row per (model, data, target, setup): the Markdown cells and the CSV numbers."""
    several = len({(e["model"], e["data"]) for e in summary}) > 1
    index = {(e["model"], e["data"], e["task"], e["setup"]): e for e in summary}
    rows, csv_rows = [], []
    for model, data in sorted({(e["model"], e["data"]) for e in summary}):
        for task in sorted({e["task"] for e in summary}):
            for setup in order:
                e = index.get((model, data, task, setup))
                if e is None:
                    continue
                seeds = len(e["agglutinative_seeds"]) or len(e["rest_seeds"])
                gains = [signed(e[f"{g}_gain"]) if setup != baseline else "" for g in GROUPS]
                rows.append(
                    [task, setup_label(setup, model, data, several), seeds]
                    + [fmt_mean_std(e["agglutinative_seeds"], 2), gains[0]]
                    + [fmt_mean_std(e["rest_seeds"], 2), gains[1], signed(e["gap"])]
                )
                numbers = [
                    rounded(v)
                    for g in GROUPS
                    for v in (e[g], mean_std(e[f"{g}_seeds"])[1], e[f"{g}_gain"])
                ]
                csv_rows.append(
                    [model, data, task, setup, seeds, *numbers, rounded(e["gap"])]
                    + [" ".join(e["languages"][g]) for g in GROUPS]
                )
    return rows, csv_rows


def _notes(summary, group: list[str], source: str, baseline: str, include_english: bool):
    coverage = []
    for task in sorted({e["task"] for e in summary}):
        have = sorted(
            {lang for e in summary if e["task"] == task for lang in e["languages"]["agglutinative"]}
        )
        missing = [lang for lang in group if lang not in have]
        coverage.append(
            f"{task}: agglutinative group = {' '.join(have) or 'none'}"
            + (f" (not scored: {' '.join(missing)})" if missing else "")
        )
    return [
        "Scores: the target's metric averaged over the group's languages per run, then mean ± "
        f"sample std over seeds; Δ = setup − {baseline} (means); agglutinative − rest = the "
        "setup's gap between the two groups.",
        f"Agglutinative group (from {source}): {' '.join(group)}. 'rest' = the target's other "
        "languages" + (" including English." if include_english else ", English left out."),
        *coverage,
    ]


def _group_and_source(runs: list[Run], agglutinative) -> tuple[list[str], str]:
    """The group (option, else the experiment config, else the default) and where it came from."""
    if as_list(agglutinative):
        return as_list(agglutinative), "--set agglutinative"
    configured = configured_group(runs)
    source = "--set agglutinative" if agglutinative is not None else None
    if configured:
        return configured, source or "the experiment config"
    return list(DEFAULT_GROUP), source or "the default"


def analyse(
    runs_dir: Path,
    out_dir: Path,
    agglutinative: list[str] | str | None = None,
    baseline: str = "none",
    setups: list[str] | str | None = None,
    include_english: bool = False,
) -> dict[str, Any]:
    out_dir = Path(out_dir)
    runs = collect_runs(runs_dir)
    group, source = _group_and_source(runs, agglutinative)
    summary = summarise(run_group_averages(runs, group, bool(include_english)), baseline)
    preferred = [baseline, *(s for s in PREFERRED_ORDER if s != baseline)]
    order = order_setups({e["setup"] for e in summary}, preferred, as_list(setups))
    if not order:
        raise UserError(f"none of the setups {setups} has runs under {runs_dir}")
    tasks = sorted({e["task"] for e in summary})
    header = ["target", "setup", "seeds", "agglutinative", f"agglutinative Δ {baseline}"]
    header += ["rest", f"rest Δ {baseline}", "agglutinative − rest"]
    rows, csv_rows = _table_rows(summary, order, baseline)
    table = Table(
        header,
        rows,
        "Morphology: agglutinative languages vs the rest",
        _notes(summary, group, source, baseline, bool(include_english)),
        CSV_HEADER,
        csv_rows,
    )
    members = set(group)
    return write_report(
        "morphology",
        out_dir,
        table,
        after=[lambda out: [write_per_language(out, runs, lambda lang: _group_of(lang, members))]],
        figures=lambda out: _bars(summary, order, tasks, baseline, out),
        notes=[f"{len(runs)} runs; setups: {', '.join(order)}; targets: {', '.join(tasks)}"],
        data={"group": group, "summary": summary},
    )


def _group_of(lang: str, members: set[str]) -> str:
    return "agglutinative" if lang in members else "rest"


def _bars(summary, order: list[str], tasks: list[str], baseline: str, out_dir: Path) -> list[Path]:
    """group_averages: per target, the two groups' scores of every setup (error bars: seed
    std); below, the gains over the baseline."""
    plt = pyplot()
    from matplotlib.patches import Patch

    models = sorted({(e["model"], e["data"]) for e in summary})
    figures: list[Path] = []
    for model, data in models:
        fig, axes = plt.subplots(
            2, len(tasks), figsize=(4.8 * len(tasks) + 0.6, 7.4), squeeze=False
        )
        for col, task in enumerate(tasks):
            entries = {
                e["setup"]: e
                for e in summary
                if (e["model"], e["data"], e["task"]) == (model, data, task)
            }
            shown = [s for s in order if s in entries]
            for row, kind in enumerate(("score", "gain")):
                _group_panel(axes[row][col], kind, task, entries, shown, order, baseline)
        # One legend for the figure (setup colours are the same in every panel), below it.
        handles = [
            Patch(color=COLOURS[order.index(s) % len(COLOURS)], label=s)
            for s in order
            if any(e["setup"] == s and (e["model"], e["data"]) == (model, data) for e in summary)
        ]
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9)
        fig.suptitle(f"Morphology study: agglutinative languages vs the rest ({model}, {data})")
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        stem = "group_averages" + (f"_{model}_{data}" if len(models) > 1 else "")
        figures += save_figure(fig, out_dir, stem)
    return figures


def _group_panel(ax, kind: str, task: str, entries, shown, order, baseline: str) -> None:
    """One target's panel: the two groups' scores of every setup (error bars: seed std), or
    (``kind="gain"``) their gains over the baseline."""
    width = 0.8 / max(len(shown), 1)
    bars = [s for s in shown if kind == "score" or s != baseline]
    for i, setup in enumerate(bars):
        e = entries[setup]
        xs = [g + (i - (len(bars) - 1) / 2) * width for g in range(len(GROUPS))]
        if kind == "score":
            ys = [e[g] if e[g] is not None else 0.0 for g in GROUPS]
            err = [mean_std(e[f"{g}_seeds"])[1] or 0.0 for g in GROUPS]
        else:
            ys = [e[f"{g}_gain"] or 0.0 for g in GROUPS]
            err = None
        colour = COLOURS[order.index(setup) % len(COLOURS)]
        drawn = ax.bar(xs, ys, width * 0.95, yerr=err, capsize=3, label=setup,
                       color=colour)  # fmt: skip
        ax.bar_label(drawn, fmt="%.1f" if kind == "score" else "%+.1f", fontsize=7,
                     padding=2)  # fmt: skip
    ax.set_xticks(range(len(GROUPS)), ["agglutinative", "rest"])
    ax.grid(axis="y", alpha=0.3)
    if kind == "score":
        ax.set_title(f"{task}: zero-shot average", fontsize=10)
        ax.set_ylabel("score (mean over languages, seeds)")
        top = max((e[g] or 0.0) for e in entries.values() for g in GROUPS)
        ax.set_ylim(0, top * 1.18 + 1)
    else:
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_title(f"{task}: gain over {baseline}", fontsize=10)
        ax.set_ylabel(f"Δ vs {baseline} (points)")
        ax.margins(y=0.25)
