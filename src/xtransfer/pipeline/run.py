"""Executing a run: phases in order (trained or reused from the cache), then zero-shot evaluation.

Every phase starts from its parent's checkpoint on disk, whether that checkpoint was trained a
moment ago or found in the cache, so a reused phase and a freshly trained one take the same path.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from xtransfer import __version__
from xtransfer.data.sources import load_rows
from xtransfer.errors import UserError
from xtransfer.evaluation.zero_shot import evaluate_languages
from xtransfer.pipeline.cache import PhaseCache
from xtransfer.pipeline.plan import Phase, plan_phases
from xtransfer.reporting.console import language_table
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.registry import get_task
from xtransfer.training.checkpoint import (
    load_checkpoint_encoder,
    load_head_state,
    read_meta,
    save_checkpoint,
)
from xtransfer.training.events import EventLog
from xtransfer.training.loop import train
from xtransfer.training.model import TaskModel, build_pretrained_encoder, load_tokenizer

log = logging.getLogger(__name__)

RESULTS_FILE = "results.json"
DEMO_LINE = (
    "This is the offline demo (embedded tiny model, bundled sample data). The real setting: "
    "xtransfer train model=xlmr-large data=hub trainer=xstilts"
)

_accelerator = None


def get_accelerator(trainer_cfg: DictConfig):
    """One Accelerator per process, reused across phases and runs of a sweep."""
    global _accelerator
    if _accelerator is None:
        from accelerate import Accelerator

        _accelerator = Accelerator(mixed_precision=str(trainer_cfg.precision))
    return _accelerator


def _limit(rows: list, cap: int | None) -> list:
    return rows[: int(cap)] if cap else rows


def _train_phase(
    phase: Phase,
    parent_dir: Path | None,
    cfg: DictConfig,
    tokenizer,
    accelerator,
    events: EventLog,
    out_dir: Path,
) -> dict[str, Any]:
    task = get_task(phase.task)
    fmt = get_format(task.format)(task)
    attn = cfg.model.attn_implementation
    encoder = (
        load_checkpoint_encoder(parent_dir, attn)
        if parent_dir is not None
        else build_pretrained_encoder(cfg.model, int(cfg.seed))
    )
    hidden = encoder.config.hidden_size
    model = TaskModel(encoder, {phase.task: fmt.make_head(hidden, float(cfg.trainer.dropout))})
    max_len = int(phase.settings["max_length"])
    train_rows = _limit(
        load_rows(get_task(phase.train.task), phase.train.split, phase.train.lang, cfg.data),
        cfg.trainer.max_train_examples,
    )
    train_features = fmt.featurize(train_rows, tokenizer, max_len)
    dev = None
    if phase.dev is not None:
        dev_rows = load_rows(get_task(phase.dev.task), phase.dev.split, phase.dev.lang, cfg.data)
        dev = (dev_rows, fmt.featurize(dev_rows, tokenizer, max_len))
    stats = train(
        model,
        phase.task,
        fmt,
        train_features,
        dev,
        phase.settings,
        cfg.trainer,
        accelerator,
        int(cfg.seed),
        tokenizer.pad_token_id,
        events,
        desc=f"{phase.name}:{phase.task}",
        resume_dir=out_dir / "resume",
    )
    meta = {
        "name": phase.name,
        "task": phase.task,
        "key": phase.key,
        "parent": phase.parent,
        "head": fmt.head_signature(),
        "steps": stats.steps,
        "epochs": stats.epochs,
        "examples": stats.examples,
        "best_dev": stats.best_dev,
        "best_epoch": stats.best_epoch,
        "final_loss": stats.final_loss,
        "payload": phase.payload,
    }
    if accelerator.is_main_process:
        save_checkpoint(model, tokenizer, out_dir, meta)
    accelerator.wait_for_everyone()
    return meta


def run_phases(
    cfg: DictConfig, phases: list[Phase], tokenizer, accelerator, events: EventLog
) -> tuple[list[dict[str, Any]], Path | None]:
    """Trains or reuses every phase; returns their records and the last checkpoint."""
    cache = PhaseCache(Path(cfg.cache_dir))
    parent_dir: Path | None = None
    records = []
    for phase in phases:
        start = time.perf_counter()
        with cache.claim(phase.key) as slot:
            reused = slot.complete and not cfg.force
            if reused:
                meta = read_meta(slot.final)
                print(f"[{phase.name}] {phase.task}: reusing cached phase {phase.key}")
            else:
                print(f"[{phase.name}] {phase.task}: training (phase {phase.key})")
                meta = _train_phase(
                    phase, parent_dir, cfg, tokenizer, accelerator, events, slot.tmp
                )
                if accelerator.is_main_process:
                    slot.commit()
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
            record.update(tasks=[phase.task], mode="single")
        else:
            record["task"] = phase.task
        record.update(
            key=phase.key,
            reused=reused,
            steps=meta["steps"],
            seconds=seconds,
            best_dev=meta.get("best_dev"),
            checkpoint=str(slot.final),
        )
        records.append(record)
        parent_dir = slot.final
    assert parent_dir is not None
    return records, parent_dir


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
    )


def print_summary(results: dict[str, Any]) -> None:
    for task, summary in results["summary"].items():
        print(language_table(task, results["scores"], summary.get("avg_metric")))


def run_pipeline(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """The whole run; returns (and writes) the results of SPEC §8."""
    run_dir = Path(run_dir)
    results_path = run_dir / RESULTS_FILE
    if results_path.is_file() and not cfg.force:
        print(f"{results_path} exists: this run is done (force=true runs it again).")
        results = json.loads(results_path.read_text("utf-8"))
        print_summary(results)
        return results
    if cfg.model.name == "tiny" and cfg.data.name == "embedded":
        print(DEMO_LINE)
    accelerator = get_accelerator(cfg.trainer)
    main = accelerator.is_main_process
    events = EventLog(run_dir / "events.jsonl", enabled=main)
    events.write("run_start", config=OmegaConf.to_container(cfg, resolve=True))
    tokenizer = load_tokenizer(str(cfg.model.tokenizer))
    phases = plan_phases(cfg)
    phase_records, final_ckpt = (
        run_phases(cfg, phases, tokenizer, accelerator, events) if phases else ([], None)
    )
    scores, detailed = evaluate_checkpoint(cfg, final_ckpt, run_dir, tokenizer, accelerator, events)
    results = {
        "xtransfer_version": __version__,
        "model": str(cfg.model.pretrained or cfg.model.name),
        "seed": int(cfg.seed),
        "data": cfg.data.name,
        "intermediate": cfg.intermediate.name,
        "target": cfg.target.name,
        "phases": phase_records,
        "scores": scores,
        "summary": {
            cfg.target.task: {
                "avg_metric": detailed.get("avg_metric"),
                "languages": len({s["lang"] for s in scores}),
            }
        },
    }
    if main:
        tmp = results_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False), "utf-8")
        tmp.replace(results_path)
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
    tokenizer = load_tokenizer(str(checkpoint / "encoder"))
    scores, detailed = evaluate_checkpoint(cfg, checkpoint, run_dir, tokenizer, accelerator, events)
    results = {
        "xtransfer_version": __version__,
        "checkpoint": str(checkpoint),
        "data": cfg.data.name,
        "target": cfg.target.name,
        "phases": [],
        "scores": scores,
        "summary": {
            cfg.target.task: {
                "avg_metric": detailed.get("avg_metric"),
                "languages": len({s["lang"] for s in scores}),
            }
        },
    }
    if accelerator.is_main_process:
        (run_dir / RESULTS_FILE).write_text(json.dumps(results, indent=2, ensure_ascii=False))
        print_summary(results)
        print(f"results: {run_dir / RESULTS_FILE}")
    return results
