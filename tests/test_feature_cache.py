"""The tokenised-data cache: explicit key, no pickle, reuse, invalidation, corruption."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xtransfer.config import asset_path
from xtransfer.data.feature_cache import (
    META,
    TENSORS,
    feature_key,
    featurize_cached,
    tokenizer_fingerprint,
)
from xtransfer.data.sources import load_rows
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.registry import get_task
from xtransfer.training.model import load_tokenizer

DATA = {"source": "embedded", "root": asset_path("demo")}


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(asset_path("tiny-xlmr"))


def _fmt_rows(task: str, split: str = "train", lang: str = "en", n: int = 40):
    spec = get_task(task)
    return get_format(spec.format)(spec), load_rows(spec, split, lang, DATA)[:n]


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


class _Spy:
    """Counts calls to a format's featurize."""

    def __init__(self, fmt):
        self.fmt, self.calls = fmt, 0
        original = fmt.featurize

        def featurize(rows, tokenizer, max_length):
            self.calls += 1
            return original(rows, tokenizer, max_length)

        fmt.featurize = featurize


@pytest.mark.parametrize(
    "task, split, max_length",
    [("mnli", "train", 64), ("squad", "train", 96), ("udpos", "train", 16), ("copa", "train", 64)],
)
def test_second_call_loads_identical_features_without_featurizing(
    tmp_path, tokenizer, task, split, max_length
):
    fmt, rows = _fmt_rows(task, split)
    spy = _Spy(fmt)
    first = featurize_cached(fmt, rows, tokenizer, max_length, tmp_path)
    assert spy.calls == 1
    second = featurize_cached(fmt, rows, tokenizer, max_length, tmp_path)
    assert spy.calls == 1  # served from the cache
    assert _same(first, second)
    assert _same(second, fmt.featurize(rows, tokenizer, max_length))
    # Stored without pickle: a safetensors file and JSON metadata only.
    (entry,) = [p for p in tmp_path.glob("*/*") if p.is_dir()]
    assert sorted(p.name for p in entry.iterdir()) == sorted([TENSORS, META])
    json.loads((entry / META).read_text())


def test_key_covers_max_length_tokenizer_stride_version_and_data(tmp_path, tokenizer):
    fmt, rows = _fmt_rows("squad")
    base = feature_key(fmt, rows, tokenizer, 128)
    assert feature_key(fmt, rows, tokenizer, 128) == base
    assert feature_key(fmt, rows, tokenizer, 96) != base
    assert feature_key(fmt, rows[:-1], tokenizer, 128) != base
    edited = [dict(rows[0], question=rows[0]["question"] + "?"), *rows[1:]]
    assert feature_key(fmt, edited, tokenizer, 128) != base
    fmt.doc_stride = 64
    assert feature_key(fmt, rows, tokenizer, 128) != base
    fmt.doc_stride = type(fmt).doc_stride
    type(fmt).version, old = type(fmt).version + 1, type(fmt).version
    try:
        assert feature_key(fmt, rows, tokenizer, 128) != base
    finally:
        type(fmt).version = old
    # Another tokenizer (one added token changes its serialisation) is another key.
    other = load_tokenizer(asset_path("tiny-xlmr"))
    assert tokenizer_fingerprint(other) == tokenizer_fingerprint(tokenizer)
    other.add_tokens(["xtransfer-new-token"])
    other._xtransfer_fingerprint = None
    assert tokenizer_fingerprint(other) != tokenizer_fingerprint(tokenizer)
    assert feature_key(fmt, rows, other, 128) != base


def test_changed_max_length_recomputes(tmp_path, tokenizer):
    fmt, rows = _fmt_rows("mnli")
    spy = _Spy(fmt)
    featurize_cached(fmt, rows, tokenizer, 64, tmp_path)
    short = featurize_cached(fmt, rows, tokenizer, 8, tmp_path)
    assert spy.calls == 2 and max(len(f["input_ids"]) for f in short) == 8


@pytest.mark.parametrize("victim", [TENSORS, META])
def test_corrupt_entry_is_recomputed_and_rewritten(tmp_path, tokenizer, victim):
    fmt, rows = _fmt_rows("mnli")
    spy = _Spy(fmt)
    good = featurize_cached(fmt, rows, tokenizer, 64, tmp_path)
    (entry,) = [p for p in tmp_path.glob("*/*") if p.is_dir()]
    blob = (entry / victim).read_bytes()
    (entry / victim).write_bytes(blob[: len(blob) // 2])  # truncated, as by a crash
    again = featurize_cached(fmt, rows, tokenizer, 64, tmp_path)
    assert spy.calls == 2 and _same(again, good)
    featurize_cached(fmt, rows, tokenizer, 64, tmp_path)
    assert spy.calls == 2  # the rewritten entry is valid


def test_no_cache_dir_means_no_cache(tmp_path, tokenizer):
    fmt, rows = _fmt_rows("mnli")
    spy = _Spy(fmt)
    featurize_cached(fmt, rows, tokenizer, 64, None)
    featurize_cached(fmt, rows, tokenizer, 64, None)
    assert spy.calls == 2 and not any(tmp_path.iterdir())


def test_second_run_tokenizes_nothing(tmp_path, monkeypatch):
    from hydra import compose, initialize_config_dir

    from xtransfer.config import register_resolvers
    from xtransfer.hydra_app import CONFIG_DIR
    from xtransfer.pipeline.run import run_pipeline
    from xtransfer.tasks.formats.classification import ClassificationFormat

    register_resolvers()
    overrides = [f"output_root={tmp_path}", "intermediate=none", "target.epochs=1", "force=true"]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    first = run_pipeline(cfg, tmp_path / "run")
    # train + dev + 15 test languages, each its own entry
    assert len(list((tmp_path / "cache" / "features").glob("*/*/" + META))) == 17

    def refuse(*_args, **_kwargs):
        raise AssertionError("featurize called although the cache holds the features")

    monkeypatch.setattr(ClassificationFormat, "featurize", refuse)
    second = run_pipeline(cfg, tmp_path / "run")
    assert second["scores"] == first["scores"]
