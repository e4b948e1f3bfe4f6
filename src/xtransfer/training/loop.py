"""The training loop: AdamW + linear warm-up/decay, accumulation with clipping once per optimizer
step, English-dev model selection, on one process-wide ``Accelerator``."""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from xtransfer.tasks.formats.base import TaskFormat
from xtransfer.training import step_count
from xtransfer.training.batching import length_grouped_batches, pad_to_multiple, sorted_batches
from xtransfer.training.compiled import (
    compile_backend,
    compile_encoder,
    graphs_compiled,
    pad_multiple,
)
from xtransfer.training.disk import tensor_bytes, writing
from xtransfer.training.events import EventLog
from xtransfer.training.model import TaskModel
from xtransfer.training.prefetch import (
    Prefetcher,
    collate_draws_random,
    pin,
    prefetch_wanted,
    to_device,
)
from xtransfer.training.resume import load_resume_state, save_resume_state
from xtransfer.training.sampling import task_for_step

_NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "LayerNorm.bias")


@dataclass
class TrainStats:
    steps: int
    epochs: int
    examples: int
    best_dev: float | None
    best_epoch: int | None
    final_loss: float
    task_steps: list[int] | None = None
    data_wait_s: float = 0.0  # main thread blocked waiting for batches (collating or queued)
    seconds: float = 0.0  # the training loop's wall time


def make_optimizer(model: torch.nn.Module, trainer_cfg: Mapping[str, Any]) -> torch.optim.AdamW:
    """AdamW with weight decay on weight matrices only (not on biases or LayerNorm)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if name.endswith(_NO_DECAY) else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": float(trainer_cfg["weight_decay"])},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    kwargs: dict[str, Any] = {}
    if trainer_cfg.get("fused_adamw", True):
        # One kernel for the whole update, on GPU and CPU alike (5-7x faster optimizer steps on
        # CPU, measured for the tiny and a 4-layer XLM-R); results differ from the for-loop
        # implementation only by float rounding (~1e-7 after 20 steps).
        kwargs["fused"] = True
    return torch.optim.AdamW(
        groups,
        lr=float(trainer_cfg["lr"]),
        betas=tuple(trainer_cfg["adam_betas"]),
        eps=float(trainer_cfg["adam_eps"]),
        **kwargs,
    )


def linear_schedule(optimizer, warmup_steps: int, total_steps: int):
    """Linear warm-up to the peak learning rate, then linear decay to zero."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def collator(fmt: TaskFormat, pad_id: int, multiple: int = 1):
    """``features -> batch``: the format's collate, padded up to a multiple of ``multiple``."""

    def collate(features: Sequence[dict]) -> dict[str, torch.Tensor]:
        return pad_to_multiple(fmt.collate(features, pad_id), multiple, pad_id)

    return collate


def _device_settings(accelerator, trainer_cfg: Mapping[str, Any] | None) -> tuple[bool, int]:
    """(prefetch on?, pad multiple) for this accelerator's device."""
    cfg = trainer_cfg or {}
    device_type = accelerator.device.type
    return (
        prefetch_wanted(cfg.get("prefetch", "auto"), device_type),
        pad_multiple(cfg.get("pad_to_multiple_of"), device_type),
    )


def eval_autocast(accelerator):
    """Evaluation in the training precision: a model loaded for zero-shot evaluation is not
    wrapped by ``accelerator.prepare``, so autocast is entered here (fp32: nothing)."""
    precision = getattr(accelerator, "mixed_precision", "no")  # test doubles carry none
    if precision not in ("bf16", "fp16"):
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(accelerator.device.type, dtype=dtype)


