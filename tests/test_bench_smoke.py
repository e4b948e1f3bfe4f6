"""Smoke test of the performance benchmark: `scripts/bench.py --quick` runs end to end and writes
a complete JSON summary whose ratios are finite and positive.

No timing is asserted (timings on shared machines are noise); only that every section ran and
produced sane figures. The run takes ~50 s on 2 shared cores, hence `slow`; it reads the real
Tatoeba/XQuAD files, hence `realdata`.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH = REPO_ROOT / "scripts" / "bench.py"
PROFILE = REPO_ROOT / "src" / "xtransfer" / "reporting" / "throughput_profile.json"

SECTIONS = ("training", "padding_efficiency", "evaluation", "retrieval", "cli_startup")
ARMS = ("xtransfer", "hf_pad_to_max", "hf_group_by_length")


def _positive(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def quick_result(shared_data: Path, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    profile_before = PROFILE.read_bytes() if PROFILE.exists() else None
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--quick",
            "--data-dir",
            str(shared_data),
            "--output",
            str(out),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The quick run must not touch the committed profile (only --profile writes it).
    assert (PROFILE.read_bytes() if PROFILE.exists() else None) == profile_before
    written = json.loads(out.read_text(encoding="utf-8"))
    # stdout carries exactly the JSON summary that was written to the file.
    assert json.loads(proc.stdout) == written
    return written


@pytest.mark.slow
@pytest.mark.realdata
def test_every_section_ran(quick_result: dict) -> None:
    assert quick_result["mode"] == "quick"
    for section in SECTIONS:
        assert section in quick_result, f"missing section {section}"
    assert quick_result["wall_s"] > 0


@pytest.mark.slow
@pytest.mark.realdata
def test_all_ratios_finite_and_positive(quick_result: dict) -> None:
    ratios = quick_result["summary_ratios"]
    assert len(ratios) >= 15
    bad = {k: v for k, v in ratios.items() if not _positive(v)}
    assert not bad, bad


@pytest.mark.slow
@pytest.mark.realdata
def test_training_arms_did_the_same_work(quick_result: dict) -> None:
    training = quick_result["training"]
    cases = {k: v for k, v in training.items() if k != "trainer_config"}
    assert "tiny/classification" in cases and "tiny/qa" in cases
    for name, case in cases.items():
        arms = case["arms"]
        assert set(arms) == set(ARMS), name
        for arm in ARMS:
            figures = arms[arm]
            # Same examples, same optimizer steps, same batch size in every arm.
            assert figures["examples"] == case["examples"], (name, arm)
            assert figures["batches"] == case["optimizer_steps"], (name, arm)
            for key in (
                "examples_per_s",
                "real_tokens_per_s",
                "processed_tokens_per_s",
                "model_tflops_per_s",
                "projected_real_tokens_per_s",
            ):
                assert _positive(figures[key]), (name, arm, key)
            assert 0 < figures["padding_efficiency"] <= 1
            assert math.isfinite(figures["final_loss"])
        # Padding to max_length can never beat padding per batch.
        assert arms["hf_pad_to_max"]["padding_efficiency"] <= (
            arms["xtransfer"]["padding_efficiency"] + 1e-9
        )


@pytest.mark.slow
@pytest.mark.realdata
def test_padding_evaluation_retrieval_cli(quick_result: dict) -> None:
    for name, case in quick_result["padding_efficiency"].items():
        for key in ("hf_pad_to_max", "hf_group_by_length", "xtransfer"):
            assert 0 < case[key] <= 1, (name, key)
    evaluation = quick_result["evaluation"]
    assert evaluation["questions"] > 0
    # Padding and reloading change the speed, never the answers.
    assert evaluation["answers_identical"] == 1.0
    retrieval = quick_result["retrieval"]
    assert retrieval["knn_recall_at_k"]["forward"] > 0.99
    assert retrieval["knn_recall_at_k"]["backward"] > 0.99
    assert retrieval["planted_recall"] > 0.9
    cli = quick_result["cli_startup"]
    assert set(cli["best_s"]) >= {"xtransfer_help", "xtransfer_score"}
    assert all(_positive(v) for v in cli["best_s"].values())


def test_profile_schema() -> None:
    """The committed throughput profile (read by `xtransfer plan`) has the documented shape."""
    if not PROFILE.exists():
        pytest.skip("no throughput profile written yet")
    data = json.loads(PROFILE.read_text(encoding="utf-8"))
    assert data["schema_version"] == 1
    assert data["entries"]
    for entry in data["entries"]:
        for key in (
            "key",
            "model",
            "device",
            "device_name",
            "precision",
            "task_format",
            "batch_size",
            "max_length",
            "train_real_tokens_per_s",
            "train_model_flops_per_s",
            "non_embedding_parameters",
            "measured",
        ):
            assert key in entry, key
        assert _positive(entry["train_real_tokens_per_s"])
        assert entry["device"] in ("cpu", "cuda")
