"""Study 3 (morphology) analysis on synthetic runs with known answers: group averages, seed
spread and gains computed here from the definitions, the group taken from the runs' config."""

from __future__ import annotations

import csv
import json
import random
import statistics
from pathlib import Path

import pytest

from xtransfer.commands.study import main as study_main
from xtransfer.errors import UserError
from xtransfer.studies.morphology import DEFAULT_GROUP, analyse

LANGS = {
    "udpos": ["en", "de", "fr", "tr", "fi", "hu", "ja", "zh", "ar"],
    "panx": ["en", "de", "es", "tr", "fi", "et", "ko", "ru"],
}
SETUPS = ["none", "udpos", "udfeats"]
SEEDS = [0, 1, 2]


def _score(setup: str, task: str, lang: str, seed: int) -> float:
    """Deterministic scores; udfeats gets +5 on the agglutinative languages of DEFAULT_GROUP."""
    rng = random.Random(f"{setup}-{task}-{lang}-{seed}")
    value = 40 + rng.uniform(-3, 3) + (2 if setup != "none" else 0)
    if setup == "udfeats" and lang in DEFAULT_GROUP:
        value += 5
    return round(value, 3)


def _write_runs(root: Path, group_in_config: list[str] | None = None) -> None:
    for setup in SETUPS:
        for task, langs in LANGS.items():
            for seed in SEEDS:
                run = root / f"{setup}-to-{task}" / f"seed{seed}"
                run.mkdir(parents=True)
                scores = [
                    {"task": task, "lang": lang, "split": "test", "metric": "f1",
                     "value": _score(setup, task, lang, seed)}
                    for lang in langs
                ]  # fmt: skip
                avg = statistics.fmean(s["value"] for s in scores)
                result = {
                    "model": "tiny",
                    "data": "embedded",
                    "seed": seed,
                    "intermediate": setup,
                    "target": task,
                    "phases": [],
                    "scores": scores,
                    "summary": {task: {"avg_metric": avg, "languages": len(langs)}},
                }
                (run / "results.json").write_text(json.dumps(result), "utf-8")
                if group_in_config is not None:
                    (run / ".hydra").mkdir()
                    (run / ".hydra" / "config.yaml").write_text(
                        "study:\n  morphology:\n    agglutinative: ["
                        + ", ".join(group_in_config)
                        + "]\n",
                        "utf-8",
                    )


def _expected(group: list[str], setup: str, task: str) -> dict[str, float | None]:
    """From the definition: per seed, the mean over the group's languages of the task (English
    never in 'rest'); then mean and sample std over seeds; gain = mean - none's mean."""

    def per_seed(s: str, members: bool) -> list[float]:
        out = []
        for seed in SEEDS:
            langs = [
                lang
                for lang in LANGS[task]
                if (lang in group) == members and (members or lang != "en")
            ]
            out.append(statistics.fmean(_score(s, task, lang, seed) for lang in langs))
        return out

    aggl, rest = per_seed(setup, True), per_seed(setup, False)
    base_aggl, base_rest = per_seed("none", True), per_seed("none", False)
    return {
        "agglutinative_mean": statistics.fmean(aggl),
        "agglutinative_std": statistics.stdev(aggl),
        "agglutinative_gain": None
        if setup == "none"
        else statistics.fmean(aggl) - statistics.fmean(base_aggl),
        "rest_mean": statistics.fmean(rest),
        "rest_std": statistics.stdev(rest),
        "rest_gain": None
        if setup == "none"
        else statistics.fmean(rest) - statistics.fmean(base_rest),
        "gap": statistics.fmean(aggl) - statistics.fmean(rest),
    }


def _csv(out: Path) -> dict[tuple[str, str], dict[str, str]]:
    with (out / "table.csv").open(encoding="utf-8") as handle:
        return {(r["target"], r["setup"]): r for r in csv.DictReader(handle)}


def _check(out: Path, group: list[str]) -> None:
    table = _csv(out)
    assert set(table) == {(t, s) for t in LANGS for s in SETUPS}
    for (task, setup), row in table.items():
        for key, value in _expected(group, setup, task).items():
            if value is None:
                assert row[key] == ""
            else:
                assert float(row[key]) == pytest.approx(value, abs=1e-3), (task, setup, key)
        assert row["seeds"] == str(len(SEEDS))
        assert row["agglutinative_langs"].split() == sorted(set(LANGS[task]) & set(group))


def test_group_averages_and_gains_match_the_definition(tmp_path):
    _write_runs(tmp_path / "runs")
    out = tmp_path / "report"
    report = analyse(tmp_path / "runs", out)
    _check(out, DEFAULT_GROUP)
    # The planted effect: udfeats has +5 over udpos on the agglutinative languages only
    # (plus seeded noise of at most ±3 per score, averaged over languages and seeds).
    table = _csv(out)
    for task in LANGS:
        gain = {s: float(table[(task, s)]["agglutinative_gain"]) for s in ("udpos", "udfeats")}
        rest = {s: float(table[(task, s)]["rest_gain"]) for s in ("udpos", "udfeats")}
        assert 3 < gain["udfeats"] - gain["udpos"] < 7
        assert abs(rest["udfeats"] - rest["udpos"]) < 2
    md = (out / "table.md").read_text("utf-8")
    assert "tr fi hu et eu ja ko ta te kk" in md and "English left out" in md
    for path in ("group_averages.png", "group_averages.pdf", "per_language.csv"):
        assert (out / path).stat().st_size > 0
    assert report["data"]["group"] == DEFAULT_GROUP


def test_group_from_the_experiment_config_and_from_the_command_line(tmp_path):
    configured = ["tr", "ja", "ko"]
    _write_runs(tmp_path / "runs", group_in_config=configured)
    analyse(tmp_path / "runs", tmp_path / "a")
    _check(tmp_path / "a", configured)
    assert "(from the experiment config)" in (tmp_path / "a" / "table.md").read_text("utf-8")
    # --set agglutinative=... wins over the config.
    rc = study_main(
        ["morphology", str(tmp_path / "runs"), "--out", str(tmp_path / "b"),
         "--set", "agglutinative=[fi, hu, et]"]
    )  # fmt: skip
    assert rc == 0
    _check(tmp_path / "b", ["fi", "hu", "et"])


def test_runs_with_different_configured_groups_are_a_user_error(tmp_path):
    _write_runs(tmp_path / "runs", group_in_config=["tr"])
    other = next((tmp_path / "runs").rglob("config.yaml"))
    other.write_text("study:\n  morphology:\n    agglutinative: [fi]\n", "utf-8")
    with pytest.raises(UserError, match="different study.morphology.agglutinative"):
        analyse(tmp_path / "runs", tmp_path / "out")
