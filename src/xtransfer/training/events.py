"""JSONL event log of a run: one JSON object per line, appended as things happen.

A phase resumed after a kill replays the steps between its last saved state and the kill, and
would log them twice. The ``resume`` event is therefore also an instruction: the lines of that
unfinished attempt (after its last ``train_start``, no ``phase_done`` since) whose step lies past
the resumed step are dropped from the file first, so every step is logged once, as the resumed
run computes it. A line torn by a kill mid-write is cut off when the log is opened.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


class EventLog:
    """Appends events to ``path``; a disabled log (non-main processes) writes nothing."""

    def __init__(self, path: Path | None, enabled: bool = True):
        self.path = path if enabled else None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _cut_torn_line(self.path)

    def write(self, event: str, **fields: Any) -> None:
        if self.path is None:
            return
        if event == "resume" and "desc" in fields and "step" in fields:
            drop_replayed_steps(self.path, str(fields["desc"]), int(fields["step"]))
        record = {"time": round(time.time(), 3), "event": event, **fields}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


def _cut_torn_line(path: Path) -> None:
    """Drops a last line without its newline (the process died while writing it)."""
    try:
        with path.open("rb+") as handle:
            size = handle.seek(0, os.SEEK_END)
            if size == 0:
                return
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            handle.seek(max(0, size - (1 << 20)))
            tail = handle.read()
            cut = tail.rfind(b"\n")
            handle.truncate(size - len(tail) + cut + 1 if cut >= 0 else size - len(tail))
    except FileNotFoundError:
        return


def drop_replayed_steps(path: Path, desc: str, step: int) -> int:
    """Removes the lines of ``desc``'s unfinished attempt logged after ``step``; returns how many.

    Only the last attempt of that phase is touched, and only if it did not finish: an earlier,
    complete training of the same phase in this run folder (e.g. ``force=true``) keeps its lines.
    """
    try:
        lines = path.read_text("utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        return 0
    records = [_parse(line) for line in lines]
    phase_name = desc.split(":", 1)[0]
    start = None
    for i, record in enumerate(records):
        if record.get("event") == "train_start" and record.get("desc") == desc:
            start = i
        elif record.get("event") == "phase_done" and record.get("name") == phase_name:
            start = None  # that attempt finished: nothing of it is replayed
    if start is None:
        return 0
    keep = [
        line
        for i, (line, record) in enumerate(zip(lines, records, strict=True))
        if not (
            i > start
            and record.get("desc") == desc
            and isinstance(record.get("step"), int)
            and record["step"] > step
        )
    ]
    dropped = len(lines) - len(keep)
    if dropped:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(keep), "utf-8")
        os.replace(tmp, path)
    return dropped


def _parse(line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return record if isinstance(record, dict) else {}
