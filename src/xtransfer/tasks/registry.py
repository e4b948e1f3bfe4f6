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
    prediction_ext: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

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


def _parse(path: Path) -> TaskSpec:
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
        prediction_ext=data.get("prediction_ext"),
        raw=data,
    )


@cache
def all_tasks() -> dict[str, TaskSpec]:
    """Every task of the packaged catalogue, by name."""
    specs = {}
    for path in sorted(CATALOGUE_DIR.glob("*.yaml")):
        spec = _parse(path)
        specs[spec.name] = spec
    return specs


def get_task(name: str) -> TaskSpec:
    """The catalogue entry for ``name``; an unknown name lists the valid ones."""
    tasks = all_tasks()
    if name not in tasks:
        raise UserError(f"unknown task {name!r}; known tasks: {', '.join(sorted(tasks))}")
    return tasks[name]