@torch.no_grad()
def predict(
    model: TaskModel,
    head: str,
    fmt: TaskFormat,
    features: Sequence[dict],
    batch_size: int,
    accelerator,
    pad_id: int,
    desc: str | None = None,
    trainer_cfg: Mapping[str, Any] | None = None,
) -> list[Any]:
    """Per-feature predictions in feature order (batches are length-sorted internally; with
    prefetching, collated ahead on a worker thread)."""
    was_training = model.training
    model.eval()
    lengths = [fmt.feature_length(f) for f in features]
    out: list[Any] = [None] * len(features)
    batches = sorted_batches(lengths, batch_size)
    show = desc is not None and accelerator.is_main_process
    prefetch, multiple = _device_settings(accelerator, trainer_cfg)
    collate = collator(fmt, pad_id, multiple)
    pinned = accelerator.device.type == "cuda"

    def collated() -> Iterator[tuple[list[int], dict[str, torch.Tensor]]]:
        for batch_idx in batches:
            batch = collate([features[i] for i in batch_idx])
            yield batch_idx, pin(batch) if pinned else batch

    source = Prefetcher(collated()) if prefetch else nullcontext(collated())
    with source as items, eval_autocast(accelerator):
        for batch_idx, batch in tqdm(
            items, total=len(batches), desc=desc, disable=not show, leave=False
        ):
            outputs = model(head, **to_device(batch, accelerator.device))
            for i, pred in zip(batch_idx, fmt.decode(outputs.float().cpu()), strict=True):
                out[i] = pred
    model.train(was_training)
    return out


@dataclass
class TaskStream:
    """One task's training data inside a phase (a single-task phase has one stream)."""

    head: str
    fmt: TaskFormat
    features: Sequence[dict]
    batch_size: int
    dev: tuple[Sequence[dict], Sequence[dict]] | None = None


@dataclass
class Schedule:
    """How long to train and when to evaluate: ``total_steps`` optimizer steps, English dev
    every ``eval_every`` steps (and at the end), task ``probabilities`` per step."""

    total_steps: int
    eval_every: int
    probabilities: list[float]


def micro_batches_per_epoch(stream: TaskStream, accum: int, world: int) -> int:
    return step_count.micro_batches_per_epoch(len(stream.features), stream.batch_size, accum, world)


def steps_per_epoch(stream: TaskStream, accum: int, world: int = 1) -> int:
    """Optimizer steps per epoch of one stream (the rule `xtransfer plan` uses too)."""
    return step_count.optimizer_steps_per_epoch(
        len(stream.features), stream.batch_size, accum, world
    )


class _Cursor:
    """Walks one stream's epochs of length-grouped micro-batches; resumable by (epoch, pos)."""

    def __init__(
        self,
        stream: TaskStream,
        index: int,
        seed: int,
        accum: int,
        group: int,
        world: int,
        rank: int,
        state: list[int] | None = None,
    ):
        self.stream, self.accum = stream, accum
        self.lengths = [stream.fmt.feature_length(f) for f in stream.features]
        self.micro = step_count.micro_batch_size(stream.batch_size, accum)
        # Stream 0 keeps the plain seed so a single-task phase is unaffected by multi-tasking.
        self.seed = seed + 1_000 * index
        self.group, self.world, self.rank = group, world, rank
        self.per_epoch = micro_batches_per_epoch(stream, accum, world)
        self.epoch, self.pos = state if state is not None else (0, 0)
        self._batches: list[list[int]] | None = None

    def _epoch_batches(self) -> list[list[int]]:
        if self._batches is None:
            batches = length_grouped_batches(
                self.lengths, self.micro, self.seed, self.epoch, self.group
            )
            # Every process sees the same order and takes its own equal-sized share.
            self._batches = batches[: self.per_epoch * self.world][self.rank :: self.world]
        return self._batches

    def next_group(self) -> list[list[int]]:
        """The micro-batches of one optimizer step (fewer at the end of an epoch)."""
        batches = self._epoch_batches()
        if self.pos >= len(batches):
            self.epoch, self.pos, self._batches = self.epoch + 1, 0, None
            batches = self._epoch_batches()
        group = batches[self.pos : self.pos + self.accum]
        self.pos += len(group)
        return group

    def state(self) -> list[int]:
        return [self.epoch, self.pos]


@dataclass
class StepPlan:
    """What one optimizer step trains: a stream, its micro-batches (feature indices) and the
    cursors' positions once this step is done (what a resume state records)."""

    step: int
    stream: int
    micro_batches: list[list[int]]
    cursors: list[list[int]]


