"""Alignment study: measures from real (tiny) encoders on the embedded Tatoeba pairs, with a
setup whose encoder IS the pretrained one (its alignment change must be exactly zero)."""

from __future__ import annotations

import csv
from collections import defaultdict

import numpy as np
import pytest
import yaml

from xtransfer.cli import main
from xtransfer.config import asset_path
from xtransfer.studies.synthetic import write_run

torch = pytest.importorskip("torch")

LANGS = ["de", "fr", "zh"]


def _config(seed: int) -> dict:
    return {
        "seed": seed,
        "model": {
            "name": "tiny",
            "pretrained": None,
            "config_dir": asset_path("tiny-xlmr"),
            "tokenizer": asset_path("tiny-xlmr"),
            "attn_implementation": "sdpa",
        },
        "data": {"name": "embedded", "source": "embedded", "root": asset_path("demo")},
    }


def _save_encoder(directory, seed):
    from xtransfer.training.model import build_pretrained_encoder, load_tokenizer

    cfg = _config(seed)["model"]
    build_pretrained_encoder(cfg, seed).save_pretrained(directory / "encoder")
    load_tokenizer(cfg["tokenizer"]).save_pretrained(directory / "encoder")


def _phase(checkpoint):
    return [
        {
            "name": "intermediate",
            "tasks": ["mnli"],
            "mode": "single",
            "key": "k",
            "reused": False,
            "steps": 1,
            "seconds": 0.1,
            "checkpoint": str(checkpoint),
        }
    ]


def test_alignment_study_on_tiny_encoders(tmp_path):
    root = tmp_path / "study"
    same, other = tmp_path / "ckpt-same", tmp_path / "ckpt-other"
    _save_encoder(same, seed=0)  # identical to the baseline's pretrained encoder (seed 0)
    _save_encoder(other, seed=5)  # a different encoder
    scores = {lang: 50.0 for lang in ["en", *LANGS]}
    for tasks, phases, offset in (
        ([], [], 0.0),
        (["mnli"], _phase(same), 2.0),
        (["pawsx"], _phase(other), -1.0),
    ):
        run = write_run(
            root,
            "xnli",
            {k: v + offset for k, v in scores.items()},
            tasks=tasks,
            phases=phases,
            seed=0,
        )
        (run / ".hydra").mkdir()
        (run / ".hydra" / "config.yaml").write_text(yaml.safe_dump(_config(0)))
    out = tmp_path / "report"
    assert (
        main(
            [
                "study",
                "alignment",
                str(root),
                "--out",
                str(out),
                "--set",
                f"languages=[{','.join(LANGS)}]",
                "--set",
                "bootstrap=50",
            ]
        )
        == 0
    )

    with open(out / "alignment.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by = defaultdict(dict)
    for r in rows:
        assert r["source"] == "tatoeba"  # the demo XQuAD is not parallel: skipped
        by[r["setup"]][(r["lang"], int(r["layer"]))] = (
            float(r["retrieval"]),
            float(r["cosine_gap"]),
            float(r["cka"]),
        )
    n_layers = 2  # the tiny model: embeddings + 2 layers
    assert set(by["none"]) == {(lang, i) for lang in LANGS for i in range(n_layers + 1)}
    # The mnli "checkpoint" is the pretrained encoder: every measure identical to the baseline.
    assert by["mnli"] == by["none"]
    assert by["pawsx"] != by["none"]
    for retrieval, gap, cka in by["none"].values():
        assert 0.0 <= retrieval <= 1.0 and -1.0 <= gap <= 1.0 and 0.0 <= cka <= 1.0 + 1e-9

    with open(out / "table.csv", newline="") as fh:
        table = {(r["setup"], r["lang"]): r for r in csv.DictReader(fh)}
    for lang in LANGS:
        row = table[("mnli", lang)]
        assert float(row["gain xnli"]) == pytest.approx(2.0)
        assert float(row["Δretrieval tatoeba"]) == 0.0 and float(row["Δcka tatoeba"]) == 0.0
        assert float(table[("pawsx", lang)]["gain xnli"]) == pytest.approx(-1.0)
    assert "Does the alignment change predict the gain" in (out / "table.md").read_text()
    for stem in ("layers_tatoeba_retrieval", "layers_tatoeba_cka", "layers_tatoeba_mean"):
        assert (out / f"{stem}.png").stat().st_size > 1000
        assert (out / f"{stem}.pdf").read_bytes()[:4] == b"%PDF"


def test_layer_vectors_of_identical_sides_are_perfectly_aligned():
    from xtransfer.studies.alignment import alignment_scores, layer_vectors
    from xtransfer.training.model import build_pretrained_encoder, load_tokenizer

    cfg = _config(0)["model"]
    encoder, tokenizer = build_pretrained_encoder(cfg, 0), load_tokenizer(cfg["tokenizer"])
    texts = ["a cat sleeps", "the dog runs fast", "we bought apples", "rain falls today"]
    vecs = layer_vectors(encoder, tokenizer, texts, max_length=32, batch_size=3)
    assert vecs.shape == (3, len(texts), 64)  # 2 layers + embeddings, hidden 64
    # Pooling ignores padding: a sentence encoded alone gets the same vector as in a batch.
    alone = layer_vectors(encoder, tokenizer, texts[1:2], max_length=32, batch_size=1)
    np.testing.assert_allclose(alone[:, 0], vecs[:, 1], atol=1e-5)
    for scores in alignment_scores(vecs, vecs):
        assert scores["retrieval"] == 1.0
        assert scores["cka"] == pytest.approx(1.0)
        assert scores["cosine_gap"] > 0
