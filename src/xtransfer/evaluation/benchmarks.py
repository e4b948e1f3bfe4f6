"""Benchmark definitions (XTREME, XTREME-R): which tasks, which groups, what the overall key is.

They are read from the packaged ``conf/benchmark/<name>.yaml`` files, which double as the Hydra
config group ``benchmark``. Languages are not repeated there: each task's list per benchmark
lives in the task catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from xtransfer.errors import UserError

BENCHMARK_DIR = Path(str(resources.files("xtransfer") / "conf" / "benchmark"))


@dataclass(frozen=True)
class Benchmark:
    """The scoring-relevant part of one benchmark definition."""

    name: str
    display_name: str
    tasks: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]
    overall: str = "all_task"

    @property
    def key(self) -> str:
        """The key of the benchmark's language lists in the task catalogue (``xtreme_r``)."""
        return self.name.replace("-", "_")


def available_benchmarks() -> list[str]:
    """Names accepted by :func:`get_benchmark` (``xtreme``, ``xtreme-r``)."""
    return sorted(p.stem.replace("_", "-") for p in BENCHMARK_DIR.glob("*.yaml"))


@cache
def get_benchmark(name: str) -> Benchmark:
    """The definition of benchmark ``name``; ``xtreme-r`` and ``xtreme_r`` are the same."""
    path = BENCHMARK_DIR / f"{name.replace('-', '_').lower()}.yaml"
    if not path.is_file():
        raise UserError(
            f"unknown benchmark {name!r}; known benchmarks: {', '.join(available_benchmarks())}"
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    tasks = tuple(data["tasks"])
    groups = {group: tuple(members) for group, members in (data.get("groups") or {}).items()}
    for group, members in groups.items():
        unknown = set(members) - set(tasks)
        if unknown:
            raise UserError(f"{path}: group {group!r} names tasks outside the benchmark: {unknown}")
    return Benchmark(
        name=data["name"],
        display_name=data.get("display_name", data["name"]),
        tasks=tasks,
        groups=groups,
        overall=data.get("overall", "all_task"),
    )
