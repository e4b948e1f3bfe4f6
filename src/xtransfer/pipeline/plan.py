"""Turning a config into the ordered phases of a run, each with its content key.

This is the one place that decides what a phase's key covers: the parent phase's key (so the
model and everything upstream are included), the tasks and where their data come from, the
phase and trainer hyperparameters, the seed and the task format's code version.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from xtransfer import __version__
from xtransfer.data.sources import data_identity, resolve_corpus, text_identity, training_split
from xtransfer.errors import UserError
from xtransfer.pipeline.fingerprint import checkpoint_identity
from xtransfer.run_identity import identity_config, short_hash, trainer_spec
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.registry import get_task
from xtransfer.training.precision import resolve_precision
from xtransfer.training.sampling import task_probabilities


@dataclass
class DataRef:
    task: str
    split: str
    lang: str = "en"


@dataclass
class TaskPlan:
    """One task trained in a phase: its head, English train and dev data, and its settings."""

    task: str  # the head's name
    train: DataRef
    dev: DataRef | None
    settings: dict[str, Any]  # epochs, batch_size, max_length
    # Training data in further languages, concatenated with ``train`` (intermediate.languages).
    extra_train: list[DataRef] = field(default_factory=list)
    # Plain-text tasks (mlm): where the text comes from (resolved corpus settings), not `data=`.
    corpus: dict[str, Any] | None = None

    @property
    def train_refs(self) -> list[DataRef]:
        return [self.train, *self.extra_train]

    @property
    def languages(self) -> list[str]:
        """The languages of the training data, in order."""
        return [ref.lang for ref in self.train_refs]


@dataclass
class Phase:
    name: str  # "intermediate" | "target"
    mode: str  # "single" | "multitask" | "sequential" (one phase per stage) | "target"
    tasks: list[TaskPlan]
    sampler: dict[str, Any] | None = None
    budget: dict[str, Any] | None = None
    stage: int | None = None  # position in a sequential chain
    # keep_head=true: the head of this task in the parent phase starts the target head.
    head_from: str | None = None
    seed: int = 0  # training seed: `seed` for intermediate phases, `target.seed` for the target
    key: str = ""
    parent: str | None = None
    # The frozen spec: everything the phase's result depends on. The key is its hash, and
    # training reads its settings from here (and from ``trainer``), never from the Hydra config.
    payload: dict[str, Any] = field(default_factory=dict, repr=False)
    # The full resolved trainer settings (result-neutral ones such as log_every included).
    trainer: dict[str, Any] = field(default_factory=dict, repr=False)
    # How the encoder is built and run: attention implementation, number of sequential stages.
    runtime: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def task(self) -> str:
        """The (first) task: the head of a single-task or target phase."""
        return self.tasks[0].task

    @property
    def task_names(self) -> list[str]:
        return [t.task for t in self.tasks]


MODES = ("single", "multitask", "sequential")


def content_key(payload: dict[str, Any]) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def base_key(cfg: DictConfig) -> str:
    """Key of the pretrained starting point (phase 0): the checkpoint's content (a local
    folder's files, a Hub id's resolved commit), or the config and seed of a random init."""
    return content_key({"phase": "pretrained", **base_identity(cfg)})


def base_identity(cfg: DictConfig) -> dict[str, Any]:
    """What identifies the pretrained starting point (recorded in results.json)."""
    model = cfg.model
    if model.pretrained:
        source, revision = str(model.pretrained), model.get("revision")
        if Path(source).expanduser().is_dir():  # hashes cached on disk by size and mtime
            return {"pretrained": checkpoint_identity(source, revision, Path(cfg.cache_dir))}
        return {"pretrained": _hub_identity(source, revision)}
    # Randomly initialised from a config: the config and the seed determine it.
    return {"config": _file_digest(Path(model.config_dir) / "config.json"), "seed": cfg.seed}


@functools.lru_cache(maxsize=64)
def _hub_identity(repo_id: str, revision: str | None) -> dict[str, Any]:
    # Once per process: a sweep plans many runs from the same Hub checkpoint.
    return checkpoint_identity(repo_id, revision)


def _ref(node: Any, default_task: str) -> DataRef:
    return DataRef(
        task=node.get("task", default_task), split=node["split"], lang=node.get("lang", "en")
    )


def _settings(node: Any) -> dict[str, Any]:
    return {k: node[k] for k in ("epochs", "batch_size", "max_length")}


def _languages(task: str, node: Any, inter: Any) -> list[str]:
    """A task's training languages: intermediate.tasks.<task>.languages, else
    intermediate.languages (default [en]); several = their data concatenated."""
    value = node.get("languages")
    if value is None:
        value = inter.get("languages")
    if value is None:
        value = ["en"]
    langs = [str(value)] if isinstance(value, str) else [str(code) for code in value]
    if not langs:
        raise UserError(f"intermediate task {task!r}: the list of training languages is empty")
    if len(set(langs)) != len(langs):
        raise UserError(f"intermediate task {task!r}: languages {langs} repeat a language")
    return langs


def _intermediate_plan(task: str, node: Any, languages: list[str], cfg: Any = None) -> TaskPlan:
    spec = get_task(task)
    if spec.raw.get("text_corpus"):  # masked-LM text: one corpus per language, no dev set
        corpus = node.get("corpus")
        corpus = OmegaConf.to_container(corpus, resolve=True) if corpus is not None else None
        refs = [DataRef(task, "train", lang) for lang in languages]
        data_cfg = cfg.data if cfg is not None else {}
        return TaskPlan(
            task,
            refs[0],
            None,
            _settings(node),
            extra_train=refs[1:],
            corpus=resolve_corpus(task, corpus, data_cfg, languages),
        )
    # English is the task's `train` split; other languages come from wherever the catalogue
    # declares them (per-language `train`, or `translate_train`), an error where none exist.
    refs = [DataRef(task, training_split(spec, lang), lang) for lang in languages]
    dev = DataRef(task, "validation")  # model selection stays on English dev
    return TaskPlan(task, refs[0], dev, _settings(node), extra_train=refs[1:])


def _budget(inter: Any) -> dict[str, Any] | None:
    budget = inter.get("budget")
    if not budget or budget.get("kind") in (None, "epochs"):
        return None
    if budget["kind"] not in ("examples", "steps"):
        raise UserError(
            f"intermediate.budget.kind must be epochs, examples or steps, not {budget['kind']!r}"
        )
    if not budget.get("value") or int(budget["value"]) <= 0:
        raise UserError("intermediate.budget.value must be a positive number")
    return {"kind": str(budget["kind"]), "value": int(budget["value"])}


def intermediate_phases(cfg: DictConfig) -> list[Phase]:
    """Single: one phase; multitask: one phase with every task; sequential: one per stage."""
    inter = cfg.intermediate
    tasks = dict(inter.tasks or {})
    mode = str(inter.mode)
    if mode not in MODES:
        raise UserError(f"intermediate.mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not tasks:
        return []
    plans = [
        _intermediate_plan(name, node, _languages(name, node, inter), cfg)
        for name, node in tasks.items()
    ]
    budget = _budget(inter)
    if mode == "single":
        if len(plans) > 1:
            raise UserError(
                f"{len(plans)} intermediate tasks ({', '.join(tasks)}) need "
                "intermediate.mode=multitask or intermediate.mode=sequential"
            )
        return [Phase("intermediate", "single", plans, budget=budget)]
    if mode == "multitask":
        sampler = OmegaConf.to_container(inter.sampler, resolve=True)
        # Tasks with a fixed mixing rate (mlm's `rate`): part of the sampler, and of the key.
        rates = [node.get("rate") for node in tasks.values()]
        if any(rate is not None for rate in rates):
            sampler["rates"] = [None if r is None else float(r) for r in rates]
        # Validates kind, temperature and weights against the task list before any training.
        task_probabilities([1] * len(plans), sampler)
        return [Phase("intermediate", "multitask", plans, sampler=sampler, budget=budget)]
    # Sequential: each stage its own phase, so sweeps over orders reuse shared prefixes.
    return [
        Phase("intermediate", "sequential", [plan], budget=budget, stage=i)
        for i, plan in enumerate(plans)
    ]


def plan_phases(cfg: DictConfig) -> list[Phase]:
    """The trained phases of a run in order; each key covers its parent's."""
    phases = intermediate_phases(cfg)
    target = cfg.target
    # Targets without English training data (BUCC, Tatoeba in XTREME) score the encoder of the
    # last phase directly: no target phase.
    if target.get("train"):
        plan = TaskPlan(
            target.task,
            _ref(target.train, target.task),
            _ref(target.dev, target.task) if target.get("dev") else None,
            _settings(target),
        )
        phases.append(Phase("target", "target", [plan]))
    elif protocol := (target.get("train_by_benchmark") or {}).get(cfg.benchmark.name):
        # A benchmark that fine-tunes the encoder on another task before scoring it (XTREME-R:
        # Tatoeba after SQuAD v1.1). The head is that task's, so with the same settings the
        # phase is the one XQuAD and MLQA train.
        plan = TaskPlan(
            protocol.task,
            _ref(protocol, protocol.task),
            _ref(protocol.dev, protocol.task) if protocol.get("dev") else None,
            _settings(protocol),
        )
        phases.append(Phase("target", "target", [plan]))
    if cfg.get("keep_head"):
        _carry_head(phases, cfg)

    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    # The precision this machine trains in (auto: bf16/fp16 on CUDA, fp32 on CPU), not the
    # request: a phase trained in bf16 is another phase than one trained in fp32.
    trainer["precision"] = resolve_precision(trainer.get("precision"))
    model = {"attn_implementation": str(cfg.model.get("attn_implementation") or "sdpa")}
    parent = base_key(cfg)
    for phase in phases:
        phase.seed = _phase_seed(phase, cfg)
        # A sequential stage trains exactly like a single-task phase (same key, so `[mnli]` and
        # the first stage of `[mnli,squad]` share one checkpoint); only a budget split differs.
        n_stages = len(cfg.intermediate.tasks) if phase.mode == "sequential" else 1
        phase.payload = {
            "phase": phase.name,
            "mode": "single" if phase.mode == "sequential" else phase.mode,
            "parent": parent,
            "tasks": [_task_payload(plan, cfg) for plan in phase.tasks],
            "sampler": phase.sampler,
            "budget": {**phase.budget, "share": 1 / n_stages} if phase.budget else None,
            "trainer": trainer_spec(trainer),
            "model": model,
            "seed": phase.seed,
            "xtransfer": __version__.split(".")[0],
        }
        if phase.head_from is not None:  # only then: default keys stay as they were
            phase.payload["keep_head"] = phase.head_from
        phase.trainer = dict(trainer)
        phase.runtime = {**model, "stages": n_stages}
        phase.parent = parent
        phase.key = content_key(phase.payload)
        parent = phase.key
    return phases


