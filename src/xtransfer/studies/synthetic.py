"""Synthetic run folders in the real ``results.json`` schema (SPEC §8), for testing studies.

Tests plant known numbers (a correlation, a best arm) and check that a study recovers them;
``write_run`` lays the file out exactly where ``xtransfer train`` would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from xtransfer.results import Results, headline, write_results


def intermediate_phases(
    tasks: Sequence[str], mode: str = "single", budget: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Phase records like run.py writes them (checkpoint paths are placeholders)."""
    if not tasks:
        return []
    groups = [[t] for t in tasks] if mode == "sequential" else [list(tasks)]
    phases = []
    for i, group in enumerate(groups):
        phase: dict[str, Any] = {"name": "intermediate", "tasks": group, "mode": mode}
        if mode == "sequential":
            phase["stage"] = i
        if budget:
            phase["budget"] = dict(budget)
        phase.update(
            key=f"synthetic{i}",
            reused=False,
            steps=10,
            seconds=0.1,
            best_dev=50.0,
            checkpoint=f"/nonexistent/phases/synthetic{i}",
        )
        phases.append(phase)
    return phases


def setup_name(tasks: Sequence[str], mode: str) -> str:
    if not tasks:
        return "none"
    return "+".join(tasks) + ("" if mode == "single" else f".{mode}")


def write_run(
    root: Path,
    target: str,
    scores: Mapping[str, float],
    *,
    tasks: Sequence[str] = (),
    mode: str = "single",
    seed: int = 0,
    metric: str = "accuracy",
    model: str = "tiny",
    data: str = "embedded",
    benchmark: str = "xtreme",
    budget: Mapping[str, Any] | None = None,
    phases: list[dict[str, Any]] | None = None,
    extra_metrics: Mapping[str, Mapping[str, float]] | None = None,
) -> Path:
    """Writes ``root/runs/<data>/<model>/<setup>-to-<target>/seed<seed>/results.json``."""
    name = setup_name(tasks, mode)
    run_dir = Path(root) / "runs" / data / model / f"{name}-to-{target}" / f"seed{seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    records = [
        {"task": target, "lang": lang, "split": "test", "metric": metric, "value": float(v)}
        for lang, v in scores.items()
    ]
    for other, values in (extra_metrics or {}).items():
        records += [
            {"task": target, "lang": lang, "split": "test", "metric": other, "value": float(v)}
            for lang, v in values.items()
        ]
    if phases is None:
        phases = intermediate_phases(tasks, mode, budget)
    result = {
        "xtransfer_version": "0.1.0",
        "model": model,
        "seed": seed,
        "target_seed": seed,
        "benchmark": benchmark,
        "data": data,
        "intermediate": name,
        "target": target,
        "phases": [
            *phases,
            {
                "name": "target",
                "task": target,
                "key": "synthetic-target",
                "reused": False,
                "steps": 10,
                "seconds": 0.1,
                "best_dev": 50.0,
                "checkpoint": "/nonexistent/phases/synthetic-target",
            },
        ],
        "scores": records,
        "summary": {target: {"languages": len(scores)}},
    }
    # avg_metric as the scorer computes it ((EM + F1) / 2 when extra_metrics adds QA's EM).
    result["summary"][target] = {"avg_metric": headline(result, target), "languages": len(scores)}
    write_results(run_dir / "results.json", Results.from_dict(result))
    return run_dir
