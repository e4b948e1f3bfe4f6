"""Tatoeba and BUCC as encoder-only targets: embeddings, layer choice, files, mining, readers, CLI.

The CLI runs need two pieces outside the retrieval code: the evaluator must call
``TaskFormat.predict_rows`` for ``trainable = False`` formats, and the data sources must expand
``{language}`` in Hub config names (Tatoeba configs are named by ISO 639-3 code). While either is
missing, the tests that depend on it are expected failures whose reason says which one.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from xtransfer.config import asset_path
from xtransfer.data.readers import read_file
from xtransfer.data.sources import load_rows
from xtransfer.errors import UserError
from xtransfer.evaluation.retrieval import bucc_candidates, extract_pairs, optimize_threshold
from xtransfer.evaluation.scoring import score_language
from xtransfer.pipeline import zero_shot
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.formats import retrieval as retrieval_mod
from xtransfer.tasks.formats.retrieval import (
    BitextMiningFormat,
    RetrievalFormat,
    bitext_corpora,
    embed_sentences,
    english_order,
    resolve_layer,
)
from xtransfer.tasks.registry import get_task
from xtransfer.training.model import build_pretrained_encoder, load_tokenizer

EMBEDDED = {"source": "embedded", "root": asset_path("demo")}
TINY = {"pretrained": None, "config_dir": asset_path("tiny-xlmr"), "attn_implementation": "sdpa"}


def _missing_hook() -> str | None:
    if "predict_language" in inspect.getsource(zero_shot):
        return None
    return "pipeline/zero_shot.py does not call TaskFormat.predict_language"


def _missing_language_names() -> str | None:
    try:
        load_rows(get_task("tatoeba"), "test", "de", EMBEDDED)
    except KeyError:
        return "data/sources.py does not expand {language} (catalogue language_names)"
    return None


# Fast checks run even while expected to fail (strict: they must fail then); the CLI runs, which
# take minutes, are not run until their prerequisites exist.
needs_language_names = pytest.mark.xfail(
    _missing_language_names() is not None, reason=str(_missing_language_names()), strict=True
)
cli_needs_language_names = pytest.mark.xfail(
    _missing_language_names() is not None, reason=str(_missing_language_names()), run=False
)
cli_needs_hook = pytest.mark.xfail(
    _missing_hook() is not None, reason=str(_missing_hook()), run=False
)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(asset_path("tiny-xlmr"))


@pytest.fixture(scope="module")
def encoder():
    return build_pretrained_encoder(TINY, seed=0)


# --- embeddings ------------------------------------------------------------------------------

SENTENCES = [
    "Anna hat 7 Bücher.",
    "A much longer sentence, so that every other one in its batch needs padding: 1 2 3 4 5.",
    "Hi",
    "",
    "Maria 买了 12 个苹果。",
]


def _manual_mean(encoder, tokenizer, text: str, layer: int, max_length: int = 128) -> np.ndarray:
    """One sentence alone: no padding at all, plain mean over its tokens."""
    ids = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
    encoder.eval()
    with torch.no_grad():
        out = encoder(**ids, output_hidden_states=True)
    return out.hidden_states[layer][0].mean(dim=0).numpy()


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_mean_pooling_ignores_padding(encoder, tokenizer, layer):
    batched = embed_sentences(encoder, tokenizer, SENTENCES, layer=layer, max_length=128)
    assert batched.dtype == np.float32 and batched.shape == (len(SENTENCES), 64)
    for i, text in enumerate(SENTENCES):
        np.testing.assert_allclose(
            batched[i], _manual_mean(encoder, tokenizer, text, layer), rtol=1e-4, atol=1e-5
        )
    # Batch size 1 (no padding anywhere) gives the same vectors as mixed-length batches.
    single = embed_sentences(
        encoder, tokenizer, SENTENCES, layer=layer, max_length=128, batch_size=1
    )
    np.testing.assert_allclose(batched, single, rtol=1e-4, atol=1e-5)


def test_layer_zero_is_the_embedding_output(encoder, tokenizer):
    text = SENTENCES[0]
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        embedded = encoder.embeddings(input_ids=ids)[0].mean(dim=0).numpy()
        last = encoder(input_ids=ids).last_hidden_state[0].mean(dim=0).numpy()
    got = {
        layer: embed_sentences(encoder, tokenizer, [text], layer=layer, max_length=128)[0]
        for layer in (0, 1, 2)
    }
    np.testing.assert_allclose(got[0], embedded, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[2], last, rtol=1e-4, atol=1e-5)
    assert not np.allclose(got[0], got[1]) and not np.allclose(got[1], got[2])


def test_layers_above_the_chosen_one_are_not_run(encoder, tokenizer):
    calls: list[int] = []
    handle = encoder.encoder.layer[1].register_forward_hook(lambda *_: calls.append(1))
    try:
        embed_sentences(encoder, tokenizer, SENTENCES, layer=1, max_length=32)
        assert calls == []  # layer 2 of 2 was skipped
        embed_sentences(encoder, tokenizer, SENTENCES, layer=2, max_length=32)
        assert calls
    finally:
        handle.remove()


def test_embedding_restores_train_mode_and_is_deterministic(encoder, tokenizer):
    encoder.train()
    first = embed_sentences(encoder, tokenizer, SENTENCES, layer=1, max_length=128)
    assert encoder.training  # restored
    second = embed_sentences(encoder, tokenizer, SENTENCES, layer=1, max_length=128)
    np.testing.assert_array_equal(first, second)  # dropout was off both times
    encoder.eval()


def test_truncation_to_max_length(encoder, tokenizer):
    long_text = " ".join(["Anna"] * 300)
    short = embed_sentences(encoder, tokenizer, [long_text], layer=1, max_length=16)
    np.testing.assert_allclose(
        short[0], _manual_mean(encoder, tokenizer, long_text, 1, max_length=16), atol=1e-5
    )


def test_out_of_range_layer_is_a_clear_error(encoder, tokenizer):
    with pytest.raises(UserError) as err:
        embed_sentences(encoder, tokenizer, ["x"], layer=14, max_length=32)
    message = str(err.value)
    assert "target.retrieval_layer=14 is out of range" in message
    assert "2 layers" in message and "target.retrieval_layer=1" in message
    for bad in (-1, 3, "last", 1.5):
        with pytest.raises(UserError, match="target.retrieval_layer"):
            resolve_layer(bad, 2)
    assert [resolve_layer(v, 24) for v in (0, 14, "14", 24)] == [0, 14, 14, 24]
    # The suggestion keeps the paper's relative depth (14 of 24).
    with pytest.raises(UserError, match=r"retrieval_layer=7 "):
        resolve_layer(13, 12)


def test_model_configs_set_the_layer():
    from hydra import compose, initialize_config_dir

    from xtransfer.config import register_resolvers
    from xtransfer.hydra_app import CONFIG_DIR

    register_resolvers()
    # The presets say `auto`: the paper's relative depth of each model's own layer count.
    expected = {"tiny": (2, 1), "xlmr-base": (12, 7), "mbert": (12, 7), "xlmr-large": (24, 14)}
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        for model, (depth, layer) in expected.items():
            for target in ("tatoeba", "bucc2018"):
                cfg = compose("config", overrides=[f"model={model}", f"target={target}"])
                assert resolve_layer(cfg.target.retrieval_layer, depth) == layer
                assert "train" not in cfg.target and cfg.target.max_length == 128
        cfg = compose("config", overrides=["target=tatoeba", "target.retrieval_layer=2"])
        assert cfg.target.retrieval_layer == 2


def test_no_target_phase_for_retrieval_targets():
    from hydra import compose, initialize_config_dir

    from xtransfer.config import register_resolvers
    from xtransfer.hydra_app import CONFIG_DIR
    from xtransfer.pipeline.plan import plan_phases

    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        none = compose("config", overrides=["intermediate=none", "target=tatoeba"])
        mnli = compose("config", overrides=["intermediate=mnli", "target=bucc2018"])
    assert plan_phases(none) == []
    assert [(p.name, p.task) for p in plan_phases(mnli)] == [("intermediate", "mnli")]


# --- Tatoeba files ---------------------------------------------------------------------------

ROWS = [
    {"source": "Tom schläft.", "target": "Tom is sleeping.", "source_lang": "deu"},
    {"source": "Ich habe Hunger.", "target": " I am hungry.", "source_lang": "deu"},
    {"source": "Wo ist Maria?", "target": "Where is Mary?", "source_lang": "deu"},
    {"source": "Danke!", "target": "Thanks!", "source_lang": "deu"},
    {"source": "Tom schläft.", "target": "Tom is asleep.", "source_lang": "deu"},
]


def test_tatoeba_files_follow_xtreme_order_and_score(tmp_path):
    fmt = get_format("retrieval")(get_task("tatoeba"))
    assert isinstance(fmt, RetrievalFormat) and not fmt.trainable
    assert fmt.head_signature() == {"format": "retrieval"}
    # XTREME sorts the stripped English lines; the gold of line k is that line's row index.
    assert english_order([r["target"] for r in ROWS]) == [1, 3, 4, 0, 2]
    pred, gold = tmp_path / "pred" / "test-de.tsv", tmp_path / "gold" / "test-de.tsv"
    fmt.write_labels(gold, ROWS)
    assert gold.read_text() == "1\n3\n4\n0\n2\n"
    fmt.write_predictions(pred, ROWS, [0, 1, 2, 3, 4])
    assert score_language("tatoeba", pred, gold) == {"accuracy": 100.0}
    # Row 4's translation is a duplicate of row 0's: retrieval can only return one of them.
    fmt.write_predictions(pred, ROWS, [0, 1, 2, 3, 0])
    assert pred.read_text() == "1\n3\n0\n0\n2\n"
    assert score_language("tatoeba", pred, gold) == {"accuracy": 80.0}


def test_tatoeba_predict_rows_finds_identical_sentences(encoder, tokenizer, tmp_path):
    # Identical texts on both sides have cosine 1: retrieval must be perfect at any layer.
    rows = [{"source": t, "target": t, "source_lang": "x"} for t in SENTENCES if t] + [
        {
            "source": f"Sentence number {i} of {i * 7}.",
            "target": f"Sentence number {i} of {i * 7}.",
            "source_lang": "x",
        }
        for i in range(20)
    ]
    fmt = RetrievalFormat(get_task("tatoeba"))
    for layer in (0, 2):
        predicted = fmt.predict_rows(
            encoder, tokenizer, rows, {"retrieval_layer": layer, "max_length": 64}, None, None
        )
        assert predicted == list(range(len(rows)))
    fmt.write_predictions(tmp_path / "p.tsv", rows, predicted)
    fmt.write_labels(tmp_path / "l.tsv", rows)
    assert score_language("tatoeba", tmp_path / "p.tsv", tmp_path / "l.tsv") == {"accuracy": 100.0}


def test_encoder_only_formats_cannot_be_trained():
    fmt = get_format("bitext_mining")(get_task("bucc2018"))
    assert isinstance(fmt, BitextMiningFormat) and not fmt.trainable
    assert fmt.head_signature() == {"format": "bitext_mining"}
    with pytest.raises(UserError, match="cannot be trained"):
        fmt.featurize([], None, 128)


# --- BUCC ------------------------------------------------------------------------------------


def _vec(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


# Hand-made 4-d "embeddings": translations point the same way, up to a little noise.
VECTORS = {
    # dev: two clean pairs, one weak pair, one distractor on each side
    "d-a": _vec(1, 0, 0, 0), "D-a": _vec(0.98, 0.05, 0, 0),
    "d-b": _vec(0, 1, 0, 0), "D-b": _vec(0.05, 0.97, 0.05, 0),
    "d-c": _vec(0, 0, 1, 0.2), "D-c": _vec(0, 0.1, 0.8, 0.6),
    "d-x": _vec(0.2, 0.2, 0.2, 1),
    "D-y": _vec(0.5, 0.5, 0.5, 0.5),
    # test: two clean pairs and two unrelated sentences on each side, of which t-x and T-x are
    # close enough to be mined with a margin between the dev and the test-optimal threshold
    "t-a": _vec(0, 0, 0, 1), "T-a": _vec(0.02, 0, 0.03, 1),
    "t-b": _vec(1, 1, 0, 0), "T-b": _vec(1, 0.95, 0.02, 0),
    "t-x": _vec(0, 1, 1, 0), "t-y": _vec(1, 0, 1, 0),
    "T-x": _vec(0, 0.3, 1, 0.4), "T-y": _vec(0.6, 0, 0.4, 0.9),
}  # fmt: skip


def _bucc_rows(pairs: list[tuple[str, str]], lone_src: list[str], lone_trg: list[str]):
    # In-band BUCC ids (``id<TAB>text``), numbered so that no id encodes its partner's.
    rows = [
        {
            "source": f"de-{100 + i:09d}\t{s}",
            "target": f"en-{200 + i:09d}\t{t}",
            "source_lang": "de",
            "target_lang": "en",
        }
        for i, (s, t) in enumerate(pairs)
    ]
    rows += [
        {"source": f"de-{300 + i:09d}\t{s}", "target": "", "source_lang": "de", "target_lang": "en"}
        for i, s in enumerate(lone_src)
    ]
    rows += [
        {"source": "", "target": f"en-{400 + i:09d}\t{t}", "source_lang": "de", "target_lang": "en"}
        for i, t in enumerate(lone_trg)
    ]
    return rows


DEV = _bucc_rows([("d-a", "D-a"), ("d-b", "D-b"), ("d-c", "D-c")], ["d-x"], ["D-y"])
TEST = _bucc_rows([("t-a", "T-a"), ("t-b", "T-b")], ["t-x", "t-y"], ["T-x", "T-y"])


def _fake_embed(encoder, tokenizer, texts, settings, accelerator, desc):
    return np.stack([VECTORS[t] for t in texts]) if texts else np.zeros((0, 4), np.float32)


def test_bitext_corpora_from_rows():
    corpora = bitext_corpora(DEV)
    assert corpora.source_texts == ["d-a", "d-b", "d-c", "d-x"]
    assert corpora.target_texts == ["D-a", "D-b", "D-c", "D-y"]
    assert len(corpora.gold) == 3 and corpora.gold[0][0].startswith("de-")
    # Without in-band ids (the Hub rows), ids come from the row number.
    plain = bitext_corpora(
        [
            {"source": "x", "target": "y", "source_lang": "fr"},
            {"source": "z", "target": "", "source_lang": "fr"},
        ]
    )
    assert plain.gold == [("fr-000000000", "en-000000000")]
    assert plain.source_ids == ["fr-000000000", "fr-000000001"] and plain.target_ids == [
        "en-000000000"
    ]


def test_bucc_threshold_comes_from_dev_and_is_applied_to_test(monkeypatch, tmp_path):
    monkeypatch.setattr(retrieval_mod, "_embed_from_settings", _fake_embed)
    fmt = BitextMiningFormat(get_task("bucc2018"))
    asked = []

    def load_split(split):
        asked.append(split)
        return DEV

    predicted = fmt.predict_rows(None, None, TEST, {"retrieval_layer": 1}, None, load_split)
    assert asked == ["validation"]

    def candidates(rows):
        c = bitext_corpora(rows)
        src = np.stack([VECTORS[t] for t in c.source_texts])
        trg = np.stack([VECTORS[t] for t in c.target_texts])
        return c, bucc_candidates(
            c.source_ids,
            src,
            c.target_ids,
            trg,
            source_texts=c.source_texts,
            target_texts=c.target_texts,
        )

    dev, dev_candidates = candidates(DEV)
    test, test_candidates = candidates(TEST)
    threshold = optimize_threshold(dev_candidates, dev.gold)
    assert fmt.last_threshold == pytest.approx(threshold)
    assert predicted == [tuple(p) for p in extract_pairs(test_candidates, threshold)]
    # The dev threshold keeps the two true test pairs and also the mined distractor pair
    # (t-x, T-x), which a threshold tuned on the *test* gold would have dropped: proof that the
    # threshold comes from dev.
    distractor = (test.source_ids[2], test.target_ids[2])
    assert sorted(predicted) == sorted([*test.gold, distractor])
    test_tuned = optimize_threshold(test_candidates, test.gold)
    assert sorted(extract_pairs(test_candidates, test_tuned)) == sorted(test.gold)

    pred, gold = tmp_path / "p" / "test-de.tsv", tmp_path / "g" / "test-de.tsv"
    fmt.write_predictions(pred, TEST, predicted)
    fmt.write_labels(gold, TEST)
    assert gold.read_text() == "de-000000100\ten-000000200\nde-000000101\ten-000000201\n"
    scores = score_language("bucc2018", pred, gold)
    assert scores["precision"] == pytest.approx(200 / 3) and scores["recall"] == 100.0
    assert scores["f1"] == pytest.approx(80.0)


def test_bucc_without_dev_gold_is_an_error(monkeypatch):
    monkeypatch.setattr(retrieval_mod, "_embed_from_settings", _fake_embed)
    fmt = BitextMiningFormat(get_task("bucc2018"))
    lonely = _bucc_rows([], ["d-x"], ["D-y"])
    with pytest.raises(UserError, match="no gold pairs"):
        fmt.predict_rows(None, None, TEST, {}, None, lambda split: lonely)


# --- readers and catalogue -------------------------------------------------------------------


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_tatoeba_pair_reader_derives_the_english_side(tmp_path):
    src = _write(tmp_path / "tatoeba.deu-eng.deu", ["Hallo.", "", "Tschüss."])
    _write(tmp_path / "tatoeba.deu-eng.eng", ["Hello.", "(empty)", "Bye."])
    rows = read_file(src, "tatoeba_pair")
    assert rows[0] == {
        "source_sentence": "Hallo.",
        "target_sentence": "Hello.",
        "source_lang": "deu",
        "target_lang": "eng",
    }
    assert [r["source_sentence"] for r in rows] == ["Hallo.", "", "Tschüss."]
    # Through the catalogue: data=local gives the canonical columns.
    local = {"source": "local", "files": {"tatoeba": {"test": str(src)}}}
    canonical = load_rows(get_task("tatoeba"), "test", "de", local)
    assert canonical[2] == {
        "source": "Tschüss.",
        "target": "Bye.",
        "source_lang": "deu",
        "target_lang": "eng",
    }


def test_tatoeba_pair_reader_errors(tmp_path):
    src = _write(tmp_path / "tatoeba.fra-eng.fra", ["a", "b"])
    with pytest.raises(UserError, match="not found"):
        read_file(src, "tatoeba_pair")
    _write(tmp_path / "tatoeba.fra-eng.eng", ["a"])
    with pytest.raises(UserError, match="line-aligned"):
        read_file(src, "tatoeba_pair")
    # XTREME's download: English sorted, gold hidden.
    xsrc = _write(tmp_path / "x" / "fr-en.fr", ["c", "a", "b"])
    _write(tmp_path / "x" / "fr-en.en", ["A", "B", "C"])
    with pytest.raises(UserError, match="sorted"):
        read_file(xsrc, "tatoeba_pair")
    with pytest.raises(UserError, match="cannot derive"):
        read_file(_write(tmp_path / "plain.txt", ["x"]), "tatoeba_pair")


def test_bucc_files_reader(tmp_path):
    root = tmp_path / "bucc2018"
    src = _write(root / "de-en.dev.de", ["de-000000001\tHallo Welt.", "de-000000002\tAllein."])
    _write(root / "de-en.dev.en", ["en-000000007\tHello world.", "en-000000008\tAlone."])
    _write(root / "de-en.dev.gold", ["de-000000001\ten-000000007"])
    rows = read_file(src, "tatoeba_pair")
    assert rows == [
        {
            "source_sentence": "de-000000001\tHallo Welt.",
            "target_sentence": "en-000000007\tHello world.",
            "source_lang": "de",
            "target_lang": "en",
        },
        {
            "source_sentence": "de-000000002\tAllein.",
            "target_sentence": "",
            "source_lang": "de",
            "target_lang": "en",
        },
        {
            "source_sentence": "",
            "target_sentence": "en-000000008\tAlone.",
            "source_lang": "de",
            "target_lang": "en",
        },
    ]
    corpora = bitext_corpora(
        load_rows(
            get_task("bucc2018"),
            "validation",
            "de",
            {"source": "xtreme_dir", "root": str(tmp_path)},
        )
    )
    assert corpora.gold == [("de-000000001", "en-000000007")]
    assert corpora.source_texts == ["Hallo Welt.", "Allein."]
    # The XTREME download has no test gold: the error says where to put BUCC's.
    test = _write(root / "de-en.test.de", ["de-000000003\tTest."])
    _write(root / "de-en.test.en", ["en-000000009\tTest."])
    with pytest.raises(UserError, match="training.gold"):
        read_file(test, "tatoeba_pair")
    _write(root / "de-en.test.gold", ["de-000000003\ten-000000404"])
    with pytest.raises(UserError, match="en-000000404 is not in"):
        read_file(test, "tatoeba_pair")


def _hub_repo(root: Path, configs: dict[str, dict[str, list[dict]]], monkeypatch) -> Path:
    """A local copy of google/xtreme in the Hub layout (README `configs:` + parquet files).

    `datasets` caches a local repo under a key that ignores the files' content, so a mirror
    written by an earlier run would be read back from the cache: each test gets its own."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", root / "hf-cache")

    repo = root / "google" / "xtreme"
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, rows in splits.items():
            path = repo / config / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            datasets.Dataset.from_list(rows).to_parquet(str(path))
            lines += [f"  - split: {split}", f"    path: {config}/{split}-*"]
    repo.joinpath("README.md").write_text("\n".join(lines + ["---"]) + "\n")
    return root


