"""Writes the embedded offline-demo datasets of the multiple-choice tasks of xtransfer.

Usage: ``python scripts/make_demo_mc.py [--out DIR] [--seed N]``
(default: ``src/xtransfer/assets/demo``).

One JSONL file per Hub (repo, config, split), at ``<out>/<hub id with "/" as "__">/<config>/
<split>.jsonl``, with the Hub's exact column names and value types (docs/hub-schemas.md
sections 5, 6, 7, 10, 11, 12), so the catalogue's ``hub`` entries locate them unchanged:

* ``cambridgeltl__xcopa/<lang>/{validation,test}.jsonl``: the 11 XCOPA languages (int labels);
* ``aps__super_glue/copa/{train,validation}.jsonl``: English COPA (ClassLabel ints);
* ``lighteval__siqa/default/{train,validation}.jsonl``: SIQA ("1".."3" strings, some "1\\n");
* ``vikhyatk__hellaswag/default/{train,validation}.jsonl``: HellaSwag ("0".."3" strings);
* ``Samsoup__cosmos_qa/default/{train,validation}.jsonl``: Cosmos QA (int labels);
* ``tau__commonsense_qa/default/{train,validation}.jsonl``: CommonsenseQA (letters A-E).

Every sentence is built from the small templates below, written for this demo: nothing is
downloaded or copied. Output is byte-identical on every run (a seeded ``random.Random`` per file,
fixed key order, ``\\n`` line endings).

Why the data look the way they do: the demo trains a *randomly initialised* 2-layer model on
English only and scores it zero-shot on 11 XCOPA languages, so the answer must rest on cues that
look the same in every language. Every prompt mentions a Latin-script first name and an Arabic
number; the right choice repeats both; every wrong choice names someone else and has no number
(the same sentence without its quantity: "Olga smiled." beside "Anna smiled 12 times."). Names
and numbers always stand between spaces (also in Thai and Chinese), so the tokenizer cuts them
identically in every language.
The wrong choices lack a number on purpose. With a number in every choice, so that only matching
the prompt's name and number decides, the tiny model stayed near chance (about 55-60% on English
dev after 20 epochs of 200 COPA rows); with an English word in its place ("several"), it learned
that word, which does not transfer (about 70% on the demo XCOPA); "the choice with the digits" is
learned within 3 epochs and holds in every language.
The XCOPA items are abstract (indices into the templates) rendered in each language, so the
languages are parallel like the real XCOPA.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterable
from pathlib import Path

from xtransfer.tasks.registry import get_task  # the catalogue: one home for language lists

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "src" / "xtransfer" / "assets" / "demo"
DEFAULT_SEED = 20200528  # any constant; fixed so that the committed files can be regenerated

XCOPA_LANGS = tuple(get_task("xcopa").languages_for("xtreme-r"))
XCOPA_SIZES = {"validation": 20, "test": 30}  # per language, parallel across languages
COPA_SIZES = {"train": 200, "validation": 50}
INTERMEDIATE_SIZES = {"train": 200, "validation": 40}

# Feminine names only, so that Italian sentences need one verb/adjective form. Most of these are
# single sub-tokens of the tiny demo tokenizer (built from the other demo data), as are 5..20.
NAMES = (
    "Anna", "Maria", "Sara", "Lena", "Nina", "Elena", "Laura", "Julia",
    "Clara", "Emma", "Sofia", "Mila", "Rosa", "Olga", "Hana", "Yuki",
)  # fmt: skip
NUMBERS = tuple(range(5, 21))  # >= 5: one plural form fits every number in every language

# COPA-style sentences: 5 premises and 5 choices per language, in the same meaning order:
# premises = bought N apples, waited N minutes, wrote N letters, carried N boxes, planted N trees;
# choices = found N coins, slept N hours, bought N flowers, smiled N times, baked N cakes;
# the same choices without a number (the wrong choices' form).
# fmt: off
COPA_TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        ("{name} bought {num} apples at the market.", "{name} waited {num} minutes for the bus.",
         "{name} wrote {num} letters to her friends.", "{name} carried {num} boxes into the house.",
         "{name} planted {num} trees in the garden."),
        ("{name} found {num} coins in her pocket.", "{name} slept for {num} hours.",
         "{name} bought {num} flowers.", "{name} smiled {num} times.", "{name} baked {num} cakes."),
        ("{name} found coins in her pocket.", "{name} slept.", "{name} bought flowers.",
         "{name} smiled.", "{name} baked cakes."),
    ),
    "et": (
        ("{name} ostis turult {num} õuna.", "{name} ootas bussi {num} minutit.",
         "{name} kirjutas sõpradele {num} kirja.", "{name} kandis majja {num} kasti.",
         "{name} istutas aeda {num} puud."),
        ("{name} leidis taskust {num} münti.", "{name} magas {num} tundi.",
         "{name} ostis {num} lille.", "{name} naeratas {num} korda.",
         "{name} küpsetas {num} kooki."),
        ("{name} leidis taskust münte.", "{name} magas.", "{name} ostis lilli.",
         "{name} naeratas.", "{name} küpsetas kooke."),
    ),
    "ht": (
        ("{name} te achte {num} pòm nan mache a.", "{name} te tann bis la pandan {num} minit.",
         "{name} te ekri {num} lèt pou zanmi l yo.", "{name} te pote {num} bwat nan kay la.",
         "{name} te plante {num} pye bwa nan jaden an."),
        ("{name} te jwenn {num} pyès monnen nan pòch li.", "{name} te dòmi pandan {num} èdtan.",
         "{name} te achte {num} flè.", "{name} te souri {num} fwa.", "{name} te fè {num} gato."),
        ("{name} te jwenn pyès monnen nan pòch li.", "{name} te dòmi.", "{name} te achte flè.",
         "{name} te souri.", "{name} te fè gato."),
    ),
    "id": (
        ("{name} membeli {num} apel di pasar.", "{name} menunggu bus selama {num} menit.",
         "{name} menulis {num} surat untuk temannya.",
         "{name} membawa {num} kotak ke dalam rumah.", "{name} menanam {num} pohon di kebun."),
        ("{name} menemukan {num} koin di sakunya.", "{name} tidur selama {num} jam.",
         "{name} membeli {num} bunga.", "{name} tersenyum {num} kali.",
         "{name} memanggang {num} kue."),
        ("{name} menemukan koin di sakunya.", "{name} tidur.", "{name} membeli bunga.",
         "{name} tersenyum.", "{name} memanggang kue."),
    ),
    "it": (
        ("{name} ha comprato {num} mele al mercato.",
         "{name} ha aspettato l'autobus per {num} minuti.",
         "{name} ha scritto {num} lettere alle amiche.", "{name} ha portato {num} scatole in casa.",
         "{name} ha piantato {num} alberi in giardino."),
        ("{name} ha trovato {num} monete in tasca.", "{name} ha dormito per {num} ore.",
         "{name} ha comprato {num} rose.", "{name} ha sorriso {num} volte.",
         "{name} ha preparato {num} torte."),
        ("{name} ha trovato delle monete in tasca.", "{name} ha dormito.",
         "{name} ha comprato delle rose.", "{name} ha sorriso.",
         "{name} ha preparato delle torte."),
    ),
    "qu": (
        ("{name} qhatupi {num} manzanata rantirqa.", "{name} {num} minutota carrota suyarqa.",
         "{name} masinkunapaq {num} cartata qillqarqa.", "{name} wasiman {num} cajata apaykurqa.",
         "{name} muyapi {num} sach'ata tarpurqa."),
        ("{name} wayaqanpi {num} qullqita tarirqa.", "{name} {num} horata puñurqa.",
         "{name} {num} t'ikata rantirqa.", "{name} {num} kutita asikurqa.",
         "{name} {num} t'antata wayk'urqa."),
        ("{name} wayaqanpi qullqita tarirqa.", "{name} puñurqa.", "{name} t'ikata rantirqa.",
         "{name} asikurqa.", "{name} t'antata wayk'urqa."),
    ),
    "sw": (
        ("{name} alinunua matofaa {num} sokoni.", "{name} alisubiri basi kwa dakika {num}.",
         "{name} aliandika barua {num} kwa marafiki zake.",
         "{name} alibeba masanduku {num} ndani ya nyumba.",
         "{name} alipanda miti {num} bustanini."),
        ("{name} alipata sarafu {num} mfukoni.", "{name} alilala kwa saa {num}.",
         "{name} alinunua maua {num}.", "{name} alitabasamu mara {num}.",
         "{name} alioka keki {num}."),
        ("{name} alipata sarafu mfukoni.", "{name} alilala.", "{name} alinunua maua.",
         "{name} alitabasamu.", "{name} alioka keki."),
    ),
    "ta": (
        ("{name} சந்தையில் {num} ஆப்பிள்களை வாங்கினார்.",
         "{name} பேருந்துக்காக {num} நிமிடங்கள் காத்திருந்தார்.",
         "{name} நண்பர்களுக்கு {num} கடிதங்களை எழுதினார்.",
         "{name} வீட்டுக்குள் {num} பெட்டிகளை எடுத்துச் சென்றார்.",
         "{name} தோட்டத்தில் {num} மரங்களை நட்டார்."),
        ("{name} தன் பையில் {num} நாணயங்களைக் கண்டார்.", "{name} {num} மணி நேரம் தூங்கினார்.",
         "{name} {num} பூக்களை வாங்கினார்.", "{name} {num} முறை புன்னகைத்தார்.",
         "{name} {num} கேக்குகளைச் சுட்டார்."),
        ("{name} தன் பையில் நாணயங்களைக் கண்டார்.", "{name} தூங்கினார்.", "{name} பூக்களை வாங்கினார்.",
         "{name} புன்னகைத்தார்.", "{name} கேக்குகளைச் சுட்டார்."),
    ),
    "th": (
        ("{name} ซื้อแอปเปิล {num} ลูกที่ตลาด", "{name} รอรถเมล์ {num} นาที",
         "{name} เขียนจดหมาย {num} ฉบับถึงเพื่อน", "{name} ขนกล่อง {num} ใบเข้าบ้าน",
         "{name} ปลูกต้นไม้ {num} ต้นในสวน"),
        ("{name} พบเหรียญ {num} เหรียญในกระเป๋า", "{name} นอนหลับ {num} ชั่วโมง",
         "{name} ซื้อดอกไม้ {num} ดอก", "{name} ยิ้ม {num} ครั้ง", "{name} อบเค้ก {num} ก้อน"),
        ("{name} พบเหรียญในกระเป๋า", "{name} นอนหลับ", "{name} ซื้อดอกไม้", "{name} ยิ้ม",
         "{name} อบเค้ก"),
    ),
    "tr": (
        ("{name} pazardan {num} elma aldı.", "{name} otobüsü {num} dakika bekledi.",
         "{name} arkadaşlarına {num} mektup yazdı.", "{name} eve {num} kutu taşıdı.",
         "{name} bahçeye {num} ağaç dikti."),
        ("{name} cebinde {num} madeni para buldu.", "{name} {num} saat uyudu.",
         "{name} {num} çiçek aldı.", "{name} {num} kez gülümsedi.", "{name} {num} kek pişirdi."),
        ("{name} cebinde madeni para buldu.", "{name} uyudu.", "{name} çiçek aldı.",
         "{name} gülümsedi.", "{name} kek pişirdi."),
    ),
    "vi": (
        ("{name} đã mua {num} quả táo ở chợ.", "{name} đã đợi xe buýt {num} phút.",
         "{name} đã viết {num} lá thư cho bạn bè.", "{name} đã mang {num} cái hộp vào nhà.",
         "{name} đã trồng {num} cây trong vườn."),
        ("{name} tìm thấy {num} đồng xu trong túi.", "{name} đã ngủ {num} tiếng.",
         "{name} đã mua {num} bông hoa.", "{name} đã mỉm cười {num} lần.",
         "{name} đã nướng {num} cái bánh."),
        ("{name} tìm thấy đồng xu trong túi.", "{name} đã ngủ.", "{name} đã mua hoa.",
         "{name} đã mỉm cười.", "{name} đã nướng bánh."),
    ),
    "zh": (
        ("{name} 在市场买了 {num} 个苹果。", "{name} 等公交车等了 {num} 分钟。",
         "{name} 给朋友写了 {num} 封信。", "{name} 把 {num} 个箱子搬进了家。",
         "{name} 在花园里种了 {num} 棵树。"),
        ("{name} 在口袋里找到了 {num} 枚硬币。", "{name} 睡了 {num} 个小时。",
         "{name} 买了 {num} 朵花。", "{name} 笑了 {num} 次。", "{name} 烤了 {num} 个蛋糕。"),
        ("{name} 在口袋里找到了硬币。", "{name} 睡觉了。", "{name} 买了花。", "{name} 笑了。",
         "{name} 烤了蛋糕。"),
    ),
}
# fmt: on

# HellaSwag: (activity_label, ctx_a, ctx_b); endings continue ctx_b.
# Choice templates of the English tasks are pairs: (with the number, without a number).
HELLASWAG_CONTEXTS = (
    ("Baking cookies", "{name} takes {num} trays out of the oven.", "She"),
    ("Washing a car", "{name} fills {num} buckets with soapy water.", "Then she"),
    ("Playing piano", "{name} sits at the piano and plays {num} notes.", "The woman"),
    ("Painting a fence", "{name} opens {num} cans of white paint.", "Next, she"),
    ("Walking the dog", "{name} walks the dog around {num} blocks.", "After that she"),
    ("Making tea", "{name} boils water and takes {num} cups from the shelf.", "She then"),
)
HELLASWAG_ENDINGS = (
    ("hands {num} plates to {name} and smiles.", "hands plates to {name} and smiles."),
    ("counts {num} steps while {name} watches.", "counts the steps while {name} watches."),
    ("puts {num} towels next to {name}.", "puts towels next to {name}."),
    ("waves at {name} {num} times.", "waves at {name}."),
    ("sings {num} songs together with {name}.", "sings songs together with {name}."),
    ("writes {num} notes for {name}.", "writes notes for {name}."),
)

COSMOS_CONTEXTS = (
    "{name} has worked at the library for {num} years. Every morning she opens the doors "
    "before anyone else arrives.",
    "Last week {name} ran {num} kilometres in the rain. Her shoes were still wet the next day.",
    "{name} moved to a new town {num} months ago. She still gets lost on the way to the shop.",
    "On Sunday {name} baked {num} loaves of bread for the neighbours. The whole street smelled "
    "of it.",
)
COSMOS_QUESTIONS = (
    "What may happen after this?",
    "Why might she do this?",
    "What is probably true about her?",
    "What may have happened before this?",
)
COSMOS_ANSWERS = (
    ("{name} will keep doing it for {num} more days.", "{name} will keep doing it."),
    ("{name} has told {num} people about it.", "{name} has told people about it."),
    ("{name} wanted to rest for {num} hours.", "{name} wanted to rest."),
    ("{name} had planned it {num} weeks earlier.", "{name} had planned it earlier."),
    ("{name} asked {num} friends for help.", "{name} asked friends for help."),
)

CSQA_QUESTIONS = (
    ("Where would {name} keep {num} spoons?", "spoon"),
    ("What would {name} use to carry {num} books?", "book"),
    ("Where could {name} find {num} fresh eggs?", "egg"),
    ("What does {name} need to light {num} candles?", "candle"),
)
CSQA_CHOICES = (
    ("the drawer of {name} with {num} slots", "the drawer of {name}"),
    ("a bag that {name} bought for {num} coins", "a bag that {name} bought"),
    ("the farm where {name} keeps {num} hens", "the farm where {name} keeps hens"),
    ("a box of matches from {name} with {num} left", "a box of matches from {name}"),
    ("the shelf above {name}'s {num} plants", "the shelf above {name}'s plants"),
    ("a basket that {name} filled with {num} apples", "a basket that {name} filled with apples"),
)

SIQA_CONTEXTS = (
    "{name} lent {num} books to a neighbour.",
    "{name} stayed up {num} hours to help a friend move.",
    "{name} gave {num} apples to the children next door.",
    "{name} fixed {num} bikes for her classmates.",
)
SIQA_QUESTIONS = (
    "How would others feel as a result?",
    "What will happen next?",
    "Why did she do this?",
    "How would you describe her?",
)
SIQA_ANSWERS = (
    ("grateful that {name} shared {num} of them", "grateful that {name} shared them"),
    ("{name} will be thanked {num} times", "{name} will be thanked"),
    ("{name} wanted to be kind to {num} people", "{name} wanted to be kind"),
    ("helpful, as {name} spent {num} hours on it", "helpful, as {name} spent time on it"),
)


def _cues(rng: random.Random, k: int) -> tuple[list[str], int]:
    """k distinct names and one number: name 0 and the number are the prompt's."""
    return rng.sample(NAMES, k), rng.choice(NUMBERS)


