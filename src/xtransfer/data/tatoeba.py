"""Readers of line-aligned parallel text: LASER Tatoeba pairs and the XTREME BUCC 2018 files.

Both return rows in the Hub schema of ``google/xtreme`` ``tatoeba.*`` / ``bucc18.*``
(``source_sentence``, ``target_sentence``, ``source_lang``, ``target_lang``), so one catalogue
``columns`` entry serves the Hub, the embedded demo and these files.

One split is two (Tatoeba) or three (BUCC) files, but a source names one path: the reader gets
the **non-English side** and derives the others from its name.

* Tatoeba, ``<stem>.<xxx>`` (LASER ``tatoeba.deu-eng.deu``, XTREME download ``de-en.de``): the
  English side is ``<stem>.<e>`` where ``<e>`` is what follows the last ``-`` of ``<stem>``
  (``tatoeba.deu-eng.eng``, ``de-en.en``). Line *i* of one file is the translation of line *i*
  of the other.
* BUCC (XTREME download ``bucc2018/de-en.dev.de``, lines ``id<TAB>sentence``), recognised by its
  content: the English side is ``<stem>.en`` and the gold ``<stem>.gold`` (``de-id<TAB>en-id``).
  The XTREME download deletes the test gold; put BUCC's ``de-en.training.gold`` there as
  ``de-en.test.gold`` to score test. The Hub schema has no id column, so the BUCC ids travel
  *in-band*, as ``id<TAB>sentence`` exactly like the file lines (the retrieval format splits them
  off again); a sentence without a translation is a row whose other side is ``""``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError

# A BUCC sentence id: language code, hyphen, digits (``de-000413461``).
BUCC_ID = re.compile(r"^[A-Za-z]{2,3}-\d+$")


def _read_lines(path: Path) -> list[str]:
    """Lines without their line ending; the text itself is kept byte for byte (no strip)."""
    if not path.is_file():
        raise UserError(f"data file not found: {path}")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            lines = [line.rstrip("\r\n") for line in handle]
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    # Only a final empty line (an extra newline at the end) is dropped: inside the file an empty
    # line is a sentence, and dropping it would break the line alignment.
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def english_side(path: Path) -> Path:
    """The English file of a Tatoeba pair: ``<stem>.<xxx>`` -> ``<stem>.<part after last '-'>``."""
    stem, _, _ = path.name.rpartition(".")
    if not stem or "-" not in stem:
        raise UserError(
            f"{path}: cannot derive the English file of this Tatoeba pair; name the non-English "
            "side as <stem>.<lang> with a stem ending in -eng or -en "
            "(LASER tatoeba.deu-eng.deu, XTREME de-en.de)"
        )
    return path.with_name(f"{stem}.{stem.rpartition('-')[2]}")


def _is_bucc(lines: list[str]) -> bool:
    first = next((line for line in lines if line.strip()), "")
    return "\t" in first and bool(BUCC_ID.match(first.split("\t", 1)[0]))


def read_tatoeba_pair(path: Path) -> list[dict[str, Any]]:
    """Rows of a line-aligned pair given its non-English file (BUCC files are detected and read
    by :func:`read_bucc_files`, so one reader name serves both retrieval tasks)."""
    source_lines = _read_lines(path)
    if _is_bucc(source_lines):
        return read_bucc_files(path, source_lines)
    english_path = english_side(path)
    english_lines = _read_lines(english_path)
    if len(source_lines) != len(english_lines):
        raise UserError(
            f"{path} has {len(source_lines)} lines but {english_path} has {len(english_lines)}: "
            "the two sides of a Tatoeba pair must be line-aligned"
        )
    stripped = [line.strip() for line in english_lines]
    if len(stripped) > 2 and stripped == sorted(stripped):
        # XTREME's download sorts the English side, which hides the gold alignment.
        raise UserError(
            f"{english_path} is sorted, as in XTREME's download, where the gold alignment is "
            "hidden: Tatoeba cannot be scored from it. Use the original LASER files "
            "(data/tatoeba/v1/tatoeba.<xxx>-eng.<xxx|eng>) with data=local."
        )
    source_lang = path.name.rpartition(".")[2]
    english_lang = english_path.name.rpartition(".")[2]
    return [
        {
            "source_sentence": src,
            "target_sentence": eng,
            "source_lang": source_lang,
            "target_lang": english_lang,
        }
        for src, eng in zip(source_lines, english_lines, strict=True)
    ]


def _id_sentences(path: Path, lines: list[str] | None = None) -> dict[str, str]:
    """``{id: sentence}`` of a BUCC text file (``id<TAB>sentence`` per line), in file order."""
    out: dict[str, str] = {}
    for line_no, line in enumerate(lines if lines is not None else _read_lines(path), 1):
        if not line.strip():
            continue
        ident, tab, text = line.partition("\t")
        if not tab or not BUCC_ID.match(ident):
            raise UserError(f"{path}:{line_no}: expected 'id<TAB>sentence' (id like de-000413461)")
        if ident in out:
            raise UserError(f"{path}:{line_no}: id {ident} occurs twice")
        out[ident] = text
    return out


def read_bucc_files(path: Path, source_lines: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows of one BUCC split (``<stem>.<l>`` given; ``<stem>.en`` and ``<stem>.gold`` derived):
    one row per gold pair, then one per remaining sentence with ``""`` on the other side."""
    stem, _, source_lang = path.name.rpartition(".")
    english_path = path.with_name(f"{stem}.en")
    gold_path = path.with_name(f"{stem}.gold")
    if not gold_path.is_file():
        raise UserError(
            f"BUCC gold file not found: {gold_path}. XTREME's download deletes the test gold; "
            f"copy BUCC's {source_lang}-en.training.gold there to score the test split."
        )
    sources = _id_sentences(path, source_lines)
    english = _id_sentences(english_path)
    rows: list[dict[str, Any]] = []
    paired_src: set[str] = set()
    paired_eng: set[str] = set()
    for line_no, line in enumerate(_read_lines(gold_path), 1):
        if not line.strip():
            continue
        parts = line.strip().split("\t")
        if len(parts) != 2:
            raise UserError(f"{gold_path}:{line_no}: expected '<{source_lang}-id><TAB><en-id>'")
        sid, eid = parts
        for ident, corpus, where in ((sid, sources, path), (eid, english, english_path)):
            if ident not in corpus:
                raise UserError(f"{gold_path}:{line_no}: id {ident} is not in {where}")
        paired_src.add(sid)
        paired_eng.add(eid)
        rows.append(_bucc_row(f"{sid}\t{sources[sid]}", f"{eid}\t{english[eid]}", source_lang))
    rows += [
        _bucc_row(f"{sid}\t{text}", "", source_lang)
        for sid, text in sources.items()
        if sid not in paired_src
    ]
    rows += [
        _bucc_row("", f"{eid}\t{text}", source_lang)
        for eid, text in english.items()
        if eid not in paired_eng
    ]
    return rows


def _bucc_row(source: str, target: str, source_lang: str) -> dict[str, Any]:
    return {
        "source_sentence": source,
        "target_sentence": target,
        "source_lang": source_lang,
        "target_lang": "en",
    }
