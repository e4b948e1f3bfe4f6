"""Real UD v2.5 treebanks (../shared/data/ud-2.5) through the CoNLL-U reader and the tagging
format: words and tags intact, multiword tokens skipped, one prediction per gold word."""

from __future__ import annotations

import re
import time
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from xtransfer.data.conllu import read_conllu
from xtransfer.data.sources import load_rows
from xtransfer.evaluation import formats
from xtransfer.evaluation.scoring import score_tagging
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.registry import get_task

pytestmark = pytest.mark.realdata

TREEBANKS = [
    "en_ewt-ud-dev.conllu",
    "en_ewt-ud-test.conllu",
    "tr_imst-ud-train.conllu",
    "tr_imst-ud-dev.conllu",
    "tr_imst-ud-test.conllu",
    "fi_tdt-ud-dev.conllu",
    "fi_tdt-ud-test.conllu",
    "hu_szeged-ud-train.conllu",
    "hu_szeged-ud-dev.conllu",
    "hu_szeged-ud-test.conllu",
]


def _independent_counts(path: Path) -> dict:
    """Counts straight from the text with regular expressions, not with the reader's logic:
    sentences = ``# sent_id`` comments, words = lines whose id is a plain integer."""
    text = path.read_text(encoding="utf-8")
    words = re.findall(r"^[0-9]+\t([^\t]*)\t[^\t]*\t([^\t]*)\t", text, flags=re.MULTILINE)
    return {
        "sentences": len(re.findall(r"^# sent_id", text, flags=re.MULTILINE)),
        "words": words,  # (FORM, UPOS) in file order
        "ranges": re.findall(r"^[0-9]+-[0-9]+\t([^\t]*)\t", text, flags=re.MULTILINE),
        "empty_nodes": len(re.findall(r"^[0-9]+\.[0-9]+\t", text, flags=re.MULTILINE)),
    }


@pytest.fixture(scope="module")
def ud_dir(shared_data: Path) -> Path:
    path = shared_data / "ud-2.5"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


@pytest.mark.parametrize("name", TREEBANKS)
def test_treebank_loads_with_words_and_tags_intact(ud_dir: Path, name: str):
    path = ud_dir / name
    expected = _independent_counts(path)
    rows = read_conllu(path)
    assert len(rows) == expected["sentences"]
    flat = [(w, t) for row in rows for w, t in zip(row["tokens"], row["pos_tags"], strict=True)]
    assert flat == expected["words"]
    assert all(len(row["feats"]) == len(row["tokens"]) > 0 for row in rows)
    upos = set(get_task("udpos").labels)
    assert {t for _, t in flat} <= upos
    if name.startswith("tr_imst"):
        # IMST splits many surface tokens into syntactic words (1-2 lines): the reader keeps
        # the words, so the word count exceeds the surface-token count by the split words.
        assert len(expected["ranges"]) > 200
    if name.startswith(("fi_tdt", "en_ewt")):
        assert expected["empty_nodes"] > 0  # and they are not among the words (checked above)


def test_turkish_multiword_token_is_replaced_by_its_words(ud_dir: Path):
    path = ud_dir / "tr_imst-ud-test.conllu"
    rows = read_conllu(path)
    blocks = [b for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    assert len(blocks) == len(rows)
    checked = 0
    for block, row in zip(blocks, rows, strict=True):
        lines = [line.split("\t") for line in block.splitlines() if not line.startswith("#")]
        for fields in lines:
            if "-" not in fields[0]:
                continue
            first, last = (int(x) for x in fields[0].split("-"))
            parts = [f[1] for f in lines if f[0].isdigit() and first <= int(f[0]) <= last]
            # The syntactic words stand in the sentence at their ids; the fused surface form
            # (e.g. "yoktu" = "yok" + "tu") is not a word of its own.
            assert row["tokens"][first - 1 : last] == parts
            assert len(row["tokens"]) == sum(1 for f in lines if f[0].isdigit())
            checked += 1
    assert checked == len(_independent_counts(path)["ranges"])


def test_tiny_model_tags_every_word_of_the_turkish_test_set(ud_dir: Path, tmp_path: Path):
    from omegaconf import OmegaConf

    from xtransfer.config import asset_path, register_resolvers
    from xtransfer.training.loop import predict
    from xtransfer.training.model import TaskModel, build_pretrained_encoder, load_tokenizer

    if not Path(asset_path("tiny-xlmr"), "config.json").is_file():
        pytest.skip("the tiny model's assets are not built yet (`make assets`)")
    start = time.perf_counter()
    register_resolvers()
    # The packaged `model=tiny` config, resolved as Hydra would (asset paths).
    conf = resources.files("xtransfer") / "conf" / "model" / "tiny.yaml"
    model_cfg = OmegaConf.to_container(OmegaConf.load(str(conf)), resolve=True)
    task = get_task("udpos")
    fmt = get_format(task.format)(task)
    # Through the real data path: data=local with a CoNLL-U file, UPOS strings -> label ids.
    data = {
        "source": "local",
        "files": {"udpos": {"test": str(ud_dir / "{lang}_imst-ud-test.conllu")}},
    }
    rows = load_rows(task, "test", "tr", data)
    tokenizer = load_tokenizer(str(model_cfg["tokenizer"]))
    encoder = build_pretrained_encoder(model_cfg, seed=0)
    model = TaskModel(encoder, {"udpos": fmt.make_head(encoder.config.hidden_size, 0.1)})
    # A window small enough that many real sentences need several (the target uses 128).
    max_length = 32
    features = fmt.featurize(rows, tokenizer, max_length)
    assert len(features) > len(rows)
    assert max(len(f["input_ids"]) for f in features) <= max_length
    device = SimpleNamespace(device=torch.device("cpu"), is_main_process=True)
    per_feature = predict(model, "udpos", fmt, features, 64, device, tokenizer.pad_token_id)
    predictions = fmt.finalize(rows, features, per_feature)
    assert [len(p) for p in predictions] == [len(r["tokens"]) for r in rows]
    assert sum(map(len, predictions)) == len(
        _independent_counts(ud_dir / "tr_imst-ud-test.conllu")["words"]
    )

    fmt.write_predictions(tmp_path / "pred.tsv", rows, predictions)
    fmt.write_labels(tmp_path / "gold.tsv", rows)
    gold = formats.read_tag_sentences(tmp_path / "gold.tsv")
    assert [len(s) for s in formats.read_tag_sentences(tmp_path / "pred.tsv")] == [
        len(s) for s in gold
    ]
    scores = score_tagging(tmp_path / "pred.tsv", tmp_path / "gold.tsv")
    assert 0.0 <= scores["f1"] <= 100.0
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"took {elapsed:.1f} s"
