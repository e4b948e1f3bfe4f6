"""The prepared GPU check (`scripts/gpu_check.py`): its CPU smoke path runs every section and
writes a throughput profile that `xtransfer plan`'s estimator reads; its pieces behave.

The smoke run (4-layer model, 2 steps per arm, all five sections) takes minutes on 2 shared
cores, hence `slow`. No timing is asserted: only that every section ran and the figures are sane.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = REPO_ROOT / "scripts"
COMMITTED_PROFILE = REPO_ROOT / "src" / "xtransfer" / "reporting" / "throughput_profile.json"
sys.path.insert(0, str(SCRIPTS))

import gpu_check  # noqa: E402


def _positive(x) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x > 0


@pytest.mark.slow
def test_cpu_smoke_runs_every_section_and_writes_a_profile(tmp_path):
    from xtransfer.reporting import estimate as est

    out, profile = tmp_path / "check.json", tmp_path / "profile.json"
    before = COMMITTED_PROFILE.read_bytes()
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "gpu_check.py"),
            "--device",
            "cpu",
            "--quick",
            "--output",
            str(out),
            "--profile",
            str(profile),
            "--compile-backend",
            "aot_eager",  # the compiled arm's code path without a C++ build
            "--budget-s",
            "3000",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert COMMITTED_PROFILE.read_bytes() == before  # only an explicit path is written on CPU
    data = json.loads(out.read_text())
    assert {k: v["status"] for k, v in data["sections"].items()} == dict.fromkeys(
        ("environment", "training", "evaluation", "pipeline", "compiled"), "ok"
    )
    assert data["model"] == "mid" and data["environment"]["precision_auto"] == "no"
    for section, arms in (
        ("training", {"xtransfer", "hf_trainer_best"}),
        ("compiled", {"xtransfer_eager", "xtransfer_compiled"}),
    ):
        for name in ("128", "256", "384"):
            case = data[section][name]
            assert set(case["arms"]) == arms
            for figures in case["arms"].values():
                assert _positive(figures["real_tokens_per_s"]), (section, name)
                assert math.isfinite(figures["final_loss"])
    # Same data, same weights, same steps: the compiled arm learns what the eager arm learns.
    for name in ("128", "256", "384"):
        arms = data["compiled"][name]["arms"]
        assert arms["xtransfer_compiled"]["final_loss"] == pytest.approx(
            arms["xtransfer_eager"]["final_loss"], rel=1e-3
        )
        assert 0 <= data["training"][name]["arms"]["xtransfer"]["data_wait_share"] < 1
        assert _positive(data["evaluation"][name]["real_tokens_per_s"])
    # Dynamo compiled the encoder (later cases may reuse the dynamic-shape graphs).
    assert sum(data["compiled"][n]["graphs_compiled_total"] for n in ("128", "256", "384")) >= 1
    pipeline = data["pipeline"]
    assert [p["name"] for p in pipeline["phases"]] == ["intermediate", "target"]
    assert pipeline["languages"] == 15 and 0 <= pipeline["avg_metric"] <= 100

    entries = est.load_profile(profile)
    assert {e["key"] for e in entries} == {
        "mid|cpu|cpu|fp32|eager|classification",
        "mid|cpu|cpu|fp32|eager|qa",
    }
    (found,) = est.estimate(entries, "mid", None, "qa", real_tokens=1e6, mean_length=300)
    qa = next(e for e in entries if e["task_format"] == "qa")
    assert found.basis == "measured mid"
    assert found.seconds == pytest.approx(1e6 / qa["train_real_tokens_per_s"])


def test_lengths_follow_the_committed_distribution():
    hist = gpu_check.load_histograms()["xquad"]["384"]
    features = gpu_check.synthetic_features(hist, 4000, "qa", seed=0, vocab=4000)
    lengths = [len(f["input_ids"]) for f in features]
    assert set(lengths) <= {int(k) for k in hist}
    n = sum(hist.values())
    expected = sum(int(k) * c for k, c in hist.items()) / n
    assert sum(lengths) / len(lengths) == pytest.approx(expected, rel=0.02)
    for f in features:
        assert 0 < f["start_position"] <= f["end_position"] < len(f["input_ids"]) - 1
        assert f["input_ids"][0] == 0 and f["input_ids"][-1] == 2


def test_peak_flops_by_device_name():
    assert gpu_check.peak_tflops("NVIDIA H100 80GB HBM3", None) == 989.0
    assert gpu_check.peak_tflops("NVIDIA H100 PCIe", None) == 756.0
    assert gpu_check.peak_tflops("NVIDIA H200", None) == 989.0
    assert gpu_check.peak_tflops("some card", None) is None
    assert gpu_check.peak_tflops("some card", 100.0) == 100.0


def test_a_failing_section_is_recorded_and_the_next_one_runs(tmp_path):
    report = gpu_check.Report(tmp_path / "r.json", gpu_check.Budget(100))

    def broken():
        raise RuntimeError("CUDA error: out of memory")

    report.section("first", 0, broken)
    assert report.section("second", 0, lambda: {"x": 1}) == {"x": 1}
    report.section("third", 1e9, lambda: {"never": True})
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["sections"]["first"]["status"] == "error"
    assert "out of memory" in written["sections"]["first"]["error"]
    assert written["sections"]["second"]["status"] == "ok" and written["second"] == {"x": 1}
    assert written["sections"]["third"]["status"] == "skipped" and "third" not in written


def test_gpu_profile_merge_keeps_other_entries(tmp_path):
    from bench_profile import merge_entries

    profile = tmp_path / "p.json"
    profile.write_bytes(COMMITTED_PROFILE.read_bytes())
    old = json.loads(profile.read_text())["entries"]
    new = [dict(old[0], key="xlmr-large|cuda|NVIDIA H100|bf16|eager|qa", device="cuda")]
    out = merge_entries(profile, new, {"gpu_check": {"device_name": "NVIDIA H100"}})
    assert len(out["entries"]) == len(old) + 1
    again = merge_entries(profile, new)  # same key: replaced, and the extra block is kept
    assert len(again["entries"]) == len(old) + 1 and again["gpu_check"]["device_name"]


def test_a_failing_arm_leaves_the_other_arms_figures():
    calls = []

    def good(steps):
        calls.append(steps)
        return {"real_tokens_per_s": 10.0 * len(calls)}

    def bad(steps):
        raise TypeError("unexpected keyword argument 'optim'")

    out = gpu_check.interleaved({"xtransfer": good, "hf_trainer_best": bad}, 2, 1, 5)
    assert calls == [1, 5, 5]  # warm-up, then both rounds; the failed arm is not retried
    assert out["xtransfer"]["real_tokens_per_s"] == 30.0
    assert out["xtransfer"]["real_tokens_per_s_all"] == [20.0, 30.0]
    assert "hf_trainer_best" not in out and "optim" in out["errors"]["hf_trainer_best"]
