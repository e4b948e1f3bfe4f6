"""``results.json``: its schema, its one writer, its one reader, and the one headline rule.

Every part of xtransfer that writes or reads a run's results goes through this module, so the
file has one shape (SPEC §8) and one "headline number" per task: the official ``avg_metric`` of
the scorer ((EM + F1) / 2 for extractive QA, else the task's primary metric). Torch-free: the
table, study and cache commands read results without loading a model.

Schema versions: 1 = the content written before versioning plus ``schema_version``. A file
without the field was written before it and reads as version 0 (same content).
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError

SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"

# The named fields in the order they are written; ``None`` means "not in this file" (a run
# writes the identity fields, ``xtransfer evaluate`` writes ``checkpoint`` instead).
_OPTIONAL = (
    "xtransfer_version",
    "run_key",
    "config",
    "base",
    "checkpoint",
    "model",
    "seed",
    "target_seed",
    "benchmark",
    "data",
    "intermediate",
    "target",
)
_AFTER_PHASES = ("precision", "languages_seen_in_training", "data_revisions")


@dataclass
class Results:
    """One run's results. ``scores`` holds one record per (task, language, metric) with
    ``task``, ``lang``, ``split``, ``metric``, ``value`` (and ``comparable``/``why``/
    ``seen_in_training``); ``summary`` maps a target task to its ``avg_metric``, ``languages``,
    ``comparable``... ``extra`` keeps keys this schema does not name (e.g. ``udpos_words``)."""

    scores: list[dict[str, Any]]
    summary: dict[str, dict[str, Any]]
    phases: list[dict[str, Any]] = field(default_factory=list)
    xtransfer_version: str | None = None
    # Identity: skip-if-done compares run_key; config is what the key covers.
    run_key: str | None = None
    config: dict[str, Any] | None = None
    base: dict[str, Any] | None = None
    checkpoint: str | None = None  # `xtransfer evaluate`: the checkpoint that was scored
    model: str | None = None
    seed: int | None = None
    target_seed: int | None = None
    benchmark: str | None = None
    data: str | None = None
    intermediate: str | None = None
    target: str | None = None
    precision: str | None = None  # trainer.precision as resolved on the machine that ran
    # Languages of the labelled training data of every phase (not MLM text); None = not recorded.
    languages_seen_in_training: list[str] | None = None
    # The commit of every Hub dataset revision read (data.revision.<owner>__<name> pins).
    data_revisions: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The file's content: the keys present, in the order they have always been written."""
        out: dict[str, Any] = {}
        if self.schema_version:  # 0: read from a file written before the field existed
            out["schema_version"] = self.schema_version
        for name in _OPTIONAL:
            if (value := getattr(self, name)) is not None:
                out[name] = value
        out["phases"] = self.phases
        for name in _AFTER_PHASES:
            if (value := getattr(self, name)) is not None:
                out[name] = value
        out["scores"] = self.scores
        out["summary"] = self.summary
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, content: Any, source: str = "results") -> Results:
        """Parses a results mapping; a missing or mistyped field: UserError naming ``source``."""
        if not isinstance(content, dict):
            raise UserError(f"{source}: not an xtransfer results file (not a JSON object)")
        data = dict(content)
        for name, kind in (("scores", list), ("summary", dict)):
            if name not in data:
                raise UserError(f"{source}: not an xtransfer results file (no {name!r})")
            if not isinstance(data[name], kind):
                raise UserError(f"{source}: {name!r} is not a {kind.__name__}")
        if not all(isinstance(s, dict) for s in data["scores"]) or not all(
            isinstance(v, dict) for v in data["summary"].values()
        ):
            raise UserError(f"{source}: 'scores' and 'summary' entries must be JSON objects")
        version = data.pop("schema_version", 0)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise UserError(
                f"{source}: schema_version {version!r} is newer than this xtransfer reads "
                f"(up to {SCHEMA_VERSION}); upgrade xtransfer"
            )
        named = {name: data.pop(name, None) for name in (*_OPTIONAL, *_AFTER_PHASES)}
        return cls(
            scores=data.pop("scores"),
            summary=data.pop("summary"),
            phases=data.pop("phases", None) or [],
            extra=data,
            schema_version=version,
            **named,
        )


