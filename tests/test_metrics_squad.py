"""SQuAD v1.1 answer scoring (XQuAD, TyDiQA): expected values computed by hand."""

from __future__ import annotations

import pytest

from xtransfer.errors import UserError
from xtransfer.evaluation.metrics.squad import evaluate_qa, exact_match, normalize_answer, token_f1


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        # lower, drop "," and "!", drop "the", squeeze spaces
        ("The Quick, brown  fox!", "quick brown fox"),
        # articles only as whole words: "Athens", "theatre", "another" keep their letters
        ("Athens theatre another", "athens theatre another"),
        # punctuation goes before articles: "A-Team" -> "ateam" (no article left to remove)
        ("A-Team", "ateam"),
        ("A Team", "team"),
        # non-ASCII punctuation is NOT removed by SQuAD v1.1
        ("«Paris»", "«paris»"),
        ("¿Qué?", "¿qué"),
        ("北京。", "北京。"),
        # only the English articles: Spanish/German ones stay
        ("el niño der Hund", "el niño der hund"),
        ("", ""),
        ("  the  ", ""),
    ],
)
def test_normalize_answer(text: str, normalized: str) -> None:
    assert normalize_answer(text) == normalized


def test_exact_match_and_f1_on_hard_cases() -> None:
    # Unicode punctuation survives, so the guillemets make the tokens differ: EM 0, F1 0.
    assert exact_match("«Paris»", "Paris") == 0.0
    assert token_f1("«Paris»", "Paris") == 0.0
    # Both normalise to "" -> EM 1; F1 counts no shared token -> 0 (as the official script).
    assert exact_match("the", "a") == 1.0
    assert token_f1("the", "a") == 0.0
    assert exact_match("", "") == 1.0
    assert token_f1("", "") == 0.0
    assert token_f1("", "x") == 0.0
    # "the the cat cat cat" -> "cat cat cat" vs "cat": shared min(3,1)=1, P=1/3, R=1,
    # F1 = 2*(1/3)*1/(1/3+1) = 0.5
    assert token_f1("the the cat cat cat", "cat") == pytest.approx(0.5)
    # Chinese: whitespace tokens only, "北京大学" vs "北京" share nothing
    assert token_f1("北京大学", "北京") == 0.0
    # Thai: "กรุงเทพ มหานคร" has 2 whitespace tokens, 1 shared with "กรุงเทพ":
    # P=1/2, R=1, F1=2/3; written without the space it is one different token -> 0
    assert token_f1("กรุงเทพ มหานคร", "กรุงเทพ") == pytest.approx(2 / 3)
    assert token_f1("กรุงเทพมหานคร", "กรุงเทพ") == 0.0


def _dataset(*qas: tuple[str, list[str]]) -> list[dict]:
    return [
        {
            "paragraphs": [
                {
                    "context": "ctx",
                    "qas": [
                        {"id": qid, "answers": [{"text": t} for t in answers]}
                        for qid, answers in qas
                    ],
                }
            ]
        }
    ]


def test_max_over_references_and_unanswered_and_extra_ids(caplog) -> None:
    data = _dataset(
        ("q1", ["Broncos", "Denver Broncos"]),
        ("q2", ["Broncos", "Denver"]),
        ("q3", ["Carolina Panthers"]),
        ("q4", ["anything"]),
    )
    predictions = {
        "q1": "the Denver Broncos",  # EM 1 via the 2nd reference; F1 1
        "q2": "Denver Broncos",  # EM 0; F1 vs either reference: P=1/2, R=1 -> 2/3
        "q3": "Panthers",  # EM 0; P=1, R=1/2 -> 2/3
        # q4 unanswered -> 0; "extra" is not a question of the label file -> ignored
        "extra": "Carolina Panthers",
    }
    with caplog.at_level("WARNING", logger="xtransfer.evaluation"):
        scores = evaluate_qa(data, predictions, source="labels.json")
    # EM = (1 + 0 + 0 + 0) / 4 * 100 = 25; F1 = (1 + 2/3 + 2/3 + 0) / 4 * 100 = 58.333...
    assert scores["exact_match"] == pytest.approx(25.0)
    assert scores["f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 4 * 100)
    assert "1 of 4 questions have no prediction" in caplog.text
    assert "q4" in caplog.text


def test_question_without_gold_answers_is_an_input_error() -> None:
    data = _dataset(("q1", ["x"]), ("q2", []))
    with pytest.raises(UserError, match=r"labels\.json: question 'q2' has no gold answers"):
        evaluate_qa(data, {"q1": "x", "q2": "y"}, source="labels.json")


def test_label_file_without_questions_is_an_input_error() -> None:
    with pytest.raises(UserError, match="contains no questions"):
        evaluate_qa([{"paragraphs": []}], {}, source="labels.json")
