"""Every packaged config composes, and the run directory follows the choices and the seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from xtransfer.config import register_resolvers
from xtransfer.hydra_app import CONFIG_DIR

GROUPS = ["model", "intermediate", "target", "data", "trainer", "benchmark"]


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (Path(CONFIG_DIR) / group).glob("*.yaml"))


@pytest.fixture(autouse=True)
def _resolvers():
    register_resolvers()


@pytest.mark.parametrize(
    "group,option", [(g, o) for g in GROUPS for o in _options(g)], ids=lambda v: str(v)
)
def test_every_option_composes_and_resolves(group: str, option: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=[f"{group}={option}"])
    container = OmegaConf.to_container(cfg, resolve=True)
    assert container[group]["name"] in (option, option.replace("_", "-"))


def test_required_groups_have_required_options():
    assert {"tiny", "xlmr-base", "xlmr-large", "mbert"} <= set(_options("model"))
    assert {"none", "mnli"} <= set(_options("intermediate"))
    assert {"xnli", "pawsx"} <= set(_options("target"))
    assert {"embedded", "hub"} <= set(_options("data"))


def test_run_dir_derives_from_choices_and_seed():
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(
            "config",
            overrides=["intermediate=none", "target=pawsx", "seed=3"],
            return_hydra_config=True,
        )
    run_dir = OmegaConf.to_container(cfg.hydra.run, resolve=True)["dir"]
    assert run_dir == "outputs/runs/embedded/tiny/none-to-pawsx/seed3"


def test_demo_defaults():
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config")
    assert (cfg.model.name, cfg.intermediate.name, cfg.target.name, cfg.data.name) == (
        "tiny",
        "mnli",
        "xnli",
        "embedded",
    )
    # The paper's recipe (SPEC §6) is written in config, not code.
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        paper = compose("config", overrides=["trainer=xstilts"])
    assert paper.trainer.lr == 1e-5 and paper.trainer.warmup_ratio == 0.1
    assert paper.trainer.weight_decay == 0.01 and paper.trainer.max_grad_norm == 1.0
