"""Scoring XTREME-format prediction folders with the official ``evaluate.py`` semantics.

Layout (predictions and labels alike): ``<root>/<task>/test-<lang>.<ext>``. Every language of the
benchmark that has both files is scored; the others are listed under ``"missing"``. The result
mirrors the official JSON::

    {"overall_scores": {"all_task": .., "classification": .., ...},
     "detailed_scores": {task: {metric: {lang: score}, "avg_<metric>": .., "avg_metric": ..}},
     "missing": {task: [lang, ...]}}

Scores are on the 0-100 scale. ``avg_metric`` is (avg EM + avg F1) / 2 for QA, else avg F1, else
avg accuracy, else avg map@20 (the official precedence). Tagging tasks also carry
``token_accuracy``, which never enters ``avg_metric``. ``all_task`` and group scores appear only
when every task they cover is complete.

This module, like everything under ``xtransfer.evaluation`` (the official scoring: metrics, file
formats, ``score_folder``; a leaf that imports only the catalogue), must not import torch or
transformers: ``xtransfer score`` has to start instantly. The zero-shot evaluator that writes
the files is a pipeline step (``pipeline/zero_shot.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError
from xtransfer.evaluation import formats
from xtransfer.evaluation.benchmarks import Benchmark, get_benchmark
from xtransfer.evaluation.metrics import mlqa, seqeval_compat, squad
from xtransfer.evaluation.metrics.classification import accuracy
from xtransfer.evaluation.metrics.retrieval_metrics import mean_average_precision_at_k, pair_f1
from xtransfer.tasks.formats.contracts import contract_for
from xtransfer.tasks.registry import TaskSpec, get_task

log = logging.getLogger("xtransfer.evaluation")

# A scorer reads one prediction file and one label file and returns 0-100 scores.
Scorer = Callable[[Path, Path, str | None], dict[str, float]]

MAP_AT = 20  # Mewsli-X and LAReQA count the first 20 ranked ids.


def _check_counts(
    prediction_file: Path, label_file: Path, n_pred: int, n_gold: int, unit: str
) -> None:
    # The official script fails here with an AssertionError (count mismatch) or a
    # ZeroDivisionError (empty files).
    if n_pred == 0:
        raise UserError(f"{prediction_file}: empty prediction file")
    if n_pred != n_gold:
        raise UserError(
            f"{prediction_file}: {n_pred} {unit} but {label_file} has {n_gold} "
            "(prediction and label files must be aligned)"
        )


def score_accuracy(prediction_file: Path, label_file: Path, layout: str = "label_lines"):
    """XNLI, PAWS-X, Tatoeba (one label per line), XCOPA (JSONL records with a ``label``):
    the share of positions whose predicted label equals the gold one."""
    read = formats.read_jsonl_labels if layout == "label_records" else formats.read_lines
    gold, predicted = read(label_file), read(prediction_file)
    unit = "records" if layout == "label_records" else "lines"
    _check_counts(prediction_file, label_file, len(predicted), len(gold), unit)
    return {"accuracy": 100.0 * accuracy(gold, predicted)}


def score_tagging(prediction_file: Path, label_file: Path, _lang: str | None = None):
    """PAN-X, UD-POS: seqeval 0.0.12 chunk scores, plus token accuracy as a secondary metric."""
    gold = formats.read_tag_sentences(label_file)
    predicted = formats.read_tag_sentences(prediction_file)
    _check_counts(prediction_file, label_file, len(predicted), len(gold), "sentences")
    uneven = sum(len(g) != len(p) for g, p in zip(gold, predicted, strict=True))
    if uneven:
        # The official scorer does not check this and compares chunk positions in the flattened
        # sequences, so every chunk after the first uneven sentence is shifted; we compute the
        # same numbers but say so.
        log.warning(
            "%s: %d sentences have a different number of tags than in %s; chunk positions "
            "after them no longer line up",
            prediction_file,
            uneven,
            label_file,
        )
    scores = seqeval_compat.chunk_scores(gold, predicted)
    scores["token_accuracy"] = seqeval_compat.token_accuracy(gold, predicted)
    return {name: 100.0 * value for name, value in scores.items()}


def score_token_accuracy(prediction_file: Path, label_file: Path, _lang: str | None = None):
    """CCG supertagging: the share of tokens whose predicted tag is the gold one."""
    gold = formats.read_tag_sentences(label_file)
    predicted = formats.read_tag_sentences(prediction_file)
    _check_counts(prediction_file, label_file, len(predicted), len(gold), "sentences")
    return {"accuracy": 100.0 * seqeval_compat.token_accuracy(gold, predicted)}


def score_bitext(prediction_file: Path, label_file: Path, _lang: str | None = None):
    """BUCC: F1 of the set of predicted ``src-id<TAB>trg-id`` lines against the gold set.

    Lines are stripped and split on TAB exactly as in the official scorer (which therefore also
    counts an empty line present in both files as a matching "pair").
    """
    gold = [line.split("\t") for line in formats.read_lines(label_file)]
    predicted = [line.split("\t") for line in formats.read_lines(prediction_file)]
    if not gold:
        raise UserError(f"{label_file}: empty label file")
    if not predicted:
        log.warning("%s: no predicted pairs; precision, recall and F1 are 0", prediction_file)
    return {name: 100.0 * value for name, value in pair_f1(gold, predicted).items()}


def score_squad(prediction_file: Path, label_file: Path, _lang: str | None = None):
    """XQuAD, TyDiQA-GoldP: SQuAD v1.1 exact match and F1."""
    articles = formats.read_squad_articles(label_file)
    predictions = formats.read_answer_predictions(prediction_file)
    return squad.evaluate_qa(articles, predictions, squad.normalize_answer, source=str(label_file))


def score_mlqa(prediction_file: Path, label_file: Path, lang: str | None = None):
    """MLQA: exact match and F1 with the answer language's normalisation."""
    if lang is None:
        raise UserError(f"{label_file}: cannot tell the MLQA answer language from the file name")
    try:
        normalize = mlqa.normalizer_for(lang)
    except UserError as err:
        raise UserError(f"{label_file}: {err}") from None
    articles = formats.read_squad_articles(label_file)
    predictions = formats.read_answer_predictions(prediction_file)
    return squad.evaluate_qa(articles, predictions, normalize, source=str(label_file))


