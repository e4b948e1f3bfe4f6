"""`xtransfer train`: the whole pipeline as a Hydra app."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig


def _train(cfg: DictConfig, run_dir: Path) -> None:
    from xtransfer.pipeline.run import run_pipeline

    run_pipeline(cfg, run_dir)


def main(argv: list[str]) -> int:
    from xtransfer.hydra_app import run_hydra

    return run_hydra("train", "config", argv, _train)
