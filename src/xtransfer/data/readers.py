"""Readers of original file formats, each returning rows in the Hub schema of its task family.

``read_file(path, reader)`` picks the reader by name or, without one, by file extension.
Readers for formats owned by a task family register themselves in ``READERS`` lazily by
module path, so this module stays free of their imports.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError


def _decode_error(path: Path, err: UnicodeDecodeError, data: bytes) -> UserError:
    line = data.count(b"\n", 0, err.start) + 1
    return UserError(
        f"{path}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
        "save the file as UTF-8"
    )


def read_utf8(path: Path) -> str:
    """A text file's content; bytes that are not UTF-8 are reported with file and line."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _decode_error(Path(path), err, data) from None


def read_jsonl(path: Path, line_key: str | None = None) -> list[dict[str, Any]]:
    """One JSON object per line; a malformed line is reported with its number.

    With ``line_key``, every row also carries its 1-based line number under that key (so that
    later checks, e.g. of labels, can name the line).
    """
    rows = []
    # Split on newlines only: str.splitlines would also split inside a JSON string holding
    # U+2028 or other Unicode line separators.
    for line_no, line in enumerate(read_utf8(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise UserError(f"{path}:{line_no}: malformed JSON line ({err.msg})") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{line_no}: a JSONL row is an object ({{...}})")
        if line_key is not None:
            row[line_key] = line_no
        rows.append(row)
    return rows


def read_tsv(path: Path, line_key: str | None = None) -> list[dict[str, Any]]:
    """A TSV file with a header row; a row with the wrong number of fields names its line.

    ``line_key``: as for ``read_jsonl``.
    """
    with io.StringIO(read_utf8(path), newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            raise UserError(f"{path}: empty file (a TSV file starts with a header row)")
        rows = []
        for line_no, fields in enumerate(reader, start=2):
            if not fields:
                continue
            if len(fields) != len(header):
                raise UserError(
                    f"{path}:{line_no}: {len(fields)} fields, the header has {len(header)}"
                )
            row: dict[str, Any] = dict(zip(header, fields, strict=True))
            if line_key is not None:
                row[line_key] = line_no
            rows.append(row)
    return rows


# name -> "module:function"; task-family readers (SQuAD JSON, CoNLL-U, ...) are added here.
READERS: dict[str, str] = {
    "jsonl": "xtransfer.data.readers:read_jsonl",
    "tsv": "xtransfer.data.readers:read_tsv",
    "squad_json": "xtransfer.data.squad_json:read_squad_json",
    "conllu": "xtransfer.data.conllu:read_conllu",
    "conll_tsv": "xtransfer.data.conllu:read_conll_tsv",
    "tatoeba_pair": "xtransfer.data.tatoeba:read_tatoeba_pair",
    "captions": "xtransfer.data.captions:read_captions",
    "xtreme_pair_tsv": "xtransfer.data.xtreme_tsv:read_xtreme_pair_tsv",
    "xtreme_translated_tsv": "xtransfer.data.translated_tsv:read_translated_tsv",
    "lareqa_json": "xtransfer.data.dual_encoder_files:read_lareqa_json",
    "mewslix_jsonl": "xtransfer.data.dual_encoder_files:read_mewslix_jsonl",
}
_BY_EXTENSION = {".jsonl": "jsonl", ".tsv": "tsv", ".json": "squad_json", ".conllu": "conllu"}


def read_file(path: Path, reader: str | None = None) -> list[dict[str, Any]]:
    name = reader or _BY_EXTENSION.get(path.suffix)
    if name not in READERS:
        raise UserError(
            f"{path}: no reader for this file (name one of {', '.join(sorted(READERS))})"
        )
    module, func = READERS[name].split(":")
    return getattr(importlib.import_module(module), func)(path)
