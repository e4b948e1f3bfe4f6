"""The typed schema of the values a run reads: checked before any data is loaded.

Each setting is declared once, with its type and what is allowed; `validate(cfg)` checks the
composed config against it and raises one `UserError` naming every bad key, its value and what
is allowed. Settings that are not declared here (new trainer options, task-specific extras) pass
through unchanged: the schema guards what the pipeline converts with int()/float().
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from xtransfer.errors import UserError


@dataclass(frozen=True)
class Setting:
    kind: type  # int, float, bool, str
    allowed: str  # what the error says is allowed
    check: Callable[[Any], bool] = lambda _: True
    optional: bool = False  # null is allowed


def _int(minimum: int, optional: bool = False, what: str = "") -> Setting:
    text = what or (f"an integer >= {minimum}" + (" or null" if optional else ""))
    return Setting(int, text, lambda v: v >= minimum, optional)


def _float(check: Callable[[float], bool], allowed: str, optional: bool = False) -> Setting:
    return Setting(float, allowed, check, optional)


def _choice(*options: str, optional: bool = False) -> Setting:
    text = " | ".join(options) + (" | null" if optional else "")
    return Setting(str, text, lambda v: v in options, optional)


_BOOL = Setting(bool, "true or false")

# `precision` values the trainer understands and what each means; `auto` resolves per device
# (the rule: training/precision.py).
PRECISION_ALIASES = {"fp32": "no", "no": "no", "bf16": "bf16", "fp16": "fp16"}
PRECISIONS = ("auto", *PRECISION_ALIASES)

TRAINER: dict[str, Setting] = {
    "lr": _float(lambda v: v > 0, "a number > 0"),
    "weight_decay": _float(lambda v: v >= 0, "a number >= 0"),
    "warmup_ratio": _float(lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    "max_grad_norm": _float(lambda v: v > 0, "a number > 0"),
    "adam_eps": _float(lambda v: v > 0, "a number > 0"),
    "dropout": _float(lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "grad_accum": _int(1),
    "length_group_factor": _int(1),
    "eval_batch_size": _int(1),
    "log_every": _int(1),
    "num_workers": _int(0),
    "save_every_steps": _int(0),
    "max_train_examples": _int(1, optional=True),
    "cpu_threads": _int(1, optional=True),
    "debug_kill_at_step": _int(0, optional=True),
    "fused_adamw": _BOOL,
    "eval_every_epoch": _BOOL,
    "precision": _choice(*PRECISIONS),
    "tracker": _choice("tensorboard", "mlflow", "wandb", optional=True),
}

# Per task: intermediate.tasks.<task>, target, target.train_by_benchmark.<benchmark>.
TASK: dict[str, Setting] = {
    "epochs": _int(1),
    "batch_size": _int(1),
    "max_length": _int(8, what="an integer >= 8 (tokens per example, special tokens included)"),
}

TOP: dict[str, Setting] = {
    "seed": _int(0, what="an integer >= 0"),
    "target.seed": _int(0, what="an integer >= 0"),
}


def _coerce(setting: Setting, value: Any) -> tuple[bool, Any]:
    """(ok, value as the setting's type). Numbers given as strings are read as numbers;
    booleans are never numbers and numbers never booleans."""
    if value is None:
        return setting.optional, None
    if setting.kind is bool:
        return isinstance(value, bool), value
    if isinstance(value, bool):
        return False, value
    if setting.kind is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                return False, value
        return isinstance(value, int), value
    if setting.kind is float:
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                return False, value
        ok = isinstance(value, int | float) and math.isfinite(float(value))
        return ok, float(value) if ok else value
    return isinstance(value, str), value


def _check(prefix: str, node: Any, schema: Mapping[str, Setting], problems: list[str]) -> None:
    if not isinstance(node, Mapping):
        return
    for key, setting in schema.items():
        if key not in node:
            continue
        value = node[key]
        ok, typed = _coerce(setting, value)
        if not ok or (typed is not None and not setting.check(typed)):
            problems.append(f"{prefix}{key}={value!r}: must be {setting.allowed}")


def _container(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(cfg, DictConfig):
        # Only the nodes the schema reads, each resolved against the whole config.
        out: dict[str, Any] = {}
        for key in ("seed", "trainer", "target", "intermediate"):
            if key in cfg:
                node = cfg[key]
                out[key] = (
                    OmegaConf.to_container(node, resolve=True)
                    if isinstance(node, DictConfig)
                    else node
                )
        return out
    return dict(cfg)


def problems(cfg: DictConfig | Mapping[str, Any]) -> list[str]:
    """Every bad value of the config, one line each (empty when all are valid)."""
    tree = _container(cfg)
    found: list[str] = []
    _check("", tree, {"seed": TOP["seed"]}, found)
    target = tree.get("target") or {}
    if isinstance(target, Mapping) and target.get("seed") != tree.get("seed"):
        # (target.seed defaults to ${seed}: a bad seed is reported once)
        _check("target.", target, {"seed": TOP["target.seed"]}, found)
    trainer = dict(tree.get("trainer") or {})
    if trainer.get("precision") is False:  # YAML 1.1 reads an unquoted `no` as false
        trainer["precision"] = "no"
    _check("trainer.", trainer, TRAINER, found)
    betas = (tree.get("trainer") or {}).get("adam_betas")
    if betas is not None and not _valid_betas(betas):
        found.append(f"trainer.adam_betas={betas!r}: must be two numbers in [0, 1)")
    tasks = (tree.get("intermediate") or {}).get("tasks") or {}
    for name, node in tasks.items() if isinstance(tasks, Mapping) else []:
        _check(f"intermediate.tasks.{name}.", node, TASK, found)
    if isinstance(target, Mapping) and target.get("train"):
        _check("target.", target, TASK, found)
    by_bench = target.get("train_by_benchmark") if isinstance(target, Mapping) else None
    for bench, node in (by_bench or {}).items():
        _check(f"target.train_by_benchmark.{bench}.", node, TASK, found)
    found.extend(_accumulation_problems(tree))
    return found


def _valid_betas(betas: Any) -> bool:
    if not isinstance(betas, list | tuple) or len(betas) != 2:
        return False
    return all(isinstance(b, int | float) and not isinstance(b, bool) and 0 <= b < 1 for b in betas)


def _accumulation_problems(tree: Mapping[str, Any]) -> list[str]:
    """A micro-batch is batch_size / grad_accum examples: it must be a whole number >= 1."""
    accum = (tree.get("trainer") or {}).get("grad_accum")
    ok, accum = _coerce(TRAINER["grad_accum"], accum)
    if not ok or accum is None or accum < 1:
        return []
    found = []
    sizes = [
        (f"intermediate.tasks.{n}.batch_size", (node or {}).get("batch_size"))
        for n, node in ((tree.get("intermediate") or {}).get("tasks") or {}).items()
    ]
    target = tree.get("target") or {}
    if target.get("train"):
        sizes.append(("target.batch_size", target.get("batch_size")))
    for key, size in sizes:
        ok, size = _coerce(TASK["batch_size"], size)
        if ok and size is not None and size >= 1 and size % accum:
            found.append(
                f"{key}={size} is not a multiple of trainer.grad_accum={accum} "
                "(micro-batches of batch_size / grad_accum examples)"
            )
    return found


def validate(cfg: DictConfig | Mapping[str, Any]) -> None:
    """Raises one UserError listing every bad value, before any data is loaded."""
    found = problems(cfg)
    if len(found) == 1:
        raise UserError(f"invalid config value {found[0]}")
    if found:
        raise UserError(f"{len(found)} invalid config values:\n  " + "\n  ".join(found))
