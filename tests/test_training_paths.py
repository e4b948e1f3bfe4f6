"""The fast paths of the training loop give the results of the plain path.

Prefetching (collating on a worker thread) must not change a single bit: the batch order is the
same and a collate that draws random numbers (masked-LM masking) stays on the main thread.
Padding to a multiple of 8 and the compiled encoder change only float rounding.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from xtransfer.config import asset_path
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.run import get_accelerator
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.registry import get_task
from xtransfer.training.batching import pad_to_multiple
from xtransfer.training.compiled import compile_backend, pad_multiple
from xtransfer.training.events import EventLog
from xtransfer.training.loop import Schedule, TaskStream, steps_per_epoch, train
from xtransfer.training.model import TaskModel, build_pretrained_encoder, load_tokenizer
from xtransfer.training.prefetch import Prefetcher, collate_draws_random
from xtransfer.training.step_count import optimizer_steps_per_epoch

TINY = asset_path("tiny-xlmr")


def _trainer(**overrides):
    cfg = OmegaConf.load(Path(CONFIG_DIR) / "trainer" / "xstilts.yaml")
    cfg = OmegaConf.to_container(cfg, resolve=True)
    cfg.pop("defaults", None)
    cfg.update(lr=2e-3, save_every_steps=0, log_every=1, eval_every_epoch=False)
    cfg.update(overrides)
    return cfg


def _classification_stream(n: int = 48, seed: int = 0) -> TaskStream:
    task = get_task("xnli")
    fmt = get_format(task.format)(task)
    rng = random.Random(seed)
    features = [
        {
            "input_ids": [0] + [rng.randrange(5, 4000) for _ in range(rng.randrange(3, 40))] + [2],
            "label": rng.randrange(3),
        }
        for _ in range(n)
    ]
    return TaskStream("xnli", fmt, features, 8)


def _mlm_stream(tokenizer, n: int = 32) -> TaskStream:
    from xtransfer.data.sources import load_text

    task = get_task("mlm")
    fmt = get_format(task.format)(task)
    rows = load_text({"source": "embedded", "max_lines": n}, "de")
    return TaskStream("mlm", fmt, fmt.featurize(rows, tokenizer, 64), 8)


def _no_dropout(model: torch.nn.Module) -> None:
    """Dropout draws one number per position, so another padded length draws other masks:
    comparisons of padded or compiled runs against eager ones switch it off."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if isinstance(getattr(module, "dropout_prob", None), float):
            module.dropout_prob = 0.0


def _losses(tmp_path, streams, trainer_cfg, steps=8, name="run", dropout=True):
    """Per-step training losses and the final weights of a run from the same initial model."""
    hidden = 64
    encoder = build_pretrained_encoder({"config_dir": TINY}, seed=0)
    torch.manual_seed(1)
    model = TaskModel(encoder, {st.head: st.fmt.make_head(hidden, 0.1) for st in streams})
    if not dropout:
        _no_dropout(model)
    log = tmp_path / f"{name}.jsonl"
    probabilities = [1.0 / len(streams)] * len(streams)
    accelerator = get_accelerator(OmegaConf.create({"precision": "auto"}))
    train(
        model,
        streams,
        Schedule(steps, steps, probabilities),
        trainer_cfg,
        accelerator,
        3,
        1,
        EventLog(log),
        desc=name,
    )
    events = [json.loads(line) for line in log.read_text().splitlines()]
    losses = [e["loss"] for e in events if e["event"] == "train_loss"]
    return losses, {k: v.clone() for k, v in model.state_dict().items()}


def test_prefetch_changes_nothing_classification_and_mlm(tmp_path):
    tokenizer = load_tokenizer(TINY)
    streams = [_classification_stream(), _mlm_stream(tokenizer)]
    plain, w_plain = _losses(tmp_path, streams, _trainer(prefetch=False), 4, "plain")
    ahead, w_ahead = _losses(tmp_path, streams, _trainer(prefetch=True), 4, "ahead")
    assert len(plain) == 4 and plain == ahead
    assert all(torch.equal(w_plain[k], w_ahead[k]) for k in w_plain)


def test_pad_to_multiple_gives_the_same_losses(tmp_path):
    streams = [_classification_stream()]
    plain, _ = _losses(tmp_path, streams, _trainer(pad_to_multiple_of=1), name="p1", dropout=False)
    padded, _ = _losses(tmp_path, streams, _trainer(pad_to_multiple_of=8), name="p8", dropout=False)
    assert padded == pytest.approx(plain, rel=1e-4, abs=1e-5)