def _head_text(task: str) -> str:
    sig = get_format(get_task(task).format)(get_task(task)).head_signature()
    labels = sig.get("labels")
    return f"{task}: {sig.get('format')}" + (f", {len(labels)} labels" if labels else "")


def _carry_head(phases: list[Phase], cfg: DictConfig) -> None:
    """keep_head=true: the target phase starts from the head of the last intermediate phase
    whose format and label space (head_signature) equal the target's; anything else is an error.
    Only heads of that last phase exist in its checkpoint (a sequential chain keeps the last
    stage's head), and a masked-LM head never matches a target."""
    target = phases[-1] if phases and phases[-1].name == "target" else None
    if target is None:
        raise UserError(
            f"keep_head=true: target {cfg.target.task!r} trains no head (no target phase)"
        )
    if len(phases) < 2:
        raise UserError("keep_head=true needs an intermediate phase (intermediate=none has none)")
    last = phases[-2]
    want = get_format(get_task(target.task).format)(get_task(target.task)).head_signature()
    matches = [
        plan.task
        for plan in last.tasks
        if get_format(get_task(plan.task).format)(get_task(plan.task)).head_signature() == want
    ]
    if len(matches) != 1:
        problem = "no head" if not matches else f"{len(matches)} heads ({', '.join(matches)})"
        raise UserError(
            f"keep_head=true: the target head ({_head_text(target.task)}) matches {problem} of "
            f"the last intermediate phase ({'; '.join(_head_text(p.task) for p in last.tasks)}); "
            "a head is carried only when format and label space match exactly one task"
        )
    target.head_from = matches[0]