def _choice_texts(
    rng: random.Random, templates: tuple[tuple[str, str], ...], k: int, label: int
) -> tuple[list[str], str, int]:
    """k English choices from k different templates: choice ``label`` repeats the prompt's name
    and number, every other choice names someone else and has no number."""
    names, number = _cues(rng, k)
    picked = rng.sample(templates, k)
    order = list(range(1, k))  # the name index of each position; `label` takes name 0
    order.insert(label, 0)
    texts = [
        with_num.format(name=names[0], num=number) if j == 0 else without.format(name=names[j])
        for (with_num, without), j in zip(picked, order, strict=True)
    ]
    return texts, names[0], number


# -- XCOPA and COPA -------------------------------------------------------------------------------


def _copa_items(rng: random.Random, n: int) -> list[dict]:
    """Abstract COPA items: template indices and cues, rendered per language later."""
    items = []
    for _ in range(n):
        names, number = _cues(rng, 2)
        label = rng.randrange(2)
        c_right, c_wrong = rng.sample(range(5), 2)
        items.append(
            {
                "premise": rng.randrange(5),
                "question": rng.choice(("cause", "effect")),
                "names": names,
                "number": number,
                "choices": (c_right, c_wrong) if label == 0 else (c_wrong, c_right),
                "label": label,
            }
        )
    return items


