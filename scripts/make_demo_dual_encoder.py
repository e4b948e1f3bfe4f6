"""Writes the embedded demo data of the dual-encoder retrieval tasks (LAReQA, Mewsli-X).

    .venv/bin/python scripts/make_demo_dual_encoder.py [--out src/xtransfer/assets/demo]

Output, in the Hub layout the embedded source reads (``<owner>__<repo>/<config>/<split>.jsonl``):

* ``google-research-datasets__xquad_r/<lang>/validation.jsonl`` for the 11 XQuAD-R languages,
  rows in the Hub schema ``{id, context, question, answers: {text, answer_start}}`` (no title,
  no sentence breaks, as on the Hub, docs/hub-schemas.md §13). Like XQuAD-R the files are
  parallel: every language has the same paragraphs and the same question ids.
* ``izhx__mewsli-x/``: ``wikipedia_pairs/{train,validation}.jsonl`` (English MentionEntityPair
  rows), ``<lang>/{test,validation}.jsonl`` (ContextualMention rows, one mention each) for the
  11 Mewsli-X languages, and ``candidate_entities/train.jsonl`` (Entity rows), in the nested
  schema of google-research ``mewsli_x/schema.py`` (docs/hub-schemas.md §14).

LAReQA's training data is the SQuAD v1.1 demo that ``make_demo_qa.py`` writes; nothing of it is
written here.

Why the data look the way they do: a randomly initialised tiny model is trained on English pairs
only and scored zero-shot in every language, which can only beat chance through cues written
the same way in every language. So the relevant candidate always shares a Latin-script name,
place or number with its query:

* XQuAD-R paragraphs are ``make_demo_qa.py``'s library story in each language (its own
  per-language templates, so the tokenizer knows every word): "NAME opened a library in PLACE in
  YEAR. Today it keeps COUNT maps." The year question names NAME and the name question names
  PLACE, both in the first sentence, which is the answer sentence; the count question carries
  no cue (as in real data, some questions are hard).
* Mewsli-X entities are Latin-script people with an English description ("NAME is a ROLE from
  PLACE."); a mention is that NAME inside a sentence of the mention's language built from
  ``make_demo_tagging.py``'s per-language lexicon, half the time also naming the entity's PLACE.

Everything is generated from seeded ``random.Random`` instances: the output is byte-identical
on every run. Only this script's folders are written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))

import make_demo_qa as qa  # noqa: E402  (the QA demo's templates and slot fillers)
import make_demo_tagging as tagging  # noqa: E402  (per-language word lists)

from xtransfer.tasks.registry import get_task  # noqa: E402  (one home for language lists)

DEFAULT_OUT = SCRIPTS.parent / "src" / "xtransfer" / "assets" / "demo"
SEED = "xtransfer-demo-dual-encoder-v1"

LAREQA_LANGS = get_task("lareqa").languages_for("xtreme-r")
LAREQA_PARAGRAPHS = 12  # 3 questions each: 36 questions per language, 24 sentences per language

MEWSLIX_LANGS = get_task("mewslix").languages_for("xtreme-r")
ENTITIES = 48
PAIR_SIZES = {"train": 240, "validation": 40}  # English Wikipedia pairs
MENTION_SIZES = {"test": 20, "validation": 10}  # per language
ROLES = ["painter", "engineer", "teacher", "writer", "farmer", "doctor", "singer", "sailor"]


def _digest(*parts: object, n: int = 24) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:n]


def _write(out: Path, relative: str, rows: list[dict]) -> None:
    path = out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


# --- LAReQA (XQuAD-R) ------------------------------------------------------------------------


def lareqa_files() -> dict[str, list[dict]]:
    rng = random.Random(f"{SEED}-lareqa")
    slots = []
    while len(slots) < LAREQA_PARAGRAPHS:
        candidate = qa._slots(rng)
        # Distinct names and places: a cue must point at one paragraph.
        if all(candidate["name"] != s["name"] and candidate["place"] != s["place"] for s in slots):
            slots.append(candidate)
    files = {}
    for lang in LAREQA_LANGS:
        template = qa.ENGLISH[0] if lang == "en" else qa.LIBRARY[lang]
        rows = []
        for p, filled in enumerate(slots):
            context = template[0].format(**filled)
            for k, (question, slot) in enumerate(template[1]):
                answer = filled[slot]
                assert context.count(answer) == 1, (lang, context, answer)
                rows.append(
                    {
                        "id": _digest("lareqa", p, k),  # shared by all languages, as in XQuAD-R
                        "context": context,
                        "question": question.format(**filled),
                        "answers": {"text": [answer], "answer_start": [context.index(answer)]},
                    }
                )
        files[f"google-research-datasets__xquad_r/{lang}/validation.jsonl"] = rows
    return files


# --- Mewsli-X --------------------------------------------------------------------------------


def _entities() -> list[dict]:
    rng = random.Random(f"{SEED}-entities")
    names: list[str] = []
    while len(names) < ENTITIES:
        name = f"{rng.choice(qa.FIRST)} {rng.choice(qa.LAST)}"
        if name not in names:
            names.append(name)
    entities = []
    for i, name in enumerate(names):
        place, role = rng.choice(qa.PLACES), rng.choice(ROLES)
        description = f"{name} is a {role} from {place}."
        entities.append(
            {
                "entity_id": f"Q{7001 + i}",
                "title": name,
                "description": description,
                "description_language": "en",
                "description_url": f"https://en.wikipedia.org/wiki/{name.replace(' ', '_')}",
                "sentence_spans": [{"start": 0, "end": len(description)}],
                "_place": place,
            }
        )
    return entities


def _word(rng: random.Random, lexicon: dict[str, str], category: str) -> str:
    return rng.choice(lexicon[category].split("|")) if category in lexicon else ""


def _sentence(rng: random.Random, lang: str, name: str | None, place: str) -> tuple[str, int]:
    """A sentence in ``lang`` holding ``name`` (if given) and ``place``; returns it and the
    character offset of ``name`` in it (-1 without a name)."""
    lex = tagging.LEXICON[lang]
    subject = name or _word(rng, lex, "PRON")
    adp = _word(rng, lex, "ADP")
    parts = [
        _word(rng, lex, "ADV"),
        subject,
        *([] if lex.get("SOV") else [_word(rng, lex, "VERB")]),
        _word(rng, lex, "ADJ"),
        _word(rng, lex, "NOUN"),
        *([adp, place] if adp else [place]),
        *([_word(rng, lex, "VERB")] if lex.get("SOV") else []),
    ]
    parts = [p for p in parts if p]
    body = " ".join(parts)
    # Written with spaces even in Japanese, so the names are cut the same way everywhere.
    text = f"{body} {lex['END']}" if lex["END"] in "。" else f"{body}{lex['END']}"
    return text, (text.index(name) if name else -1)


def _contextual_mention(rng: random.Random, lang: str, entity: dict, tag: str) -> dict:
    place = entity["_place"] if rng.random() < 0.5 else rng.choice(qa.PLACES)
    before, _ = _sentence(rng, lang, None, rng.choice(qa.PLACES))
    middle, offset = _sentence(rng, lang, entity["title"], place)
    after, _ = _sentence(rng, lang, None, rng.choice(qa.PLACES))
    text = f"{before} {middle} {after}"
    start = len(before) + 1 + offset
    spans, cursor = [], 0
    for sentence in (before, middle, after):
        spans.append({"start": cursor, "end": cursor + len(sentence)})
        cursor += len(sentence) + 1
    document_id = _digest("doc", tag, n=12)
    return {
        "context": {
            "document_title": f"{place} news",
            "document_url": f"https://{lang}.wikinews.org/wiki/{document_id}",
            "document_id": document_id,
            "language": lang,
            "text": text,
            "sentence_spans": spans,
            "section_title": None,
        },
        "mention": {
            "example_id": _digest("mention", tag, n=32),
            "mention_span": {
                "start": start,
                "end": start + len(entity["title"]),
                "text": entity["title"],
            },
            "entity_id": entity["entity_id"],
            "metadata": None,
        },
    }


def _public(entity: dict) -> dict:
    return {k: v for k, v in entity.items() if not k.startswith("_")}


def mewslix_files() -> dict[str, list[dict]]:
    entities = _entities()
    files: dict[str, list[dict]] = {
        "izhx__mewsli-x/candidate_entities/train.jsonl": [_public(e) for e in entities]
    }
    for split, size in PAIR_SIZES.items():
        rng = random.Random(f"{SEED}-pairs-{split}")
        rows = []
        for i in range(size):
            entity = entities[i % ENTITIES] if split == "train" else rng.choice(entities)
            rows.append(
                {
                    "contextual_mention": _contextual_mention(rng, "en", entity, f"{split}-{i}"),
                    "entity": _public(entity),
                }
            )
        files[f"izhx__mewsli-x/wikipedia_pairs/{split}.jsonl"] = rows
    for lang in MEWSLIX_LANGS:
        for split, size in MENTION_SIZES.items():
            rng = random.Random(f"{SEED}-mentions-{lang}-{split}")
            files[f"izhx__mewsli-x/{lang}/{split}.jsonl"] = [
                _contextual_mention(rng, lang, rng.choice(entities), f"{lang}-{split}-{i}")
                for i in range(size)
            ]
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    files = {**lareqa_files(), **mewslix_files()}
    for relative, rows in sorted(files.items()):
        _write(args.out, relative, rows)
    print(f"wrote {len(files)} files under {args.out}")


if __name__ == "__main__":
    main()
