"""The pre-flight check: every split a run reads is resolved before any phase trains, and all
problems are reported at once, one line each."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hub_mirror import needs_facts, write_repo
from hydra import compose, initialize_config_dir

from xtransfer.config import asset_path, register_resolvers
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.plan import plan_phases
from xtransfer.pipeline.preflight import preflight, required_splits
from xtransfer.pipeline.zero_shot import evaluation_languages
from xtransfer.tasks.registry import get_task


def _cfg(*overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        return compose("config", overrides=["output_root=/tmp/xtransfer-preflight", *overrides])


def test_required_splits_are_every_phase_split_and_every_test_language():
    cfg = _cfg()
    phases = plan_phases(cfg)
    needed = required_splits(cfg, phases)
    for phase in phases:
        for plan in phase.tasks:
            for ref in [*plan.train_refs, plan.dev]:
                if ref is not None and plan.corpus is None:
                    assert (ref.task, ref.split, ref.lang) in needed
    task = get_task(cfg.target.task)
    _, languages = evaluation_languages(task, cfg.benchmark.name)
    for lang in languages:
        assert (task.name, cfg.target.test_split, lang) in needed
    preflight(cfg, phases)  # the embedded demo has every split it reads


def test_mewslix_candidates_and_bucc_threshold_split_are_checked():
    for target, extra in (("mewslix", "candidates"), ("bucc2018", "validation")):
        cfg = _cfg(f"target={target}", "intermediate=none", "benchmark=xtreme_r")
        needed = required_splits(cfg, plan_phases(cfg))
        assert any(split == extra and task == target for task, split, _ in needed), target


@pytest.fixture
def broken_demo(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    shutil.copytree(asset_path("demo"), root)
    for lang in ("ja", "ko"):
        (root / "google__xtreme" / f"PAWS-X.{lang}" / "test.jsonl").unlink()
    return root


def test_every_missing_split_is_one_line(broken_demo: Path):
    cfg = _cfg("target=pawsx", "intermediate=none", f"data.root={broken_demo}")
    with pytest.raises(UserError) as err:
        preflight(cfg, plan_phases(cfg))
    lines = str(err.value).splitlines()
    assert lines[0].startswith("pre-flight: 2 problem(s)")
    assert [ln for ln in lines[1:] if "PAWS-X.ja/test.jsonl" in ln] and len(lines) == 3
    assert [ln for ln in lines[1:] if "PAWS-X.ko/test.jsonl" in ln]


def test_train_stops_before_training_and_plan_check_data_reports(broken_demo: Path, tmp_path):
    args = ["target=pawsx", "intermediate=none", f"data.root={broken_demo}"]
    train = subprocess.run(
        [sys.executable, "-m", "xtransfer", "train", *args, f"output_root={tmp_path}/out"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert train.returncode == 2 and "Traceback" not in train.stderr
    assert "PAWS-X.ja/test.jsonl" in train.stderr and "training" not in train.stdout
    check = subprocess.run(
        [sys.executable, "-m", "xtransfer", "plan", "--check-data", *args[:2]],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stderr[-1500:]
    assert "data check: target=pawsx data=embedded: all" in check.stdout


@needs_facts
def test_hub_preflight_uses_metadata_only_and_lists_every_missing_language(
    tmp_path: Path, monkeypatch
):
    import datasets

    langs = get_task("xquad").languages["xtreme_r"]
    write_repo(tmp_path, "rajpurkar/squad", {"plain_text": {"train": None, "validation": None}})
    configs = {f"XQuAD.{lang}": {"validation": None} for lang in langs if lang not in ("ro", "th")}
    write_repo(tmp_path, "google/xtreme", configs)
    write_repo(tmp_path, "google/xquad", {"xquad.ro": {"validation": None}})

    def no_download(*args, **kwargs):
        raise AssertionError("the pre-flight must not load data")

    monkeypatch.setattr(datasets, "load_dataset", no_download)
    cfg = _cfg(
        "target=xquad", "intermediate=none", "benchmark=xtreme_r", "data=hub",
        f"data.mirror={tmp_path}",
    )  # fmt: skip
    with pytest.raises(UserError) as err:
        preflight(cfg, plan_phases(cfg))
    problems = str(err.value).splitlines()[1:]
    assert len(problems) == 1 and "no config 'XQuAD.th'" in problems[0], problems


@needs_facts
def test_hub_preflight_refuses_xtreme_r_languages_without_a_source(tmp_path: Path):
    cfg = _cfg(
        "target=udpos", "intermediate=none", "benchmark=xtreme_r", "data=hub",
        f"data.mirror={tmp_path}",
    )  # fmt: skip
    with pytest.raises(UserError) as err:
        preflight(cfg, plan_phases(cfg))
    refused = [ln for ln in str(err.value).splitlines() if "no Hub source has" in ln]
    assert sorted(ln.split("has ")[1].split(" ")[0] for ln in refused) == sorted(
        ["lt", "pl", "uk", "wo", "ro"]
    )