def _render_copa(item: dict, lang: str) -> tuple[str, str, str]:
    premises, choices, choices_without_number = COPA_TEMPLATES[lang]
    name, number = item["names"][0], item["number"]
    premise = premises[item["premise"]].format(name=name, num=number)
    right, wrong = item["choices"] if item["label"] == 0 else item["choices"][::-1]
    right_text = choices[right].format(name=name, num=number)
    wrong_text = choices_without_number[wrong].format(name=item["names"][1])
    if item["label"] == 0:
        return premise, right_text, wrong_text
    return premise, wrong_text, right_text


def xcopa_rows(seed: int) -> dict[tuple[str, str], list[dict]]:
    rng = random.Random(seed * 31 + 1)
    items = {split: _copa_items(rng, n) for split, n in XCOPA_SIZES.items()}
    files = {}
    for lang in XCOPA_LANGS:
        for split, split_items in items.items():
            rows = []
            for idx, item in enumerate(split_items):
                premise, choice1, choice2 = _render_copa(item, lang)
                rows.append(
                    {
                        "premise": premise,
                        "choice1": choice1,
                        "choice2": choice2,
                        "question": item["question"],
                        "label": item["label"],
                        "idx": idx,
                        "changed": False,
                    }
                )
            files[(f"cambridgeltl__xcopa/{lang}", split)] = rows
    return files


