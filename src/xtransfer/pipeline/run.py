"""Executing a run: phases in order (trained or reused from the cache), then zero-shot evaluation.

Every phase starts from its parent's checkpoint on disk, whether that checkpoint was trained a
moment ago or found in the cache, so a reused phase and a freshly trained one take the same path.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from xtransfer import __version__
from xtransfer.data.feature_cache import featurize_cached
from xtransfer.data.hub import resolved_revisions
from xtransfer.data.sources import load_rows
from xtransfer.data.train_data import train_rows as load_train_rows
from xtransfer.data.ud_xtreme import udpos_options
from xtransfer.errors import UserError
from xtransfer.pipeline.cache import PhaseCache
from xtransfer.pipeline.plan import (
    Phase,
    TaskPlan,
    base_identity,
    plan_phases,
    run_key,
)
from xtransfer.pipeline.preflight import preflight
from xtransfer.pipeline.zero_shot import (
    check_data_source,
    evaluate_languages,
    finish_scores,
    flag_seen_languages,
)
from xtransfer.reporting.console import language_table
from xtransfer.results import RESULTS_FILE, Results, read_results, write_results
from xtransfer.run_identity import current_job_variant, identity_config
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.registry import get_task
from xtransfer.training.checkpoint import (
    load_checkpoint_encoder,
    load_head_state,
    read_meta,
    save_checkpoint,
)
from xtransfer.training.disk import tensor_bytes, writing
from xtransfer.training.events import EventLog
from xtransfer.training.limits import clamp_max_length, clamped_settings
from xtransfer.training.loop import Schedule, TaskStream, steps_per_epoch, train
from xtransfer.training.model import (
    TaskModel,
    build_pretrained_encoder,
    check_vocabulary,
    load_model_config,
    load_report,
    load_tokenizer,
)
from xtransfer.training.sampling import make_schedule
from xtransfer.training.tracking import open_event_log

log = logging.getLogger(__name__)

DEMO_LINE = (
    "This is the offline demo (embedded tiny model, bundled sample data). The real setting: "
    "xtransfer train model=xlmr-large data=hub trainer=xstilts"
)

_accelerator = None


def get_accelerator(trainer_cfg: DictConfig):
    """One Accelerator per process, reused across phases and runs of a sweep. Its
    ``mixed_precision`` is ``trainer.precision`` resolved for this machine ("no" | "bf16" |
    "fp16", see ``training.precision``), printed once when it is created."""
    global _accelerator
    from xtransfer.training.precision import (
        default_device_type,
        describe,
        enable_tf32,
        resolve_precision,
    )

    requested = trainer_cfg.get("precision", "auto")
    device_type = default_device_type()
    precision = resolve_precision(requested, device_type)  # an invalid value fails every time
    if _accelerator is not None and _accelerator.mixed_precision != precision:
        raise UserError(
            f"trainer.precision={requested} ({precision}) differs from the precision this "
            f"process already trains in ({_accelerator.mixed_precision}); run it separately"
        )
    if _accelerator is None:
        from accelerate import Accelerator

        tf32 = enable_tf32(device_type)
        _accelerator = Accelerator(mixed_precision=precision)
        if _accelerator.is_main_process:
            print(describe(precision, device_type, requested) + (", TF32 matmuls" if tf32 else ""))
        if _accelerator.device.type == "cpu" and trainer_cfg.get("cpu_threads"):
            import torch

            torch.set_num_threads(int(trainer_cfg.cpu_threads))
    return _accelerator


def feature_cache_dir(cfg: DictConfig) -> Path | None:
    """Where tokenised data are cached (``feature_cache: true``), or None."""
    return Path(cfg.cache_dir) / "features" if cfg.get("feature_cache", True) else None


def _stream(plan: TaskPlan, phase: Phase, cfg: DictConfig, tokenizer, model_config) -> TaskStream:
    task = get_task(plan.task)
    fmt = get_format(task.format)(task)
    max_len = clamp_max_length(int(plan.settings["max_length"]), model_config, tokenizer, plan.task)
    cache = feature_cache_dir(cfg)
    # Every training language's rows, concatenated (capped per language).
    train_rows = load_train_rows(plan, cfg.data, phase.trainer.get("max_train_examples"))
    dev = None
    if plan.dev is not None:
        dev_rows = load_rows(get_task(plan.dev.task), plan.dev.split, plan.dev.lang, cfg.data)
        dev = (dev_rows, featurize_cached(fmt, dev_rows, tokenizer, max_len, cache))
    return TaskStream(
        plan.task,
        fmt,
        featurize_cached(fmt, train_rows, tokenizer, max_len, cache),
        int(plan.settings["batch_size"]),
        dev,
    )


def _train_phase(
    phase: Phase,
    parent_dir: Path | None,
    cfg: DictConfig,
    tokenizer,
    accelerator,
    events: EventLog,
    out_dir: Path,
) -> dict[str, Any]:
    # Everything below reads the phase's frozen spec (phase.trainer, phase.runtime, the task
    # plans), never the Hydra config: what the key covers is what training uses.
    import torch

    attn = phase.runtime["attn_implementation"]
    encoder = (
        load_checkpoint_encoder(parent_dir, attn)
        if parent_dir is not None
        else build_pretrained_encoder(cfg.model, int(cfg.seed))
    )
    streams = [_stream(plan, phase, cfg, tokenizer, encoder.config) for plan in phase.tasks]
    trainer = phase.trainer
    hidden, dropout = encoder.config.hidden_size, float(trainer["dropout"])
    # New heads are initialised under the phase seed, so their weights do not depend on what
    # ran before in this process (a phase trained after a reused parent equals one trained
    # right after its parent).
    torch.manual_seed(phase.seed)
    model = TaskModel(encoder, {st.head: st.fmt.make_head(hidden, dropout) for st in streams})
    if phase.head_from is not None:  # keep_head=true: the parent's matching head, not a new one
        assert parent_dir is not None
        model.heads[phase.task].load_state_dict(load_head_state(parent_dir, phase.head_from))
    accum, world = int(trainer["grad_accum"]), accelerator.num_processes
    n_stages = int(phase.runtime["stages"])
    total, eval_every, probabilities = make_schedule(
        sizes=[len(st.features) for st in streams],
        batch_sizes=[st.batch_size for st in streams],
        steps_per_epoch=[steps_per_epoch(st, accum, world) for st in streams],
        epochs=[int(plan.settings["epochs"]) for plan in phase.tasks],
        sampler=phase.sampler,
        budget=phase.budget,
        budget_share=1.0 / n_stages,
    )
    if phase.mode == "multitask":
        print(
            f"[{phase.name}] multitask sampler {phase.sampler['kind']}: "
            + ", ".join(
                f"{st.head} {p:.3f} ({len(st.features)} examples)"
                for st, p in zip(streams, probabilities, strict=True)
            )
            + f"; {total} steps"
        )
    stats = train(
        model,
        streams,
        Schedule(total, eval_every, probabilities),
        trainer,
        accelerator,
        phase.seed,
        tokenizer.pad_token_id,
        events,
        desc=f"{phase.name}:{'+'.join(phase.task_names)}",
        resume_dir=out_dir / "resume",
    )
    meta = {
        "name": phase.name,
        "mode": phase.mode,
        "tasks": phase.task_names,
        "task": phase.task,
        "key": phase.key,
        "parent": phase.parent,
        "heads": {st.head: st.fmt.head_signature() for st in streams},
        "head": streams[0].fmt.head_signature(),
        "steps": stats.steps,
        "examples": {st.head: len(st.features) for st in streams},
        "task_steps": dict(zip(phase.task_names, stats.task_steps or [], strict=True)),
        "probabilities": dict(zip(phase.task_names, probabilities, strict=True)),
        "sampler": phase.sampler,
        "budget": phase.budget,
        "best_dev": stats.best_dev,
        "head_from": phase.head_from,
        "final_loss": stats.final_loss,
        "precision": accelerator.mixed_precision,
        "payload": phase.payload,
        "model_load": report.as_dict() if (report := load_report(encoder)) else None,
    }
    if accelerator.is_main_process:
        size = tensor_bytes(model.state_dict().values())
        with writing(out_dir, size, f"the {phase.name} checkpoint"):
            save_checkpoint(model, tokenizer, out_dir, meta)
    accelerator.wait_for_everyone()
    return meta


def _agree(accelerator, value: bool) -> bool:
    """The main process's ``value`` on every process."""
    if accelerator.num_processes == 1:
        return value
    from accelerate.utils import broadcast_object_list

    return bool(broadcast_object_list([value], from_process=0)[0])


