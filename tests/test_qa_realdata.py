"""Extractive QA on the real XQuAD files (../shared/data/xquad, 12 languages, 1190 questions
each): the SQuAD JSON reader, featurisation of every script, label files the scorer accepts, and
the whole QA path with the tiny model (featurise -> predict -> finalize -> write -> score)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from xtransfer.config import asset_path
from xtransfer.data.squad_json import read_squad_json
from xtransfer.evaluation import formats as eval_formats
from xtransfer.evaluation.scoring import score_language
from xtransfer.tasks.formats.span_qa import SpanQAFormat
from xtransfer.tasks.registry import get_task

pytestmark = pytest.mark.realdata

LANGS = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]
QUESTIONS = 1190


@pytest.fixture(scope="module")
def xquad(shared_data: Path) -> dict[str, list[dict]]:
    return {lang: read_squad_json(shared_data / "xquad" / f"xquad.{lang}.json") for lang in LANGS}


@pytest.fixture(scope="module")
def tokenizer():
    from xtransfer.training.model import load_tokenizer

    return load_tokenizer(asset_path("tiny-xlmr"))


def test_reader_on_the_real_xquad_files(xquad):
    for lang, rows in xquad.items():
        assert len(rows) == QUESTIONS, lang
        assert len({row["id"] for row in rows}) == QUESTIONS
        for row in rows:
            answers = row["answers"]
            assert answers["text"], row["id"]
            for text, start in zip(answers["text"], answers["answer_start"], strict=True):
                assert row["context"][start : start + len(text)] == text
    # The languages are translations of one another: same question ids in every file.
    assert all([r["id"] for r in rows] == [r["id"] for r in xquad["en"]] for rows in xquad.values())


@pytest.mark.parametrize("lang", ["en", "zh", "th", "ar", "hi", "ru", "el"])
def test_featurisation_maps_real_answers_back_through_offsets(xquad, tokenizer, lang):
    rows = xquad[lang][::5]  # every article, a fifth of the questions: fast
    fmt = SpanQAFormat(get_task("xquad"))
    features = fmt.featurize(rows, tokenizer, 384)
    assert len(features) >= len(rows)  # long contexts are windowed (zh ones fit one window)
    labelled: dict[int, list[str]] = {}
    for feature in features:
        assert len(feature["input_ids"]) <= 384
        if feature["start_position"] == 0:
            continue
        first, spans = feature["context_start"], feature["context_offsets"]
        row = rows[feature["example_index"]]
        start = spans[feature["start_position"] - first, 0]
        end = spans[feature["end_position"] - first, 1]
        labelled.setdefault(feature["example_index"], []).append(row["context"][start:end])
    assert len(labelled) == len(rows)  # every answer is wholly inside some window
    exact = 0
    for index, texts in labelled.items():
        answer = rows[index]["answers"]["text"][0].strip()
        # A sub-word may run past the answer (CJK without spaces), never cut into it.
        assert all(answer in text for text in texts), (answer, texts)
        exact += all(text == answer for text in texts)
    assert exact / len(labelled) >= (0.85 if lang == "zh" else 0.98)


def test_gold_answers_score_100_through_written_files(xquad, tmp_path: Path):
    fmt = SpanQAFormat(get_task("xquad"))
    for lang, rows in xquad.items():
        predictions, labels = tmp_path / f"p-{lang}.json", tmp_path / f"test-{lang}.json"
        fmt.write_predictions(predictions, rows, [row["answers"]["text"][0] for row in rows])
        fmt.write_labels(labels, rows)
        assert score_language("xquad", predictions, labels) == {"exact_match": 100.0, "f1": 100.0}


def _qa_pipeline(xquad, tokenizer, tmp_path: Path, every: int, max_length: int) -> None:
    """Featurise, predict with a random tiny encoder + the QA head, finalize, write, score."""
    import torch
    from accelerate import Accelerator
    from omegaconf import OmegaConf

    from xtransfer.config import register_resolvers
    from xtransfer.hydra_app import CONFIG_DIR
    from xtransfer.training.loop import predict
    from xtransfer.training.model import TaskModel, build_pretrained_encoder

    register_resolvers()
    model_cfg = OmegaConf.load(Path(CONFIG_DIR) / "model" / "tiny.yaml")
    encoder = build_pretrained_encoder(OmegaConf.to_container(model_cfg, resolve=True), seed=0)
    fmt = SpanQAFormat(get_task("xquad"))
    torch.manual_seed(0)
    model = TaskModel(encoder, {"xquad": fmt.make_head(encoder.config.hidden_size, 0.1)})
    accelerator = Accelerator(cpu=True)
    pred_dir, label_dir = tmp_path / "predictions" / "xquad", tmp_path / "labels" / "xquad"
    pred_dir.mkdir(parents=True)
    label_dir.mkdir(parents=True)
    for lang in LANGS:
        rows = xquad[lang]
        assert len(rows) == QUESTIONS
        asked = rows[::every]  # all articles and paragraphs; every n-th question
        features = fmt.featurize(asked, tokenizer, max_length)
        outputs = predict(model, "xquad", fmt, features, 128, accelerator, tokenizer.pad_token_id)
        answers = fmt.finalize(asked, features, outputs)
        assert len(answers) == len(asked)
        for row, answer in zip(asked, answers, strict=True):
            assert answer and answer in row["context"]  # v1: always a span of the context
        fmt.write_predictions(pred_dir / f"test-{lang}.json", asked, answers)
        fmt.write_labels(label_dir / f"test-{lang}.json", rows)  # all 1190 questions
        gold = eval_formats.read_squad_articles(label_dir / f"test-{lang}.json")
        assert sum(len(p["qas"]) for a in gold for p in a["paragraphs"]) == QUESTIONS
        scores = score_language(
            "xquad", pred_dir / f"test-{lang}.json", label_dir / f"test-{lang}.json"
        )
        assert set(scores) == {"exact_match", "f1"}
        for value in scores.values():
            assert math.isfinite(value) and 0.0 <= value <= 100.0


def test_qa_pipeline_scores_real_xquad_in_all_12_languages(xquad, tokenizer, tmp_path: Path):
    # Every 16th question (all articles, ~75 questions per language) keeps this under a minute
    # on 2 CPU cores: the tiny tokenizer's small vocabulary makes XQuAD contexts ~1,300 tokens
    # long, so all 14,280 questions take several minutes (the slow variant below). Questions
    # not asked score 0, as the scorer does for any missing prediction.
    _qa_pipeline(xquad, tokenizer, tmp_path, every=16, max_length=384)


@pytest.mark.slow
def test_qa_pipeline_scores_every_real_xquad_question(xquad, tokenizer, tmp_path: Path):
    _qa_pipeline(xquad, tokenizer, tmp_path, every=1, max_length=384)
