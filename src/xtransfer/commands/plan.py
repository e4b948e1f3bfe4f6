"""`xtransfer plan [overrides] [-m]`: the phases a train command would run, without training.

`xtransfer plan --check-data [overrides]` runs only the pre-flight data check of `train`.

For each run: its phases in order, their content keys, whether the cache already holds them
(or an earlier run of the same sweep would train them first), and the optimizer steps of each
phase that still has to be trained.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from omegaconf import DictConfig

# Hydra must not write run folders or logs for a dry run.
_QUIET = [
    "hydra.output_subdir=null",
    "hydra/job_logging=disabled",
    "hydra/hydra_logging=disabled",
    "hydra.run.dir=.",
    "hydra.sweep.subdir=.",
]

_seen: dict[str, str] = {}  # phase key -> "cached" | "new" across the runs of one sweep
_totals = {"runs": 0, "new": 0, "cached": 0, "planned": 0, "steps": 0}


# Rows tokenised per task to measure windows per row and tokens per window (the whole set when
# smaller): enough for a compute estimate, cheap even for MNLI's 393k rows.
_SAMPLE_ROWS = 400
_tokenizers: dict[str, object] = {}


def _real_tokens(feature: dict) -> int:
    ids = feature["input_ids"]
    return sum(len(x) for x in ids) if ids and isinstance(ids[0], list) else len(ids)


def _measure(cfg: DictConfig, plan) -> tuple[int, float | None]:
    """(training features, mean real tokens per feature) of one task of a phase.

    The loop trains on features (QA windows, tagging windows), not rows, so rows are
    featurised, on a sample for large sets. Without the tokenizer (Hub unreachable) the row
    count stands in and no token count is known.
    """
    from xtransfer.data.train_data import train_rows
    from xtransfer.errors import UserError
    from xtransfer.tasks.formats import get_format
    from xtransfer.tasks.registry import get_task
    from xtransfer.training.model import load_tokenizer

    rows = train_rows(plan, cfg.data, cfg.trainer.max_train_examples)
    source = str(cfg.model.tokenizer)
    if source not in _tokenizers:
        try:
            _tokenizers[source] = load_tokenizer(source)
        except UserError:
            _tokenizers[source] = None
            print(f"  (tokenizer {source} unavailable: steps count rows, no compute estimate)")
    tokenizer = _tokenizers[source]
    if tokenizer is None or not rows:
        return len(rows), None
    stride = max(1, len(rows) // _SAMPLE_ROWS)
    sample = rows[::stride][:_SAMPLE_ROWS]
    task = get_task(plan.train.task)
    # The model's own limit (offline: its config.json), as a train run would clamp it.
    from xtransfer.training.limits import clamp_max_length
    from xtransfer.training.model import load_model_config

    config = load_model_config(cfg.model, offline=True)
    max_length = clamp_max_length(int(plan.settings["max_length"]), config, tokenizer, plan.task)
    features = get_format(task.format)(task).featurize(sample, tokenizer, max_length)
    if not features:
        return len(rows), None
    # Exact when the whole set was featurised, else scaled by the sample's windows per row.
    n_features = round(len(features) * len(rows) / len(sample))
    return n_features, sum(_real_tokens(f) for f in features) / len(features)


def _plan(cfg: DictConfig, run_dir: Path) -> None:
    from xtransfer.pipeline.cache import PhaseCache
    from xtransfer.pipeline.plan import plan_phases
    from xtransfer.training.sampling import make_schedule
    from xtransfer.training.step_count import optimizer_steps_per_epoch

    cache = PhaseCache(Path(cfg.cache_dir))
    phases = plan_phases(cfg)
    if _check_data_only:
        _check_data(cfg, phases)
        return
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
            measured = [_measure(cfg, plan) for plan in phase.tasks]
            sizes = [n for n, _ in measured]
            batch = [int(plan.settings["batch_size"]) for plan in phase.tasks]
            n_stages = len(cfg.intermediate.tasks) if phase.mode == "sequential" else 1
            steps, _, probabilities = make_schedule(
                sizes,
                batch,
                # The loop's own rule (grad_accum included); `plan` is one process.
                [
                    optimizer_steps_per_epoch(n, b, int(cfg.trainer.grad_accum))
                    for n, b in zip(sizes, batch, strict=True)
                ],
                [int(plan.settings["epochs"]) for plan in phase.tasks],
                phase.sampler,
                phase.budget,
                1.0 / n_stages,
            )
            status = "new: " + ", ".join(
                f"{plan.task} {n} {'examples' if length is None else 'features'}"
                + ("" if plan.languages == ["en"] else f" [{','.join(plan.languages)}]")
                for plan, (n, length) in zip(phase.tasks, measured, strict=True)
            )
            if phase.mode == "multitask":
                rates = (phase.sampler or {}).get("rates") or [None] * len(phase.tasks)
                detail = "      sampler " + ", ".join(
                    f"{plan.task} p={p:.3f}" + (" (mixing rate)" if rate is not None else "")
                    for plan, p, rate in zip(phase.tasks, probabilities, rates, strict=True)
                )
            _totals["new"] += 1
            _totals["steps"] += steps
            lengths = [length for _, length in measured]
            if all(length is not None for length in lengths):
                estimate = _estimate_line(cfg, phase, steps, probabilities, batch, lengths)
                detail = f"{detail}\n{estimate}" if detail else estimate
        _seen.setdefault(phase.key, status)
        step_text = f", {steps} steps" if steps is not None else ""
        label = "+".join(phase.task_names)
        mode = f" [{phase.mode}]" if phase.mode not in ("single", "target") else ""
        if phase.head_from is not None:
            mode += f" [head from {phase.head_from}]"
        print(f"  {phase.name:<12} {label:<16} key {phase.key}{mode}  {status}{step_text}")
        if detail:
            print(detail)


def _estimate_line(cfg, phase, steps, probabilities, batch, lengths) -> str:
    """Compute time of a new phase from the measured throughput profile, per measured device."""
    from xtransfer.reporting import estimate as est
    from xtransfer.tasks.registry import get_task

    per_step = [p * b for p, b in zip(probabilities, batch, strict=True)]
    tokens = steps * sum(n * length for n, length in zip(per_step, lengths, strict=True))
    mean_length = tokens / max(1.0, steps * sum(per_step))
    formats = {get_task(plan.train.task).format for plan in phase.tasks}
    # QA's long windows dominate a mix's cost; its measured rate is the conservative one.
    family = "qa" if "span_qa" in formats else "classification"
    found = est.estimate(
        est.load_profile(),
        est.profile_model_name(cfg.model),
        est.architecture(cfg.model),
        family,
        tokens,
        mean_length,
    )
    for item in found:
        _seconds[item.device] = _seconds.get(item.device, 0.0) + item.seconds
    text = ", ".join(f"{e.device} {est.format_duration(e.seconds)} ({e.basis})" for e in found)
    return f"      {tokens / 1e6:.3f}M real tokens" + (f"; est. {text}" if text else "")


_seconds: dict[str, float] = {}  # estimated compute per device over the whole sweep


def _print_totals() -> None:
    from xtransfer.reporting.estimate import format_duration

    if _totals["runs"] > 1:
        t = _totals
        print(
            f"sweep: {t['runs']} runs; phases: {t['new']} new ({t['steps']} steps), "
            f"{t['cached']} cached, {t['planned']} shared within the sweep"
        )
    if _seconds:
        text = ", ".join(f"{d} {format_duration(s)}" for d, s in sorted(_seconds.items()))
        print(f"estimated training compute (measured throughput profile): {text}")


_check_data_only = False


def _check_data(cfg: DictConfig, phases) -> None:
    """`plan --check-data`: the pre-flight check of `train`, alone (raises on any problem)."""
    import time

    from xtransfer.pipeline.preflight import preflight, required_splits

    start = time.perf_counter()
    preflight(cfg, phases)
    seconds = time.perf_counter() - start
    count = len(required_splits(cfg, phases))
    print(
        f"data check: target={cfg.target.name} data={cfg.data.name}: all {count} splits the run "
        f"reads resolve ({seconds:.2f} s)"
    )


def main(argv: list[str]) -> int:
    from xtransfer.hydra_app import run_hydra

    global _check_data_only
    _check_data_only = "--check-data" in argv
    argv = [arg for arg in argv if arg != "--check-data"]

    atexit.register(_print_totals)
    # A multirun always writes multirun.yaml into its sweep folder: a throwaway one, so a dry
    # run leaves nothing behind.
    scratch = tempfile.mkdtemp(prefix="xtransfer-plan-")
    atexit.register(shutil.rmtree, scratch, True)
    return run_hydra("plan", "config", [*argv, *_QUIET, f"hydra.sweep.dir={scratch}"], _plan)
