"""Plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def language_table(task: str, records: Sequence[dict[str, Any]], average: float | None) -> str:
    """One row per language, one column per metric, and the task average underneath."""
    metrics = list(dict.fromkeys(r["metric"] for r in records if r["task"] == task))
    langs = list(dict.fromkeys(r["lang"] for r in records if r["task"] == task))
    value = {(r["lang"], r["metric"]): r["value"] for r in records if r["task"] == task}
    width = max(8, *(len(m) for m in metrics))
    header = f"{'lang':<6}" + "".join(f"{m:>{width + 2}}" for m in metrics)
    lines = [f"{task}: zero-shot scores", header, "-" * len(header)]
    for lang in langs:
        cells = "".join(f"{value.get((lang, m), float('nan')):>{width + 2}.2f}" for m in metrics)
        lines.append(f"{lang:<6}{cells}")
    lines.append("-" * len(header))
    if average is not None:
        lines.append(f"{'avg':<6}{average:>{width + 2}.2f}   ({len(langs)} languages)")
    return "\n".join(lines)
