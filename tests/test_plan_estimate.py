"""Compute estimates in `xtransfer plan`: model FLOPs, profile lookup, QA windows as steps."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from xtransfer.config import asset_path
from xtransfer.data.sources import load_rows
from xtransfer.reporting import estimate as est
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.registry import get_task

PROFILE = [
    {
        "model": "small",
        "device": "cpu",
        "task_format": "classification",
        "non_embedding_parameters": 1000,
        "train_real_tokens_per_s": 500.0,
        "train_model_flops_per_s": 8.0e9,
    },
    {
        "model": "small",
        "device": "cpu",
        "task_format": "qa",
        "non_embedding_parameters": 1000,
        "train_real_tokens_per_s": 200.0,
        "train_model_flops_per_s": 6.0e9,
    },
]


def test_non_embedding_parameters_match_a_real_encoder():
    from transformers import XLMRobertaConfig, XLMRobertaModel

    config = XLMRobertaConfig(
        vocab_size=100,
        hidden_size=48,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=80,
    )
    model = XLMRobertaModel(config, add_pooling_layer=False)
    layers = sum(p.numel() for n, p in model.named_parameters() if n.startswith("encoder."))
    arch = est.Architecture(layers=3, hidden=48, intermediate=80)
    assert arch.non_embedding_parameters == layers
    # 6N per token for the matmuls of forward+backward, plus attention's 12 L H T.
    assert arch.train_flops_per_token(100) == 6 * layers + 12 * 3 * 48 * 100


def test_architecture_from_the_model_config():
    tiny = est.architecture({"config_dir": asset_path("tiny-xlmr")})
    assert (tiny.layers, tiny.hidden, tiny.intermediate) == (2, 64, 128)
    large = est.architecture({"architecture": {"layers": 24, "hidden": 1024, "intermediate": 4096}})
    assert large.non_embedding_parameters == 24 * (4 * 1024**2 + 2 * 1024 * 4096 + 9 * 1024 + 4096)
    assert est.architecture({"pretrained": "some/hub-id", "config_dir": None}) is None


def test_measured_model_uses_its_own_rate():
    (found,) = est.estimate(PROFILE, "small", None, "classification", 10_000, 50.0)
    assert found.device == "cpu" and found.seconds == pytest.approx(10_000 / 500.0)
    assert found.basis == "measured small"


def test_other_model_is_scaled_by_flops_per_token():
    arch = est.Architecture(layers=24, hidden=1024, intermediate=4096)
    (found,) = est.estimate(PROFILE, "xlmr-large", arch, "qa", 1e6, 300.0)
    rate = 6.0e9 / arch.train_flops_per_token(300.0)
    assert found.seconds == pytest.approx(1e6 / rate)
    assert found.basis == "scaled from small"


def test_no_estimate_without_a_measured_device_or_architecture():
    assert est.estimate([], "small", None, "qa", 1e6, 10.0) == []
    assert est.estimate(PROFILE, "unknown", None, "qa", 1e6, 10.0) == []


def test_plan_counts_qa_windows_and_prints_an_estimate(tmp_path):
    """Steps are optimizer steps over features (QA windows), not over rows."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "plan",
            "intermediate=squad",
            "target=xquad",
            f"output_root={tmp_path}",
            "trainer.max_train_examples=40",
            "intermediate.tasks.squad.max_length=64",  # short windows: several per context
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    from xtransfer.training.model import load_tokenizer

    task = get_task("squad")
    rows = load_rows(task, "train", "en", {"source": "embedded", "root": asset_path("demo")})[:40]
    settings = __import__("yaml").safe_load(
        (Path(asset_path("..")) / "conf" / "intermediate" / "squad.yaml").read_text()
    )["tasks"]["squad"]
    features = get_format("span_qa")(task).featurize(
        rows, load_tokenizer(asset_path("tiny-xlmr")), 64
    )
    assert len(features) > len(rows)  # long contexts give several windows
    steps = math.ceil(len(features) / settings["batch_size"]) * settings["epochs"]
    line = next(x for x in result.stdout.splitlines() if x.strip().startswith("intermediate"))
    assert f"squad {len(features)} features, {steps} steps" in line, result.stdout
    assert re.search(r"M real tokens; est\. cpu .* \(measured tiny\)", result.stdout)
    assert "estimated training compute (measured throughput profile): cpu" in result.stdout


def test_plan_sweep_leaves_no_multirun_yaml_behind(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "plan",
            "-m",
            "intermediate=none,mnli",
            f"output_root={tmp_path / 'out'}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert not list(tmp_path.rglob("multirun.yaml"))