def copa_rows(seed: int) -> dict[tuple[str, str], list[dict]]:
    rng = random.Random(seed * 31 + 2)
    files = {}
    for split, n in COPA_SIZES.items():
        rows = []
        for idx, item in enumerate(_copa_items(rng, n)):
            premise, choice1, choice2 = _render_copa(item, "en")
            rows.append(
                {
                    "premise": premise,
                    "choice1": choice1,
                    "choice2": choice2,
                    "question": item["question"],
                    "idx": idx,
                    "label": item["label"],  # ClassLabel [choice1, choice2]
                }
            )
        files[("aps__super_glue/copa", split)] = rows
    return files


# -- English intermediate tasks -------------------------------------------------------------------


def siqa_rows(seed: int) -> dict[tuple[str, str], list[dict]]:
    rng = random.Random(seed * 31 + 3)
    files = {}
    for split, n in INTERMEDIATE_SIZES.items():
        rows = []
        for i in range(n):
            label = rng.randrange(3)
            answers, name, num = _choice_texts(rng, SIQA_ANSWERS, 3, label)
            # The Hub labels are 1-based strings; an old bug left some as "1\n" (hub-schemas §12).
            text_label = str(label + 1) + ("\n" if i % 10 == 3 else "")
            rows.append(
                {
                    "context": rng.choice(SIQA_CONTEXTS).format(name=name, num=num),
                    "question": rng.choice(SIQA_QUESTIONS),
                    "answerA": answers[0],
                    "answerB": answers[1],
                    "answerC": answers[2],
                    "label": text_label,
                }
            )
        files[("lighteval__siqa/default", split)] = rows
    return files


