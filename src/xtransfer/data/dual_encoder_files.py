"""Readers of the XTREME-R dual-encoder retrieval files (LAReQA's XQuAD-R, Mewsli-X).

* ``lareqa_json``: XQuAD-R / MLQA-R JSON (google-research-datasets/lareqa, also XTREME's
  ``download/lareqa/xquad-r/{lang}.json``): SQuAD v1.1 JSON whose paragraphs also carry
  ``sentence_breaks`` (``[[start, end], ...]`` character offsets). Rows are the SQuAD reader's
  (``id, title, context, question, answers``) plus the paragraph's ``sentence_breaks``, so the
  candidate sentences are the official ones, not a re-split of the context.
* ``mewslix_jsonl``: Mewsli-X JSONL in the schema of google-research's ``mewsli_x/schema.py``
  (docs/xtreme-download-layout.md §2.9). Entity lines and MentionEntityPair lines are returned
  as they are; a ContextualMentions line (``{"context", "mentions": [...]}``, XTREME's
  ``wikinews_mentions``) becomes one ``{"context", "mention"}`` row per mention, the shape of
  the Hub's per-language configs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xtransfer.data.readers import read_jsonl
from xtransfer.data.squad_json import read_squad_json
from xtransfer.errors import UserError


def read_lareqa_json(path: Path) -> list[dict[str, Any]]:
    """Questions of an XQuAD-R file, each with its paragraph's ``sentence_breaks``."""
    path = Path(path)
    rows = read_squad_json(path)  # validates the SQuAD structure, reports errors by file
    document = json.loads(path.read_text(encoding="utf-8-sig"))
    articles = document.get("data") if isinstance(document, dict) else document
    breaks: list[Any] = []  # one entry per question, in the reader's order
    for article in articles:
        for paragraph in article["paragraphs"]:
            spans = paragraph.get("sentence_breaks")
            if spans is not None and not (
                isinstance(spans, list) and all(isinstance(s, list) and len(s) == 2 for s in spans)
            ):
                raise UserError(f"{path}: a paragraph's sentence_breaks is not [[start, end], ...]")
            breaks.extend([spans or []] * len(paragraph["qas"]))
    for row, spans in zip(rows, breaks, strict=True):
        row["sentence_breaks"] = spans
    return rows


def read_mewslix_jsonl(path: Path) -> list[dict[str, Any]]:
    """Mewsli-X lines; ContextualMentions are split into one row per mention."""
    rows: list[dict[str, Any]] = []
    for number, record in enumerate(read_jsonl(Path(path)), start=1):
        if not isinstance(record, dict):
            raise UserError(f"{path}:{number}: not a JSON object")
        if "mentions" in record and "context" in record:
            rows.extend({"context": record["context"], "mention": m} for m in record["mentions"])
        else:
            rows.append(record)
    return rows
