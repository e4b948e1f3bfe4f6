"""Study 5: non-English intermediate data and the cross-lingual alignment of the encoder.

Intermediate setups trained on English-only, translated or mixed data (``intermediate.languages``)
are compared by how well their encoders align languages, layer by layer, on parallel text:

- Tatoeba translation pairs (non-English sentence, English sentence);
- XQuAD paragraphs, aligned across languages by question id (only where the data really are
  parallel: the real XQuAD is, the embedded demo's is not and is skipped with a note).

Per setup, seed, language and layer (0 = embeddings): nearest-neighbour retrieval accuracy
(non-English -> English, cosine), the cosine gap (mean cosine of translation pairs minus that
of all other pairs) and linear CKA between the two sides; sentence vectors are mean-pooled over
the tokens of the layer. The encoder of a run is its last intermediate phase's (``phase`` option;
the no-intermediate baseline uses the pretrained encoder). The table links each setup's change
in alignment over the baseline to its zero-shot gain, per language.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from xtransfer.errors import UserError
from xtransfer.studies.common import (
    OutputStep,
    Run,
    Table,
    append_section,
    collect_runs,
    fmt_num,
    markdown_table,
    pyplot,
    save_figure,
    write_csv,
    write_report,
)
from xtransfer.studies.stats import (
    DEFAULT_BOOTSTRAP,
    correlate,
    cosine_gap,
    linear_cka,
    retrieval_accuracy,
)

OPTIONS = {
    "languages": "languages to measure (list; default: the target languages with parallel data)",
    "max_pairs": "parallel pairs per language (default 1000)",
    "max_length": "sub-tokens per sentence/paragraph (default 128)",
    "batch_size": "encoding batch size (default 64)",
    "layer": "layer of the table: an index or 'mean' over layers 1..L (default mean)",
    "phase": "encoder of a run: intermediate (default) or target",
    "baseline": "the baseline setup (default: none)",
    "tatoeba_dir": "LASER Tatoeba files (tatoeba.<xxx>-eng.<xxx>); default: the runs' data",
    "xquad_dir": "XQuAD JSON files (xquad.<lang>.json); default: the runs' data if parallel",
    "bootstrap": f"bootstrap resamples of the correlations (default {DEFAULT_BOOTSTRAP})",
    "seed": "bootstrap seed (default 0)",
}
METRICS = {"retrieval": "retrieval accuracy", "cosine_gap": "cosine gap", "cka": "linear CKA"}


# ---- parallel data --------------------------------------------------------------------------


def _data_cfg(run: Run, override_dir: str | None, task: str, pattern: str) -> dict[str, Any]:
    if override_dir:
        return {
            "name": "local",
            "source": "local",
            "files": {task: {"test": str(Path(override_dir) / pattern)}},
        }
    cfg = run.config() or {}
    data = cfg.get("data")
    if not data:
        raise UserError(f"{run.path}: no .hydra/config.yaml; give tatoeba_dir= / xquad_dir=")
    from omegaconf import OmegaConf

    from xtransfer.config import register_resolvers

    register_resolvers()
    return OmegaConf.to_container(OmegaConf.create(data), resolve=True)


def tatoeba_pairs(run: Run, lang: str, max_pairs: int, directory: str | None) -> tuple | None:
    """(non-English sentences, English sentences) or None when the language has no pairs."""
    from xtransfer.data.sources import load_rows
    from xtransfer.tasks.registry import get_task

    data = _data_cfg(run, directory, "tatoeba", "tatoeba.{language}-eng.{language}")
    try:
        rows = load_rows(get_task("tatoeba"), "test", lang, data)
    except UserError:
        return None
    rows = rows[:max_pairs]
    return ([r["source"] for r in rows], [r["target"] for r in rows]) if len(rows) >= 2 else None


def xquad_pairs(run: Run, lang: str, max_pairs: int, directory: str | None) -> tuple | None:
    """(paragraphs in lang, the same paragraphs in English), matched by question id; None when
    the data are not parallel (fewer than half of the ids shared)."""
    from xtransfer.data.sources import load_rows
    from xtransfer.tasks.registry import get_task

    data = _data_cfg(run, directory, "xquad", "xquad.{lang}.json")
    try:
        rows = load_rows(get_task("xquad"), "test", lang, data)
        english = load_rows(get_task("xquad"), "test", "en", data)
    except UserError:
        return None
    en_context = {r["id"]: r["context"] for r in english}
    shared = [r for r in rows if r["id"] in en_context]
    if len(shared) < max(2, len(rows) // 2):
        return None
    seen: set[str] = set()
    xs, ys = [], []
    for r in shared:  # one pair per paragraph (its first question)
        if r["context"] in seen:
            continue
        seen.add(r["context"])
        xs.append(r["context"])
        ys.append(en_context[r["id"]])
    return (xs[:max_pairs], ys[:max_pairs]) if len(xs) >= 2 else None


# ---- encoders and sentence vectors ------------------------------------------------------------


def _run_encoder(run: Run, phase: str):
    """(encoder, tokenizer) of a run: its phase checkpoint, or the pretrained model."""
    from omegaconf import OmegaConf

    from xtransfer.config import register_resolvers
    from xtransfer.training.model import build_pretrained_encoder, load_encoder, load_tokenizer

    ckpt = run.checkpoint(phase)
    if ckpt is not None:
        if not (ckpt / "encoder").is_dir():
            raise UserError(f"{run.path}: checkpoint {ckpt} is gone (was the cache cleared?)")
        return load_encoder(ckpt / "encoder"), load_tokenizer(str(ckpt / "encoder"))
    cfg = run.config()
    if cfg is None:
        raise UserError(f"{run.path}: no checkpoint and no .hydra/config.yaml for the model")
    register_resolvers()
    conf = OmegaConf.create(cfg)
    model = OmegaConf.to_container(conf.model, resolve=True)
    return build_pretrained_encoder(model, int(conf.seed)), load_tokenizer(str(model["tokenizer"]))


def layer_vectors(encoder, tokenizer, texts: list[str], max_length: int, batch_size: int):
    """[layers+1, n, hidden] mean-pooled token vectors of every layer (0 = embeddings)."""
    import torch

    encoder.eval()
    device = next(encoder.parameters()).device
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(device)
            hidden = encoder(
                input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"],
                output_hidden_states=True,
            ).hidden_states
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = [(h.float() * mask).sum(1) / mask.sum(1).clamp(min=1.0) for h in hidden]
            out.append(torch.stack(pooled).cpu().numpy())
    return np.concatenate(out, axis=1)


def alignment_scores(vectors_x: np.ndarray, vectors_y: np.ndarray) -> list[dict[str, float]]:
    """The three measures at every layer, for row-aligned [layers, n, hidden] arrays."""
    return [
        {
            "retrieval": retrieval_accuracy(x, y),
            "cosine_gap": cosine_gap(x, y),
            "cka": linear_cka(x, y),
        }
        for x, y in zip(vectors_x, vectors_y, strict=True)
    ]


# ---- the study --------------------------------------------------------------------------------


def _one_run_per_encoder(runs: list[Run], phase: str) -> dict[tuple[str, int], Run]:
    """Runs of one setup and seed share the intermediate encoder: measure it once."""
    chosen: dict[tuple[str, Any], Run] = {}
    for run in sorted(runs, key=lambda r: (r.intermediate, r.seed or 0, r.target)):
        key = (
            (run.intermediate, run.seed)
            if phase == "intermediate"
            else (f"{run.intermediate}→{run.target}", run.seed)
        )
        chosen.setdefault(key, run)
    return chosen


def measure(
    runs: list[Run],
    languages: list[str],
    *,
    phase: str = "intermediate",
    max_pairs: int = 1000,
    max_length: int = 128,
    batch_size: int = 64,
    tatoeba_dir: str | None = None,
    xquad_dir: str | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows (setup, seed, source, lang, layer, retrieval, cosine_gap, cka) and notes."""
    import torch

    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    pairs_cache: dict[tuple[str, str], tuple | None] = {}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    any_run = runs[0]
    for source, loader, directory in (
        ("tatoeba", tatoeba_pairs, tatoeba_dir),
        ("xquad", xquad_pairs, xquad_dir),
    ):
        for lang in languages:
            pairs_cache[(source, lang)] = loader(any_run, lang, max_pairs, directory)
        have = [lang for lang in languages if pairs_cache[(source, lang)]]
        missing = [lang for lang in languages if not pairs_cache[(source, lang)]]
        if not have:
            hint = (
                " (the embedded demo's XQuAD is not parallel: give xquad_dir=)"
                if (source == "xquad" and not directory)
                else ""
            )
            notes.append(f"{source}: no parallel data for these languages, skipped{hint}")
        elif missing:
            notes.append(f"{source}: no parallel data for {', '.join(missing)}")
    for (setup, seed), run in _one_run_per_encoder(runs, phase).items():
        encoder, tokenizer = _run_encoder(run, phase)
        encoder.to(device)
        for (source, lang), pairs in pairs_cache.items():
            if not pairs:
                continue
            xs = layer_vectors(encoder, tokenizer, pairs[0], max_length, batch_size)
            ys = layer_vectors(encoder, tokenizer, pairs[1], max_length, batch_size)
            for layer, scores in enumerate(alignment_scores(xs, ys)):
                rows.append(
                    {
                        "setup": setup,
                        "seed": seed,
                        "source": source,
                        "lang": lang,
                        "layer": layer,
                        "pairs": len(pairs[0]),
                        **scores,
                    }
                )
        del encoder
    return rows, notes


