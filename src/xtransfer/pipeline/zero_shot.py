"""Zero-shot evaluation of a trained model on every language of a target, with one model load.

Predictions and gold labels are written in the XTREME submission layout and then scored by the
same code as `xtransfer score`, so the run's numbers and the scorer's can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from xtransfer.data.feature_cache import featurize_cached
from xtransfer.data.sources import load_rows
from xtransfer.errors import UserError
from xtransfer.evaluation.scoring import prediction_extension, score_folder
from xtransfer.pipeline import comparability
from xtransfer.tasks.formats.base import LanguageContext, TaskFormat
from xtransfer.tasks.registry import TaskSpec, get_task
from xtransfer.training.events import EventLog
from xtransfer.training.loop import predict
from xtransfer.training.model import TaskModel


def evaluation_languages(
    task: TaskSpec, benchmark: str, only: Sequence[str] | None = None
) -> tuple[str, list[str]]:
    """The benchmark whose language list applies, and that list (a task outside ``benchmark``,
    e.g. XCOPA under XTREME, uses the one benchmark it belongs to).

    ``only`` (``target.languages``) keeps just those languages, in the benchmark's order; a
    language the list does not have is an error naming the list.
    """
    bench, codes = _benchmark_languages(task, benchmark)
    if not only:
        return bench, codes
    wanted = [str(code) for code in only]
    unknown = [code for code in wanted if code not in codes]
    if unknown:
        raise UserError(
            f"target.languages: {task.name} has no {', '.join(unknown)} under {bench} "
            f"(it has: {' '.join(codes)})"
        )
    return bench, [code for code in codes if code in wanted]


def _benchmark_languages(task: TaskSpec, benchmark: str) -> tuple[str, list[str]]:
    key = benchmark.replace("-", "_")
    if key in task.languages:
        return key, list(task.languages[key])
    for fallback in ("xtreme_r", "xtreme"):
        if fallback in task.languages:
            return fallback, list(task.languages[fallback])
    # A task of neither benchmark (a user-declared one): its own (largest) language list.
    own, codes = max(task.languages.items(), key=lambda item: len(item[1]))
    return own, list(codes)


def _in_benchmark(task: TaskSpec, bench: str) -> bool:
    from xtransfer.evaluation.benchmarks import available_benchmarks, get_benchmark

    name = bench.replace("_", "-")
    return name in available_benchmarks() and task.name in get_benchmark(name).tasks


def _score_outside_benchmark(task: TaskSpec, run_dir: Path, languages: list[str], ext: str):
    """The official-shaped per-task entry for a task no benchmark lists (user tasks)."""
    from xtransfer.evaluation.scoring import score_language, task_entry

    per_language = {
        lang: score_language(
            task.name,
            run_dir / "predictions" / task.name / f"test-{lang}.{ext}",
            run_dir / "labels" / task.name / f"test-{lang}.{ext}",
            language=lang,
        )
        for lang in languages
    }
    return task_entry(task.name, per_language)


def evaluate_languages(
    model: TaskModel,
    tokenizer,
    fmt: TaskFormat,
    task: TaskSpec,
    target: Mapping[str, Any],
    data_cfg: Mapping[str, Any],
    benchmark: str,
    run_dir: Path,
    accelerator,
    batch_size: int,
    events: EventLog,
    feature_dir: Path | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Scores records (SPEC §8) and the task's official-shaped detailed scores."""
    split, max_length = target["test_split"], int(target["max_length"])
    bench, languages = evaluation_languages(task, benchmark, target.get("languages"))
    comparability.warn_contaminated(task, data_cfg, languages)
    pred_dir = run_dir / "predictions" / task.name
    label_dir = run_dir / "labels" / task.name
    pred_dir.mkdir(parents=True, exist_ok=True)
    label_dir.mkdir(parents=True, exist_ok=True)
    ext = prediction_extension(task.name)
    ctx = LanguageContext(
        settings=target,
        accelerator=accelerator,
        batch_size=batch_size,
        languages=languages,
        load=lambda other, code: load_rows(task, other, code, data_cfg),
        featurize=lambda rows: featurize_cached(fmt, rows, tokenizer, max_length, feature_dir),
        predict_features=lambda features: predict(
            model, task.name, fmt, features, batch_size, accelerator, tokenizer.pad_token_id
        ),
    )
    for lang in tqdm(
        languages, desc=f"evaluate {task.name}", disable=not accelerator.is_main_process
    ):
        rows = load_rows(task, split, lang, data_cfg)
        predictions = fmt.predict_language(model, tokenizer, rows, lang, ctx)
        if accelerator.is_main_process:
            fmt.write_predictions(pred_dir / f"test-{lang}.{ext}", rows, predictions)
            fmt.write_labels(label_dir / f"test-{lang}.{ext}", rows)
        events.write("evaluated", task=task.name, lang=lang, examples=len(rows))
        del predictions  # memory must not grow with the number of languages
    accelerator.wait_for_everyone()  # every process scores the files the main process wrote
    # A subset (target.languages) is scored from its own files only: files of other languages
    # left in the run folder by an earlier run must not enter its numbers.
    if _in_benchmark(task, bench) and not target.get("languages"):
        report = score_folder(
            run_dir / "predictions",
            run_dir / "labels",
            benchmark=bench.replace("_", "-"),
            tasks=[task.name],
        )
        detailed = report["detailed_scores"][task.name]
    else:
        detailed = _score_outside_benchmark(task, run_dir, languages, ext)
    records = [
        {"task": task.name, "lang": lang, "split": split, "metric": metric, "value": value}
        for metric, per_lang in detailed.items()
        if isinstance(per_lang, dict)
        for lang, value in per_lang.items()
    ]
    return records, detailed


def finish_scores(
    cfg: Mapping[str, Any],
    records: list[dict[str, Any]],
    detailed: Mapping[str, Any],
    seen: Sequence[str] = (),
) -> dict[str, Any]:
    """Marks every record ``comparable`` (with ``why``) and returns the target's summary entry
    (``avg_metric`` only when every language of the benchmark was scored)."""
    target = cfg["target"]
    task = get_task(target["task"])
    bench, all_languages = evaluation_languages(task, str(cfg["benchmark"]["name"]))
    comparability.mark_records(
        records, task, cfg["data"], _in_benchmark(task, bench), trained_languages=seen
    )
    return comparability.summarize(task, records, detailed.get("avg_metric"), all_languages)


def check_data_source(cfg: Mapping[str, Any]) -> None:
    """Before any training: a source that cannot give the benchmark's task is refused
    (Hub BUCC) unless ``target.allow_noncomparable=true``."""
    target = cfg["target"]
    comparability.refuse_noncomparable_source(get_task(target["task"]), cfg["data"], target)


def flag_seen_languages(records: list[dict[str, Any]], seen: list[str]) -> None:
    """Marks the score records of languages whose task data were trained on
    (``"seen_in_training": true``): those scores are not zero-shot. Training on English alone is
    the zero-shot setting itself (English is its source language), so nothing is marked then."""
    if not set(seen) - {"en"}:
        return
    for record in records:
        if record["lang"] in seen:
            record["seen_in_training"] = True