def _hub_row(source: str, target: str, lang: str, english: str = "en") -> dict[str, str]:
    return {
        "source_sentence": source,
        "target_sentence": target,
        "source_lang": lang,
        "target_lang": english,
    }


def test_bucc_from_the_hub_schema_uses_the_gold_sentences_as_corpora(tmp_path, monkeypatch):
    # Gold pairs only, as on the Hub; the margin scale depends on the corpus, so dev and test
    # are alike here (the same sentences in another order). On the Hub, source_lang and
    # target_lang hold the BUCC sentence ids (hub-facts/google__xtreme.json bucc18 value_facts).
    texts = (("d-a", "D-a"), ("d-b", "D-b"), ("d-c", "D-c"))
    pairs = [
        _hub_row(s, t, f"fr-{100 + i:09d}", f"en-{200 + i:09d}") for i, (s, t) in enumerate(texts)
    ]
    root = _hub_repo(
        tmp_path, {"bucc18.fr": {"validation": pairs, "test": pairs[::-1]}}, monkeypatch
    )
    data = {"source": "hub", "mirror": str(root)}
    task = get_task("bucc2018")
    rows = load_rows(task, "test", "fr", data)
    assert rows[0] == {
        "source": "d-c",
        "target": "D-c",
        "source_id": "fr-000000102",
        "target_id": "en-000000202",
    }
    monkeypatch.setattr(retrieval_mod, "_embed_from_settings", _fake_embed)
    fmt = BitextMiningFormat(task)
    predicted = fmt.predict_rows(
        None, None, rows, {}, None, lambda split: load_rows(task, split, "fr", data)
    )
    # Ids are the Hub's BUCC ids; every gold pair is found.
    assert sorted(predicted) == [(f"fr-{100 + i:09d}", f"en-{200 + i:09d}") for i in (0, 1, 2)]
    pred, gold = tmp_path / "p.tsv", tmp_path / "g.tsv"
    fmt.write_predictions(pred, rows, predicted)
    fmt.write_labels(gold, rows)
    assert score_language("bucc2018", pred, gold)["f1"] == pytest.approx(100.0)


