"""Readers for the XTREME submission formats (prediction and label files alike).

Every reader raises :class:`~xtransfer.errors.UserError` naming the file when the file is missing,
not UTF-8, or not in the expected shape, so that the CLI can print one line instead of a traceback.

Line handling follows the official ``evaluate.py``: files are read in text mode with universal
newlines (``\\n``, ``\\r\\n`` and ``\\r`` all end a line) and every line is ``str.strip()``-ed.
``str.splitlines`` is deliberately not used: it would also split on form feeds, U+2028 and other
characters that the official reader keeps inside a line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError


def _lines(path: Path) -> Iterator[str]:
    """Raw lines of ``path`` (newline translated, not yet stripped)."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        with path.open(encoding="utf-8") as handle:
            yield from handle
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def read_lines(path: Path) -> list[str]:
    """One stripped entry per physical line, empty lines included (official ``read_label``).

    A trailing newline does not add an entry, but a trailing *empty line* does, exactly as in the
    official reader; line counts of prediction and label files are compared afterwards.
    """
    return [line.strip() for line in _lines(path)]


def read_tag_sentences(path: Path) -> list[list[str]]:
    """Sentences of a tagging file: one tag per line, an empty line closes a sentence.

    Mirrors the official ``read_tag``: each empty line closes the current sentence even when it is
    empty (so two empty lines in a row make an empty sentence), and a last sentence without a
    closing empty line is kept. A line is the tag as a whole, after stripping.
    """
    sentences: list[list[str]] = []
    current: list[str] = []
    for raw in _lines(path):
        line = raw.strip()
        if line:
            current.append(line)
        else:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def read_json(path: Path) -> Any:
    """The parsed JSON document in ``path``."""
    text = "".join(_lines(path))
    if not text.strip():
        raise UserError(f"{path}: empty file, expected JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(
            f"{path}: malformed JSON ({err.msg} at line {err.lineno} column {err.colno})"
        ) from None


def read_jsonl(path: Path) -> list[Any]:
    """One parsed JSON value per non-blank line (blank lines, e.g. a final one, are skipped)."""
    records = []
    for number, raw in enumerate(_lines(path), start=1):
        if not raw.strip():
            continue
        try:
            records.append(json.loads(raw))
        except json.JSONDecodeError as err:
            raise UserError(f"{path}: malformed JSON on line {number} ({err.msg})") from None
    return records


def read_squad_articles(path: Path) -> list[dict[str, Any]]:
    """The articles of a SQuAD-format label file: ``{"data": [...]}`` or a bare list of articles.

    The structure is validated here (articles → paragraphs → qas with ``id`` and ``answers``) so
    that a broken label file is reported by name instead of failing deep inside a metric.
    """
    document = read_json(path)
    articles = document.get("data") if isinstance(document, dict) else document
    if not isinstance(articles, list):
        raise UserError(f"{path}: not SQuAD format (expected {{'data': [...]}} or a list)")
    for article in articles:
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise UserError(f"{path}: not SQuAD format (an article has no 'paragraphs' list)")
        for paragraph in paragraphs:
            qas = paragraph.get("qas") if isinstance(paragraph, dict) else None
            if not isinstance(qas, list):
                raise UserError(f"{path}: not SQuAD format (a paragraph has no 'qas' list)")
            for qa in qas:
                if not isinstance(qa, dict) or "id" not in qa:
                    raise UserError(f"{path}: not SQuAD format (a question has no 'id')")
                answers = qa.get("answers")
                if not isinstance(answers, list) or not all(
                    isinstance(a, dict) and isinstance(a.get("text"), str) for a in answers
                ):
                    raise UserError(
                        f"{path}: question {qa['id']!r} has no valid 'answers' list "
                        "(each answer needs a 'text' string)"
                    )
    return articles


def read_answer_predictions(path: Path) -> dict[str, str]:
    """A QA prediction file: ``{"<question id>": "answer text", ...}``."""
    document = read_json(path)
    if not isinstance(document, dict):
        raise UserError(f"{path}: expected a JSON object mapping question ids to answer strings")
    for qid, answer in document.items():
        if not isinstance(answer, str):
            raise UserError(
                f"{path}: the answer of question {qid!r} is {type(answer).__name__}, not a string"
            )
    return document


def read_ranked_lists(path: Path) -> dict[str, list[str]]:
    """A ranking file: ``{"<example id>": ["id1", "id2", ...], ...}`` (predictions or gold)."""
    document = read_json(path)
    if not isinstance(document, dict):
        raise UserError(f"{path}: expected a JSON object mapping example ids to lists of ids")
    for key, value in document.items():
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UserError(f"{path}: the value of {key!r} is not a list of strings")
    return document


def read_jsonl_labels(path: Path, field: str = "label") -> list[Any]:
    """The ``field`` value of every record of a JSONL file (XCOPA predictions and labels)."""
    values = []
    for number, record in enumerate(read_jsonl(path), start=1):
        if not isinstance(record, dict) or field not in record:
            raise UserError(f"{path}: record {number} has no {field!r} field")
        values.append(record[field])
    return values