def _mean_by(rows: list[dict], keys: tuple[str, ...], metric: str) -> dict[tuple, float]:
    acc: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        acc[tuple(r[k] for k in keys)].append(r[metric])
    return {k: float(np.mean(v)) for k, v in acc.items()}


def _zero_shot_gains(runs: list[Run], baseline: str) -> dict[tuple[str, str, str], float]:
    """{(setup, task, lang): mean score over seeds minus the baseline's}."""
    acc: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for run in runs:
        for task in run.tasks:
            for lang, value in run.lang_scores(task).items():
                acc[(run.intermediate, task, lang)].append(value)
    means = {k: float(np.mean(v)) for k, v in acc.items()}
    return {
        (setup, task, lang): value - means[(baseline, task, lang)]
        for (setup, task, lang), value in means.items()
        if setup != baseline and (baseline, task, lang) in means
    }


def _languages(runs: list[Run], languages: list[str] | str | None) -> list[str]:
    """The languages to measure: those asked for, else every scored one; never English."""
    if isinstance(languages, str):
        languages = [x.strip() for x in languages.split(",") if x.strip()]
    if not languages:
        languages = sorted(
            {lang for r in runs for t in r.tasks for lang in r.lang_scores(t)} - {"en"}
        )
    return [str(x) for x in languages if str(x) != "en"]


