"""Bad sweep input from the shell: one clear line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from xtransfer.hydra_app import CONFIG_DIR


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xtransfer", *args], capture_output=True, text=True, timeout=300
    )


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "HYDRA_FULL_ERROR" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_sweep_naming_a_missing_task(tmp_path):
    proc = _cli("train", "-m", "intermediate=none,nonexistent", f"output_root={tmp_path}")
    line = _one_line_error(proc)
    assert "unknown intermediate 'nonexistent'" in line
    options = sorted(p.stem for p in (Path(CONFIG_DIR) / "intermediate").glob("*.yaml"))
    assert f"(available: {', '.join(options)})" in line


def test_missing_task_inside_a_task_list(tmp_path):
    line = _one_line_error(_cli("train", "intermediate=[mnli,nope]", f"output_root={tmp_path}"))
    assert "unknown intermediate 'nope'" in line and "mnli" in line


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = _one_line_error(_cli("train", f"output_root={blocker}/out"))
    assert line.startswith("xtransfer train: error: cannot write to ")
    assert str(blocker) in line and "Not a directory" in line
    sweep = _one_line_error(_cli("train", "-m", f"output_root={blocker}/out"))
    assert "cannot write to" in sweep
