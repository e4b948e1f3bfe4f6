"""The training loop: AdamW + linear warm-up/decay, accumulation with clipping once per optimizer
step, English-dev model selection, on one process-wide ``Accelerator``."""

from __future__ import annotations

import math
import os
import signal
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from xtransfer.tasks.formats.base import TaskFormat
from xtransfer.training.batching import length_grouped_batches, sorted_batches
from xtransfer.training.events import EventLog
from xtransfer.training.model import TaskModel
from xtransfer.training.resume import load_resume_state, save_resume_state

_NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "LayerNorm.bias")


@dataclass
class TrainStats:
    steps: int
    epochs: int
    examples: int
    best_dev: float | None
    best_epoch: int | None
    final_loss: float


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
    if torch.cuda.is_available():
        kwargs["fused"] = True  # one kernel for the whole update on GPU
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
) -> list[Any]:
    """Per-feature predictions in feature order (batches are length-sorted internally)."""
    was_training = model.training
    model.eval()
    lengths = [len(f["input_ids"]) for f in features]
    out: list[Any] = [None] * len(features)
    batches = sorted_batches(lengths, batch_size)
    show = desc is not None and accelerator.is_main_process
    for batch_idx in tqdm(batches, desc=desc, disable=not show, leave=False):
        batch = fmt.collate([features[i] for i in batch_idx], pad_id)
        batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        outputs = model(head, **batch)
        for i, pred in zip(batch_idx, fmt.decode(outputs.float().cpu()), strict=True):
            out[i] = pred
    model.train(was_training)
    return out


