"""The dispatcher: help without heavy imports, clear errors, `python -m xtransfer`."""

from __future__ import annotations

import subprocess
import sys


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xtransfer", *args], capture_output=True, text=True, timeout=120
    )


def test_help_lists_subcommands_without_importing_torch():
    code = (
        "import sys; from xtransfer.cli import main; main(['--help']); "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for name in ("train", "evaluate", "score", "plan", "table", "tasks"):
        assert f"  {name}" in proc.stdout


def test_unknown_command_is_one_clear_error():
    proc = _run("trian")
    assert proc.returncode == 2
    assert "unknown command 'trian'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tasks_lists_the_catalogue_without_torch():
    code = (
        "import sys; from xtransfer.cli import main; main(['tasks']); "
        "assert 'torch' not in sys.modules"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for name in ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "tatoeba"):
        assert name in proc.stdout


def test_bad_override_names_the_key():
    proc = _run("train", "target=nosuchtask")
    assert proc.returncode != 0
    assert "nosuchtask" in proc.stderr and "xnli" in proc.stderr
    assert "Traceback" not in proc.stderr
