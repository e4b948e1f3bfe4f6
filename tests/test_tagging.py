"""Token tagging (UD-POS, PAN-X): featurisation, windowing, readers, files, and a demo run."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from xtransfer.config import asset_path
from xtransfer.data.conllu import read_conll_tsv, read_conllu
from xtransfer.data.readers import read_file
from xtransfer.data.sources import load_rows
from xtransfer.errors import UserError
from xtransfer.evaluation import formats
from xtransfer.evaluation.scoring import score_tagging
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.formats.tagging import (
    IGNORE,
    TaggingFormat,
    assign_words,
    plan_windows,
    special_frame,
)
from xtransfer.tasks.registry import get_task

# Written for these tests: agglutinative (tr, fi), compounds (de), no spaces (ja, zh), RTL (ar),
# words with an inner space as in UD Vietnamese (vi), Devanagari (hi), digits and punctuation.
MULTILINGUAL = [
    ["Çocuklarımızın", "okuldaki", "başarısı", "hepimizi", "sevindirdi", "."],
    ["Die", "Donaudampfschifffahrtsgesellschaft", "wurde", "1829", "gegründet", "."],
    ["東京", "で", "会議", "が", "開か", "れ", "た", "。"],
    ["ذهب", "الطلاب", "إلى", "المكتبة", "الجديدة", "."],
    ["Hà Nội", "là", "thủ đô", "của", "Việt Nam", "."],
    ["भारत", "की", "राजधानी", "नई", "दिल्ली", "है", "।"],
    ["Talvella", "järvet", "jäätyvät", "ja", "lapset", "luistelevat", "."],
    ["北京", "是", "中国", "的", "首都", "。"],
]


@pytest.fixture(scope="module")
def tokenizer():
    path = Path(asset_path("tiny-xlmr"))
    if not (path / "tokenizer.json").is_file() and not (path / "tokenizer_config.json").is_file():
        pytest.skip(f"the tiny model's tokenizer is not built yet ({path}; `make assets`)")
    from xtransfer.training.model import load_tokenizer

    return load_tokenizer(str(path))


@pytest.fixture(scope="module")
def udpos() -> TaggingFormat:
    return get_format("tagging")(get_task("udpos"))


def _pieces(tokenizer, word: str) -> list[int]:
    """A word's sub-tokens, computed on their own (split-word tokenisation is per word)."""
    return tokenizer([word], is_split_into_words=True, add_special_tokens=False)["input_ids"]


def _rows(sentences: list[list[str]], num_labels: int = 17) -> list[dict]:
    rng = random.Random(0)
    return [
        {"tokens": words, "label": [rng.randrange(num_labels) for _ in words]}
        for words in sentences
    ]


def _first_pieces(tokenizer, words: list[str]) -> list[int]:
    return [(_pieces(tokenizer, w) or [tokenizer.unk_token_id])[0] for w in words]


# --- featurisation ---------------------------------------------------------------------------


def test_first_subtoken_labelling_on_multilingual_text(tokenizer, udpos):
    rows = _rows(MULTILINGUAL)
    features = udpos.featurize(rows, tokenizer, max_length=128)
    assert len(features) == len(rows)  # all fit: one window each
    prefix, suffix = special_frame(tokenizer)
    multi_piece_words = 0
    for feature, row in zip(features, rows, strict=True):
        pieces = [_pieces(tokenizer, w) for w in row["tokens"]]
        multi_piece_words += sum(len(p) > 1 for p in pieces)
        expected_ids = prefix + [i for p in pieces for i in p] + suffix
        assert feature["input_ids"] == expected_ids
        # The gold tag sits on each word's first sub-token; everything else is ignored.
        expected_labels = [IGNORE] * len(prefix)
        for piece, tag in zip(pieces, row["label"], strict=True):
            expected_labels += [tag] + [IGNORE] * (len(piece) - 1)
        expected_labels += [IGNORE] * len(suffix)
        assert feature["label"] == expected_labels
        assert feature["word_index"] == list(range(len(row["tokens"])))
        starts = [len(prefix) + sum(len(p) for p in pieces[:w]) for w in range(len(pieces))]
        assert feature["token_index"] == starts
    assert multi_piece_words >= 5, "the text should exercise words of several sub-tokens"


