"""Masked-LM co-training: masking statistics, the tied LM head, the mixing rate in the sampler,
the corpus sources and their errors, and a tiny multi-task run with mlm."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from safetensors.torch import load_file

from xtransfer.config import asset_path, register_resolvers
from xtransfer.data.sources import load_text, resolve_corpus
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.plan import plan_phases
from xtransfer.pipeline.run import run_pipeline
from xtransfer.tasks.formats.mlm import IGNORE, MLMFormat, mask_tokens
from xtransfer.tasks.registry import get_task
from xtransfer.training.model import TaskModel, build_pretrained_encoder, load_tokenizer
from xtransfer.training.sampling import make_schedule, task_for_step, task_probabilities

TINY = asset_path("tiny-xlmr")


def _cfg(*overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=list(overrides))


def _within(count: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    return abs(count - n * p) < sigmas * math.sqrt(n * p * (1 - p))


# --- masking ----------------------------------------------------------------------------------


def test_masking_statistics_follow_bert():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 4000, (400, 120), generator=gen)
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True  # <s> ... </s>
    special[::3, 90:] = True  # padding of shorter rows
    ids[special] = 1
    masked, labels = mask_tokens(ids, special, mask_id=4441, vocab_size=4442, generator=gen)
    chosen = labels != IGNORE
    eligible = int((~special).sum())
    n_chosen = int(chosen.sum())
    assert _within(n_chosen, eligible, 0.15)
    # Specials are never chosen and never changed; unchosen tokens are never changed.
    assert not chosen[special].any()
    assert torch.equal(masked[~chosen], ids[~chosen])
    assert torch.equal(labels[chosen], ids[chosen])
    to_mask = int((masked[chosen] == 4441).sum())
    kept = int((masked[chosen] == ids[chosen]).sum())
    random = n_chosen - to_mask - kept
    assert _within(to_mask, n_chosen, 0.8)
    assert _within(kept, n_chosen, 0.1 + 0.1 / 4442)  # a random draw may hit the same token
    assert _within(random, n_chosen, 0.1)


def test_collate_masks_real_text_deterministically_under_the_seed():
    tokenizer = load_tokenizer(TINY)
    fmt = MLMFormat(get_task("mlm"))
    rows = load_text({"source": "embedded", "max_lines": 40}, "de")
    features = fmt.featurize(rows, tokenizer, 64)
    torch.manual_seed(7)
    first = fmt.collate(features, tokenizer.pad_token_id)
    torch.manual_seed(7)
    again = fmt.collate(features, tokenizer.pad_token_id)
    torch.manual_seed(8)
    other = fmt.collate(features, tokenizer.pad_token_id)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["labels"], other["labels"])
    # <s>, </s> and padding are never masked; the attention mask is that of the real tokens.
    specials = set(tokenizer.all_special_ids) - {tokenizer.mask_token_id}
    plain = fmt.collate(features, tokenizer.pad_token_id)
    for i, feature in enumerate(features):
        n = len(feature["input_ids"])
        assert plain["attention_mask"][i, :n].all() and not plain["attention_mask"][i, n:].any()
        for j, token in enumerate(feature["input_ids"]):
            if token in specials:
                assert plain["labels"][i, j] == IGNORE and plain["input_ids"][i, j] == token
        assert (plain["labels"][i, n:] == IGNORE).all()


def test_lm_head_is_tied_to_the_input_embeddings_and_scores_masked_positions_only():
    tokenizer = load_tokenizer(TINY)
    encoder = build_pretrained_encoder({"config_dir": TINY}, seed=0)
    fmt = MLMFormat(get_task("mlm"))
    model = TaskModel(encoder, {"mlm": fmt.make_head(encoder.config.hidden_size, 0.1)})
    head = model.heads["mlm"]
    assert head.__dict__["_embeddings"] is encoder.get_input_embeddings()
    assert set(head.state_dict()) == {
        "dense.weight",
        "dense.bias",
        "layer_norm.weight",
        "layer_norm.bias",
        "bias",
    }  # the decoder matrix is the encoder's, saved once with it
    features = fmt.featurize(load_text({"source": "embedded"}, "fr")[:16], tokenizer, 64)
    torch.manual_seed(0)
    batch = fmt.collate(features, tokenizer.pad_token_id)
    outputs = model("mlm", **batch)
    n_masked = int((batch["labels"] != IGNORE).sum())
    assert outputs.shape == (n_masked, len(tokenizer))
    loss = fmt.loss(outputs, batch)
    assert abs(loss.item() - math.log(len(tokenizer))) < 1.0  # random model: near-uniform
    loss.backward()
    assert encoder.get_input_embeddings().weight.grad.abs().sum() > 0


# --- mixing rate ------------------------------------------------------------------------------


def test_mixing_rate_is_fixed_and_the_rest_follows_the_sampler():
    sizes = [1200, 800, 1700]
    rates = [None, None, 0.2]
    probs = task_probabilities(sizes, {"kind": "proportional", "rates": rates})
    assert probs == pytest.approx([0.8 * 1200 / 2000, 0.8 * 800 / 2000, 0.2])
    uniform = task_probabilities(sizes, {"kind": "uniform", "rates": rates})
    assert uniform == pytest.approx([0.4, 0.4, 0.2])
    fixed = task_probabilities(sizes, {"kind": "fixed", "weights": [1, 3], "rates": rates})
    assert fixed == pytest.approx([0.2, 0.6, 0.2])
    n = 20_000
    hits = sum(task_for_step(probs, seed=1, step=s) == 2 for s in range(n))
    assert _within(hits, n, 0.2)
    # The other tasks keep their own epochs; the phase grows so mlm takes 20% of it.
    total, _, _ = make_schedule(
        [1200, 1700],
        [32, 32],
        [38, 54],
        [3, 1],
        {"kind": "proportional", "rates": [None, 0.2]},
        None,
    )
    assert total == math.ceil(38 * 3 / 0.8)


@pytest.mark.parametrize(
    "sampler,message",
    [
        ({"kind": "fixed", "weights": [1, 1, 1], "rates": [None, None, 0.2]}, "takes no weight"),
        ({"kind": "proportional", "rates": [None, 1.0]}, "must leave room"),
        ({"kind": "proportional", "rates": [None, 1.5]}, r"must be in \(0, 1\]"),
    ],
)
def test_bad_mixing_rates(sampler, message):
    with pytest.raises(UserError, match=message):
        task_probabilities([10] * len(sampler["rates"]), sampler)


def test_plan_of_mnli_with_mlm():
    phases = plan_phases(_cfg("intermediate=[mnli,mlm]", "intermediate.mode=multitask"))
    inter = phases[0]
    assert inter.task_names == ["mnli", "mlm"] and inter.sampler["rates"] == [None, 0.2]
    mlm = inter.tasks[1]
    assert mlm.dev is None and mlm.corpus["source"] == "embedded"
    assert mlm.languages == sorted(p.stem for p in Path(asset_path("demo"), "text").glob("*.txt"))
    other_rate = plan_phases(
        _cfg(
            "intermediate=[mnli,mlm]",
            "intermediate.mode=multitask",
            "intermediate.tasks.mlm.rate=0.5",
        )
    )
    assert other_rate[0].key != inter.key  # the rate is part of the key
    assert _cfg("intermediate=[mnli,mlm]", "intermediate.mode=multitask").intermediate.name == (
        "mnli+mlm.multitask"
    )
    # mlm alone is a plain intermediate phase too.
    assert plan_phases(_cfg("intermediate=mlm"))[0].task_names == ["mlm"]
    # The MLM head never reaches the target: keep_head takes mnli's, and mlm alone has none.
    kept = plan_phases(
        _cfg("intermediate=[mnli,mlm]", "intermediate.mode=multitask", "keep_head=true")
    )
    assert kept[-1].head_from == "mnli"
    with pytest.raises(UserError, match="matches no head"):
        plan_phases(_cfg("intermediate=mlm", "keep_head=true"))


# --- corpora ----------------------------------------------------------------------------------


def test_local_corpus_and_its_errors(tmp_path: Path):
    (tmp_path / "de.txt").write_text("Erste Zeile.\n\n  Zweite Zeile.  \n", encoding="utf-8")
    pattern = str(tmp_path / "{lang}.txt")
    corpus = resolve_corpus(
        "mlm", {"source": "auto", "path": pattern}, {"source": "embedded"}, ["de"]
    )
    assert corpus["source"] == "local"
    assert load_text(corpus, "de") == [{"text": "Erste Zeile."}, {"text": "Zweite Zeile."}]
    with pytest.raises(UserError, match=r"mlm corpus file not found: .*fr\.txt"):
        resolve_corpus(
            "mlm", {"source": "local", "path": pattern}, {"source": "embedded"}, ["de", "fr"]
        )
    with pytest.raises(UserError, match="embedded demo text has no xx"):
        resolve_corpus("mlm", {"source": "embedded"}, {"source": "embedded"}, ["xx"])
    with pytest.raises(
        UserError, match=r"with data=xtreme_dir, set intermediate.tasks.mlm.corpus.path"
    ):
        resolve_corpus("mlm", {"source": "auto"}, {"source": "xtreme_dir"}, ["de"])
    # Through the config: a missing corpus stops the plan with one clear message.
    with pytest.raises(UserError, match="mlm corpus file not found"):
        plan_phases(
            _cfg(
                "intermediate=[mnli,mlm]",
                "intermediate.mode=multitask",
                f"intermediate.tasks.mlm.corpus.path='{tmp_path}/missing/{{lang}}.txt'",
            )
        )


def test_hub_corpus_streams_lines_of_a_text_column(tmp_path: Path):
    import datasets

    repo = tmp_path / "wikimedia" / "wikipedia"
    (repo / "20231101.de").mkdir(parents=True)
    articles = [
        {"id": "1", "text": "Satz eins.\nSatz zwei.\n\nSatz drei."},
        {"id": "2", "text": "Vier."},
    ]
    datasets.Dataset.from_list(articles).to_parquet(
        str(repo / "20231101.de" / "train-00000-of-00001.parquet")
    )
    (repo / "README.md").write_text(
        "---\nconfigs:\n- config_name: 20231101.de\n  data_files:\n  - split: train\n"
        "    path: 20231101.de/train-*\n---\n"
    )
    hub = {
        "path": "wikimedia/wikipedia",
        "name": "20231101.{lang}",
        "split": "train",
        "column": "text",
    }
    corpus = resolve_corpus(
        "mlm",
        {"source": "auto", "hub": hub, "max_lines": 3},
        {"source": "hub", "mirror": str(tmp_path)},
        ["de"],
    )
    assert [r["text"] for r in load_text(corpus, "de")] == [
        "Satz eins.",
        "Satz zwei.",
        "Satz drei.",
    ]
    missing = dict(corpus, hub=dict(hub, path="nobody/nothing"))
    with pytest.raises(UserError, match="could not read the text corpus"):
        load_text(missing, "de")


# --- a tiny run -------------------------------------------------------------------------------


def test_tiny_multitask_run_with_mlm(tmp_path: Path):
    cfg = _cfg(
        f"output_root={tmp_path}",
        "intermediate=[mnli,mlm]",
        "intermediate.mode=multitask",
        "intermediate.tasks.mlm.languages=[de,fr,zh]",
        "trainer.max_train_examples=320",
        "intermediate.tasks.mnli.epochs=1",
        "target.epochs=1",
    )
    results = run_pipeline(cfg, tmp_path / "run")
    inter = results["phases"][0]
    assert inter["sampler"]["probabilities"] == pytest.approx({"mnli": 0.8, "mlm": 0.2})
    total = math.ceil(10 / 0.8)  # mnli: 320 examples / 32 = 10 steps (1 epoch), mlm on top
    draws = [task_for_step([0.8, 0.2], 0, step) for step in range(total)]
    assert inter["steps"] == total
    assert inter["task_steps"] == {"mnli": draws.count(0), "mlm": draws.count(1)}
    assert inter["task_steps"]["mlm"] > 0
    assert inter["languages"]["mlm"] == ["de", "fr", "zh"]
    assert results["languages_seen_in_training"] == ["en"]  # MLM text is not task data
    assert not any(r.get("seen_in_training") for r in results["scores"])
    heads = load_file(str(Path(inter["checkpoint"]) / "heads.safetensors"))
    assert "mlm.bias" in heads and not any("embeddings" in k for k in heads)
    target_heads = load_file(str(Path(results["phases"][1]["checkpoint"]) / "heads.safetensors"))
    assert {k.split(".")[0] for k in target_heads} == {"xnli"}
    assert results["summary"]["xnli"]["languages"] == 15
