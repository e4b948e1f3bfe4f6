"""`xtransfer cache list|verify|gc` on a phase cache laid out as runs lay it out: published phases
(manifest inside, record in manifests/), a work folder, and runs' results.json naming keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xtransfer.cli import main
from xtransfer.pipeline.cache import PhaseCache
from xtransfer.pipeline.cache_admin import format_size, parse_duration

DAY = 86400.0


def _publish(cache: PhaseCache, key: str, name: str, tasks: list[str], age_days: float) -> Path:
    with cache.claim(key) as slot:
        (slot.tmp / "encoder").mkdir(parents=True)
        (slot.tmp / "encoder" / "model.safetensors").write_bytes(os.urandom(3000))
        meta = {"name": name, "tasks": tasks, "task": tasks[0], "key": key}
        (slot.tmp / "phase.json").write_text(json.dumps(meta))
        slot.commit()
    _age(slot.final / "manifest.json", age_days)
    return slot.final


def _age(path: Path, days: float) -> None:
    when = time.time() - days * DAY
    os.utime(path, (when, when))


def _run_uses(root: Path, run: str, *keys: str) -> None:
    folder = root / "runs" / run
    folder.mkdir(parents=True)
    phases = [{"name": "target", "key": k, "reused": False} for k in keys]
    (folder / "results.json").write_text(
        json.dumps({"phases": phases, "scores": [], "summary": {}})
    )


@pytest.fixture
def layout(tmp_path) -> Path:
    """outputs/ with a used old phase, an unused old one, an unused recent one, a stale and a
    fresh work folder."""
    cache = PhaseCache(tmp_path / "cache")
    _publish(cache, "used0000", "intermediate", ["mnli"], age_days=30)
    _publish(cache, "old00000", "target", ["pawsx"], age_days=10)
    _publish(cache, "new00000", "target", ["xnli"], age_days=1)
    for key, days in (("stale000", 9), ("fresh000", 0.01)):
        resume = cache.partial_path(key) / "resume"
        resume.mkdir(parents=True)
        (resume / "state.json").write_text("{}")
        _age(resume / "state.json", days)
        _age(resume, days)
        _age(cache.partial_path(key), days)
    _run_uses(tmp_path, "embedded/tiny/mnli-to-xnli/seed0", "used0000", "gone0000")
    return tmp_path


def _cache(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["cache", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_list_shows_size_age_tasks_and_users(layout, capsys):
    code, out, _ = _cache(capsys, "list", "--root", str(layout))
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:-1]}
    assert set(rows) == {"used0000", "old00000", "new00000", "stale000", "fresh000"}
    used = rows["used0000"].split()
    phases = layout / "cache" / "phases"
    assert " ".join(used[1:3]) == format_size(_size(phases / "used0000"))
    assert used[3].endswith("d") and 29.9 <= float(used[3][:-1]) <= 30.1  # age in days
    assert used[4:] == ["intermediate", "mnli", "embedded/tiny/mnli-to-xnli/seed0"]
    assert rows["old00000"].split()[-3:] == ["target", "pawsx", "-"]
    assert "partial" in rows["stale000"] and "(work folder)" in rows["stale000"]
    assert "5 folders" in out.splitlines()[-1] and "2 phases used by no run" in out


def test_verify_reports_damaged_phases_and_fails(layout, capsys):
    assert _cache(capsys, "verify", "--root", str(layout))[0] == 0
    weights = layout / "cache" / "phases" / "old00000" / "encoder" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[10] ^= 1  # same size: only the hash can tell
    weights.write_bytes(bytes(data))
    code, out, _ = _cache(capsys, "verify", "--root", str(layout))
    assert code == 1
    assert "DAMAGED  old00000: encoder/model.safetensors does not match its sha256" in out
    assert "3 phases checked" in out and "1 damaged" in out


def test_gc_dry_run_removes_nothing(layout, capsys):
    before = sorted(p.name for p in (layout / "cache" / "phases").iterdir())
    code, out, _ = _cache(capsys, "gc", "--root", str(layout), "--dry-run")
    assert code == 0
    assert sorted(p.name for p in (layout / "cache" / "phases").iterdir()) == before
    said = {line.split()[2] for line in out.splitlines() if line.startswith("would remove")}
    assert said == {"old00000", ".partial-stale000"}


def test_gc_removes_stale_work_and_unused_old_phases(layout, capsys):
    phases = layout / "cache" / "phases"
    freed = _size(phases / "old00000") + _size(phases / ".partial-stale000")
    code, out, _ = _cache(capsys, "gc", "--root", str(layout), "--older-than", "7d")
    assert code == 0
    left = sorted(p.name for p in phases.iterdir())
    assert left == [".partial-fresh000", "new00000", "used0000"]
    assert not (layout / "cache" / "manifests" / "old00000.json").exists()
    assert (layout / "cache" / "manifests" / "used0000.json").exists()
    assert f"freed {format_size(freed)}" in out
    # --older-than 0: everything no run uses, however recent; the used phase stays.
    _cache(capsys, "gc", "--root", str(layout), "--older-than", "0")
    assert sorted(p.name for p in phases.iterdir()) == ["used0000"]


_HOLDER = """
import sys, time
from pathlib import Path
from xtransfer.pipeline.cache import PhaseCache
with PhaseCache(Path(sys.argv[1])).claim("stale000"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_gc_keeps_a_work_folder_locked_by_a_live_process(layout, capsys):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(layout / "cache")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        code, out, _ = _cache(capsys, "gc", "--root", str(layout))
    finally:
        holder.kill()
        holder.wait()
    assert code == 0
    assert "kept     .partial-stale000" in out and "locked by a live process" in out
    assert (layout / "cache" / "phases" / ".partial-stale000").is_dir()
    _cache(capsys, "gc", "--root", str(layout))  # the holder is dead now
    assert not (layout / "cache" / "phases" / ".partial-stale000").exists()


def test_unreadable_results_json_is_a_warning(layout, capsys):
    (layout / "runs" / "broken").mkdir()
    (layout / "runs" / "broken" / "results.json").write_text('{"phases": [')
    code, _, err = _cache(capsys, "list", "--root", str(layout))
    assert code == 0 and "broken/results.json is unreadable" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gc", "--older-than", "7x"], "--older-than '7x' is not a duration"),
        (["gc", "--older-than", "7"], "--older-than '7' is not a duration"),
        (["purge"], "invalid choice: 'purge'"),
        ([], "give an action: list, verify or gc"),
        (["list", "--rooot", "x"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line(layout, args, message):
    proc = subprocess.run(
        [sys.executable, "-m", "xtransfer", "cache", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=layout,
    )
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_missing_cache_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "xtransfer", "cache", "list", "--root", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"no phase cache at {tmp_path / 'nope' / 'cache'}" in proc.stderr


def test_cache_command_does_not_import_torch(layout):
    code = (
        "import sys; from xtransfer.cli import main; main(['--help']); "
        f"main(['cache', 'list', '--root', {str(layout)!r}]); "
        "main(['cache', 'verify', '--root', " + repr(str(layout)) + "]); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "  cache  " in proc.stdout and "used0000" in proc.stdout


@pytest.mark.parametrize(
    ("text", "seconds"), [("0", 0), ("30s", 30), ("15m", 900), ("12h", 43200), ("7d", 7 * DAY)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
