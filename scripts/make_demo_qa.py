"""Writes the embedded demo data of the extractive-QA tasks (deterministic; run from anywhere).

    python scripts/make_demo_qa.py [--out src/xtransfer/assets/demo]

The files mirror the Hub repos the catalogue names (``<owner>__<repo>/<config>/<split>.jsonl``,
rows in the Hub schema ``{id, title, context, question, answers: {text, answer_start}}``):

* ``rajpurkar__squad/plain_text/{train,validation}.jsonl`` (SQuAD v1.1 stand-in),
* ``rajpurkar__squad_v2/squad_v2/{train,validation}.jsonl`` (a third unanswerable),
* ``google__xtreme/XQuAD.<lang>/validation.jsonl`` for the 12 XQuAD languages (ro included, so
  that the XTREME-R demo runs, although google/xtreme itself has no XQuAD.ro),
* ``google__xtreme/MLQA.<l>.<l>/{test,validation}.jsonl`` for the 7 MLQA languages,
* ``google__xtreme/tydiqa/{train,validation}.jsonl``: English train plus a few rows in other
  languages (the catalogue's ``id_prefix: english-`` must drop them), and validation for the 9
  GoldP languages, with XTREME's ``<language>-<number>-<n>`` ids.

Every text is written here from templates (nothing is copied from a dataset). Each context holds
exactly one year, one count and one Latin-script person name, and the questions ask for one of
them, so a tiny model can learn a cue that works in every language (the answer's script or
digits) and the demo's zero-shot scores are not all zero. Only this script's own files are
written; other demo files in the same folder are left alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

from xtransfer.tasks.registry import get_task  # the catalogue: one home for language lists

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "xtransfer" / "assets" / "demo"

FIRST = (
    "Alden Brisa Corvin Delia Emrik Fenna Garrow Halda Ivor Jessa Kellan Lumi Marek Nerys "
    "Osric Petra Quillon Rhea Soren Talia Ulric Vesna Wendel Ysolde Zoran"
).split()
LAST = (
    "Ashdown Brenlow Carrick Dunmore Ellery Fairholt Greaves Hollins Jarrow Kettlewell "
    "Lindqvist Morrow Northam Oakes Pelham Rowntree Stroud Thorne Underhill Whitlock Yardley"
).split()
PLACES = (
    "Norvale Ambermoor Tarnwick Lowenfeld Pellcourt Silverfen Dunhallow Marrowby Eskerton "
    "Brightmere Calloway Redmarsh Holloway Westbury Kingsmoor Ravensted"
).split()

# A template: (context, [(question, answer slot), ...], [unanswerable question, ...]).
# Slots: {name} (Latin-script person), {place} (Latin-script town), {year}, {count}.
Template = tuple[str, list[tuple[str, str]], list[str]]

ENGLISH: list[Template] = [
    (
        "{name} opened a small library in {place} in {year}. "
        "Today the library keeps {count} old maps.",
        [
            ("In which year did {name} open the library?", "year"),
            ("Who opened the library in {place}?", "name"),
            ("How many old maps does the library keep?", "count"),
        ],
        ["In which year did the library close?", "Who painted the old maps?"],
    ),
    (
        "The river festival of {place} began in {year}, when {name} built the first wooden "
        "boat. About {count} boats now join the parade every summer.",
        [
            ("When did the river festival of {place} begin?", "year"),
            ("Who built the first wooden boat?", "name"),
            ("How many boats join the parade every summer?", "count"),
        ],
        ["Who won the first boat race?", "How many bridges cross the river?"],
    ),
    (
        "{name} reached the top of Mount {place} in {year}. "
        "The climb took {count} days because of deep snow.",
        [
            ("In what year did {name} reach the top of Mount {place}?", "year"),
            ("Who reached the top of Mount {place}?", "name"),
            ("How many days did the climb take?", "count"),
        ],
        ["Who climbed the mountain first?", "How high is Mount {place}?"],
    ),
    (
        "The railway to {place} was finished in {year}. Its chief engineer, {name}, hired "
        "{count} workers from the nearby villages.",
        [
            ("When was the railway to {place} finished?", "year"),
            ("Who was the chief engineer of the railway to {place}?", "name"),
            ("How many workers did the chief engineer hire?", "count"),
        ],
        ["How long is the railway to {place}?", "Who paid for the railway?"],
    ),
    (
        "In {year} the teacher {name} founded a music school in {place}. "
        "The school now has {count} students.",
        [
            ("In which year was the music school in {place} founded?", "year"),
            ("Who founded the music school in {place}?", "name"),
            ("How many students does the school have now?", "count"),
        ],
        ["How many teachers work at the school?", "Who built the school building?"],
    ),
]
# Sentences without numbers or names that vary the answer positions of the English data.
FILLERS = [
    "Visitors often arrive by train.",
    "The town lies beside a quiet lake.",
    "Local newspapers wrote about it for weeks.",
    "Winters there are long and cold.",
    "Many families still live nearby.",
]

# The library story (the first English template) in every other language of the QA tasks.
LIBRARY: dict[str, Template] = {
    "es": (
        "{name} abrió una pequeña biblioteca en {place} en {year}. "
        "Hoy la biblioteca conserva {count} mapas antiguos.",
        [
            ("¿En qué año abrió {name} la biblioteca?", "year"),
            ("¿Quién abrió la biblioteca de {place}?", "name"),
            ("¿Cuántos mapas antiguos conserva la biblioteca?", "count"),
        ],
        [],
    ),
    "de": (
        "{name} eröffnete im Jahr {year} eine kleine Bibliothek in {place}. "
        "Heute bewahrt die Bibliothek {count} alte Karten auf.",
        [
            ("In welchem Jahr eröffnete {name} die Bibliothek?", "year"),
            ("Wer eröffnete die Bibliothek in {place}?", "name"),
            ("Wie viele alte Karten bewahrt die Bibliothek auf?", "count"),
        ],
        [],
    ),
    "el": (
        "Ο {name} άνοιξε μια μικρή βιβλιοθήκη στην πόλη {place} το {year}. "
        "Σήμερα η βιβλιοθήκη φυλάει {count} παλιούς χάρτες.",
        [
            ("Ποια χρονιά άνοιξε ο {name} τη βιβλιοθήκη;", "year"),
            ("Ποιος άνοιξε τη βιβλιοθήκη στην πόλη {place};", "name"),
            ("Πόσους παλιούς χάρτες φυλάει η βιβλιοθήκη;", "count"),
        ],
        [],
    ),
    "ru": (
        "{name} открыл небольшую библиотеку в городе {place} в {year} году. "
        "Сегодня в библиотеке хранится {count} старых карт.",
        [
            ("В каком году {name} открыл библиотеку?", "year"),
            ("Кто открыл библиотеку в городе {place}?", "name"),
            ("Сколько старых карт хранится в библиотеке?", "count"),
        ],
        [],
    ),
    "tr": (
        "{name}, {year} yılında {place} kasabasında küçük bir kütüphane açtı. "
        "Bugün kütüphanede {count} eski harita saklanıyor.",
        [
            ("{name} kütüphaneyi hangi yıl açtı?", "year"),
            ("{place} kasabasındaki kütüphaneyi kim açtı?", "name"),
            ("Kütüphanede kaç eski harita saklanıyor?", "count"),
        ],
        [],
    ),
    "ar": (
        "افتتح {name} مكتبة صغيرة في مدينة {place} عام {year}. "
        "وتحتفظ المكتبة اليوم بـ {count} خريطة قديمة.",
        [
            ("في أي عام افتتح {name} المكتبة؟", "year"),
            ("من افتتح المكتبة في مدينة {place}؟", "name"),
            ("كم خريطة قديمة تحتفظ بها المكتبة اليوم؟", "count"),
        ],
        [],
    ),
    "vi": (
        "{name} đã mở một thư viện nhỏ ở {place} vào năm {year}. "
        "Ngày nay thư viện lưu giữ {count} tấm bản đồ cổ.",
        [
            ("{name} mở thư viện vào năm nào?", "year"),
            ("Ai đã mở thư viện ở {place}?", "name"),
            ("Thư viện lưu giữ bao nhiêu tấm bản đồ cổ?", "count"),
        ],
        [],
    ),
    "th": (
        "{name} เปิดห้องสมุดเล็ก ๆ ที่เมือง {place} ในปี ค.ศ. {year} ปัจจุบันห้องสมุดเก็บแผนที่เก่าไว้ {count} แผ่น",
        [
            ("{name} เปิดห้องสมุดในปีใด", "year"),
            ("ใครเปิดห้องสมุดที่เมือง {place}", "name"),
            ("ห้องสมุดเก็บแผนที่เก่าไว้กี่แผ่น", "count"),
        ],
        [],
    ),
    "zh": (
        "{name}于{year}年在{place}开办了一家小图书馆。如今，这家图书馆收藏着{count}张古地图。",
        [
            ("{name}在哪一年开办了图书馆？", "year"),
            ("谁在{place}开办了图书馆？", "name"),
            ("这家图书馆收藏着多少张古地图？", "count"),
        ],
        [],
    ),
    "hi": (
        "{name} ने {year} में {place} शहर में एक छोटा पुस्तकालय खोला। "
        "आज इस पुस्तकालय में {count} पुराने नक्शे रखे हैं।",
        [
            ("{name} ने पुस्तकालय किस वर्ष खोला?", "year"),
            ("{place} शहर में पुस्तकालय किसने खोला?", "name"),
            ("इस पुस्तकालय में कितने पुराने नक्शे रखे हैं?", "count"),
        ],
        [],
    ),
    "ro": (
        "{name} a deschis o mică bibliotecă în orașul {place} în anul {year}. "
        "Astăzi biblioteca păstrează {count} de hărți vechi.",
        [
            ("În ce an a deschis {name} biblioteca?", "year"),
            ("Cine a deschis biblioteca din orașul {place}?", "name"),
            ("Câte hărți vechi păstrează biblioteca?", "count"),
        ],
        [],
    ),
    "bn": (
        "{name} {year} সালে {place} শহরে একটি ছোট গ্রন্থাগার খোলেন। "
        "আজ সেই গ্রন্থাগারে {count}টি পুরনো মানচিত্র রাখা আছে।",
        [
            ("{name} কোন সালে গ্রন্থাগারটি খোলেন?", "year"),
            ("{place} শহরে গ্রন্থাগারটি কে খোলেন?", "name"),
            ("সেই গ্রন্থাগারে কয়টি পুরনো মানচিত্র রাখা আছে?", "count"),
        ],
        [],
    ),
    "fi": (
        "{name} avasi pienen kirjaston kaupungissa nimeltä {place} vuonna {year}. "
        "Nykyään kirjastossa säilytetään {count} vanhaa karttaa.",
        [
            ("Minä vuonna {name} avasi kirjaston?", "year"),
            ("Kuka avasi kirjaston kaupungissa nimeltä {place}?", "name"),
            ("Kuinka monta vanhaa karttaa kirjastossa säilytetään?", "count"),
        ],
        [],
    ),
    "id": (
        "{name} membuka sebuah perpustakaan kecil di kota {place} pada tahun {year}. "
        "Kini perpustakaan itu menyimpan {count} peta kuno.",
        [
            ("Pada tahun berapa {name} membuka perpustakaan itu?", "year"),
            ("Siapa yang membuka perpustakaan di kota {place}?", "name"),
            ("Berapa peta kuno yang disimpan perpustakaan itu?", "count"),
        ],
        [],
    ),
    "ko": (
        "{name} 씨는 {year}년에 {place} 시에 작은 도서관을 열었다. "
        "오늘날 이 도서관에는 옛 지도 {count}장이 보관되어 있다.",
        [
            ("{name} 씨는 몇 년에 도서관을 열었나요?", "year"),
            ("{place} 시에 도서관을 연 사람은 누구인가요?", "name"),
            ("이 도서관에는 옛 지도가 몇 장 보관되어 있나요?", "count"),
        ],
        [],
    ),
    "sw": (
        "{name} alifungua maktaba ndogo katika mji wa {place} mwaka {year}. "
        "Leo maktaba hiyo inahifadhi ramani za zamani {count}.",
        [
            ("{name} alifungua maktaba mwaka gani?", "year"),
            ("Nani alifungua maktaba katika mji wa {place}?", "name"),
            ("Maktaba hiyo inahifadhi ramani za zamani ngapi?", "count"),
        ],
        [],
    ),
    "te": (
        "{name} {year}లో {place} పట్టణంలో ఒక చిన్న గ్రంథాలయాన్ని ప్రారంభించారు. "
        "ఈ రోజు ఆ గ్రంథాలయంలో {count} పాత పటాలు ఉన్నాయి.",
        [
            ("{name} గ్రంథాలయాన్ని ఏ సంవత్సరంలో ప్రారంభించారు?", "year"),
            ("{place} పట్టణంలో గ్రంథాలయాన్ని ఎవరు ప్రారంభించారు?", "name"),
            ("ఆ గ్రంథాలయంలో ఎన్ని పాత పటాలు ఉన్నాయి?", "count"),
        ],
        [],
    ),
}

XQUAD_LANGS = sorted(get_task("xquad").languages_for("xtreme-r"))
MLQA_LANGS = sorted(get_task("mlqa").languages_for("xtreme"))
TYDIQA_NAMES = {
    "en": "english",
    "ar": "arabic",
    "bn": "bengali",
    "fi": "finnish",
    "id": "indonesian",
    "ko": "korean",
    "ru": "russian",
    "sw": "swahili",
    "te": "telugu",
}


def _digest(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()


def _slots(rng: random.Random) -> dict[str, str]:
    year = rng.randint(1821, 1989)
    count = rng.randint(12, 960)
    # The count must not occur inside the year (answers are located by their only occurrence).
    while str(count) in str(year):
        count = rng.randint(12, 960)
    return {
        "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "place": rng.choice(PLACES),
        "year": str(year),
        "count": str(count),
    }


def _contexts(lang: str, rng: random.Random):
    """Endless (template, filled context, slots) for ``lang``."""
    templates = ENGLISH if lang == "en" else [LIBRARY[lang]]
    while True:
        template = rng.choice(templates)
        slots = _slots(rng)
        context = template[0].format(**slots)
        if lang == "en":  # vary where the answers sit
            before = rng.sample(FILLERS, rng.randint(0, 2))
            after = rng.sample(FILLERS, rng.randint(0, 1))
            context = " ".join([*before, context, *after])
        yield template, context, slots


def _row(qid: str, title: str, context: str, question: str, answer: str | None) -> dict:
    if answer is None:
        answers: dict[str, list] = {"text": [], "answer_start": []}
    else:
        assert context.count(answer) == 1, (context, answer)
        answers = {"text": [answer], "answer_start": [context.index(answer)]}
    return {"id": qid, "title": title, "context": context, "question": question, "answers": answers}


def make_rows(lang: str, n: int, seed: str, id_style: str, unanswerable: float = 0.0) -> list[dict]:
    """``n`` questions in ``lang``: up to three per context, a share of them unanswerable."""
    rng = random.Random(seed)
    rows: list[dict] = []
    contexts = _contexts(lang, rng)
    while len(rows) < n:
        (_, questions, impossible), context, slots = next(contexts)
        title = slots["place"]
        picked = rng.sample(questions, rng.randint(2, 3))
        asked = [(q.format(**slots), slots[slot]) for q, slot in picked]
        # about 2.5 questions per context: one unanswerable with this probability gives the share
        if impossible and rng.random() < unanswerable * 2.5:
            asked[-1] = (rng.choice(impossible).format(**slots), None)
        for k, (question, answer) in enumerate(asked):
            if len(rows) == n:
                break
            key = _digest(seed, len(rows))
            if id_style == "tydiqa":
                qid = f"{TYDIQA_NAMES[lang]}-{int(key[:15], 16) % 10**19}-{k}"
            elif id_style == "mlqa":
                qid = key  # MLQA ids are 40-hex
            else:
                qid = key[:24]  # SQuAD / XQuAD ids are 24-hex
            rows.append(_row(qid, title, context, question, answer))
    return rows


def write(out: Path, relative: str, rows: list[dict]) -> int:
    path = out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the demo data root")
    out = parser.parse_args().out
    files: dict[str, list[dict]] = {
        "rajpurkar__squad/plain_text/train.jsonl": make_rows("en", 360, "squad-train", "squad"),
        "rajpurkar__squad/plain_text/validation.jsonl": make_rows(
            "en", 72, "squad-validation", "squad"
        ),
        "rajpurkar__squad_v2/squad_v2/train.jsonl": make_rows(
            "en", 160, "squad_v2-train", "squad", unanswerable=1 / 3
        ),
        "rajpurkar__squad_v2/squad_v2/validation.jsonl": make_rows(
            "en", 40, "squad_v2-validation", "squad", unanswerable=1 / 3
        ),
    }
    for lang in XQUAD_LANGS:
        files[f"google__xtreme/XQuAD.{lang}/validation.jsonl"] = make_rows(
            lang, 24, f"xquad-{lang}", "squad"
        )
    for lang in MLQA_LANGS:
        for split, n in (("test", 18), ("validation", 9)):
            files[f"google__xtreme/MLQA.{lang}.{lang}/{split}.jsonl"] = make_rows(
                lang, n, f"mlqa-{lang}-{split}", "mlqa"
            )
    # TyDiQA train mixes languages on the Hub; the demo keeps a few non-English rows so that the
    # catalogue's English filter is exercised by every demo run.
    train = make_rows("en", 100, "tydiqa-train-en", "tydiqa")
    for lang in ("ar", "fi", "ko"):
        train += make_rows(lang, 8, f"tydiqa-train-{lang}", "tydiqa")
    files["google__xtreme/tydiqa/train.jsonl"] = train
    validation = []
    for lang in TYDIQA_NAMES:
        validation += make_rows(lang, 16, f"tydiqa-validation-{lang}", "tydiqa")
    files["google__xtreme/tydiqa/validation.jsonl"] = validation

    total = 0
    for relative, rows in files.items():
        total += write(out, relative, rows)
    print(f"wrote {len(files)} files, {sum(map(len, files.values()))} rows, {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
