"""Writes the embedded offline-demo datasets of xtransfer (MNLI, XNLI, PAWS-X, MLM text).

Usage: ``python scripts/make_demo_data.py [--out DIR] [--seed N]``
(default: ``src/xtransfer/assets/demo``).

The files mirror the Hugging Face Hub repos they stand for, so one catalogue source spec serves
both: ``<out>/<hub_id with "/" as "__">/<config>/<split>.jsonl`` with the exact Hub column names
and value types (docs/hub-schemas.md sections 1 and 2), plus ``<out>/text/<lang>.txt``.

Everything is generated from the small hand-written lexicons below: nothing is downloaded or
copied. Output is byte-identical on every run (seeded ``random.Random`` per split, fixed key
order, ``\\n`` line endings).

Why the data look the way they do: the demo trains a *randomly initialised* 2-layer model on
English only and scores it zero-shot on 15 (XNLI) or 7 (PAWS-X) languages. That can only beat
chance if the label rests on cues that look the same in every language. So the label depends
only on Latin-script first names and Arabic digits, which every language writes identically and
always between spaces (so the tokenizer cuts them identically, even in Chinese, Japanese and
Thai), while every other word comes from the language's own lexicon in its own script:

* NLI: the premise says that NAME did VERB NUM THINGs at PLACE at TIME. The hypothesis restates
  it: same name and number = entailment; same name, another number = contradiction; another
  name (number kept or not, 50/50, so the number alone never decides) = neutral.
* PAWS-X: two clauses "NAME_A verb N_A things, NAME_B verb N_B things". Paraphrase = the same
  clauses in another order or with the time phrase moved; non-paraphrase = the numbers swapped
  between the two names (a swapped role) or one number changed, also with the layout changed,
  so word order never gives the label away.

Items are abstract (indices into the lexicons) and rendered in each language, so XNLI and the
PAWS-X dev/test sets are parallel across languages like the real ones, and the non-English
PAWS-X train is the "translation" of the first English train items, like the real MT train.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from xtransfer.tasks.registry import get_task  # the catalogue: one home for language lists

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "src" / "xtransfer" / "assets" / "demo"
DEFAULT_SEED = 20200528  # any constant; fixed so the committed files can be regenerated

XNLI_LANGS = tuple(get_task("xnli").languages_for("xtreme"))
PAWSX_LANGS = tuple(get_task("pawsx").languages_for("xtreme"))
TEXT_LANGS = tuple(sorted({*XNLI_LANGS, *PAWSX_LANGS}))
NLI_LABELS = ("entailment", "neutral", "contradiction")  # MNLI ClassLabel order

# Row counts (the demo must train and evaluate in well under three minutes on 2 CPU cores).
MNLI_SIZES = {"train": 1200, "validation_matched": 201}
XNLI_SIZES = {"validation": 40, "test": 80}  # per language
PAWSX_EN_SIZES = {"train": 800, "validation": 150, "test": 80}
PAWSX_OTHER_SIZES = {"train": 200, "validation": 80, "test": 80}
TEXT_LINES = 100

# Feminine first names only, so that verbs agree without per-name forms in the languages that
# mark gender (ru, ar, hi, ur); all end in a vowel, so Korean takes the particle 는 after each.
NAMES = (
    "Anna", "Maria", "Sara", "Lena", "Nina", "Elena", "Laura", "Julia",
    "Clara", "Emma", "Sofia", "Mila", "Rosa", "Olga", "Hana", "Yuki",
)  # fmt: skip
# 5..20: Russian counts all of these with the genitive plural, so one noun form fits every number.
NUMBERS = tuple(range(5, 21))
# A contradiction may say there were none: "0" is the number no premise ever has.
NONE = 0
# Latin-script cities: a hypothesis placing the event in one adds detail the premise does not
# give (neutral). Like the names they are written identically in every language.
CITIES = ("Paris", "Berlin", "Madrid", "Lisboa", "Praha", "Oslo", "Dublin", "Lima")


@dataclass(frozen=True)
class Lexicon:
    """One language: sentence templates and the words that fill them.

    Template slots: {name} {num} are the shared cues; {verb} {thing} {place} {time} are native.
    A ``thing`` carries the number ("5 books", "本を 5 冊", "vitabu 5"), since where a numeral
    goes (and which classifier it needs) differs between languages.
    """

    premises: tuple[str, ...]
    hypotheses: tuple[str, ...]
    verbs: tuple[str, ...]  # 8, in the same meaning order in every language
    things: tuple[str, ...]  # 10, each containing "{num}"
    places: tuple[str, ...]  # 8
    times: tuple[str, ...]  # 6
    # Where a Latin-script city goes ("in {city}"): new, unverifiable detail in a hypothesis.
    city: str = ""
    # PAWS-X languages only: one clause, the clause with the time phrase, how two clauses join.
    clause: str = ""
    clause_time: str = ""
    join: str = ""
    end: str = ""
    # Verb forms for a clause that is not the last one (Japanese 連用形, Korean -고).
    linking_verbs: tuple[str, ...] = ()


# Meaning order: verbs = bought, sold, found, ordered, brought, saw, counted, received;
# things = books, apples, letters, chairs, tickets, cups, pens, flowers, boxes, bottles;
# places = market, shop, school, home, park, station, library, work;
# times = yesterday, today, this morning, last night, on Monday, on Saturday.
LEXICONS: dict[str, Lexicon] = {
    "en": Lexicon(
        premises=("{time} {name} {verb} {thing} {place}.", "{name} {verb} {thing} {place} {time}."),
        hypotheses=("{name} {verb} {thing}.", "{name} {verb} {thing} {place}.",
                    "{time} {name} {verb} {thing}."),
        verbs=("bought", "sold", "found", "ordered", "brought", "saw", "counted", "received"),
        things=("{num} books", "{num} apples", "{num} letters", "{num} chairs", "{num} tickets",
                "{num} cups", "{num} pens", "{num} flowers", "{num} boxes", "{num} bottles"),
        places=("at the market", "in the shop", "at school", "at home", "in the park",
                "at the station", "in the library", "at work"),
        times=("yesterday", "today", "this morning", "last night", "on Monday", "on Saturday"),
        city="in {city}",
        clause="{name} {verb} {thing}", clause_time="{name} {verb} {thing} {time}",
        join="{a} and {b}", end=".",
    ),
    "de": Lexicon(
        premises=("{time} hat {name} {thing} {place} {verb}.",
                  "{name} hat {time} {thing} {place} {verb}."),
        hypotheses=("{name} hat {thing} {verb}.", "{name} hat {thing} {place} {verb}.",
                    "{time} hat {name} {thing} {verb}."),
        verbs=("gekauft", "verkauft", "gefunden", "bestellt", "gebracht", "gesehen", "gezählt",
               "bekommen"),
        things=("{num} Bücher", "{num} Äpfel", "{num} Briefe", "{num} Stühle", "{num} Fahrkarten",
                "{num} Tassen", "{num} Stifte", "{num} Blumen", "{num} Kisten", "{num} Flaschen"),
        places=("auf dem Markt", "im Laden", "in der Schule", "zu Hause", "im Park",
                "am Bahnhof", "in der Bibliothek", "bei der Arbeit"),
        times=("gestern", "heute", "heute Morgen", "gestern Abend", "am Montag", "am Samstag"),
        city="in {city}",
        clause="{name} hat {thing} {verb}", clause_time="{name} hat {time} {thing} {verb}",
        join="{a} und {b}", end=".",
    ),
    "es": Lexicon(
        premises=("{time} {name} {verb} {thing} {place}.", "{name} {verb} {thing} {place} {time}."),
        hypotheses=("{name} {verb} {thing}.", "{name} {verb} {thing} {place}.",
                    "{time} {name} {verb} {thing}."),
        verbs=("compró", "vendió", "encontró", "pidió", "trajo", "vio", "contó", "recibió"),
        things=("{num} libros", "{num} manzanas", "{num} cartas", "{num} sillas", "{num} billetes",
                "{num} tazas", "{num} bolígrafos", "{num} flores", "{num} cajas", "{num} botellas"),
        places=("en el mercado", "en la tienda", "en la escuela", "en casa", "en el parque",
                "en la estación", "en la biblioteca", "en el trabajo"),
        times=("ayer", "hoy", "esta mañana", "anoche", "el lunes", "el sábado"),
        city="en {city}",
        clause="{name} {verb} {thing}", clause_time="{name} {verb} {thing} {time}",
        join="{a} y {b}", end=".",
    ),
    "fr": Lexicon(
        premises=("{time} {name} {verb} {thing} {place}.", "{name} {verb} {thing} {place} {time}."),
        hypotheses=("{name} {verb} {thing}.", "{name} {verb} {thing} {place}.",
                    "{time} {name} {verb} {thing}."),
        verbs=("a acheté", "a vendu", "a trouvé", "a commandé", "a apporté", "a vu", "a compté",
               "a reçu"),
        things=("{num} livres", "{num} pommes", "{num} lettres", "{num} chaises", "{num} billets",
                "{num} tasses", "{num} stylos", "{num} fleurs", "{num} boîtes", "{num} bouteilles"),
        places=("au marché", "au magasin", "à l'école", "à la maison", "au parc", "à la gare",
                "à la bibliothèque", "au travail"),
        times=("hier", "aujourd'hui", "ce matin", "hier soir", "lundi", "samedi"),
        city="à {city}",
        clause="{name} {verb} {thing}", clause_time="{name} {verb} {thing} {time}",
        join="{a} et {b}", end=".",
    ),
    "ru": Lexicon(
        premises=("{time} {name} {verb} {thing} {place}.", "{name} {verb} {thing} {place} {time}."),
        hypotheses=("{name} {verb} {thing}.", "{name} {verb} {thing} {place}.",
                    "{time} {name} {verb} {thing}."),
        verbs=("купила", "продала", "нашла", "заказала", "принесла", "увидела", "посчитала",
               "получила"),
        things=("{num} книг", "{num} яблок", "{num} писем", "{num} стульев", "{num} билетов",
                "{num} чашек", "{num} ручек", "{num} цветов", "{num} коробок", "{num} бутылок"),
        places=("на рынке", "в магазине", "в школе", "дома", "в парке", "на вокзале",
                "в библиотеке", "на работе"),
        times=("вчера", "сегодня", "утром", "вечером", "в понедельник", "в субботу"),
        city="в {city}",
    ),
    "bg": Lexicon(
        premises=("{time} {name} {verb} {thing} {place}.", "{name} {verb} {thing} {place} {time}."),
        hypotheses=("{name} {verb} {thing}.", "{name} {verb} {thing} {place}.",
                    "{time} {name} {verb} {thing}."),
        verbs=("купи", "продаде", "намери", "поръча", "донесе", "видя", "преброи", "получи"),
        things=("{num} книги", "{num} ябълки", "{num} писма", "{num} стола", "{num} билета",
                "{num} чаши", "{num} химикалки", "{num} цветя", "{num} кутии", "{num} бутилки"),
        places=("на пазара", "в магазина", "в училище", "вкъщи", "в парка", "на гарата",
                "в библиотеката", "на работа"),
        times=("вчера", "днес", "сутринта", "снощи", "в понеделник", "в събота"),
        city="в {city}",
    ),
    "el": Lexicon(
        premises=("{time} {name} {verb} {thing} {place}.", "{name} {verb} {thing} {place} {time}."),
        hypotheses=("{name} {verb} {thing}.", "{name} {verb} {thing} {place}.",
                    "{time} {name} {verb} {thing}."),
        verbs=("αγόρασε", "πούλησε", "βρήκε", "παρήγγειλε", "έφερε", "είδε", "μέτρησε", "πήρε"),
        things=("{num} βιβλία", "{num} μήλα", "{num} γράμματα", "{num} καρέκλες",
                "{num} εισιτήρια", "{num} φλιτζάνια", "{num} μολύβια", "{num} λουλούδια",
                "{num} κουτιά", "{num} μπουκάλια"),
        places=("στην αγορά", "στο μαγαζί", "στο σχολείο", "στο σπίτι", "στο πάρκο",
                "στον σταθμό", "στη βιβλιοθήκη", "στη δουλειά"),
        times=("χθες", "σήμερα", "το πρωί", "χθες βράδυ", "τη Δευτέρα", "το Σάββατο"),
        city="στο {city}",
    ),
    "tr": Lexicon(
        premises=("{time} {name} {place} {thing} {verb}.", "{name} {time} {place} {thing} {verb}."),
        hypotheses=("{name} {thing} {verb}.", "{name} {place} {thing} {verb}.",
                    "{time} {name} {thing} {verb}."),
        verbs=("aldı", "sattı", "buldu", "ısmarladı", "getirdi", "gördü", "saydı", "teslim aldı"),
        things=("{num} kitap", "{num} elma", "{num} mektup", "{num} sandalye", "{num} bilet",
                "{num} fincan", "{num} kalem", "{num} çiçek", "{num} kutu", "{num} şişe"),
        places=("pazarda", "dükkanda", "okulda", "evde", "parkta", "istasyonda", "kütüphanede",
                "işte"),
        times=("dün", "bugün", "bu sabah", "dün akşam", "pazartesi günü", "cumartesi günü"),
        city="{city} şehrinde",
    ),
    # Swahili puts the numeral after the noun; no template ends on it, so that a full stop never
    # sticks to the number (the cue must be a free-standing word in every language).
    "sw": Lexicon(
        premises=("{time} {name} {verb} {thing} {place}.", "{name} {verb} {thing} {place} {time}."),
        hypotheses=("{name} {verb} {thing} {time}.", "{name} {verb} {thing} {place}.",
                    "{time} {name} {verb} {thing} {place}."),
        verbs=("alinunua", "aliuza", "alipata", "aliagiza", "alileta", "aliona", "alihesabu",
               "alipokea"),
        things=("vitabu {num}", "maembe {num}", "barua {num}", "viti {num}", "tiketi {num}",
                "vikombe {num}", "kalamu {num}", "maua {num}", "masanduku {num}", "chupa {num}"),
        places=("sokoni", "dukani", "shuleni", "nyumbani", "bustanini", "kituoni", "maktabani",
                "kazini"),
        times=("jana", "leo", "asubuhi", "jana usiku", "Jumatatu", "Jumamosi"),
        city="mjini {city}",
    ),
    "vi": Lexicon(
        premises=("{time} {name} {verb} {thing} {place}.", "{name} {verb} {thing} {place} {time}."),
        hypotheses=("{name} {verb} {thing}.", "{name} {verb} {thing} {place}.",
                    "{time} {name} {verb} {thing}."),
        verbs=("đã mua", "đã bán", "đã tìm thấy", "đã đặt", "đã mang", "đã thấy", "đã đếm",
               "đã nhận"),
        things=("{num} cuốn sách", "{num} quả táo", "{num} lá thư", "{num} cái ghế",
                "{num} tấm vé", "{num} cái cốc", "{num} cây bút", "{num} bông hoa",
                "{num} cái hộp", "{num} cái chai"),
        places=("ở chợ", "ở cửa hàng", "ở trường", "ở nhà", "ở công viên", "ở nhà ga",
                "ở thư viện", "ở chỗ làm"),
        times=("hôm qua", "hôm nay", "sáng nay", "tối qua", "thứ Hai", "thứ Bảy"),
        city="ở {city}",
    ),
    "ar": Lexicon(
        premises=("{time} {verb} {name} {thing} {place}.", "{verb} {name} {thing} {place} {time}."),
        hypotheses=("{verb} {name} {thing}.", "{verb} {name} {thing} {place}.",
                    "{time} {verb} {name} {thing}."),
        verbs=("اشترت", "باعت", "وجدت", "طلبت", "أحضرت", "رأت", "عدت", "استلمت"),
        things=("{num} كتب", "{num} تفاحات", "{num} رسائل", "{num} كراسي", "{num} تذاكر",
                "{num} فناجين", "{num} أقلام", "{num} زهور", "{num} صناديق", "{num} زجاجات"),
        places=("في السوق", "في المتجر", "في المدرسة", "في البيت", "في الحديقة", "في المحطة",
                "في المكتبة", "في العمل"),
        times=("أمس", "اليوم", "هذا الصباح", "مساء أمس", "يوم الاثنين", "يوم السبت"),
        city="في {city}",
    ),
    "hi": Lexicon(
        premises=("{time} {name} {place} {thing} {verb}।", "{name} {time} {place} {thing} {verb}।"),
        hypotheses=("{name} {thing} {verb}।", "{name} {place} {thing} {verb}।",
                    "{time} {name} {thing} {verb}।"),
        # Past progressive: agrees with the (feminine) subject, whatever the object's gender.
        verbs=("खरीद रही थी", "बेच रही थी", "ढूँढ रही थी", "मँगा रही थी", "ला रही थी",
               "देख रही थी", "गिन रही थी", "ले रही थी"),
        things=("{num} किताबें", "{num} सेब", "{num} चिट्ठियाँ", "{num} कुर्सियाँ", "{num} टिकट",
                "{num} प्याले", "{num} कलमें", "{num} फूल", "{num} डिब्बे", "{num} बोतलें"),
        places=("बाज़ार में", "दुकान में", "स्कूल में", "घर पर", "पार्क में", "स्टेशन पर",
                "पुस्तकालय में", "दफ़्तर में"),
        times=("कल", "आज", "आज सुबह", "कल रात", "सोमवार को", "शनिवार को"),
        city="{city} में",
    ),
    "ur": Lexicon(
        premises=("{time} {name} {place} {thing} {verb}۔", "{name} {time} {place} {thing} {verb}۔"),
        hypotheses=("{name} {thing} {verb}۔", "{name} {place} {thing} {verb}۔",
                    "{time} {name} {thing} {verb}۔"),
        verbs=("خرید رہی تھی", "بیچ رہی تھی", "ڈھونڈ رہی تھی", "منگوا رہی تھی", "لا رہی تھی",
               "دیکھ رہی تھی", "گن رہی تھی", "لے رہی تھی"),
        things=("{num} کتابیں", "{num} سیب", "{num} خط", "{num} کرسیاں", "{num} ٹکٹ",
                "{num} پیالے", "{num} قلم", "{num} پھول", "{num} ڈبے", "{num} بوتلیں"),
        places=("بازار میں", "دکان میں", "اسکول میں", "گھر پر", "پارک میں", "اسٹیشن پر",
                "لائبریری میں", "دفتر میں"),
        times=("کل", "آج", "آج صبح", "کل رات", "پیر کو", "ہفتے کو"),
        city="{city} میں",
    ),
    # Thai writes no spaces between words and no full stop; spaces separate phrases.
    "th": Lexicon(
        premises=("{time} {name} {verb}{thing} {place}", "{name} {verb}{thing} {place} {time}"),
        hypotheses=("{name} {verb}{thing}", "{name} {verb}{thing} {place}",
                    "{time} {name} {verb}{thing}"),
        verbs=("ซื้อ", "ขาย", "เจอ", "สั่ง", "หยิบ", "เห็น", "นับ", "ได้รับ"),
        things=("หนังสือ {num} เล่ม", "แอปเปิล {num} ลูก", "จดหมาย {num} ฉบับ", "เก้าอี้ {num} ตัว",
                "ตั๋ว {num} ใบ", "ถ้วย {num} ใบ", "ปากกา {num} ด้าม", "ดอกไม้ {num} ดอก",
                "กล่อง {num} ใบ", "ขวด {num} ใบ"),
        places=("ที่ตลาด", "ที่ร้านค้า", "ที่โรงเรียน", "ที่บ้าน", "ที่สวนสาธารณะ", "ที่สถานี",
                "ที่ห้องสมุด", "ที่ทำงาน"),
        times=("เมื่อวาน", "วันนี้", "เมื่อเช้านี้", "เมื่อคืนนี้", "วันจันทร์", "วันเสาร์"),
        city="ที่ {city}",
    ),
    "zh": Lexicon(
        premises=("{time} {name} {place}{verb} {thing}。", "{name} {time}{place}{verb} {thing}。"),
        hypotheses=("{name} {verb} {thing}。", "{name} {place}{verb} {thing}。",
                    "{time} {name} {verb} {thing}。"),
        verbs=("买了", "卖了", "找到了", "订了", "带来了", "看到了", "数了", "收到了"),
        things=("{num} 本书", "{num} 个苹果", "{num} 封信", "{num} 把椅子", "{num} 张票",
                "{num} 个杯子", "{num} 支笔", "{num} 朵花", "{num} 个盒子", "{num} 个瓶子"),
        places=("在市场", "在商店", "在学校", "在家", "在公园", "在车站", "在图书馆", "在公司"),
        times=("昨天", "今天", "今天早上", "昨天晚上", "星期一", "星期六"),
        city="在 {city} ",
        clause="{name} {verb} {thing}", clause_time="{name} {time}{verb} {thing}",
        join="{a}，{b}", end="。",
    ),
    "ja": Lexicon(
        premises=("{time} {name} は{place}{thing}{verb}。",
                  "{name} は{time}{place}{thing}{verb}。"),
        hypotheses=("{name} は{thing}{verb}。", "{name} は{place}{thing}{verb}。",
                    "{time} {name} は{thing}{verb}。"),
        verbs=("買いました", "売りました", "見つけました", "注文しました", "持参しました",
               "見かけました", "数えました", "受け取りました"),
        things=("本を {num} 冊", "りんごを {num} 個", "手紙を {num} 通", "椅子を {num} 脚",
                "切符を {num} 枚", "カップを {num} 個", "ペンを {num} 本", "花を {num} 本",
                "箱を {num} 個", "瓶を {num} 本"),
        places=("市場で", "店で", "学校で", "家で", "公園で", "駅で", "図書館で", "職場で"),
        times=("昨日", "今日", "今朝", "昨夜", "月曜日に", "土曜日に"),
        city=" {city} で",
        clause="{name} は{thing}{verb}", clause_time="{name} は{time}{thing}{verb}",
        join="{a}、{b}", end="。",
        linking_verbs=("買い", "売り", "見つけ", "注文し", "持参し", "見かけ", "数え", "受け取り"),
    ),
    "ko": Lexicon(
        premises=("{time} {name} 는 {place} {thing} {verb}.",
                  "{name} 는 {time} {place} {thing} {verb}."),
        hypotheses=("{name} 는 {thing} {verb}.", "{name} 는 {place} {thing} {verb}.",
                    "{time} {name} 는 {thing} {verb}."),
        verbs=("샀습니다", "팔았습니다", "찾았습니다", "주문했습니다", "가져왔습니다", "보았습니다",
               "세었습니다", "받았습니다"),
        things=("책 {num} 권을", "사과 {num} 개를", "편지 {num} 통을", "의자 {num} 개를",
                "표 {num} 장을", "컵 {num} 개를", "펜 {num} 자루를", "꽃 {num} 송이를",
                "상자 {num} 개를", "병 {num} 개를"),
        places=("시장에서", "가게에서", "학교에서", "집에서", "공원에서", "역에서", "도서관에서",
                "회사에서"),
        times=("어제", "오늘", "오늘 아침", "어젯밤", "월요일에", "토요일에"),
        city="{city} 에서",
        clause="{name} 는 {thing} {verb}", clause_time="{name} 는 {time} {thing} {verb}",
        join="{a} {b}", end=".",
        linking_verbs=("샀고", "팔았고", "찾았고", "주문했고", "가져왔고", "보았고", "세었고",
                       "받았고"),
    ),
}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Abstract items: indices into the lexicons, rendered per language.


@dataclass(frozen=True)
class Scene:
    """Who did what to how many things, where and when; the same in every language."""

    name: str
    num: int
    verb: int
    thing: int
    place: int
    time: int
    city: int = -1  # index into CITIES, replacing the place; -1 = none


@dataclass(frozen=True)
class NliItem:
    premise: Scene
    hypothesis: Scene
    label: int  # index into NLI_LABELS
    premise_form: int
    hypothesis_form: int


@dataclass(frozen=True)
class PawsLayout:
    """How a PAWS-X sentence lays out its two clauses: which comes first, which has the time."""

    reverse: bool
    time_in_second: bool


@dataclass(frozen=True)
class PawsItem:
    first: tuple[Scene, Scene]  # the two clauses of sentence1 (A, B)
    second: tuple[Scene, Scene]  # the same two roles in sentence2, possibly altered
    layout1: PawsLayout
    layout2: PawsLayout
    label: int  # 1 = paraphrase


def _balanced_labels(rng: random.Random, count: int, n_labels: int) -> list[int]:
    """Labels as equal in number as ``count`` allows, in random order."""
    labels = [i % n_labels for i in range(count)]
    rng.shuffle(labels)
    return labels


def _other(rng: random.Random, pool: Sequence, exclude: Iterable) -> object:
    excluded = set(exclude)
    return rng.choice([value for value in pool if value not in excluded])


def _scene(rng: random.Random) -> Scene:
    lex = LEXICONS["en"]
    return Scene(
        name=rng.choice(NAMES),
        num=rng.choice(NUMBERS),
        verb=rng.randrange(len(lex.verbs)),
        thing=rng.randrange(len(lex.things)),
        place=rng.randrange(len(lex.places)),
        time=rng.randrange(len(lex.times)),
    )


# Hypothesis templates (every lexicon has 3; form 1 is the one with a place): entailment and
# contradiction draw from _COMMON_FORMS; neutral draws form 1 for its city half and uniformly
# otherwise, which gives every label the same mix of forms (1/6, 2/3, 1/6), so the form, which
# is made of language-specific words, says nothing about the label.
_COMMON_FORMS = (0, 1, 1, 1, 1, 2)
_CITY_FORM = 1


def _nli_items(rng: random.Random, count: int) -> list[NliItem]:
    """Balanced NLI items; half of each non-entailment label is a plain cue, half a match.

    * entailment: same name, same number.
    * contradiction: same name; the number is 0 (a cue any model sees at once) or another
      number (seen only by comparing the two sentences).
    * neutral: same name and number but set in a city the premise does not mention (a cue), or
      another name, the number kept or changed 50/50 (seen only by comparing).
    A model that reads only the cues reaches about 2/3; comparing names and numbers gets the rest.
    """
    items = []
    for label in _balanced_labels(rng, count, len(NLI_LABELS)):
        premise = _scene(rng)
        hypothesis = premise
        form = rng.choice(_COMMON_FORMS)
        if NLI_LABELS[label] == "contradiction":
            number = NONE if rng.random() < 0.5 else _other(rng, NUMBERS, [premise.num])
            hypothesis = _replace(hypothesis, num=number)
        elif NLI_LABELS[label] == "neutral":
            if rng.random() < 0.5:
                hypothesis = _replace(hypothesis, city=rng.randrange(len(CITIES)))
                form = _CITY_FORM
            else:
                hypothesis = _replace(hypothesis, name=_other(rng, NAMES, [premise.name]))
                if rng.random() < 0.5:
                    hypothesis = _replace(hypothesis, num=_other(rng, NUMBERS, [premise.num]))
                form = rng.randrange(3)
        items.append(NliItem(premise, hypothesis, label, rng.randrange(2), form))
    return items


def _replace(scene: Scene, **changes: object) -> Scene:
    return Scene(**{**scene.__dict__, **changes})


def _paws_items(rng: random.Random, count: int) -> list[PawsItem]:
    layouts = [PawsLayout(rev, tis) for rev in (False, True) for tis in (False, True)]
    items = []
    for label in _balanced_labels(rng, count, 2):
        a = _scene(rng)
        b = _replace(
            _scene(rng),
            name=_other(rng, NAMES, [a.name]),
            num=_other(rng, NUMBERS, [a.num]),
            time=a.time,  # one time phrase per sentence
        )
        second = (a, b)
        if label == 0:
            if rng.random() < 0.5:  # swapped roles: each name gets the other's number
                second = (_replace(a, num=b.num), _replace(b, num=a.num))
            else:  # one number changed
                new = _other(rng, NUMBERS, [a.num, b.num])
                second = (
                    (_replace(a, num=new), b) if rng.random() < 0.5 else (a, _replace(b, num=new))
                )
        layout1 = rng.choice(layouts)
        # Both labels change the layout, so "same word order" never gives the label away.
        layout2 = rng.choice([layout for layout in layouts if layout != layout1])
        items.append(PawsItem((a, b), second, layout1, layout2, label))
    return items


# ---------------------------------------------------------------------------------------------
# Rendering.


def _capitalise(text: str) -> str:
    # Only the first character, and only where the script has case (a no-op for the others).
    return text[:1].upper() + text[1:]


def _slots(lex: Lexicon, scene: Scene, linking: bool = False) -> dict[str, str]:
    verbs = lex.linking_verbs if linking and lex.linking_verbs else lex.verbs
    return {
        "name": scene.name,
        "verb": verbs[scene.verb],
        "thing": lex.things[scene.thing].format(num=scene.num),
        "place": lex.city.format(city=CITIES[scene.city])
        if scene.city >= 0
        else lex.places[scene.place],
        "time": lex.times[scene.time],
    }


def render_premise(lang: str, scene: Scene, form: int) -> str:
    lex = LEXICONS[lang]
    return _capitalise(lex.premises[form % len(lex.premises)].format(**_slots(lex, scene)))


def render_hypothesis(lang: str, scene: Scene, form: int) -> str:
    lex = LEXICONS[lang]
    return _capitalise(lex.hypotheses[form % len(lex.hypotheses)].format(**_slots(lex, scene)))


def render_paws(lang: str, clauses: tuple[Scene, Scene], layout: PawsLayout) -> str:
    lex = LEXICONS[lang]
    ordered = clauses[::-1] if layout.reverse else clauses
    parts = []
    for position, scene in enumerate(ordered):
        template = lex.clause_time if (position == 1) == layout.time_in_second else lex.clause
        parts.append(template.format(**_slots(lex, scene, linking=position == 0)))
    return _capitalise(lex.join.format(a=parts[0], b=parts[1]) + lex.end)


# ---------------------------------------------------------------------------------------------
# Files.


def _split_rng(seed: int, what: str) -> random.Random:
    # A string seed is hashed with SHA-512 by `random`, independent of PYTHONHASHSEED: every
    # split gets its own stream, and adding a split never shifts the draws of another.
    return random.Random(f"xtransfer-demo/{seed}/{what}")


def _write_jsonl(path: Path, rows: Iterable[dict[str, object]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(row, ensure_ascii=False) + "\n" for row in rows]
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(lines)
    return len(lines)


def _write_text(path: Path, lines: Iterable[str]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = [line + "\n" for line in lines]
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(body)
    return len(body)


def generate(out: Path, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Writes every demo file under ``out``; returns {relative path: number of rows/lines}."""
    written: dict[str, int] = {}

    def record(path: Path, count: int) -> None:
        written[path.relative_to(out).as_posix()] = count

    mnli_dir = out / "nyu-mll__glue" / "mnli"
    for split, size in MNLI_SIZES.items():
        items = _nli_items(_split_rng(seed, f"mnli/{split}"), size)
        rows = (
            {
                "premise": render_premise("en", item.premise, item.premise_form),
                "hypothesis": render_hypothesis("en", item.hypothesis, item.hypothesis_form),
                "label": item.label,
                "idx": idx,
            }
            for idx, item in enumerate(items)
        )
        path = mnli_dir / f"{split}.jsonl"
        record(path, _write_jsonl(path, rows))

    xnli_dir = out / "google__xtreme" / "XNLI"
    for split, size in XNLI_SIZES.items():
        # One set of items rendered in every language: XNLI is parallel across languages.
        items = _nli_items(_split_rng(seed, f"xnli/{split}"), size)
        rows = (
            {
                "language": lang,
                "sentence1": render_premise(lang, item.premise, item.premise_form),
                "sentence2": render_hypothesis(lang, item.hypothesis, item.hypothesis_form),
                "gold_label": NLI_LABELS[item.label],
            }
            for lang in XNLI_LANGS
            for item in items
        )
        path = xnli_dir / f"{split}.jsonl"
        record(path, _write_jsonl(path, rows))

    for split, size in PAWSX_EN_SIZES.items():
        items = _paws_items(_split_rng(seed, f"pawsx/{split}"), size)
        for lang in PAWSX_LANGS:
            # Non-English splits render the first English items: the real dev/test sets are
            # human translations of the English ones, the train set a machine translation.
            subset = items if lang == "en" else items[: PAWSX_OTHER_SIZES[split]]
            rows = (
                {
                    "sentence1": render_paws(lang, item.first, item.layout1),
                    "sentence2": render_paws(lang, item.second, item.layout2),
                    "label": str(item.label),
                }
                for item in subset
            )
            path = out / "google__xtreme" / f"PAWS-X.{lang}" / f"{split}.jsonl"
            record(path, _write_jsonl(path, rows))

    # Plain multilingual text for the MLM co-training demo, line-aligned across languages.
    rng = _split_rng(seed, "text")
    scenes = [(_scene(rng), rng.randrange(2), rng.randrange(2)) for _ in range(TEXT_LINES)]
    for lang in TEXT_LANGS:
        lines = (
            render_premise(lang, scene, form)
            if kind == 0
            else render_hypothesis(lang, scene, form + 1)
            for scene, kind, form in scenes
        )
        path = out / "text" / f"{lang}.txt"
        record(path, _write_text(path, lines))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    written = generate(args.out, args.seed)
    total = sum(written.values())
    print(f"wrote {len(written)} files ({total} rows/lines) under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
