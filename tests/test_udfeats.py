"""udfeats: UD English FEATS-bundle tagging (catalogue, bundle spelling, fallback for unlisted
bundles, Hub multiword-token lines, demo data) and the real EWT dev file through the reader."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from xtransfer.config import asset_path
from xtransfer.data.sources import load_rows
from xtransfer.errors import UserError
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.formats.feats_tagging import (
    FeatsTaggingFormat,
    nearest_bundle,
    normalise_bundle,
)
from xtransfer.tasks.registry import get_task

DEMO = {"source": "embedded", "root": asset_path("demo")}


@pytest.fixture(scope="module")
def fmt() -> FeatsTaggingFormat:
    return get_format("feats_tagging")(get_task("udfeats"))


@pytest.fixture(scope="module")
def tokenizer():
    from xtransfer.training.model import load_tokenizer

    return load_tokenizer(asset_path("tiny-xlmr"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Number=Sing|Person=3", "Number=Sing|Person=3"),
        ("Person=3|Number=Sing", "Number=Sing|Person=3"),  # sorted by feature name
        ("{'Person': '3', 'Number': 'Sing'}", "Number=Sing|Person=3"),  # the Hub's str(dict)
        ("{'NumType': 'Card', 'Number': 'Plur'}", "Number=Plur|NumType=Card"),  # case-insensitive
        ("{'PronType': 'Int,Rel'}", "PronType=Int,Rel"),  # multi-value features stay whole
        ("None", "_"),
        ("_", "_"),
        ("", "_"),
        (None, "_"),
    ],
)
def test_bundles_from_every_source_get_one_spelling(value, expected):
    assert normalise_bundle(value) == expected


@pytest.mark.parametrize("value", ["Number", "Number=", "{'Number': 'Sing'", "{1, 2}"])
def test_malformed_bundles_are_user_errors(value):
    with pytest.raises(UserError, match="malformed FEATS"):
        normalise_bundle(value)


def test_unlisted_bundles_map_to_the_nearest_listed_one():
    labels = [
        "_",
        "Number=Sing",
        "Definite=Def|PronType=Art",
        "Case=Nom|Number=Plur|Person=3|PronType=Prs",
        "Case=Nom|Gender=Masc|Number=Sing|Person=3|PronType=Prs",
        "Case=Acc|Gender=Masc|Number=Sing|Person=3|PronType=Prs",
    ]
    # Listed bundles are their own tag.
    assert all(nearest_bundle(b, labels) == b for b in labels)
    # Shares 2 pairs with the article bundle and nothing with the others.
    assert nearest_bundle("Definite=Def|PronType=Art|Typo=Yes", labels) == labels[2]
    # Shares 4 pairs with the Masc nominative and 3 with the plural one: most shared wins.
    assert nearest_bundle("Case=Nom|Number=Sing|Person=3|PronType=Prs", labels) == labels[4]
    # Shares 4 pairs with the Masc accusative (Case=Acc Number Person PronType), 3 with the
    # Masc nominative.
    reflexive = "Case=Acc|Number=Sing|Person=3|PronType=Prs|Reflex=Yes"
    assert nearest_bundle(reflexive, labels) == labels[5]
    # Shares 4 pairs with both Masc bundles and differs from each in 2 (Case, Reflex): the
    # earlier (more frequent) one wins the tie.
    tie = "Gender=Masc|Number=Sing|Person=3|PronType=Prs|Reflex=Yes"
    assert nearest_bundle(tie, labels) == labels[4]
    # Equal shared pairs, fewer differences wins: Number=Sing (differs in 1) over the 5-pair
    # pronoun bundles (share 1, differ in 5).
    assert nearest_bundle("Number=Sing|Typo=Yes", labels) == "Number=Sing"
    # Nothing in common: no features.
    assert nearest_bundle("Foreign=Yes", labels) == "_"


def test_catalogue_label_list_is_well_formed():
    labels = get_task("udfeats").labels
    assert labels[0] == "_"
    assert len(set(labels)) == len(labels)
    assert all(normalise_bundle(label) == label for label in labels)


def test_demo_rows_drop_multiword_lines_and_tag_every_word(fmt):
    task = get_task("udfeats")
    rows = load_rows(task, "train", "en", DEMO)
    labelled = fmt._labelled(rows)
    multiword = 0
    for raw, row in zip(rows, labelled, strict=True):
        # The Hub marks a multiword-token line with UPOS id 13 ("_"); it has no FEATS.
        dropped = [i for i, tag in enumerate(raw["upos"]) if tag == 13]
        multiword += len(dropped)
        assert row["tokens"] == [w for i, w in enumerate(raw["tokens"]) if i not in dropped]
        assert len(row["label"]) == len(row["tokens"])
        # Demo training data only holds listed bundles: every label is the word's own bundle.
        expected = [normalise_bundle(f) for i, f in enumerate(raw["feats"]) if i not in dropped]
        assert [task.labels[i] for i in row["label"]] == expected
    assert multiword > 0
    example = next(r for r in labelled if "can" in r["tokens"])
    assert "cannot" not in example["tokens"]


def test_demo_validation_unlisted_typo_bundle_uses_the_fallback(fmt):
    task = get_task("udfeats")
    rows = fmt._labelled(load_rows(task, "validation", "en", DEMO))
    tags = [
        task.labels[tag]
        for row in rows
        for word, tag in zip(row["tokens"], row["label"], strict=True)
        if word == "teh"
    ]
    assert "Definite=Def|PronType=Art|Typo=Yes" not in task.labels
    assert tags and set(tags) == {"Definite=Def|PronType=Art"}


def test_featurize_and_dev_score_use_token_accuracy(fmt, tokenizer):
    task = get_task("udfeats")
    rows = load_rows(task, "validation", "en", DEMO)[:5]
    features = fmt.featurize(rows, tokenizer, 128)
    assert len(features) == len(rows)  # short sentences: one window each
    gold = [row["label"] for row in fmt._labelled(rows)]
    # One wrong word out of all: accuracy = (n - 1) / n.
    predicted = [list(g) for g in gold]
    predicted[0][0] = (predicted[0][0] + 1) % len(task.labels)
    n = sum(len(g) for g in gold)
    assert fmt.dev_score(rows, predicted) == pytest.approx(100.0 * (n - 1) / n)
    assert fmt.finalize(rows, features, [[g for g in f["label"]] for f in features]) == gold


def test_words_and_feats_of_different_length_are_a_user_error(fmt):
    with pytest.raises(UserError, match="2 words but 1 FEATS"):
        fmt._labelled([{"tokens": ["a", "b"], "feats": ["_"]}])


def test_label_list_must_contain_no_features():
    spec = get_task("udfeats")
    with pytest.raises(UserError, match="must contain '_'"):
        FeatsTaggingFormat(replace(spec, labels=[label for label in spec.labels if label != "_"]))


# ---- real UD 2.5 English EWT (../shared/data/ud-2.5) ------------------------------------------


@pytest.fixture(scope="module")
def ewt_dev(shared_data: Path) -> Path:
    path = shared_data / "ud-2.5" / "en_ewt-ud-dev.conllu"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


def _feats_column(path: Path) -> list[tuple[str, str]]:
    """(FORM, FEATS) of every basic-tree word, straight from the text with a regex."""
    text = path.read_text(encoding="utf-8")
    return re.findall(
        r"^[0-9]+\t([^\t]*)\t[^\t]*\t[^\t]*\t[^\t]*\t([^\t]*)\t", text, flags=re.MULTILINE
    )


@pytest.mark.realdata
def test_ewt_dev_loads_with_feats_intact(ewt_dev, fmt):
    task = get_task("udfeats")
    data = {"source": "local", "files": {"udfeats": {"validation": str(ewt_dev)}}}
    rows = load_rows(task, "validation", "en", data)
    words = [(w, f) for row in rows for w, f in zip(row["tokens"], row["feats"], strict=True)]
    expected = _feats_column(ewt_dev)
    assert len(words) == len(expected) == 25148
    assert words == expected  # every FEATS string exactly as in the file, in order
    # Every dev bundle is in the label list (the list was made from EWT dev + test), so every
    # word's tag is its own bundle: no fallback is used.
    labelled = fmt._labelled(rows)
    tags = [task.labels[t] for row in labelled for t in row["label"]]
    assert tags == [normalise_bundle(f) for _, f in expected]
    assert Counter(tags).most_common(1)[0][0] == "_"


@pytest.mark.realdata
def test_catalogue_labels_are_the_ewt_dev_and_test_bundles(shared_data: Path):
    files = [shared_data / "ud-2.5" / f"en_ewt-ud-{s}.conllu" for s in ("dev", "test")]
    if not all(f.is_file() for f in files):
        pytest.skip("EWT dev/test not found in ../shared/data/ud-2.5")
    counts = Counter(f for path in files for _, f in _feats_column(path))
    labels = get_task("udfeats").labels
    assert set(labels) == set(counts)
    # "_" first, then by descending frequency (ties by name).
    rest = sorted((b for b in counts if b != "_"), key=lambda b: (-counts[b], b))
    assert labels == ["_", *rest]
