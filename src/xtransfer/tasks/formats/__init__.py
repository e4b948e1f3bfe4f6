"""Task formats: each owns featurisation, head, loss, decoding and prediction files.

A format is looked up by the catalogue's ``format`` field; adding a task of an existing format is
a catalogue entry, not code. Formats are imported lazily, only when a task of theirs runs.
"""

from __future__ import annotations

import importlib

from xtransfer.errors import UserError

# format name -> "module:class"
FORMATS: dict[str, str] = {
    "classification": "xtransfer.tasks.formats.classification:ClassificationFormat",
    "span_qa": "xtransfer.tasks.formats.span_qa:SpanQAFormat",
    "tagging": "xtransfer.tasks.formats.tagging:TaggingFormat",
    "multiple_choice": "xtransfer.tasks.formats.multiple_choice:MultipleChoiceFormat",
    "retrieval": "xtransfer.tasks.formats.retrieval:RetrievalFormat",
    "bitext_mining": "xtransfer.tasks.formats.retrieval:BitextMiningFormat",
    "feats_tagging": "xtransfer.tasks.formats.feats_tagging:FeatsTaggingFormat",
    "image_text": "xtransfer.tasks.formats.image_text:ImageTextFormat",
    "dual_encoder_retrieval": "xtransfer.tasks.formats.dual_encoder:DualEncoderFormat",
    "mlm": "xtransfer.tasks.formats.mlm:MLMFormat",
}


def get_format(name: str):
    """The TaskFormat class of ``name``."""
    if name not in FORMATS:
        raise UserError(
            f"task format {name!r} cannot be trained; trainable formats: "
            f"{', '.join(sorted(FORMATS))}"
        )
    module, cls = FORMATS[name].split(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ModuleNotFoundError as err:
        if err.name == module:
            raise UserError(f"task format {name!r} is not implemented yet") from None
        raise
