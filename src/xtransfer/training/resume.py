"""Resume state of an interrupted phase: model, optimizer, scheduler, RNG and data position.

Tensors go to safetensors and everything else to JSON (never pickle). Each save writes its
tensors to a new file named after the step, then atomically replaces ``state.json``, which names
that file; older tensor files are deleted only afterwards. A kill at any moment therefore leaves
a ``state.json`` whose tensors exist and belong to it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
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
    os.replace(tmp_tensors, directory / tensors_name)
    tmp_state.write_text(json.dumps(meta), "utf-8")
    os.replace(tmp_state, directory / STATE_FILE)  # the switch to the new state
    for old in directory.glob("tensors*.safetensors"):
        if old.name != tensors_name:
            old.unlink(missing_ok=True)


def load_resume_state(
    directory: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler
) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None] | None:
    """Restores everything in place; returns (progress, best_state), or None without a state."""
    if not (directory / STATE_FILE).is_file():
        return None
    meta = json.loads((directory / STATE_FILE).read_text("utf-8"))
    tensors = load_file(str(directory / meta.get("tensors", TENSORS_FILE)))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    optimizer.load_state_dict(_unflatten_optimizer(tensors, meta["optimizer"]))
    scheduler.load_state_dict({**scheduler.state_dict(), **meta["scheduler"]})
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    best = (
        {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
        if meta["has_best"]
        else None
    )
    return meta["progress"], best
