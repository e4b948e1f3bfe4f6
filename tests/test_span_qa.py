"""Extractive QA: SQuAD JSON reader, featurisation with doc stride, n-best decoding, loss, files,
catalogue/data wiring (id_prefix filter, XTREME folder, local files) and the demo data."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from xtransfer.config import asset_path
from xtransfer.data.readers import read_file
from xtransfer.data.sources import load_rows
from xtransfer.data.squad_json import read_squad_json
from xtransfer.errors import UserError
from xtransfer.evaluation import formats as eval_formats
from xtransfer.evaluation.scoring import score_language
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.formats.span_qa import IGNORE, SpanQAFormat
from xtransfer.tasks.registry import get_task

REPO = Path(__file__).resolve().parents[1]
DEMO = Path(asset_path("demo"))
EMBEDDED = {"source": "embedded", "root": str(DEMO)}


@pytest.fixture(scope="module")
def tokenizer():
    from xtransfer.training.model import load_tokenizer

    return load_tokenizer(asset_path("tiny-xlmr"))


def _row(qid: str, context: str, question: str, answer: str | None, start: int | None = None):
    if answer is None:
        answers = {"text": [], "answer_start": []}
    else:
        answers = {
            "text": [answer],
            "answer_start": [context.index(answer) if start is None else start],
        }
    return {"id": qid, "title": "t", "context": context, "question": question, "answers": answers}


def _labelled_text(row: dict, feature: dict) -> str:
    first = feature["context_start"]
    spans = feature["context_offsets"]
    start = spans[feature["start_position"] - first, 0]
    end = spans[feature["end_position"] - first, 1]
    return row["context"][start:end]


# --------------------------------------------------------------------------- SQuAD JSON reader


def _write_json(path: Path, document) -> Path:
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_reader_returns_hub_schema_rows_with_v2_and_stripped_answers(tmp_path: Path):
    document = {
        "version": "v2.0",
        "data": [
            {
                "title": "Norvale",
                "paragraphs": [
                    {
                        "context": "Marek Oakes opened a library in 1874.",
                        "qas": [
                            {
                                "id": "q1",
                                "question": "When?",
                                "answers": [
                                    {"text": "1874", "answer_start": 32},
                                    {"text": "in 1874", "answer_start": "29"},
                                ],
                            },
                            {
                                "id": "q2",
                                "question": "Who closed it?",
                                "answers": [],
                                "plausible_answers": [{"text": "Marek Oakes", "answer_start": 0}],
                                "is_impossible": True,
                            },
                        ],
                    }
                ],
            },
            # XTREME's answer-stripped test files: no title, a placeholder answer.
            {
                "paragraphs": [
                    {
                        "context": "Ein Satz.",
                        "qas": [
                            {
                                "id": 7,
                                "question": "Was?",
                                "answers": [{"text": "", "answer_start": 0}],
                            }
                        ],
                    }
                ]
            },
        ],
    }
    rows = read_squad_json(_write_json(tmp_path / "f.json", document))
    assert rows == [
        {
            "id": "q1",
            "title": "Norvale",
            "context": "Marek Oakes opened a library in 1874.",
            "question": "When?",
            "answers": {"text": ["1874", "in 1874"], "answer_start": [32, 29]},
        },
        {
            "id": "q2",
            "title": "Norvale",
            "context": "Marek Oakes opened a library in 1874.",
            "question": "Who closed it?",
            "answers": {"text": [], "answer_start": []},
        },
        {
            "id": "7",
            "title": "",
            "context": "Ein Satz.",
            "question": "Was?",
            "answers": {"text": [], "answer_start": []},
        },
    ]
    # A bare list of articles is SQuAD format too, and ".json" picks this reader by extension.
    bare = _write_json(tmp_path / "bare.json", document["data"][:1])
    assert read_file(bare) == rows[:2]


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "malformed JSON"),
        (json.dumps({"data": {"x": 1}}), "not SQuAD format"),
        (json.dumps({"data": [{"title": "x"}]}), "no 'paragraphs' list"),
        (json.dumps({"data": [{"paragraphs": [{"qas": []}]}]}), "no 'context' string"),
        (
            json.dumps({"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q"}]}]}]}),
            "has no 'id'",
        ),
        (
            json.dumps(
                {
                    "data": [
                        {
                            "paragraphs": [
                                {
                                    "context": "c",
                                    "qas": [
                                        {
                                            "id": "a",
                                            "question": "q",
                                            "answers": [{"text": "c", "answer_start": "x"}],
                                        }
                                    ],
                                }
                            ]
                        }
                    ]
                }
            ),
            "answer_start 'x' is not an integer",
        ),
    ],
)
def test_reader_reports_malformed_files_by_name(tmp_path: Path, content: str, message: str):
    path = tmp_path / "broken.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=message) as err:
        read_squad_json(path)
    assert str(path) in str(err.value)


def test_reader_reports_missing_and_non_utf8_files(tmp_path: Path):
    with pytest.raises(UserError, match="no such file"):
        read_squad_json(tmp_path / "absent.json")
    latin = tmp_path / "latin1.json"
    latin.write_bytes('{"data": [], "t": "é"}'.encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        read_squad_json(latin)


# --------------------------------------------------------------------------- featurisation

# A long English context whose answer sits in the middle, so that with small windows some
# windows hold only part of it.
FILLER_EN = " ".join(f"Sentence {word} says nothing." for word in "abcdefghijklmnopqrst")
LONG_ANSWER = "the old stone bridge across the northern river"
CONTEXT_EN = f"{FILLER_EN} In spring {LONG_ANSWER} was rebuilt by Quillon Ashdown. {FILLER_EN}"
FILLER_ZH = "这座城市很安静，街道两旁种满了树。" * 8
CONTEXT_ZH = (
    f"{FILLER_ZH}阿什当于1947年在北京开办了一家小图书馆。"
    f"如今，这家图书馆收藏着320张古地图。{FILLER_ZH}"
)
FILLER_TH = "เมืองนี้เงียบสงบมาก " * 6
CONTEXT_TH = (
    f"{FILLER_TH}Quillon Ashdown เปิดห้องสมุดเล็ก ๆ ในปี ค.ศ. 1951 "
    f"ปัจจุบันห้องสมุดเก็บแผนที่เก่าไว้ 623 แผ่น {FILLER_TH}"
)


def _window(feature: dict) -> tuple[int, int]:
    spans = feature["context_offsets"]
    valid = spans[spans[:, 1] > spans[:, 0]]
    return int(valid[0, 0]), int(valid[-1, 1])


@pytest.mark.parametrize(
    "context,answer",
    [
        (CONTEXT_EN, LONG_ANSWER),
        (CONTEXT_EN, "Quillon Ashdown"),
        (CONTEXT_ZH, "1947"),
        (CONTEXT_ZH, "320"),
        (CONTEXT_TH, "1951"),
        (CONTEXT_TH, "Quillon Ashdown"),
        (CONTEXT_TH, "623"),
    ],
)
def test_doc_stride_windows_label_the_exact_answer_or_cls(tokenizer, context: str, answer: str):
    fmt = SpanQAFormat(get_task("squad"), doc_stride=16)
    row = _row("q", context, "Which words?", answer)
    features = fmt.featurize([row], tokenizer, 96)
    assert len(features) > 1  # the context needs several windows
    start = context.index(answer)
    end = start + len(answer)
    holding = partial = 0
    for feature in features:
        assert len(feature["input_ids"]) <= 96
        assert feature["example_index"] == 0
        low, high = _window(feature)
        if low <= start and end <= high:
            holding += 1
            assert feature["start_position"] >= feature["context_start"]
            assert _labelled_text(row, feature) == answer
        else:
            partial += low < end and start < high
            assert (feature["start_position"], feature["end_position"]) == (0, 0)
    assert holding >= 1
    # Consecutive windows overlap: every context character is in at least one window.
    covered = np.zeros(len(context), dtype=bool)
    for feature in features:
        low, high = _window(feature)
        covered[low:high] = True
    assert covered[[i for i, c in enumerate(context) if not c.isspace()]].all()
    if answer == LONG_ANSWER:
        assert partial >= 1  # the answer crosses a window boundary somewhere


def test_windows_overlap_by_the_stride(tokenizer):
    fmt = SpanQAFormat(get_task("squad"), doc_stride=16)
    features = fmt.featurize([_row("q", CONTEXT_EN, "Which?", "Quillon Ashdown")], tokenizer, 64)
    for before, after in zip(features, features[1:], strict=False):
        n_before = len(before["context_offsets"])
        # The last `stride` context tokens of a window open the next one.
        assert (
            before["input_ids"][before["context_start"] + n_before - 16 : -1]
            == after["input_ids"][after["context_start"] : after["context_start"] + 16]
        )


def test_reference_window_sizes(tokenizer):
    fmt = SpanQAFormat(get_task("squad"))
    assert fmt._window_sizes(tokenizer, 384) == (64, 128)  # SPEC §6: doc stride 128


def test_unanswerable_and_misplaced_answers(tokenizer, caplog):
    fmt = SpanQAFormat(get_task("squad_v2"))
    context = "Marek Oakes opened a library in Norvale in 1874."
    rows = [
        _row("none", context, "Who closed it?", None),
        _row("moved", context, "When?", "1874", start=3),  # wrong start, text elsewhere
        _row("missing", context, "Where?", "Lowenfeld", start=0),  # text not in context
        _row("ok", context, "Who?", "Marek Oakes"),
    ]
    with caplog.at_level(logging.WARNING):
        features = fmt.featurize(rows, tokenizer, 384)
    assert [f["example_index"] for f in features] == [0, 1, 2, 3]  # nothing dropped from eval
    assert (features[0]["start_position"], features[0]["end_position"]) == (0, 0)
    assert _labelled_text(rows[1], features[1]) == "1874"
    assert (features[2]["start_position"], features[2]["end_position"]) == (IGNORE, IGNORE)
    assert _labelled_text(rows[3], features[3]) == "Marek Oakes"
    warnings = [r for r in caplog.records if "answer_start" in r.getMessage()]
    assert len(warnings) == 1  # one report per featurised split
    assert "2 of 4" in warnings[0].getMessage() and "1 were found" in warnings[0].getMessage()


def test_long_questions_are_clipped_not_fatal(tokenizer):
    fmt = SpanQAFormat(get_task("squad"))
    question = "why " * 400
    features = fmt.featurize([_row("q", CONTEXT_EN, question, "Quillon Ashdown")], tokenizer, 128)
    assert all(len(f["input_ids"]) <= 128 for f in features)
    assert any(f["start_position"] > 0 for f in features)


# --------------------------------------------------------------------------- n-best decoding

CONTEXT = "alpha beta gamma delta epsilon"
# Token layout of the hand-made features: 0 CLS, 1-2 question, 3 separator, 4.. context words.
SPANS = np.array([[0, 5], [6, 10], [11, 16], [17, 22], [23, 30]], dtype=np.int32)


def _feature(example: int = 0, spans: np.ndarray = SPANS) -> dict:
    return {
        "input_ids": [0] * (4 + len(spans) + 1),
        "example_index": example,
        "context_start": 4,
        "context_offsets": spans,
    }


def _logits(start: dict[int, float], end: dict[int, float], length: int = 10):
    # Unnamed positions get a low logit, so only the named ones compete.
    s, e = np.full(length, -10.0, dtype=np.float32), np.full(length, -10.0, dtype=np.float32)
    for i, v in start.items():
        s[i] = v
    for i, v in end.items():
        e[i] = v
    return s, e


def _decode(task: str, rows, features, predictions, **kwargs) -> list[str]:
    return SpanQAFormat(get_task(task), **kwargs).finalize(rows, features, predictions)


ROWS = [{"id": "q", "context": CONTEXT}]


def test_best_span_maps_back_to_context_text():
    pred = _logits({5: 3.0}, {6: 3.0})
    assert _decode("squad", ROWS, [_feature()], [pred]) == ["beta gamma"]


def test_spans_longer_than_max_answer_length_are_skipped():
    # start 4 + end 8 is the best pair (score 10) but 5 tokens long; then (6, 8) = 7 with
    # 3 tokens, then (6, 7) = 3 with 2 tokens.
    pred = _logits({4: 5.0, 6: 2.0}, {8: 5.0, 7: 1.0})
    assert _decode("squad", ROWS, [_feature()], [pred], max_answer_length=5) == [CONTEXT]
    assert _decode("squad", ROWS, [_feature()], [pred], max_answer_length=4) == [
        "gamma delta epsilon"
    ]
    assert _decode("squad", ROWS, [_feature()], [pred], max_answer_length=2) == ["gamma delta"]


def test_spans_outside_the_context_and_reversed_spans_are_rejected():
    # The highest logits sit on question tokens and the separator: never an answer.
    pred = _logits({1: 9.0, 2: 9.0, 7: 1.0}, {2: 9.0, 3: 9.0, 8: 1.0})
    assert _decode("squad", ROWS, [_feature()], [pred]) == ["delta epsilon"]
    # End before start is not a span: the best valid pair wins.
    pred = _logits({7: 5.0, 4: 1.0}, {5: 5.0, 8: 0.5})
    assert _decode("squad", ROWS, [_feature()], [pred]) == ["alpha beta"]


def test_empty_whitespace_tokens_are_never_span_edges():
    spans = SPANS.copy()
    spans[1] = (5, 5)  # a whitespace-only token, empty after trimming
    pred = _logits({5: 9.0, 6: 1.0}, {6: 2.0})
    assert _decode("squad", ROWS, [_feature(spans=spans)], [pred]) == ["gamma"]


def test_the_best_span_is_chosen_across_all_windows_of_a_question():
    rows = [{"id": "a", "context": CONTEXT}, {"id": "b", "context": "one two"}]
    features = [
        _feature(0),
        _feature(1, np.array([[0, 3], [4, 7]], dtype=np.int32)),
        _feature(0, SPANS[2:]),  # a second window of question 0 (starts at "gamma")
    ]
    predictions = [
        _logits({4: 2.0}, {4: 2.0}),  # "alpha", score 4
        _logits({5: 1.0}, {5: 1.0}),  # "two"
        _logits({5: 3.0}, {6: 3.0}),  # "delta epsilon", score 6: best of question 0
    ]
    assert _decode("squad", rows, features, predictions) == ["delta epsilon", "two"]


def test_v2_null_answer_against_the_threshold():
    features = [_feature(0), _feature(0, SPANS[2:])]
    # Null score = min over windows of start[0] + end[0] = 3 + 3 = 6; best span = 2 + 2.
    predictions = [_logits({0: 3.0, 5: 2.0}, {0: 3.0, 5: 2.0}), _logits({0: 4.0}, {0: 4.0})]
    assert _decode("squad_v2", ROWS, features, predictions) == [""]
    assert _decode("squad", ROWS, features, predictions) == ["beta"]  # v1: always a span
    # When the best span beats the null score the span is the answer in v2 too.
    predictions = [_logits({0: 1.0, 5: 2.0}, {0: 1.0, 5: 2.0}), _logits({0: 4.0}, {0: 4.0})]
    assert _decode("squad_v2", ROWS, features, predictions) == ["beta"]


def test_n_best_limits_the_candidates():
    # With n_best=1 only the single best start and end are paired; reversed -> no answer.
    pred = _logits({7: 5.0, 4: 4.0}, {5: 5.0, 8: 4.5})
    assert _decode("squad", ROWS, [_feature()], [pred], n_best=1) == [""]
    assert _decode("squad", ROWS, [_feature()], [pred], n_best=2) == ["delta epsilon"]


# --------------------------------------------------------------------------- model side


def test_collate_head_loss_and_decode(tokenizer):
    fmt = SpanQAFormat(get_task("squad"))
    rows = [
        _row("a", "Marek Oakes opened a library in 1874.", "When?", "1874"),
        _row(
            "b", "A longer context about Lowenfeld and its library in 1901.", "Where?", "Lowenfeld"
        ),
    ]
    features = fmt.featurize(rows, tokenizer, 384)
    batch = fmt.collate(features, tokenizer.pad_token_id)
    assert set(batch) == {"input_ids", "attention_mask", "start_positions", "end_positions"}
    assert all(isinstance(v, torch.Tensor) for v in batch.values())
    head = fmt.make_head(16, 0.1)
    hidden = torch.randn(*batch["input_ids"].shape, 16)
    outputs = head(hidden)
    assert outputs.shape == (*batch["input_ids"].shape, 2)
    loss = fmt.loss(outputs, batch)
    mask = batch["attention_mask"] == 0
    masked = outputs.masked_fill(mask.unsqueeze(-1), -1e9)
    expected = (
        torch.nn.functional.cross_entropy(masked[..., 0], batch["start_positions"])
        + torch.nn.functional.cross_entropy(masked[..., 1], batch["end_positions"])
    ) / 2
    assert torch.allclose(loss, expected, atol=1e-5)
    # Padding logits do not change the loss.
    noisy = outputs.detach().clone()
    noisy[mask] = 1e4
    assert torch.allclose(fmt.loss(noisy, batch), expected.detach(), atol=1e-4)
    # Features left out of training: zero loss, never NaN, and the graph stays intact.
    ignored = {**batch, "start_positions": torch.full_like(batch["start_positions"], IGNORE)}
    ignored["end_positions"] = ignored["start_positions"]
    zero = fmt.loss(outputs, ignored)
    assert zero.item() == 0.0
    zero.backward()
    decoded = fmt.decode(outputs.detach())
    assert len(decoded) == len(features)
    start, end = decoded[0]
    assert start.shape == end.shape == (batch["input_ids"].shape[1],)
    assert np.allclose(start, outputs[0, :, 0].detach().numpy())


def test_head_signature_is_shared_by_the_squad_trained_targets():
    assert SpanQAFormat(get_task("squad")).head_signature() == {"format": "span_qa", "v2": False}
    assert SpanQAFormat(get_task("squad_v2")).head_signature() == {"format": "span_qa", "v2": True}
    for task in ("xquad", "mlqa", "tydiqa"):
        fmt = get_format(get_task(task).format)(get_task(task))
        assert fmt.head_signature() == {"format": "span_qa", "v2": False}


# --------------------------------------------------------------------------- scores and files


def test_dev_score_is_squad_f1():
    fmt = SpanQAFormat(get_task("squad"))
    rows = [
        _row("a", "The Norvale bridge", "Which?", "Norvale bridge"),
        _row("b", "In 1874 it opened", "When?", "1874"),
    ]
    assert fmt.dev_score(rows, ["the Norvale bridge!", "1874"]) == pytest.approx(100.0)
    assert fmt.dev_score(rows, ["Norvale", "1875"]) == pytest.approx(100 * (2 / 3) / 2)
    v2 = SpanQAFormat(get_task("squad_v2"))
    rows.append(_row("c", "Nothing here", "Who?", None))
    assert v2.dev_score(rows, ["Norvale bridge", "1874", ""]) == pytest.approx(100.0)
    assert v2.dev_score(rows, ["Norvale bridge", "1874", "Nothing"]) == pytest.approx(200 / 3)


def test_prediction_and_label_files_are_what_the_scorer_reads(tmp_path: Path):
    fmt = SpanQAFormat(get_task("xquad"))
    rows = load_rows(get_task("xquad"), "test", "zh", EMBEDDED)
    pred_dir, label_dir = tmp_path / "predictions" / "xquad", tmp_path / "labels" / "xquad"
    pred_dir.mkdir(parents=True)
    label_dir.mkdir(parents=True)
    gold = [row["answers"]["text"][0] for row in rows]
    fmt.write_predictions(pred_dir / "test-zh.json", rows, gold)
    fmt.write_labels(label_dir / "test-zh.json", rows)
    articles = eval_formats.read_squad_articles(label_dir / "test-zh.json")
    questions = [qa for a in articles for p in a["paragraphs"] for qa in p["qas"]]
    assert [qa["id"] for qa in questions] == [row["id"] for row in rows]
    # Questions on the same context share a paragraph, as in the released files.
    assert sum(len(a["paragraphs"]) for a in articles) < len(rows)
    assert json.loads((pred_dir / "test-zh.json").read_text("utf-8"))[rows[0]["id"]] == gold[0]
    scores = score_language("xquad", pred_dir / "test-zh.json", label_dir / "test-zh.json")
    assert scores == {"exact_match": 100.0, "f1": 100.0}
    # MLQA is scored with its per-language normalisation from the same files.
    mlqa_rows = load_rows(get_task("mlqa"), "test", "zh", EMBEDDED)
    fmt.write_predictions(pred_dir / "m.json", mlqa_rows, ["x"] * len(mlqa_rows))
    fmt.write_labels(label_dir / "m.json", mlqa_rows)
    scores = score_language("mlqa", pred_dir / "m.json", label_dir / "m.json", language="zh")
    assert 0.0 <= scores["f1"] < 100.0


def test_label_files_refuse_questions_without_answers(tmp_path: Path):
    fmt = SpanQAFormat(get_task("xquad"))
    rows = [_row("a", "ctx", "q", None)]
    with pytest.raises(UserError, match="no gold answer.*removes the answers"):
        fmt.write_labels(tmp_path / "test-en.json", rows)
    # SQuAD v2 gold may hold unanswerable questions.
    SpanQAFormat(get_task("squad_v2")).write_labels(tmp_path / "v2.json", rows)
    document = json.loads((tmp_path / "v2.json").read_text("utf-8"))
    assert document["data"][0]["paragraphs"][0]["qas"][0]["is_impossible"] is True


# --------------------------------------------------------------------------- data wiring


def test_embedded_demo_rows_of_every_qa_task():
    squad = load_rows(get_task("squad"), "train", "en", EMBEDDED)
    assert len(squad) >= 300 and set(squad[0]) == {"id", "title", "context", "question", "answers"}
    v2 = load_rows(get_task("squad_v2"), "train", "en", EMBEDDED)
    assert 0.2 < sum(not r["answers"]["text"] for r in v2) / len(v2) < 0.5
    for lang in get_task("xquad").languages_for("xtreme_r"):
        assert len(load_rows(get_task("xquad"), "test", lang, EMBEDDED)) >= 20
    for lang in get_task("mlqa").languages_for("xtreme"):
        assert load_rows(get_task("mlqa"), "test", lang, EMBEDDED)
        assert load_rows(get_task("mlqa"), "validation", lang, EMBEDDED)


def test_tydiqa_id_prefix_keeps_english_train_and_one_language_per_test_set():
    raw = [json.loads(line) for line in (DEMO / "google__xtreme/tydiqa/train.jsonl").open()]
    assert {r["id"].split("-")[0] for r in raw} > {"english"}  # the demo mixes languages
    train = load_rows(get_task("tydiqa"), "train", "en", EMBEDDED)
    assert train and all(r["id"].startswith("english-") for r in train)
    assert len(train) == sum(r["id"].startswith("english-") for r in raw)
    names = get_task("tydiqa").raw["id_prefixes"]
    for lang in get_task("tydiqa").languages_for("xtreme"):
        rows = load_rows(get_task("tydiqa"), "test", lang, EMBEDDED)
        assert rows and all(r["id"].startswith(names[lang]) for r in rows)


def _squad_file(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = [
        {
            "paragraphs": [
                {
                    "context": r["context"],
                    "qas": [
                        {
                            "id": r["id"],
                            "question": r["question"],
                            "answers": [
                                {"text": t, "answer_start": s}
                                for t, s in zip(
                                    r["answers"]["text"], r["answers"]["answer_start"], strict=True
                                )
                            ],
                        }
                    ],
                }
            ]
        }
        for r in rows
    ]
    _write_json(path, {"data": data, "version": "1.1"})


def test_xtreme_download_folder_and_local_original_files(tmp_path: Path):
    context = "Marek Oakes opened a library in 1874."
    english = [_row("english-1-0", context, "When?", "1874")]
    arabic = [_row("arabic-2-0", context, "When?", "1874")]
    root = tmp_path / "download"
    _squad_file(root / "squad/train-v1.1.json", english)
    # XTREME cuts the train ids to their last segment: no prefix left, and no filter applies.
    _squad_file(
        root / "tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json",
        [{**english[0], "id": "0"}],
    )
    _squad_file(root / "mlqa/MLQA_V1/dev/dev-context-de-question-de.json", english)
    cfg = {"source": "xtreme_dir", "root": str(root)}
    assert load_rows(get_task("squad"), "train", "en", cfg)[0]["answers"]["text"] == ["1874"]
    assert load_rows(get_task("tydiqa"), "train", "en", cfg)[0]["id"] == "0"
    assert len(load_rows(get_task("mlqa"), "validation", "de", cfg)) == 1
    with pytest.raises(UserError, match="data file not found"):
        load_rows(get_task("xquad"), "test", "de", cfg)
    # The original combined TyDiQA release holds every language: English only is kept.
    combined = tmp_path / "tydiqa-goldp-v1.1-train.json"
    _squad_file(combined, english + arabic)
    local = {"source": "local", "files": {"tydiqa": {"train": str(combined)}}}
    assert [r["id"] for r in load_rows(get_task("tydiqa"), "train", "en", local)] == ["english-1-0"]


# --------------------------------------------------------------------------- demo data


def test_demo_generator_is_deterministic_and_the_files_are_consistent(tmp_path: Path):
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_demo_qa.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
    assert len(generated) == 32
    total = 0
    for relative in generated:
        packaged = DEMO / relative
        assert packaged.read_bytes() == (tmp_path / relative).read_bytes(), relative
        total += packaged.stat().st_size
        for line in packaged.open(encoding="utf-8"):
            row = json.loads(line)
            for text, start in zip(
                row["answers"]["text"], row["answers"]["answer_start"], strict=True
            ):
                assert row["context"][start : start + len(text)] == text
    assert total < 500_000


# --------------------------------------------------------------------------- end to end


def _train(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "train",
            *overrides,
            f"output_root={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _table_languages(stdout: str, task: str) -> list[str]:
    lines = stdout.split(f"{task}: zero-shot scores")[1].splitlines()
    # A trailing "*" marks a score not comparable to the published one (the demo data).
    rows = [
        [c for c in line.split() if c != "*"]
        for line in lines[3:]
        if line and not line.startswith("-")
    ]
    return [cells[0] for cells in rows if cells[0] != "avg" and len(cells) == 3]


def test_cli_trains_squad_then_xquad_and_prints_the_language_table(tmp_path: Path):
    # The demo command, shortened (one epoch each on 48 questions) to stay fast.
    proc = _train(
        tmp_path,
        "intermediate=squad",
        "target=xquad",
        "intermediate.tasks.squad.epochs=1",
        "target.epochs=1",
        "trainer.max_train_examples=48",
    )
    assert _table_languages(proc.stdout, "xquad") == get_task("xquad").languages_for("xtreme")
    # The shortened settings differ from the defaults: the folder carries their hash.
    (run_dir,) = (
        p.parent
        for p in (tmp_path / "runs/embedded/tiny").glob("squad-to-xquad*/seed0/results.json")
    )
    assert run_dir.parent.name.startswith("squad-to-xquad.cfg-")
    results = json.loads((run_dir / "results.json").read_text("utf-8"))
    assert [p["name"] for p in results["phases"]] == ["intermediate", "target"]
    assert results["summary"]["xquad"]["languages"] == 11
    assert {s["metric"] for s in results["scores"]} == {"exact_match", "f1"}
    for lang in get_task("xquad").languages_for("xtreme"):
        scored = score_language(
            "xquad",
            run_dir / f"predictions/xquad/test-{lang}.json",
            run_dir / f"labels/xquad/test-{lang}.json",
        )
        recorded = {s["metric"]: s["value"] for s in results["scores"] if s["lang"] == lang}
        assert scored == pytest.approx(recorded)


@pytest.mark.slow
def test_cli_demo_runs_of_every_qa_target(tmp_path: Path):
    """`xtransfer train intermediate=squad target=xquad` as documented, then MLQA (which reuses
    both phases: same SQuAD data and head), TyDiQA, and SQuAD v2 as the intermediate task."""
    proc = _train(tmp_path, "intermediate=squad", "target=xquad")
    assert _table_languages(proc.stdout, "xquad") == get_task("xquad").languages_for("xtreme")
    proc = _train(tmp_path, "intermediate=squad", "target=mlqa")
    assert proc.stdout.count("reusing cached phase") == 2
    assert _table_languages(proc.stdout, "mlqa") == get_task("mlqa").languages_for("xtreme")
    proc = _train(tmp_path, "intermediate=squad", "target=tydiqa")
    assert _table_languages(proc.stdout, "tydiqa") == get_task("tydiqa").languages_for("xtreme")
    proc = _train(tmp_path, "intermediate=squad_v2", "target=xquad")
    assert _table_languages(proc.stdout, "xquad") == get_task("xquad").languages_for("xtreme")
