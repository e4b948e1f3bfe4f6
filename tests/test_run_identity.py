"""Run identity and the phase spec (issue 14): the same config gives the same numbers whatever
the cache holds, a changed config never passes for a finished run, and a checkpoint is
identified by its content."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

from xtransfer.config import register_resolvers
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.plan import base_key, plan_phases
from xtransfer.pipeline.run import run_pipeline

# Small enough to train in seconds, large enough to move the weights.
QUICK = ("trainer.max_train_examples=120", "intermediate.tasks.mnli.epochs=1", "target.epochs=1")


def _compose(root: Path, *overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "config", overrides=[f"output_root={root}", *overrides], return_hydra_config=True
        )
    run_dir = Path(OmegaConf.to_container(cfg.hydra.run, resolve=True)["dir"])
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, run_dir


def _phase_files(checkpoint: str) -> dict[str, bytes]:
    root = Path(checkpoint)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.safetensors"))}


def test_target_retrained_on_a_cached_parent_is_bit_identical(tmp_path):
    cfg, run_dir = _compose(tmp_path, *QUICK)
    first = run_pipeline(cfg, run_dir)
    target = first["phases"][1]
    weights = _phase_files(target["checkpoint"])
    assert weights  # the target phase wrote its encoder and head
    shutil.rmtree(target["checkpoint"])  # the parent stays cached; the target must retrain
    second = run_pipeline(cfg, tmp_path / "second")
    assert second["phases"][0]["reused"] is True and second["phases"][1]["reused"] is False
    assert second["phases"][1]["key"] == target["key"]
    assert _phase_files(second["phases"][1]["checkpoint"]) == weights
    assert second["scores"] == first["scores"]


def test_force_twice_gives_the_same_numbers(tmp_path):
    cfg, run_dir = _compose(tmp_path, "intermediate=none", *QUICK[:1], "target.epochs=1")
    first = run_pipeline(cfg, run_dir)
    with open_dict(cfg):
        cfg.force = True
    again = run_pipeline(cfg, run_dir)
    assert again["phases"][0]["reused"] is False
    assert again["scores"] == first["scores"]


def test_a_changed_value_is_not_a_finished_run(tmp_path, capsys):
    cfg, run_dir = _compose(tmp_path, "intermediate=none", *QUICK[:1], "target.epochs=1")
    first = run_pipeline(cfg, run_dir)
    changed, changed_dir = _compose(
        tmp_path, "intermediate=none", *QUICK[:1], "target.epochs=1", "trainer.lr=0.05"
    )
    assert changed_dir != run_dir and ".cfg-" in changed_dir.parent.name
    # Even forced into the same folder, the stored key tells the runs apart.
    second = run_pipeline(changed, run_dir)
    out = capsys.readouterr().out
    assert "written by another config" in out and "this run is done" not in out
    assert second["run_key"] != first["run_key"]
    assert second["phases"][0]["key"] != first["phases"][0]["key"]


def test_unreadable_results_json_counts_as_not_done(tmp_path, capsys):
    cfg, run_dir = _compose(tmp_path, "intermediate=none", *QUICK[:1], "target.epochs=1")
    first = run_pipeline(cfg, run_dir)
    results = run_dir / "results.json"
    results.write_text(results.read_text()[:40])  # a write cut short
    again = run_pipeline(cfg, run_dir)
    assert "is unreadable" in capsys.readouterr().err
    assert again["scores"] == first["scores"]
    assert json.loads(results.read_text())["run_key"] == first["run_key"]


@pytest.mark.parametrize(
    ("overrides", "tagged"),
    [
        ((), False),
        (("trainer.lr=2.0e-3",), False),  # the demo preset's own value: nothing differs
        (("trainer.log_every=3", "force=true"), False),  # result-neutral settings
        (("trainer.lr=0.05",), True),
        (("trainer=xtreme",), True),  # the trainer preset is not a folder level
        (("intermediate.budget.kind=steps", "intermediate.budget.value=10"), True),
    ],
)
def test_folder_hash_covers_exactly_the_values_off_the_defaults(tmp_path, overrides, tagged):
    _, run_dir = _compose(tmp_path, *overrides)
    assert (".cfg-" in run_dir.parent.name) is tagged, run_dir


def test_two_values_of_one_key_get_two_folders(tmp_path):
    dirs = {_compose(tmp_path, f"trainer.lr={lr}")[1] for lr in ("1e-5", "2e-5", "1e-5")}
    assert len(dirs) == 2


def _save_tiny(directory: Path, seed: int) -> None:
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    from xtransfer.config import asset_path

    config = AutoConfig.from_pretrained(asset_path("tiny-xlmr"))
    torch.manual_seed(seed)
    AutoModel.from_config(config, add_pooling_layer=False).save_pretrained(directory)
    AutoTokenizer.from_pretrained(asset_path("tiny-xlmr")).save_pretrained(directory)


def test_a_local_checkpoint_is_identified_by_its_content(tmp_path):
    model_dir = tmp_path / "my-encoder"
    _save_tiny(model_dir, seed=1)
    cfg, run_dir = _compose(tmp_path, f"model.pretrained={model_dir}")
    assert run_dir.parts[-3] == "my-encoder"  # named after the checkpoint, not `tiny`
    assert ".cfg-" in run_dir.parent.name
    key1 = base_key(cfg)
    assert base_key(cfg) == key1  # cached fingerprints give the same key
    shutil.rmtree(model_dir)
    _save_tiny(model_dir, seed=2)  # another model at the same path
    key2 = base_key(cfg)
    assert key2 != key1
    assert plan_phases(cfg)[0].parent == key2


def test_attention_implementation_is_part_of_the_phase_key(tmp_path):
    sdpa, _ = _compose(tmp_path)
    eager, _ = _compose(tmp_path, "model.attn_implementation=eager")
    assert [p.key for p in plan_phases(sdpa)] != [p.key for p in plan_phases(eager)]


def test_result_neutral_trainer_settings_keep_the_phase_key(tmp_path):
    base, _ = _compose(tmp_path)
    other, _ = _compose(tmp_path, "trainer.log_every=3", "trainer.save_every_steps=7")
    assert [p.key for p in plan_phases(base)] == [p.key for p in plan_phases(other)]


def test_sweep_over_a_trainer_value_gives_one_result_per_point(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [
        sys.executable,
        "-m",
        "xtransfer",
        "train",
        "-m",
        f"output_root={tmp_path}",
        "intermediate=none",
        "target.epochs=1",
        "trainer.max_train_examples=60",
        "trainer.lr=1e-3,2e-3",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    results = sorted((tmp_path / "runs").rglob("results.json"))
    assert len(results) == 2
    lrs = {json.loads(p.read_text())["config"]["trainer"]["lr"] for p in results}
    assert lrs == {1e-3, 2e-3}


def test_table_keeps_variants_apart_from_seeds(tmp_path):
    # Two runs of one setup that differ in lr are two rows, not one row averaged over "seeds".
    from xtransfer.reporting.table import build_grid

    def result(lr_variant: dict | None, value: float) -> dict:
        out = {
            "intermediate": "mnli",
            "scores": [],
            "summary": {"xnli": {"avg_metric": value, "comparable": True}},
        }
        if lr_variant:
            out["variant"] = lr_variant
        return out

    rows, _, grid = build_grid(
        [result(None, 60.0), result({"trainer.lr": 0.01}, 50.0), result(None, 62.0)]
    )
    assert rows == ["mnli", "mnli [trainer.lr=0.01]"]
    assert grid[("mnli", "xnli")].mean == 61.0 and grid[("mnli", "xnli")].n == 2
    assert grid[("mnli [trainer.lr=0.01]", "xnli")].mean == 50.0


def test_results_name_the_values_behind_the_folder_hash(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "xtransfer", "train", f"output_root={tmp_path}"]
    cmd += ["intermediate=none", "target.epochs=1", "trainer.max_train_examples=60"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = (tmp_path / "runs").rglob("results.json")
    assert ".cfg-" in path.parent.parent.name
    variant = json.loads(path.read_text())["variant"]
    assert variant == {"target.epochs": 1, "trainer.max_train_examples": 60}
