"""`score_language` on small prediction/label files written to tmp_path, and its input errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xtransfer.errors import UserError
from xtransfer.evaluation.scoring import language_from_filename, score_language


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def _squad(*qas: tuple[str, list[str]]) -> str:
    return json.dumps(
        {
            "version": "1.1",
            "data": [
                {
                    "paragraphs": [
                        {
                            "context": "c",
                            "qas": [
                                {"id": q, "answers": [{"text": a, "answer_start": 0} for a in ans]}
                                for q, ans in qas
                            ],
                        }
                    ]
                }
            ],
        },
        ensure_ascii=False,
    )


def test_classification_accuracy_with_crlf_and_whitespace(tmp_path: Path) -> None:
    labels = _write(tmp_path / "g/test-de.tsv", "entailment\r\nneutral\r\ncontradiction\r\n")
    preds = _write(tmp_path / "p/test-de.tsv", " entailment\nneutral \ncontradiction\n")
    # lines are stripped and CRLF is a line end: 3/3
    assert score_language("xnli", preds, labels) == {"accuracy": 100.0}
    preds = _write(tmp_path / "p/test-de.tsv", "entailment\nentailment\ncontradiction\n")
    assert score_language("xnli", preds, labels) == {"accuracy": pytest.approx(200 / 3)}


def test_tatoeba_indices_compare_as_strings(tmp_path: Path) -> None:
    labels = _write(tmp_path / "g/test-de.tsv", "367\n258\n")
    preds = _write(tmp_path / "p/test-de.tsv", "[367]\n258\n")
    assert score_language("tatoeba", preds, labels) == {"accuracy": 50.0}


def test_count_mismatch_empty_file_and_trailing_empty_line(tmp_path: Path) -> None:
    labels = _write(tmp_path / "g/test-de.tsv", "0\n1\n")
    extra_line = _write(tmp_path / "p/test-de.tsv", "0\n1\n\n")  # 3 lines, the last empty
    with pytest.raises(UserError, match=r"test-de\.tsv: 3 lines but .* has 2"):
        score_language("pawsx", extra_line, labels)
    empty = _write(tmp_path / "p/empty/test-de.tsv", "")
    with pytest.raises(UserError, match="empty prediction file"):
        score_language("pawsx", empty, labels)
    with pytest.raises(UserError, match="no such file"):
        score_language("pawsx", tmp_path / "p/nope/test-de.tsv", labels)


def test_tagging_scores_and_sentence_count_check(tmp_path: Path, caplog) -> None:
    labels = _write(tmp_path / "g/test-en.tsv", "DET\nNOUN\nNOUN\nVERB\n\nSCONJ\nSYM\n")
    preds = _write(tmp_path / "p/test-en.tsv", "DET\nNOUN\nVERB\nVERB\n\nSCONJ\nSYM\n")
    # sentence 1: gold (DET)(NOUN NOUN)(VERB), pred (DET)(NOUN)(VERB VERB) -> 1 correct of 3/3
    # sentence 2: (SCONJ)(SYM) both correct -> totals: correct 3, pred 5, gold 5
    # P = R = F1 = 3/5 = 60; token accuracy = (3 + 2) / 6
    scores = score_language("udpos", preds, labels)
    assert scores == pytest.approx(
        {"f1": 60.0, "precision": 60.0, "recall": 60.0, "token_accuracy": 500 / 6}
    )
    wrong_count = _write(tmp_path / "p2/test-en.tsv", "DET\nNOUN\nNOUN\nVERB\n")
    with pytest.raises(UserError, match="1 sentences but .* has 2"):
        score_language("udpos", wrong_count, labels)
    # Same sentence count, different token count: scored like the official script, with a warning
    uneven = _write(tmp_path / "p3/test-en.tsv", "DET\nNOUN\nNOUN\n\nSCONJ\nSYM\n")
    with caplog.at_level("WARNING", logger="xtransfer.evaluation"):
        score_language("udpos", uneven, labels)
    assert "different number of tags" in caplog.text


def test_two_empty_lines_make_an_empty_sentence(tmp_path: Path) -> None:
    labels = _write(tmp_path / "g/test-de.tsv", "B-PER\n\nO\n")
    preds = _write(tmp_path / "p/test-de.tsv", "B-PER\n\n\nO\n")  # 3 sentences: [B-PER], [], [O]
    with pytest.raises(UserError, match="3 sentences but .* has 2"):
        score_language("panx", preds, labels)


def test_bucc_pair_f1(tmp_path: Path) -> None:
    labels = _write(tmp_path / "g/test-de.tsv", "de-1\ten-1\nde-2\ten-2\nde-3\ten-3\nde-4\ten-4\n")
    preds = _write(tmp_path / "p/test-de.tsv", "de-2\ten-3\nde-1\ten-1\nde-3\ten-3\n")
    # P = 2/3, R = 2/4, F1 = 4/7
    scores = score_language("bucc2018", preds, labels)
    assert scores == pytest.approx({"f1": 400 / 7, "precision": 200 / 3, "recall": 50.0})


def test_xquad_and_tydiqa_use_squad_normalisation(tmp_path: Path, caplog) -> None:
    labels = _write(
        tmp_path / "g/test-zh.json",
        _squad(("q1", ["北京"]), ("q2", ["«Paris»", "Paris"]), ("q3", ["x"])),
    )
    preds = _write(
        tmp_path / "p/test-zh.json",
        json.dumps({"q1": "北京大学", "q2": "paris!", "extra": "y"}, ensure_ascii=False),
    )
    # q1: one whitespace token each, different -> 0/0; q2: "paris" == "paris" (2nd ref) -> 1/1;
    # q3 unanswered -> 0. EM = F1 = 1/3 * 100
    with caplog.at_level("WARNING", logger="xtransfer.evaluation"):
        scores = score_language("xquad", preds, labels)
    assert scores == pytest.approx({"exact_match": 100 / 3, "f1": 100 / 3})
    assert "1 of 3 questions have no prediction" in caplog.text
    assert score_language("tydiqa", preds, labels) == scores


def test_mlqa_language_comes_from_the_file_name(tmp_path: Path) -> None:
    labels = _write(tmp_path / "g/test-zh.json", _squad(("q1", ["北京"])))
    preds = _write(tmp_path / "p/test-zh.json", json.dumps({"q1": "北京大学"}))
    # zh character tokens: P = 2/4, R = 1 -> F1 = 2/3; EM 0
    assert score_language("mlqa", preds, labels) == pytest.approx(
        {"exact_match": 0.0, "f1": 200 / 3}
    )
    # the same files read as English: one token each, no match
    assert score_language("mlqa", preds, labels, language="en")["f1"] == 0.0
    fr_labels = _write(tmp_path / "g/test-fr.json", _squad(("q1", ["x"])))
    with pytest.raises(UserError, match=r"test-fr\.json: MLQA has no normalisation rules .* 'fr'"):
        score_language("mlqa", preds, fr_labels)


def test_qa_input_errors_name_the_file(tmp_path: Path) -> None:
    labels = _write(tmp_path / "g/test-en.json", _squad(("q1", ["a"]), ("q2", [])))
    preds = _write(tmp_path / "p/test-en.json", json.dumps({"q1": "a", "q2": "b"}))
    with pytest.raises(UserError, match=r"g/test-en\.json: question 'q2' has no gold answers"):
        score_language("xquad", preds, labels)
    good_labels = _write(tmp_path / "g2/test-en.json", _squad(("q1", ["a"])))
    broken = _write(tmp_path / "p/broken/test-en.json", '{"q1": "a",')
    with pytest.raises(UserError, match=r"broken/test-en\.json: malformed JSON"):
        score_language("xquad", broken, good_labels)
    empty = _write(tmp_path / "p/empty/test-en.json", "")
    with pytest.raises(UserError, match=r"empty/test-en\.json: empty file"):
        score_language("xquad", empty, good_labels)
    not_strings = _write(tmp_path / "p/list/test-en.json", json.dumps({"q1": ["a"]}))
    with pytest.raises(UserError, match="not a string"):
        score_language("xquad", not_strings, good_labels)
    not_squad = _write(tmp_path / "g3/test-en.json", json.dumps({"q1": "a"}))
    with pytest.raises(UserError, match="not SQuAD format"):
        score_language("xquad", preds, not_squad)


def test_xcopa_jsonl_labels(tmp_path: Path) -> None:
    labels = _write(tmp_path / "g/test-et.jsonl", '{"label": 0, "idx": 0}\n{"label": 1}\n')
    preds = _write(tmp_path / "p/test-et.jsonl", '{"label": 0}\n{"label": 0, "x": 1}\n\n')
    assert score_language("xcopa", preds, labels) == {"accuracy": 50.0}
    no_label = _write(tmp_path / "p2/test-et.jsonl", '{"label": 0}\n{"answer": 1}\n')
    with pytest.raises(UserError, match="record 2 has no 'label' field"):
        score_language("xcopa", no_label, labels)


def test_mewslix_and_lareqa_map_at_20(tmp_path: Path) -> None:
    labels = _write(tmp_path / "g/test-en.json", json.dumps({"m1": [" Q1 "], "m2": ["Q2"]}))
    # m1: gold (stripped) at rank 2 -> 1/2; m2 missing -> 0: mean 1/4
    preds = _write(tmp_path / "p/test-en.json", json.dumps({"m1": ["Q9", "Q1"], "m9": ["Q2"]}))
    assert score_language("mewslix", preds, labels) == {"map@20": 25.0}
    lareqa_gold = _write(tmp_path / "g/test-de.json", json.dumps({"q": ["a", "b", "c"]}))
    lareqa_pred = _write(tmp_path / "p/test-de.json", json.dumps({"q": ["a", "x", "b", "y"]}))
    # hits at 1 and 3: (1 + 2/3) / 3 = 5/9
    assert score_language("lareqa", lareqa_pred, lareqa_gold) == pytest.approx({"map@20": 500 / 9})


def test_unknown_task_and_language_from_filename(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown task 'nope'"):
        score_language("nope", tmp_path / "a", tmp_path / "b")
    assert language_from_filename(Path("test-de.json")) == "de"
    assert language_from_filename(Path("dev-zh.tsv")) == "zh"
    assert language_from_filename(Path("predictions.json")) is None


@pytest.mark.realdata
@pytest.mark.parametrize("lang", ["en", "th", "zh", "ar", "ro"])
def test_real_xquad_gold_answers_score_100(shared_data: Path, tmp_path: Path, lang: str) -> None:
    labels = shared_data / "xquad" / f"xquad.{lang}.json"
    data = json.loads(labels.read_text(encoding="utf-8"))["data"]
    first = {
        qa["id"]: qa["answers"][0]["text"]
        for article in data
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    }
    assert len(first) == 1190
    preds = _write(tmp_path / f"test-{lang}.json", json.dumps(first, ensure_ascii=False))
    assert score_language("xquad", preds, labels) == {"exact_match": 100.0, "f1": 100.0}
    # half the questions unanswered: exactly 50 (595 / 1190)
    half = dict(list(first.items())[::2])
    preds = _write(tmp_path / f"half-{lang}.json", json.dumps(half, ensure_ascii=False))
    assert score_language("xquad", preds, labels) == {"exact_match": 50.0, "f1": 50.0}
