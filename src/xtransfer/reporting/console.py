"""Plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def language_table(task: str, records: Sequence[dict[str, Any]], average: float | None) -> str:
    """One row per language, one column per metric, and the task average underneath. Languages
    whose task data were trained on (``seen_in_training``) get a ``seen`` column: not zero-shot."""
    metrics = list(dict.fromkeys(r["metric"] for r in records if r["task"] == task))
    langs = list(dict.fromkeys(r["lang"] for r in records if r["task"] == task))
    value = {(r["lang"], r["metric"]): r["value"] for r in records if r["task"] == task}
    seen = {r["lang"] for r in records if r["task"] == task and r.get("seen_in_training")}
    width = max(8, *(len(m) for m in metrics))
    header = f"{'lang':<6}" + "".join(f"{m:>{width + 2}}" for m in metrics)
    header += "  seen" if seen else ""
    lines = [f"{task}: zero-shot scores", header, "-" * len(header)]
    for lang in langs:
        cells = "".join(f"{value.get((lang, m), float('nan')):>{width + 2}.2f}" for m in metrics)
        mark = "  yes" if lang in seen else ""
        lines.append(f"{lang:<6}{cells}{mark}")
    lines.append("-" * len(header))
    if average is not None:
        lines.append(f"{'avg':<6}{average:>{width + 2}.2f}   ({len(langs)} languages)")
    if seen:
        lines.append(
            f"seen: trained on {', '.join(sorted(seen))} task data (not zero-shot for them)"
        )
    return "\n".join(lines)
