"""Experiment tracking (TensorBoard, MLflow, W&B) through accelerate's tracker classes.

Off by default (``trainer.tracker: null``). The run's event log is the single source: training
losses, English dev scores and the final zero-shot scores written to ``events.jsonl`` are also
sent to the tracker, so the loop needs no tracking code. One tracker per run, on the main process
only, finished in a ``finally`` even when the run fails.

accelerate's trackers are used directly rather than through ``Accelerator(log_with=...)``: the
process-wide Accelerator serves every run of a sweep, while a tracker belongs to one run, and
``Accelerator.end_training`` would also tear down the process group later runs still need.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from xtransfer.errors import UserError
from xtransfer.training.events import EventLog

TRACKERS = ("tensorboard", "mlflow", "wandb")
_SAFE = re.compile(r"[^A-Za-z0-9_./ -]")  # MLflow's allowed metric-name characters


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys and scalar values (lists and None as text), as trackers' hparams expect."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, f"{name}."))
        elif isinstance(value, bool | int | float | str):
            flat[name] = value
        else:
            flat[name] = json.dumps(value, default=str)
    return flat


def _tag(text: str) -> str:
    return _SAFE.sub("_", text.replace(":", "/"))


def make_tracker(kind: str, project: str, run_name: str, run_dir: Path):
    """An accelerate tracker for one run (not started)."""
    from accelerate.tracking import LOGGER_TYPE_TO_CLASS, get_available_trackers

    if kind not in TRACKERS:
        raise UserError(
            f"trainer.tracker must be null or one of {', '.join(TRACKERS)}, not {kind!r}"
        )
    if kind not in {str(t) for t in get_available_trackers()}:
        raise UserError(
            f"trainer.tracker={kind} needs the {kind} package: pip install 'xtransfer[{kind}]'"
        )
    cls = LOGGER_TYPE_TO_CLASS[kind]
    if kind == "tensorboard":  # event files in the run folder: `tensorboard --logdir outputs/runs`
        return cls("tensorboard", run_dir)
    if kind == "mlflow":  # tracking URI from MLFLOW_TRACKING_URI (default ./mlruns)
        return cls(project, run_name=run_name)
    return cls(project, name=run_name, dir=str(run_dir))  # wandb


class TrackedEventLog(EventLog):
    """An event log that also feeds losses, dev scores and test scores to a tracker."""

    def __init__(self, path: Path | None, enabled: bool = True, tracker=None):
        super().__init__(path, enabled)
        self.tracker = tracker if enabled else None

    def write(self, event: str, **fields: Any) -> None:
        super().write(event, **fields)
        if self.tracker is None:
            return
        values, step = self._values(event, fields)
        if values:
            self.tracker.log(values, step=step)

    @staticmethod
    def _values(event: str, fields: dict[str, Any]) -> tuple[dict[str, float], int | None]:
        if event == "train_loss":
            phase = _tag(fields["desc"])
            return {f"{phase}/loss": fields["loss"], f"{phase}/lr": fields["lr"]}, fields["step"]
        if event == "dev":
            return {f"{_tag(fields['desc'])}/dev": fields["score"]}, fields["step"]
        if event == "scores":
            values = {
                _tag(f"test/{r['task']}/{r['metric']}/{r['lang']}"): r["value"]
                for r in fields["scores"]
            }
            for task, summary in fields["summary"].items():
                if summary.get("avg_metric") is not None:
                    values[_tag(f"test/{task}/avg")] = summary["avg_metric"]
            return values, 0
        return {}, None

    def close(self) -> None:
        """Finishes the tracker (flushes and closes its files or remote run); idempotent."""
        tracker, self.tracker = self.tracker, None
        if tracker is not None:
            tracker.finish()


def open_event_log(cfg: DictConfig, run_dir: Path, enabled: bool) -> TrackedEventLog:
    """The run's event log, with the configured tracker started (main process only)."""
    kind = cfg.trainer.get("tracker")
    tracker = None
    if kind and enabled:
        run_name = "/".join(Path(run_dir).parts[-4:])  # <model>/<setup>-to-<target>/seed<s>...
        project = str(cfg.trainer.get("tracker_project") or "xtransfer")
        tracker = make_tracker(str(kind), project, run_name, Path(run_dir))
        tracker.start()
        tracker.store_init_configuration(flatten_config(OmegaConf.to_container(cfg, resolve=True)))
    return TrackedEventLog(Path(run_dir) / "events.jsonl", enabled=enabled, tracker=tracker)