def test_collate_pads_labels_with_ignore_and_masks_by_length(tokenizer, udpos):
    features = udpos.featurize(_rows(MULTILINGUAL[:3]), tokenizer, max_length=128)
    batch = udpos.collate(features, tokenizer.pad_token_id)
    lengths = [len(f["input_ids"]) for f in features]
    assert batch["input_ids"].shape == batch["labels"].shape == (3, max(lengths))
    assert batch["attention_mask"].sum(dim=1).tolist() == lengths
    for i, length in enumerate(lengths):
        assert (batch["labels"][i, length:] == IGNORE).all()


def test_head_and_loss_ignore_unlabelled_positions(udpos):
    head = udpos.make_head(hidden_size=8, dropout=0.0)
    outputs = head(torch.randn(2, 5, 8))
    assert outputs.shape == (2, 5, 17)
    labels = torch.full((2, 5), IGNORE)
    assert udpos.loss(outputs, {"labels": labels}).item() == 0.0  # no NaN on an empty mean
    labels[0, 1], labels[1, 3] = 4, 7
    expected = torch.nn.functional.cross_entropy(
        torch.stack([outputs[0, 1], outputs[1, 3]]), torch.tensor([4, 7])
    )
    assert torch.isclose(udpos.loss(outputs, {"labels": labels}), expected)
    assert udpos.head_signature() == {"format": "tagging", "labels": get_task("udpos").labels}
    assert udpos.decode(outputs) == outputs.argmax(-1).tolist()


# --- windowing -------------------------------------------------------------------------------


def test_plan_windows_cover_every_word_within_budget():
    rng = random.Random(1)
    for _ in range(300):
        budget = rng.randint(1, 20)
        lengths = [rng.randint(1, budget) for _ in range(rng.randint(0, 60))]
        windows = plan_windows(lengths, budget)
        if not lengths:
            assert windows == []
            continue
        assert windows[0][0] == 0 and windows[-1][1] == len(lengths)
        for (s0, e0), (s1, e1) in zip(windows, windows[1:], strict=False):
            assert s0 < s1 <= e0 and e0 <= e1  # progress, and no word falls between windows
        for start, end in windows:
            assert start < end and sum(lengths[start:end]) <= budget
        owners = assign_words(lengths, windows)
        assert len(owners) == len(lengths)
        for word, owner in enumerate(owners):
            start, end = windows[owner]
            assert start <= word < end


def _context(lengths: list[int], word: int, window: tuple[int, int]) -> float:
    """A word's smaller side of context in a window; a side at the sentence edge is complete."""
    start, end = window
    left = sum(lengths[start:word]) if start > 0 else float("inf")
    right = sum(lengths[word + 1 : end]) if end < len(lengths) else float("inf")
    return min(left, right)


def test_assign_words_picks_the_window_with_most_context():
    """Brute force: the owner maximises min(left, right) context."""
    rng = random.Random(2)
    for _ in range(200):
        budget = rng.randint(2, 16)
        lengths = [rng.randint(1, min(3, budget)) for _ in range(rng.randint(1, 50))]
        windows = plan_windows(lengths, budget)
        owners = assign_words(lengths, windows)
        for word, owner in enumerate(owners):
            candidates = [w for w in windows if w[0] <= word < w[1]]
            best = max(_context(lengths, word, w) for w in candidates)
            assert _context(lengths, word, windows[owner]) == best
            # The half-window stride leaves every word about a quarter window of context on
            # each side (less the rounding to whole words of up to 3 sub-tokens).
            assert best >= budget / 4 - 3.5


