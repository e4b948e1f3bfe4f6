"""`trainer.precision`: auto by default in every preset, resolved per device, checked early."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from xtransfer.config import register_resolvers
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.training import precision
from xtransfer.training.precision import resolve_precision


def test_auto_is_fp32_on_cpu_and_bf16_or_fp16_on_cuda(monkeypatch):
    assert resolve_precision("auto", "cpu") == "no"
    monkeypatch.setattr(precision, "_cuda_supports_bf16", lambda: True)
    assert resolve_precision("auto", "cuda") == "bf16"
    monkeypatch.setattr(precision, "_cuda_supports_bf16", lambda: False)  # pre-Ampere
    assert resolve_precision("auto", "cuda") == "fp16"
    assert resolve_precision(None, "cpu") == "no"


def test_explicit_values_are_kept():
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("fp16", "cuda") == "fp16"
    assert resolve_precision("no", "cuda") == "no"
    assert resolve_precision("fp32", "cuda") == "no"
    assert resolve_precision(False, "cuda") == "no"  # YAML 1.1 reads an unquoted `no` as False


@pytest.mark.parametrize(("value", "device"), [("fp8", "cuda"), ("int4", "cpu"), ("fp16", "cpu")])
def test_invalid_values_are_one_line_errors(value, device):
    with pytest.raises(UserError) as error:
        resolve_precision(value, device)
    assert "\n" not in str(error.value) and "trainer.precision" in str(error.value)


@pytest.mark.parametrize("preset", ["demo", "xstilts", "xtreme"])
def test_every_preset_defaults_to_auto(preset):
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"trainer={preset}"])
    assert cfg.trainer.precision == "auto"
    assert cfg.trainer.compile is False and cfg.trainer.pad_to_multiple_of is None


def test_train_with_an_invalid_precision_says_so_in_one_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "train",
            "trainer.precision=fp8",
            f"output_root={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "fp8" in lines[0], proc.stderr
