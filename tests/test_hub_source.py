"""`data=hub` goes through `datasets.load_dataset`; tested offline on mirrors built from the
real Hub facts (tests/hub_mirror.py: exact features, README `configs:` + `dataset_info:`,
parquet-branch files), read by the very same loader code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hub_mirror import CONTEXT, example_rows, features_of, needs_facts, write_files, write_repo

from xtransfer.data.sources import data_identity, load_rows
from xtransfer.errors import UserError
from xtransfer.tasks.registry import get_task

pytestmark = needs_facts

PARQUET = "refs/convert/parquet"


def _hub(mirror: Path) -> dict:
    return {"source": "hub", "mirror": str(mirror)}


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    write_repo(
        tmp_path,
        "google/xtreme",
        {
            "PAWS-X.de": {
                "test": [
                    {"sentence1": "Der Hund", "sentence2": "Hund der", "label": "1"},
                    {"sentence1": "Die Katze", "sentence2": "Ein Baum", "label": "0"},
                ]
            },
            "XNLI": {
                "test": [
                    {"language": "de", "sentence1": "a", "sentence2": "b",
                     "gold_label": "neutral"},
                    {"language": "fr", "sentence1": "c", "sentence2": "d",
                     "gold_label": "entailment"},
                    {"language": "de", "sentence1": "e", "sentence2": "f",
                     "gold_label": "contradiction"},
                ]
            },
        },
    )  # fmt: skip
    write_repo(
        tmp_path,
        "nyu-mll/glue",
        {
            "mnli": {
                "train": [
                    {"premise": "p1", "hypothesis": "h1", "label": 2, "idx": 0},
                    {"premise": "p2", "hypothesis": "h2", "label": -1, "idx": 1},  # no gold
                ]
            }
        },
    )
    return tmp_path


def test_hub_loader_reads_string_labels_per_language_config(mirror: Path):
    rows = load_rows(get_task("pawsx"), "test", "de", _hub(mirror))
    assert rows == [
        {"text_a": "Der Hund", "text_b": "Hund der", "label": 1},
        {"text_a": "Die Katze", "text_b": "Ein Baum", "label": 0},
    ]


def test_hub_loader_filters_the_language_column(mirror: Path):
    rows = load_rows(get_task("xnli"), "test", "de", _hub(mirror))
    labels = get_task("xnli").labels
    assert [r["label"] for r in rows] == [labels.index("neutral"), labels.index("contradiction")]


def test_hub_loader_maps_classlabel_ints_and_drops_unlabelled(mirror: Path):
    rows = load_rows(get_task("mnli"), "train", "en", _hub(mirror))
    assert rows == [{"text_a": "p1", "text_b": "h1", "label": 2}]


def test_xquad_has_no_title_on_the_hub_and_ro_comes_from_google_xquad(tmp_path: Path):
    write_repo(tmp_path, "google/xtreme", {"XQuAD.de": {"validation": None}})
    write_repo(tmp_path, "google/xquad", {"xquad.ro": {"validation": None}})
    assert "title" not in features_of("google/xtreme", "XQuAD.de")
    for lang in ("de", "ro"):
        rows = load_rows(get_task("xquad"), "test", lang, _hub(tmp_path))
        assert len(rows) == 4 and "title" not in rows[0]
        start = rows[0]["answers"]["answer_start"][0]
        assert rows[0]["context"][start:].startswith(rows[0]["answers"]["text"][0])


def test_tydiqa_training_language_is_read_by_its_id_prefix(tmp_path: Path):
    ids = ["english-1-1", "arabic-2-1", "english-3-1", "bengali-4-1"]
    write_repo(tmp_path, "google/xtreme", {"tydiqa": {"train": None}}, {"id": lambda i: ids[i]})
    for lang, prefix in (("en", "english-"), ("ar", "arabic-"), ("bn", "bengali-")):
        rows = load_rows(get_task("tydiqa"), "train", lang, _hub(tmp_path))
        want = [i for i in ids if i.startswith(prefix)]
        assert [r["id"] for r in rows] == want


def test_tatoeba_line_ends_of_the_hub_rows_are_stripped(tmp_path: Path):
    write_repo(
        tmp_path,
        "google/xtreme",
        {"tatoeba.deu": {"validation": None}},
        {"source_sentence": lambda i: f"Satz {i}\n", "target_sentence": lambda i: f"Line {i}\n"},
    )
    rows = load_rows(get_task("tatoeba"), "test", "de", _hub(tmp_path))
    assert [(r["source"], r["target"]) for r in rows[:2]] == [
        ("Satz 0", "Line 0"),
        ("Satz 1", "Line 1"),
    ]


def test_xtreme_r_languages_without_a_hub_config_are_refused_with_the_fix(tmp_path: Path):
    for lang in ("lt", "pl", "uk", "wo", "ro"):
        with pytest.raises(UserError, match=rf"no Hub source has {lang} .*data\.ud_root_v27=DIR"):
            load_rows(get_task("udpos"), "test", lang, _hub(tmp_path))


def test_xtreme_r_languages_missing_from_google_xtreme_come_from_other_repos():
    from xtransfer.data.sources import hub_split

    cfg = {"source": "hub"}
    assert hub_split(get_task("panx"), "test", "qu", cfg).repo == "unimelb-nlp/wikiann"
    tatoeba = hub_split(get_task("tatoeba"), "test", "uk", cfg)
    assert (tatoeba.repo, tatoeba.config, tatoeba.split) == (
        "mteb/tatoeba-bitext-mining",
        "ukr-eng",
        "test",
    )
    xquad = hub_split(get_task("xquad"), "test", "ro", cfg)
    assert (xquad.repo, xquad.config) == ("google/xquad", "xquad.ro")


def _mention(i: int) -> dict:
    return {
        "context": {"document_title": "t", "document_url": "u", "document_id": f"d{i}",
                    "language": "de", "text": CONTEXT, "sentence_spans": [{"start": 0, "end": 33}],
                    "section_title": None},
        "mention": {"example_id": f"m{i}", "entity_id": f"Q{i}", "metadata": None,
                    "mention_span": {"start": 14, "end": 19, "text": "Paris"}},
    }  # fmt: skip


def _entity(i: int) -> dict:
    return {"entity_id": f"Q{i}", "title": f"Title {i}", "description": f"About {i}",
            "description_language": "en", "description_url": "u",
            "sentence_spans": [{"start": 0, "end": 5}]}  # fmt: skip


def test_mewslix_reads_main_jsonl_mentions_and_parquet_branch_files(tmp_path: Path):
    # Layout of hub-facts/izhx__mewsli-x.json; the row schema is the assumed original one.
    write_files(tmp_path, "izhx/mewsli-x", None, "wikinews_mentions/de/test.jsonl", [_mention(0)])
    write_files(
        tmp_path, "izhx/mewsli-x", PARQUET, "candidate_entities/test/0000.parquet",
        [_entity(0), _entity(1)],
    )  # fmt: skip
    pairs = [{"contextual_mention": _mention(i), "entity": _entity(i)} for i in range(2)]
    write_files(tmp_path, "izhx/mewsli-x", PARQUET, "wikipedia_pairs/train/0000.parquet", pairs)
    task = get_task("mewslix")
    assert load_rows(task, "test", "de", _hub(tmp_path))[0]["mention"]["entity_id"] == "Q0"
    assert [r["entity_id"] for r in load_rows(task, "candidates", "de", _hub(tmp_path))] == [
        "Q0",
        "Q1",
    ]
    assert len(load_rows(task, "train", "en", _hub(tmp_path))) == 2


def test_udfeats_reads_the_parquet_branch_with_the_real_features(tmp_path: Path):
    features = features_of("universal-dependencies/universal_dependencies", "en_ewt")
    rows = example_rows(features, 3, {"feats": lambda i: ["{'Number': 'Sing'}", "None", "None"]})
    write_files(
        tmp_path, "universal-dependencies/universal_dependencies", PARQUET,
        "en_ewt/validation/0000.parquet", rows, features,
    )  # fmt: skip
    got = load_rows(get_task("udfeats"), "validation", "en", _hub(tmp_path))
    assert got[0]["feats"] == ["{'Number': 'Sing'}", "None", "None"]
    assert got[0]["upos"] == rows[0]["upos"]


def test_squad_translate_train_reads_the_parquet_branch(tmp_path: Path):
    features = features_of("google/xtreme", "XQuAD.de")  # assumed SQuAD-style, no title
    write_files(
        tmp_path, "juletxara/xquad_xtreme", PARQUET, "de/translate_train/0000.parquet",
        example_rows(features, 2), features,
    )  # fmt: skip
    assert len(load_rows(get_task("squad"), "translate_train", "de", _hub(tmp_path))) == 2


# --- One line per kind of failure ------------------------------------------------------------


def test_missing_config_split_column_and_repo_are_four_messages(mirror: Path, monkeypatch):
    cfg = _hub(mirror)
    with pytest.raises(UserError) as config:
        load_rows(get_task("pawsx"), "test", "fr", cfg)
    with pytest.raises(UserError) as split:
        load_rows(get_task("xnli"), "validation", "de", cfg)
    hub = get_task("pawsx").raw["splits"]["test"]["hub"]
    monkeypatch.setitem(hub, "columns", {"text_a": "sentence1", "text_b": "premise"})
    with pytest.raises(UserError) as column:
        load_rows(get_task("pawsx"), "test", "de", cfg)
    with pytest.raises(UserError) as repo:
        load_rows(get_task("snli"), "train", "en", cfg)
    messages = [str(e.value) for e in (config, split, column, repo)]
    assert "no config 'PAWS-X.fr'" in messages[0] and "data.files.pawsx.test" in messages[0]
    assert "has no split 'validation'" in messages[1] and "test" in messages[1]
    assert "lacks column(s) premise" in messages[2]
    assert "stanfordnlp/snli: dataset not found" in messages[3]
    assert all("\n" not in m and "unreachable" not in m for m in messages)


def test_unreachable_hub_is_one_sentence_with_a_hint(tmp_path: Path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "train",
            "data=hub",
            "intermediate=none",
            f"output_root={tmp_path}/out",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "Hub is unreachable" in proc.stderr and "data=embedded" in proc.stderr


# --- Data versions ------------------------------------------------------------------------------


def test_hub_identity_holds_the_resolved_commit_and_a_pin_overrides_it(monkeypatch):
    from xtransfer.data import hub

    asked: list = []

    def fake_sha(repo: str, revision: str | None) -> str:
        asked.append((repo, revision))
        return f"sha-of-{revision or 'main'}"

    monkeypatch.setattr(hub, "_commit_sha", fake_sha)
    task = get_task("pawsx")
    ident = data_identity(task, "train", "en", {"source": "hub"})
    assert ident["revision_sha"] == "sha-of-main"
    pinned = data_identity(
        task, "train", "en", {"source": "hub", "revision": {"google__xtreme": "abc123"}}
    )
    assert pinned["revision_sha"] == "sha-of-abc123" and asked[-1] == ("google/xtreme", "abc123")
    assert hub.resolved_revisions()["google/xtreme@abc123"] == "sha-of-abc123"


def test_hub_rows_are_read_at_the_identified_commit(monkeypatch):
    import datasets

    from xtransfer.data import hub

    monkeypatch.setattr(hub, "_commit_sha", lambda repo, revision: "f00d")
    calls: list = []

    squad_row = {"id": "1", "context": CONTEXT, "question": "q",
                 "answers": {"text": ["Paris"], "answer_start": [14]}}  # fmt: skip
    pawsx_row = {"sentence1": "a", "sentence2": "b", "label": "1"}

    class _Rows(list):
        def to_list(self):
            return list(self)

    def fake_load(*args, **kwargs):
        calls.append((args, kwargs))
        return _Rows([squad_row if args[0] == "parquet" else pawsx_row])

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    load_rows(get_task("pawsx"), "test", "de", {"source": "hub"})
    assert calls[0][0] == ("google/xtreme", "PAWS-X.de") and calls[0][1]["revision"] == "f00d"
    load_rows(get_task("squad"), "translate_train", "de", {"source": "hub"})
    files = calls[1][1]["data_files"]["translate_train"]
    assert calls[1][0] == ("parquet",)
    assert files == "hf://datasets/juletxara/xquad_xtreme@f00d/de/translate_train/*.parquet"


def test_local_files_are_identified_by_content(tmp_path: Path):
    path = tmp_path / "dev.jsonl"
    path.write_text('{"premise": "a", "hypothesis": "b", "label": 0}\n')
    cfg = {"source": "local", "files": {"mnli": {"train": str(path)}}}
    before = data_identity(get_task("mnli"), "train", "en", cfg)
    stat = path.stat()
    path.write_text('{"premise": "c", "hypothesis": "d", "label": 1}\n')  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime
    after = data_identity(get_task("mnli"), "train", "en", cfg)
    assert before["file"][1] != after["file"][1]