def test_long_sentence_windows_give_every_word_exactly_one_prediction(tokenizer, udpos):
    words = [w for sentence in MULTILINGUAL for w in sentence] * 4  # ~200 words
    rows = _rows([MULTILINGUAL[0], words, MULTILINGUAL[2]])
    max_length = 16
    features = udpos.featurize(rows, tokenizer, max_length=max_length)
    long_features = [f for f in features if f["example_index"] == 1]
    assert len(long_features) > 10
    assert all(len(f["input_ids"]) <= max_length for f in features)
    owned = sorted(w for f in long_features for w in f["word_index"])
    assert owned == list(range(len(words)))  # every word exactly once

    # A fake model whose "tag" at each position is the input id there: reassembly must give
    # each word the first sub-token of that very word, in order.
    fake = [list(f["input_ids"]) for f in features]
    predicted = udpos.finalize(rows, features, fake)
    assert [len(p) for p in predicted] == [len(r["tokens"]) for r in rows]
    for row, sentence in zip(rows, predicted, strict=True):
        assert sentence == _first_pieces(tokenizer, row["tokens"])
    # Gold labels are attached at the owned positions only, once per word.
    for feature in long_features:
        labelled = [i for i, tag in enumerate(feature["label"]) if tag != IGNORE]
        assert labelled == feature["token_index"]
        assert [feature["label"][i] for i in labelled] == [
            rows[1]["label"][w] for w in feature["word_index"]
        ]


def test_windowed_predictions_match_unwindowed_ones_for_short_sentences(tokenizer, udpos):
    rows = _rows(MULTILINGUAL)
    wide = udpos.featurize(rows, tokenizer, max_length=512)
    narrow = udpos.featurize(rows, tokenizer, max_length=128)
    assert [f["input_ids"] for f in wide] == [f["input_ids"] for f in narrow]


def test_a_word_longer_than_the_window_is_cut_but_still_predicted(tokenizer, udpos):
    giant = "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft"
    assert len(_pieces(tokenizer, giant)) > 6
    rows = _rows([["a", giant, "b", giant]])
    features = udpos.featurize(rows, tokenizer, max_length=6)
    assert all(len(f["input_ids"]) <= 6 for f in features)
    fake = [list(f["input_ids"]) for f in features]
    assert udpos.finalize(rows, features, fake) == [_first_pieces(tokenizer, rows[0]["tokens"])]


def test_words_without_subtokens_are_fed_as_unknown_and_predicted(tokenizer, udpos):
    # Words that tokenizers commonly normalise away (whitespace-only words occur in some UD
    # treebanks, zero-width and control characters in PAN-X); "" always yields no sub-token.
    candidates = ["", " ", "\t", "\u3000", "\u200b", "\u200d", "\ufeff", "\u00ad", "\x00"]
    empty = [c for c in candidates if not _pieces(tokenizer, c)]
    assert "" in empty and len(empty) >= 2, empty
    words = ["Merhaba", *empty, "dünya", *empty, "."]
    rows = _rows([words, empty])  # the second sentence has no visible word at all
    features = udpos.featurize(rows, tokenizer, max_length=128)
    unk = tokenizer.unk_token_id
    for feature in features:
        for word, position in zip(feature["word_index"], feature["token_index"], strict=True):
            token = rows[feature["example_index"]]["tokens"][word]
            assert (feature["input_ids"][position] == unk) == (token in empty)
    fake = [list(f["input_ids"]) for f in features]
    predicted = udpos.finalize(rows, features, fake)
    assert [len(p) for p in predicted] == [len(words), len(empty)]
    # ... and with windowing too.
    features = udpos.featurize(rows, tokenizer, max_length=4)
    predicted = udpos.finalize(rows, features, [list(f["input_ids"]) for f in features])
    assert [len(p) for p in predicted] == [len(words), len(empty)]


def test_tag_count_mismatch_is_a_user_error(tokenizer, udpos):
    with pytest.raises(UserError, match="row 1 has 2 words but 1 tags"):
        udpos.featurize([{"tokens": ["a", "b"], "label": [0]}], tokenizer, 128)


