"""The paper's intermediate tasks that are not XTREME targets: QQP, ANLI+ (SNLI + MNLI + ANLI
R1-R3 on one head) and CCG (licence-restricted: data absent), plus the full catalogue smoke."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xtransfer.config import asset_path
from xtransfer.data.sources import data_identity, load_rows
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.zero_shot import evaluation_languages
from xtransfer.tasks.registry import all_tasks, get_task

DATA = {"source": "embedded", "root": asset_path("demo")}
DEMO = Path(asset_path("demo"))


def _count(rel: str) -> int:
    return sum(1 for line in (DEMO / rel).read_text().splitlines() if line.strip())


def test_every_intermediate_task_of_the_paper_has_a_group_option():
    paper = ["anli_plus", "mnli", "qqp", "squad", "squad_v2", "hellaswag", "cosmosqa"]
    paper += ["commonsenseqa", "ccg"]
    options = {p.stem for p in (Path(CONFIG_DIR) / "intermediate").glob("*.yaml")}
    assert set(paper) <= options and set(paper) <= set(all_tasks())


def test_anli_plus_is_one_task_over_the_concatenated_parts():
    task = get_task("anli_plus")
    rows = load_rows(task, "train", "en", DATA)
    parts = [("snli", "train"), ("mnli", "train")] + [("anli", f"train_r{i}") for i in (1, 2, 3)]
    expected = [r for t, s in parts for r in load_rows(get_task(t), s, "en", DATA)]
    assert rows == expected and len(rows) == (
        _count("stanfordnlp__snli/plain_text/train.jsonl")
        + _count("nyu-mll__glue/mnli/train.jsonl")
        + sum(_count(f"facebook__anli/plain_text/train_r{i}.jsonl") for i in (1, 2, 3))
    )
    dev = load_rows(task, "validation", "en", DATA)
    assert len(dev) == sum(_count(f"facebook__anli/plain_text/dev_r{i}.jsonl") for i in (1, 2, 3))
    for name in ("snli", "mnli", "anli"):
        assert get_task(name).labels == task.labels  # one NLI head for every part
    ident = data_identity(task, "train", "en", DATA)
    assert [p["entry"]["path"] for p in ident["concat"]] == [
        "stanfordnlp/snli",
        "nyu-mll/glue",
        "facebook/anli",
        "facebook/anli",
        "facebook/anli",
    ]


def test_qqp_rows_and_labels():
    rows = load_rows(get_task("qqp"), "train", "en", DATA)
    raw = [
        json.loads(x) for x in (DEMO / "nyu-mll__glue/qqp/train.jsonl").read_text().split("\n") if x
    ]
    assert [r["label"] for r in rows] == [x["label"] for x in raw]
    assert {r["label"] for r in rows} == {0, 1}


def test_ccg_says_its_data_are_absent(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="CCGbank .* licence-restricted .* absent"):
        get_task("ccg")
    # A local copy declared by the user replaces the packaged entry.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xtransfer_tasks").mkdir()
    (tmp_path / "ccg.tsv").write_text("Pierre\tN/N\nVinken\tN\n")
    (tmp_path / "xtransfer_tasks" / "ccg.yaml").write_text(
        "name: ccg\nformat: tagging\nlabels: [N/N, N]\nlanguages: [en]\n"
        "columns: {tokens: tokens, label: pos_tags}\n"
        "splits: {train: {file: ../ccg.tsv, reader: conll_tsv}}\n"
    )
    rows = load_rows(get_task("ccg"), "train", "en", DATA)
    assert rows[0]["tokens"] == ["Pierre", "Vinken"] and rows[0]["label"] == [0, 1]


@pytest.mark.slow
def test_every_target_trains_offline_and_scores_all_its_languages(tmp_path):
    """The full catalogue smoke: `xtransfer train intermediate=none target=T` for every T."""
    targets = sorted(p.stem for p in (Path(CONFIG_DIR) / "target").glob("*.yaml"))
    start = time.perf_counter()
    for target in targets:
        out = tmp_path / target
        proc = subprocess.run(
            [sys.executable, "-m", "xtransfer", "train", "intermediate=none"]
            + [f"target={target}", f"output_root={out}", "trainer.cpu_threads=1"],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, (target, proc.stderr[-2000:])
        results = json.loads(next(out.rglob("results.json")).read_text())
        task = get_task(next(iter(results["summary"])))
        _, langs = evaluation_languages(task, "xtreme")
        assert {s["lang"] for s in results["scores"]} == set(langs), target
    print(f"catalogue smoke: {len(targets)} targets in {time.perf_counter() - start:.0f} s")
