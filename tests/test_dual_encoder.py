"""Dual-encoder retrieval (LAReQA, Mewsli-X): loss, pooling, pairs, readers, the CLI at demo
scale (scores == `xtransfer score`), and the real XQuAD-R files through the tiny model."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from xtransfer.config import asset_path
from xtransfer.data.dual_encoder_files import read_lareqa_json, read_mewslix_jsonl
from xtransfer.errors import UserError
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.formats.dual_encoder import (
    DualEncoderHead,
    in_batch_softmax_loss,
    mean_pool,
    mention_query,
    split_sentences,
)
from xtransfer.tasks.registry import TaskSpec, get_task

LAREQA_LANGS = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]


@pytest.fixture(scope="module")
def tokenizer():
    from xtransfer.training.model import load_tokenizer

    return load_tokenizer(asset_path("tiny-xlmr"))


def _tiny_model(task: str):
    from xtransfer.training.model import TaskModel, build_pretrained_encoder

    fmt = get_format("dual_encoder_retrieval")(get_task(task))
    encoder = build_pretrained_encoder({"config_dir": asset_path("tiny-xlmr")}, 0)
    model = TaskModel(encoder, {task: fmt.make_head(encoder.config.hidden_size, 0.1)})
    return fmt, model


# --- loss and pooling ------------------------------------------------------------------------


def test_loss_equals_the_definition_on_a_2x2_case():
    # q1 = (1, 0), q2 = (0.6, 0.8) (unit); c1 = (1, 0), c2 = (0, 1); tau = 0.5.
    # Logits s = q·cᵀ / tau = [[2, 0], [1.2, 1.6]]; the target of query i is candidate i:
    # L = ( -log(e^2 / (e^2 + e^0)) - log(e^1.6 / (e^1.2 + e^1.6)) ) / 2.
    expected = (
        -math.log(math.exp(2) / (math.exp(2) + 1))
        - math.log(math.exp(1.6) / (math.exp(1.2) + math.exp(1.6)))
    ) / 2
    q = torch.tensor([[3.0, 0.0], [0.6, 0.8]])  # q1 unnormalised: the loss normalises
    c = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    loss = in_batch_softmax_loss(q, c, torch.tensor([0, 1]), temperature=0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # The same item twice (group 0 = 0): each query's target is half on either candidate.
    p = [
        [math.exp(2) / (math.exp(2) + 1), 1 / (math.exp(2) + 1)],
        [math.exp(1.2) / (math.exp(1.2) + math.exp(1.6)), 1 / (1 + math.exp(-0.4))],
    ]
    shared = -sum(0.5 * math.log(p[i][0]) + 0.5 * math.log(p[i][1]) for i in range(2)) / 2
    loss = in_batch_softmax_loss(q, c, torch.tensor([7, 7]), temperature=0.5)
    assert loss.item() == pytest.approx(shared, rel=1e-6)


def test_pooling_ignores_padding():
    hidden = torch.randn(2, 5, 4)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    pooled = mean_pool(hidden, mask)
    assert torch.allclose(pooled[0], hidden[0, :3].mean(dim=0))
    assert torch.allclose(pooled[1], hidden[1].mean(dim=0))
    garbage = hidden.clone()
    garbage[0, 3:] = 1e6  # whatever sits at padded positions
    head = DualEncoderHead(4, projection_dim=3)
    assert torch.allclose(head(garbage, pool_mask=mask), head(hidden, pool_mask=mask))


def test_a_text_embeds_the_same_alone_and_padded_in_a_batch(tokenizer):
    fmt, model = _tiny_model("lareqa")
    short = ("Rhea Northam opened a library.", None)
    long = ("Today the library in Kingsmoor keeps 587 old maps and many more books.", None)
    alone = fmt.encode(model, tokenizer, [short], 64, 8)
    batched = fmt.encode(model, tokenizer, [long, short], 64, 8)
    assert abs(float((alone[0] ** 2).sum()) - 1.0) < 1e-5  # L2-normalised
    assert torch.allclose(torch.from_numpy(alone[0]), torch.from_numpy(batched[1]), atol=1e-5)


def test_head_without_projection_still_has_a_checkpoint_entry():
    # Checkpoints store heads by their state dict; an empty one could not be loaded back.
    assert DualEncoderHead(8, None).state_dict()
    assert "proj.weight" in DualEncoderHead(8, 4).state_dict()


def test_bad_settings_are_user_errors():
    base = get_task("lareqa")
    for conf, message in [
        ({"kind": "answer_sentence", "temperature": 0}, "temperature"),
        ({"kind": "answer_sentence", "projection_dim": -2}, "projection_dim"),
        ({"kind": "ranking"}, "kind"),
    ]:
        task = TaskSpec(**{**vars(base), "raw": {**base.raw, "dual_encoder": conf}})
        with pytest.raises(UserError, match=message):
            get_format("dual_encoder_retrieval")(task)


# --- rows -> pairs ---------------------------------------------------------------------------


def test_sentences_and_answer_sentence_pairs():
    text = "Mr. Smith went to the U.S. in 1999. He stayed! 他来了。 Was it fun?"
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts == ["Mr. Smith went to the U.S. in 1999.", "He stayed!", "他来了。", "Was it fun?"]
    fmt = get_format("dual_encoder_retrieval")(get_task("lareqa"))
    context = "Alden Oakes founded a school. It has 450 students. Winters are cold."
    rows = [
        {"question": "How many?", "context": context, "answers": {"answer_start": [37]}},
        {"question": "Nothing?", "context": context, "answers": {"answer_start": []}},
        # Official sentence breaks win over splitting: here the whole context is one sentence.
        {
            "question": "Who?",
            "context": context,
            "answers": {"answer_start": [0]},
            "sentence_breaks": [[0, len(context)]],
        },
    ]
    pairs = fmt.pairs(rows)
    assert [(i, q[0], c[0]) for i, q, c, _ in pairs] == [
        (0, "How many?", "It has 450 students."),
        (2, "Who?", context),
    ]


def test_mewslix_rows_and_reader(tmp_path):
    context = {"text": "Heute liest Rhea Northam ein Buch. Es regnet.", "sentence_spans": []}
    context["sentence_spans"] = [{"start": 0, "end": 34}, {"start": 35, "end": 45}]
    mentions = [
        {
            "example_id": "a1",
            "mention_span": {"start": 12, "end": 24, "text": "Rhea Northam"},
            "entity_id": "Q7",
        },
        {
            "example_id": "a2",
            "mention_span": {"start": 35, "end": 37, "text": "Es"},
            "entity_id": "Q8",
        },
    ]
    path = tmp_path / "dev-de.jsonl"
    entity = {"entity_id": "Q7", "title": "Rhea Northam", "description": "A painter."}
    path.write_text(
        json.dumps({"context": context, "mentions": mentions}) + "\n" + json.dumps(entity) + "\n",
        encoding="utf-8",
    )
    rows = read_mewslix_jsonl(path)
    assert [r.get("mention", {}).get("example_id") for r in rows] == ["a1", "a2", None]
    assert mention_query(rows[0]) == (
        "a1",
        ("Rhea Northam", "Heute liest Rhea Northam ein Buch."),
        "Q7",
    )
    assert mention_query(rows[1])[1] == ("Es", "Es regnet.")


# --- CLI at demo scale -----------------------------------------------------------------------


def _train(root: Path, target: str) -> tuple[dict, Path]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "train",
            "intermediate=none",
            f"target={target}",
            "benchmark=xtreme_r",
            f"output_root={root}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_path,) = root.glob(f"runs/*/*/none-to-{target}*/seed*/results.json")
    return json.loads(results_path.read_text()), results_path.parent


def _score(run_dir: Path, task: str) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "score",
            "--predictions",
            str(run_dir / "predictions"),
            "--labels",
            str(run_dir / "labels"),
            "--benchmark",
            "xtreme-r",
            "--tasks",
            task,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("task", ["lareqa", "mewslix"])
def test_cli_trains_and_scores_every_language(tmp_path, task):
    results, run_dir = _train(tmp_path, task)
    languages = get_task(task).languages_for("xtreme_r")
    values = {s["lang"]: s["value"] for s in results["scores"] if s["metric"] == "map@20"}
    assert sorted(values) == sorted(languages)
    assert all(0.0 <= v <= 100.0 for v in values.values())
    assert [p["name"] for p in results["phases"]] == ["target"]
    # The run's numbers are the scorer's on the run folder.
    scored = _score(run_dir, task)["detailed_scores"][task]
    assert scored["map@20"] == pytest.approx(values, abs=1e-9)
    assert results["summary"][task]["avg_metric"] == pytest.approx(scored["avg_metric"])
    predictions = json.loads((run_dir / "predictions" / task / "test-de.json").read_text())
    labels = json.loads((run_dir / "labels" / task / "test-de.json").read_text())
    assert set(predictions) == set(labels)
    assert all(1 <= len(ids) <= 20 and len(set(ids)) == len(ids) for ids in predictions.values())
    if task == "lareqa":
        # Relevant = the answer sentence in every language; the pool spans all 11 languages.
        assert all(
            sorted(ids[i].split("-")[0] for i in range(len(ids))) == LAREQA_LANGS
            for ids in labels.values()
        )
        assert {i.split("-")[0] for ids in predictions.values() for i in ids} - {"de"}
    # The English training signal transfers: clearly above what chance ranking gives.
    assert sum(values.values()) / len(values) > (40.0 if task == "mewslix" else 3.0)


def test_demo_generator_is_reproducible(tmp_path):
    script = Path(__file__).resolve().parents[1] / "scripts" / "make_demo_dual_encoder.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True
    )
    demo = Path(asset_path("demo"))
    written = sorted(p for p in tmp_path.rglob("*.jsonl"))
    assert len(written) == 11 + 2 + 22 + 1
    for path in written:
        assert path.read_bytes() == (demo / path.relative_to(tmp_path)).read_bytes(), path


# --- real XQuAD-R ----------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_xquad_r_all_languages_scoreable(shared_data, tokenizer, tmp_path):
    from xtransfer.evaluation.scoring import score_folder

    folder = shared_data / "xquad-r"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    # The official sentence breaks: the candidate counts of the LAReQA release.
    en_rows = read_lareqa_json(folder / "en.json")
    assert len(en_rows) == 1190
    paragraphs = {r["context"]: r["sentence_breaks"] for r in en_rows}
    assert sum(len(b) for b in paragraphs.values()) == 1180

    # A few paragraphs per language keep the tiny-model encoding fast; question ids are shared.
    rows_by_lang = {}
    for lang in LAREQA_LANGS:
        rows = read_lareqa_json(folder / f"{lang}.json")
        contexts = list(dict.fromkeys(r["context"] for r in rows))[:4]
        rows_by_lang[lang] = [r for r in rows if r["context"] in contexts]
    fmt, model = _tiny_model("lareqa")
    settings = {"max_length": 128, "test_split": "test"}
    for lang in LAREQA_LANGS:
        rows = [dict(r) for r in rows_by_lang[lang]]
        ranked = fmt.rank_language(
            model,
            tokenizer,
            rows,
            lang,
            settings,
            None,
            64,
            load=lambda _split, code: rows_by_lang[code],
            languages=LAREQA_LANGS,
        )
        for sub in ("predictions", "labels"):
            (tmp_path / sub / "lareqa").mkdir(parents=True, exist_ok=True)
        fmt.write_predictions(
            tmp_path / "predictions" / "lareqa" / f"test-{lang}.json", rows, ranked
        )
        fmt.write_labels(tmp_path / "labels" / "lareqa" / f"test-{lang}.json", rows)
        # Every question has its answer sentence in (nearly) every language.
        assert max(len(r["relevant"]) for r in rows) == 11
    report = score_folder(
        tmp_path / "predictions", tmp_path / "labels", benchmark="xtreme-r", tasks=["lareqa"]
    )
    scores = report["detailed_scores"]["lareqa"]["map@20"]
    assert sorted(scores) == sorted(LAREQA_LANGS)
    assert all(0.0 <= v <= 100.0 for v in scores.values())
    assert report["missing"].get("lareqa", []) == []
