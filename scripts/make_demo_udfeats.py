"""Writes the embedded UD English FEATS demo data (deterministic; rerun to regenerate).

    .venv/bin/python scripts/make_demo_udfeats.py
    .venv/bin/python scripts/make_demo_udfeats.py --labels en_ewt-ud-*.conllu   # label list

Output, in the Hub schema of the ``universal_dependencies`` dataset (docs/hub-schemas.md §15) and
the Hub layout the embedded source reads:
``src/xtransfer/assets/demo/universal-dependencies__universal_dependencies/en_ewt/
{train,validation}.jsonl`` with ``idx``, ``text``, ``tokens``, ``upos`` (ClassLabel ids in the
Hub's order) and ``feats`` (the Python ``str()`` of the FEATS dict, or ``"None"``, exactly as
the Hub rows hold it).

The sentences are made up from the small English lexicon below, in which every word form has
one FEATS bundle taken from UD English EWT (nouns in -s are Number=Plur, verbs agree with
their subject, ``will`` is followed by an infinitive, adjectives have -er/-est degrees), so a
tiny model can learn the bundles from word forms and their neighbours. A few validation
sentences use the misspelling ``teh``, whose bundle ``Definite=Def|PronType=Art|Typo=Yes`` is
not in the label list: it exercises the fallback to the nearest listed bundle. Some sentences
hold the multiword token ``cannot`` as the Hub rows write one: a line ``cannot`` with UPOS ``_``
and no FEATS, followed by its words ``can`` and ``not``; the format drops the ``_`` line.

``--labels FILE...`` prints the catalogue's ``labels`` line for tasks/catalogue/udfeats.yaml
from CoNLL-U files: ``_`` first, then every bundle by descending frequency (ties by name).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from collections import Counter
from pathlib import Path

from xtransfer.data.conllu import read_conllu
from xtransfer.tasks.formats.feats_tagging import NO_FEATS, normalise_bundle

OUT = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "xtransfer"
    / "assets"
    / "demo"
    / "universal-dependencies__universal_dependencies"
    / "en_ewt"
)
SEED = "xtransfer-demo-udfeats-v1"
TRAIN_SENTENCES, VALIDATION_SENTENCES = 400, 80
TYPO_SENTENCES = 6  # validation sentences with the unlisted bundle of "teh"

# The Hub's UPOS ClassLabel order (not alphabetical; "_" marks multiword-token rows).
HUB_UPOS = [
    "NOUN", "PUNCT", "ADP", "NUM", "SYM", "SCONJ", "ADJ", "PART", "DET", "CCONJ", "PROPN",
    "PRON", "X", "_", "ADV", "INTJ", "VERB", "AUX",
]  # fmt: skip

PRES3 = "Mood=Ind|Number=Sing|Person=3|Tense=Pres|VerbForm=Fin"
PRES = "Mood=Ind|Tense=Pres|VerbForm=Fin"
PAST = "Mood=Ind|Tense=Past|VerbForm=Fin"
INF = "VerbForm=Inf"
SING, PLUR = "Number=Sing", "Number=Plur"

# subject pronoun -> (FEATS, takes the 3rd-singular verb form)
SUBJECTS = {
    "I": ("Case=Nom|Number=Sing|Person=1|PronType=Prs", False),
    "we": ("Case=Nom|Number=Plur|Person=1|PronType=Prs", False),
    "you": ("Case=Nom|Person=2|PronType=Prs", False),
    "he": ("Case=Nom|Gender=Masc|Number=Sing|Person=3|PronType=Prs", True),
    "she": ("Case=Nom|Gender=Fem|Number=Sing|Person=3|PronType=Prs", True),
    "they": ("Case=Nom|Number=Plur|Person=3|PronType=Prs", False),
}
NAMES = ["Anna", "Clara", "Elena", "Emma", "Julia", "Laura", "Leo", "Nina", "Olga", "Sara"]
# bare form, 3rd singular present, past
VERBS = [
    ("buy", "buys", "bought"),
    ("bring", "brings", "brought"),
    ("count", "counts", "counted"),
    ("find", "finds", "found"),
    ("order", "orders", "ordered"),
    ("receive", "receives", "received"),
    ("see", "sees", "saw"),
    ("sell", "sells", "sold"),
]
NOUNS = ["apple", "book", "bottle", "box", "chair", "cup", "flower", "letter", "pen", "ticket"]
PLURAL = {"box": "boxes"}
ADJECTIVES = [("big", "bigger", "biggest"), ("old", "older", "oldest"), ("new", "newer", "newest")]
PLACES = ["park", "school", "shop", "station", "library", "market"]
POSSESSIVES = {
    "my": "Number=Sing|Person=1|Poss=Yes|PronType=Prs",
    "our": "Number=Plur|Person=1|Poss=Yes|PronType=Prs",
    "his": "Gender=Masc|Number=Sing|Person=3|Poss=Yes|PronType=Prs",
    "their": "Number=Plur|Person=3|Poss=Yes|PronType=Prs",
}
DETERMINERS = {
    # form -> (FEATS, number it allows: "sg", "pl" or "any")
    "the": ("Definite=Def|PronType=Art", "any"),
    "a": ("Definite=Ind|PronType=Art", "sg"),
    "this": ("Number=Sing|PronType=Dem", "sg"),
    "these": ("Number=Plur|PronType=Dem", "pl"),
}
NUMBERS = ["two", "three", "5", "12"]
TYPO = ("teh", "Definite=Def|PronType=Art|Typo=Yes")

Word = tuple[str, str, str]  # form, UPOS, FEATS ("_" for none)


def noun_phrase(rng: random.Random, typo: bool = False) -> list[Word]:
    noun = rng.choice(NOUNS)
    plural = rng.random() < 0.5
    words: list[Word] = []
    kind = rng.random()
    if typo:
        words.append((TYPO[0], "DET", TYPO[1]))
    elif plural and kind < 0.25:
        words.append((rng.choice(NUMBERS), "NUM", "NumType=Card"))
    elif kind < 0.5:
        form = rng.choice(list(POSSESSIVES))
        words.append((form, "PRON", POSSESSIVES[form]))
    else:
        options = [d for d, (_, n) in DETERMINERS.items() if n in ("any", "pl" if plural else "sg")]
        form = rng.choice(options)
        words.append((form, "DET", DETERMINERS[form][0]))
    if rng.random() < 0.5:
        degree = rng.randrange(3)
        words.append(
            (
                rng.choice(ADJECTIVES)[degree],
                "ADJ",
                ("Degree=Pos", "Degree=Cmp", "Degree=Sup")[degree],
            )
        )
    if plural:
        words.append((PLURAL.get(noun, noun + "s"), "NOUN", PLUR))
    else:
        words.append((noun, "NOUN", SING))
    return words


def sentence(rng: random.Random, typo: bool = False) -> list[Word]:
    words: list[Word] = []
    tense = rng.choice(["present", "past", "future", "present", "past", "future", "negative"])
    if tense == "past" and rng.random() < 0.5:
        words += [("yesterday", "NOUN", SING), (",", "PUNCT", NO_FEATS)]
    if rng.random() < 0.3:
        words.append((rng.choice(NAMES), "PROPN", SING))
        third = True
    else:
        form = rng.choice(list(SUBJECTS))
        feats, third = SUBJECTS[form]
        words.append((form, "PRON", feats))
    bare, s_form, past = rng.choice(VERBS)
    if tense == "past":
        words.append((past, "VERB", PAST))
    elif tense == "future":
        words += [("will", "AUX", "VerbForm=Fin"), (bare, "VERB", INF)]
    elif tense == "negative":  # a multiword token line, then its two syntactic words
        words += [("cannot", "_", NO_FEATS), ("can", "AUX", "VerbForm=Fin")]
        words += [("not", "PART", NO_FEATS), (bare, "VERB", INF)]
    else:
        words.append((s_form, "VERB", PRES3) if third else (bare, "VERB", PRES))
    words += noun_phrase(rng, typo)
    if rng.random() < 0.5:
        words += [(rng.choice(["at", "in", "near"]), "ADP", NO_FEATS)]
        words += [("the", "DET", DETERMINERS["the"][0]), (rng.choice(PLACES), "NOUN", SING)]
    if rng.random() < 0.2:
        words += [("today", "NOUN", SING)]
    words.append((".", "PUNCT", NO_FEATS))
    return words


def hub_row(idx: str, words: list[Word]) -> dict:
    """One row as the Hub's universal_dependencies script wrote it (feats = str(dict))."""
    feats = []
    for _, _, bundle in words:
        if bundle == NO_FEATS:
            feats.append("None")
        else:
            feats.append(str(dict(pair.split("=", 1) for pair in bundle.split("|"))))
    tokens = [form for form, _, _ in words]
    surface, skip = [], 0  # the sentence text: a multiword token once, not its two words
    for form, upos, _ in words:
        if skip:
            skip -= 1
            continue
        surface.append(form)
        skip = 2 if upos == "_" else 0
    return {
        "idx": idx,
        "text": " ".join(surface),
        "tokens": tokens,
        "upos": [HUB_UPOS.index(upos) for _, upos, _ in words],
        "feats": feats,
    }


def write_demo() -> None:
    rng = random.Random(SEED)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    splits = {
        "train": [sentence(rng) for _ in range(TRAIN_SENTENCES)],
        "validation": [sentence(rng, typo=i < TYPO_SENTENCES) for i in range(VALIDATION_SENTENCES)],
    }
    for split, sentences in splits.items():
        lines = [
            json.dumps(hub_row(f"demo-{split}-{i:04d}", words), ensure_ascii=False)
            for i, words in enumerate(sentences)
        ]
        (OUT / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {OUT / f'{split}.jsonl'} ({len(lines)} sentences)")


def label_list(paths: list[Path]) -> list[str]:
    """``_`` first, then every bundle of the files by descending frequency, ties by name."""
    counts: Counter[str] = Counter()
    for path in paths:
        for row in read_conllu(path):
            counts.update(normalise_bundle(value) for value in row["feats"])
    counts.pop(NO_FEATS, None)
    return [NO_FEATS] + [b for b, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", nargs="+", type=Path, metavar="CONLLU")
    args = parser.parse_args()
    if args.labels:
        print("labels: [" + ", ".join(json.dumps(b) for b in label_list(args.labels)) + "]")
    else:
        write_demo()


if __name__ == "__main__":
    main()
