"""Turning a config into the ordered phases of a run, each with its content key.

This is the one place that decides what a phase's key covers: the parent phase's key (so the
model and everything upstream are included), the tasks and where their data come from, the
phase and trainer hyperparameters, the seed and the task format's code version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from xtransfer import __version__
from xtransfer.data.sources import data_identity
from xtransfer.errors import UserError
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.registry import get_task

# Trainer settings that change what is learned (logging/eval batch sizes do not).
_TRAINER_KEYS = (
    "lr",
    "weight_decay",
    "warmup_ratio",
    "max_grad_norm",
    "adam_betas",
    "adam_eps",
    "grad_accum",
    "precision",
    "length_group_factor",
    "dropout",
    "max_train_examples",
    "eval_every_epoch",
)


@dataclass
class DataRef:
    task: str
    split: str
    lang: str = "en"


@dataclass
class Phase:
    name: str  # "intermediate" | "target"
    task: str  # the task whose head is trained
    train: DataRef
    dev: DataRef | None
    settings: dict[str, Any]  # epochs, batch_size, max_length
    key: str = ""
    parent: str | None = None
    payload: dict[str, Any] = field(default_factory=dict, repr=False)


def content_key(payload: dict[str, Any]) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def base_key(cfg: DictConfig) -> str:
    """Key of the pretrained starting point (phase 0)."""
    model = cfg.model
    if model.pretrained:
        ident: dict[str, Any] = {"pretrained": str(model.pretrained)}
    else:  # randomly initialised from a config: the config and the seed determine it
        ident = {"config": _file_digest(Path(model.config_dir) / "config.json"), "seed": cfg.seed}
    return content_key({"phase": "pretrained", **ident})


def _ref(node: Any, default_task: str) -> DataRef:
    return DataRef(
        task=node.get("task", default_task), split=node["split"], lang=node.get("lang", "en")
    )


def _settings(node: Any) -> dict[str, Any]:
    return {k: node[k] for k in ("epochs", "batch_size", "max_length")}


def plan_phases(cfg: DictConfig) -> list[Phase]:
    """The trained phases of a run in order; each key covers its parent's."""
    phases: list[Phase] = []
    inter = cfg.intermediate
    tasks = list(inter.tasks or [])
    if len(tasks) > 1 or inter.mode != "single":
        raise UserError(
            "multi-task and sequential intermediate training are not available yet; "
            "use a single intermediate task (e.g. intermediate=mnli) or intermediate=none"
        )
    for task in tasks:
        get_task(task)
        phases.append(
            Phase(
                "intermediate",
                task,
                DataRef(task, "train"),
                DataRef(task, "validation"),
                _settings(inter),
            )
        )
    target = cfg.target
    # Targets without English training data (BUCC, Tatoeba in XTREME) score the encoder of the
    # last phase directly: no target phase.
    if target.get("train"):
        phases.append(
            Phase(
                "target",
                target.task,
                _ref(target.train, target.task),
                _ref(target.dev, target.task) if target.get("dev") else None,
                _settings(target),
            )
        )

    trainer = {k: OmegaConf.to_container(cfg.trainer)[k] for k in _TRAINER_KEYS}
    parent = base_key(cfg)
    for phase in phases:
        fmt = get_format(get_task(phase.task).format)
        refs = [phase.train] + ([phase.dev] if phase.dev else [])
        phase.payload = {
            "phase": phase.name,
            "parent": parent,
            # The head (format + label space), not the target's name: XQuAD and MLQA, both
            # trained on SQuAD, share one target phase.
            "head": fmt(get_task(phase.task)).head_signature(),
            "format": {"name": fmt.name, "version": fmt.version},
            "data": [
                {
                    "ref": vars(ref),
                    "source": data_identity(get_task(ref.task), ref.split, ref.lang, cfg.data),
                }
                for ref in refs
            ],
            "settings": phase.settings,
            "trainer": trainer,
            "seed": int(cfg.seed),
            "xtransfer": __version__.split(".")[0],
        }
        phase.parent = parent
        phase.key = content_key(phase.payload)
        parent = phase.key
    return phases
