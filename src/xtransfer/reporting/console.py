"""Plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import fmean
from typing import Any


def language_table(
    task: str,
    records: Sequence[dict[str, Any]],
    average: float | None,
    summary: Mapping[str, Any] | None = None,
) -> str:
    """One row per language, one column per metric; underneath, each metric's mean in its own
    column (QA: EM and F1) and the official ``average`` (``avg_metric``: (EM + F1) / 2 for QA,
    the primary metric otherwise; results.headline is the same number). Languages
    whose task data were trained on (``seen_in_training``) get a ``seen`` column: not zero-shot.
    Scores not comparable to the published benchmark (``comparable: false``) are marked ``*``
    and their reasons listed; a task average over a subset of languages is left out."""
    summary = summary or {}
    metrics = list(dict.fromkeys(r["metric"] for r in records if r["task"] == task))
    langs = list(dict.fromkeys(r["lang"] for r in records if r["task"] == task))
    value = {(r["lang"], r["metric"]): r["value"] for r in records if r["task"] == task}
    seen = {r["lang"] for r in records if r["task"] == task and r.get("seen_in_training")}
    why = {r["lang"]: r["why"] for r in records if r["task"] == task and r.get("why")}
    width = max(8, *(len(m) for m in metrics))
    header = f"{'lang':<6}" + "".join(f"{m:>{width + 2}}" for m in metrics)
    header += "  seen" if seen else ""
    lines = [f"{task}: zero-shot scores", header, "-" * len(header)]
    for lang in langs:
        cells = "".join(f"{value.get((lang, m), float('nan')):>{width + 2}.2f}" for m in metrics)
        mark = ("  yes" if lang in seen else "     " if seen else "") + (
            " *" if lang in why else ""
        )
        lines.append(f"{lang:<6}{cells}{mark}".rstrip())
    lines.append("-" * len(header))
    if average is not None:
        star = "" if summary.get("comparable", True) else " *"
        means = "".join(
            f"{fmean(value[(lang, m)] for lang in langs if (lang, m) in value):>{width + 2}.2f}"
            for m in metrics
        )
        lines.append(f"{'avg':<6}{means}   ({len(langs)} languages){star}")
        rule = " = (EM + F1) / 2" if {"exact_match", "f1"} <= set(metrics) else ""
        lines.append(f"avg_metric {average:.2f}{star}   (the official task average{rule})")
    elif summary.get("subset_avg_metric") is not None:
        lines.append(
            f"{'avg':<6}{'-':>{width + 2}}   left out: {len(langs)} of "
            f"{summary.get('languages_of_benchmark')} languages scored (the task average needs "
            f"every language; their mean is {summary['subset_avg_metric']:.2f}) *"
        )
    if seen:
        lines.append(
            f"seen: trained on {', '.join(sorted(seen))} task data (not zero-shot for them)"
        )
    if why or not summary.get("comparable", True):
        lines.append("* not comparable to the published benchmark numbers:")
        by_reason: dict[str, list[str]] = {}
        for lang, reason in why.items():
            by_reason.setdefault(reason, []).append(lang)
        for reason, codes in by_reason.items():
            lines.append(f"  {' '.join(codes)}: {reason}")
        if summary.get("subset_avg_metric") is not None:
            lines.append("  avg: only some languages were scored (target.languages)")
    return "\n".join(lines)