@needs_language_names
def test_tatoeba_from_the_hub_schema(tmp_path, monkeypatch):
    pairs = [
        _hub_row("Hallo.", "Hello.", "deu", "eng"),
        _hub_row("Danke.", "Thanks.", "deu", "eng"),
    ]
    root = _hub_repo(tmp_path, {"tatoeba.deu": {"validation": pairs}}, monkeypatch)
    rows = load_rows(get_task("tatoeba"), "test", "de", {"source": "hub", "mirror": str(root)})
    assert [(r["source"], r["target"]) for r in rows] == [
        ("Hallo.", "Hello."),
        ("Danke.", "Thanks."),
    ]


def test_catalogue_maps_every_language_to_its_tatoeba_code():
    task = get_task("tatoeba")
    hub = task.raw["splits"]["test"]["hub"]
    codes = hub["language_names"]
    assert set(codes) == set(task.languages_for("xtreme_r")) and len(codes) == 41
    assert (codes["de"], codes["zh"], codes["fa"], codes["sw"], codes["ro"]) == (
        "deu",
        "cmn",
        "pes",
        "swh",
        "ron",
    )
    assert hub["split"] == "validation" and hub["name"].format(language="deu") == "tatoeba.deu"
    for lang, code in codes.items():
        path = Path(asset_path("demo")) / "google__xtreme" / f"tatoeba.{code}" / "validation.jsonl"
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert 25 <= len(rows) <= 40, lang
        assert set(rows[0]) == {"source_sentence", "target_sentence", "source_lang", "target_lang"}
    bucc = get_task("bucc2018")
    assert bucc.raw["splits"]["validation"]["hub"]["name"].format(lang="ru") == "bucc18.ru"


