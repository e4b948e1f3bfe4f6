"""MLQA per-language normalisation: expected values computed by hand from evaluate_mlqa.py."""

from __future__ import annotations

import pytest

from xtransfer.errors import UserError
from xtransfer.evaluation.metrics.mlqa import (
    mixed_segmentation,
    normalize_answer,
    normalizer_for,
    unicode_punctuation,
)
from xtransfer.evaluation.metrics.squad import evaluate_qa, exact_match, token_f1


def test_punctuation_set_is_ascii_plus_unicode_p_categories() -> None:
    punct = unicode_punctuation()
    assert set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") <= punct  # string.punctuation (incl. S*)
    for ch in "«»¿¡、。「」“”—…":  # categories Pi/Pf/Po/Ps/Pe/Pd
        assert ch in punct
    for ch in "€©ก中a ":  # symbols (Sc/So), letters and space are kept
        assert ch not in punct


@pytest.mark.parametrize(
    ("text", "lang", "normalized"),
    [
        # en: Unicode quotes removed (unlike SQuAD v1.1), then "the"
        ("“The Paris”", "en", "paris"),
        # es: el/la/los/las/un/una/unos/unas as whole words; "¿" and "?" are punctuation
        ("¿El Niño?", "es", "niño"),
        ("La casa de los espíritus", "es", "casa de espíritus"),
        ("Unas unidades", "es", "unidades"),
        # de: der/die/das/... whole words only: "Dieser" stays
        ("Der Spiegel", "de", "spiegel"),
        ("Dieser Hund, den", "de", "dieser hund"),
        # vi: của/là/cái/chiếc/những
        ("Cái bàn của tôi", "vi", "bàn tôi"),
        # ar: the letters "ال" are replaced wherever they occur, even inside a word:
        # "الكتاب" -> " كتاب" -> "كتاب"; "مالك" (م ا ل ك) -> "م ك"
        ("الكتاب", "ar", "كتاب"),
        ("مالك", "ar", "م ك"),
        # hi: no articles ("एक" = "a/one" stays); the danda "।" is punctuation (Po)
        ("एक किताब।", "hi", "एक किताब"),
        # zh: every CJK ideograph is a token; "2008" stays one token
        ("2008年北京", "zh", "2008 年 北 京"),
        ("北京，中国", "zh", "北 京 中 国"),
        ("", "en", ""),
    ],
)
def test_normalize_answer(text: str, lang: str, normalized: str) -> None:
    assert normalize_answer(text, lang) == normalized


def test_mixed_segmentation_uses_the_official_cjk_range() -> None:
    # U+9FA5 is the last ideograph of the official range, U+9FA6 is outside it: the first is a
    # token of its own, the second is glued to its non-CJK neighbours.
    assert mixed_segmentation("\u9fa6\u9fa5") == ["\u9fa6", "\u9fa5"]
    assert mixed_segmentation("\u9fa6\u9fa6") == ["\u9fa6\u9fa6"]
    assert mixed_segmentation("ab 北c d") == ["ab", "北", "c", "d"]


def test_zh_f1_is_character_level() -> None:
    zh = normalizer_for("zh")
    # "北京大学" -> 北 京 大 学 vs 北 京: shared 2, P=2/4, R=2/2 -> F1 = 2*0.5*1/1.5 = 2/3
    assert token_f1("北京大学", "北京", zh) == pytest.approx(2 / 3)
    # "2008年北京奥运会" -> [2008, 年, 北, 京, 奥, 运, 会] vs [北, 京]: P=2/7, R=1 -> F1 = 4/9
    assert token_f1("2008年北京奥运会", "北京", zh) == pytest.approx(4 / 9)
    assert exact_match("北京。", "北京", zh) == 1.0


def test_arabic_and_english_differ_from_squad() -> None:
    en = normalizer_for("en")
    # SQuAD keeps the guillemets (EM 0); MLQA en removes them (EM 1)
    assert exact_match("«Paris»", "Paris") == 0.0
    assert exact_match("«Paris»", "Paris", en) == 1.0
    ar = normalizer_for("ar")
    assert exact_match("الكتاب", "كتاب", ar) == 1.0


def test_language_without_rules_is_an_input_error() -> None:
    with pytest.raises(UserError, match="no normalisation rules for language 'fr'"):
        normalize_answer("x", "fr")
    with pytest.raises(UserError, match="'th'"):
        normalizer_for("th")


def test_mlqa_evaluation_with_language_rules() -> None:
    data = [
        {
            "paragraphs": [
                {
                    "context": "...",
                    "qas": [
                        {"id": "a", "answers": [{"text": "la casa"}]},
                        {"id": "b", "answers": [{"text": "los perros grandes"}]},
                    ],
                }
            ]
        }
    ]
    # a: "casa" == "casa" -> EM 1, F1 1; b: "perros" vs "perros grandes": P=1, R=1/2 -> 2/3
    scores = evaluate_qa(data, {"a": "Casa.", "b": "el perros"}, normalizer_for("es"))
    assert scores["exact_match"] == pytest.approx(50.0)
    assert scores["f1"] == pytest.approx((1 + 2 / 3) / 2 * 100)
