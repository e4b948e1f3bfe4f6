"""Writes the embedded demo data of the retrieval targets: Tatoeba (41 languages) and BUCC 2018.

Usage: ``python scripts/make_demo_retrieval.py [--out DIR] [--seed N]``
(default: ``src/xtransfer/assets/demo``).

Files mirror the Hugging Face Hub repo they stand for (docs/hub-schemas.md, google/xtreme):

* ``google__xtreme/tatoeba.<lang3>/validation.jsonl``: ``PAIRS`` translation pairs per language
  (the 36 XTREME languages and the 5 XTREME-R additions az lt pl uk ro), rows
  ``{source_sentence, target_sentence, source_lang, target_lang}`` with the non-English side as
  source and English as target, like the Hub's 1000 test pairs.
* ``google__xtreme/bucc18.<lang>/{validation,test}.jsonl`` for de fr ru zh: gold pairs in the
  same schema, plus (an xtransfer extension the Hub data never has) sentences without a
  translation, written as rows whose other side is ``""``, so that the demo's mining has
  distractors and the dev-chosen threshold matters.

Every sentence is written here from three templates per language ("NAME has N books",
"NAME bought N apples", "NAME is N years old"); nothing is downloaded or copied. The grammar of
some languages is simplified (one noun form for every number). The demo encoder is a randomly
initialised 2-layer model, which can only retrieve above chance through cues that look the same
in every language: Latin-script first names and Arabic digits, written between spaces or
hyphens (so the tokenizer cuts them identically in Chinese, Japanese and Thai too; a case suffix
goes after a hyphen, as many languages write it on foreign names). Within a file every
(name, number) combination occurs once, so the cues identify the translation.

Output is byte-identical on every run (seeded ``random.Random``, fixed key order, ``\\n``).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from pathlib import Path

from xtransfer.tasks.registry import get_task  # the catalogue: one home for language lists

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "src" / "xtransfer" / "assets" / "demo"
DEFAULT_SEED = 20181117  # any constant (the LASER Tatoeba extraction date); fixed for regeneration

PAIRS = 30  # Tatoeba pairs per language
# BUCC per split: gold pairs, source-only and English-only sentences.
BUCC_SIZES = {"validation": (30, 12, 12), "test": (45, 18, 18)}
BUCC_LANGS = tuple(get_task("bucc2018").languages_for("xtreme"))

NAMES = (
    "Anna", "Maria", "Sara", "Lena", "Nina", "Elena", "Laura", "Julia",
    "Clara", "Emma", "Sofia", "Mila", "Rosa", "Olga", "Hana", "Yuki",
)  # fmt: skip
# 5..20: Slavic languages count all of these with the genitive plural, so one noun form fits.
NUMBERS = tuple(range(5, 21))

ENGLISH = ("{name} has {n} books.", "{name} bought {n} apples.", "{name} is {n} years old.")

# ISO 639-1 (XTREME) -> (ISO 639-3 of the LASER files / Hub configs, the three templates in the
# order of ENGLISH). Names refer to women, so verbs agree in languages that mark gender.
TEMPLATES: dict[str, tuple[str, tuple[str, str, str]]] = {
    "af": (
        "afr",
        ("{name} het {n} boeke.", "{name} het {n} appels gekoop.", "{name} is {n} jaar oud."),
    ),
    "ar": ("ara", ("لدى {name} {n} كتب.", "اشترت {name} {n} تفاحات.", "عمر {name} {n} عاما.")),
    "bg": ("bul", ("{name} има {n} книги.", "{name} купи {n} ябълки.", "{name} е на {n} години.")),
    "bn": (
        "ben",
        ("{name}-এর {n} টি বই আছে।", "{name} {n} টি আপেল কিনেছে।", "{name}-এর বয়স {n} বছর।"),
    ),
    "de": (
        "deu",
        ("{name} hat {n} Bücher.", "{name} hat {n} Äpfel gekauft.", "{name} ist {n} Jahre alt."),
    ),
    "el": (
        "ell",
        ("Η {name} έχει {n} βιβλία.", "Η {name} αγόρασε {n} μήλα.", "Η {name} είναι {n} χρονών."),
    ),
    "es": (
        "spa",
        ("{name} tiene {n} libros.", "{name} compró {n} manzanas.", "{name} tiene {n} años."),
    ),
    "et": (
        "est",
        ("{name} omab {n} raamatut.", "{name} ostis {n} õuna.", "{name} on {n} aastat vana."),
    ),
    "eu": (
        "eus",
        ("{name}-k {n} liburu ditu.", "{name}-k {n} sagar erosi ditu.", "{name}-k {n} urte ditu."),
    ),
    "fa": ("pes", ("{name} {n} کتاب دارد.", "{name} {n} سیب خرید.", "{name} {n} سال دارد.")),
    "fi": (
        "fin",
        ("{name} omistaa {n} kirjaa.", "{name} osti {n} omenaa.", "{name} on {n} vuotta vanha."),
    ),
    "fr": ("fra", ("{name} a {n} livres.", "{name} a acheté {n} pommes.", "{name} a {n} ans.")),
    "he": ("heb", ("יש ל-{name} {n} ספרים.", "{name} קנתה {n} תפוחים.", "{name} בת {n} שנים.")),
    "hi": ("hin", ("{name} के पास {n} किताबें हैं।", "{name} ने {n} सेब खरीदे।", "{name} {n} साल की है।")),
    "hu": ("hun", ("{name} {n} könyvet birtokol.", "{name} vett {n} almát.", "{name} {n} éves.")),
    "id": (
        "ind",
        ("{name} punya {n} buku.", "{name} membeli {n} apel.", "{name} berumur {n} tahun."),
    ),
    "it": ("ita", ("{name} ha {n} libri.", "{name} ha comprato {n} mele.", "{name} ha {n} anni.")),
    "ja": (
        "jpn",
        (
            "{name} は 本を {n} 冊 持っている。",
            "{name} は りんごを {n} 個 買った。",
            "{name} は {n} 歳 です。",
        ),
    ),
    "jv": ("jav", ("{name} duwe {n} buku.", "{name} tuku {n} apel.", "{name} umure {n} taun.")),
    "ka": ("kat", ("{name}-ს აქვს {n} წიგნი.", "{name}-მ იყიდა {n} ვაშლი.", "{name} {n} წლისაა.")),
    "kk": (
        "kaz",
        ("{name}-ның {n} кітабы бар.", "{name} {n} алма сатып алды.", "{name} {n} жаста."),
    ),
    "ko": (
        "kor",
        (
            "{name} 는 책 {n} 권을 가지고 있다.",
            "{name} 는 사과 {n} 개를 샀다.",
            "{name} 는 {n} 살이다.",
        ),
    ),
    "ml": (
        "mal",
        ("{name}-ക്ക് {n} പുസ്തകങ്ങൾ ഉണ്ട്.", "{name} {n} ആപ്പിൾ വാങ്ങി.", "{name}-ക്ക് {n} വയസ്സായി."),
    ),
    "mr": (
        "mar",
        ("{name} कडे {n} पुस्तके आहेत.", "{name} ने {n} सफरचंद विकत घेतले.", "{name} {n} वर्षांची आहे."),
    ),
    "nl": (
        "nld",
        ("{name} heeft {n} boeken.", "{name} heeft {n} appels gekocht.", "{name} is {n} jaar oud."),
    ),
    "pt": ("por", ("{name} tem {n} livros.", "{name} comprou {n} maçãs.", "{name} tem {n} anos.")),
    "ru": ("rus", ("У {name} {n} книг.", "{name} купила {n} яблок.", "{name} {n} лет.")),
    "sw": (
        "swh",
        ("{name} ana vitabu {n}.", "{name} alinunua matofaa {n}.", "{name} ana umri wa miaka {n}."),
    ),
    "ta": (
        "tam",
        ("{name} இடம் {n} புத்தகங்கள் உள்ளன.", "{name} {n} ஆப்பிள்கள் வாங்கினாள்.", "{name}-க்கு {n} வயது."),
    ),
    "te": (
        "tel",
        ("{name} దగ్గర {n} పుస్తకాలు ఉన్నాయి.", "{name} {n} ఆపిల్స్ కొన్నది.", "{name} వయస్సు {n} సంవత్సరాలు."),
    ),
    "th": ("tha", ("{name} มีหนังสือ {n} เล่ม", "{name} ซื้อแอปเปิล {n} ลูก", "{name} อายุ {n} ปี")),
    "tl": (
        "tgl",
        (
            "May {n} libro si {name}.",
            "Bumili si {name} ng {n} mansanas.",
            "Si {name} ay {n} taong gulang.",
        ),
    ),
    "tr": ("tur", ("{name} {n} kitaba sahip.", "{name} {n} elma aldı.", "{name} {n} yaşında.")),
    "ur": (
        "urd",
        ("{name} کے پاس {n} کتابیں ہیں۔", "{name} نے {n} سیب خریدے۔", "{name} کی عمر {n} سال ہے۔"),
    ),
    "vi": ("vie", ("{name} có {n} quyển sách.", "{name} đã mua {n} quả táo.", "{name} {n} tuổi.")),
    "zh": ("cmn", ("{name} 有 {n} 本书。", "{name} 买了 {n} 个苹果。", "{name} {n} 岁了。")),
    # XTREME-R additions.
    "az": (
        "aze",
        ("{name} {n} kitaba sahibdir.", "{name} {n} alma aldı.", "{name} {n} yaşındadır."),
    ),
    "lt": (
        "lit",
        ("{name} turi {n} knygų.", "{name} nupirko {n} obuolių.", "{name} yra {n} metų."),
    ),
    "pl": ("pol", ("{name} ma {n} książek.", "{name} kupiła {n} jabłek.", "{name} ma {n} lat.")),
    "uk": ("ukr", ("{name} має {n} книжок.", "{name} купила {n} яблук.", "{name} {n} років.")),
    "ro": ("ron", ("{name} are {n} cărți.", "{name} a cumpărat {n} mere.", "{name} are {n} ani.")),
}

Item = tuple[int, str, int]  # (template index, name, number)


def _items(rng: random.Random, count: int) -> list[Item]:
    """``count`` items whose (name, number) combinations are all different."""
    combos = [(name, n) for name in NAMES for n in NUMBERS]
    rng.shuffle(combos)
    return [(rng.randrange(len(ENGLISH)), name, n) for name, n in combos[:count]]


def _render(templates: Sequence[str], item: Item) -> str:
    template, name, n = item
    return templates[template].format(name=name, n=n)


def _write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _row(source: str, target: str, source_lang: str, target_lang: str) -> dict[str, str]:
    # Hub column order of google/xtreme tatoeba.* and bucc18.*.
    return {
        "source_sentence": source,
        "target_sentence": target,
        "source_lang": source_lang,
        "target_lang": target_lang,
    }


def write_tatoeba(out: Path, seed: int) -> list[Path]:
    paths = []
    for offset, (_lang, (lang3, templates)) in enumerate(sorted(TEMPLATES.items())):
        rng = random.Random(seed * 1000 + offset)
        rows = [
            _row(_render(templates, item), _render(ENGLISH, item), lang3, "eng")
            for item in _items(rng, PAIRS)
        ]
        path = out / "google__xtreme" / f"tatoeba.{lang3}" / "validation.jsonl"
        _write_jsonl(path, rows)
        paths.append(path)
    return paths


def write_bucc(out: Path, seed: int) -> list[Path]:
    paths = []
    for offset, lang in enumerate(BUCC_LANGS):
        templates = TEMPLATES[lang][1]
        for split_no, (split, (gold, source_only, english_only)) in enumerate(BUCC_SIZES.items()):
            rng = random.Random(seed * 1000 + 500 + offset * 10 + split_no)
            items = _items(rng, gold + source_only + english_only)
            rows = [
                _row(_render(templates, i), _render(ENGLISH, i), lang, "en") for i in items[:gold]
            ]
            rows += [
                _row(_render(templates, i), "", lang, "en")
                for i in items[gold : gold + source_only]
            ]
            rows += [_row("", _render(ENGLISH, i), lang, "en") for i in items[gold + source_only :]]
            # Mixed order: nothing may depend on gold pairs coming first.
            rng.shuffle(rows)
            path = out / "google__xtreme" / f"bucc18.{lang}" / f"{split}.jsonl"
            _write_jsonl(path, rows)
            paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    paths = write_tatoeba(args.out, args.seed) + write_bucc(args.out, args.seed)
    size = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} files, {size / 1024:.0f} KiB, under {args.out}")


if __name__ == "__main__":
    main()