class TrainingRun:
    """The state of one phase's training (model, optimizer, scheduler, data cursors, progress,
    best state), advanced one optimizer step at a time by ``run``.

    Each optimizer step trains one stream, drawn by ``schedule.probabilities``. With
    ``resume_dir`` the full state is saved every ``trainer.save_every_steps`` steps and at every
    evaluation; a state found there is resumed. Data order and task draws are pure functions of
    (seed, epoch, step), so a resumed run reproduces the uninterrupted one.
    """

    def __init__(
        self,
        model: TaskModel,
        streams: Sequence[TaskStream],
        schedule: Schedule,
        trainer_cfg: Mapping[str, Any],
        accelerator,
        seed: int,
        pad_id: int,
        events: EventLog,
        desc: str,
        resume_dir: Path | None = None,
    ):
        self.streams, self.schedule, self.cfg = streams, schedule, trainer_cfg
        self.accelerator, self.seed, self.pad_id = accelerator, seed, pad_id
        self.events, self.desc, self.resume_dir = events, desc, resume_dir
        self.accum = int(trainer_cfg["grad_accum"])
        self.total = schedule.total_steps
        self.log_every = int(trainer_cfg.get("log_every", 10))
        self.save_every = int(trainer_cfg.get("save_every_steps") or 0)
        self.kill_at = trainer_cfg.get("debug_kill_at_step")
        self.prefetch, multiple = _device_settings(accelerator, trainer_cfg)
        self.collates = [collator(st.fmt, pad_id, multiple) for st in streams]
        self.data_wait_s, self.seconds = 0.0, 0.0

        torch.manual_seed(seed)  # dropout depends on the seed only
        self.optimizer = make_optimizer(model, trainer_cfg)
        warmup = int(float(trainer_cfg["warmup_ratio"]) * self.total)
        self.scheduler = linear_schedule(self.optimizer, warmup, self.total)
        self.progress: dict[str, Any] = {
            "step": 0,
            "running": 0.0,
            "evals": 0,
            "best_dev": None,
            "best_eval": None,
            "final_loss": float("nan"),
            "cursors": None,
            "task_steps": [0] * len(streams),
        }
        self.best_state: dict[str, torch.Tensor] | None = None
        self.restore(model)
        states = self.progress["cursors"] or [None] * len(streams)
        world, rank = accelerator.num_processes, accelerator.process_index
        group = int(trainer_cfg["length_group_factor"])
        self.cursors = [
            _Cursor(st, i, seed, self.accum, group, world, rank, states[i])
            for i, st in enumerate(streams)
        ]
        self.model, self.optimizer = accelerator.prepare(model, self.optimizer)
        self.backend = compile_backend(trainer_cfg.get("compile"))
        if self.backend is not None:
            self.graphs_before = graphs_compiled()
            compile_encoder(accelerator.unwrap_model(self.model), self.backend)
        # The running loss stays on the device between log steps: a `.item()` per micro-batch
        # would wait for the GPU every time and stall the pipeline.
        self.pending_loss = torch.zeros((), device=accelerator.device)
        self.bar = None

    # ---------------------------------------------------------------- the steps of a run

    def restore(self, model: TaskModel) -> None:
        """Continues from the resume state in ``resume_dir``, if there is one."""
        if self.resume_dir is None:
            return
        restored = load_resume_state(self.resume_dir, model, self.optimizer, self.scheduler)
        if restored is not None:
            self.progress, self.best_state = restored
            self.events.write("resume", desc=self.desc, step=self.progress["step"])
            print(f"{self.desc}: resuming at step {self.progress['step']}/{self.total}")

    def plans(self) -> Iterator[StepPlan]:
        """The remaining optimizer steps, in order (advances the cursors)."""
        for step in range(self.progress["step"], self.total):
            index = task_for_step(self.schedule.probabilities, self.seed, step)
            group = self.cursors[index].next_group()
            yield StepPlan(step, index, group, [c.state() for c in self.cursors])

    def micro_batches(self, plan: StepPlan) -> Iterator[dict[str, torch.Tensor]]:
        """The collated micro-batches of one step, on the host (collated when asked for)."""
        stream, collate = self.streams[plan.stream], self.collates[plan.stream]
        for idx in plan.micro_batches:
            yield collate([stream.features[j] for j in idx])

    def batches(self) -> Iterator[tuple[StepPlan, Iterable[dict[str, torch.Tensor]]]]:
        """(plan, its host micro-batches) for every remaining step; with prefetching, collated
        ahead into pinned memory on a worker thread (random-drawing collates excepted)."""
        if not self.prefetch:
            for plan in self.plans():
                yield plan, self._timed(self.micro_batches(plan))
            return
        pinned = self.accelerator.device.type == "cuda"
        on_main = [
            collate_draws_random(collate, st.features[:2])
            for st, collate in zip(self.streams, self.collates, strict=True)
        ]

        def ahead() -> Iterator[tuple[StepPlan, list | None]]:
            for plan in self.plans():
                if on_main[plan.stream]:
                    yield plan, None
                else:
                    host = list(self.micro_batches(plan))
                    yield plan, [pin(b) for b in host] if pinned else host

        prefetcher = Prefetcher(ahead(), depth=2)
        seen = 0.0
        try:
            for plan, ready in prefetcher:
                self.data_wait_s += prefetcher.wait_s - seen
                seen = prefetcher.wait_s
                yield plan, ready if ready is not None else self._timed(self.micro_batches(plan))
        finally:
            prefetcher.close()

    def _timed(self, batches: Iterator[dict]) -> Iterator[dict]:
        """Counts time spent collating on the main thread as time waiting for data."""
        while True:
            start = time.perf_counter()
            batch = next(batches, None)
            self.data_wait_s += time.perf_counter() - start
            if batch is None:
                return
            yield batch

    def train_step(self, plan: StepPlan, host_batches: Iterable[dict[str, torch.Tensor]]) -> None:
        """Forward and backward over the step's micro-batches, clipping, one optimizer step."""
        stream, model, accelerator = self.streams[plan.stream], self.model, self.accelerator
        n = len(plan.micro_batches)
        for i, host in enumerate(host_batches):
            batch = to_device(host, accelerator.device)
            sync = i == n - 1
            with accelerator.no_sync(model) if not sync else nullcontext():
                loss = stream.fmt.loss(model(stream.head, **batch), batch) / n
                accelerator.backward(loss)
            self.pending_loss += loss.detach().float()
        accelerator.clip_grad_norm_(model.parameters(), float(self.cfg["max_grad_norm"]))
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.progress["step"] += 1
        self.progress["task_steps"][plan.stream] += 1
        self.progress["cursors_after"] = plan.cursors
        self.bar.update(1)

    def fold_pending_loss(self) -> None:
        self.progress["running"] += float(self.pending_loss.item())
        self.pending_loss.zero_()

    def log_loss(self) -> None:
        """The mean loss since the last log line (every ``log_every`` steps and at the end)."""
        step = self.progress["step"]
        if not (step % self.log_every == 0 or step == self.total):
            return
        self.fold_pending_loss()
        avg = self.progress["running"] / (step % self.log_every or self.log_every)
        self.bar.set_postfix(loss=f"{avg:.4f}")
        lr = self.scheduler.get_last_lr()[0]
        self.events.write("train_loss", desc=self.desc, step=step, loss=round(avg, 6), lr=lr)
        self.progress["final_loss"], self.progress["running"] = avg, 0.0

    def at_eval(self) -> bool:
        step = self.progress["step"]
        return step % self.schedule.eval_every == 0 or step == self.total

    def evaluate(self) -> None:
        """English dev (the mean over the streams that have one); keeps the best state."""
        scores = []
        self.model.eval()
        for st in self.streams:
            if st.dev is None:
                continue
            dev_rows, dev_features = st.dev
            batch_size = int(self.cfg["eval_batch_size"])
            preds = predict(
                self.model,
                st.head,
                st.fmt,
                dev_features,
                batch_size,
                self.accelerator,
                self.pad_id,
                trainer_cfg=self.cfg,
            )
            scores.append(
                st.fmt.dev_score(dev_rows, st.fmt.finalize(dev_rows, dev_features, preds))
            )
        self.model.train()
        progress, step = self.progress, self.progress["step"]
        progress["evals"] += 1
        if not scores:
            return
        score = sum(scores) / len(scores)
        self.events.write(
            "dev",
            desc=self.desc,
            eval=progress["evals"],
            step=step,
            score=round(score, 4),
            per_task=[round(x, 4) for x in scores],
        )
        self.bar.write(f"{self.desc}: step {step}/{self.total} English dev {score:.2f}")
        if progress["best_dev"] is None or score > progress["best_dev"]:
            progress["best_dev"], progress["best_eval"] = score, progress["evals"]
            # The final state is already in the model; earlier bests are kept aside.
            self.best_state = (
                None
                if step == self.total
                else {
                    k: v.detach().cpu().clone()
                    for k, v in self.accelerator.unwrap_model(self.model).state_dict().items()
                }
            )

    def checkpoint(self) -> None:
        """Saves the resume state (main process only)."""
        if self.resume_dir is None or not self.accelerator.is_main_process:
            return
        self.fold_pending_loss()
        progress = {k: v for k, v in self.progress.items() if k != "cursors_after"}
        progress["cursors"] = self.progress["cursors_after"]
        model = self.accelerator.unwrap_model(self.model)
        # Model, optimizer moments and a kept best state: checked against the free space
        # first; the previous complete state stays until the new one is switched in.
        size = tensor_bytes(model.state_dict().values()) + tensor_bytes(
            t for state in self.optimizer.state.values() for t in state.values()
        )
        size += tensor_bytes((self.best_state or {}).values())
        with writing(self.resume_dir, size, "the resume state"):
            save_resume_state(
                self.resume_dir, model, self.optimizer, self.scheduler, progress, self.best_state
            )

    def after_step(self) -> None:
        """Logging, evaluation and resume state due after the step just taken."""
        self.log_loss()
        step, at_eval = self.progress["step"], self.at_eval()
        if at_eval and self.cfg.get("eval_every_epoch", True):
            self.evaluate()
        if (self.save_every and step % self.save_every == 0) or (at_eval and step < self.total):
            self.checkpoint()

    def maybe_kill(self) -> None:
        step = self.progress["step"]
        if self.kill_at is not None and step == int(self.kill_at) and step < self.total:
            os.kill(os.getpid(), signal.SIGKILL)  # simulates preemption (tests only)

    def announce(self) -> None:
        self.events.write(
            "train_start",
            desc=self.desc,
            steps=self.total,
            eval_every=self.schedule.eval_every,
            tasks=[st.head for st in self.streams],
            probabilities=self.schedule.probabilities,
            examples=[len(st.features) for st in self.streams],
            batch_size=[st.batch_size for st in self.streams],
            grad_accum=self.accum,
        )

    def finish(self) -> TrainStats:
        """Restores the best state; the statistics of the run."""
        if self.best_state is not None:
            self.accelerator.unwrap_model(self.model).load_state_dict(self.best_state)
        if self.backend is not None:
            graphs = graphs_compiled() - self.graphs_before
            self.events.write("compile", desc=self.desc, backend=self.backend, graphs=graphs)
            print(
                f"{self.desc}: compiled encoder ({self.backend}): {graphs} graph(s), "
                f"{max(0, graphs - 1)} recompilation(s)"
            )
        self.accelerator.free_memory()
        progress = self.progress
        return TrainStats(
            progress["step"],
            math.ceil(self.total / self.schedule.eval_every),
            sum(len(st.features) for st in self.streams),
            progress["best_dev"],
            progress["best_eval"],
            progress["final_loss"],
            list(progress["task_steps"]),
            data_wait_s=self.data_wait_s,
            seconds=self.seconds,
        )

    def run(self) -> TrainStats:
        self.announce()
        self.progress["cursors_after"] = [c.state() for c in self.cursors]
        start = time.perf_counter()
        self.bar = tqdm(
            total=self.total,
            initial=self.progress["step"],
            desc=self.desc,
            disable=not self.accelerator.is_main_process,
        )
        self.model.train()
        self.maybe_kill()
        with closing(self.batches()) as batches:  # stops the prefetch thread on an error too
            for plan, host_batches in batches:
                self.train_step(plan, host_batches)
                self.after_step()
                self.maybe_kill()
        self.bar.close()
        self.seconds = time.perf_counter() - start
        return self.finish()


def train(
    model: TaskModel,
    streams: Sequence[TaskStream],
    schedule: Schedule,
    trainer_cfg: Mapping[str, Any],
    accelerator,
    seed: int,
    pad_id: int,
    events: EventLog,
    desc: str,
    resume_dir: Path | None = None,
) -> TrainStats:
    """Trains ``model`` in place and restores the state with the best English-dev score (the
    mean over the streams that have a dev set); see ``TrainingRun``."""
    run = TrainingRun(
        model, streams, schedule, trainer_cfg, accelerator, seed, pad_id, events, desc, resume_dir
    )
    return run.run()