@needs_language_names
def test_demo_tatoeba_rows_load_for_every_language():
    task = get_task("tatoeba")
    for lang in task.languages_for("xtreme_r"):
        rows = load_rows(task, "test", lang, EMBEDDED)
        assert len(rows) == 30 and set(rows[0]) == {
            "source",
            "target",
            "source_lang",
            "target_lang",
        }


def test_demo_bucc_rows_have_gold_and_distractors():
    task = get_task("bucc2018")
    for lang in task.languages_for("xtreme"):
        for split in ("validation", "test"):
            corpora = bitext_corpora(load_rows(task, split, lang, EMBEDDED))
            assert len(corpora.gold) >= 30
            assert len(corpora.source_texts) > len(corpora.gold) < len(corpora.target_texts)


def test_demo_generator_is_deterministic(tmp_path):
    script = Path(__file__).resolve().parents[1] / "scripts" / "make_demo_retrieval.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)], check=True, capture_output=True
    )
    demo = Path(asset_path("demo")) / "google__xtreme"
    written = sorted(tmp_path.glob("google__xtreme/*/*.jsonl"))
    assert len(written) == 41 + 8
    assert sum(p.stat().st_size for p in written) < 500_000
    for path in written:
        assert path.read_bytes() == (demo / path.parent.name / path.name).read_bytes(), path


