"""Any Hugging Face encoder checkpoint through `model.pretrained=DIR` (issue 15).

Tiny random-weight checkpoints of seven architectures (tests/tiny_checkpoints.py) are loaded,
stripped of their heads, clamped to their position tables and run through every format family:
classification (xnli), tagging (udpos), span QA (xquad) and retrieval (tatoeba). The full
architecture x format matrix is marked slow; a subset covering every architecture and every
format once runs in the default suite.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from safetensors.torch import load_file, save_file
from tiny_checkpoints import ARCHITECTURES

from xtransfer.config import asset_path, register_resolvers
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.run import run_pipeline
from xtransfer.reporting import estimate as est
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.formats.base import require_fast_tokenizer
from xtransfer.tasks.formats.retrieval import resolve_layer
from xtransfer.tasks.registry import get_task
from xtransfer.training import limits
from xtransfer.training.model import (
    TaskModel,
    build_pretrained_encoder,
    choose_attention,
    load_encoder,
    load_report,
    load_tokenizer,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
HEAD_CHECKPOINTS = ("xlmr-cls", "electra-disc", "distilbert-mlm", "bert-pretraining")


def _cfg(output_root: Path, *overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=[f"output_root={output_root}", *overrides])


def _expected_attention(encoder_class) -> str:
    # `auto` on a machine without flash-attn: SDPA where the class declares support, else eager.
    return "sdpa" if encoder_class._supports_sdpa else "eager"


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_every_architecture_loads_as_a_bare_encoder(tiny_checkpoints, name):
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_MAPPING

    source = tiny_checkpoints[name]
    encoder = build_pretrained_encoder(
        {"pretrained": str(source), "attn_implementation": "auto"}, 0
    )
    config = AutoConfig.from_pretrained(source)
    report = load_report(encoder)
    assert report.encoder_class == MODEL_MAPPING[type(config)].__name__
    assert report.attn_implementation == _expected_attention(type(encoder))
    assert report.dropped_head_weights == []
    tokenizer = load_tokenizer(str(source))
    batch = tokenizer(["Anna liest ein Buch.", "A b"], padding=True, return_tensors="pt")
    hidden = TaskModel(encoder).encoder(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    )
    assert hidden.last_hidden_state.shape[-1] == config.hidden_size


def test_explicit_sdpa_on_an_architecture_without_it_is_one_line(tiny_checkpoints):
    from transformers import DebertaV2Model

    if DebertaV2Model._supports_sdpa:
        pytest.skip("this transformers version gives DeBERTa-v2 SDPA attention")
    with pytest.raises(UserError, match="attn_implementation=auto"):
        choose_attention(DebertaV2Model, "sdpa")
    assert choose_attention(DebertaV2Model, "eager") == "eager"


@pytest.mark.parametrize("name", HEAD_CHECKPOINTS)
def test_checkpoints_with_heads_give_up_their_encoder(tiny_checkpoints, name, capsys):
    import transformers
    from transformers import AutoConfig

    source = tiny_checkpoints[name]
    config = AutoConfig.from_pretrained(source)
    saved_from = getattr(transformers, config.architectures[0])
    prefix = saved_from.base_model_prefix + "."
    weights = load_file(str(source / "model.safetensors"))
    # The head = every saved weight outside the base model.
    head = sorted(k for k in weights if not k.startswith(prefix))
    assert head, "the fixture must carry a head"

    encoder = load_encoder(source)
    report = load_report(encoder)
    assert report.checkpoint_class == config.architectures[0]
    assert report.dropped_head_weights == head
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and all(k in out[0] for k in head)
    # The encoder holds the checkpoint's own weights, not fresh ones.
    embedding = encoder.get_input_embeddings().weight
    saved = next(
        v for k, v in weights.items() if k.startswith(prefix) and v.shape == embedding.shape
    )
    assert torch.equal(embedding.detach(), saved)


def test_weights_of_no_known_head_remain_an_error(tiny_checkpoints, tmp_path):
    local = tmp_path / "odd"
    shutil.copytree(tiny_checkpoints["xlmr-cls"], local)
    weights = load_file(str(local / "model.safetensors"))
    weights["mystery.weight"] = torch.zeros(2)
    save_file(weights, str(local / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(UserError, match=r"unused \['mystery.weight'\]"):
        load_encoder(local)


def test_position_limit_follows_the_config(tiny_checkpoints):
    from transformers import AutoConfig

    short = AutoConfig.from_pretrained(tiny_checkpoints["xlmr-64pos"])
    # RoBERTa-style ids start after padding_idx: the first pad_token_id + 1 rows are unusable.
    assert limits.position_limit(short) == short.max_position_embeddings - short.pad_token_id - 1
    bert = AutoConfig.from_pretrained(tiny_checkpoints["bert"])
    assert limits.position_limit(bert) == bert.max_position_embeddings
    tokenizer = load_tokenizer(str(tiny_checkpoints["bert"]))
    tokenizer.model_max_length = 50
    assert limits.length_limit(bert, tokenizer) == (50, "tokenizer model_max_length 50")


def test_qa_windows_fit_a_short_position_table(tiny_checkpoints, capsys):
    from transformers import AutoConfig

    from xtransfer.data.sources import load_rows

    source = tiny_checkpoints["xlmr-64pos"]
    config = AutoConfig.from_pretrained(source)
    tokenizer = load_tokenizer(str(source))
    length = limits.clamp_max_length(384, config, tokenizer, "xquad")
    assert length == limits.position_limit(config)
    assert "xquad asks for 384 tokens" in capsys.readouterr().out
    task = get_task("xquad")
    rows = load_rows(task, "test", "en", _cfg(Path("unused")).data)[:8]
    features = get_format(task.format)(task).featurize(rows, tokenizer, length)
    assert max(len(f["input_ids"]) for f in features) <= length
    encoder = load_encoder(source)
    longest = max(features, key=lambda f: len(f["input_ids"]))["input_ids"]
    ids = torch.tensor([longest])
    encoder(input_ids=ids, attention_mask=torch.ones_like(ids))  # no index error


def test_tokenizer_follows_pretrained_unless_set(tmp_path, tiny_checkpoints):
    source = str(tiny_checkpoints["bert"])
    assert _cfg(tmp_path).model.tokenizer == asset_path("tiny-xlmr")
    assert _cfg(tmp_path, f"model.pretrained={source}").model.tokenizer == source
    other = str(tiny_checkpoints["electra"])
    chosen = _cfg(tmp_path, f"model.pretrained={source}", f"model.tokenizer={other}")
    assert chosen.model.tokenizer == other


def test_a_tokenizer_larger_than_the_embeddings_is_one_line(tmp_path, tiny_checkpoints):
    cfg = _cfg(
        tmp_path,
        f"model.pretrained={tiny_checkpoints['xlmr']}",
        f"model.tokenizer={tiny_checkpoints['bert']}",
        "intermediate=none",
        "target=xnli",
    )
    with pytest.raises(UserError, match="embedding matrix"):
        run_pipeline(cfg, tmp_path / "run")


def test_retrieval_layer_auto_keeps_the_papers_relative_depth():
    assert resolve_layer("auto", 24) == 14  # XLM-R Large in the paper
    assert resolve_layer("auto", 12) == 7  # the base presets' former fixed value
    assert resolve_layer("auto", 2) == 1  # the tiny models
    for depth in range(1, 49):
        assert resolve_layer("auto", depth) == max(1, math.floor(depth * 14 / 24 + 0.5))


def test_slow_tokenizer_is_refused_with_the_way_out():
    from transformers import CanineTokenizer

    slow = CanineTokenizer()
    assert not slow.is_fast
    for task in ("xquad", "udpos"):
        fmt = get_format(get_task(task).format)(get_task(task))
        with pytest.raises(UserError, match="tokenizer.json") as err:
            fmt.featurize([], slow, 128)
        assert "\n" not in str(err.value)
    require_fast_tokenizer(load_tokenizer(asset_path("tiny-xlmr")), "QA")  # a fast one passes


@pytest.mark.parametrize("name", ["electra", "rembert"])
def test_mlm_head_handles_narrow_embeddings(tiny_checkpoints, name):
    source = tiny_checkpoints[name]
    encoder = load_encoder(source)
    assert encoder.get_input_embeddings().embedding_dim != encoder.config.hidden_size
    tokenizer = load_tokenizer(str(source))
    fmt = get_format("mlm")(get_task("mlm"))
    text = Path(asset_path("demo"), "text", "en.txt").read_text("utf-8").splitlines()[:16]
    features = fmt.featurize([{"text": line} for line in text], tokenizer, 64)
    torch.manual_seed(0)
    batch = fmt.collate(features, tokenizer.pad_token_id)
    model = TaskModel(encoder, {"mlm": fmt.make_head(encoder.config.hidden_size, 0.1)})
    loss = fmt.loss(model("mlm", **batch), batch)
    loss.backward()
    assert torch.isfinite(loss) and loss.item() > 0


def test_plan_estimates_from_the_checkpoints_own_sizes(tiny_checkpoints, tmp_path):
    from transformers import AutoConfig

    source = tiny_checkpoints["distilbert"]
    config = AutoConfig.from_pretrained(source)
    preset = {
        "name": "xlmr-base",
        "pretrained": str(source),
        "architecture": {
            "checkpoint": "xlm-roberta-base",
            "layers": 12,
            "hidden": 768,
            "intermediate": 3072,
        },
    }
    arch = est.architecture(preset)
    assert (arch.layers, arch.hidden, arch.intermediate) == (
        config.n_layers,
        config.dim,
        config.hidden_dim,
    )
    assert est.profile_model_name(preset) == str(source)
    assert est.profile_model_name({"name": "tiny", "pretrained": None}) == "tiny"

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "plan",
            "model=xlmr-base",
            f"model.pretrained={tiny_checkpoints['xlmr-64pos']}",
            "intermediate=none",
            "target=xquad",
            f"output_root={tmp_path}",
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={"HF_HUB_OFFLINE": "1", **__import__("os").environ},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "xquad asks for 384 tokens; xlm-roberta takes 64" in proc.stdout
    # Estimated from the checkpoint's sizes, never quoted a measured rate of the preset.
    assert "(scaled from " in proc.stdout and "(measured tiny)" not in proc.stdout


# ------------------------------------------------------------------ architecture x format

TARGETS = ("xnli", "udpos", "xquad", "tatoeba")
# One run per architecture and per format in the default suite; the rest of the matrix is slow.
FAST = {
    ("distilbert", "xnli"),
    ("modernbert", "udpos"),
    ("deberta-v2", "xquad"),
    ("rembert", "tatoeba"),
    ("electra", "xnli"),
    ("bert", "udpos"),
    ("xlmr", "tatoeba"),
}
MATRIX = [
    pytest.param(name, target, marks=() if (name, target) in FAST else pytest.mark.slow)
    for name in (*ARCHITECTURES, "xlmr-cls", "xlmr-64pos")
    for target in TARGETS
]


@pytest.mark.parametrize(("name", "target"), MATRIX)
def test_architecture_by_format(tiny_checkpoints, tmp_path, name, target, capsys):
    from transformers import AutoConfig

    source = tiny_checkpoints[name]
    cfg = _cfg(
        tmp_path,
        f"model.pretrained={source}",
        "intermediate=none",
        f"target={target}",
        "trainer.max_train_examples=32",
    )
    results = run_pipeline(cfg, tmp_path / "run")
    summary = results["summary"][get_task(target).name]
    assert summary["languages"] > 0 and 0.0 <= summary["avg_metric"] <= 100.0
    assert all(0.0 <= s["value"] <= 100.0 for s in results["scores"])
    config = AutoConfig.from_pretrained(source)
    requested = int(cfg.target.max_length)
    clamped = limits.length_limit(config, load_tokenizer(str(source)))[0]
    if clamped is not None and clamped < requested:
        assert f"asks for {requested} tokens" in capsys.readouterr().out
    for phase in results["phases"]:  # trained targets record how the encoder was loaded
        assert phase["model_load"]["attn_implementation"] in ("sdpa", "eager")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["electra", "rembert"])
def test_mlm_intermediate_phase_on_narrow_embeddings(tiny_checkpoints, tmp_path, name):
    cfg = _cfg(
        tmp_path,
        f"model.pretrained={tiny_checkpoints[name]}",
        "intermediate=mlm",
        "target=xnli",
        "trainer.max_train_examples=32",
    )
    results = run_pipeline(cfg, tmp_path / "run")
    assert [p["name"] for p in results["phases"]] == ["intermediate", "target"]
    assert all(p["steps"] > 0 for p in results["phases"])
