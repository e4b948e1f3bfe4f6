"""seqeval 0.0.12 chunk semantics for PAN-X and UD-POS, traced by hand through its rules."""

from __future__ import annotations

import pytest

from xtransfer.evaluation.metrics.seqeval_compat import (
    chunk_scores,
    flatten,
    get_entities,
    sentence_chunks,
    split_tag,
    token_accuracy,
)


def test_split_tag_reads_first_char_and_last_dash_field() -> None:
    assert split_tag("B-PER") == ("B", "PER")
    assert split_tag("O") == ("O", "O")
    assert split_tag("NOUN") == ("N", "NOUN")  # no dash: the whole tag is the type
    assert split_tag("SCONJ") == ("S", "SCONJ")
    assert split_tag("B-X-Y") == ("B", "Y")


@pytest.mark.parametrize(
    ("tags", "chunks"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 1), ("LOC", 3, 3)]),
        # I- without B- starts a chunk (after O, and at the very start)
        (["O", "I-PER", "I-PER", "O"], [("PER", 1, 2)]),
        (["I-ORG"], [("ORG", 0, 0)]),
        # a type switch inside a chunk closes it and opens another
        (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 0), ("LOC", 1, 2)]),
        # B after B of the same type: two chunks
        (["B-PER", "B-PER"], [("PER", 0, 0), ("PER", 1, 1)]),
        # IOBES prefixes
        (["S-PER", "B-LOC", "E-LOC"], [("PER", 0, 0), ("LOC", 1, 2)]),
        # UPOS: runs of identical tags merge into one chunk
        (["NOUN", "NOUN", "VERB", "NOUN"], [("NOUN", 0, 1), ("VERB", 2, 2), ("NOUN", 3, 3)]),
        # ADJ and ADP share the prefix letter "A" but differ in type: two chunks
        (["ADJ", "ADP"], [("ADJ", 0, 0), ("ADP", 1, 1)]),
        # SCONJ/SYM start with "S": every token is its own chunk, even in a run
        (
            ["SCONJ", "SCONJ", "SYM", "SYM"],
            [("SCONJ", 0, 0), ("SCONJ", 1, 1), ("SYM", 2, 2), ("SYM", 3, 3)],
        ),
        # INTJ reads as an I- prefix: a run still merges
        (["INTJ", "INTJ"], [("INTJ", 0, 1)]),
        ([], []),
    ],
)
def test_get_entities(tags: list[str], chunks: list[tuple[str, int, int]]) -> None:
    assert get_entities(tags) == chunks


def test_sentences_are_separated_by_an_o() -> None:
    assert flatten([["NOUN"], ["NOUN"]]) == ["NOUN", "O", "NOUN", "O"]
    # Without the separator the two NOUNs would be one chunk (NOUN, 0, 1).
    assert sentence_chunks([["NOUN"], ["NOUN"]]) == {("NOUN", 0, 0), ("NOUN", 2, 2)}
    # An entity cannot continue into the next sentence either.
    assert sentence_chunks([["B-PER"], ["I-PER"]]) == {("PER", 0, 0), ("PER", 2, 2)}
    # An empty sentence only contributes its separator.
    assert sentence_chunks([["NOUN"], [], ["NOUN"]]) == {("NOUN", 0, 0), ("NOUN", 3, 3)}


def test_pos_chunk_f1_is_not_token_accuracy() -> None:
    gold = [["DET", "NOUN", "NOUN", "VERB"]]
    pred = [["DET", "NOUN", "VERB", "VERB"]]
    # gold chunks (DET,0,0) (NOUN,1,2) (VERB,3,3); pred (DET,0,0) (NOUN,1,1) (VERB,2,3)
    # 1 correct of 3 and 3: P = R = F1 = 1/3. Token accuracy: DET NOUN _ VERB = 3/4.
    scores = chunk_scores(gold, pred)
    assert scores == pytest.approx({"f1": 1 / 3, "precision": 1 / 3, "recall": 1 / 3})
    assert token_accuracy(gold, pred) == pytest.approx(0.75)


def test_ner_scores_across_sentences() -> None:
    gold = [["B-PER", "I-PER", "O"], ["B-LOC", "O", "B-ORG", "I-ORG"]]
    pred = [["B-PER", "I-PER", "O"], ["B-LOC", "O", "I-ORG", "O"]]
    # flattened gold: B-PER I-PER O O | B-LOC O B-ORG I-ORG O
    #   chunks (PER,0,1) (LOC,4,4) (ORG,6,7)
    # flattened pred: B-PER I-PER O O | B-LOC O I-ORG O O
    #   chunks (PER,0,1) (LOC,4,4) (ORG,6,6)
    # correct 2; P = 2/3, R = 2/3, F1 = 2/3; token accuracy = (3 + 2) / 7
    scores = chunk_scores(gold, pred)
    assert scores == pytest.approx({"f1": 2 / 3, "precision": 2 / 3, "recall": 2 / 3})
    assert token_accuracy(gold, pred) == pytest.approx(5 / 7)


def test_no_chunks_gives_zero_not_an_error() -> None:
    assert chunk_scores([["O", "O"]], [["O", "O"]]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    # predicted chunks but no gold chunk: P = 0/1, R = 0 (no gold), F1 = 0
    assert chunk_scores([["O"]], [["B-PER"]]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_uneven_sentence_lengths_shift_positions_like_the_official_scorer() -> None:
    # gold flat: NOUN O VERB O -> (NOUN,0,0) (VERB,2,2)
    # pred flat: NOUN NOUN O VERB O -> (NOUN,0,1) (VERB,3,3): nothing lines up
    assert chunk_scores([["NOUN"], ["VERB"]], [["NOUN", "NOUN"], ["VERB"]])["f1"] == 0.0
    # token accuracy compares within each sentence: NOUN=NOUN, VERB=VERB -> 2/2
    assert token_accuracy([["NOUN"], ["VERB"]], [["NOUN", "NOUN"], ["VERB"]]) == 1.0