# --- CLI at demo scale -----------------------------------------------------------------------


def _train(output_root: Path, target: str, *overrides: str) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "train",
            f"target={target}",
            *overrides,
            f"output_root={output_root}",
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    # runs/<data>/<model>/<intermediate>-to-<target>[.<benchmark>]/seed<N>/results.json
    (results_path,) = output_root.glob(f"runs/*/*/*-to-{target}*/seed*/results.json")
    return json.loads(results_path.read_text())


def _check_scores(results: dict, task: str, languages: list[str], metric: str) -> dict:
    values = {s["lang"]: s["value"] for s in results["scores"] if s["metric"] == metric}
    assert sorted(values) == sorted(languages)
    assert all(0.0 <= v <= 100.0 for v in values.values())
    assert results["summary"][task]["languages"] == len(languages)
    return values


# ~20 s (one evaluation, no training): part of the default suite.
@cli_needs_hook
@cli_needs_language_names
def test_cli_tatoeba_without_intermediate(tmp_path):
    results = _train(tmp_path, "tatoeba", "intermediate=none", "benchmark=xtreme")
    assert results["phases"] == []  # the pretrained (random tiny) encoder is scored directly
    accuracy = _check_scores(
        results, "tatoeba", get_task("tatoeba").languages_for("xtreme"), "accuracy"
    )
    # Shared names and digits: well above chance (1 in 30) even for a random encoder.
    assert sum(accuracy.values()) / len(accuracy) > 15.0
    run_dir = next(tmp_path.glob("runs/**/results.json")).parent
    lines = (run_dir / "predictions" / "tatoeba" / "test-de.tsv").read_text().splitlines()
    assert len(lines) == 30 and all(line.isdigit() for line in lines)


