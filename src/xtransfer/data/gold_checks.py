"""Refusing test sets whose gold labels were blanked.

XTREME's ``download_data.sh`` writes the XCOPA test files with every label set to 0 (and other
preparations strip test labels to a constant), so a classification or multiple-choice test set
whose labels are all equal is not gold: scoring it would report the share of one class as
accuracy. Span QA and Mewsli-X make the same check in their formats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xtransfer.errors import UserError
from xtransfer.tasks.registry import TaskSpec

# Formats with one label per example, where one constant label over a test set cannot be gold.
LABEL_FORMATS = ("classification", "multiple_choice")
# Below this, a test set with one label may be real (a tiny user task); XCOPA has 500 per language.
MIN_ROWS = 20

_DEFAULT_HINT = "restore the gold labels from the original release of the data"


def refuse_blanked_gold(task: TaskSpec, split: str, rows: Sequence[dict[str, Any]], where: str):
    """One line naming the file and how to restore its labels when every test label is equal."""
    if split != "test" or task.format not in LABEL_FORMATS or len(rows) < MIN_ROWS:
        return
    labels = {row.get("label") for row in rows}
    if len(labels) == 1:
        (only,) = labels
        name = task.labels[only] if task.labels and isinstance(only, int) else only
        hint = task.raw.get("blanked_gold_hint") or _DEFAULT_HINT
        raise UserError(
            f"{where}: every one of the {len(rows)} {task.name} test labels is {name!r}: the gold "
            f"labels were blanked (not scorable); {hint}"
        )
