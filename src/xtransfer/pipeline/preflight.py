"""The pre-flight check: every split a run will read is resolved before any phase trains.

Each phase's train and dev data, every test language of the target and the extra splits its
format reads at test time (Mewsli-X candidates, the BUCC threshold split) are checked with
`data.sources.check_split`: metadata only on the Hub, file existence and first rows for files.
All problems are reported at once, one line each, so a run that would fail at evaluation never
spends its training time first.
"""

from __future__ import annotations

from typing import Any

from xtransfer.data.sources import check_split
from xtransfer.errors import UserError
from xtransfer.pipeline.plan import Phase
from xtransfer.tasks.registry import get_task


def _test_splits(cfg: Any) -> list[tuple[str, str, str]]:
    from xtransfer.pipeline.zero_shot import evaluation_languages

    task = get_task(str(cfg.target.task))
    _, languages = evaluation_languages(task, str(cfg.benchmark.name))
    splits = [str(cfg.target.test_split)]
    if (task.raw.get("dual_encoder") or {}).get("candidate_split"):
        splits.append(str(task.raw["dual_encoder"]["candidate_split"]))
    if task.format == "bitext_mining":  # the mining threshold is chosen on this split
        splits.append(str(cfg.target.get("threshold_split", "validation")))
    return [(task.name, split, lang) for lang in languages for split in splits]


def required_splits(cfg: Any, phases: list[Phase]) -> list[tuple[str, str, str]]:
    """(task, split, language) of every split the run reads, in reading order, once each."""
    needed: list[tuple[str, str, str]] = []
    for phase in phases:
        for plan in phase.tasks:
            if plan.corpus is not None:  # plain text: resolve_corpus checked it while planning
                continue
            refs = [*plan.train_refs, *([plan.dev] if plan.dev else [])]
            needed += [(ref.task, ref.split, ref.lang) for ref in refs]
    needed += _test_splits(cfg)
    return list(dict.fromkeys(needed))


def preflight(cfg: Any, phases: list[Phase]) -> None:
    """Raises one UserError listing every problem with the run's data (one line each)."""
    problems: list[str] = []
    for task, split, lang in required_splits(cfg, phases):
        for problem in check_split(get_task(task), split, lang, cfg.data):
            if problem not in problems:
                problems.append(problem)
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise UserError(
            f"pre-flight: {len(problems)} problem(s) with the data this run needs (nothing was "
            f"trained; data.preflight=false skips this check):\n{lines}"
        )
