"""Running a Hydra app (train, evaluate, plan) from the `xtransfer` dispatcher."""

from __future__ import annotations

import errno
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig
from omegaconf.errors import InterpolationToMissingValueError, MissingMandatoryValue

from xtransfer.config import CONFIG_DIR, register_resolvers
from xtransfer.config_schema import validate
from xtransfer.errors import UserError


def run_hydra(
    command: str, config_name: str, argv: list[str], task: Callable[[DictConfig, Path], object]
) -> int:
    """Hands ``argv`` to Hydra (overrides, -m, --cfg, --config-dir ...) and runs ``task``."""
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.errors import (
        ConfigCompositionException,
        MissingConfigException,
        OverrideParseException,
    )

    register_resolvers()
    # User-declared tasks (XTRANSFER_TASKS, ./xtransfer_tasks/) become group options.
    from xtransfer.tasks.registry import register_user_tasks

    try:
        register_user_tasks()
    except UserError as err:
        # Packaged tasks still work; a run that names a user task then says it is unknown,
        # after this line has said why.
        print(f"xtransfer: warning: user tasks not loaded: {err}", file=sys.stderr)

    @hydra.main(config_path=CONFIG_DIR, config_name=config_name, version_base="1.3")
    def _app(cfg: DictConfig) -> None:
        run_dir = Path(HydraConfig.get().runtime.output_dir)
        try:
            validate(cfg)  # every value checked before any data is loaded or phase trained
            task(cfg, run_dir)
        except UserError as err:
            # Hydra would print a traceback for any exception; a user's mistake gets one line.
            print(f"xtransfer {command}: error: {err}", file=sys.stderr)
            sys.exit(2)

    saved, saved_full = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    sys.argv = [f"xtransfer {command}", *argv]
    # Hydra prints its own multi-line report (search path, stack) for any error and exits; with
    # HYDRA_FULL_ERROR it raises instead, so the user's mistakes below become one line.
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        _app()
    except (MissingConfigException, ConfigCompositionException, OverrideParseException) as err:
        raise UserError(_config_error_line(err)) from None
    except (MissingMandatoryValue, InterpolationToMissingValueError) as err:
        raise UserError(_missing_value_line(err)) from None
    except ValueError as err:
        if not str(err).startswith("Only one of --run"):
            raise
        raise UserError(f"{err} (use --cfg without -m to print a sweep's config)") from None
    except OSError as err:
        if err.errno not in _UNWRITABLE or not err.filename:
            raise
        raise UserError(f"cannot write to {err.filename}: {err.strerror}") from None
    finally:
        sys.argv = saved
        if saved_full is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved_full
    return 0


def _missing_value_line(err: Exception) -> str:
    """A required value (``???`` in the config, e.g. evaluate's checkpoint) was not given."""
    found = re.search(r"Missing mandatory value: ([\w.]+)", str(err))
    key = found.group(1) if found else "a required value"
    return f"{key}= is required (e.g. xtransfer evaluate {key}=DIR target=xnli)"


_UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.ENOSPC, errno.EEXIST}


def _config_error_line(err: Exception) -> str:
    """Hydra's composition error on one line; a missing group option names the options."""
    missing = getattr(err, "missing_cfg_file", None) or ""
    found = re.search(r"Could not (?:find|load) '([^']+)'", str(err))
    if not missing and found:
        missing = found.group(1)
    group, _, name = str(missing).rpartition("/")
    if group:
        options = getattr(err, "options", None) or _group_options(group)
        known = f" (available: {', '.join(options)})" if options else ""
        return f"unknown {group} {name!r}{known}"
    return " ".join(str(err).split())


def _group_options(group: str) -> list[str]:
    folder = Path(CONFIG_DIR) / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
