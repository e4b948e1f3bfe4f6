"""Sweep bookkeeping: run folders per (benchmark, seed, target seed), target seeds sharing one
intermediate model."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from xtransfer.config import register_resolvers
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.plan import plan_phases
from xtransfer.pipeline.run import run_pipeline


def _compose(output_root: Path, *overrides: str):
    """The run's config and the run folder Hydra would give it (as `xtransfer train` does)."""
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "config", overrides=[f"output_root={output_root}", *overrides], return_hydra_config=True
        )
    run_dir = Path(cfg.hydra.run.dir)
    sweep_dir = Path(cfg.hydra.sweep.dir) / cfg.hydra.sweep.subdir
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, run_dir, sweep_dir


@pytest.mark.parametrize(
    ("overrides", "leaf"),
    [
        ((), "mnli-to-xnli/seed0"),
        (("benchmark=xtreme_r",), "mnli-to-xnli.xtreme-r/seed0"),
        (("seed=2",), "mnli-to-xnli/seed2"),
        (("target.seed=3",), "mnli-to-xnli/seed0-target3"),
        (("seed=1", "target.seed=1"), "mnli-to-xnli/seed1"),
    ],
)
def test_run_folder_names_benchmark_and_target_seed(tmp_path, overrides, leaf):
    cfg, run_dir, sweep_dir = _compose(tmp_path, *overrides)
    expected = tmp_path / "runs" / "embedded" / "tiny" / leaf
    assert run_dir == expected and sweep_dir == expected


def test_target_seed_defaults_to_seed_and_keys_only_the_target_phase(tmp_path):
    cfg, _, _ = _compose(tmp_path, "seed=4")
    assert cfg.target.seed == 4
    base = plan_phases(cfg)
    other = plan_phases(_compose(tmp_path, "seed=4", "target.seed=5")[0])
    assert [p.seed for p in base] == [4, 4] and [p.seed for p in other] == [4, 5]
    assert base[0].key == other[0].key  # the intermediate phase is shared
    assert base[1].key != other[1].key  # the target phase is not


def test_target_seeds_share_one_intermediate_model(tmp_path):
    first_cfg, first_dir, _ = _compose(tmp_path, "target=pawsx")
    second_cfg, second_dir, _ = _compose(tmp_path, "target=pawsx", "target.seed=1")
    assert first_dir != second_dir
    first = run_pipeline(first_cfg, first_dir)
    second = run_pipeline(second_cfg, second_dir)
    (inter1, target1), (inter2, target2) = first["phases"], second["phases"]
    assert inter2["reused"] is True and inter2["key"] == inter1["key"] and inter2["seed"] == 0
    assert target2["reused"] is False and target2["key"] != target1["key"]
    assert (target1["seed"], target2["seed"]) == (0, 1)
    assert (first["seed"], first["target_seed"]) == (0, 0)
    assert (second["seed"], second["target_seed"]) == (0, 1)
    assert (first_dir / "results.json").is_file() and (second_dir / "results.json").is_file()


def test_other_benchmark_is_not_taken_for_a_finished_run(tmp_path, capsys):
    xtreme_cfg, xtreme_dir, _ = _compose(tmp_path, "intermediate=none", "target=xnli")
    xtreme_r_cfg, xtreme_r_dir, _ = _compose(
        tmp_path, "intermediate=none", "target=xnli", "benchmark=xtreme_r"
    )
    first = run_pipeline(xtreme_cfg, xtreme_dir)
    capsys.readouterr()
    second = run_pipeline(xtreme_r_cfg, xtreme_r_dir)
    assert "this run is done" not in capsys.readouterr().out
    assert (first["benchmark"], second["benchmark"]) == ("xtreme", "xtreme-r")
    # Same trained model (the benchmark only changes evaluation), separate results.
    assert second["phases"][0]["reused"] is True
    assert second["phases"][0]["key"] == first["phases"][0]["key"]
    assert (xtreme_r_dir / "results.json").is_file() and xtreme_r_dir != xtreme_dir
