"""Comparability marks, target.languages subsets, the Hub BUCC refusal, and how the console
table and `xtransfer table` show them. The reasons come from docs/hub-schemas.md (Corrections
2, 6, 7) as recorded in the task catalogue."""

from __future__ import annotations

import pytest

from xtransfer.errors import UserError
from xtransfer.pipeline.zero_shot import check_data_source, evaluation_languages, finish_scores
from xtransfer.reporting.console import language_table
from xtransfer.reporting.table import render
from xtransfer.tasks.registry import get_task


def _cfg(task: str, data: dict, languages=None, benchmark: str = "xtreme", **target) -> dict:
    return {
        "target": {"task": task, "languages": languages, **target},
        "data": data,
        "benchmark": {"name": benchmark},
        "intermediate": {"tasks": {}},
    }


def _records(task: str, langs, split: str = "test") -> list[dict]:
    return [
        {"task": task, "lang": lang, "split": split, "metric": "f1", "value": 50.0 + i}
        for i, lang in enumerate(langs)
    ]


def test_target_languages_subset_in_benchmark_order_and_unknown_refused():
    task = get_task("udpos")
    bench, langs = evaluation_languages(task, "xtreme", ["ko", "ja"])
    assert bench == "xtreme" and langs == ["ja", "ko"]
    assert evaluation_languages(task, "xtreme")[1] == task.languages["xtreme"]
    with pytest.raises(UserError, match="no lt under xtreme"):
        evaluation_languages(task, "xtreme", ["ja", "lt"])
    assert evaluation_languages(task, "xtreme-r", ["lt"])[1] == ["lt"]


def test_subset_leaves_the_task_average_out_and_says_why():
    records = _records("udpos", ["ja", "ko"])
    data = {"source": "local", "ud_root": "/ud", "files": {}, "udpos": {"words": "xtreme"}}
    summary = finish_scores(_cfg("udpos", data, ["ja", "ko"]), records, {"avg_metric": 50.5})
    assert summary["avg_metric"] is None and summary["subset_avg_metric"] == 50.5
    assert summary["languages"] == 2 and summary["languages_of_benchmark"] == 33
    assert summary["comparable"] is False and "2 of 33 languages" in summary["why"]
    # Each language's score itself is XTREME's for that language.
    assert all(r["comparable"] is True and "why" not in r for r in records)
    text = language_table("udpos", records, summary["avg_metric"], summary)
    assert "left out: 2 of 33 languages" in text


def test_hub_udpos_marks_pooled_languages_and_syntactic_words():
    langs = get_task("udpos").languages["xtreme"]
    records = _records("udpos", langs)
    summary = finish_scores(_cfg("udpos", {"source": "hub"}), records, {"avg_metric": 60.0})
    why = {r["lang"]: r.get("why", "") for r in records}
    assert "Ancient Greek" in why["el"] and "Classical Chinese" in why["zh"]
    assert "Swiss German" in why["de"]
    assert "syntactic words" in why["hu"]
    assert not any(r["comparable"] for r in records)
    assert summary["avg_metric"] == 60.0 and summary["comparable"] is False
    text = language_table("udpos", records, summary["avg_metric"], summary)
    assert "el *" in text.replace("  ", " ") or "\nel " in text
    assert "Ancient Greek" in text


@pytest.mark.parametrize(
    ("data", "comparable", "needle"),
    [
        (
            {"source": "local", "ud_root": "/ud", "files": {}, "udpos": {"words": "xtreme"}},
            True,
            "",
        ),
        (
            {"source": "local", "ud_root": "/ud", "files": {}, "udpos": {"words": "syntactic"}},
            False,
            "syntactic words",
        ),
        (
            {
                "source": "local",
                "files": {"udpos": {"test": "/x/{lang}.conllu"}},
                "udpos": {"words": "xtreme"},
            },
            False,
            "one CoNLL-U file",
        ),
        ({"source": "xtreme_dir", "root": "/x"}, True, ""),
        ({"source": "embedded"}, False, "embedded demo"),
    ],
)
def test_udpos_sources(data, comparable, needle):
    records = _records("udpos", ["tr"])
    finish_scores(_cfg("udpos", data), records, {"avg_metric": 50.0})
    assert records[0]["comparable"] is comparable
    assert needle in records[0].get("why", "")


def test_non_english_training_and_other_splits_are_not_comparable():
    data = {"source": "xtreme_dir", "root": "/x"}
    records = _records("xnli", ["de", "fr"])
    finish_scores(_cfg("xnli", data), records, {"avg_metric": 1.0}, seen=["de", "en"])
    assert all("translate-train" in r["why"] for r in records)
    records = _records("pawsx", ["ko", "de"])
    finish_scores(_cfg("pawsx", {"source": "hub"}), records, {"avg_metric": 1.0})
    assert "1999 of the 2000" in records[0]["why"] and records[1]["comparable"] is True


def test_hub_bucc_is_refused_unless_asked_for_then_marked():
    cfg = _cfg("bucc2018", {"source": "hub"})
    with pytest.raises(UserError, match="allow_noncomparable") as err:
        check_data_source(cfg)
    assert "\n" not in str(err.value) and "gold pairs" in str(err.value)
    check_data_source(_cfg("bucc2018", {"source": "xtreme_dir", "root": "/b"}))
    allowed = _cfg("bucc2018", {"source": "hub"}, allow_noncomparable=True)
    check_data_source(allowed)
    records = _records("bucc2018", ["de", "fr", "ru", "zh"])
    summary = finish_scores(allowed, records, {"avg_metric": 90.0})
    assert summary["comparable"] is False and all("gold pairs" in r["why"] for r in records)


def _result(intermediate: str, task: str, value: float, comparable: bool) -> dict:
    summary = {"avg_metric": value, "languages": 1, "comparable": comparable}
    return {"intermediate": intermediate, "summary": {task: summary}, "scores": []}


def test_table_shows_published_delta_only_for_comparable_cells():
    results = [
        _result("none", "xnli", 70.0, True),
        _result("none", "udpos", 60.0, False),
        _result("mnli", "xnli", 80.0, True),
        _result("mnli", "udpos", 70.0, True),
    ]
    text = render(results, "md", reference="xlmr-large")
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("|")}
    # xlmr-large: xnli 79.2, udpos 72.6 (reporting/references.yaml).
    assert "80.0 (+10.0) [+0.8 pub]" in rows["mnli"]
    assert "70.0 (+10.0) [-2.6 pub]" in rows["mnli"]
    assert "60.0†" in rows["none"] and "pub" not in rows["none"].split("|")[2]
    assert "70.0 [-9.2 pub]" in rows["none"]
    # The none row's average covers a non-comparable cell: marked.
    assert rows["none"].rstrip(" |").endswith("65.0†")
    assert "† = not comparable" in text


def test_table_reads_a_subset_run_as_non_comparable():
    result = {
        "intermediate": "none",
        "summary": {
            "udpos": {
                "avg_metric": None,
                "subset_avg_metric": 55.0,
                "comparable": False,
                "languages": 2,
            }
        },
        "scores": [],
    }
    assert "55.0†" in render([result], "md")
