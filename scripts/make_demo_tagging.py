"""Writes the embedded UD-POS and PAN-X demo data (deterministic; rerun to regenerate).

    .venv/bin/python scripts/make_demo_tagging.py

Output, in the Hub schema of docs/hub-schemas.md and the Hub layout the embedded source reads:
``src/xtransfer/assets/demo/google__xtreme/udpos.<Language>/{train,validation,test}.jsonl`` and
``.../PAN-X.<lang>/{train,validation,test}.jsonl`` (train/validation for English only; a test
split for every XTREME and XTREME-R language of the task). Labels are ClassLabel ids in the
catalogue's label order.

The sentences are made up from the small per-language word lists below (written for this demo,
in each language's script) so that a tiny model can learn tags from cues that carry across
languages: digits are NUM, punctuation is PUNCT, Latin-script capitalised names are PROPN in
UD-POS and PER/LOC/ORG entities in PAN-X. A few test sentences (and some English train and
validation sentences) are longer than 128 sub-tokens, to exercise window splitting.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from xtransfer.tasks.registry import get_task

OUT = (
    Path(__file__).resolve().parents[1] / "src" / "xtransfer" / "assets" / "demo" / "google__xtreme"
)
SEED = "xtransfer-demo-tagging-v1"
TRAIN_SENTENCES, VALIDATION_SENTENCES, TEST_SENTENCES = 300, 60, 20
LONG_SENTENCE_PARTS = 14  # clauses joined into one sentence of ~150 words (> 128 sub-tokens)
# Long sentences per English split: enough in train that the model also learns the positions
# deep inside a 128-token window, which short sentences never reach.
LONG_TRAIN, LONG_VALIDATION = 1, 1
LONG_UDPOS = ("de", "fi", "tr", "zh", "ar", "ja")
LONG_PANX = ("de", "ja", "ru", "hi")

# Per language: word lists per UPOS category ("|" separates words, so that a word may contain a
# space, as Vietnamese words do in UD), the sentence-final punctuation, and whether the verb
# goes last (SOV). Categories a language writes as affixes (articles, case particles) are absent.
# fmt: off
LEXICON: dict[str, dict[str, str]] = {
    "af": dict(NOUN="huis|boek|stad|water", VERB="sien|lees|bou|vind", ADJ="groot|nuwe|ou",
               PRON="hy|sy|hulle", ADP="in|op|van", DET="die|hierdie", CCONJ="en", ADV="vandag",
               END="."),
    "ar": dict(NOUN="بيت|كتاب|مدينة|ماء", VERB="يرى|يقرأ|يبني|يجد", ADJ="كبير|جديد|قديم",
               PRON="هو|هي|هم", ADP="في|على|من", CCONJ="أو", ADV="اليوم", END="."),
    "az": dict(NOUN="ev|kitab|şəhər|su", VERB="görür|oxuyur|tikir|tapır", ADJ="böyük|yeni|köhnə",
               PRON="o|onlar|mən", ADP="ilə|üçün", CCONJ="və", ADV="indi", END=".", SOV="1"),
    "bg": dict(NOUN="къща|книга|град|вода", VERB="вижда|чете|строи|намира", ADJ="голям|нов|стар",
               PRON="той|тя|те", ADP="в|на|от", DET="този", CCONJ="и", ADV="днес", END="."),
    "bn": dict(NOUN="বাড়ি|বই|শহর|জল", VERB="দেখে|পড়ে|বানায়", ADJ="বড়|নতুন|পুরোনো",
               PRON="সে|তারা|আমি", ADP="থেকে|জন্য", CCONJ="এবং", ADV="আজ", END="।", SOV="1"),
    "de": dict(NOUN="Haus|Buch|Stadt|Wasser", VERB="sieht|liest|baut|findet", ADJ="große|neue|alte",
               PRON="er|sie|wir", ADP="in|auf|von", DET="der|die|das", CCONJ="und", ADV="heute",
               END="."),
    "el": dict(NOUN="σπίτι|βιβλίο|πόλη|νερό", VERB="βλέπει|διαβάζει|χτίζει|βρίσκει",
               ADJ="μεγάλο|νέο|παλιό", PRON="αυτός|αυτή|αυτοί", ADP="σε|από|με", DET="το|ο|η",
               CCONJ="και", ADV="σήμερα", END="."),
    "en": dict(NOUN="house|book|city|water|school|river", VERB="sees|reads|builds|finds|visits",
               ADJ="big|new|old|green", PRON="he|she|they", ADP="in|on|from|near",
               DET="the|a|this", CCONJ="and|but", ADV="today|often", END="."),
    "es": dict(NOUN="casa|libro|ciudad|agua", VERB="ve|lee|construye|encuentra",
               ADJ="grande|nuevo|viejo", PRON="él|ella|ellos", ADP="en|de|con", DET="el|la|un",
               CCONJ="y", ADV="hoy", END="."),
    "et": dict(NOUN="maja|raamat|linn|vesi", VERB="näeb|loeb|ehitab|leiab", ADJ="suur|uus|vana",
               PRON="tema|nemad|mina", ADP="koos|pärast", CCONJ="ja", ADV="täna", END="."),
    "eu": dict(NOUN="etxea|liburua|hiria|ura", VERB="ikusten|irakurtzen|eraikitzen",
               ADJ="handia|berria|zaharra", PRON="hura|haiek|ni", CCONJ="eta", ADV="gaur",
               END=".", SOV="1"),
    "fa": dict(NOUN="خانه|کتاب|شهر|آب", VERB="می‌بیند|می‌خواند|می‌سازد", ADJ="بزرگ|نو|قدیمی",
               PRON="او|آنها|من", ADP="در|از|با", DET="این", CCONJ="و", ADV="امروز", END=".",
               SOV="1"),
    "fi": dict(NOUN="talo|kirja|kaupunki|vesi", VERB="näkee|lukee|rakentaa|löytää",
               ADJ="iso|uusi|vanha", PRON="hän|he|minä", ADP="kanssa|jälkeen", CCONJ="ja",
               ADV="tänään", END="."),
    "fr": dict(NOUN="maison|livre|ville|eau", VERB="voit|lit|construit|trouve",
               ADJ="grand|nouveau|vieux", PRON="il|elle|ils", ADP="dans|sur|de", DET="le|la|un",
               CCONJ="et", ADV="aujourd'hui", END="."),
    "gu": dict(NOUN="ઘર|પુસ્તક|શહેર|પાણી", VERB="જુએ|વાંચે|બનાવે", ADJ="મોટું|નવું|જૂનું",
               PRON="તે|તેઓ|હું", ADP="માટે|પછી", CCONJ="અને", ADV="આજે", END=".", SOV="1"),
    "he": dict(NOUN="בית|ספר|עיר|מים", VERB="רואה|קורא|בונה|מוצא", ADJ="גדול|חדש|ישן",
               PRON="הוא|היא|הם", ADP="על|עם|אל", CCONJ="או", ADV="היום", END="."),
    "hi": dict(NOUN="घर|किताब|शहर|पानी", VERB="देखता|पढ़ता|बनाता", ADJ="बड़ा|नया|पुराना",
               PRON="वह|वे|मैं", ADP="में|पर|से", CCONJ="और", ADV="आज", END="।", SOV="1"),
    "hu": dict(NOUN="ház|könyv|város|víz", VERB="lát|olvas|épít|talál", ADJ="nagy|új|régi",
               PRON="ő|ők|én", ADP="után|alatt", DET="a|egy", CCONJ="és", ADV="ma", END="."),
    "id": dict(NOUN="rumah|buku|kota|air", VERB="melihat|membaca|membangun|menemukan",
               ADJ="besar|baru|lama", PRON="dia|mereka|saya", ADP="di|dari|ke", DET="ini|itu",
               CCONJ="dan", ADV="sekarang", END="."),
    "it": dict(NOUN="casa|libro|città|acqua", VERB="vede|legge|costruisce|trova",
               ADJ="grande|nuovo|vecchio", PRON="lui|lei|loro", ADP="in|su|di", DET="il|la|un",
               CCONJ="e", ADV="oggi", END="."),
    "ja": dict(NOUN="家|本|町|水", VERB="見る|読む|作る", ADJ="大きい|新しい|古い",
               PRON="彼|彼女|私", ADP="に|で|を", DET="この", CCONJ="または", ADV="とても",
               END="。", SOV="1"),
    "jv": dict(NOUN="omah|buku|kutha|banyu", VERB="ndeleng|maca|mbangun", ADJ="gedhe|anyar|lawas",
               PRON="dheweke|aku", ADP="ing|saka", CCONJ="lan", ADV="saiki", END="."),
    "ka": dict(NOUN="სახლი|წიგნი|ქალაქი|წყალი", VERB="ხედავს|კითხულობს|აშენებს",
               ADJ="დიდი|ახალი|ძველი", PRON="ის|ისინი|მე", ADP="შემდეგ", CCONJ="და", ADV="დღეს",
               END="."),
    "kk": dict(NOUN="үй|кітап|қала|су", VERB="көреді|оқиды|салады", ADJ="үлкен|жаңа|ескі",
               PRON="ол|олар|мен", ADP="үшін|кейін", CCONJ="және", ADV="бүгін", END=".", SOV="1"),
    "ko": dict(NOUN="집|책|도시|물", VERB="본다|읽는다|짓는다", ADJ="큰|새로운|오래된",
               PRON="그|그들|나", CCONJ="및", ADV="오늘", END=".", SOV="1"),
    "lt": dict(NOUN="namas|knyga|miestas|vanduo", VERB="mato|skaito|stato|randa",
               ADJ="didelis|naujas|senas", PRON="jis|ji|jie", ADP="į|iš|su", CCONJ="ir",
               ADV="šiandien", END="."),
    "ml": dict(NOUN="വീട്|പുസ്തകം|നഗരം|വെള്ളം", VERB="കാണുന്നു|വായിക്കുന്നു",
               ADJ="വലിയ|പുതിയ|പഴയ", PRON="അവൻ|അവർ|ഞാൻ", ADP="ശേഷം", CCONJ="അല്ലെങ്കിൽ",
               ADV="ഇന്ന്", END=".", SOV="1"),
    "mr": dict(NOUN="घर|पुस्तक|शहर|पाणी", VERB="पाहतो|वाचतो|बांधतो", ADJ="मोठे|नवीन|जुने",
               PRON="तो|ते|मी", ADP="साठी|नंतर", CCONJ="आणि", ADV="आज", END=".", SOV="1"),
    "ms": dict(NOUN="rumah|buku|bandar|air", VERB="melihat|membaca|membina", ADJ="besar|baru|lama",
               PRON="dia|mereka|saya", ADP="di|dari|ke", CCONJ="dan", ADV="sekarang", END="."),
    "my": dict(NOUN="အိမ်|စာအုပ်|မြို့|ရေ", VERB="မြင်|ဖတ်|ဆောက်", ADJ="ကြီး|သစ်|ဟောင်း",
               PRON="သူ|ကျွန်တော်", ADP="မှာ|က", CCONJ="နှင့်", ADV="ဒီနေ့", END="။", SOV="1"),
    "nl": dict(NOUN="huis|boek|stad|water", VERB="ziet|leest|bouwt|vindt", ADJ="groot|nieuw|oud",
               PRON="hij|zij|wij", ADP="in|op|van", DET="de|het|een", CCONJ="en", ADV="vandaag",
               END="."),
    "pa": dict(NOUN="ਘਰ|ਕਿਤਾਬ|ਸ਼ਹਿਰ|ਪਾਣੀ", VERB="ਵੇਖਦਾ|ਪੜ੍ਹਦਾ|ਬਣਾਉਂਦਾ",
               ADJ="ਵੱਡਾ|ਨਵਾਂ|ਪੁਰਾਣਾ", PRON="ਉਹ|ਮੈਂ", ADP="ਵਿੱਚ|ਤੋਂ", CCONJ="ਅਤੇ", ADV="ਅੱਜ",
               END="।", SOV="1"),
    "pl": dict(NOUN="dom|książka|miasto|woda", VERB="widzi|czyta|buduje|znajduje",
               ADJ="duży|nowy|stary", PRON="on|ona|oni", ADP="w|na|z", CCONJ="i", ADV="dzisiaj",
               END="."),
    "pt": dict(NOUN="casa|livro|cidade|água", VERB="vê|lê|constrói|encontra",
               ADJ="grande|novo|velho", PRON="ele|ela|eles", ADP="em|de|com", DET="o|a|um",
               CCONJ="e", ADV="hoje", END="."),
    "qu": dict(NOUN="wasi|qillqa|llaqta|yaku", VERB="rikun|ruran|qillqan", ADJ="hatun|musuq|machu",
               PRON="pay|ñuqa", ADV="kunan", END=".", SOV="1"),
    "ro": dict(NOUN="casă|carte|oraș|apă", VERB="vede|citește|construiește|găsește",
               ADJ="mare|nou|vechi", PRON="el|ea|ei", ADP="în|pe|din", DET="un|o", CCONJ="și",
               ADV="azi", END="."),
    "ru": dict(NOUN="дом|книга|город|вода", VERB="видит|читает|строит|находит",
               ADJ="большой|новый|старый", PRON="он|она|они", ADP="в|на|из", DET="этот",
               CCONJ="и", ADV="сегодня", END="."),
    "sw": dict(NOUN="nyumba|kitabu|mji|maji", VERB="anaona|anasoma|anajenga", ADJ="kubwa|mpya",
               PRON="yeye|wao|mimi", ADP="katika|kwa", CCONJ="na", ADV="leo", END="."),
    "ta": dict(NOUN="வீடு|புத்தகம்|நகரம்|தண்ணீர்", VERB="பார்க்கிறான்|படிக்கிறான்|கட்டுகிறான்",
               ADJ="பெரிய|புதிய|பழைய", PRON="அவன்|அவர்கள்|நான்", CCONJ="மற்றும்", ADV="இன்று",
               END=".", SOV="1"),
    "te": dict(NOUN="ఇల్లు|పుస్తకం|నగరం|నీరు", VERB="చూస్తాడు|చదువుతాడు|కడతాడు",
               ADJ="పెద్ద|కొత్త|పాత", PRON="అతను|వారు|నేను", CCONJ="మరియు", ADV="ఈరోజు",
               END=".", SOV="1"),
    "th": dict(NOUN="บ้าน|หนังสือ|เมือง|น้ำ", VERB="เห็น|อ่าน|สร้าง", ADJ="ใหญ่|ใหม่|เก่า",
               PRON="เขา|พวกเขา|ฉัน", ADP="ใน|จาก", CCONJ="และ", ADV="มาก", END="."),
    "tl": dict(NOUN="bahay|libro|lungsod|tubig", VERB="nakikita|nagbabasa|nagtatayo",
               ADJ="malaki|bago|luma", PRON="siya|sila|ako", ADP="sa|ng", DET="ang", CCONJ="at",
               ADV="ngayon", END="."),
    "tr": dict(NOUN="ev|kitap|şehir|su", VERB="görüyor|okuyor|yapıyor|buluyor",
               ADJ="büyük|yeni|eski", PRON="o|onlar|ben", ADP="ile|için", DET="bu|bir",
               CCONJ="ve", ADV="bugün", END=".", SOV="1"),
    "uk": dict(NOUN="дім|книга|місто|вода", VERB="бачить|читає|будує|знаходить",
               ADJ="великий|новий|старий", PRON="він|вона|вони", ADP="в|на|з", CCONJ="і",
               ADV="сьогодні", END="."),
    "ur": dict(NOUN="گھر|کتاب|شہر|پانی", VERB="دیکھتا|پڑھتا|بناتا", ADJ="بڑا|نیا|پرانا",
               PRON="وہ|میں", ADP="سے|پر", CCONJ="اور", ADV="آج", END="۔", SOV="1"),
    "vi": dict(NOUN="nhà|sách|thành phố|nước", VERB="thấy|đọc|xây|tìm", ADJ="lớn|mới|cũ",
               PRON="tôi|họ", ADP="trong|từ", DET="này", CCONJ="và", ADV="rất", END="."),
    "wo": dict(NOUN="kër|téere|dëkk|ndox", VERB="gis|jàng|tabax", ADJ="mag|bees",
               PRON="mu|ñu|man", ADP="ci", CCONJ="ak", ADV="tey", END="."),
    "yo": dict(NOUN="ilé|ìwé|ìlú|omi", VERB="rí|kà|kọ́", ADJ="ńlá|tuntun", PRON="ó|wọn|mo",
               ADP="ní|sí", CCONJ="àti", ADV="lónìí", END="."),
    "zh": dict(NOUN="房子|书|城市|水", VERB="看见|读|建造", ADJ="大|新|旧", PRON="他|她|我们",
               ADP="在|从", DET="这", CCONJ="和", ADV="很", END="。"),
}
# fmt: on

# Latin-script names shared by all languages: the language-independent cue for PROPN and for
# PAN-X entities (Wikipedia text keeps many names in Latin script). Each entity type has its own
# shape, so that a tiny model can tell them apart within a few epochs: a person is a first and a
# last name, a place one or two capitalised words, an organisation an acronym.
FIRST_NAMES = ["Maria", "John", "Ahmed", "Yuki", "Olga", "Pedro"]
LAST_NAMES = ["Silva", "Smith", "Khan", "Tanaka", "Petrova", "Okafor"]
PLACES = ["Paris", "Berlin", "Tokyo", "Nairobi", "Lima", "Cairo", "New York", "Hong Kong"]
ORGANISATIONS = ["UNESCO", "FIFA", "NASA", "NATO", "OPEC", "UNICEF"]

# Sentence templates: UPOS categories, "NAME" (a name of one or two words, PROPN), "NUM" (a
# number in digits), "," and "END" (punctuation); a category the language lacks is left out.
UDPOS_TEMPLATES = [
    ["PRON", "VERB", "DET", "ADJ", "NOUN", "END"],
    ["NAME", "VERB", "NUM", "NOUN", "ADP", "NAME", "END"],
    ["DET", "NOUN", "ADP", "NAME", "VERB", "ADV", "END"],
    ["NAME", "CCONJ", "NAME", "VERB", "ADJ", "NOUN", ",", "PRON", "VERB", "NUM", "END"],
    ["ADV", "PRON", "VERB", "NOUN", "ADP", "NOUN", "END"],
    ["NUM", "ADJ", "NOUN", "VERB", "NAME", "END"],
]
# PAN-X templates: "O" is any native word, "PER"/"LOC"/"ORG" an entity, "END" punctuation.
PANX_TEMPLATES = [
    ["PER", "VERB", "ADP", "LOC", "END"],
    ["ORG", "VERB", "NOUN", "ADP", "LOC", "END"],
    ["NOUN", "ADP", "LOC", "VERB", "PER", "END"],
    ["PER", "CCONJ", "PER", "VERB", "ORG", "END"],
    ["ADJ", "NOUN", "VERB", "O", "O", "END"],
    ["LOC", "ADV", "VERB", "PER", "NOUN", "END"],
]
_VERB_FINAL_SKIP = {",", "END"}


def _words(lang: str, category: str) -> list[str]:
    value = LEXICON[lang].get(category, "")
    return [w for w in value.split("|") if w]


def _verb_final(slots: list[str]) -> list[str]:
    """SOV languages: every verb moves to the end of its clause (before ``,``/``END``)."""
    out: list[str] = []
    clause: list[str] = []
    for slot in slots:
        if slot in _VERB_FINAL_SKIP:
            out += [s for s in clause if s != "VERB"] + [s for s in clause if s == "VERB"] + [slot]
            clause = []
        else:
            clause.append(slot)
    return out + clause


def _udpos_clause(rng: random.Random, lang: str) -> list[tuple[str, str]]:
    slots = rng.choice(UDPOS_TEMPLATES)
    if LEXICON[lang].get("SOV"):
        slots = _verb_final(slots)
    words: list[tuple[str, str]] = []
    for slot in slots:
        if slot == "NAME":
            words.append((rng.choice(FIRST_NAMES), "PROPN"))
            if rng.random() < 0.5:
                words.append((rng.choice(LAST_NAMES), "PROPN"))
        elif slot == "NUM":
            words.append((str(rng.choice([3, 7, 12, 25, 40, 100, 365, 1999, 2020])), "NUM"))
        elif slot in (",", "END"):
            words.append(("," if slot == "," else LEXICON[lang]["END"], "PUNCT"))
        elif _words(lang, slot):
            words.append((rng.choice(_words(lang, slot)), slot))
    return words


def _panx_clause(rng: random.Random, lang: str) -> list[tuple[str, str]]:
    native = [w for c in ("NOUN", "VERB", "ADJ", "ADV", "PRON") for w in _words(lang, c)]
    words: list[tuple[str, str]] = []
    for slot in rng.choice(PANX_TEMPLATES):
        if slot in ("PER", "LOC", "ORG"):
            if slot == "PER":
                parts = [rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)]
            else:
                parts = rng.choice(PLACES if slot == "LOC" else ORGANISATIONS).split()
            words += [(p, ("B-" if i == 0 else "I-") + slot) for i, p in enumerate(parts)]
        elif slot == "END":
            words.append((LEXICON[lang]["END"], "O"))
        else:
            pool = _words(lang, slot) or native
            words.append((rng.choice(pool), "O"))
    return words


def _sentence(rng: random.Random, lang: str, task: str, long: bool) -> list[tuple[str, str]]:
    clause = _udpos_clause if task == "udpos" else _panx_clause
    if not long:
        return clause(rng, lang)
    # Clauses joined by commas (and the end mark only at the end) into one very long sentence.
    comma = (",", "PUNCT" if task == "udpos" else "O")
    words: list[tuple[str, str]] = []
    for i in range(LONG_SENTENCE_PARTS):
        part = clause(rng, lang)
        words += part[:-1] + ([comma] if i < LONG_SENTENCE_PARTS - 1 else [part[-1]])
    return words


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _rows(task: str, lang: str, split: str, count: int, long: int) -> list[dict]:
    spec = get_task(task)
    labels = spec.labels
    rng = random.Random(f"{SEED}/{task}/{lang}/{split}")
    sentences = [_sentence(rng, lang, task, long=False) for _ in range(count - long)]
    for _ in range(long):  # the long ones go in the middle, not at an edge of the file
        sentences.insert(len(sentences) // 2, _sentence(rng, lang, task, long=True))
    rows = []
    for sentence in sentences:
        tokens = [w for w, _ in sentence]
        tags = [labels.index(t) for _, t in sentence]
        if task == "udpos":
            rows.append({"tokens": tokens, "pos_tags": tags})
        else:
            rows.append({"tokens": tokens, "ner_tags": tags, "langs": [lang] * len(tokens)})
    return rows


def main() -> None:
    for task in ("udpos", "panx"):
        spec = get_task(task)
        names = spec.raw.get("language_names") or {}
        long_langs = LONG_UDPOS if task == "udpos" else LONG_PANX
        for lang in spec.languages_for("xtreme_r"):
            config = f"udpos.{names[lang]}" if task == "udpos" else f"PAN-X.{lang}"
            folder = OUT / config
            if folder.exists():
                shutil.rmtree(folder)
            if lang == "en":
                _write(
                    folder / "train.jsonl",
                    _rows(task, lang, "train", TRAIN_SENTENCES, LONG_TRAIN),
                )
                _write(
                    folder / "validation.jsonl",
                    _rows(task, lang, "validation", VALIDATION_SENTENCES, LONG_VALIDATION),
                )
            _write(
                folder / "test.jsonl",
                _rows(task, lang, "test", TEST_SENTENCES, int(lang in long_langs)),
            )
    total = sum(
        p.stat().st_size
        for p in OUT.glob("*/*.jsonl")
        if p.parent.name.startswith(("udpos.", "PAN-X."))
    )
    print(f"wrote tagging demo data under {OUT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