def test_empty_sentences_survive_featurize_finalize_and_files(tokenizer, udpos, tmp_path):
    rows = [{"tokens": [], "label": []}, *_rows(MULTILINGUAL[:1]), {"tokens": [], "label": []}]
    features = udpos.featurize(rows, tokenizer, 128)
    assert len(features) == 1
    predicted = udpos.finalize(rows, features, [[0] * len(features[0]["input_ids"])])
    assert predicted == [[], [0] * 6, []]
    udpos.write_predictions(tmp_path / "p.tsv", rows, predicted)
    assert formats.read_tag_sentences(tmp_path / "p.tsv") == [[], ["ADJ"] * 6, []]


# --- prediction and label files --------------------------------------------------------------


def test_files_round_trip_through_the_scorer(udpos, tmp_path):
    labels = get_task("udpos").labels
    rows = _rows([["a"] * 3, ["b"] * 200, ["c"], ["d"] * 5])
    predicted = [list(r["label"]) for r in rows]
    predicted[3][0] = (predicted[3][0] + 1) % len(labels)
    udpos.write_labels(tmp_path / "gold.tsv", rows)
    udpos.write_predictions(tmp_path / "pred.tsv", rows, predicted)
    gold_text = (tmp_path / "gold.tsv").read_text()
    # The official layout: one tag per line, one empty line between sentences, none at the end.
    assert gold_text.count("\n\n") == 3 and not gold_text.endswith("\n\n")
    assert formats.read_tag_sentences(tmp_path / "gold.tsv") == [
        [labels[i] for i in r["label"]] for r in rows
    ]
    assert formats.read_tag_sentences(tmp_path / "pred.tsv") == [
        [labels[i] for i in p] for p in predicted
    ]
    perfect = score_tagging(tmp_path / "gold.tsv", tmp_path / "gold.tsv")
    assert perfect["f1"] == 100.0 and perfect["token_accuracy"] == 100.0
    scores = score_tagging(tmp_path / "pred.tsv", tmp_path / "gold.tsv")
    assert 0 < scores["f1"] < 100
    # dev_score is the scorer's chunk F1 computed in memory.
    assert udpos.dev_score(rows, predicted) == pytest.approx(scores["f1"], abs=1e-9)


def test_panx_files_use_iob2_tag_names(tmp_path):
    panx = get_format("tagging")(get_task("panx"))
    rows = [{"tokens": ["Maria", "Silva", "in", "Paris"], "label": [1, 2, 0, 5]}]
    panx.write_labels(tmp_path / "gold.tsv", rows)
    assert (tmp_path / "gold.tsv").read_text() == "B-PER\nI-PER\nO\nB-LOC\n"
    assert panx.dev_score(rows, [[1, 2, 0, 5]]) == 100.0
    assert panx.dev_score(rows, [[1, 0, 0, 5]]) == 50.0


# --- readers ---------------------------------------------------------------------------------

CONLLU = """# sent_id = 1
# text = Ich gehe zum Markt.
1\tIch\tich\tPRON\tPPER\tCase=Nom|Number=Sing|Person=1\t2\tnsubj\t_\t_
2\tgehe\tgehen\tVERB\tVVFIN\tMood=Ind|Number=Sing\t0\troot\t_\t_
3-4\tzum\t_\t_\t_\t_\t_\t_\t_\t_
3\tzu\tzu\tADP\tAPPR\t_\t5\tcase\t_\t_
4\tdem\tder\tDET\tART\tCase=Dat|Definite=Def\t5\tdet\t_\t_
5\tMarkt\tMarkt\tNOUN\tNN\tCase=Dat|Gender=Masc\t2\tobl\t_\tSpaceAfter=No
5.1\tgeht\tgehen\tVERB\t_\t_\t_\t_\t2:conj\t_
6\t.\t.\tPUNCT\t$.\t_\t2\tpunct\t_\t_

# sent_id = 2
1\tJa\tja\tINTJ\tITJ\t_\t0\troot\t_\t_
"""