def _ranking_scores(
    prediction_file: Path, label_file: Path, gold: dict[str, list[str]]
) -> dict[str, float]:
    predictions = formats.read_ranked_lists(prediction_file)
    if not gold:
        raise UserError(f"{label_file}: contains no examples")
    unpredicted = [key for key in gold if key not in predictions]
    if unpredicted:
        log.warning(
            "%s: %d of %d examples have no prediction and score 0 (first: %s)",
            prediction_file,
            len(unpredicted),
            len(gold),
            unpredicted[0],
        )
    return {f"map@{MAP_AT}": 100.0 * mean_average_precision_at_k(gold, predictions, MAP_AT)}


def score_mewslix(prediction_file: Path, label_file: Path, _lang: str | None = None):
    """Mewsli-X: MRR of the single gold entity within the first 20 ranked ids ("map@20").

    As in the official scorer only the first gold id of each example counts, stripped.
    """
    gold: dict[str, list[str]] = {}
    for key, ids in formats.read_ranked_lists(label_file).items():
        if not ids:
            raise UserError(f"{label_file}: example {key!r} has no gold entity")
        gold[key] = [ids[0].strip()]
    return _ranking_scores(prediction_file, label_file, gold)


def score_ranking(prediction_file: Path, label_file: Path, _lang: str | None = None):
    """LAReQA: mAP@20 of ranked candidate ids against every gold id of the question.

    The official ``evaluate.py`` cannot score LAReQA (it has no file format for it); xtransfer
    reads ``{"<qid>": [ranked ids]}`` predictions and ``{"<qid>": [gold ids]}`` labels.
    """
    gold: dict[str, list[str]] = {}
    for key, ids in formats.read_ranked_lists(label_file).items():
        if not ids:
            raise UserError(f"{label_file}: example {key!r} has no gold ids")
        gold[key] = ids
    return _ranking_scores(prediction_file, label_file, gold)


