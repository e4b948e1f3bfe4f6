"""Running a Hydra app (train, evaluate, plan) from the `xtransfer` dispatcher."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from xtransfer.config import register_resolvers
from xtransfer.errors import UserError

CONFIG_DIR = str(Path(__file__).parent / "conf")


def run_hydra(
    command: str, config_name: str, argv: list[str], task: Callable[[DictConfig, Path], object]
) -> int:
    """Hands ``argv`` to Hydra (overrides, -m, --cfg, --config-dir ...) and runs ``task``."""
    import hydra
    from hydra.core.hydra_config import HydraConfig

    register_resolvers()
    # User-declared tasks (XTRANSFER_TASKS, ./xtransfer_tasks/) become group options.
    from xtransfer.tasks.registry import register_user_tasks

    register_user_tasks()  # a bad declaration is a UserError: one line from the dispatcher

    @hydra.main(config_path=CONFIG_DIR, config_name=config_name, version_base="1.3")
    def _app(cfg: DictConfig) -> None:
        run_dir = Path(HydraConfig.get().runtime.output_dir)
        try:
            task(cfg, run_dir)
        except UserError as err:
            # Hydra would print a traceback for any exception; a user's mistake gets one line.
            print(f"xtransfer {command}: error: {err}", file=sys.stderr)
            sys.exit(2)

    saved = sys.argv
    sys.argv = [f"xtransfer {command}", *argv]
    try:
        _app()
    finally:
        sys.argv = saved
    return 0
