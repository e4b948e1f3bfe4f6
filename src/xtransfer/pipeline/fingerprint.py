"""Checkpoints identified by content, not by name: the pretrained starting point of a run.

A local ``model.pretrained`` directory is identified by the sizes and sha256 of its files
(config, tokenizer, weights), so another model saved at the same path is another starting point.
Hashing gigabytes on every run would be slow, so each file's hash is cached by (path, size,
mtime) in ``<cache_dir>/fingerprints.json``. A Hub id is identified by its resolved commit.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from xtransfer.pipeline.cache import file_sha256

CACHE_FILE = "fingerprints.json"


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # a missing or damaged cache only costs re-hashing


def _write_cache(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), "utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache: fingerprints are recomputed next time


def directory_fingerprint(directory: Path, cache_dir: Path | None = None) -> str:
    """sha256 over (relative name, size, sha256) of every file under ``directory``."""
    directory = Path(directory).resolve()
    cache_path = Path(cache_dir) / CACHE_FILE if cache_dir is not None else None
    cache = _read_cache(cache_path) if cache_path is not None else {}
    changed = False
    entries = []
    for file in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = file.relative_to(directory).as_posix()
        if any(part.startswith(".") for part in Path(rel).parts):
            continue  # editor and VCS droppings do not make another model
        stat = file.stat()
        stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        cached = cache.get(str(file))
        if isinstance(cached, dict) and cached.get("stamp") == stamp:
            digest = cached["sha256"]
        else:
            digest = file_sha256(file)
            cache[str(file)] = {"stamp": stamp, "sha256": digest}
            changed = True
        entries.append(f"{rel}\t{stat.st_size}\t{digest}")
    if changed and cache_path is not None:
        _write_cache(cache_path, cache)
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()[:20]


def hub_revision(repo_id: str, revision: str | None = None) -> str | None:
    """The commit sha that ``repo_id@revision`` resolves to: from the Hub when reachable, else
    from the local Hugging Face cache; None when neither knows."""
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    if not offline:
        try:
            from huggingface_hub import HfApi

            return HfApi().model_info(repo_id, revision=revision, timeout=10).sha
        except Exception:  # noqa: BLE001 - unreachable, unknown or private: try the cache
            pass
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(repo_id, revision=revision, local_files_only=True)
        return Path(path).name
    except Exception:  # noqa: BLE001 - not cached
        return None


def checkpoint_identity(
    pretrained: str, revision: str | None = None, cache_dir: Path | None = None
) -> dict[str, Any]:
    """What identifies ``model.pretrained``: a local folder's content fingerprint, or a Hub id
    with its resolved commit (``unresolved`` when the Hub and the local cache are out of
    reach; such a key changes once the commit is known)."""
    path = Path(str(pretrained)).expanduser()
    if path.is_dir():
        return {"local": directory_fingerprint(path, cache_dir)}
    sha = hub_revision(str(pretrained), revision)
    return {"hub": str(pretrained), "revision": sha or f"unresolved:{revision or 'main'}"}
