"""The training rows of one task in a phase: every training language's data, concatenated.

Shared by the trainer and `xtransfer plan`, so the example counts a plan prints are the ones
training uses.
"""

from __future__ import annotations

from typing import Any

from xtransfer.data.sources import load_rows, load_text
from xtransfer.tasks.registry import get_task


def train_rows(plan: Any, data_cfg: Any, cap: int | None = None) -> list[dict[str, Any]]:
    """Rows of ``plan.train_refs`` (a ``TaskPlan``) in order; ``cap`` (trainer.max_train_examples)
    applies to each language, so a capped mixed-language run keeps every language."""
    rows: list[dict[str, Any]] = []
    corpus = getattr(plan, "corpus", None)
    for ref in plan.train_refs:
        if corpus is not None:  # plain text (mlm), from the task's own corpus settings
            part = load_text(corpus, ref.lang)
        else:
            part = load_rows(get_task(ref.task), ref.split, ref.lang, data_cfg)
        rows.extend(part[: int(cap)] if cap else part)
    return rows