def write_results(path: Path, results: Results | Mapping[str, Any]) -> Path:
    """Writes ``results.json`` atomically (a temporary file, then a rename: a reader never sees
    half a file, and a crash leaves the previous one). The file always carries the current
    ``schema_version`` (results read from an older file are written as today's version)."""
    path = Path(path)
    if not isinstance(results, Results):
        results = Results.from_dict(dict(results), str(path))
    content = replace(results, schema_version=SCHEMA_VERSION).to_dict()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(content, indent=2, ensure_ascii=False), "utf-8")
    os.replace(tmp, path)
    return path


def read_results(path: Path) -> Results:
    """The results in ``path``; an unreadable file, invalid JSON or a missing field is a
    UserError naming the file."""
    path = Path(path)
    try:
        content = json.loads(path.read_text("utf-8"))
    except OSError as err:
        raise UserError(f"{path}: cannot be read ({err.strerror or type(err).__name__})") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: not valid JSON ({err.msg})") from None
    return Results.from_dict(content, str(path))


# ---- the headline rule ---------------------------------------------------------------------------


def _as_mapping(results: Results | Mapping[str, Any]) -> Mapping[str, Any]:
    return results.to_dict() if isinstance(results, Results) else results


def _per_language(results: Mapping[str, Any], task: str) -> dict[str, dict[str, float]]:
    per_lang: dict[str, dict[str, float]] = {}
    for rec in results.get("scores", []):
        if rec.get("task") == task:
            per_lang.setdefault(str(rec["lang"]), {})[str(rec["metric"])] = float(rec["value"])
    return per_lang


def _official_average(task: str, per_language: dict[str, dict[str, float]]) -> float | None:
    """The scorer's ``avg_metric`` over these languages (the scorer and the catalogue's
    ``metric:`` hold the rule: it is not copied here); for a task the scorer cannot name a
    headline for (no longer in the catalogue, no headline outputs recorded), its first metric's
    mean."""
    from xtransfer.evaluation.scoring import task_entry

    if not per_language:
        return None
    try:
        entry = task_entry(task, per_language)
    except UserError:  # a task this installation does not know (a results file from elsewhere)
        entry = {}
    if "avg_metric" in entry:
        return float(entry["avg_metric"])
    first = next(iter(next(iter(per_language.values()))))
    return statistics.fmean(s[first] for s in per_language.values() if first in s)


def headline(results: Results | Mapping[str, Any], task: str) -> float | None:
    """The task's headline number: the official ``avg_metric`` recorded by the run; for a run
    over a subset of the benchmark's languages (no ``avg_metric``), the same average over that
    subset; for a file that records neither, the scorer's rule applied to its scores."""
    results = _as_mapping(results)
    summary = results.get("summary", {}).get(task) or {}
    for key in ("avg_metric", "subset_avg_metric"):
        if summary.get(key) is not None:
            return float(summary[key])
    return _official_average(task, _per_language(results, task))


def language_headlines(results: Results | Mapping[str, Any], task: str) -> dict[str, float]:
    """{language: the headline rule applied to that language alone} ((EM + F1) / 2 for QA), so
    that their mean over all languages is the task's ``avg_metric``."""
    per_lang = _per_language(_as_mapping(results), task)
    values = {lang: _official_average(task, {lang: s}) for lang, s in per_lang.items()}
    return {lang: value for lang, value in values.items() if value is not None}


def metric_means(results: Results | Mapping[str, Any], task: str) -> dict[str, float]:
    """{metric: its mean over the task's languages} (QA: exact_match and f1 each)."""
    per_metric: dict[str, list[float]] = {}
    for scores in _per_language(_as_mapping(results), task).values():
        for metric, value in scores.items():
            per_metric.setdefault(metric, []).append(value)
    return {metric: statistics.fmean(values) for metric, values in per_metric.items()}
