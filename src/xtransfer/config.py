"""Config plumbing shared by the Hydra apps: resolvers and packaged asset paths."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from omegaconf import OmegaConf

ASSETS_DIR = Path(str(resources.files("xtransfer") / "assets"))
# The Hydra config tree (conf/): the apps' config path and the compose API's.
CONFIG_DIR = str(Path(__file__).parent / "conf")


def asset_path(name: str) -> str:
    """Absolute path of a packaged asset (``tiny-xlmr``, ``demo``) for use in configs."""
    return str(ASSETS_DIR / name)


def slug(value: str) -> str:
    """A short, filesystem-safe name for a path or id (last component + 8-char hash)."""
    text = str(value).rstrip("/")
    tail = Path(text).name or "root"
    return f"{tail}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def setup_name(tasks, mode: str, keep_head: bool = False, languages=None) -> str:
    """Name of an intermediate setup for run directories: none, mnli, mnli+squad.multitask,
    mnli.keep_head (the target head starts from the intermediate one), mnli@de,fr (trained on
    German and French data; English, the default, adds nothing; a text corpus such as mlm's
    keeps its bare name)."""
    names = list(tasks or {})
    if not names:
        return "none"
    parts = []
    for task in names:
        node = tasks[task] if hasattr(tasks, "__getitem__") else {}
        own = node.get("languages") if hasattr(node, "get") else None
        langs = [str(code) for code in (own if own is not None else (languages or ["en"]))]
        corpus = hasattr(node, "get") and node.get("corpus") is not None
        parts.append(task if corpus or langs == ["en"] else f"{task}@{','.join(langs)}")
    name = "+".join(parts) + ("" if mode == "single" else f".{mode}")
    return name + (".keep_head" if keep_head else "")


def first_set(*values):
    """The first value that is not null (model=tiny's tokenizer follows model.pretrained)."""
    return next((value for value in values if value is not None), None)


DEFAULT_BENCHMARK = "xtreme"


def run_leaf(setup: str, target: str, benchmark: str, seed, target_seed, tag: str = "") -> str:
    """Last levels of a run folder:
    ``<setup>-to-<target>[.<benchmark>][<tag>]/seed<s>[-target<t>]``.

    The default benchmark and a target seed equal to the seed add nothing, so the common case
    keeps its short path; every other choice gets its own folder (a finished XTREME run must not
    make an XTREME-R run of the same pair look done). ``tag`` is the run's variant hash
    (``.cfg-<hash>``, run_identity) when other values differ from the defaults.
    """
    pair = f"{setup}-to-{target}"
    if str(benchmark) != DEFAULT_BENCHMARK:
        pair += f".{benchmark}"
    pair += tag
    leaf = f"seed{seed}"
    if str(target_seed) != str(seed):
        leaf += f"-target{target_seed}"
    return f"{pair}/{leaf}"


def _run_path(*, _root_):
    from xtransfer.run_identity import run_path_resolver

    return run_path_resolver(_root_=_root_)


def register_resolvers() -> None:
    """Idempotently registers the `${xtransfer_asset:...}` and `${xtransfer_slug:...}` resolvers."""
    if not OmegaConf.has_resolver("xtransfer_asset"):
        OmegaConf.register_new_resolver("xtransfer_asset", asset_path)
    if not OmegaConf.has_resolver("xtransfer_setup"):
        OmegaConf.register_new_resolver("xtransfer_setup", setup_name)
    if not OmegaConf.has_resolver("xtransfer_run_path"):
        OmegaConf.register_new_resolver("xtransfer_run_path", _run_path, use_cache=False)
    if not OmegaConf.has_resolver("xtransfer_first"):
        OmegaConf.register_new_resolver("xtransfer_first", first_set)
    if not OmegaConf.has_resolver("xtransfer_slug"):
        OmegaConf.register_new_resolver("xtransfer_slug", slug)
