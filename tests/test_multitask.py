"""Multi-task and sequential intermediate training: samplers, plans, keys, bad input."""

from __future__ import annotations

import math

import pytest
from hydra import compose, initialize_config_dir

from xtransfer.config import register_resolvers
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.plan import plan_phases
from xtransfer.training.sampling import make_schedule, task_for_step, task_probabilities


def _cfg(*overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=list(overrides))


def test_probabilities_follow_the_definitions():
    sizes = [1000, 100, 10]
    assert task_probabilities(sizes, {"kind": "proportional"}) == pytest.approx(
        [1000 / 1110, 100 / 1110, 10 / 1110]
    )
    assert task_probabilities(sizes, {"kind": "uniform"}) == pytest.approx([1 / 3] * 3)
    # temperature T=2, cap 400: weights sqrt(400), sqrt(100), sqrt(10) = 20, 10, 3.1623
    w = [20.0, 10.0, math.sqrt(10)]
    assert task_probabilities(sizes, {"kind": "temperature", "temperature": 2, "cap": 400}) == (
        pytest.approx([x / sum(w) for x in w])
    )
    assert task_probabilities(sizes, {"kind": "fixed", "weights": [1, 1, 2]}) == pytest.approx(
        [0.25, 0.25, 0.5]
    )


def test_empirical_task_frequencies_match_the_sampler():
    probs = task_probabilities([500, 300, 200], {"kind": "proportional"})
    n = 20_000
    counts = [0, 0, 0]
    for step in range(n):
        counts[task_for_step(probs, seed=3, step=step)] += 1
    for count, p in zip(counts, probs, strict=True):
        sd = math.sqrt(n * p * (1 - p))
        assert abs(count - n * p) < 4 * sd, (counts, probs)  # 4 sigma: fails ~1 in 16 000 runs
    # Deterministic in (seed, step): a resumed run draws the same tasks.
    assert [task_for_step(probs, 3, s) for s in range(50)] == [
        task_for_step(probs, 3, s) for s in range(50)
    ]


@pytest.mark.parametrize(
    "sampler,message",
    [
        ({"kind": "fixed", "weights": [1.0]}, "do not match the 2 tasks"),
        ({"kind": "temperature", "temperature": -1}, "must be positive"),
        ({"kind": "bogus"}, "unknown sampler kind"),
    ],
)
def test_bad_sampler_settings_are_one_clear_error(sampler, message):
    with pytest.raises(UserError, match=message):
        task_probabilities([10, 20], sampler)


def test_schedule_budgets():
    # Default: every task its own epochs -> sum of the single-task step counts.
    total, every, probs = make_schedule(
        [320, 160], [32, 32], [10, 5], [3, 3], {"kind": "proportional"}, None
    )
    assert total == 45 and every == 15 and probs == pytest.approx([2 / 3, 1 / 3])
    # Equal budget in steps, split equally between 2 sequential stages.
    assert make_schedule([320], [32], [10], [3], None, {"kind": "steps", "value": 40}, 0.5)[0] == 20
    # Budget in examples: 640 examples at batch 32 = 20 steps.
    assert make_schedule([320], [32], [10], [3], None, {"kind": "examples", "value": 640})[0] == 20


def test_multitask_is_one_phase_and_sequential_one_phase_per_stage():
    multi = plan_phases(_cfg("intermediate=[mnli,pawsx]", "intermediate.mode=multitask"))
    assert [(p.name, p.mode, p.task_names) for p in multi] == [
        ("intermediate", "multitask", ["mnli", "pawsx"]),
        ("target", "target", ["xnli"]),
    ]
    seq = plan_phases(_cfg("intermediate=[mnli,pawsx]", "intermediate.mode=sequential"))
    assert [(p.mode, p.task_names) for p in seq] == [
        ("sequential", ["mnli"]),
        ("sequential", ["pawsx"]),
        ("target", ["xnli"]),
    ]
    assert seq[1].parent == seq[0].key and seq[2].parent == seq[1].key


def test_sequential_orders_share_their_prefix_and_single_task_is_the_first_stage():
    single = plan_phases(_cfg("intermediate=mnli"))
    two = plan_phases(_cfg("intermediate=[mnli,pawsx]", "intermediate.mode=sequential"))
    other_order = plan_phases(_cfg("intermediate=[pawsx,mnli]", "intermediate.mode=sequential"))
    assert two[0].key == single[0].key  # [mnli] and the first stage of [mnli,pawsx]
    assert other_order[0].key != two[0].key and other_order[1].key != two[1].key
    multi = plan_phases(_cfg("intermediate=[mnli,pawsx]", "intermediate.mode=multitask"))
    temp = plan_phases(
        _cfg(
            "intermediate=[mnli,pawsx]",
            "intermediate.mode=multitask",
            "intermediate.sampler.kind=temperature",
        )
    )
    assert multi[0].key != temp[0].key  # the sampler is part of the key


def test_setup_names_for_run_directories():
    assert _cfg("intermediate=none").intermediate.name == "none"
    assert (
        _cfg("intermediate=[mnli,pawsx]", "intermediate.mode=multitask").intermediate.name
        == "mnli+pawsx.multitask"
    )


@pytest.mark.parametrize(
    "overrides,message",
    [
        (("intermediate=[mnli,pawsx]",), "need intermediate.mode=multitask"),
        (
            (
                "intermediate=[mnli,pawsx]",
                "intermediate.mode=multitask",
                "intermediate.sampler.kind=fixed",
                "intermediate.sampler.weights=[1]",
            ),
            "do not match the 2 tasks",
        ),
        (("intermediate.mode=parallel",), "intermediate.mode must be one of"),
        (("intermediate.budget.kind=steps",), "budget.value must be a positive"),
    ],
)
def test_bad_intermediate_settings(overrides, message):
    with pytest.raises(UserError, match=message):
        plan_phases(_cfg(*overrides))
