"""`xtransfer study` on synthetic run folders (real results.json schema) with planted answers."""

from __future__ import annotations

import csv
import math
import statistics

import pytest

from xtransfer.cli import main
from xtransfer.studies.data_volume import load_sizes
from xtransfer.studies.synthetic import write_run

XNLI = ["ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _assert_outputs(out, figures):
    assert (out / "table.md").read_text().strip()
    assert (out / "table.csv").read_text().strip()
    for stem in figures:
        for ext in ("png", "pdf"):
            path = out / f"{stem}.{ext}"
            assert path.is_file() and path.stat().st_size > 1000, path
    assert (out / f"{figures[0]}.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / f"{figures[0]}.pdf").read_bytes()[:4] == b"%PDF"


def test_sequential_study_table(tmp_path, capsys):
    budget = {"kind": "examples", "value": 1600}
    arms = {  # (tasks, mode): per-seed offset over the baseline
        ((), "single"): 0.0,
        (("mnli",), "single"): 2.0,
        (("mnli", "pawsx"), "multitask"): 3.0,
        (("mnli", "pawsx"), "sequential"): 4.0,
        (("pawsx", "mnli"), "sequential"): 1.0,
    }
    base = {"xnli": 50.0, "xcopa": 60.0}
    for (tasks, mode), offset in arms.items():
        for seed in (0, 1):
            for target, level in base.items():
                value = level + offset + (seed * 2 - 1)  # seeds at -1 / +1: std = sqrt(2)
                write_run(
                    tmp_path,
                    target,
                    {"en": value, "de": value},
                    tasks=tasks,
                    mode=mode,
                    seed=seed,
                    benchmark="xtreme-r",
                    budget=budget if tasks else None,
                )
    out = tmp_path / "report"
    assert main(["study", "sequential", str(tmp_path), "--out", str(out)]) == 0
    _assert_outputs(out, ["scores"])
    rows = {r["arm"]: r for r in _rows(out / "table.csv")}
    assert set(rows) == {
        "none",
        "mnli",
        "mnli+pawsx.multitask",
        "mnli+pawsx.sequential",
        "pawsx+mnli.sequential",
    }
    seq = rows["mnli+pawsx.sequential"]
    assert seq["mode"] == "sequential" and seq["tasks"] == "mnli pawsx"
    assert float(seq["xnli_mean"]) == pytest.approx(54.0)
    assert float(seq["xnli_std"]) == pytest.approx(math.sqrt(2), abs=1e-5)
    # overall per seed = mean of the two tasks; then mean/std over seeds.
    assert float(seq["overall_mean"]) == pytest.approx((54.0 + 64.0) / 2)
    assert float(seq["overall_std"]) == pytest.approx(math.sqrt(2), abs=1e-5)
    assert rows["pawsx+mnli.sequential"]["tasks"] == "pawsx mnli"
    assert rows["none"]["mode"] == "none"
    md = (out / "table.md").read_text()
    assert "mnli → pawsx" in md and "1600 examples" in md and "+4.0" in md
    assert "wrote" in capsys.readouterr().out


def test_data_volume_recovers_a_planted_relation(tmp_path):
    sizes = load_sizes().sizes
    for seed in (0, 1):
        # Baseline 50 everywhere; gain = 3 * log10(size): Pearson (log x) = Spearman = 1.
        write_run(tmp_path, "xnli", {lang: 50.0 for lang in XNLI}, seed=seed)
        write_run(
            tmp_path,
            "xnli",
            {lang: 50.0 + 3 * math.log10(sizes[lang]) for lang in XNLI},
            tasks=["mnli"],
            seed=seed,
        )
        # A task with languages absent from CC-100 (ht, qu) and a decreasing relation.
        langs = ["et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh"]
        write_run(tmp_path, "xcopa", {lang: 60.0 for lang in langs}, seed=seed)
        write_run(
            tmp_path,
            "xcopa",
            {lang: 60.0 - sizes.get(lang, 1.0) / 100 for lang in langs},
            tasks=["mnli"],
            seed=seed,
        )
    out = tmp_path / "report"
    assert (
        main(["study", "data-volume", str(tmp_path), "--out", str(out), "--set", "bootstrap=200"])
        == 0
    )
    _assert_outputs(out, ["scatter_mnli"])
    rows = {r["task"]: r for r in _rows(out / "table.csv")}
    xnli = rows["xnli"]
    assert int(xnli["n"]) == 14  # English left out
    assert float(xnli["pearson"]) == pytest.approx(1.0)
    assert float(xnli["spearman"]) == pytest.approx(1.0)
    expected_gain = statistics.fmean(3 * math.log10(sizes[lang]) for lang in XNLI if lang != "en")
    assert float(xnli["mean_gain"]) == pytest.approx(expected_gain, abs=1e-3)
    assert float(rows["xcopa"]["spearman"]) == pytest.approx(-1.0)
    assert int(rows["xcopa"]["n"]) == 9
    assert int(rows["pooled"]["n"]) == 14 + 9
    md = (out / "table.md").read_text()
    section = md.split("Languages without a CC-100 size")[1]
    assert "| mnli | xcopa | ht | absent from CC-100 |" in section
    assert "| mnli | xcopa | qu | absent from CC-100 |" in section
    gains = _rows(out / "gains.csv")
    assert {g["lang"] for g in gains if g["cc100_gib"] == ""} == {"ht", "qu"}


def test_study_command_errors_are_one_line(tmp_path, capsys):
    assert main(["study", "no-such-study", str(tmp_path)]) == 2
    assert "unknown study" in capsys.readouterr().err
    assert main(["study", "sequential", str(tmp_path / "missing")]) == 2
    assert "no such run or sweep folder" in capsys.readouterr().err
    write_run(tmp_path, "xnli", {"de": 50.0}, tasks=["mnli"])
    assert main(["study", "data-volume", str(tmp_path)]) == 2  # no baseline runs
    assert "no gains to compute" in capsys.readouterr().err
    assert main(["study", "data-volume", str(tmp_path), "--set", "colour=red"]) == 2
    assert "unknown option" in capsys.readouterr().err


def test_missing_study_module_is_reported_cleanly(tmp_path, capsys, monkeypatch):
    from xtransfer import studies

    monkeypatch.setitem(studies.STUDIES, "future", "xtransfer.studies.not_written_yet")
    assert main(["study", "future", str(tmp_path)]) == 2
    assert "not available yet" in capsys.readouterr().err
