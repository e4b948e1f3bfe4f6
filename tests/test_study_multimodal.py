"""Study 4 (multimodal) analysis on synthetic runs with known answers: per-target averages over
seeds, gains against no intermediate training and against text-only, setup kinds."""

from __future__ import annotations

import csv
import json
import random
import statistics
from pathlib import Path

import pytest

from xtransfer.studies.multimodal import analyse, setup_kind, setup_tasks

TARGETS = {"xnli": ["ar", "de", "en", "sw", "zh"], "xcopa": ["et", "ht", "qu", "tr"]}
SETUPS = ["none", "captions", "mnli", "captions+mnli.multitask"]
SEEDS = [0, 1]
DEV = {"captions": 40.0, "mnli": 70.0, "captions+mnli.multitask": 55.0}


def _score(setup: str, task: str, lang: str, seed: int) -> float:
    rng = random.Random(f"{setup}/{task}/{lang}/{seed}")
    bonus = {"none": 0, "captions": 1, "mnli": 4, "captions+mnli.multitask": 5}[setup]
    return round(50 + bonus + rng.uniform(-2, 2), 4)


def _write_runs(root: Path) -> None:
    for setup in SETUPS:
        for task, langs in TARGETS.items():
            for seed in SEEDS:
                run = root / f"{setup}-to-{task}" / f"seed{seed}"
                run.mkdir(parents=True)
                scores = [
                    {"task": task, "lang": lang, "split": "test", "metric": "accuracy",
                     "value": _score(setup, task, lang, seed)}
                    for lang in langs
                ]  # fmt: skip
                phases = [{"name": "target", "task": task, "best_dev": 99.0}]
                if setup != "none":
                    # The intermediate phase's dev score differs per seed: the table averages it.
                    phases.insert(0, {"name": "intermediate", "best_dev": DEV[setup] + seed})
                result = {
                    "model": "tiny",
                    "data": "embedded",
                    "seed": seed,
                    "intermediate": setup,
                    "target": task,
                    "phases": phases,
                    "scores": scores,
                    "summary": {
                        task: {
                            "avg_metric": statistics.fmean(s["value"] for s in scores),
                            "languages": len(langs),
                        }
                    },
                }
                (run / "results.json").write_text(json.dumps(result), "utf-8")


def _mean_over_seeds(setup: str, task: str) -> list[float]:
    return [
        statistics.fmean(_score(setup, task, lang, seed) for lang in TARGETS[task])
        for seed in SEEDS
    ]


def test_setup_kinds_come_from_the_catalogue_formats():
    assert setup_tasks("captions+mnli.multitask") == ["captions", "mnli"]
    assert setup_tasks("mnli@de,fr") == ["mnli"]
    assert setup_kind("none") == "none"
    assert setup_kind("mnli") == "text"
    assert setup_kind("captions") == "image-text"
    assert setup_kind("captions+mnli.multitask") == "image-text + text"
    assert setup_kind("mnli+squad.sequential") == "text"


def test_target_averages_and_gains_match_the_definition(tmp_path):
    _write_runs(tmp_path / "runs")
    out = tmp_path / "report"
    analyse(tmp_path / "runs", out)
    with (out / "table.csv").open(encoding="utf-8") as handle:
        table = {(r["setup"], r["target"]): r for r in csv.DictReader(handle)}
    assert set(table) == {(s, t) for s in SETUPS for t in TARGETS}
    for (setup, task), row in table.items():
        values = _mean_over_seeds(setup, task)
        mean = statistics.fmean(values)
        assert float(row["mean"]) == pytest.approx(mean, abs=1e-3)
        assert float(row["std"]) == pytest.approx(statistics.stdev(values), abs=1e-3)
        none = statistics.fmean(_mean_over_seeds("none", task))
        text = statistics.fmean(_mean_over_seeds("mnli", task))
        # A setup's gain against itself is left blank.
        for column, reference, ref_mean in (
            ("gain_vs_none", "none", none),
            ("gain_vs_text", "mnli", text),
        ):
            if setup == reference:
                assert row[column] == ""
            else:
                assert float(row[column]) == pytest.approx(mean - ref_mean, abs=1e-3)
        if setup == "none":
            assert row["intermediate_dev"] == ""
        else:
            expected_dev = statistics.fmean(DEV[setup] + seed for seed in SEEDS)
            assert float(row["intermediate_dev"]) == pytest.approx(expected_dev)
        assert row["kind"] == setup_kind(setup)
    md = (out / "table.md").read_text("utf-8")
    # Markdown: one row per setup, in the order none, text-only, image-text, mixed.
    order = [line.split("|")[1].strip() for line in md.splitlines() if line.startswith("| ")][1:]
    assert order == ["none", "mnli", "captions", "captions+mnli.multitask"]
    for path in ("target_scores.png", "target_scores.pdf", "per_language.csv"):
        assert (out / path).stat().st_size > 0


def test_setups_option_restricts_and_orders_the_rows(tmp_path):
    _write_runs(tmp_path / "runs")
    out = tmp_path / "report"
    analyse(tmp_path / "runs", out, setups="captions,none")
    md = (out / "table.md").read_text("utf-8")
    order = [line.split("|")[1].strip() for line in md.splitlines() if line.startswith("| ")][1:]
    assert order == ["captions", "none"]
