"""Task formats: each owns featurisation, head, loss, decoding and prediction files.

A format is looked up by the catalogue's ``format`` field; adding a task of an existing format is
a catalogue entry, not code.
"""

from __future__ import annotations

from xtransfer.errors import UserError
from xtransfer.tasks.formats.base import TaskFormat
from xtransfer.tasks.formats.classification import ClassificationFormat

FORMATS: dict[str, type[TaskFormat]] = {
    "classification": ClassificationFormat,
}


def get_format(name: str) -> type[TaskFormat]:
    if name not in FORMATS:
        raise UserError(
            f"task format {name!r} cannot be trained yet; trainable formats: "
            f"{', '.join(sorted(FORMATS))}"
        )
    return FORMATS[name]
