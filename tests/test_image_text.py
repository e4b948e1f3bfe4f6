"""The image_text format (captions <-> given image vectors, symmetric InfoNCE), the local caption
reader, and training on the synthetic demo set."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from xtransfer.config import asset_path
from xtransfer.data.captions import read_captions
from xtransfer.data.sources import load_rows
from xtransfer.errors import UserError
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.formats.image_text import (
    ImageTextFormat,
    retrieval_accuracy,
    symmetric_info_nce,
)
from xtransfer.tasks.registry import all_tasks, get_task

DEMO = {"source": "embedded", "root": asset_path("demo")}


@pytest.fixture(scope="module")
def tokenizer():
    from xtransfer.training.model import load_tokenizer

    return load_tokenizer(asset_path("tiny-xlmr"))


@pytest.fixture(scope="module")
def fmt() -> ImageTextFormat:
    return get_format("image_text")(get_task("captions"))


def test_symmetric_loss_equals_the_definition_on_a_2x2_case():
    # Captions t1 = (1, 0), t2 = (0, 1); images v1 = (1, 0), v2 = (1, 1) (normalised: /√2);
    # tau = 0.5. Cosines: t1·v1 = 1, t1·v2 = 1/√2, t2·v1 = 0, t2·v2 = 1/√2, so the logits
    # (cosine / tau) are [[2, √2], [0, √2]].
    text = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # the loss normalises: length does not matter
    images = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    r2 = math.sqrt(2)
    caption_to_image = (
        -math.log(math.exp(2) / (math.exp(2) + math.exp(r2)))  # row 1, target column 1
        - math.log(math.exp(r2) / (math.exp(0) + math.exp(r2)))  # row 2, target column 2
    ) / 2
    image_to_caption = (
        -math.log(math.exp(2) / (math.exp(2) + math.exp(0)))  # column 1: logits 2 and 0
        - math.log(0.5)  # column 2: logits √2 and √2
    ) / 2
    expected = (caption_to_image + image_to_caption) / 2
    got = symmetric_info_nce(text, images, temperature=0.5).item()
    assert got == pytest.approx(expected, abs=1e-6)


def test_captions_of_one_image_share_the_target():
    # Two captions of the same image (equal vectors) and a third image: with the first two
    # captions embedded exactly like their image, the loss is the cross-entropy against the
    # target (1/2, 1/2, 0) in rows 1-2, which a one-hot target would not give.
    images = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    text = images.clone()
    tau = 1.0
    logits = (text @ images.T) / tau  # unit vectors already
    soft = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    log_p = torch.log_softmax(logits, dim=1)
    log_q = torch.log_softmax(logits.T, dim=1)
    expected = (-(soft * log_p).sum(1).mean() - (soft * log_q).sum(1).mean()) / 2
    assert symmetric_info_nce(text, images, tau).item() == pytest.approx(expected.item(), abs=1e-6)


def test_retrieval_accuracy_counts_equal_images_as_hits():
    images = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    text = torch.tensor([[1.0, 0.1], [0.9, 0.0], [1.0, 0.0]])  # the third caption is wrong
    assert retrieval_accuracy(text, images) == pytest.approx(200 / 3)


def test_bad_vector_dimension_is_a_user_error(fmt, tokenizer):
    rows = [{"text": "books at the park", "vector": [0.1] * (fmt.vector_dim - 1)}]
    with pytest.raises(UserError, match=rf"31 values, the task's vector_dim is {fmt.vector_dim}"):
        fmt.featurize(rows, tokenizer, 32)
    for bad, message in [
        ([float("nan")] * fmt.vector_dim, "NaN"),
        ([0.0] * fmt.vector_dim, "all zeros"),
        ("not numbers", "not a list of numbers"),
    ]:
        with pytest.raises(UserError, match=message):
            fmt.featurize([{"text": "pens", "vector": bad}], tokenizer, 32)


def test_task_without_vector_dim_or_with_bad_temperature_is_a_user_error():
    spec = get_task("captions")
    raw = {k: v for k, v in spec.raw.items() if k != "vector_dim"}
    with pytest.raises(UserError, match="needs vector_dim"):
        ImageTextFormat(replace(spec, raw=raw))
    with pytest.raises(UserError, match="temperature must be > 0"):
        ImageTextFormat(replace(spec, raw={**spec.raw, "temperature": 0}))


def test_head_is_never_interchangeable_with_another_task(fmt):
    signature = fmt.head_signature()
    for name, spec in all_tasks().items():
        if name == "captions":
            continue
        try:
            other = get_format(spec.format)(spec)
            other_signature = other.head_signature()
        except (UserError, NotImplementedError, AssertionError):
            continue  # encoder-only formats have no head at all
        assert other_signature != signature, name


def test_demo_data_vectors_are_learnable_functions_of_the_captions():
    rows = load_rows(get_task("captions"), "train", "en", DEMO)
    dev = load_rows(get_task("captions"), "validation", "en", DEMO)
    assert len(rows) == 480 and len(dev) == 96
    dim = get_task("captions").raw["vector_dim"]
    for row in rows + dev:
        assert len(row["vector"]) == dim
        assert np.linalg.norm(row["vector"]) == pytest.approx(1.0, abs=1e-4)
    # Captions that mention the same concepts have the same vector (a function of the text).
    by_words: dict[frozenset, set] = {}
    stop = {"at", "the", "in", "there", "are", "has", "this", "seen", "on", "a", "photo", "of"}
    for row in rows:
        key = frozenset(w for w in row["text"].split() if w not in stop)
        by_words.setdefault(key, set()).add(tuple(row["vector"]))
    assert all(len(vectors) == 1 for vectors in by_words.values())


@pytest.fixture(autouse=True)
def _one_thread():
    # A 2-layer model on a shared CPU runs far faster single-threaded (as trainer=demo does).
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _train(fmt, tokenizer, rows, steps, seed=0, batch=32, lr=2e-3):
    from xtransfer.training.model import TaskModel, build_pretrained_encoder

    cfg = {"config_dir": asset_path("tiny-xlmr"), "pretrained": None}
    encoder = build_pretrained_encoder(cfg, seed)
    model = TaskModel(encoder, {"captions": fmt.make_head(encoder.config.hidden_size, 0.0)})
    features = fmt.featurize(rows, tokenizer, 64)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    rng = random.Random(seed)
    losses = []
    for _ in range(steps):
        chosen = rng.sample(range(len(features)), batch)
        batch_ = fmt.collate([features[i] for i in chosen], tokenizer.pad_token_id)
        loss = fmt.loss(model("captions", **batch_), batch_)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model, losses


def _dev_accuracy(model, fmt, tokenizer, rows) -> float:
    model.eval()
    features = fmt.featurize(rows, tokenizer, 64)
    with torch.no_grad():
        batch = fmt.collate(features, tokenizer.pad_token_id)
        predictions = fmt.decode(model("captions", **batch))
    model.train()
    return fmt.dev_score(rows, predictions)


def test_training_lowers_the_loss_and_retrieves_above_chance(fmt, tokenizer):
    torch.manual_seed(0)
    rows = load_rows(get_task("captions"), "train", "en", DEMO)
    dev = load_rows(get_task("captions"), "validation", "en", DEMO)
    chance = 100.0 / len({tuple(r["vector"]) for r in dev})  # one of the distinct dev images
    model, losses = _train(fmt, tokenizer, rows, steps=120)
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last < 0.8 * first, (first, last)
    accuracy = _dev_accuracy(model, fmt, tokenizer, dev)
    assert accuracy > 5 * chance, (accuracy, chance)


def test_loss_decreases_within_a_few_steps(fmt, tokenizer):
    rows = load_rows(get_task("captions"), "train", "en", DEMO)[:32]
    _, losses = _train(fmt, tokenizer, rows, steps=8, batch=32)
    assert losses[-1] < losses[0]


# ---- local files: captions + a vector file beside them ----------------------------------------


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_local_jsonl_with_npy_vectors_by_image_index(tmp_path):
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4) + 1
    np.save(tmp_path / "train.npy", vectors)
    _write_jsonl(
        tmp_path / "train.jsonl",
        [{"caption": "a", "image_index": 2}, {"caption": "b", "image_index": 0}],
    )
    rows = read_captions(tmp_path / "train.jsonl")
    assert [r["image_vector"] for r in rows] == [vectors[2].tolist(), vectors[0].tolist()]
    spec = replace(get_task("captions"), raw={**get_task("captions").raw, "vector_dim": 4})
    data = {"source": "local", "files": {"captions": {"train": str(tmp_path / "train.jsonl")}}}
    loaded = load_rows(spec, "train", "en", data)
    assert loaded == [
        {"text": "a", "vector": vectors[2].tolist()},
        {"text": "b", "vector": vectors[0].tolist()},
    ]


def test_local_tsv_with_safetensors_vectors_in_row_order(tmp_path):
    from safetensors.numpy import save_file

    vectors = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    save_file({"image_embeds": vectors}, str(tmp_path / "dev.safetensors"))
    (tmp_path / "dev.tsv").write_text("caption\nfirst one\nsecond one\n", encoding="utf-8")
    rows = read_captions(tmp_path / "dev.tsv")
    assert [r["caption"] for r in rows] == ["first one", "second one"]
    assert np.allclose([r["image_vector"] for r in rows], vectors)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("count", "2 vectors for 3 captions"),
        ("index", "image_index 5 is outside"),
        ("pickle", "not a readable vector file"),
        ("both", "keep one"),
        ("shape", "2-D numeric array"),
    ],
)
def test_local_vector_file_errors(tmp_path, setup, message):
    captions = tmp_path / "c.jsonl"
    if setup == "count":
        _write_jsonl(captions, [{"caption": "x"}] * 3)
        np.save(tmp_path / "c.npy", np.ones((2, 4), dtype=np.float32))
    elif setup == "index":
        _write_jsonl(captions, [{"caption": "x", "image_index": 5}])
        np.save(tmp_path / "c.npy", np.ones((2, 4), dtype=np.float32))
    elif setup == "pickle":  # an object array needs pickle: never loaded
        _write_jsonl(captions, [{"caption": "x"}])
        np.save(tmp_path / "c.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    elif setup == "both":
        _write_jsonl(captions, [{"caption": "x"}])
        np.save(tmp_path / "c.npy", np.ones((1, 4), dtype=np.float32))
        (tmp_path / "c.safetensors").write_bytes(b"")
    else:
        _write_jsonl(captions, [{"caption": "x"}])
        np.save(tmp_path / "c.npy", np.ones(4, dtype=np.float32))
    with pytest.raises(UserError, match=message):
        read_captions(captions)


def test_tsv_inline_vectors_are_parsed(fmt, tokenizer):
    vector = " ".join(["0.5"] * fmt.vector_dim)
    features = fmt.featurize([{"text": "pens at home", "vector": vector}], tokenizer, 32)
    assert features[0]["vector"] == [0.5] * fmt.vector_dim


def test_keep_head_never_carries_the_caption_head_into_a_target(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "xtransfer", "plan", "intermediate=captions", "target=xnli",
         "keep_head=true", f"output_root={tmp_path}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert "matches no head of the last intermediate phase (captions: image_text)" in done.stderr