def test_conllu_reader_keeps_words_and_skips_ranges_empty_nodes_comments(tmp_path):
    path = tmp_path / "de-ud-test.conllu"
    path.write_text(CONLLU, encoding="utf-8")
    rows = read_conllu(path)
    assert rows == [
        {
            "tokens": ["Ich", "gehe", "zu", "dem", "Markt", "."],
            "pos_tags": ["PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT"],
            "feats": [
                "Case=Nom|Number=Sing|Person=1",
                "Mood=Ind|Number=Sing",
                "_",
                "Case=Dat|Definite=Def",
                "Case=Dat|Gender=Masc",
                "_",
            ],
        },
        {"tokens": ["Ja"], "pos_tags": ["INTJ"], "feats": ["_"]},
    ]
    assert read_file(path) == rows  # picked by extension


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1\tIch\tich\tPRON", "4 TAB-separated fields"),
        ("x\tIch\tich\tPRON\t_\t_\t0\troot\t_\t_", "word id 'x'"),
        ("3\tIch\tich\tPRON\t_\t_\t0\troot\t_\t_", "word id 3 out of sequence"),
        ("1\tIch\tich\t_\t_\t_\t0\troot\t_\t_", "no FORM or no UPOS"),
    ],
)
def test_conllu_reader_names_file_and_line_of_malformed_input(tmp_path, line, message):
    path = tmp_path / "bad.conllu"
    path.write_text(f"# comment\n{line}\n", encoding="utf-8")
    with pytest.raises(UserError, match=rf"bad\.conllu:2: .*{message}"):
        read_conllu(path)


def test_conll_tsv_reader_strips_raw_panx_language_prefixes(tmp_path):
    raw = tmp_path / "en-train"
    raw.write_text("en:Maria\tB-PER\nen:lives \tO\nen:in\tO\nen::\tO\nen:\tO\n\nen:Paris\tB-LOC\n")
    rows = read_conll_tsv(raw)
    assert [r["tokens"] for r in rows] == [["Maria", "lives", "in", ":", ""], ["Paris"]]
    assert rows[0]["ner_tags"] == ["B-PER", "O", "O", "O", "O"] and rows[0]["langs"] == ["en"] * 5
    processed = tmp_path / "dev-en.tsv"  # XTREME download: prefix already stripped
    processed.write_text("Maria\tB-PER\nde:facto\tO\n\nParis\tB-LOC\n")
    rows = read_conll_tsv(processed)
    assert [r["tokens"] for r in rows] == [["Maria", "de:facto"], ["Paris"]]
    assert "langs" not in rows[0]


def test_conll_tsv_reader_test_files_and_errors(tmp_path):
    unlabelled = tmp_path / "test-de.tsv"
    unlabelled.write_text("Hallo\nWelt \u00a0x\n\nTschüss\n")  # tokens may hold other spaces
    assert read_conll_tsv(unlabelled) == [
        {"tokens": ["Hallo", "Welt \u00a0x"]},
        {"tokens": ["Tschüss"]},
    ]
    mixed = tmp_path / "mixed.tsv"
    mixed.write_text("a\tNOUN\nb\n")
    with pytest.raises(UserError, match=r"mixed\.tsv:2: .*mixed"):
        read_conll_tsv(mixed)
    wide = tmp_path / "wide.tsv"
    wide.write_text("a\tNOUN\n\nb\tNOUN\tx\n")
    with pytest.raises(UserError, match=r"wide\.tsv:3: .*3 TAB-separated fields"):
        read_conll_tsv(wide)


# --- sources ---------------------------------------------------------------------------------


