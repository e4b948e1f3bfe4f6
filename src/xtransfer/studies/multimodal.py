"""Study 4: image-text alignment as an intermediate task, against text-only intermediate training.

Setups (the arms of experiment/study_multimodal_arms/): ``none`` (no intermediate phase),
``captions`` (the contrastive caption <-> image-vector task alone), ``mnli`` (text only) and
``captions+mnli.multitask`` (both, one encoder, a head each). Targets: multilingual reasoning,
XNLI and XCOPA, scored zero-shot on every language.

A setup is classified by the formats of its tasks (catalogue): *image-text* when every task is
of format ``image_text``, *text* when none is, *image-text + text* when both kinds are mixed.
For each (target, setup): the target's average over its languages per run (the run summary's
``avg_metric``), then mean ± sample standard deviation over seeds; gains are differences of
those means against ``none`` and against the text-only reference (default ``mnli``). The
intermediate phase's own English dev score (its best model-selection score: caption->image
retrieval accuracy for ``captions``) is reported beside it.
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

PREFERRED_ORDER = ["none", "mnli", "captions", "captions+mnli.multitask"]
TARGET_ORDER = ["xnli", "xcopa"]
KIND_COLOURS = {
    "none": "#7f7f7f",
    "text": "#1f77b4",
    "image-text": "#ff7f0e",
    "image-text + text": "#2ca02c",
}

OPTIONS = {
    "baseline": "the no-intermediate setup (default: none)",
    "text_only": "the text-only reference setup (default: mnli)",
    "setups": "setups to show (list; default: all found)",
}


def setup_tasks(setup: str) -> list[str]:
    """The task names of a setup name: ``captions+mnli.multitask`` -> [captions, mnli];
    ``mnli@de`` -> [mnli]."""
    if setup == "none":
        return []
    head = setup.split(".", 1)[0]
    return [part.split("@", 1)[0] for part in head.split("+") if part]


def setup_kind(setup: str) -> str:
    """none | text | image-text | image-text + text, from the tasks' catalogue formats."""
    from xtransfer.tasks.registry import all_tasks

    tasks = setup_tasks(setup)
    if not tasks:
        return "none"
    catalogue = all_tasks()
    image = [t for t in tasks if t in catalogue and catalogue[t].format == "image_text"]
    if not image:
        return "text"
    return "image-text" if len(image) == len(tasks) else "image-text + text"


def summarise(runs: list[Run], baseline: str = "none", text_only: str = "mnli") -> list[dict]:
    """Per (model, data, target, setup): seed averages, their mean, std, and the gains."""
    acc: dict[tuple, list[float]] = defaultdict(list)
    dev: dict[tuple, list[float]] = defaultdict(list)
    for run in runs:
        for task in run.tasks:
            value = run.headline(task)
            if value is None:
                continue
            key = (run.model, run.data, task, run.intermediate)
            acc[key].append(value)
            phases = run.phases("intermediate")
            if phases and phases[-1].get("best_dev") is not None:
                dev[key].append(float(phases[-1]["best_dev"]))
    out = []
    for key, values in acc.items():
        model, data, task, setup = key
        mean, std = mean_std(values)
        out.append(
            {
                "model": model,
                "data": data,
                "task": task,
                "setup": setup,
                "kind": setup_kind(setup),
                "seeds": values,
                "mean": mean,
                "std": std,
                "intermediate_dev": statistics.fmean(dev[key]) if dev.get(key) else None,
            }
        )
    index = {(e["model"], e["data"], e["task"], e["setup"]): e for e in out}
    for e in out:
        for name, ref in (("gain_vs_none", baseline), ("gain_vs_text", text_only)):
            other = index.get((e["model"], e["data"], e["task"], ref))
            useful = other is not None and e["setup"] != ref
            e[name] = e["mean"] - other["mean"] if useful else None
    return out


def _table_rows(summary, order, tasks, baseline: str, text_only: str) -> tuple[list, list]:
    """Markdown rows (a setup per row, the targets side by side) and CSV rows (one per cell)."""
    pairs = sorted({(e["model"], e["data"]) for e in summary})
    index = {(e["model"], e["data"], e["task"], e["setup"]): e for e in summary}
    rows, csv_rows = [], []
    for model, data in pairs:
        for setup in order:
            entries = [index.get((model, data, task, setup)) for task in tasks]
            present = [e for e in entries if e is not None]
            if not present:
                continue
            devs = [e["intermediate_dev"] for e in present if e["intermediate_dev"] is not None]
            row = [
                setup_label(setup, model, data, len(pairs) > 1),
                present[0]["kind"],
                f"{statistics.fmean(devs):.1f}" if devs else "–",
            ]
            for e in entries:
                row += ["–", "–", "–"] if e is None else _cells(e, setup, baseline, text_only)
                if e is not None:
                    csv_rows.append([model, data, setup, e["kind"], e["task"], len(e["seeds"])])
                    csv_rows[-1] += [rounded(e[k]) for k in CSV_NUMBERS]
            complete = all(e is not None for e in entries)
            row.append(f"{statistics.fmean(e['mean'] for e in present):.2f}" if complete else "–")
            rows.append(row)
    return rows, csv_rows


CSV_NUMBERS = ("mean", "std", "gain_vs_none", "gain_vs_text", "intermediate_dev")


def _cells(e: dict, setup: str, baseline: str, text_only: str) -> list[str]:
    return [
        fmt_mean_std(e["seeds"], 2),
        "" if setup == baseline else signed(e["gain_vs_none"]),
        "" if setup == text_only else signed(e["gain_vs_text"]),
    ]


