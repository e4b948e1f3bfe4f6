"""A damaged resume state never blocks a phase: it is discarded with one warning and the phase
restarts, to the numbers of an uninterrupted run. An intact one resumes, and the event log holds
every step once.

The states are real: a run killed by ``trainer.debug_kill_at_step`` (SIGKILL, as in preemption)
after its first epoch-end save; each test damages a copy of that cache in one way.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from xtransfer.config import register_resolvers
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.run import run_pipeline

# Small and quick: 96 examples in batches of 8 = 12 steps an epoch, 2 epochs. The resume state
# is saved at epoch ends only (save_every_steps=0), so the kill at step 17 leaves the state of
# step 12 (with a best-dev copy of the model) and steps 13-17 are replayed on resume.
SETTINGS = [
    "intermediate=none",
    "target=pawsx",
    "target.epochs=2",
    "target.batch_size=8",
    "trainer.max_train_examples=96",
    "trainer.save_every_steps=0",
    "trainer.log_every=2",
]
KILL_AT, SAVED_AT = 17, 12


def _cfg(output_root: Path):
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=[f"output_root={output_root}", *SETTINGS])


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("whole")
    return run_pipeline(_cfg(root), root / "run"), root / "run"


@pytest.fixture(scope="module")
def uninterrupted(whole_run) -> dict:
    return whole_run[0]


@pytest.fixture(scope="module")
def killed(tmp_path_factory) -> Path:
    """An output root whose phase was killed at step 17: its work folder and run folder."""
    root = tmp_path_factory.mktemp("killed")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "train",
            f"output_root={root}",
            f"hydra.run.dir={root}/run",
            f"trainer.debug_kill_at_step={KILL_AT}",
            *SETTINGS,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    (partial,) = (root / "cache" / "phases").glob(".partial-*")
    state = json.loads((partial / "resume" / "state.json").read_text())
    assert state["progress"]["step"] == SAVED_AT and state["has_best"]
    return root


def _copy(killed: Path, tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "root"
    shutil.copytree(killed, root)
    (partial,) = (root / "cache" / "phases").glob(".partial-*")
    return root, partial / "resume"


def _truncate_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _tensors(resume: Path) -> Path:
    return resume / f"tensors-step{SAVED_AT}.safetensors"


DAMAGES = {
    "state.json truncated": lambda r: _truncate_half(r / "state.json"),
    "state.json empty": lambda r: (r / "state.json").write_bytes(b""),
    "state.json not UTF-8": lambda r: (r / "state.json").write_bytes(b"\xff\xfe{"),
    "state.json without progress": lambda r: (r / "state.json").write_text('{"tensors": "x"}'),
    "tensors truncated": lambda r: _truncate_half(_tensors(r)),
    "tensors empty": lambda r: _tensors(r).write_bytes(b""),
    "tensors missing": lambda r: _tensors(r).unlink(),
}


# Truncation of each kind of file runs by default; the other damages (about 4 s each) are slow.
DEFAULT = {"state.json truncated", "tensors truncated"}


@pytest.mark.parametrize(
    "damage",
    [d if d in DEFAULT else pytest.param(d, marks=pytest.mark.slow) for d in DAMAGES],
)
def test_damaged_resume_state_restarts_the_phase(killed, uninterrupted, tmp_path, capfd, damage):
    root, resume = _copy(killed, tmp_path)
    DAMAGES[damage](resume)
    capfd.readouterr()
    results = run_pipeline(_cfg(root), root / "run")
    out, err = capfd.readouterr()
    warnings = [line for line in err.splitlines() if "damaged resume state" in line]
    assert len(warnings) == 1, err[-2000:]
    assert "training the phase from the start" in warnings[0]
    assert "resuming at step" not in out
    assert results["scores"] == uninterrupted["scores"]
    assert [p["best_dev"] for p in results["phases"]] == [
        p["best_dev"] for p in uninterrupted["phases"]
    ]
    assert not list((root / "cache" / "phases").glob(".partial-*"))  # published, work folder gone


def _steps(events: Path) -> Counter:
    records = [json.loads(line) for line in events.read_text().splitlines()]
    return Counter((r["event"], r["step"]) for r in records if r["event"] in ("train_loss", "dev"))


def test_intact_state_resumes_and_logs_each_step_once(killed, whole_run, tmp_path, capfd):
    uninterrupted, whole_dir = whole_run
    root, _ = _copy(killed, tmp_path)
    before = _steps(root / "run" / "events.jsonl")
    assert ("train_loss", 16) in before  # logged by the killed attempt, replayed on resume
    results = run_pipeline(_cfg(root), root / "run")
    out, err = capfd.readouterr()
    assert f"resuming at step {SAVED_AT}" in out and "damaged" not in err
    assert results["scores"] == uninterrupted["scores"]
    after = _steps(root / "run" / "events.jsonl")
    assert after == _steps(whole_dir / "events.jsonl")  # the same steps, each exactly once
    assert set(after.values()) == {1}