@dataclass(frozen=True)
class Metric:
    """How a catalogue metric is computed from a task's files, and which of its outputs make
    the task's headline ``avg_metric`` (the mean of their language averages)."""

    score: Callable[[Path, Path, str | None, str], dict[str, float]]  # pred, gold, lang, layout
    headline: tuple[str, ...]
    layouts: tuple[str, ...]


def _by_file(scorer) -> Callable[[Path, Path, str | None, str], dict[str, float]]:
    return lambda pred, gold, lang, _layout: scorer(pred, gold, lang)


# The catalogue's `metric:` names one of these; the official scorer's task-name dispatch is
# reproduced by the catalogue entries (xnli: accuracy, mlqa: mlqa_em_f1, mewslix: mrr@20, ...).
METRICS: dict[str, Metric] = {
    "accuracy": Metric(
        lambda pred, gold, _lang, layout: score_accuracy(pred, gold, layout),
        ("accuracy",),
        ("label_lines", "label_records"),
    ),
    "chunk_f1": Metric(_by_file(score_tagging), ("f1",), ("tag_sentences",)),
    "token_accuracy": Metric(_by_file(score_token_accuracy), ("accuracy",), ("tag_sentences",)),
    "pair_f1": Metric(_by_file(score_bitext), ("f1",), ("id_pairs",)),
    "squad_em_f1": Metric(_by_file(score_squad), ("exact_match", "f1"), ("squad",)),
    "mlqa_em_f1": Metric(_by_file(score_mlqa), ("exact_match", "f1"), ("squad",)),
    "map@20": Metric(_by_file(score_ranking), (f"map@{MAP_AT}",), ("ranked_lists",)),
    "mrr@20": Metric(_by_file(score_mewslix), (f"map@{MAP_AT}",), ("ranked_lists",)),
}


def task_metric(spec: TaskSpec) -> Metric:
    """The registered metric the catalogue names for ``spec``, checked against its format."""
    metric = METRICS.get(spec.metric)
    if metric is None:
        raise UserError(
            f"task {spec.name!r} names metric {spec.metric!r}, which has no test-set scorer "
            f"(scored metrics: {', '.join(METRICS)})"
        )
    layout = contract_for(spec.format).layout
    if layout not in metric.layouts:
        raise UserError(
            f"task {spec.name!r}: metric {spec.metric!r} cannot read the {layout} files of "
            f"format {spec.format!r}"
        )
    return metric


def prediction_extension(task: str) -> str:
    """File extension of ``task``'s prediction and label files (``tsv``, ``json``, ``jsonl``):
    its format's contract."""
    return contract_for(get_task(task).format).extension


_LANG_FROM_NAME = re.compile(r"(?:^|[-_.])([A-Za-z]{2,3})$")


def language_from_filename(path: Path) -> str | None:
    """``de`` for ``test-de.json``; None when the name does not end in a language code."""
    match = _LANG_FROM_NAME.search(path.name.split(".", 1)[0])
    return match.group(1) if match else None


def score_language(
    task: str, prediction_file: Path, label_file: Path, *, language: str | None = None
) -> dict[str, float]:
    """Scores one (task, language) pair; returns {metric_name: value on the 0-100 scale}, e.g.
    {"accuracy": 71.3} or {"f1": .., "exact_match": ..} or {"f1": .., "token_accuracy": ..}.

    ``language`` is needed only by MLQA (its normalisation depends on it); by default it is read
    from the label file name (``test-de.json`` → ``de``), then from the prediction file name.
    """
    spec = get_task(task)
    if language is None:
        language = language_from_filename(Path(label_file)) or language_from_filename(
            Path(prediction_file)
        )
    layout = contract_for(spec.format).layout
    return task_metric(spec).score(Path(prediction_file), Path(label_file), language, layout)


