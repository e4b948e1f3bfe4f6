"""results.json: one schema (schema_version), one writer, one reader, one headline rule, and the
console table, `xtransfer table` and the studies showing that same headline."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest

from xtransfer.errors import UserError
from xtransfer.reporting.console import language_table
from xtransfer.reporting.table import build_grid, find_results, per_language, render
from xtransfer.results import (
    SCHEMA_VERSION,
    Results,
    headline,
    language_headlines,
    read_results,
    write_results,
)
from xtransfer.studies.common import collect_runs
from xtransfer.studies.multimodal import analyse as multimodal_analyse

# Known EM and F1 per language: the expected numbers below are computed from these.
EM = {"en": 60.0, "de": 45.5, "zh": 30.25}
F1 = {"en": 75.0, "de": 62.0, "zh": 48.5}


def _qa_records(task: str = "xquad", em=EM, f1=F1) -> list[dict]:
    return [
        {"task": task, "lang": lang, "split": "test", "metric": metric, "value": value}
        for lang in em
        for metric, value in (("exact_match", em[lang]), ("f1", f1[lang]))
    ]


def _qa_result(intermediate: str = "squad", seed: int = 0, em=EM, f1=F1, **summary) -> dict:
    return {
        "xtransfer_version": "0.1.0",
        "model": "tiny",
        "seed": seed,
        "data": "embedded",
        "intermediate": intermediate,
        "target": "xquad",
        "phases": [{"name": "target", "task": "xquad", "key": "k1"}],
        "scores": _qa_records(em=em, f1=f1),
        "summary": {"xquad": {"languages": len(em), **summary}},
    }


def _official(em=EM, f1=F1) -> float:
    """The definition: (mean EM + mean F1) / 2."""
    return (statistics.fmean(em.values()) + statistics.fmean(f1.values())) / 2


# ---- the file ------------------------------------------------------------------------------------


def test_writer_and_reader_round_trip_with_the_version_field(tmp_path: Path):
    content = {**_qa_result(), "udpos_words": "xtreme", "target_seed": 3}
    content["scores"][0]["why"] = "démo – 中文"  # UTF-8 stays readable in the file
    results = Results.from_dict(content)
    path = write_results(tmp_path / "results.json", results)
    text = path.read_text("utf-8")
    assert "démo – 中文" in text and text.startswith('{\n  "schema_version": 1,')
    assert not list(tmp_path.glob("*.tmp"))  # the temporary file was renamed into place
    on_disk = json.loads(text)
    assert on_disk == {"schema_version": SCHEMA_VERSION, **content}
    back = read_results(path)
    assert back.to_dict() == on_disk and back.schema_version == SCHEMA_VERSION
    assert back.extra == {"udpos_words": "xtreme"} and back.target_seed == 3


def test_a_file_written_before_the_version_field_reads_unchanged(tmp_path: Path):
    content = _qa_result()
    path = tmp_path / "results.json"
    path.write_text(json.dumps(content), "utf-8")
    results = read_results(path)
    assert results.schema_version == 0 and results.to_dict() == content


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"scores": [', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"summary": {}}', "no 'scores'"),
        ('{"scores": []}', "no 'summary'"),
        ('{"scores": {}, "summary": {}}', "'scores' is not a list"),
        ('{"scores": [], "summary": {}, "schema_version": 99}', "newer than this xtransfer"),
    ],
)
def test_the_reader_names_the_file_of_a_bad_results_file(tmp_path: Path, text, needle):
    path = tmp_path / "results.json"
    path.write_text(text, "utf-8")
    with pytest.raises(UserError, match=needle) as err:
        read_results(path)
    assert str(path) in str(err.value)


def test_the_table_and_studies_refuse_a_bad_file_by_name(tmp_path: Path):
    bad = tmp_path / "run" / "results.json"
    bad.parent.mkdir()
    bad.write_text('{"summary": {}}', "utf-8")
    for read in (find_results, collect_runs):
        with pytest.raises(UserError, match="no 'scores'") as err:
            read([tmp_path])
        assert str(bad) in str(err.value)


# ---- the headline rule ---------------------------------------------------------------------------


def test_headline_is_the_recorded_avg_metric_or_the_scorer_rule():
    assert headline(_qa_result(avg_metric=12.5), "xquad") == 12.5
    assert headline(_qa_result(avg_metric=None, subset_avg_metric=7.0), "xquad") == 7.0
    # Nothing recorded: the scorer's rule applied to the scores, (mean EM + mean F1) / 2.
    assert headline(_qa_result(), "xquad") == pytest.approx(_official())
    per_lang = language_headlines(_qa_result(), "xquad")
    assert per_lang == pytest.approx({lang: (EM[lang] + F1[lang]) / 2 for lang in EM})
    assert statistics.fmean(per_lang.values()) == pytest.approx(_official())
    accuracy = {
        "scores": [
            {"task": "xnli", "lang": lang, "metric": "accuracy", "value": v}
            for lang, v in (("en", 70.0), ("de", 61.0))
        ],
        "summary": {"xnli": {}},
    }
    assert headline(accuracy, "xnli") == pytest.approx(65.5)


def test_xtransfer_table_cell_is_the_official_qa_average(tmp_path: Path):
    em2 = {lang: v + 4.0 for lang, v in EM.items()}
    f1_2 = {lang: v - 1.0 for lang, v in F1.items()}
    results = [
        _qa_result(seed=0, avg_metric=_official()),
        _qa_result(seed=1, em=em2, f1=f1_2, avg_metric=_official(em2, f1_2)),
    ]
    _, _, grid = build_grid(results)
    cell = grid[("squad", "xquad")]
    assert cell.mean == pytest.approx(statistics.fmean([_official(), _official(em2, f1_2)]))
    assert cell.em == pytest.approx(statistics.fmean([*EM.values(), *em2.values()]))
    assert cell.f1 == pytest.approx(statistics.fmean([*F1.values(), *f1_2.values()]))
    text = render(results, "md")
    assert f"{cell.mean:.1f} ± {statistics.stdev([_official(), _official(em2, f1_2)]):.1f}" in text
    assert f"(EM {cell.em:.1f}, F1 {cell.f1:.1f})" in text


def test_published_qa_delta_compares_like_with_like():
    result = _qa_result(intermediate="none", avg_metric=_official())
    text = render([result], "md", reference="xlmr-large")
    # references.yaml: xlmr-large xquad F1 76.6, EM 60.8 -> published avg_metric 68.7.
    published = (76.6 + 60.8) / 2
    assert f"[{_official() - published:+.1f} pub]" in text


def test_studies_use_the_official_qa_average(tmp_path: Path):
    runs = tmp_path / "runs"
    for setup in ("none", "squad"):
        for seed in (0, 1):
            folder = runs / f"{setup}-to-xquad" / f"seed{seed}"
            folder.mkdir(parents=True)
            em = {lang: v + seed + (3.0 if setup == "squad" else 0.0) for lang, v in EM.items()}
            content = _qa_result(setup, seed, em=em, avg_metric=_official(em))
            write_results(folder / "results.json", Results.from_dict(content))
    (run,) = [r for r in collect_runs(runs) if r.intermediate == "squad" and r.seed == 0]
    em = {lang: v + 3.0 for lang, v in EM.items()}
    assert run.headline("xquad") == pytest.approx(_official(em))
    assert statistics.fmean(run.lang_scores("xquad").values()) == pytest.approx(_official(em))
    out = tmp_path / "report"
    multimodal_analyse(runs, out)
    with (out / "table.csv").open(encoding="utf-8") as handle:
        rows = {r["setup"]: r for r in csv.DictReader(handle)}

    def expected(setup: str) -> float:
        bonus = 3.0 if setup == "squad" else 0.0
        return statistics.fmean(
            _official({lang: v + seed + bonus for lang, v in EM.items()}) for seed in (0, 1)
        )

    assert float(rows["squad"]["mean"]) == pytest.approx(expected("squad"), abs=1e-3)
    assert float(rows["squad"]["gain_vs_none"]) == pytest.approx(
        expected("squad") - expected("none"), abs=1e-3
    )


def test_console_shows_em_and_f1_means_in_their_columns_and_the_avg_metric():
    text = language_table("xquad", _qa_records(), _official(), {"comparable": True})
    lines = text.splitlines()
    header = lines[1].split()
    (avg,) = [line.split() for line in lines if line.startswith("avg ")]
    assert float(avg[header.index("exact_match")]) == pytest.approx(
        statistics.fmean(EM.values()), abs=0.005
    )
    assert float(avg[header.index("f1")]) == pytest.approx(statistics.fmean(F1.values()), abs=0.005)
    (official,) = [line.split() for line in lines if line.startswith("avg_metric")]
    assert float(official[1]) == pytest.approx(_official(), abs=0.005)


def test_per_language_table_shows_the_headline_rule_per_language():
    text = per_language([_qa_result(avg_metric=_official())], "xquad")
    assert "xquad ((EM + F1) / 2) per language" in text
    (row,) = [line for line in text.splitlines() if line.startswith("| squad |")]
    cells = [c.strip() for c in row.strip("|").split("|")][1:]
    assert cells == [f"{(EM[lang] + F1[lang]) / 2:.1f}" for lang in EM]
