"""`xtransfer evaluate checkpoint=DIR target=T`: zero-shot scores of a saved model."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig


def _evaluate(cfg: DictConfig, run_dir: Path) -> None:
    from xtransfer.pipeline.run import evaluate_saved

    evaluate_saved(cfg, Path(cfg.checkpoint), run_dir)


def main(argv: list[str]) -> int:
    from xtransfer.hydra_app import run_hydra

    return run_hydra("evaluate", "evaluate", argv, _evaluate)
