"""User-declared tasks: one YAML file, used as intermediate and as target without Python changes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from xtransfer.config import register_resolvers
from xtransfer.data.sources import load_rows
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.run import run_pipeline
from xtransfer.tasks.registry import all_tasks, get_task, register_user_tasks

LABELS = ["entailment", "not_entailment"]
LANGS = ["en", "de"]
TASK_YAML = """\
# A sentence-pair task of my own.
name: mytask
format: classification
labels: [entailment, not_entailment]
languages: [en, de]
columns: {text_a: premise, text_b: hypothesis, label: label}
splits:
  train: {file: data/train.jsonl}
  validation: data/dev.jsonl
  test: {file: "data/test-{lang}.jsonl"}
intermediate: {epochs: 1, max_length: 64, batch_size: 8}
target: {epochs: 1, max_length: 64, batch_size: 8}
"""


def _rows(n: int, lang: str, seed: int) -> list[dict]:
    rng = random.Random(seed)
    words = {"en": "the cat sees a dog", "de": "die katze sieht einen hund"}[lang].split()
    rows = []
    for i in range(n):
        premise = " ".join(rng.sample(words, len(words))) + f" {i}"
        label = LABELS[i % 2]
        hypothesis = premise if label == "entailment" else " ".join(reversed(premise.split()))
        rows.append({"premise": premise, "hypothesis": hypothesis, "label": label})
    return rows


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def task_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "mytask.yaml").write_text(TASK_YAML, encoding="utf-8")
    _write_jsonl(folder / "data" / "train.jsonl", _rows(32, "en", 0))
    _write_jsonl(folder / "data" / "dev.jsonl", _rows(8, "en", 1))
    for i, lang in enumerate(LANGS):
        _write_jsonl(folder / "data" / f"test-{lang}.jsonl", _rows(10, lang, 2 + i))
    monkeypatch.setenv("XTRANSFER_TASKS", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


def _run(root: Path, name: str, *overrides: str) -> tuple[dict, Path]:
    register_resolvers()
    register_user_tasks()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=[f"output_root={root}", *overrides])
    run_dir = root / "runs" / name
    return run_pipeline(cfg, run_dir), run_dir


def test_declaration_becomes_a_catalogue_entry(task_dir):
    spec = get_task("mytask")
    assert spec.format == "classification" and spec.metric == "accuracy"  # metric defaulted
    assert spec.labels == LABELS and spec.languages == {"languages": LANGS}
    assert spec.user_file == str(task_dir / "mytask.yaml")
    # The shorthand `validation: PATH` and relative paths resolve against the YAML's folder.
    rows = load_rows(spec, "validation", "en", {"source": "embedded", "root": "/nonexistent"})
    assert [r["label"] for r in rows] == [LABELS.index(r["label"]) for r in _rows(8, "en", 1)]


def test_user_task_as_target_scores_each_of_its_languages(task_dir, tmp_path):
    results, run_dir = _run(tmp_path / "out", "t", "intermediate=none", "target=mytask")
    assert [p["name"] for p in results["phases"]] == ["target"]
    by_lang = {s["lang"]: s for s in results["scores"]}
    assert sorted(by_lang) == sorted(LANGS)
    for i, lang in enumerate(LANGS):
        gold = [r["label"] for r in _rows(10, lang, 2 + i)]
        labels = (run_dir / "labels" / "mytask" / f"test-{lang}.tsv").read_text().split()
        preds = (run_dir / "predictions" / "mytask" / f"test-{lang}.tsv").read_text().split()
        assert labels == gold and len(preds) == len(gold) and set(preds) <= set(LABELS)
        expected = 100.0 * sum(p == g for p, g in zip(preds, gold, strict=True)) / len(gold)
        assert by_lang[lang]["metric"] == "accuracy"
        assert by_lang[lang]["value"] == pytest.approx(expected)
    assert results["summary"]["mytask"]["languages"] == 2


def test_user_task_as_intermediate_before_xnli(task_dir, tmp_path):
    results, _ = _run(
        tmp_path / "out", "i", "intermediate=mytask", "target=xnli", "target.epochs=1"
    )
    inter, target = results["phases"]
    assert inter["tasks"] == ["mytask"] and inter["steps"] == 4  # 32 rows / batch 8, 1 epoch
    assert target["task"] == "xnli"
    assert len({s["lang"] for s in results["scores"]}) == 15


def test_local_folder_is_found_without_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("XTRANSFER_TASKS", raising=False)
    folder = tmp_path / "xtransfer_tasks"
    folder.mkdir()
    (folder / "other.yaml").write_text(TASK_YAML.replace("name: mytask", "name: other"))
    monkeypatch.chdir(tmp_path)
    assert get_task("other").user_file == str(folder / "other.yaml")


def _declare(tmp_path, monkeypatch, text: str) -> Path:
    folder = tmp_path / "bad"
    folder.mkdir(exist_ok=True)
    path = folder / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("XTRANSFER_TASKS", str(folder))
    monkeypatch.chdir(tmp_path)
    return path


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("format: classification", "format: clasification", r":3: unknown format 'clasification'"),
        (
            "columns: {text_a: premise, text_b: hypothesis, label: label}",
            "columns: {text_b: hypothesis, label: label}",
            r":6: format classification needs column\(s\) text_a",
        ),
        ("labels: [entailment, not_entailment]\n", "", r"needs `labels:`"),
        ("  validation: data/dev.jsonl", "  validation: {}", r":9: split 'validation' needs"),
        ("name: mytask", "name: mnli", r"'mnli' is already declared in the packaged catalogue"),
    ],
)
def test_bad_declarations_name_file_and_line(tmp_path, monkeypatch, old, new, message):
    assert old in TASK_YAML
    path = _declare(tmp_path, monkeypatch, TASK_YAML.replace(old, new))
    with pytest.raises(UserError, match=message) as err:
        all_tasks()
    assert str(path) in str(err.value)


def test_label_outside_the_label_list_names_file_and_line(task_dir):
    bad = task_dir / "data" / "test-de.jsonl"
    lines = bad.read_text().splitlines()
    lines.insert(3, "")  # a blank line: line numbers are file lines, not row numbers
    lines.insert(5, json.dumps({"premise": "a", "hypothesis": "b", "label": "maybe"}))
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=rf"{bad}:6: label 'maybe' is not one of"):
        load_rows(get_task("mytask"), "test", "de", {"source": "embedded"})


def test_an_integer_label_in_a_user_file_is_refused(task_dir):
    # 1 could mean "the second declared label" or a label named "1": neither is guessed.
    bad = task_dir / "data" / "test-de.jsonl"
    lines = bad.read_text().splitlines()
    lines[1] = json.dumps({"premise": "a", "hypothesis": "b", "label": 1})
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=rf"{bad}:2: label 1 is not a label name"):
        load_rows(get_task("mytask"), "test", "de", {"source": "embedded"})


def test_unknown_language_and_missing_file_are_user_errors(task_dir):
    with pytest.raises(UserError, match="has no language 'fr'"):
        load_rows(get_task("mytask"), "test", "fr", {"source": "embedded"})
    (task_dir / "data" / "test-de.jsonl").unlink()
    with pytest.raises(UserError, match="data file not found"):
        load_rows(get_task("mytask"), "test", "de", {"source": "embedded"})
