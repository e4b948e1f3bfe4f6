"""The compiled path: ``trainer.compile`` and ``trainer.pad_to_multiple_of``.

The encoder (where the FLOPs are) is compiled in place with ``nn.Module.compile``, so parameter
names, checkpoints and optimizer groups stay exactly those of the eager model. Batches are padded
up to a multiple of ``pad_to_multiple_of``: length-grouped batches then take few distinct shapes,
and torch's automatic dynamic shapes settle after one or two recompilations (counted and logged).
"""

from __future__ import annotations

from typing import Any

import torch

from xtransfer.errors import UserError


def compile_backend(setting: Any) -> str | None:
    """``trainer.compile``: false/null = eager, true = inductor, or a backend's name."""
    if setting is None or setting is False:
        return None
    if setting is True:
        return "inductor"
    name = str(setting).strip().lower()
    if name in ("false", "no", "none", ""):
        return None
    if name in ("true", "yes"):
        return "inductor"
    if name not in torch._dynamo.list_backends(exclude_tags=()):
        raise UserError(
            f"trainer.compile={setting!r}: not a torch.compile backend "
            f"(true = inductor; or one of {', '.join(torch._dynamo.list_backends())})"
        )
    return name


def pad_multiple(setting: Any, device_type: str) -> int:
    """``trainer.pad_to_multiple_of``: null = auto (8 on GPU, where tensor cores want multiples
    of 8, 1 on CPU, where padding is only extra work), else the given positive integer."""
    if setting is None or str(setting).lower() == "auto":
        return 8 if device_type == "cuda" else 1
    try:
        value = int(setting)
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise UserError(f"trainer.pad_to_multiple_of={setting!r} must be a positive integer")
    return value


def graphs_compiled() -> int:
    """Graphs dynamo has compiled in this process so far (a compile or a recompile each)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


def compile_encoder(model: torch.nn.Module, backend: str) -> None:
    """Compiles ``model.encoder`` in place (the heads stay eager: they are tiny). An encoder
    compiled already is left as it is: a second ``compile`` would wrap it in a new backend
    object, which dynamo treats as a new compiler and compiles everything again."""
    if getattr(model.encoder, "_compiled_call_impl", None) is not None:
        return
    # Length-grouped batches come in many lengths; let dynamo keep enough variants around.
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
    model.encoder.compile(backend=backend)
