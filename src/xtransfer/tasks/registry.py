"""The task catalogue: one YAML file per task in ``catalogue/``, read here and nowhere else.

Every fact about a task (format, metric, labels, languages per benchmark, data sources) lives in
its YAML file. This module is deliberately free of torch/transformers so that `xtransfer tasks`
and `xtransfer score` start instantly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from xtransfer.errors import UserError

CATALOGUE_DIR = Path(str(resources.files("xtransfer.tasks") / "catalogue"))


@dataclass(frozen=True)
class TaskSpec:
    """What the catalogue says about one task."""

    name: str
    format: str
    metric: str
    languages: dict[str, list[str]]
    labels: list[str] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # The YAML file of a user-declared task (None for the packaged catalogue).
    user_file: str | None = None

    def languages_for(self, benchmark: str | None = None) -> list[str]:
        """Languages of the task in ``benchmark`` (default: the largest list the task has)."""
        if benchmark is None:
            return max(self.languages.values(), key=len)
        key = benchmark.replace("-", "_")
        if key not in self.languages:
            raise UserError(
                f"task {self.name!r} is not part of benchmark {benchmark!r} "
                f"(it has language lists for: {', '.join(sorted(self.languages))})"
            )
        return list(self.languages[key])


def _parse(path: Path, data: dict[str, Any] | None = None) -> TaskSpec:
    if data is None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise UserError(f"{path}: not valid YAML ({err})") from None
    missing = [k for k in ("name", "format", "metric", "languages") if k not in data]
    if missing:
        raise UserError(f"{path}: task definition lacks {', '.join(missing)}")
    return TaskSpec(
        name=data["name"],
        format=data["format"],
        metric=data["metric"],
        languages={k: list(v) for k, v in data["languages"].items()},
        labels=list(data["labels"]) if data.get("labels") is not None else None,
        raw=data,
        user_file=data.get("_file"),
    )


@cache
@cache
def _packaged() -> dict[str, TaskSpec]:
    specs = {}
    for path in sorted(CATALOGUE_DIR.glob("*.yaml")):
        spec = _parse(path)
        specs[spec.name] = spec
    return specs


@cache
def _with_user_tasks(files: tuple[tuple[str, int, int], ...]) -> dict[str, TaskSpec]:
    """The packaged catalogue plus the user's tasks (keyed by their files' identity, so an
    edited declaration is read again)."""
    from xtransfer.tasks.user_tasks import parse_user_task

    specs = dict(_packaged())
    for file, _size, _mtime in files:
        path = Path(file)
        spec = _parse(path, parse_user_task(path))
        # A packaged entry whose data cannot be shipped (CCGbank) is replaced by the user's.
        if spec.name in specs and not specs[spec.name].raw.get("data_absent"):
            other = specs[spec.name].user_file or f"the packaged catalogue ({spec.name}.yaml)"
            raise UserError(f"{path}: task {spec.name!r} is already declared in {other}")
        specs[spec.name] = spec
    return specs


def all_tasks() -> dict[str, TaskSpec]:
    """Every task of the packaged catalogue and of the user's task folders, by name."""
    from xtransfer.tasks.user_tasks import task_dirs, task_files

    files = []
    for path in task_files(task_dirs()):
        stat = path.stat()
        files.append((str(path), stat.st_size, stat.st_mtime_ns))
    return _with_user_tasks(tuple(files))


def register_user_tasks() -> None:
    """Makes ``intermediate=<name>`` and ``target=<name>`` valid Hydra choices for every user
    task, by storing the generated group options in Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    from xtransfer.tasks.user_tasks import intermediate_node, target_node

    store = ConfigStore.instance()
    for spec in all_tasks().values():
        if spec.user_file is None:
            continue
        for group, node in (
            ("intermediate", intermediate_node(spec.raw)),
            ("target", target_node(spec.raw)),
        ):
            if node is not None:
                store.store(group=group, name=spec.name, node=node, provider="xtransfer-user")


def get_task(name: str) -> TaskSpec:
    """The catalogue entry for ``name``; an unknown name lists the valid ones."""
    packaged = _packaged().get(name)
    if packaged is not None and not packaged.raw.get("data_absent"):
        # A packaged task cannot be redeclared, so the user's folders need not be read (a
        # broken user file then blocks only the commands that use user tasks).
        return packaged
    tasks = all_tasks()
    if name not in tasks:
        raise UserError(f"unknown task {name!r}; known tasks: {', '.join(sorted(tasks))}")
    absent = tasks[name].raw.get("data_absent")
    if absent:
        raise UserError(" ".join(str(absent).split()))
    return tasks[name]
