"""Phase checkpoints: encoder via ``save_pretrained`` (safetensors), heads via safetensors,
metadata as JSON. Never pickle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from xtransfer.errors import UserError
from xtransfer.training.model import TaskModel, load_encoder

META_FILE = "phase.json"
HEADS_FILE = "heads.safetensors"


def save_checkpoint(model: TaskModel, tokenizer, directory: Path, meta: dict[str, Any]) -> None:
    """Writes encoder, tokenizer, heads and ``phase.json`` (written last: it marks completeness)."""
    directory.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(directory / "encoder", safe_serialization=True)
    tokenizer.save_pretrained(directory / "encoder")
    tensors = {
        f"{head}.{name}": t.detach().cpu().contiguous()
        for head, module in model.heads.items()
        for name, t in module.state_dict().items()
    }
    if tensors:
        save_file(tensors, str(directory / HEADS_FILE))
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True), "utf-8")


def read_meta(directory: Path) -> dict[str, Any]:
    path = directory / META_FILE
    if not path.is_file():
        raise UserError(f"{directory} is not an xtransfer checkpoint ({META_FILE} not found)")
    try:
        return json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: corrupted checkpoint metadata ({err.msg})") from None


def load_head_state(directory: Path, head: str) -> dict[str, torch.Tensor]:
    """The saved weights of one head (an error if the checkpoint has none for it)."""
    path = directory / HEADS_FILE
    tensors = load_file(str(path)) if path.is_file() else {}
    prefix = f"{head}."
    state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    if not state:
        raise UserError(f"checkpoint {directory} has no head for task {head!r}")
    return state


def load_checkpoint_encoder(directory: Path, attn_implementation: str | None = "auto"):
    return load_encoder(directory / "encoder", attn_implementation=attn_implementation)
