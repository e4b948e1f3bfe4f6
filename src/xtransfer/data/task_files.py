"""Reading a user task's own data files with line numbers, so that a bad row names its line.

JSONL and TSV rows carry their 1-based line in ``LINE_KEY`` (dropped by ``load_rows`` once the
canonical columns are picked); other formats go through the ordinary readers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xtransfer.data.readers import read_file, read_jsonl, read_tsv
from xtransfer.errors import UserError

LINE_KEY = "__line__"


def read_task_file(path: Path, reader: str | None = None) -> list[dict[str, Any]]:
    """Rows of a user task's data file (JSONL, TSV with header, or any named reader)."""
    if not path.is_file():
        raise UserError(f"data file not found: {path}")
    name = reader or {".jsonl": "jsonl", ".tsv": "tsv"}.get(path.suffix)
    if name == "jsonl":
        return read_jsonl(path, line_key=LINE_KEY)
    if name == "tsv":
        return read_tsv(path, line_key=LINE_KEY)
    return read_file(path, reader)