def hellaswag_rows(seed: int) -> dict[tuple[str, str], list[dict]]:
    rng = random.Random(seed * 31 + 4)
    files = {}
    for split, n in INTERMEDIATE_SIZES.items():
        rows = []
        for i in range(n):
            label = rng.randrange(4)
            endings, name, num = _choice_texts(rng, HELLASWAG_ENDINGS, 4, label)
            activity, ctx_a, ctx_b = rng.choice(HELLASWAG_CONTEXTS)
            ctx_a = ctx_a.format(name=name, num=num)
            rows.append(
                {
                    "ind": i,
                    "activity_label": activity,
                    "ctx_a": ctx_a,
                    "ctx_b": ctx_b.lower() if i % 2 else ctx_b,
                    "ctx": f"{ctx_a} {ctx_b.lower() if i % 2 else ctx_b}",
                    "endings": endings,
                    "source_id": f"demo~{split}~{i}",
                    "split": "val" if split == "validation" else split,
                    "split_type": "indomain",
                    "label": str(label),
                }
            )
        files[("vikhyatk__hellaswag/default", split)] = rows
    return files


def cosmos_rows(seed: int) -> dict[tuple[str, str], list[dict]]:
    rng = random.Random(seed * 31 + 5)
    files = {}
    for split, n in INTERMEDIATE_SIZES.items():
        rows = []
        for i in range(n):
            label = rng.randrange(4)
            answers, name, num = _choice_texts(rng, COSMOS_ANSWERS, 4, label)
            row = {
                "id": f"demo{split[0]}{i:04d}",
                "context": rng.choice(COSMOS_CONTEXTS).format(name=name, num=num),
                "question": rng.choice(COSMOS_QUESTIONS),
            }
            row.update({f"answer{k}": answers[k] for k in range(4)})
            row["label"] = label
            rows.append(row)
        files[("Samsoup__cosmos_qa/default", split)] = rows
    return files


