"""Segment (token type) ids: BERT-style models (mBERT) get them, XLM-R does not.

mBERT embeds which sentence of a pair a token belongs to; dropping the ids would train every
pair as if it were one segment. XLM-R has a single token type, and its tokenizer returns none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from xtransfer.config import asset_path
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.registry import get_task
from xtransfer.training.model import TaskModel, load_tokenizer

WORDS = "the cat sat on a mat dog ran far away where did go".split()


@pytest.fixture(scope="module")
def bert_tokenizer(tmp_path_factory):
    from transformers import BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "?", "."]
    folder = tmp_path_factory.mktemp("bert")
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return BertTokenizerFast(str(folder / "vocab.txt"))


def _segments_of_pair(feature: dict) -> list[int]:
    return list(feature["token_type_ids"])


def test_classification_pairs_carry_segments_for_bert(bert_tokenizer):
    fmt = get_format("classification")(get_task("xnli"))
    rows = [
        {"text_a": "the cat sat", "text_b": "a dog ran far", "label": 0},
        {"text_a": "the cat", "text_b": "a mat", "label": 1},
    ]
    features = fmt.featurize(rows, bert_tokenizer, max_length=32)
    # [CLS] the cat sat [SEP] -> segment 0; a dog ran far [SEP] -> segment 1
    assert _segments_of_pair(features[0]) == [0] * 5 + [1] * 5
    batch = fmt.collate(features, bert_tokenizer.pad_token_id)
    assert batch["token_type_ids"].shape == batch["input_ids"].shape
    assert batch["token_type_ids"][1].tolist() == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]


def test_xlmr_tokenizer_gives_no_segments():
    tokenizer = load_tokenizer(str(Path(asset_path("tiny-xlmr"))))
    fmt = get_format("classification")(get_task("xnli"))
    features = fmt.featurize([{"text_a": "Anna", "text_b": "Paris", "label": 0}], tokenizer, 32)
    assert "token_type_ids" not in features[0]
    assert "token_type_ids" not in fmt.collate(features, tokenizer.pad_token_id)


def test_qa_and_multiple_choice_segments(bert_tokenizer):
    qa = get_format("span_qa")(get_task("squad"))
    row = {
        "id": "q1",
        "question": "where did the cat go ?",
        "context": "the cat ran far away .",
        "answers": {"text": ["far away"], "answer_start": [12]},
    }
    (feature,) = qa.featurize([row], bert_tokenizer, max_length=64)
    types = feature["token_type_ids"]
    start = feature["context_start"]
    assert set(types[:start]) == {0} and set(types[start:]) == {1}
    assert qa.collate([feature], 0)["token_type_ids"].tolist() == [types]

    mc = get_format("multiple_choice")(get_task("copa"))
    rows = [
        {"premise": "the cat sat", "question": "cause", "choice1": "a dog ran", "choice2": "far"}
        | {"label": 0}
    ]
    (feature,) = mc.featurize(rows, bert_tokenizer, max_length=32)
    batch = mc.collate([feature], 0)
    assert (
        batch["token_type_ids"].shape
        == batch["input_ids"].shape
        == (2, batch["input_ids"].shape[1])
    )
    assert batch["token_type_ids"][0].max() == 1


def test_the_model_uses_the_segments():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        type_vocab_size=2,
    )
    model = TaskModel(BertModel(config, add_pooling_layer=False), {"h": torch.nn.Identity()}).eval()
    ids = torch.tensor([[2, 5, 6, 3, 7, 3]])
    mask = torch.ones_like(ids)
    one_segment = model("h", ids, mask)
    assert torch.equal(one_segment, model("h", ids, mask, token_type_ids=torch.zeros_like(ids)))
    pair = model("h", ids, mask, token_type_ids=torch.tensor([[0, 0, 0, 0, 1, 1]]))
    assert not torch.allclose(one_segment, pair)