def run_phases(
    cfg: DictConfig, phases: list[Phase], tokenizer, accelerator, events: EventLog
) -> tuple[list[dict[str, Any]], Path | None]:
    """Trains or reuses every phase; returns their records and the last checkpoint."""
    cache = PhaseCache(Path(cfg.cache_dir))
    parent_dir: Path | None = None
    records = []
    for phase in phases:
        start = time.perf_counter()
        # The main process holds the phase's lock and decides (a damaged checkpoint is reported
        # and trained again); the other processes of a data-parallel run follow its decision.
        with cache.claim(phase.key, lock=accelerator.is_main_process) as slot:
            reused = _agree(
                accelerator, accelerator.is_main_process and not cfg.force and slot.reusable()
            )
            if reused:
                meta = read_meta(slot.final)
                print(
                    f"[{phase.name}] {'+'.join(phase.task_names)}: reusing cached phase {phase.key}"
                )
            else:
                print(f"[{phase.name}] {'+'.join(phase.task_names)}: training (phase {phase.key})")
                meta = _train_phase(
                    phase, parent_dir, cfg, tokenizer, accelerator, events, slot.tmp
                )
                if accelerator.is_main_process:
                    slot.commit()
            accelerator.wait_for_everyone()  # the checkpoint is published before anyone reads it
        seconds = round(time.perf_counter() - start, 2)
        events.write(
            "phase_done",
            name=phase.name,
            task=phase.task,
            key=phase.key,
            reused=reused,
            seconds=seconds,
        )
        record: dict[str, Any] = {"name": phase.name}
        if phase.name == "intermediate":
            record.update(tasks=phase.task_names, mode=phase.mode)
            record["languages"] = {plan.task: plan.languages for plan in phase.tasks}
            if phase.stage is not None:
                record["stage"] = phase.stage
            if phase.mode == "multitask":
                record["sampler"] = {
                    **(phase.sampler or {}),
                    "probabilities": meta.get("probabilities"),
                }
                record["task_steps"] = meta.get("task_steps")
            if phase.budget is not None:
                record["budget"] = phase.budget
        else:
            record["task"] = phase.task
            if phase.head_from is not None:
                record["head_from"] = phase.head_from
            record["languages"] = phase.tasks[0].languages
        record.update(
            key=phase.key,
            seed=phase.seed,
            reused=reused,
            steps=meta["steps"],
            seconds=seconds,
            best_dev=meta.get("best_dev"),
            checkpoint=str(slot.final),
        )
        if meta.get("model_load"):  # attention used, head weights dropped from the checkpoint
            record["model_load"] = meta["model_load"]
        records.append(record)
        parent_dir = slot.final
    assert parent_dir is not None
    return records, parent_dir