def _notes(summary, baseline: str, text_only: str) -> list[str]:
    seeds = sorted({len(e["seeds"]) for e in summary})
    return [
        "Scores: each target's average over its languages (accuracy), mean ± sample std over "
        f"seeds ({'/'.join(map(str, seeds))} per cell); Δ = difference of means against "
        f"{baseline} (no intermediate training) and against {text_only} (text-only "
        "intermediate training). Intermediate dev: the intermediate phase's best English dev "
        "score (caption→image retrieval accuracy for captions; for a multi-task phase, the "
        "mean of its tasks' scores).",
        "Kinds: image-text = only image_text tasks (contrastive caption ↔ image-vector loss, "
        "no vision model), text = only text tasks, image-text + text = both in one phase.",
    ]


def analyse(
    runs_dir: Path,
    out_dir: Path,
    baseline: str = "none",
    text_only: str = "mnli",
    setups: list[str] | str | None = None,
) -> dict[str, Any]:
    out_dir = Path(out_dir)
    runs = collect_runs(runs_dir)
    summary = summarise(runs, baseline, text_only)
    preferred = [baseline, text_only, *(s for s in PREFERRED_ORDER if s != baseline)]
    order = order_setups({e["setup"] for e in summary}, preferred, as_list(setups))
    if not order:
        raise UserError(f"none of the setups {setups} has runs under {runs_dir}")
    found = {e["task"] for e in summary}
    tasks = [t for t in TARGET_ORDER if t in found] + sorted(found - set(TARGET_ORDER))
    header = ["setup", "kind", "intermediate dev"]
    for task in tasks:
        header += [f"{task}", f"{task} Δ {baseline}", f"{task} Δ {text_only}"]
    rows, csv_rows = _table_rows(summary, order, tasks, baseline, text_only)
    table = Table(
        [*header, "mean over targets"],
        rows,
        "Multimodal intermediate training: image-text vs text-only",
        _notes(summary, baseline, text_only),
        ["model", "data", "setup", "kind", "target", "seeds", *CSV_NUMBERS],
        csv_rows,
    )
    return write_report(
        "multimodal",
        out_dir,
        table,
        after=[lambda out: [write_per_language(out, runs)]],
        figures=lambda out: _bars(summary, order, tasks, baseline, out),
        notes=[f"{len(runs)} runs; setups: {', '.join(order)}; targets: {', '.join(tasks)}"],
        data={"summary": summary},
    )


def _bars(summary, order, tasks, baseline: str, out_dir: Path) -> list[Path]:
    """target_scores: per target, one bar per setup (colour = kind, error bar = seed std),
    with the gain over the baseline written above each bar."""
    plt = pyplot()
    from matplotlib.patches import Patch

    pairs = sorted({(e["model"], e["data"]) for e in summary})
    index = {(e["model"], e["data"], e["task"], e["setup"]): e for e in summary}
    figures: list[Path] = []
    for model, data in pairs:
        fig, axes = plt.subplots(
            1, len(tasks), figsize=(4.6 * len(tasks) + 0.8, 4.6), squeeze=False
        )
        kinds_seen: list[str] = []
        for ax, task in zip(axes[0], tasks, strict=True):
            entries = [index.get((model, data, task, s)) for s in order]
            shown = [e for e in entries if e is not None]
            _target_panel(ax, task, shown, baseline)
            kinds_seen += [e["kind"] for e in shown if e["kind"] not in kinds_seen]
        handles = [Patch(color=KIND_COLOURS.get(k, "#9467bd"), label=k) for k in kinds_seen]
        fig.legend(
            handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False
        )
        fig.suptitle(
            f"Multimodal study: image-text vs text-only intermediate training ({model}, {data})\n"
            f"(in brackets: gain over {baseline}; error bars: std over seeds)",
            fontsize=10,
        )
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        stem = "target_scores" + (f"_{model}_{data}" if len(pairs) > 1 else "")
        figures += save_figure(fig, out_dir, stem)
    return figures


def _target_panel(ax, task: str, shown: list[dict], baseline: str) -> None:
    """One target's bars: a bar per setup (colour = kind, error bar = seed std), its mean and
    gain over the baseline written above it."""
    xs = list(range(len(shown)))
    colours = [KIND_COLOURS.get(e["kind"], "#9467bd") for e in shown]
    ax.bar(
        xs,
        [e["mean"] for e in shown],
        0.7,
        yerr=[e["std"] or 0.0 for e in shown],
        capsize=4,
        color=colours,
    )
    for x, e in zip(xs, shown, strict=True):
        # Above the error bar, so that the numbers never sit on its whisker.
        text = f"{e['mean']:.1f}"
        if e["setup"] != baseline and e["gain_vs_none"] is not None:
            text += f"\n({e['gain_vs_none']:+.1f})"
        ax.annotate(
            text,
            (x, e["mean"] + (e["std"] or 0.0)),
            textcoords="offset points",
            xytext=(0, 3),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.set_xticks(xs, [_short(e["setup"]) for e in shown], rotation=20, ha="right")
    ax.set_title(f"{task}: zero-shot average", fontsize=10)
    ax.set_ylabel("accuracy (mean over languages, seeds)")
    top = max(e["mean"] + (e["std"] or 0.0) for e in shown)
    ax.set_ylim(0.0, top * 1.15 + 2)
    ax.grid(axis="y", alpha=0.3)


def _short(setup: str) -> str:
    """Axis label: ``captions+mnli.multitask`` -> ``captions + mnli (multitask)``."""
    head, _, mode = setup.partition(".")
    return " + ".join(head.split("+")) + (f" ({mode})" if mode else "")
