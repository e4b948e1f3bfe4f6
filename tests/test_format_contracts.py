"""One home for each scoring decision (issue 17): the catalogue's `metric:` names a task's metric,
the format contract its files, and the registry how the metric is computed."""

from __future__ import annotations

import pytest

from xtransfer.evaluation.benchmarks import get_benchmark
from xtransfer.evaluation.scoring import METRICS, score_language, task_entry, task_metric
from xtransfer.tasks.formats import FORMATS
from xtransfer.tasks.formats.contracts import CONTRACTS, contract_for
from xtransfer.tasks.registry import all_tasks

BENCHMARK_TASKS = sorted({t for b in ("xtreme", "xtreme-r") for t in get_benchmark(b).tasks})


def test_every_format_has_a_contract_and_every_contract_a_format():
    assert set(CONTRACTS) == set(FORMATS)


@pytest.mark.parametrize("name", sorted(all_tasks()))
def test_every_catalogue_metric_is_one_its_format_allows(name):
    spec = all_tasks()[name]
    assert spec.metric in contract_for(spec.format).metrics


@pytest.mark.parametrize("name", BENCHMARK_TASKS)
def test_every_benchmark_task_is_scored_by_the_metric_it_names(name):
    spec = all_tasks()[name]
    metric = task_metric(spec)  # raises if the name has no scorer or cannot read the files
    assert metric is METRICS[spec.metric]
    assert contract_for(spec.format).layout in metric.layouts


# The official evaluate.py's per-task choice (task name -> what it computes), restated from its
# source: the catalogue must reproduce it.
OFFICIAL = {
    "xnli": "accuracy",
    "pawsx": "accuracy",
    "tatoeba": "accuracy",
    "xcopa": "accuracy",
    "panx": "chunk_f1",
    "udpos": "chunk_f1",
    "bucc2018": "pair_f1",
    "xquad": "squad_em_f1",
    "tydiqa": "squad_em_f1",
    "mlqa": "mlqa_em_f1",
    "mewslix": "mrr@20",
    "lareqa": "map@20",
}


def test_catalogue_reproduces_the_official_dispatch():
    assert {name: all_tasks()[name].metric for name in OFFICIAL} == OFFICIAL


def test_ccg_is_scored_by_token_accuracy_not_chunk_f1(tmp_path):
    # CCG supertags such as "B-x" are not chunks: per-token accuracy is the task's metric.
    gold = tmp_path / "gold.tsv"
    pred = tmp_path / "pred.tsv"
    gold.write_text("S\nNP\nB-x\n\nN\nI-x\n")
    pred.write_text("S\nNP\nI-x\n\nN\nI-x\n")
    spec = all_tasks()["ccg"]
    assert spec.metric == "token_accuracy"
    scores = METRICS["token_accuracy"].score(pred, gold, None, contract_for(spec.format).layout)
    assert scores == {"accuracy": pytest.approx(100.0 * 4 / 5)}


def test_ccg_dev_selection_uses_the_same_metric():
    from xtransfer.tasks.formats.tagging import TaggingFormat

    labels = ["S", "NP", "B-x", "I-x"]
    spec = all_tasks()["ccg"]
    spec = type(spec)(**{**spec.__dict__, "labels": labels})
    fmt = TaggingFormat(spec)
    rows = [{"label": [0, 1, 2]}]
    # 2 of 3 tokens right; seqeval chunk F1 of "B-x" vs "I-x" would differ.
    assert fmt.dev_score(rows, [[0, 1, 3]]) == pytest.approx(100.0 * 2 / 3)


def test_qa_headline_is_the_mean_of_em_and_f1():
    per_language = {
        "de": {"exact_match": 40.0, "f1": 60.0},
        "en": {"exact_match": 70.0, "f1": 80.0},
    }
    entry = task_entry("xquad", per_language)
    mean_em, mean_f1 = (40.0 + 70.0) / 2, (60.0 + 80.0) / 2
    assert entry["avg_metric"] == pytest.approx((mean_em + mean_f1) / 2)


def test_tagging_headline_is_chunk_f1_not_token_accuracy():
    entry = task_entry("udpos", {"de": {"f1": 50.0, "token_accuracy": 90.0}})
    assert entry["avg_metric"] == 50.0


def test_extension_comes_from_the_contract(tmp_path):
    gold = tmp_path / "test-de.jsonl"
    gold.write_text('{"label": 1}\n{"label": 0}\n')
    assert score_language("xcopa", gold, gold) == {"accuracy": 100.0}
    assert contract_for(all_tasks()["xcopa"].format).extension == "jsonl"


def test_a_user_task_cannot_name_a_metric_its_format_cannot_score(tmp_path):
    from xtransfer.errors import UserError
    from xtransfer.tasks.user_tasks import parse_user_task

    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nformat: tagging\nmetric: accuracy\nlanguages: [en]\nlabels: [A, B]\n"
        "splits: {train: data/train.jsonl}\n"
    )
    with pytest.raises(UserError, match="chunk_f1, token_accuracy"):
        parse_user_task(path)
