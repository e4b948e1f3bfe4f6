"""Study 2: zero-shot gain of intermediate training vs the language's pretraining data.

For every intermediate setup S, target task T and language L: gain = mean over seeds of S's
score on L minus the same for the baseline (``none``: pretrained -> target), both from runs of
the same model and data. The gains are correlated with the language's CC-100 size
(``cc100_sizes.yaml``): Pearson's r on log10(GiB) and Spearman's rho, each with a percentile
bootstrap confidence interval over languages, per task and pooled over tasks. English, the
language of the training data, is left out by default (its gain is not zero-shot).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from xtransfer.errors import UserError
from xtransfer.studies.common import (
    Run,
    Table,
    append_section,
    collect_runs,
    fmt_num,
    lang_score_lists,
    markdown_table,
    pyplot,
    rounded,
    save_figure,
    setup_label,
    write_csv,
    write_report,
)
from xtransfer.studies.stats import DEFAULT_BOOTSTRAP, Correlation, correlate

OPTIONS = {
    "setups": "intermediate setups to compare (list; default: every one except the baseline)",
    "baseline": "the baseline setup (default: none)",
    "bootstrap": f"bootstrap resamples (default {DEFAULT_BOOTSTRAP})",
    "level": "confidence level of the intervals (default 0.95)",
    "seed": "bootstrap seed (default 0)",
    "include_english": "keep English among the languages (default false: not zero-shot)",
    "sizes": "a YAML file of sizes like the packaged cc100_sizes.yaml",
}


@dataclass
class SizeTable:
    sizes: dict[str, float]
    absent: list[str]
    source: str


def load_sizes(path: Path | None = None) -> SizeTable:
    """The CC-100 sizes (GiB) shipped with the package, or a file of the same shape."""
    if path is None:
        text = (resources.files("xtransfer.studies") / "cc100_sizes.yaml").read_text("utf-8")
    else:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"sizes file not found: {path}")
        text = path.read_text("utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data.get("sizes"), dict):
        raise UserError(f"{path or 'cc100_sizes.yaml'}: needs a 'sizes' mapping (lang: GiB)")
    return SizeTable(
        {str(k): float(v) for k, v in data["sizes"].items()},
        [str(x) for x in data.get("absent", [])],
        str(data.get("source", "")),
    )


def mean_scores(runs: list[Run]) -> dict[tuple, dict[str, float]]:
    """{(model, data, setup, task): {lang: mean over seeds}}."""
    acc = lang_score_lists(runs, lambda r, t: (r.model, r.data, r.intermediate, t))
    means: dict[tuple, dict[str, float]] = defaultdict(dict)
    for (*key, lang), values in acc.items():
        means[tuple(key)][lang] = sum(values) / len(values)
    return dict(means)


def gains(
    runs: list[Run], baseline: str = "none", setups: list[str] | None = None
) -> list[dict[str, Any]]:
    """One record per (model, data, setup, task, language) with the baseline's and setup's
    scores and their difference."""
    means = mean_scores(runs)
    records = []
    for (model, data, setup, task), scores in sorted(means.items()):
        if setup == baseline or (setups and setup not in setups):
            continue
        base = means.get((model, data, baseline, task))
        if base is None:
            continue
        for lang in scores:
            if lang in base:
                records.append(
                    {
                        "model": model,
                        "data": data,
                        "setup": setup,
                        "task": task,
                        "lang": lang,
                        "baseline": base[lang],
                        "score": scores[lang],
                        "gain": scores[lang] - base[lang],
                    }
                )
    return records


def _correlations(points: list[dict], n_boot: int, level: float, seed: int) -> dict[str, Any]:
    xs = [math.log10(p["size"]) for p in points]
    ys = [p["gain"] for p in points]
    return {
        "pearson": correlate(xs, ys, "pearson", n_boot, level, seed),
        "spearman": correlate(xs, ys, "spearman", n_boot, level, seed),
        "n": len(points),
        "mean_gain": sum(ys) / len(ys) if ys else math.nan,
    }


CSV_HEADER = [
    "model",
    "data",
    "setup",
    "task",
    "n",
    "mean_gain",
    "pearson",
    "pearson_low",
    "pearson_high",
    "spearman",
    "spearman_low",
    "spearman_high",
]


def _sized_records(runs, baseline, setups, include_english, table: SizeTable) -> list[dict]:
    """The gain records, each with its language's CC-100 size (None when not on file)."""
    records = gains(runs, baseline, setups)
    if not records:
        have = sorted({r.intermediate for r in runs})
        raise UserError(
            f"no gains to compute: need runs of the baseline {baseline!r} and of another setup "
            f"on the same target, model and data (setups found: {', '.join(have)})"
        )
    if not include_english:
        records = [r for r in records if r["lang"] != "en"]
    for rec in records:
        rec["size"] = table.sizes.get(rec["lang"])
    return records


