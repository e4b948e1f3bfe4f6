"""`xtransfer evaluate ... data=xtreme_dir data.root=DIR` on a tree in XTREME's download layout.

The fixture tree holds exactly the embedded demo test rows, written the way XTREME's
`download_data.sh` writes them (docs/xtreme-download-layout.md): headerless CRLF TSV with
minimal quoting for XNLI (with the gold label restored as the third column, since the download
removes it) and one-question-per-entry SQuAD JSON with `\\uXXXX` escapes for XQuAD (with answers,
i.e. the original files). The same checkpoint must therefore score exactly as on the embedded
data, language by language.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from xtransfer.config import asset_path, register_resolvers
from xtransfer.data.readers import read_jsonl
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.run import run_pipeline
from xtransfer.tasks.registry import get_task

DEMO = Path(asset_path("demo")) / "google__xtreme"


def _train(root: Path, target: str) -> dict:
    register_resolvers()
    overrides = [
        f"output_root={root}",
        "intermediate=none",
        f"target={target}",
        "target.epochs=1",
        "trainer.max_train_examples=16",
    ]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    return run_pipeline(cfg, root / "run")


def _write_xnli(root: Path) -> list[str]:
    rows = read_jsonl(DEMO / "XNLI" / "test.jsonl")
    langs = get_task("xnli").languages_for("xtreme")
    folder = root / "xnli"
    folder.mkdir(parents=True)
    for lang in langs:
        with (folder / f"test-{lang}.tsv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t")  # CRLF, minimal quoting, as XTREME's
            for row in rows:
                if row["language"] == lang:
                    writer.writerow([row["sentence1"], row["sentence2"], row["gold_label"]])
    return langs


def _write_xquad(root: Path) -> list[str]:
    langs = get_task("xquad").languages_for("xtreme")
    folder = root / "xquad"
    folder.mkdir(parents=True)
    for lang in langs:
        # XTREME's rewrite: one data entry per question, context repeated, no title.
        data = [
            {
                "paragraphs": [
                    {
                        "context": row["context"],
                        "qas": [
                            {
                                "id": row["id"],
                                "question": row["question"],
                                "answers": [
                                    {"text": t, "answer_start": s}
                                    for t, s in zip(
                                        row["answers"]["text"],
                                        row["answers"]["answer_start"],
                                        strict=True,
                                    )
                                ],
                            }
                        ],
                    }
                ]
            }
            for row in read_jsonl(DEMO / f"XQuAD.{lang}" / "validation.jsonl")
        ]
        (folder / f"xquad.{lang}.json").write_text(json.dumps({"data": data, "version": "1.1"}))
    return langs


def _evaluate(tmp_path: Path, checkpoint: str, target: str, root: Path) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "evaluate",
            f"checkpoint={checkpoint}",
            f"target={target}",
            "data=xtreme_dir",
            f"data.root={root}",
            f"output_root={tmp_path / 'eval'}",
            "trainer.cpu_threads=1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(next((tmp_path / "eval").rglob("results.json")).read_text())


def _by_lang(scores: list[dict]) -> dict[tuple[str, str], float]:
    return {(s["lang"], s["metric"]): s["value"] for s in scores}


@pytest.mark.parametrize(
    "target, write, metrics",
    [("xnli", _write_xnli, {"accuracy"}), ("xquad", _write_xquad, {"f1", "exact_match"})],
)
def test_evaluate_on_xtreme_layout_matches_embedded_scores(tmp_path, target, write, metrics):
    trained = _train(tmp_path / "train", target)
    checkpoint = trained["phases"][-1]["checkpoint"]
    fixture = tmp_path / "download"
    langs = write(fixture)
    results = _evaluate(tmp_path, checkpoint, target, fixture)
    assert results["data"] == "xtreme_dir"
    scores = _by_lang(results["scores"])
    assert {lang for lang, _ in scores} == set(langs)
    assert {metric for _, metric in scores} == metrics
    # Same rows, same model: every language scores as on the embedded copy of the data.
    assert scores == pytest.approx(_by_lang(trained["scores"]))
    assert results["summary"][target]["languages"] == len(langs)


def test_label_stripped_test_file_is_a_clear_error(tmp_path):
    from xtransfer.data.sources import load_rows

    (tmp_path / "xnli").mkdir()
    (tmp_path / "xnli" / "test-de.tsv").write_text('a\t"b ""c"""\r\n', encoding="utf-8")
    with pytest.raises(UserError, match="removes test labels"):
        load_rows(get_task("xnli"), "test", "de", {"source": "xtreme_dir", "root": tmp_path})
    (tmp_path / "xnli" / "test-de.tsv").write_text('a\t"b ""c"""\tneutral\r\n', encoding="utf-8")
    rows = load_rows(get_task("xnli"), "test", "de", {"source": "xtreme_dir", "root": tmp_path})
    assert rows == [{"text_a": "a", "text_b": 'b "c"', "label": 1}]