@pytest.fixture(scope="module")
def mnli_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("retrieval-cli")


@pytest.mark.slow
@cli_needs_hook
@cli_needs_language_names
def test_cli_tatoeba_after_mnli(mnli_root):
    results = _train(mnli_root, "tatoeba", "intermediate=mnli")
    # The MNLI phase runs (nothing cached yet) and its encoder is scored: no target phase.
    assert [(p["name"], p["tasks"], p["reused"]) for p in results["phases"]] == [
        ("intermediate", ["mnli"], False)
    ]
    assert results["phases"][0]["steps"] > 0
    _check_scores(results, "tatoeba", get_task("tatoeba").languages_for("xtreme"), "accuracy")


@pytest.mark.slow
@cli_needs_hook
def test_cli_bucc_reuses_the_mnli_phase(mnli_root):
    # Default intermediate (mnli): the same phase key as the Tatoeba run above, so its cached
    # checkpoint is reused (when that test ran first in this module).
    cached = any(mnli_root.glob("runs/*/*/mnli-to-tatoeba/seed*/results.json"))
    results = _train(mnli_root, "bucc2018")
    assert [(p["name"], p["reused"]) for p in results["phases"]] == [("intermediate", cached)]
    _check_scores(results, "bucc2018", ["de", "fr", "ru", "zh"], "f1")


