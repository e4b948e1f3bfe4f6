"""The training loop: AdamW + linear warm-up/decay, accumulation with clipping once per optimizer
step, English-dev model selection, on one process-wide ``Accelerator``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from xtransfer.tasks.formats.base import TaskFormat
from xtransfer.training.batching import length_grouped_batches, sorted_batches
from xtransfer.training.events import EventLog
from xtransfer.training.model import TaskModel

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
) -> TrainStats:
    """Trains ``model`` (encoder + ``head``) in place and restores the best English-dev state."""
    accum = int(trainer_cfg["grad_accum"])
    batch_size = int(phase_cfg["batch_size"])
    micro = max(1, batch_size // accum)
    epochs = int(phase_cfg["epochs"])
    lengths = [len(f["input_ids"]) for f in train_features]
    world, rank = accelerator.num_processes, accelerator.process_index
    micro_per_epoch = math.ceil(len(lengths) / micro) // world
    steps_per_epoch = max(1, math.ceil(micro_per_epoch / accum))
    total_steps = steps_per_epoch * epochs

    torch.manual_seed(seed)  # dropout and head init depend on the seed only
    optimizer = make_optimizer(model, trainer_cfg)
    scheduler = linear_schedule(
        optimizer, int(float(trainer_cfg["warmup_ratio"]) * total_steps), total_steps
    )
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

    best_dev, best_epoch, best_state = None, None, None
    step, running, final_loss = 0, 0.0, float("nan")
    log_every = int(trainer_cfg.get("log_every", 10))
    progress = tqdm(total=total_steps, desc=desc, disable=not accelerator.is_main_process)
    prepared.train()
    for epoch in range(epochs):
        group = int(trainer_cfg["length_group_factor"])
        batches = length_grouped_batches(lengths, micro, seed, epoch, group)
        # Every process sees the same order and takes its own equal-sized share.
        batches = batches[: micro_per_epoch * world][rank::world]
        for start in range(0, len(batches), accum):
            group_batches = batches[start : start + accum]
            for i, idx in enumerate(group_batches):
                batch = fmt.collate([train_features[j] for j in idx], pad_id)
                batch = {k: v.to(accelerator.device) for k, v in batch.items()}
                sync = i == len(group_batches) - 1
                ctx = accelerator.no_sync(prepared) if not sync else nullcontext()
                with ctx:
                    loss = fmt.loss(prepared(head, **batch), batch) / len(group_batches)
                    accelerator.backward(loss)
                running += loss.item()
            accelerator.clip_grad_norm_(prepared.parameters(), float(trainer_cfg["max_grad_norm"]))
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            progress.update(1)
            if step % log_every == 0 or step == total_steps:
                avg = running / (log_every if step % log_every == 0 else step % log_every)
                progress.set_postfix(loss=f"{avg:.4f}")
                events.write(
                    "train_loss",
                    desc=desc,
                    step=step,
                    loss=round(avg, 6),
                    lr=scheduler.get_last_lr()[0],
                )
                final_loss, running = avg, 0.0
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
            events.write("dev", desc=desc, epoch=epoch + 1, step=step, score=round(score, 4))
            progress.write(f"{desc}: epoch {epoch + 1}/{epochs} English dev {score:.2f}")
            if best_dev is None or score > best_dev:
                best_dev, best_epoch = score, epoch + 1
                if epoch + 1 < epochs:  # the last epoch's state is already in the model
                    best_state = {
                        k: v.detach().cpu().clone()
                        for k, v in accelerator.unwrap_model(prepared).state_dict().items()
                    }
                else:
                    best_state = None
    progress.close()
    if best_state is not None:
        accelerator.unwrap_model(prepared).load_state_dict(best_state)
    accelerator.free_memory()
    return TrainStats(step, epochs, len(lengths), best_dev, best_epoch, final_loss)