def test_xtreme_dir_and_local_sources_map_to_canonical_rows(tmp_path):
    (tmp_path / "udpos").mkdir()
    (tmp_path / "udpos" / "dev-en.tsv").write_text("The\tDET\ncat\tNOUN\n\n3\tNUM\n")
    (tmp_path / "panx").mkdir()
    (tmp_path / "panx" / "train-en.tsv").write_text("en:Paris\tB-LOC\nen:is\tO\n")
    xtreme_dir = {"source": "xtreme_dir", "root": str(tmp_path)}
    udpos_rows = load_rows(get_task("udpos"), "validation", "en", xtreme_dir)
    assert udpos_rows == [
        {"tokens": ["The", "cat"], "label": [5, 7]},
        {"tokens": ["3"], "label": [8]},
    ]
    panx_rows = load_rows(get_task("panx"), "train", "en", xtreme_dir)
    assert panx_rows == [{"tokens": ["Paris", "is"], "label": [5, 0]}]

    conllu = tmp_path / "tr-test.conllu"
    conllu.write_text(CONLLU, encoding="utf-8")
    local = {"source": "local", "files": {"udpos": {"test": str(tmp_path / "{lang}-test.conllu")}}}
    rows = load_rows(get_task("udpos"), "test", "tr", local)
    assert rows[0]["tokens"][2:4] == ["zu", "dem"] and rows[0]["label"][:2] == [10, 15]


def test_embedded_demo_has_every_language_and_hub_label_ids():
    embedded = {"source": "embedded", "root": asset_path("demo")}
    for name, labels_key in (("udpos", "pos_tags"), ("panx", "ner_tags")):
        task = get_task(name)
        for lang in task.languages_for("xtreme_r"):
            rows = load_rows(task, "test", lang, embedded)
            assert 15 <= len(rows) <= 30, (name, lang)
            for row in rows:
                assert len(row["tokens"]) == len(row["label"]) > 0
        for split, low, high in (("train", 250, 400), ("validation", 40, 100)):
            assert low <= len(load_rows(task, split, "en", embedded)) <= high
        # Raw files carry ClassLabel ints, as google/xtreme does.
        hub = task.raw["splits"]["test"]["hub"]
        config = hub["name"].format(lang="de", language="German")
        path = Path(asset_path("demo")) / "google__xtreme" / config / "test.jsonl"
        first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert all(isinstance(t, int) for t in first[labels_key])
    assert get_task("udpos").raw["splits"]["test"]["hub"]["language_names"]["af"] == "Afrikaans"


def test_demo_data_holds_sentences_longer_than_the_window(tokenizer, udpos):
    embedded = {"source": "embedded", "root": asset_path("demo")}
    rows = load_rows(get_task("udpos"), "test", "de", embedded)
    features = udpos.featurize(rows, tokenizer, max_length=128)
    assert len(features) > len(rows)  # at least one sentence needed several windows
    assert sorted((f["example_index"], w) for f in features for w in f["word_index"]) == [
        (i, w) for i, r in enumerate(rows) for w in range(len(r["tokens"]))
    ]


# --- end to end ------------------------------------------------------------------------------


def _demo_run(tmp_path: Path, target: str) -> None:
    """`xtransfer train intermediate=none target=T` on the demo data: every language scored."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "train",
            "intermediate=none",
            f"target={target}",
            f"output_root={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_path,) = tmp_path.glob("runs/**/results.json")
    results = json.loads(results_path.read_text())
    languages = get_task(target).languages_for("xtreme")
    f1 = {s["lang"]: s["value"] for s in results["scores"] if s["metric"] == "f1"}
    assert sorted(f1) == sorted(languages)
    assert all(0.0 <= v <= 100.0 for v in f1.values())
    assert results["summary"][target]["languages"] == len(languages)
    # The model learns English and the language-independent cues carry over (chance is ~0).
    assert f1["en"] > 20 and results["summary"][target]["avg_metric"] > 10
    run_dir = results_path.parent
    for lang in languages:
        gold = formats.read_tag_sentences(run_dir / "labels" / target / f"test-{lang}.tsv")
        pred = formats.read_tag_sentences(run_dir / "predictions" / target / f"test-{lang}.tsv")
        assert [len(s) for s in pred] == [len(s) for s in gold]


def test_udpos_demo_run_scores_every_language(tmp_path):
    _demo_run(tmp_path, "udpos")


@pytest.mark.slow
def test_panx_demo_run_scores_every_language(tmp_path):
    _demo_run(tmp_path, "panx")
