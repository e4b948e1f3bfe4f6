"""Experiment tracking: the event log feeds the tracker; it is finished even when a run fails."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import xtransfer.pipeline.run as run_module
import xtransfer.training.tracking as tracking
from xtransfer.config import register_resolvers
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.run import run_pipeline
from xtransfer.training.tracking import flatten_config

QUICK = ("intermediate=none", "target=pawsx", "trainer.max_train_examples=64")


def _cfg(output_root: Path, *overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=[f"output_root={output_root}", *overrides])


def _events(run_dir: Path) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]


def test_flatten_config_gives_dotted_scalar_keys():
    flat = flatten_config({"a": {"b": 1, "c": {"d": "x"}}, "e": [1, 2], "f": None, "g": True})
    assert flat == {"a.b": 1, "a.c.d": "x", "e": "[1, 2]", "f": "null", "g": True}


class FakeTracker:
    def __init__(self):
        self.started, self.finished = False, 0
        self.config: dict = {}
        self.logs: list[tuple[dict, int | None]] = []

    def start(self):
        self.started = True

    def store_init_configuration(self, values):
        self.config = values

    def log(self, values, step=None):
        self.logs.append((values, step))

    def finish(self):
        self.finished += 1


def test_tracker_gets_losses_and_is_finished_when_the_run_fails(tmp_path, monkeypatch):
    fake = FakeTracker()
    made = []
    monkeypatch.setattr(
        tracking, "make_tracker", lambda *args: made.append(args) or fake, raising=True
    )

    def broken(*args, **kwargs):
        raise RuntimeError("evaluation exploded")

    monkeypatch.setattr(run_module, "evaluate_checkpoint", broken)
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="evaluation exploded"):
        run_pipeline(_cfg(tmp_path, *QUICK, "trainer.tracker=mlflow"), run_dir)
    assert made[0][0] == "mlflow" and made[0][1] == "xtransfer"
    assert fake.started and fake.finished == 1
    assert (
        fake.config["trainer.lr"] == pytest.approx(2e-3) and fake.config["target.name"] == "pawsx"
    )
    losses = [(v["target/pawsx/loss"], step) for v, step in fake.logs if "target/pawsx/loss" in v]
    logged = [(e["loss"], e["step"]) for e in _events(run_dir) if e["event"] == "train_loss"]
    assert losses == logged and losses
    devs = [v["target/pawsx/dev"] for v, _ in fake.logs if "target/pawsx/dev" in v]
    assert devs == [e["score"] for e in _events(run_dir) if e["event"] == "dev"]


def test_unknown_or_missing_tracker_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="one of tensorboard, mlflow, wandb"):
        tracking.make_tracker("neptune", "p", "r", tmp_path)


@pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is None,
    reason="the `tensorboard` extra is not installed",
)
def test_tensorboard_event_files_hold_losses_and_test_scores(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    results = run_pipeline(_cfg(tmp_path, *QUICK, "trainer.tracker=tensorboard"), run_dir)
    acc = EventAccumulator(str(run_dir / "tensorboard"))
    acc.Reload()
    scalars = acc.Tags()["scalars"]
    loss = [(round(e.value, 4), e.step) for e in acc.Scalars("target/pawsx/loss")]
    logged = [
        (round(e["loss"], 4), e["step"]) for e in _events(run_dir) if e["event"] == "train_loss"
    ]
    assert loss == logged and loss
    avg = acc.Scalars("test/pawsx/avg")[0].value
    assert avg == pytest.approx(results["summary"]["pawsx"]["avg_metric"], abs=1e-4)
    per_lang = {t for t in scalars if t.startswith("test/pawsx/accuracy/")}
    assert per_lang == {f"test/pawsx/accuracy/{s['lang']}" for s in results["scores"]}