def seen_languages(phases: list[Phase]) -> list[str]:
    """Every language whose labelled task data a phase trained on (masked-LM text is not task
    data and does not count), sorted."""
    return sorted(
        {
            lang
            for phase in phases
            for plan in phase.tasks
            if getattr(get_format(get_task(plan.task).format), "labelled", True)
            for lang in plan.languages
        }
    )


def load_for_evaluation(checkpoint: Path, task_name: str, cfg: DictConfig) -> TaskModel:
    """Encoder and the task's head from a phase checkpoint (head shape checked against the task)."""
    task = get_task(task_name)
    fmt = get_format(task.format)(task)
    meta = read_meta(checkpoint)
    if meta.get("head") != fmt.head_signature():
        raise UserError(
            f"checkpoint {checkpoint} was trained for {meta.get('task')!r} "
            f"({meta.get('head')}), not for target {task_name!r} ({fmt.head_signature()})"
        )
    encoder = load_checkpoint_encoder(checkpoint, cfg.model.attn_implementation)
    head = fmt.make_head(encoder.config.hidden_size, float(cfg.trainer.dropout))
    head.load_state_dict(load_head_state(checkpoint, meta["task"]))
    return TaskModel(encoder, {task_name: head})


def evaluate_checkpoint(
    cfg: DictConfig,
    checkpoint: Path | None,
    run_dir: Path,
    tokenizer,
    accelerator,
    events: EventLog,
) -> tuple[list[dict], dict]:
    """Scores the target on every language, from a phase checkpoint or (no phase trained at all,
    e.g. Tatoeba without intermediate) from the pretrained encoder."""
    target = cfg.target
    task = get_task(target.task)
    fmt = get_format(task.format)(task)
    if fmt.trainable:
        if checkpoint is None:
            raise UserError(f"target {target.task!r} needs a trained head: set target.train")
        model = load_for_evaluation(checkpoint, target.task, cfg)
    else:
        attn = cfg.model.attn_implementation
        encoder = (
            load_checkpoint_encoder(checkpoint, attn)
            if checkpoint is not None
            else build_pretrained_encoder(cfg.model, int(cfg.seed))
        )
        model = TaskModel(encoder)
    target = clamped_settings(target, model.encoder.config, tokenizer, target.task)
    return evaluate_languages(
        model.to(accelerator.device),
        tokenizer,
        fmt,
        task,
        target,
        cfg.data,
        str(cfg.benchmark.name),
        run_dir,
        accelerator,
        int(cfg.trainer.eval_batch_size),
        events,
        feature_dir=feature_cache_dir(cfg),
    )