def train(
    model: TaskModel,
    head: str,
    fmt: TaskFormat,
    train_features: Sequence[dict],
    dev: tuple[Sequence[dict], Sequence[dict]] | None,
    phase_cfg: Mapping[str, Any],
    trainer_cfg: Mapping[str, Any],
    accelerator,
    seed: int,
    pad_id: int,
    events: EventLog,
    desc: str,
    resume_dir: Path | None = None,
) -> TrainStats:
    """Trains ``model`` (encoder + ``head``) in place and restores the best English-dev state.

    With ``resume_dir``, the full training state is saved there every
    ``trainer.save_every_steps`` optimizer steps and after every epoch, and a state found there
    at the start is resumed: the data order is a pure function of (seed, epoch), so skipping the
    batches already done reproduces the uninterrupted run exactly.
    """
    accum = int(trainer_cfg["grad_accum"])
    batch_size = int(phase_cfg["batch_size"])
    micro = max(1, batch_size // accum)
    epochs = int(phase_cfg["epochs"])
    lengths = [len(f["input_ids"]) for f in train_features]
    world, rank = accelerator.num_processes, accelerator.process_index
    micro_per_epoch = math.ceil(len(lengths) / micro) // world
    steps_per_epoch = max(1, math.ceil(micro_per_epoch / accum))
    total_steps = steps_per_epoch * epochs
    save_every = int(trainer_cfg.get("save_every_steps") or 0)
    kill_at = trainer_cfg.get("debug_kill_at_step")

    torch.manual_seed(seed)  # dropout depends on the seed only
    optimizer = make_optimizer(model, trainer_cfg)
    scheduler = linear_schedule(
        optimizer, int(float(trainer_cfg["warmup_ratio"]) * total_steps), total_steps
    )
    progress = {
        "epoch": 0,
        "step_in_epoch": 0,
        "step": 0,
        "running": 0.0,
        "best_dev": None,
        "best_epoch": None,
        "final_loss": float("nan"),
    }
    best_state = None
    if resume_dir is not None:
        restored = load_resume_state(resume_dir, model, optimizer, scheduler)
        if restored is not None:
            progress, best_state = restored
            events.write("resume", desc=desc, step=progress["step"])
            print(f"{desc}: resuming at step {progress['step']}/{total_steps}")
    prepared, optimizer = accelerator.prepare(model, optimizer)
    events.write(
        "train_start",
        desc=desc,
        examples=len(lengths),
        steps=total_steps,
        epochs=epochs,
        batch_size=batch_size,
        micro_batch=micro,
        grad_accum=accum,
    )

    def checkpoint() -> None:
        if resume_dir is not None and accelerator.is_main_process:
            save_resume_state(
                resume_dir,
                accelerator.unwrap_model(prepared),
                optimizer,
                scheduler,
                progress,
                best_state,
            )

    log_every = int(trainer_cfg.get("log_every", 10))
    bar = tqdm(
        total=total_steps,
        initial=progress["step"],
        desc=desc,
        disable=not accelerator.is_main_process,
    )
    prepared.train()
    group = int(trainer_cfg["length_group_factor"])
    for epoch in range(progress["epoch"], epochs):
        batches = length_grouped_batches(lengths, micro, seed, epoch, group)
        # Every process sees the same order and takes its own equal-sized share.
        batches = batches[: micro_per_epoch * world][rank::world]
        first = progress["step_in_epoch"] * accum if epoch == progress["epoch"] else 0
        for start in range(first, len(batches), accum):
            if kill_at is not None and progress["step"] == int(kill_at):
                os.kill(os.getpid(), signal.SIGKILL)  # simulates preemption (tests only)
            group_batches = batches[start : start + accum]
            for i, idx in enumerate(group_batches):
                batch = fmt.collate([train_features[j] for j in idx], pad_id)
                batch = {k: v.to(accelerator.device) for k, v in batch.items()}
                sync = i == len(group_batches) - 1
                with accelerator.no_sync(prepared) if not sync else nullcontext():
                    loss = fmt.loss(prepared(head, **batch), batch) / len(group_batches)
                    accelerator.backward(loss)
                progress["running"] += loss.item()
            accelerator.clip_grad_norm_(prepared.parameters(), float(trainer_cfg["max_grad_norm"]))
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            progress["step"] += 1
            progress["step_in_epoch"] = start // accum + 1
            progress["epoch"] = epoch
            step = progress["step"]
            bar.update(1)
            if step % log_every == 0 or step == total_steps:
                avg = progress["running"] / (step % log_every or log_every)
                bar.set_postfix(loss=f"{avg:.4f}")
                events.write(
                    "train_loss",
                    desc=desc,
                    step=step,
                    loss=round(avg, 6),
                    lr=scheduler.get_last_lr()[0],
                )
                progress["final_loss"], progress["running"] = avg, 0.0
            if save_every and step % save_every == 0:
                checkpoint()
        if dev is not None and trainer_cfg.get("eval_every_epoch", True):
            dev_rows, dev_features = dev
            preds = predict(
                prepared,
                head,
                fmt,
                dev_features,
                int(trainer_cfg["eval_batch_size"]),
                accelerator,
                pad_id,
            )
            score = fmt.dev_score(dev_rows, fmt.finalize(dev_rows, dev_features, preds))
            events.write(
                "dev", desc=desc, epoch=epoch + 1, step=progress["step"], score=round(score, 4)
            )
            bar.write(f"{desc}: epoch {epoch + 1}/{epochs} English dev {score:.2f}")
            if progress["best_dev"] is None or score > progress["best_dev"]:
                progress["best_dev"], progress["best_epoch"] = score, epoch + 1
                # The last epoch's state is already in the model; earlier bests are kept aside.
                best_state = (
                    None
                    if epoch + 1 == epochs
                    else {
                        k: v.detach().cpu().clone()
                        for k, v in accelerator.unwrap_model(prepared).state_dict().items()
                    }
                )
        progress["epoch"], progress["step_in_epoch"] = epoch + 1, 0
        if epoch + 1 < epochs:
            checkpoint()
    bar.close()
    if best_state is not None:
        accelerator.unwrap_model(prepared).load_state_dict(best_state)
    accelerator.free_memory()
    return TrainStats(
        progress["step"],
        epochs,
        len(lengths),
        progress["best_dev"],
        progress["best_epoch"],
        progress["final_loss"],
    )
