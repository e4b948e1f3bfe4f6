"""Data-parallel run on 2 CPU processes (torchrun, gloo): one run folder, only rank 0 writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_two_processes_write_one_run_folder(tmp_path):
    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.exists() and shutil.which("torchrun") is None:
        pytest.skip("torchrun is not installed beside this Python")
    # ACCELERATE_USE_CPU (what `accelerate launch --cpu` sets) makes accelerate use gloo on CPU.
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "ACCELERATE_USE_CPU": "true",
    }
    proc = subprocess.run(
        [
            str(torchrun if torchrun.exists() else "torchrun"),
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "xtransfer",
            "train",
            "intermediate=none",
            "target=pawsx",
            "trainer.max_train_examples=64",
            f"output_root={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = list((tmp_path / "runs").rglob("results.json"))
    assert [p.parent.relative_to(tmp_path / "runs") for p in results] == [
        Path("embedded/tiny/none-to-pawsx/seed0")
    ]
    run_dir = results[0].parent
    events = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds.count("run_start") == 1 and kinds.count("run_done") == 1  # rank 0 only
    assert kinds.count("evaluated") == 7
    result = json.loads(results[0].read_text())
    # Really data-parallel: each optimizer step consumed one micro-batch per process, so an epoch
    # of 64 examples took half the steps (target pawsx: 5 epochs, batch 32).
    assert result["phases"][0]["steps"] == 5 * ((64 // 32) // 2)
    assert result["summary"]["pawsx"]["languages"] == 7
    phases = [p for p in (tmp_path / "cache" / "phases").iterdir()]
    assert [p.name for p in phases] == [result["phases"][0]["key"]]  # one published phase
    assert len(list((run_dir / "predictions" / "pawsx").iterdir())) == 7