def print_summary(results: dict[str, Any]) -> None:
    for task, summary in results["summary"].items():
        print(language_table(task, results["scores"], summary.get("avg_metric"), summary))


def read_finished(results_path: Path) -> dict[str, Any] | None:
    """The results of a finished run, or None (no file, or one that cannot be read: warned,
    and the run counts as not done)."""
    if not results_path.is_file():
        return None
    try:
        return read_results(results_path).to_dict()
    except UserError as err:
        why = str(err).removeprefix(f"{results_path}: ")  # the reader names the file first
        print(
            f"xtransfer: warning: {results_path} is unreadable ({why}); running again",
            file=sys.stderr,
        )
        return None


def run_pipeline(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """The whole run; returns (and writes) the results of SPEC §8."""
    run_dir = Path(run_dir)
    results_path = run_dir / RESULTS_FILE
    key = run_key(cfg)
    finished = None if cfg.force else read_finished(results_path)
    if finished is not None and finished.get("run_key") == key:
        print(f"{results_path} exists: this run is done (force=true runs it again).")
        print_summary(finished)
        return finished
    if finished is not None:
        print(
            f"{results_path} was written by another config (run key "
            f"{finished.get('run_key')}, now {key}); running again"
        )
    if cfg.model.name == "tiny" and not cfg.model.pretrained and cfg.data.name == "embedded":
        print(DEMO_LINE)
    accelerator = get_accelerator(cfg.trainer)
    events = open_event_log(cfg, run_dir, enabled=accelerator.is_main_process)
    try:
        return _execute(cfg, run_dir, accelerator, events, key)
    finally:
        events.close()  # the tracker (trainer.tracker) is finished even when the run fails


def _variant(cfg: DictConfig) -> dict[str, Any]:
    """``{"variant": {key: value}}``: the values behind the run folder's ``.cfg-<hash>`` (so
    tables can tell apart runs that differ in more than their choices), else nothing."""
    differs = current_job_variant(cfg)
    return {"variant": differs} if differs else {}


def _execute(
    cfg: DictConfig, run_dir: Path, accelerator, events: EventLog, key: str
) -> dict[str, Any]:
    main, results_path = accelerator.is_main_process, run_dir / RESULTS_FILE
    events.write("run_start", config=OmegaConf.to_container(cfg, resolve=True))
    tokenizer = load_tokenizer(str(cfg.model.tokenizer))
    check_data_source(cfg)
    check_vocabulary(tokenizer, load_model_config(cfg.model))
    phases = plan_phases(cfg)
    if cfg.data.get("preflight", True):
        preflight(cfg, phases)  # every split the run reads resolves before anything trains
    phase_records, final_ckpt = (
        run_phases(cfg, phases, tokenizer, accelerator, events) if phases else ([], None)
    )
    scores, detailed = evaluate_checkpoint(cfg, final_ckpt, run_dir, tokenizer, accelerator, events)
    seen = seen_languages(phases)
    flag_seen_languages(scores, seen)
    summary = finish_scores(cfg, scores, detailed, seen)  # comparable / why per score
    results = Results(
        xtransfer_version=__version__,
        run_key=key,
        config=identity_config(cfg),
        base=base_identity(cfg),
        model=str(cfg.model.pretrained or cfg.model.name),
        seed=int(cfg.seed),
        target_seed=int(cfg.target.get("seed", cfg.seed)),
        benchmark=str(cfg.benchmark.name),
        data=cfg.data.name,
        intermediate=cfg.intermediate.name,
        target=cfg.target.name,
        phases=phase_records,
        precision=accelerator.mixed_precision,  # trainer.precision as resolved here
        languages_seen_in_training=seen,
        data_revisions=resolved_revisions(),
        scores=scores,
        summary={cfg.target.task: summary},
        extra={**udpos_options(cfg), **_variant(cfg)},
    ).to_dict()
    if main:
        write_results(results_path, results)
        events.write("scores", scores=scores, summary=results["summary"])
        events.write("run_done", results=str(results_path))
        print_summary(results)
        print(f"results: {results_path}")
    return results


def evaluate_saved(cfg: DictConfig, checkpoint: Path, run_dir: Path) -> dict[str, Any]:
    """`xtransfer evaluate`: scores a saved checkpoint; writes results.json like a run."""
    if not checkpoint.is_dir():
        raise UserError(f"checkpoint folder not found: {checkpoint}")
    accelerator = get_accelerator(cfg.trainer)
    events = EventLog(run_dir / "events.jsonl", enabled=accelerator.is_main_process)
    if cfg.data.get("preflight", True):
        preflight(cfg, [])
    tokenizer = load_tokenizer(str(checkpoint / "encoder"))
    check_data_source(cfg)
    scores, detailed = evaluate_checkpoint(cfg, checkpoint, run_dir, tokenizer, accelerator, events)
    summary = finish_scores(cfg, scores, detailed)
    results = Results(
        xtransfer_version=__version__,
        checkpoint=str(checkpoint),
        data=cfg.data.name,
        target=cfg.target.name,
        data_revisions=resolved_revisions(),
        scores=scores,
        summary={cfg.target.task: summary},
        extra=udpos_options(cfg),
    ).to_dict()
    if accelerator.is_main_process:
        write_results(run_dir / RESULTS_FILE, results)
        print_summary(results)
        print(f"results: {run_dir / RESULTS_FILE}")
    return results
