"""A run's identity: which config values it depends on, its key, and its folder's variant tag.

A run is identified by its complete resolved config, minus the values that cannot change its
results (where things are written, logging, tracking, CPU threading). The folder name stays
readable (the group choices and seeds); every other value that differs from what those choices
give by default adds a short hash, ``<setup>-to-<target>.cfg-<hash>``, so two runs that differ
in any result-changing value never share a folder. ``results.json`` stores the run key, and a
finished run is skipped only when its stored key equals the current one.

Torch-free and a leaf (config and omegaconf only): the folder name is computed while Hydra sets
up the job. The run key, which also covers the starting checkpoint, is pipeline.plan.run_key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from xtransfer.config import ASSETS_DIR, CONFIG_DIR

# Top-level keys that only say where or how verbosely a run works.
RESULT_NEUTRAL_KEYS = frozenset({"output_root", "cache_dir", "force", "feature_cache", "hydra"})
_NEUTRAL_DOTTED = frozenset({"data.preflight"})
# The levels of the run folder that name a value themselves (so a hash need not repeat them).
PATH_GROUPS = ("model", "intermediate", "target", "data", "benchmark")
NAMED_KEYS = frozenset(
    {"model.name", "intermediate.name", "target.name", "data.name", "benchmark.name", "seed"}
)


# Trainer settings that cannot change what is learned: logging, tracking, how often the resume
# state is written (resuming is exact), CPU threading and the test-only kill switch. Every other
# trainer setting is part of the phase spec and key, so a new setting is covered by default.
# `eval_batch_size` only regroups the English-dev batches of model selection (padding is masked).
RESULT_NEUTRAL_TRAINER_KEYS = frozenset(
    {
        "name",
        "log_every",
        "tracker",
        "tracker_project",
        "num_workers",
        "cpu_threads",
        "save_every_steps",
        "debug_kill_at_step",
        "eval_batch_size",
        # Collating ahead on a worker thread keeps the batch order: bit-identical results
        # (tests/test_training_paths.py).
        "prefetch",
    }
)


def trainer_spec(trainer: dict[str, Any]) -> dict[str, Any]:
    """The trainer settings that a phase's result depends on (its part of the phase key)."""
    return {k: v for k, v in sorted(trainer.items()) if k not in RESULT_NEUTRAL_TRAINER_KEYS}


def _portable(value: Any) -> Any:
    """Packaged asset paths become ``asset:<name>`` so a key does not depend on the checkout."""
    if isinstance(value, str) and value.startswith(str(ASSETS_DIR)):
        return "asset:" + Path(value).relative_to(ASSETS_DIR).as_posix()
    if isinstance(value, Mapping):
        return {k: _portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v) for v in value]
    return value


def identity_config(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The resolved config values that a run's results depend on."""
    if isinstance(cfg, DictConfig):
        # Resolved as a whole (values interpolate each other), hydra.* aside.
        keep = [k for k in cfg if k != "hydra"]
        cfg = OmegaConf.to_container(OmegaConf.masked_copy(cfg, keep), resolve=True)
    container = {k: v for k, v in cfg.items() if k not in RESULT_NEUTRAL_KEYS}
    assert isinstance(container, dict)
    trainer = container.get("trainer")
    if isinstance(trainer, dict):
        container["trainer"] = {
            k: v for k, v in trainer.items() if k not in RESULT_NEUTRAL_TRAINER_KEYS
        }
    flat = {k: v for k, v in flatten(container).items() if k not in _NEUTRAL_DOTTED}
    return _portable(unflatten(flat))


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted leaf keys -> values (lists are leaves)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def short_hash(payload: Any, length: int = 8) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def variant(current: Mapping[str, Any], default: Mapping[str, Any]) -> dict[str, Any]:
    """The identity values of ``current`` that differ from ``default`` (dotted keys; a value
    that exists on one side only counts), minus those that the folder names already."""
    now, base = flatten(current), flatten(default)
    return {
        key: now.get(key)
        for key in sorted(set(now) | set(base))
        if key not in NAMED_KEYS
        and not key.startswith("target.seed")
        and now.get(key, _MISSING) != base.get(key, _MISSING)
    }


_MISSING = object()


def variant_tag(differs: Mapping[str, Any]) -> str:
    """``.cfg-<hash>`` for a run with values off its choices' defaults, else empty."""
    return f".cfg-{short_hash(dict(differs))}" if differs else ""


def _group_overrides(overrides: list[str]) -> list[str]:
    """The job's overrides that choose an option of a folder-naming group."""
    out = []
    for item in overrides:
        key = item.split("=", 1)[0].lstrip("+~")
        if key in PATH_GROUPS:
            out.append(item.lstrip("+"))
    return out


def default_identity(config_name: str, overrides: list[str]) -> dict[str, Any]:
    """The identity config that the same group choices give with no other override (composed
    with Hydra's compose API in the running app's search path)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    choices = _group_overrides(overrides)
    if GlobalHydra.instance().is_initialized():  # inside the running app: its search path
        return identity_config(compose(config_name, overrides=choices))
    # A config composed by the compose API and resolved after its context closed (tests, tools).
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return identity_config(compose(config_name, overrides=choices))


def job_variant(root: DictConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """For the Hydra job being set up: (the identity values that differ from its choices'
    defaults, those defaults)."""
    hydra_node = root.hydra
    overrides = [str(o) for o in hydra_node.overrides.task]
    config_name = str(hydra_node.job.get("config_name") or "config")
    current = identity_config(root)  # hydra.* is left out (resolving it here would recurse)
    try:
        default = default_identity(config_name, overrides)
    except Exception:  # noqa: BLE001 - the folder must still get a name: hash everything
        default = {}
    return variant(current, default), default


def current_job_variant(cfg: DictConfig) -> dict[str, Any] | None:
    """The values of the running Hydra job's config that differ from its choices' defaults
    (what its folder's ``.cfg-<hash>`` stands for); None outside a Hydra job."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    hydra_node = HydraConfig.get()
    overrides = [str(o) for o in hydra_node.overrides.task]
    try:
        default = default_identity(str(hydra_node.job.get("config_name") or "config"), overrides)
    except Exception:  # noqa: BLE001 - a label only: never fail a finished run over it
        return None
    return variant(identity_config(cfg), default)


def run_path_resolver(*, _root_: DictConfig) -> str:
    """``${xtransfer_run_path:}``: ``<data>/<model>/<setup>-to-<target>[.<benchmark>][.cfg-<hash>]
    /seed<s>[-target<t>]``, the run folder below ``<output_root>/runs``."""
    from xtransfer.config import run_leaf

    differs, default = job_variant(_root_)
    preset = (default.get("model") or {}).get("pretrained")
    model = model_label(_root_.model.name, _root_.model.get("pretrained"), preset)
    leaf = run_leaf(
        _root_.intermediate.name,
        _root_.target.name,
        _root_.benchmark.name,
        _root_.seed,
        _root_.target.seed,
        variant_tag(differs),
    )
    return f"{_root_.data.name}/{model}/{leaf}"


def model_label(name: str, pretrained: Any, preset_pretrained: Any) -> str:
    """The run folder's model level: the preset's name, or the checkpoint's own name when
    ``model.pretrained`` points elsewhere than the preset does."""
    if not pretrained or str(pretrained) == str(preset_pretrained or ""):
        return str(name)
    text = str(pretrained).rstrip("/")
    tail = Path(text).name if Path(text).is_absolute() or Path(text).exists() else text
    return tail.replace("/", "--") or str(name)