def _chosen_layer(rows: list[dict], layer: int | str) -> tuple[list[dict], str]:
    """The rows of the table's layer (or of layers 1..L for ``mean``) and its label."""
    n_layers = max(r["layer"] for r in rows)
    if layer == "mean":
        return [r for r in rows if r["layer"] >= 1], f"mean over layers 1–{n_layers}"
    if not 0 <= int(layer) <= n_layers:
        raise UserError(f"layer must be 'mean' or 0..{n_layers}, not {layer!r}")
    return [r for r in rows if r["layer"] == int(layer)], f"layer {int(layer)}"


def _gain_rows(chosen, gains, setups, languages, sources, baseline: str):
    """Per (setup, language): zero-shot gains and alignment changes (Markdown and CSV rows),
    and the (Δ alignment, gain) points of every (setup, source, measure, task)."""
    tasks = sorted({t for _, t, _ in gains})
    align = {m: _mean_by(chosen, ("setup", "source", "lang"), m) for m in METRICS}
    links: dict[tuple, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    table_rows, csv_rows = [], []
    for setup in (s for s in setups if s != baseline):
        for lang in languages:
            raw = [gains.get((setup, task, lang)) for task in tasks]
            for source in sources:
                for metric in METRICS:
                    a = align[metric].get((setup, source, lang))
                    b = align[metric].get((baseline, source, lang))
                    delta = None if a is None or b is None else a - b
                    raw.append(delta)
                    for task in tasks:
                        g = gains.get((setup, task, lang))
                        if delta is not None and g is not None:
                            links[(setup, source, metric, task)][0].append(delta)
                            links[(setup, source, metric, task)][1].append(g)
            if any(v is not None for v in raw):
                cells = [fmt_num(v, 2) for v in raw[: len(tasks)]]
                cells += [fmt_num(v, 3) for v in raw[len(tasks) :]]
                table_rows.append([setup, lang, *cells])
                csv_rows.append([setup, lang, *["" if v is None else round(v, 6) for v in raw]])
    return table_rows, csv_rows, links


def _correlation_section(links, n_boot: int, seed: int) -> OutputStep:
    """Adds to table.md whether the alignment change predicts the gain (across languages)."""
    rows = []
    for (setup, source, metric, task), (xs, ys) in sorted(links.items()):
        pr = correlate(xs, ys, "pearson", n_boot, 0.95, seed)
        sr = correlate(xs, ys, "spearman", n_boot, 0.95, seed)
        rows.append([setup, source, METRICS[metric], task, len(xs), pr.fmt(), sr.fmt()])
    header = ["setup", "pairs", "Δ measure", "task", "languages"]
    header += ["Pearson r [95% CI]", "Spearman ρ [95% CI]"]
    heading = "Does the alignment change predict the gain? (across languages)"
    if not rows:
        return lambda out: []
    return lambda out: append_section(out, heading, markdown_table(header, rows))


def analyse(
    runs_dir: Path,
    out_dir: Path,
    languages: list[str] | str | None = None,
    max_pairs: int = 1000,
    max_length: int = 128,
    batch_size: int = 64,
    layer: int | str = "mean",
    phase: str = "intermediate",
    baseline: str = "none",
    tatoeba_dir: str | None = None,
    xquad_dir: str | None = None,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    out_dir = Path(out_dir)
    if phase not in ("intermediate", "target"):
        raise UserError(f"phase must be intermediate or target, not {phase!r}")
    runs = collect_runs(runs_dir)
    if len({(r.model, r.data) for r in runs}) > 1:
        raise UserError("runs of several model/data pairs in one folder: point at one sweep")
    languages = _languages(runs, languages)
    sizes = {"max_pairs": int(max_pairs), "max_length": int(max_length)}
    rows, notes = measure(runs, languages, phase=phase, batch_size=int(batch_size), **sizes,
                          tatoeba_dir=tatoeba_dir, xquad_dir=xquad_dir)  # fmt: skip
    if not rows:
        raise UserError(
            "no parallel data for any language: nothing to measure (" + "; ".join(notes) + ")"
        )
    chosen, layer_label = _chosen_layer(rows, layer)
    gains = _zero_shot_gains(runs, baseline)
    tasks = sorted({t for _, t, _ in gains})
    setups = sorted({r["setup"] for r in rows}, key=lambda s: (s != baseline, s))
    sources = sorted({r["source"] for r in rows})
    table_rows, csv_rows, links = _gain_rows(chosen, gains, setups, languages, sources, baseline)
    header = ["setup", "lang", *[f"gain {t}" for t in tasks]]
    header += [f"Δ{m} {source}" for source in sources for m in METRICS]
    notes_md = [
        f"Gain = setup − {baseline} zero-shot score (mean over seeds). Δ = alignment of the "
        f"setup's {phase} encoder minus the {baseline} encoder's ({layer_label}; retrieval "
        "accuracy and cosine gap on a 0–1 scale, linear CKA 0–1), mean over seeds.",
        *notes,
    ]
    if not tasks or baseline not in setups:
        notes_md.append(f"No {baseline!r} runs: gains and Δ need the baseline in the sweep.")
    title = "Alignment change vs zero-shot gain, per language"
    measures = ["setup", "seed", "source", "lang", "layer", "pairs", *METRICS]
    return write_report(
        "alignment",
        out_dir,
        Table(header, table_rows, title, notes_md, csv_rows=csv_rows),
        before=[
            lambda out: write_csv(
                out, "alignment.csv", measures, [[r[h] for h in measures] for r in rows]
            )
        ],
        after=[_correlation_section(links, int(bootstrap), int(seed))],
        figures=lambda out: _figures(rows, setups, languages, sources, out),
        notes=notes,
        data={"layers": max(r["layer"] for r in rows), "setups": setups, "languages": languages},
    )


def _figures(rows, setups, languages, sources, out_dir: Path) -> list[Path]:
    """Per source and measure: one panel per language, a line per setup across layers; plus
    the mean over languages of every measure."""
    figures: list[Path] = []
    for source in sources:
        mean = {
            m: _mean_by([r for r in rows if r["source"] == source], ("setup", "lang", "layer"), m)
            for m in METRICS
        }
        langs = [lang for lang in languages if any(k[1] == lang for k in mean["cka"])]
        for metric, label in METRICS.items():
            figures += _layers_figure(mean[metric], metric, label, langs, setups, source, out_dir)
        figures += _mean_figure(rows, setups, langs, source, out_dir)
    return figures


def _layers_figure(mean, metric, label, langs, setups, source, out_dir: Path) -> list[Path]:
    """One measure of one source: a panel per language, a line per setup across layers."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    colours = plt.get_cmap("tab10")
    cols = min(5, len(langs))
    nrows = math.ceil(len(langs) / cols)
    fig, axes = plt.subplots(
        nrows,
        cols,
        figsize=(3.0 * cols, 2.5 * nrows),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    for ax, lang in zip(axes.flat, langs, strict=False):
        for i, setup in enumerate(setups):
            pts = sorted((k[2], v) for k, v in mean.items() if k[0] == setup and k[1] == lang)
            if pts:
                ax.plot(
                    *zip(*pts, strict=True),
                    marker="o",
                    markersize=3,
                    color=colours(i % 10),
                    label=setup,
                )
        ax.set_title(f"{lang}–en", fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(langs) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("layer")
    for ax in axes[:, 0]:
        ax.set_ylabel(label, fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        ncol=min(4, len(setups)),
        fontsize=8,
        bbox_to_anchor=(0.5, 1.0 + 0.06 / nrows),
    )
    fig.suptitle(f"{label} per layer, {source} pairs", y=1.0 + 0.12 / nrows)
    fig.tight_layout()
    return save_figure(fig, out_dir, f"layers_{source}_{metric}")


def _mean_figure(rows, setups, langs, source, out_dir: Path) -> list[Path]:
    """The mean over languages, the three measures side by side."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4.2 * len(METRICS), 3.4))
    for ax, (metric, label) in zip(axes, METRICS.items(), strict=True):
        per_layer = _mean_by([r for r in rows if r["source"] == source], ("setup", "layer"), metric)
        for i, setup in enumerate(setups):
            pts = sorted((k[1], v) for k, v in per_layer.items() if k[0] == setup)
            ax.plot(
                *zip(*pts, strict=True),
                marker="o",
                markersize=3,
                color=colours(i % 10),
                label=setup,
            )
        ax.set_title(label)
        ax.set_xlabel("layer")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Alignment with English, mean over {len(langs)} languages ({source})")
    fig.tight_layout()
    return save_figure(fig, out_dir, f"layers_{source}_mean")