@pytest.mark.slow  # ~50 s on 2 shared cores: dynamo traces the whole encoder
def test_compiled_encoder_gives_the_eager_losses(tmp_path, capsys):
    # aot_eager runs dynamo + AOTAutograd (the graph capture and recompilation path) without a
    # C++ build; the inductor backend is checked by the slow test below.
    streams = [_classification_stream()]
    eager, _ = _losses(tmp_path, streams, _trainer(), name="eager", dropout=False)
    compiled, _ = _losses(
        tmp_path,
        streams,
        _trainer(compile="aot_eager", pad_to_multiple_of=8),
        name="compiled",
        dropout=False,
    )
    assert compiled == pytest.approx(eager, rel=1e-4, abs=1e-5)
    events = [json.loads(x) for x in (tmp_path / "compiled.jsonl").read_text().splitlines()]
    (record,) = [e for e in events if e["event"] == "compile"]
    assert record["backend"] == "aot_eager" and record["graphs"] >= 1
    assert "recompilation(s)" in capsys.readouterr().out


@pytest.mark.slow
def test_inductor_compiled_encoder_gives_the_eager_losses(tmp_path):
    streams = [_classification_stream()]
    eager, _ = _losses(tmp_path, streams, _trainer(), steps=4, name="eager", dropout=False)
    inductor = _trainer(compile=True, pad_to_multiple_of=8)
    compiled, _ = _losses(tmp_path, streams, inductor, steps=4, name="ind", dropout=False)
    assert compiled == pytest.approx(eager, rel=1e-3, abs=1e-4)


def test_pad_to_multiple_pads_per_token_tensors_only():
    batch = {
        "input_ids": torch.ones(2, 5, dtype=torch.long),
        "attention_mask": torch.ones(2, 5, dtype=torch.long),
        "labels": torch.zeros(2, 5, dtype=torch.long),  # tagging: one label per token
        "images": torch.zeros(2, 5),  # not a sequence tensor, even when its width matches
    }
    out = pad_to_multiple(batch, 8, pad_id=1)
    assert out["input_ids"].shape == (2, 8) and (out["input_ids"][:, 5:] == 1).all()
    assert (out["attention_mask"][:, 5:] == 0).all() and (out["labels"][:, 5:] == -100).all()
    assert out["images"].shape == (2, 5)
    classification = {"input_ids": torch.ones(2, 3), "labels": torch.zeros(2)}
    assert pad_to_multiple(classification, 8, 1)["labels"].shape == (2,)
    assert pad_to_multiple(batch, 1, 1) is batch


def test_random_collates_are_detected_and_left_unchanged():
    tokenizer = load_tokenizer(TINY)
    mlm, cls = _mlm_stream(tokenizer), _classification_stream()
    state = torch.get_rng_state()
    assert collate_draws_random(lambda f: mlm.fmt.collate(f, 1), mlm.features[:2])
    assert not collate_draws_random(lambda f: cls.fmt.collate(f, 1), cls.features[:2])
    assert torch.equal(state, torch.get_rng_state())


def test_prefetcher_keeps_order_and_reraises():
    assert list(Prefetcher(iter(range(50)), depth=3)) == list(range(50))

    def broken():
        yield 1
        raise ValueError("bad row")

    with pytest.raises(ValueError, match="bad row"):
        list(Prefetcher(broken()))


def test_settings_resolve_per_device():
    assert pad_multiple(None, "cuda") == 8 and pad_multiple(None, "cpu") == 1
    assert pad_multiple(16, "cpu") == 16
    with pytest.raises(UserError):
        pad_multiple(0, "cuda")
    assert compile_backend(False) is None and compile_backend(True) == "inductor"
    with pytest.raises(UserError):
        compile_backend("no-such-backend")


def test_plan_and_loop_count_steps_alike():
    stream = _classification_stream(n=101)
    for accum in (1, 2, 4):
        for world in (1, 2):
            assert steps_per_epoch(stream, accum, world) == optimizer_steps_per_epoch(
                101, 8, accum, world
            )
    assert optimizer_steps_per_epoch(101, 8) == 13  # ceil(101 / 8)
    assert optimizer_steps_per_epoch(101, 8, grad_accum=2) == 13  # 26 micro-batches of 4
    assert optimizer_steps_per_epoch(101, 8, world=2) == 6  # 13 micro-batches // 2 processes
