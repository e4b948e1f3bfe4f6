"""Whether a score can be set beside the published XTREME / XTREME-R number for it.

A score is *comparable* when its test set and protocol are the benchmark's: the same test
examples (not a Hub copy that pools other treebanks or lacks the distractors, not syntactic-word
UD-POS), the test split, English-only labelled training (the zero-shot setting), and, for a
task average, every language of the benchmark. Everything that breaks this is recorded as
``comparable: false`` with a one-line ``why``; the reasons that depend on a source's data live
in the task catalogue (``not_comparable: {<source>: {"*" | <lang>: why}}``).

Imports nothing heavy: `xtransfer table` uses it too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from xtransfer.errors import UserError
from xtransfer.tasks.registry import TaskSpec

log = logging.getLogger(__name__)

ALL_LANGUAGES = "*"


def _catalogue_reason(task: TaskSpec, source: str, lang: str) -> str | None:
    entry = ((task.raw.get("not_comparable") or {}).get(source)) or {}
    return entry.get(lang) or entry.get(ALL_LANGUAGES)


def _udpos_local_reason(task: TaskSpec, split: str, data_cfg: Mapping[str, Any]) -> str | None:
    """UD-POS from local files: comparable only when built from a UD release with fused tokens."""
    spec = (task.raw.get("splits") or {}).get(split) or {}
    if not (spec.get("local") or {}).get("ud_release"):
        return None
    from xtransfer.data.ud_xtreme import word_mode

    named = ((data_cfg.get("files") or {}).get(task.name) or {}).get(split)
    mode = word_mode(data_cfg, default="syntactic" if named else "xtreme")
    if mode == "syntactic":
        return (
            "UD-POS read as syntactic words (data.udpos.words=syntactic); XTREME keeps each "
            "multiword token's surface form"
        )
    if named:
        return (
            "one CoNLL-U file per language (data.files); XTREME pools every UD treebank of the "
            "language (data.ud_root=DIR builds that set)"
        )
    return None


def score_reason(
    task: TaskSpec,
    lang: str,
    split: str,
    data_cfg: Mapping[str, Any],
    in_benchmark: bool,
    trained_languages: Sequence[str] = (),
) -> str | None:
    """Why the score of ``task`` in ``lang`` is not comparable to the published one, or None."""
    if not in_benchmark:
        return "not a task of a published benchmark"
    source = str(data_cfg.get("source"))
    if source == "embedded":
        return "embedded demo sample (data=embedded), not the benchmark's test set"
    if split != "test":
        return f"scored on the {split!r} split, not the test set"
    other = sorted(set(trained_languages) - {"en"})
    if other:
        return (
            f"trained on non-English task data ({', '.join(other)}: translate-train or target "
            "language data); the published numbers are zero-shot from English"
        )
    reason = _catalogue_reason(task, source, lang)
    if reason is None and source == "local":
        reason = _udpos_local_reason(task, split, data_cfg)
    return reason


def mark_records(
    records: list[dict[str, Any]],
    task: TaskSpec,
    data_cfg: Mapping[str, Any],
    in_benchmark: bool,
    trained_languages: Sequence[str] = (),
) -> None:
    """Adds ``comparable`` (and ``why`` when false) to every score record."""
    for record in records:
        why = score_reason(
            task, record["lang"], record["split"], data_cfg, in_benchmark, trained_languages
        )
        record["comparable"] = why is None
        if why is not None:
            record["why"] = why


def summarize(
    task: TaskSpec,
    records: Sequence[dict[str, Any]],
    avg_metric: float | None,
    benchmark_languages: Sequence[str],
) -> dict[str, Any]:
    """The task's summary entry: ``avg_metric`` only over every language of the benchmark (a
    subset's mean is kept as ``subset_avg_metric``), and whether it is comparable."""
    scored = list(dict.fromkeys(r["lang"] for r in records if r["task"] == task.name))
    summary: dict[str, Any] = {"avg_metric": avg_metric, "languages": len(scored)}
    reasons = list(
        dict.fromkeys(r["why"] for r in records if r["task"] == task.name and r.get("why"))
    )
    if set(scored) < set(benchmark_languages):
        summary["avg_metric"] = None
        summary["subset_avg_metric"] = avg_metric
        summary["languages_of_benchmark"] = len(benchmark_languages)
        reasons.insert(
            0,
            f"{len(scored)} of {len(benchmark_languages)} languages scored (target.languages): "
            "the task average needs every language",
        )
    summary["comparable"] = not reasons
    if reasons:
        summary["why"] = "; ".join(reasons)
    return summary


def warn_contaminated(task: TaskSpec, data_cfg: Mapping[str, Any], languages: Sequence[str]):
    """One warning line naming the languages a source's catalogue entry singles out."""
    entry = ((task.raw.get("not_comparable") or {}).get(str(data_cfg.get("source")))) or {}
    named = [lang for lang in languages if lang in entry and lang != ALL_LANGUAGES]
    if named:
        log.warning(
            "%s from data=%s: %s pool other languages' data; their scores are marked "
            "comparable=false (results.json `why`)",
            task.name,
            data_cfg.get("source"),
            ", ".join(named),
        )


def refuse_noncomparable_source(
    task: TaskSpec, data_cfg: Mapping[str, Any], target: Mapping[str, Any]
) -> None:
    """Sources that cannot give the benchmark's score at all (Hub BUCC: no distractors) are
    refused unless ``target.allow_noncomparable=true`` (the scores are then marked)."""
    source = str(data_cfg.get("source"))
    refused = (task.raw.get("not_comparable") or {}).get("refuse") or []
    if source in refused and not target.get("allow_noncomparable"):
        reason = _catalogue_reason(task, source, ALL_LANGUAGES)
        raise UserError(
            f"{task.name} from data={source} is not the benchmark's task ({reason}); use the "
            f"original files (data=xtreme_dir or data=local), or target.allow_noncomparable=true "
            "to score it anyway, marked comparable=false"
        )