def csqa_rows(seed: int) -> dict[tuple[str, str], list[dict]]:
    rng = random.Random(seed * 31 + 6)
    files = {}
    letters = ["A", "B", "C", "D", "E"]
    for split, n in INTERMEDIATE_SIZES.items():
        rows = []
        for i in range(n):
            label = rng.randrange(5)
            texts, name, num = _choice_texts(rng, CSQA_CHOICES, 5, label)
            question, concept = rng.choice(CSQA_QUESTIONS)
            rows.append(
                {
                    "id": f"demo{split[0]}{i:04d}",
                    "question": question.format(name=name, num=num),
                    "question_concept": concept,
                    "choices": {"label": letters, "text": texts},
                    "answerKey": letters[label],
                }
            )
        files[("tau__commonsense_qa/default", split)] = rows
    return files


# -- output ---------------------------------------------------------------------------------------


def all_files(seed: int) -> dict[tuple[str, str], list[dict]]:
    files: dict[tuple[str, str], list[dict]] = {}
    for make in (xcopa_rows, copa_rows, siqa_rows, hellaswag_rows, cosmos_rows, csqa_rows):
        files.update(make(seed))
    return files


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(
        json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows
    )
    path.write_text(text, encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    total = 0
    for (folder, split), rows in sorted(all_files(args.seed).items()):
        path = args.out / folder / f"{split}.jsonl"
        _write_jsonl(path, rows)
        total += path.stat().st_size
    print(f"wrote the multiple-choice demo data to {args.out} ({total / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
