"""Launcher presets: `hydra/launcher=parallel` (joblib) runs a sweep; `hydra/launcher=slurm`
(submitit) composes with the project's SLURM defaults."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import yaml
from hydra import compose, initialize_config_dir

from xtransfer.config import register_resolvers
from xtransfer.hydra_app import CONFIG_DIR

HAS_JOBLIB = importlib.util.find_spec("hydra_plugins.hydra_joblib_launcher") is not None
HAS_SUBMITIT = importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is not None


def _hydra_cfg(*overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=True).hydra


@pytest.mark.skipif(
    not HAS_SUBMITIT, reason="the `slurm` extra (hydra-submitit-launcher) is absent"
)
def test_slurm_preset_composes_with_one_gpu_per_job():
    launcher = _hydra_cfg("hydra/launcher=slurm", "hydra.launcher.partition=gpu").launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert launcher.partition == "gpu"
    assert (launcher.gpus_per_node, launcher.tasks_per_node, launcher.nodes) == (1, 1, 1)
    assert launcher.timeout_min > 0 and launcher.max_num_timeout > 0  # requeue, then resume


@pytest.mark.skipif(not HAS_JOBLIB, reason="the `joblib` extra (hydra-joblib-launcher) is absent")
def test_parallel_preset_runs_a_sweep_training_the_shared_phase_once(tmp_path):
    launcher = _hydra_cfg("hydra/launcher=parallel").launcher
    assert launcher._target_.endswith("JoblibLauncher") and launcher.n_jobs == 2
    # Both jobs start at once and need the same mnli phase: the cache lock lets one train it.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "train",
            "-m",
            "hydra/launcher=parallel",
            "intermediate=mnli",
            "target=xnli,pawsx",
            "trainer.max_train_examples=48",
            f"output_root={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = tmp_path / "runs"
    sweep = yaml.safe_load((runs / "multirun.yaml").read_text())
    assert sweep["hydra"]["launcher"]["_target_"].endswith("JoblibLauncher")
    results = [json.loads(p.read_text()) for p in sorted(runs.rglob("results.json"))]
    assert sorted(r["target"] for r in results) == ["pawsx", "xnli"]
    inter = [r["phases"][0] for r in results]
    assert inter[0]["key"] == inter[1]["key"]
    assert sorted(p["reused"] for p in inter) == [False, True]  # trained exactly once
    assert all(not r["phases"][1]["reused"] for r in results)
