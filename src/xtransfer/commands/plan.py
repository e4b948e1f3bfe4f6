"""`xtransfer plan [overrides] [-m]`: the phases a train command would run, without training.

For each run: its phases in order, their content keys, whether the cache already holds them
(or an earlier run of the same sweep would train them first), and the optimizer steps of each
phase that still has to be trained.
"""

from __future__ import annotations

import atexit
import math
from pathlib import Path

from omegaconf import DictConfig

# Hydra must not write run folders or logs for a dry run.
_QUIET = [
    "hydra.output_subdir=null",
    "hydra/job_logging=disabled",
    "hydra/hydra_logging=disabled",
    "hydra.run.dir=.",
    "hydra.sweep.dir=.",
    "hydra.sweep.subdir=.",
]

_seen: dict[str, str] = {}  # phase key -> "cached" | "new" across the runs of one sweep
_totals = {"runs": 0, "new": 0, "cached": 0, "planned": 0, "steps": 0}


def _count_rows(cfg: DictConfig, plan) -> int:
    from xtransfer.data.train_data import train_rows

    return len(train_rows(plan, cfg.data, cfg.trainer.max_train_examples))


def _plan(cfg: DictConfig, run_dir: Path) -> None:
    from xtransfer.pipeline.cache import PhaseCache
    from xtransfer.pipeline.plan import plan_phases
    from xtransfer.training.sampling import make_schedule

    cache = PhaseCache(Path(cfg.cache_dir))
    phases = plan_phases(cfg)
    _totals["runs"] += 1
    print(
        f"run: model={cfg.model.name} intermediate={cfg.intermediate.name} "
        f"target={cfg.target.name} data={cfg.data.name} seed={cfg.seed}"
    )
    for phase in phases:
        detail = ""
        if phase.key in _seen:
            status, steps = "planned earlier in this sweep", None
            _totals["planned"] += 1
        elif cache.is_complete(phase.key) and not cfg.force:
            status, steps = "cached", None
            _totals["cached"] += 1
        else:
            sizes = [_count_rows(cfg, plan) for plan in phase.tasks]
            batch = [int(plan.settings["batch_size"]) for plan in phase.tasks]
            n_stages = len(cfg.intermediate.tasks) if phase.mode == "sequential" else 1
            steps, _, probabilities = make_schedule(
                sizes,
                batch,
                [math.ceil(n / b) for n, b in zip(sizes, batch, strict=True)],
                [int(plan.settings["epochs"]) for plan in phase.tasks],
                phase.sampler,
                phase.budget,
                1.0 / n_stages,
            )
            status = "new: " + ", ".join(
                f"{plan.task} {n} examples"
                + ("" if plan.languages == ["en"] else f" [{','.join(plan.languages)}]")
                for plan, n in zip(phase.tasks, sizes, strict=True)
            )
            if phase.mode == "multitask":
                rates = (phase.sampler or {}).get("rates") or [None] * len(phase.tasks)
                detail = "      sampler " + ", ".join(
                    f"{plan.task} p={p:.3f}" + (" (mixing rate)" if rate is not None else "")
                    for plan, p, rate in zip(phase.tasks, probabilities, rates, strict=True)
                )
            _totals["new"] += 1
            _totals["steps"] += steps
        _seen.setdefault(phase.key, status)
        step_text = f", {steps} steps" if steps is not None else ""
        label = "+".join(phase.task_names)
        mode = f" [{phase.mode}]" if phase.mode not in ("single", "target") else ""
        if phase.head_from is not None:
            mode += f" [head from {phase.head_from}]"
        print(f"  {phase.name:<12} {label:<16} key {phase.key}{mode}  {status}{step_text}")
        if detail:
            print(detail)


def _print_totals() -> None:
    if _totals["runs"] > 1:
        t = _totals
        print(
            f"sweep: {t['runs']} runs; phases: {t['new']} new ({t['steps']} steps), "
            f"{t['cached']} cached, {t['planned']} shared within the sweep"
        )


def main(argv: list[str]) -> int:
    from xtransfer.hydra_app import run_hydra

    atexit.register(_print_totals)
    return run_hydra("plan", "config", [*argv, *_QUIET], _plan)