def task_entry(task: str, per_language: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The official per-task dict: metric → {lang: score}, then avg_<metric>, then avg_metric
    (the mean of the averages of the task metric's headline outputs: (EM + F1) / 2 for QA)."""
    entry: dict[str, Any] = {}
    for lang, scores in per_language.items():
        for metric, value in scores.items():
            entry.setdefault(metric, {})[lang] = value
    metrics = list(entry)
    for metric in metrics:
        values = list(entry[metric].values())
        entry[f"avg_{metric}"] = sum(values) / len(values)
    headline = task_metric(get_task(task)).headline
    if all(f"avg_{name}" in entry for name in headline):
        entry["avg_metric"] = sum(entry[f"avg_{name}"] for name in headline) / len(headline)
    return entry


def _select_tasks(bench: Benchmark, tasks: list[str] | None) -> list[str]:
    if not tasks:
        return list(bench.tasks)
    unknown = [t for t in tasks if t not in bench.tasks]
    if unknown:
        raise UserError(
            f"task(s) {', '.join(unknown)} not in benchmark {bench.name}; "
            f"its tasks are: {', '.join(bench.tasks)}"
        )
    # Benchmark order, so that the output does not depend on how --tasks was spelled.
    return [t for t in bench.tasks if t in tasks]


def _existing_dir(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{what} folder {path} does not exist or is not a folder")
    return path


def score_folder(
    predictions: Path,
    labels: Path,
    benchmark: str = "xtreme",
    tasks: list[str] | None = None,
    strict: bool = False,
) -> dict:
    """The official-shaped {"overall_scores": ..., "detailed_scores": ...} plus a "missing" listing.

    ``tasks`` restricts scoring to some tasks of the benchmark. With ``strict``, any language of
    a selected task without both a prediction and a label file is an error.
    """
    bench = get_benchmark(benchmark)
    predictions = _existing_dir(predictions, "predictions")
    labels = _existing_dir(labels, "labels")
    selected = _select_tasks(bench, tasks)

    detailed: dict[str, dict[str, Any]] = {}
    missing: dict[str, list[str]] = {}
    for task in selected:
        langs = get_task(task).languages_for(bench.name)
        ext = prediction_extension(task)
        per_language: dict[str, dict[str, float]] = {}
        absent: list[str] = []
        for lang in langs:
            pred_file = predictions / task / f"test-{lang}.{ext}"
            label_file = labels / task / f"test-{lang}.{ext}"
            if pred_file.is_file() and label_file.is_file():
                per_language[lang] = score_language(task, pred_file, label_file, language=lang)
            else:
                absent.append(lang)
        _warn_extra_files(predictions / task, ext, langs, bench.name)
        if absent:
            missing[task] = absent
        if per_language:
            detailed[task] = task_entry(task, per_language)

    if not detailed:
        # Almost always a wrong folder (e.g. the run directory instead of its predictions/).
        example = selected[0]
        raise UserError(
            f"nothing to score: no language of {', '.join(selected)} has both a prediction and "
            f"a label file (expected e.g. {predictions / example}/test-"
            f"{get_task(example).languages_for(bench.name)[0]}.{prediction_extension(example)})"
        )
    if strict and missing:
        listing = "; ".join(f"{task}: {' '.join(langs)}" for task, langs in missing.items())
        raise UserError(f"--strict: missing prediction or label files for {listing}")

    complete = {task for task in detailed if task not in missing}
    overall: dict[str, float] = {}
    if complete >= set(bench.tasks):
        overall[bench.overall] = sum(detailed[t]["avg_metric"] for t in bench.tasks) / len(
            bench.tasks
        )
    for group, members in bench.groups.items():
        if complete >= set(members):
            overall[group] = sum(detailed[t]["avg_metric"] for t in members) / len(members)
    return {"overall_scores": overall, "detailed_scores": detailed, "missing": missing}


def _warn_extra_files(task_dir: Path, ext: str, langs: list[str], benchmark: str) -> None:
    """Warn about prediction files for languages the benchmark does not score (e.g. a typo)."""
    if not task_dir.is_dir():
        return
    known = set(langs)
    extra = sorted(
        p.name
        for p in task_dir.glob(f"test-*.{ext}")
        if p.name[len("test-") : -len(ext) - 1] not in known
    )
    if extra:
        log.warning(
            "%s: ignoring %s (not a language of %s in %s)",
            task_dir,
            ", ".join(extra),
            task_dir.name,
            benchmark,
        )
