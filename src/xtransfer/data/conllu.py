"""Readers of word-per-line tagging files: CoNLL-U (Universal Dependencies) and the two-column
``word<TAB>tag`` files of the XTREME download layout (UD-POS, PAN-X).

Both return one row per sentence in the Hub schema of their task family (``tokens`` plus
``pos_tags`` / ``ner_tags``, see docs/hub-schemas.md), so one catalogue ``columns`` entry maps
every source. Malformed input is a :class:`UserError` naming the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError

_CONLLU_FIELDS = 10  # ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC
_ID, _FORM, _UPOS, _FEATS = 0, 1, 3, 5
_RANGE_ID = re.compile(r"^[1-9][0-9]*-[1-9][0-9]*$")  # multiword token, e.g. "1-2"
_EMPTY_NODE_ID = re.compile(r"^[0-9]+\.[1-9][0-9]*$")  # enhanced-UD empty node, e.g. "5.1"
_WORD_ID = re.compile(r"^[1-9][0-9]*$")

# The raw PAN-X (WikiANN, Rahimi et al.) release writes every token as "<lang>:<token>".
_LANG_PREFIX = re.compile(r"^([a-z]{2,3}(?:-[a-z]+)*):")


def _read_text_lines(path: Path) -> list[str]:
    """Lines without their terminator; only ``\\n``/``\\r\\n`` end a line (tokens may contain
    other Unicode line-like characters such as U+2028, which ``str.splitlines`` would split)."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline does not start another line
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def read_conllu(path: Path) -> list[dict[str, Any]]:
    """Sentences of a CoNLL-U file as ``{"tokens", "pos_tags", "feats"}`` rows.

    ``tokens`` are the syntactic words (FORM), ``pos_tags`` their UPOS strings and ``feats``
    their FEATS strings (``Case=Nom|Number=Sing`` or ``_``), for morphology tagging.
    Comment lines, multiword-token lines (``1-2 zum``: their words follow on their own lines)
    and empty nodes (``5.1``: not part of the basic tree) are skipped, so every word of the
    sentence is kept exactly once, in order. Note that XTREME's own UD-POS files instead keep a
    multiword token's surface form with one tag, so word counts of languages with contractions
    (fr, es, it, de, pt, ar, tr, ...) differ from theirs.
    """
    path = Path(path)
    rows: list[dict[str, Any]] = []
    tokens: list[str] = []
    tags: list[str] = []
    feats: list[str] = []

    def close() -> None:
        if tokens:
            rows.append({"tokens": list(tokens), "pos_tags": list(tags), "feats": list(feats)})
        tokens.clear()
        tags.clear()
        feats.clear()

    for line_no, line in enumerate(_read_text_lines(path), start=1):
        if not line.strip():
            close()
            continue
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != _CONLLU_FIELDS:
            raise UserError(
                f"{path}:{line_no}: malformed CoNLL-U line: {len(fields)} TAB-separated fields, "
                f"expected {_CONLLU_FIELDS}"
            )
        word_id = fields[_ID]
        if _RANGE_ID.match(word_id) or _EMPTY_NODE_ID.match(word_id):
            continue
        if not _WORD_ID.match(word_id):
            raise UserError(f"{path}:{line_no}: malformed CoNLL-U word id {word_id!r}")
        # Word ids restart at 1 in every sentence and have no gaps: anything else means lost
        # or merged sentences, which would silently misalign words and tags.
        if int(word_id) != len(tokens) + 1:
            raise UserError(
                f"{path}:{line_no}: word id {word_id} out of sequence (expected {len(tokens) + 1}; "
                "is a blank line between sentences missing?)"
            )
        form, upos = fields[_FORM], fields[_UPOS]
        if not form or not upos or upos == "_":
            raise UserError(f"{path}:{line_no}: word {word_id} has no FORM or no UPOS tag")
        tokens.append(form)
        tags.append(upos)
        feats.append(fields[_FEATS] or "_")
    close()
    return rows


def read_conll_tsv(path: Path) -> list[dict[str, Any]]:
    """A two-column tagging file of the XTREME download layout: ``word<TAB>tag`` per line (or
    ``word`` alone in the unlabelled test files), one empty line between sentences.

    Fields are split on TAB only (tokens can contain other whitespace). The file format does
    not say which task it belongs to, so the tags are given under both Hub column names,
    ``pos_tags`` (UD-POS) and ``ner_tags`` (PAN-X), and the catalogue's ``columns`` picks one;
    a test file without tags yields rows with ``tokens`` only (scoring then reports the missing
    column). The ``<lang>:`` prefix that the raw PAN-X release puts on every token is removed
    (and kept as ``langs``, as on the Hub) when every token of the file carries the same one.
    """
    path = Path(path)
    sentences: list[list[list[str]]] = []
    current: list[list[str]] = []
    widths: set[int] = set()
    for line_no, line in enumerate(_read_text_lines(path), start=1):
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        fields = line.split("\t")
        if len(fields) > 2:
            raise UserError(
                f"{path}:{line_no}: malformed tagging line: {len(fields)} TAB-separated fields, "
                "expected word<TAB>tag or word"
            )
        if len(fields) == 2 and not fields[1].strip():
            raise UserError(f"{path}:{line_no}: empty tag")
        widths.add(len(fields))
        if len(widths) > 1:
            raise UserError(
                f"{path}:{line_no}: lines with and without a tag column are mixed in one file"
            )
        current.append(fields)
    if current:
        sentences.append(current)

    prefix = _common_language_prefix(sentences)
    rows: list[dict[str, Any]] = []
    for sentence in sentences:
        # As XTREME's preprocessing does: the text after "<lang>:", stripped. A token may end
        # up empty; it is kept (every gold tag is scored) and the tagging format predicts it.
        tokens = [f[0][len(prefix) + 1 :].strip() if prefix else f[0] for f in sentence]
        row: dict[str, Any] = {"tokens": tokens}
        if widths == {2}:
            tags = [f[1].strip() for f in sentence]
            row["pos_tags"] = tags
            row["ner_tags"] = tags
        if prefix:
            row["langs"] = [prefix] * len(tokens)
        rows.append(row)
    return rows


def _common_language_prefix(sentences: list[list[list[str]]]) -> str | None:
    """The ``<lang>`` that prefixes every token (raw PAN-X), or None (processed files)."""
    prefix: str | None = None
    for sentence in sentences:
        for fields in sentence:
            match = _LANG_PREFIX.match(fields[0])
            if match is None or (prefix is not None and match.group(1) != prefix):
                return None
            prefix = match.group(1)
    return prefix
