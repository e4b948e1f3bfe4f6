"""Resume state of an interrupted phase: model, optimizer, scheduler, RNG and data position.

Tensors go to safetensors and everything else to JSON (never pickle). Each save writes its
tensors to a new file named after the step, then atomically replaces ``state.json``, which names
that file; older tensor files are deleted only afterwards. A kill at any moment therefore leaves
a ``state.json`` whose tensors exist and belong to it.

A state damaged anyway (a truncated or hand-edited file, a disk error, a copy cut short) must
never block the phase: loading reads and checks everything before touching the model, and a state
that does not load is discarded with one warning line, so the phase restarts from scratch exactly
as an uninterrupted run would. The size of the tensor file is recorded in ``state.json`` (cheap,
catches truncation); a bit flip that keeps the size is not detected here.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

STATE_FILE = "state.json"
TENSORS_FILE = "tensors.safetensors"  # the name before step-named files (older resume states)


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors, scalars = {}, {}
    for param_id, slots in state["state"].items():
        for name, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"optim.{param_id}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{param_id}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, param_id, name = key.split(".", 2)
            state.setdefault(int(param_id), {})[name] = value
    for key, value in meta["scalars"].items():
        param_id, name = key.split(".", 1)
        state.setdefault(int(param_id), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_resume_state(
    directory: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler,
    progress: dict[str, Any],
    best_state: dict[str, torch.Tensor] | None,
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    optim_tensors, optim_meta = _flatten_optimizer(optimizer.state_dict())
    tensors.update(optim_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        for i, rng in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = rng
    for k, v in (best_state or {}).items():
        tensors[f"best.{k}"] = v.contiguous()
    sched = {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
    meta = {
        "progress": progress,
        "optimizer": optim_meta,
        "scheduler": sched,
        "has_best": best_state is not None,
    }
    tensors_name = f"tensors-step{int(progress['step'])}.safetensors"
    meta["tensors"] = tensors_name
    tmp_tensors = directory / f".{tensors_name}.tmp"
    tmp_state = directory / f".{STATE_FILE}.tmp"
    save_file(tensors, str(tmp_tensors))
    meta["tensors_size"] = tmp_tensors.stat().st_size
    os.replace(tmp_tensors, directory / tensors_name)
    tmp_state.write_text(json.dumps(meta), "utf-8")
    os.replace(tmp_state, directory / STATE_FILE)  # the switch to the new state
    for old in directory.glob("tensors*.safetensors"):
        if old.name != tensors_name:
            old.unlink(missing_ok=True)


class DamagedResumeState(Exception):
    """The resume state on disk cannot be used (the message says why, in a few words)."""


@dataclass
class _ResumeState:
    progress: dict[str, Any]
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    rng_torch: torch.Tensor
    rng_cuda: list[torch.Tensor]
    best: dict[str, torch.Tensor] | None


def _read_state(
    directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> _ResumeState:
    """Reads and checks the state against the live model and optimizer; changes nothing."""
    try:
        meta = json.loads((directory / STATE_FILE).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DamagedResumeState(f"{STATE_FILE} is unreadable ({err})") from None
    if not isinstance(meta, dict):
        raise DamagedResumeState(f"{STATE_FILE} is not a JSON object")
    tensors_path = directory / str(meta.get("tensors", TENSORS_FILE))
    if not tensors_path.is_file():
        raise DamagedResumeState(f"{tensors_path.name} is missing")
    expected = meta.get("tensors_size")
    if expected is not None and tensors_path.stat().st_size != expected:
        raise DamagedResumeState(
            f"{tensors_path.name} has {tensors_path.stat().st_size} bytes, expected {expected}"
        )
    try:
        tensors = load_file(str(tensors_path))
    except (OSError, SafetensorError) as err:
        raise DamagedResumeState(f"{tensors_path.name} does not load ({err})") from None
    try:
        progress, has_best = meta["progress"], bool(meta["has_best"])
        step = int(progress["step"])
        optim_state = _unflatten_optimizer(tensors, meta["optimizer"])
        scheduler_state = dict(meta["scheduler"])
        rng_torch = tensors["rng.torch"]
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise DamagedResumeState(f"{STATE_FILE} lacks or garbles {err}") from None
    if step < 0:
        raise DamagedResumeState(f"{STATE_FILE} has step {step}")
    if rng_torch.dtype != torch.uint8 or rng_torch.shape != torch.get_rng_state().shape:
        raise DamagedResumeState("the saved RNG state has the wrong shape")
    model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    _check_matches(model_state, model.state_dict(), "model")
    best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")} if has_best else None
    if best is not None:
        _check_matches(best, model.state_dict(), "best model")
    _check_optimizer(optim_state, optimizer)
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    return _ResumeState(progress, model_state, optim_state, scheduler_state, rng_torch, cuda, best)


def _check_matches(saved: dict[str, torch.Tensor], live: dict[str, torch.Tensor], what: str):
    if saved.keys() != live.keys():
        missing = sorted(live.keys() - saved.keys())[:3]
        extra = sorted(saved.keys() - live.keys())[:3]
        raise DamagedResumeState(f"{what} weights differ (missing {missing}, unexpected {extra})")
    for name, tensor in live.items():
        if saved[name].shape != tensor.shape:
            raise DamagedResumeState(
                f"{what} weight {name} has shape {tuple(saved[name].shape)}, "
                f"expected {tuple(tensor.shape)}"
            )


def _check_optimizer(state: dict[str, Any], optimizer: torch.optim.Optimizer) -> None:
    """What ``Optimizer.load_state_dict`` would reject, checked before anything is loaded."""
    live = optimizer.state_dict()["param_groups"]
    groups = state["param_groups"]
    if not isinstance(groups, list) or len(groups) != len(live):
        raise DamagedResumeState("the optimizer state has other parameter groups")
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for saved, current in zip(groups, live, strict=True):
        if not isinstance(saved, dict) or len(saved.get("params", ())) != len(current["params"]):
            raise DamagedResumeState("the optimizer state has other parameter groups")
    for param_id, slots in state["state"].items():
        if not 0 <= param_id < len(params):
            raise DamagedResumeState(f"the optimizer state names parameter {param_id}")
        for name, value in slots.items():
            if torch.is_tensor(value) and value.dim() > 0 and value.shape != params[param_id].shape:
                raise DamagedResumeState(f"optimizer slot {param_id}.{name} has the wrong shape")


def discard_resume_state(directory: Path, reason: str) -> None:
    """One warning line; the folder goes, so the phase restarts and the warning is not repeated."""
    print(
        f"xtransfer: warning: discarding the damaged resume state in {directory} ({reason}); "
        "training the phase from the start",
        file=sys.stderr,
    )
    shutil.rmtree(directory, ignore_errors=True)


def load_resume_state(
    directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler
) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None] | None:
    """Restores everything in place; returns (progress, best_state), or None without a usable
    state (none saved, or a damaged one: discarded with a warning, nothing restored)."""
    if not (directory / STATE_FILE).is_file():
        return None
    try:
        state = _read_state(directory, model, optimizer)
    except DamagedResumeState as err:
        discard_resume_state(directory, str(err))
        return None
    model.load_state_dict(state.model)
    optimizer.load_state_dict(state.optimizer)
    scheduler.load_state_dict({**scheduler.state_dict(), **state.scheduler})
    torch.set_rng_state(state.rng_torch)
    if state.rng_cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state.rng_cuda)
    return state.progress, state.best
