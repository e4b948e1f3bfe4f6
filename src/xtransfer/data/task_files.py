"""Reading a user task's own data files with line numbers, so that a bad row names its line.

JSONL and TSV rows carry their 1-based line in ``LINE_KEY`` (dropped by ``load_rows`` once the
canonical columns are picked); other formats go through the ordinary readers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from xtransfer.data.readers import read_file
from xtransfer.errors import UserError

LINE_KEY = "__line__"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(f"{path}:{line_no}: malformed JSON line ({err.msg})") from None
            if not isinstance(row, dict):
                raise UserError(f"{path}:{line_no}: a JSONL row is an object ({{...}})")
            row[LINE_KEY] = line_no
            rows.append(row)
    return rows


def _tsv(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            raise UserError(f"{path}: empty file (a TSV file starts with a header row)")
        rows = []
        for fields in reader:
            if not fields:
                continue
            if len(fields) != len(header):
                raise UserError(
                    f"{path}:{reader.line_num}: {len(fields)} fields, the header has {len(header)}"
                )
            rows.append({**dict(zip(header, fields, strict=True)), LINE_KEY: reader.line_num})
    return rows


def read_task_file(path: Path, reader: str | None = None) -> list[dict[str, Any]]:
    """Rows of a user task's data file (JSONL, TSV with header, or any named reader)."""
    if not path.is_file():
        raise UserError(f"data file not found: {path}")
    name = reader or {".jsonl": "jsonl", ".tsv": "tsv"}.get(path.suffix)
    if name == "jsonl":
        return _jsonl(path)
    if name == "tsv":
        return _tsv(path)
    return read_file(path, reader)
