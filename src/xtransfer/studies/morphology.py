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
    Study,
    collect_runs,
    csv_table,
    fmt_mean_std,
    mean_std,
    pyplot,
    save_figure,
    write_table,
)

DEFAULT_GROUP = ["tr", "fi", "hu", "et", "eu", "ja", "ko", "ta", "te", "kk"]
PREFERRED_ORDER = ["none", "udpos", "udfeats"]
GROUPS = ("agglutinative", "rest")

OPTIONS = {
    "agglutinative": "the agglutinative language group (list; default: the runs' config "
    "study.morphology.agglutinative, else " + " ".join(DEFAULT_GROUP) + ")",
    "baseline": "the baseline setup for gains (default: none)",
    "setups": "setups to show (list; default: all found, baseline first)",
    "include_english": "count English in the 'rest' group (default false: not zero-shot)",
}


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.replace(",", " ").split() if v.strip()]
    return [str(v) for v in value]


def configured_group(runs: list[Run]) -> list[str] | None:
    """``study.morphology.agglutinative`` of the runs' saved config (the experiment file)."""
    found: set[tuple[str, ...]] = set()
    for run in runs:
        config = run.config() or {}
        group = ((config.get("study") or {}).get("morphology") or {}).get("agglutinative")
        if group is not None:
            found.add(tuple(_as_list(group) or []))
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


def _order(setups: set[str], baseline: str, wanted: list[str] | None) -> list[str]:
    if wanted:
        return [s for s in wanted if s in setups]
    preferred = [baseline] + [s for s in PREFERRED_ORDER if s != baseline]
    return [s for s in preferred if s in setups] + sorted(setups - set(preferred))


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.2f}"


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
    group = _as_list(agglutinative) or configured_group(runs) or list(DEFAULT_GROUP)
    source = (
        "--set agglutinative"
        if agglutinative is not None
        else "the experiment config"
        if configured_group(runs)
        else "the default"
    )
    records = run_group_averages(runs, group, bool(include_english))
    summary = summarise(records, baseline)
    order = _order({e["setup"] for e in summary}, baseline, _as_list(setups))
    if not order:
        raise UserError(f"none of the setups {setups} has runs under {runs_dir}")
    tasks = sorted({e["task"] for e in summary})
    several = len({(e["model"], e["data"]) for e in summary}) > 1
    index = {(e["model"], e["data"], e["task"], e["setup"]): e for e in summary}

    header = [
        "target",
        "setup",
        "seeds",
        "agglutinative",
        f"agglutinative Δ {baseline}",
        "rest",
        f"rest Δ {baseline}",
        "agglutinative − rest",
    ]
    csv_header = [
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
    rows, csv_rows = [], []
    for model, data in sorted({(e["model"], e["data"]) for e in summary}):
        for task in tasks:
            for setup in order:
                e = index.get((model, data, task, setup))
                if e is None:
                    continue
                label = f"{setup} ({model}/{data})" if several else setup
                rows.append(
                    [
                        task,
                        label,
                        len(e["agglutinative_seeds"]) or len(e["rest_seeds"]),
                        fmt_mean_std(e["agglutinative_seeds"], 2),
                        "" if setup == baseline else _signed(e["agglutinative_gain"]),
                        fmt_mean_std(e["rest_seeds"], 2),
                        "" if setup == baseline else _signed(e["rest_gain"]),
                        _signed(e["gap"]),
                    ]
                )
                csv_rows.append(
                    [
                        model,
                        data,
                        task,
                        setup,
                        len(e["agglutinative_seeds"]) or len(e["rest_seeds"]),
                        _r(e["agglutinative"]),
                        _r(mean_std(e["agglutinative_seeds"])[1]),
                        _r(e["agglutinative_gain"]),
                        _r(e["rest"]),
                        _r(mean_std(e["rest_seeds"])[1]),
                        _r(e["rest_gain"]),
                        _r(e["gap"]),
                        " ".join(e["languages"]["agglutinative"]),
                        " ".join(e["languages"]["rest"]),
                    ]
                )
    coverage = []
    for task in tasks:
        have = sorted(
            {lang for e in summary if e["task"] == task for lang in e["languages"]["agglutinative"]}
        )
        missing = [lang for lang in group if lang not in have]
        coverage.append(
            f"{task}: agglutinative group = {' '.join(have) or 'none'}"
            + (f" (not scored: {' '.join(missing)})" if missing else "")
        )
    notes = [
        "Scores: the target's metric averaged over the group's languages per run, then mean ± "
        f"sample std over seeds; Δ = setup − {baseline} (means); agglutinative − rest = the "
        "setup's gap between the two groups.",
        f"Agglutinative group (from {source}): {' '.join(group)}. 'rest' = the target's other "
        "languages" + (" including English." if include_english else ", English left out."),
        *coverage,
    ]
    study = Study("morphology", out_dir)
    study.tables = write_table(
        out_dir,
        header,
        rows,
        title="Morphology: agglutinative languages vs the rest",
        notes=notes,
        csv_header=csv_header,
        csv_rows=csv_rows,
    )
    study.tables.append(_per_language(out_dir, runs, group))
    study.figures = _bars(summary, order, tasks, baseline, out_dir)
    study.notes = [f"{len(runs)} runs; setups: {', '.join(order)}; targets: {', '.join(tasks)}"]
    study.data = {"group": group, "summary": summary}
    return study.as_dict()


def _r(value: float | None) -> Any:
    return "" if value is None else round(float(value), 4)


def _per_language(out_dir: Path, runs: list[Run], group: list[str]) -> Path:
    """per_language.csv: mean over seeds of every (model, data, target, setup, language)."""
    acc: dict[tuple, list[float]] = defaultdict(list)
    for run in runs:
        for task in run.tasks:
            for lang, value in run.lang_scores(task).items():
                acc[(run.model, run.data, task, run.intermediate, lang)].append(value)
    members = set(group)
    rows = [
        [*key, "agglutinative" if key[4] in members else "rest", _r(statistics.fmean(v)), len(v)]
        for key, v in sorted(acc.items())
    ]
    path = out_dir / "per_language.csv"
    header = ["model", "data", "target", "setup", "lang", "group", "mean", "seeds"]
    path.write_text(csv_table(header, rows), "utf-8")
    return path


def _bars(summary, order: list[str], tasks: list[str], baseline: str, out_dir: Path) -> list[Path]:
    """group_averages: per target, the two groups' scores of every setup (error bars: seed
    std); below, the gains over the baseline."""
    plt = pyplot()
    from matplotlib.patches import Patch

    models = sorted({(e["model"], e["data"]) for e in summary})
    colours = ["#7f7f7f", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
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
            width = 0.8 / max(len(shown), 1)
            for row, kind in enumerate(("score", "gain")):
                ax = axes[row][col]
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
                    colour = colours[order.index(setup) % len(colours)]
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
        # One legend for the figure (setup colours are the same in every panel), below it.
        handles = [
            Patch(color=colours[order.index(s) % len(colours)], label=s)
            for s in order
            if any(e["setup"] == s and (e["model"], e["data"]) == (model, data) for e in summary)
        ]
        fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9)
        fig.suptitle(f"Morphology study: agglutinative languages vs the rest ({model}, {data})")
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        stem = "group_averages" + (f"_{model}_{data}" if len(models) > 1 else "")
        figures += save_figure(fig, out_dir, stem)
    return figures