def _groups(sized: list[dict]) -> dict[tuple, list[dict]]:
    """(model, data, setup, task or ``pooled``) -> its sized gain records."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for rec in sized:
        groups[(rec["model"], rec["data"], rec["setup"], rec["task"])].append(rec)
        groups[(rec["model"], rec["data"], rec["setup"], "pooled")].append(rec)
    return groups


def _table_rows(groups, several: bool, n_boot: int, level: float, seed: int):
    """Markdown rows, CSV rows and the correlations ({"model/data/setup/task": stats})."""
    rows, csv_rows, results = [], [], {}
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], k[3] == "pooled", k[3])):
        model, data, setup, task = key
        stats = _correlations(groups[key], n_boot, level, seed)
        results["/".join(key)] = stats
        pr: Correlation = stats["pearson"]
        sr: Correlation = stats["spearman"]
        label = setup_label(setup, model, data, several)
        rows.append([label, task, stats["n"], fmt_num(stats["mean_gain"], 2), pr.fmt(), sr.fmt()])
        numbers = [stats["mean_gain"], pr.r, pr.low, pr.high, sr.r, sr.low, sr.high]
        csv_rows.append([model, data, setup, task, stats["n"], *map(rounded, numbers)])
    return rows, csv_rows, results


def _notes(baseline: str, n_boot: int, level: float, seed: int, english: bool, source: str):
    pct = int(round(level * 100))
    return [
        f"Gain = setup − {baseline} (mean over seeds, per language, score points). "
        f"Pearson on log10 of the CC-100 size in GiB, Spearman on ranks (ties averaged); "
        f"[{pct}% percentile bootstrap CI over languages, {n_boot} resamples, seed "
        f"{seed}]. Pooled = every (task, language) point of the setup."
        + ("" if english else " English (the training language) is left out."),
        f"Sizes: {source}.",
    ]


def _data(results: dict[str, Any], absent: list[str]) -> dict[str, Any]:
    def interval(c: Correlation) -> list[float]:
        return [c.r, c.low, c.high]

    return {
        "correlations": {
            k: {
                "n": v["n"],
                "mean_gain": v["mean_gain"],
                "pearson": interval(v["pearson"]),
                "spearman": interval(v["spearman"]),
            }
            for k, v in results.items()
        },
        "unsized": absent,
    }


def analyse(
    runs_dir: Path,
    out_dir: Path,
    setups: list[str] | str | None = None,
    baseline: str = "none",
    bootstrap: int = DEFAULT_BOOTSTRAP,
    level: float = 0.95,
    seed: int = 0,
    include_english: bool = False,
    sizes: str | None = None,
) -> dict[str, Any]:
    out_dir = Path(out_dir)
    if isinstance(setups, str):
        setups = [s.strip() for s in setups.split(",") if s.strip()]
    table = load_sizes(Path(sizes) if sizes else None)
    runs = collect_runs(runs_dir)
    records = _sized_records(runs, baseline, setups, include_english, table)
    sized = [r for r in records if r["size"] is not None]
    unsized = [r for r in records if r["size"] is None]
    groups = _groups(sized)
    several = len({(r["model"], r["data"]) for r in records}) > 1
    n_boot, level, seed = int(bootstrap), float(level), int(seed)
    rows, csv_rows, results = _table_rows(groups, several, n_boot, level, seed)
    header = ["setup", "task", "languages", "mean gain", "Pearson r (log size) [CI]"]
    notes = _notes(baseline, n_boot, level, seed, include_english, table.source)
    absent = sorted({r["lang"] for r in unsized})
    return write_report(
        "data-volume",
        out_dir,
        Table([*header, "Spearman ρ [CI]"], rows, TITLE, notes, CSV_HEADER, csv_rows),
        after=[
            lambda out: _append_languages(out, unsized, table, baseline),
            lambda out: _gain_table(out, records),
        ],
        figures=lambda out: _scatter(sized, groups, results, out, baseline),
        notes=[
            f"{len(records)} (setup, task, language) gains; {len(sized)} with a CC-100 size"
            + (f"; without one: {', '.join(absent)}" if absent else "")
        ],
        data=_data(results, absent),
    )


TITLE = "Zero-shot gain vs CC-100 size"


def _append_languages(out_dir: Path, unsized, table: SizeTable, baseline: str) -> list[Path]:
    """Adds the languages without a CC-100 size (absent from CC-100, or not on file)."""
    if not unsized:
        body = "None: every scored language has a size.\n"
    else:
        rows = [
            [
                r["setup"],
                r["task"],
                r["lang"],
                "absent from CC-100" if r["lang"] in table.absent else "no size on file",
                f"{r['gain']:+.2f}",
            ]
            for r in sorted(unsized, key=lambda r: (r["setup"], r["task"], r["lang"]))
        ]
        body = markdown_table(["setup", "task", "language", "why", f"gain vs {baseline}"], rows)
    return append_section(
        out_dir, "Languages without a CC-100 size (not in the correlations)", body
    )


def _gain_table(out_dir: Path, records: list[dict]) -> list[Path]:
    header = ["model", "data", "setup", "task", "lang", "cc100_gib", "baseline", "score", "gain"]
    rows = [
        [r["model"], r["data"], r["setup"], r["task"], r["lang"]]
        + ["" if r["size"] is None else r["size"]]
        + [rounded(r[k]) for k in ("baseline", "score", "gain")]
        for r in records
    ]
    return write_csv(out_dir, "gains.csv", header, rows)


def _scatter(sized, groups, results, out_dir: Path, baseline: str) -> list[Path]:
    """One figure per (model, data, setup): a panel per task, gain vs CC-100 size (log x)."""
    plt = pyplot()
    figures: list[Path] = []
    by_setup: dict[tuple, list[str]] = defaultdict(list)
    for model, data, setup, task in groups:
        if task != "pooled":
            by_setup[(model, data, setup)].append(task)
    for (model, data, setup), tasks in sorted(by_setup.items()):
        tasks = sorted(tasks)
        cols = min(3, len(tasks))
        nrows = math.ceil(len(tasks) / cols)
        fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 4.2 * nrows), squeeze=False)
        for ax, task in zip(axes.flat, tasks, strict=False):
            points = groups[(model, data, setup, task)]
            xs = [p["size"] for p in points]
            ys = [p["gain"] for p in points]
            ax.scatter(xs, ys, s=22, color="#1f77b4", zorder=3)
            for p in points:
                ax.annotate(
                    p["lang"],
                    (p["size"], p["gain"]),
                    textcoords="offset points",
                    xytext=(3, 3),
                    fontsize=8,
                )
            _fit_line(ax, xs, ys)
            ax.axhline(0.0, color="grey", linewidth=0.8, linestyle="--")
            _log_axis(ax, xs)
            stats = results["/".join((model, data, setup, task))]
            ax.set_title(
                f"{task}: r = {stats['pearson'].fmt()}\nρ = {stats['spearman'].fmt()}", fontsize=9
            )
            ax.set_xlabel("CC-100 size (GiB, log scale)")
            ax.set_ylabel(f"gain over {baseline} (points)")
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[len(tasks) :]:
            ax.set_visible(False)
        fig.suptitle(f"Zero-shot gain of {setup} vs pretraining data ({model}, {data})")
        fig.tight_layout()
        stem = "scatter_" + "".join(c if c.isalnum() or c in "-_." else "_" for c in setup)
        if len({(m, d) for m, d, _ in by_setup}) > 1:
            stem += f"_{model}_{data}"
        figures += save_figure(fig, out_dir, stem)
    return figures


def _fit_line(ax, xs: list[float], ys: list[float]) -> None:
    """Least-squares line of gain on log10(size), drawn across the data's range."""
    if len(xs) < 3 or len(set(xs)) < 2:
        return
    import numpy as np

    lx = np.log10(np.asarray(xs, dtype=float))
    slope, intercept = np.polyfit(lx, np.asarray(ys, dtype=float), 1)
    grid = np.linspace(lx.min(), lx.max(), 50)
    ax.plot(
        10**grid,
        slope * grid + intercept,
        color="#d62728",
        linewidth=1.2,
        label=f"fit: {slope:+.2f} per ×10",
    )
    ax.legend(fontsize=7, loc="best")


def _log_axis(ax, xs: list[float]) -> None:
    """Log x axis with plain-number ticks (0.3, 1, 3, 10, ...) covering the data."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ax.set_xscale("log")
    lo, hi = min(xs) / 1.5, max(xs) * 1.5
    ax.set_xlim(lo, hi)
    ticks = [m * 10.0**e for e in range(-2, 4) for m in (1, 3) if lo <= m * 10.0**e <= hi]
    if len(ticks) < 3:  # a narrow range (e.g. PAWS-X's big languages): denser ticks
        ticks = [m * 10.0**e for e in range(-2, 4) for m in (1, 2, 5) if lo <= m * 10.0**e <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