def _plan_target_line(tmp_path: Path, *overrides: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "xtransfer", "plan", *overrides, f"output_root={tmp_path}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return next(x for x in proc.stdout.splitlines() if x.strip().startswith("target"))


def test_xtreme_r_tatoeba_trains_the_squad_phase_xquad_shares(tmp_path):
    """XTREME-R fine-tunes on SQuAD v1.1 before Tatoeba; XTREME trains nothing for it."""
    tatoeba = _plan_target_line(
        tmp_path, "intermediate=none", "target=tatoeba", "benchmark=xtreme_r"
    )
    xquad = _plan_target_line(tmp_path, "intermediate=none", "target=xquad", "benchmark=xtreme_r")
    assert " squad " in tatoeba
    key = tatoeba.split("key ")[1].split()[0]
    assert key == xquad.split("key ")[1].split()[0]  # one cached SQuAD phase for both
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "plan",
            "intermediate=none",
            "target=tatoeba",
            "benchmark=xtreme",
            f"output_root={tmp_path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert not any(x.strip().startswith("target") for x in proc.stdout.splitlines())


@cli_needs_hook
@cli_needs_language_names
def test_cli_xtreme_r_tatoeba_scores_the_squad_trained_encoder(tmp_path):
    results = _train(tmp_path, "tatoeba", "intermediate=none", "benchmark=xtreme_r")
    (phase,) = results["phases"]
    assert phase["name"] == "target" and phase["task"] == "squad"
    _check_scores(results, "tatoeba", get_task("tatoeba").languages_for("xtreme_r"), "accuracy")
