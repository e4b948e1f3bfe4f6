"""Head transfer (keep_head=true): which head is carried, the cache key, the error cases, and
that the target phase really starts from the intermediate head's weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from safetensors.torch import load_file

from xtransfer.config import register_resolvers
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline import run as run_module
from xtransfer.pipeline.plan import plan_phases
from xtransfer.pipeline.run import run_pipeline


def _cfg(*overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=list(overrides))


def test_default_moves_only_the_encoder():
    phases = plan_phases(_cfg())
    assert [p.head_from for p in phases] == [None, None]
    assert "keep_head" not in phases[-1].payload


@pytest.mark.parametrize(
    "overrides,target,carried",
    [
        (("intermediate=mnli",), "xnli", "mnli"),
        (("intermediate=squad",), "xquad", "squad"),
        # Multi-task: the one task whose head matches the target's.
        (("intermediate=[mnli,pawsx]", "intermediate.mode=multitask"), "xnli", "mnli"),
        (("intermediate=[mnli,pawsx]", "intermediate.mode=multitask"), "pawsx", "pawsx"),
        # Sequential: the last stage's head (the only one its checkpoint holds).
        (("intermediate=[pawsx,mnli]", "intermediate.mode=sequential"), "xnli", "mnli"),
    ],
)
def test_matching_head_is_carried_and_keyed(overrides, target, carried):
    plain = plan_phases(_cfg(*overrides, f"target={target}"))
    kept = plan_phases(_cfg(*overrides, f"target={target}", "keep_head=true"))
    assert kept[-1].head_from == carried
    assert kept[-1].payload["keep_head"] == carried
    # The intermediate phases are the same checkpoints; only the target phase differs.
    assert [p.key for p in kept[:-1]] == [p.key for p in plain[:-1]]
    assert kept[-1].key != plain[-1].key


def test_run_directory_names_keep_head():
    assert _cfg("keep_head=true").intermediate.name == "mnli.keep_head"
    assert _cfg().intermediate.name == "mnli"


@pytest.mark.parametrize(
    "overrides,message",
    [
        # 3 NLI labels vs PAWS-X's 2: same format, another label space.
        (("intermediate=mnli", "target=pawsx"), r"pawsx: classification, 2 labels.*mnli: "),
        (("intermediate=squad", "target=xnli"), "matches no head"),
        (("intermediate=[mnli,pawsx]", "intermediate.mode=sequential"), "matches no head"),
        (("intermediate=none",), "needs an intermediate phase"),
        (("target=tatoeba",), "trains no head"),
    ],
)
def test_mismatched_heads_are_one_clear_error(overrides, message):
    with pytest.raises(UserError, match=message):
        plan_phases(_cfg(*overrides, "keep_head=true"))


def test_target_training_starts_from_the_intermediate_head(tmp_path: Path, monkeypatch):
    started: dict[str, dict[str, torch.Tensor]] = {}
    real_train = run_module.train

    def spy(model, streams, *args, **kwargs):
        for head, module in model.heads.items():
            started[f"{kwargs['desc']}/{head}"] = {
                k: v.detach().clone() for k, v in module.state_dict().items()
            }
        return real_train(model, streams, *args, **kwargs)

    monkeypatch.setattr(run_module, "train", spy)
    cfg = _cfg(
        f"output_root={tmp_path}",
        "keep_head=true",
        "trainer.max_train_examples=64",
        "intermediate.tasks.mnli.epochs=1",
        "target.epochs=1",
    )
    results = run_pipeline(cfg, tmp_path / "run")
    inter, target = results["phases"]
    assert target["head_from"] == "mnli"
    saved = load_file(str(Path(inter["checkpoint"]) / "heads.safetensors"))
    carried = {k[len("mnli.") :]: v for k, v in saved.items() if k.startswith("mnli.")}
    at_start = started["target:xnli/xnli"]
    assert carried and set(at_start) == set(carried)
    for name, tensor in carried.items():
        assert torch.equal(at_start[name], tensor), name
    # The intermediate head itself started fresh (nothing to carry into the first phase).
    fresh = started["intermediate:mnli/mnli"]
    assert any(not torch.equal(fresh[k], carried[k]) for k in carried)
