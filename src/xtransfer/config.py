"""Config plumbing shared by the Hydra apps: resolvers and packaged asset paths."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from omegaconf import OmegaConf

ASSETS_DIR = Path(str(resources.files("xtransfer") / "assets"))


def asset_path(name: str) -> str:
    """Absolute path of a packaged asset (``tiny-xlmr``, ``demo``) for use in configs."""
    return str(ASSETS_DIR / name)


def slug(value: str) -> str:
    """A short, filesystem-safe name for a path or id (last component + 8-char hash)."""
    text = str(value).rstrip("/")
    tail = Path(text).name or "root"
    return f"{tail}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def setup_name(tasks, mode: str) -> str:
    """Name of an intermediate setup for run directories: none, mnli, mnli+squad.multitask."""
    names = list(tasks or {})
    if not names:
        return "none"
    return "+".join(names) + ("" if mode == "single" else f".{mode}")


def register_resolvers() -> None:
    """Idempotently registers the `${xtransfer_asset:...}` and `${xtransfer_slug:...}` resolvers."""
    if not OmegaConf.has_resolver("xtransfer_asset"):
        OmegaConf.register_new_resolver("xtransfer_asset", asset_path)
    if not OmegaConf.has_resolver("xtransfer_setup"):
        OmegaConf.register_new_resolver("xtransfer_setup", setup_name)
    if not OmegaConf.has_resolver("xtransfer_slug"):
        OmegaConf.register_new_resolver("xtransfer_slug", slug)
