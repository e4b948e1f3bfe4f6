"""The event log: a resume drops the replayed lines of the unfinished attempt only."""

from __future__ import annotations

import json

from xtransfer.training.events import EventLog


def _events(path) -> list[tuple]:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [(r["event"], r.get("desc") or r.get("name"), r.get("step")) for r in records]


def _attempt(log: EventLog, desc: str, last_step: int, finished: bool) -> None:
    log.write("train_start", desc=desc, steps=30)
    for step in range(5, last_step + 1, 5):
        log.write("train_loss", desc=desc, step=step, loss=1.0)
    if finished:
        log.write("phase_done", name=desc.split(":")[0], key="k")


def test_resume_drops_the_replayed_steps_of_the_killed_attempt(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    _attempt(log, "target:xnli", 30, finished=True)  # an earlier, complete run (force=true)
    log.write("run_start")
    log.write("train_start", desc="intermediate:mnli", steps=30)
    _attempt(log, "target:xnli", 20, finished=False)  # killed after logging step 20
    log.write("resume", desc="target:xnli", step=10)
    events = _events(path)
    assert events[:8] == [("train_start", "target:xnli", None)] + [
        ("train_loss", "target:xnli", s) for s in (5, 10, 15, 20, 25, 30)
    ] + [("phase_done", "target", None)]
    tail = events[events.index(("run_start", None, None)) :]
    assert tail == [
        ("run_start", None, None),
        ("train_start", "intermediate:mnli", None),
        ("train_start", "target:xnli", None),
        ("train_loss", "target:xnli", 5),
        ("train_loss", "target:xnli", 10),  # steps 15 and 20 are replayed: gone
        ("resume", "target:xnli", 10),
    ]


def test_resume_of_a_finished_phase_changes_nothing(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog(path)
    _attempt(log, "target:xnli", 20, finished=True)
    before = path.read_text()
    log.write("resume", desc="target:xnli", step=10)
    assert path.read_text().startswith(before)


def test_a_line_torn_by_a_kill_is_cut_off(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "a"}\n{"event": "train_lo')
    EventLog(path).write("b")
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == ["a", "b"]