def _phase_seed(phase: Phase, cfg: DictConfig) -> int:
    if phase.name == "target" and cfg.target.get("seed") is not None:
        return int(cfg.target.seed)
    return int(cfg.seed)


def _task_payload(plan: TaskPlan, cfg: DictConfig) -> dict[str, Any]:
    fmt = get_format(get_task(plan.task).format)
    if plan.corpus is not None:
        return {
            "head": fmt(get_task(plan.task)).head_signature(),
            "format": {"name": fmt.name, "version": fmt.version},
            "data": [
                {"ref": vars(ref), "source": text_identity(plan.corpus, ref.lang)}
                for ref in plan.train_refs
            ],
            "settings": plan.settings,
        }
    refs = plan.train_refs + ([plan.dev] if plan.dev else [])
    return {
        # The head (format + label space), not the target's name: XQuAD and MLQA, both
        # trained on SQuAD, share one target phase.
        "head": fmt(get_task(plan.task)).head_signature(),
        "format": {"name": fmt.name, "version": fmt.version},
        "data": [
            {
                "ref": vars(ref),
                "source": data_identity(get_task(ref.task), ref.split, ref.lang, cfg.data),
            }
            for ref in refs
        ],
        "settings": plan.settings,
    }


def run_key(cfg: DictConfig) -> str:
    """The key of a run: a hash of its identity config and of its starting checkpoint's
    content (so another model at the same path is another run)."""
    return short_hash({"config": identity_config(cfg), "base": base_identity(cfg)}, 20)
