"""Every target of the catalogue on `data=hub`, read from a mirror built from the real Hub facts
(tests/hub_mirror.py), for XTREME and XTREME-R: the pre-flight passes except for the languages
that have no real Hub source (refused, one line each), and every split it checked loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hub_mirror import build_mirror, needs_facts
from hydra import compose, initialize_config_dir

from xtransfer.config import register_resolvers
from xtransfer.data.sources import load_rows
from xtransfer.errors import UserError
from xtransfer.evaluation.benchmarks import get_benchmark
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.plan import plan_phases
from xtransfer.pipeline.preflight import preflight, required_splits
from xtransfer.tasks.registry import get_task

pytestmark = [needs_facts, pytest.mark.slow]


def _cfg(*overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        return compose("config", overrides=["output_root=/tmp/xtransfer-hub", *overrides])


def _refused(task_name: str, split: str, lang: str) -> bool:
    hub = get_task(task_name).raw["splits"][split].get("hub") or {}
    return lang in (hub.get("absent") or [])


@pytest.mark.parametrize(("bench", "bench_cfg"), [("xtreme", "xtreme"), ("xtreme-r", "xtreme_r")])
def test_every_target_resolves_and_loads_on_a_facts_mirror(bench: str, bench_cfg: str, tmp_path):
    for target in get_benchmark(bench).tasks:
        cfg = _cfg(
            f"target={target}", "intermediate=none", f"benchmark={bench_cfg}", "data=hub",
            f"data.mirror={tmp_path}",
        )  # fmt: skip
        phases = plan_phases(cfg)
        needed = required_splits(cfg, phases)
        build_mirror(tmp_path, needed)
        expected = sorted(lang for task, split, lang in needed if _refused(task, split, lang))
        try:
            preflight(cfg, phases)
            problems: list[str] = []
        except UserError as err:
            problems = str(err).splitlines()[1:]
        refused = sorted(p.split("no Hub source has ")[1].split(" ")[0] for p in problems)
        assert refused == expected and len(problems) == len(expected), (target, problems)
        for task, split, lang in needed:
            if not _refused(task, split, lang):
                assert load_rows(get_task(task), split, lang, cfg.data), (task, split, lang)


def test_xquad_trains_and_scores_every_xtreme_r_language_on_a_facts_mirror(tmp_path: Path):
    """The issue's first failure: XQuAD on the real layout (no `title`, ro elsewhere), after the
    SQuAD phase has trained."""
    mirror = tmp_path / "mirror"
    args = ["target=xquad", "intermediate=none", "benchmark=xtreme_r", "data=hub"]
    cfg = _cfg(*args, f"data.mirror={mirror}")
    build_mirror(mirror, required_splits(cfg, plan_phases(cfg)))
    proc = subprocess.run(
        [sys.executable, "-m", "xtransfer", "train", *args, f"data.mirror={mirror}",
         f"output_root={tmp_path}/out", "target.epochs=1", "trainer.cpu_threads=1"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = next((tmp_path / "out").rglob("results.json"))
    import json

    scores = json.loads(results.read_text())["scores"]
    assert {s["lang"] for s in scores} == set(get_task("xquad").languages["xtreme_r"])
