"""What ``xtransfer cache`` sees and does: an inventory of the phase cache, a full verification,
and garbage collection. Standard library only (the command must start without torch).

A phase is "used" when some run's ``results.json`` under ``<output_root>/runs`` names its key in
``phases[].key``. Its age is the time since it was last written or reused (the manifest's mtime,
refreshed on every reuse); a ``.partial-<key>`` work folder's age is that of its newest file.
Nothing is removed while a live process holds the key's lock (a non-blocking ``flock`` tells);
lock files themselves are never removed: deleting a lock file that another process has open
would let a third process lock a new file of the same name, and two would train the same phase.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from xtransfer.errors import UserError
from xtransfer.pipeline.cache import (
    MANIFEST_FILE,
    PARTIAL_PREFIX,
    PhaseCache,
    check_phase,
    open_lock,
)
from xtransfer.results import RESULTS_FILE, read_results

META_FILE = "phase.json"  # written by training.checkpoint (not imported: it needs torch)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``30s``, ``15m``, ``12h``, ``7d``, ``2w`` or a plain ``0``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if not match or (not match.group(2) and float(match.group(1)) != 0):
        raise UserError(
            f"--older-than {text!r} is not a duration: a number with a unit s, m, h, d or w "
            "(e.g. 7d, 12h), or 0"
        )
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def format_age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass
class CacheEntry:
    """A phase folder (``partial`` False) or a ``.partial-<key>`` work folder."""

    key: str
    path: Path
    partial: bool
    size: int
    last_used: float
    tasks: list[str] = field(default_factory=list)
    name: str | None = None
    used_by: list[str] = field(default_factory=list)


@dataclass
class RunUses:
    by_key: dict[str, list[str]]  # phase key -> run folders (relative to the runs root)
    unreadable: list[Path]  # results.json files that could not be read


def open_cache(cache_dir: Path) -> PhaseCache:
    if not (Path(cache_dir) / "phases").is_dir():
        raise UserError(
            f"no phase cache at {cache_dir} (no phases/ folder); "
            "give --root OUTPUT_ROOT or --cache-dir DIR"
        )
    return PhaseCache(Path(cache_dir))


def find_run_uses(runs_root: Path) -> RunUses:
    by_key: dict[str, list[str]] = {}
    unreadable: list[Path] = []
    for path in sorted(Path(runs_root).rglob(RESULTS_FILE)) if Path(runs_root).is_dir() else []:
        try:
            phases = read_results(path).phases
            keys = [str(p["key"]) for p in phases if isinstance(p, dict) and p.get("key")]
        except (UserError, TypeError):  # TypeError: phases that are not a list
            unreadable.append(path)
            continue
        run = str(path.parent.relative_to(runs_root))
        for key in keys:
            by_key.setdefault(key, []).append(run)
    return RunUses(by_key, unreadable)


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


def _read_meta(directory: Path) -> dict:
    try:
        meta = json.loads((directory / META_FILE).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _entry(directory: Path, uses: RunUses) -> CacheEntry:
    partial = directory.name.startswith(PARTIAL_PREFIX)
    key = directory.name[len(PARTIAL_PREFIX) :] if partial else directory.name
    files = _files(directory)
    stats = [p.stat() for p in files]
    if partial:
        last = max([directory.stat().st_mtime, *(s.st_mtime for s in stats)])
    elif (directory / MANIFEST_FILE).is_file():
        last = (directory / MANIFEST_FILE).stat().st_mtime
    else:
        last = max([directory.stat().st_mtime, *(s.st_mtime for s in stats)])
    meta = _read_meta(directory)
    tasks = meta.get("tasks") or ([meta["task"]] if meta.get("task") else [])
    return CacheEntry(
        key=key,
        path=directory,
        partial=partial,
        size=sum(s.st_size for s in stats),
        last_used=last,
        tasks=[str(t) for t in tasks],
        name=meta.get("name"),
        used_by=[] if partial else list(uses.by_key.get(key, [])),
    )


def inventory(cache: PhaseCache, uses: RunUses) -> list[CacheEntry]:
    """Every phase and work folder, phases first, each group by key."""
    folders = [p for p in (cache.root / "phases").iterdir() if p.is_dir()]
    entries = [_entry(p, uses) for p in folders]
    return sorted(entries, key=lambda e: (e.partial, e.key))


def verify(cache: PhaseCache) -> list[tuple[str, str | None]]:
    """(key, problem or None) for every published phase, every file hashed."""
    results = []
    for directory in sorted((cache.root / "phases").iterdir()):
        if not directory.is_dir() or directory.name.startswith(PARTIAL_PREFIX):
            continue
        key = directory.name
        results.append((key, check_phase(directory, cache.record_path(key), hashes=True)))
    return results


@contextmanager
def try_lock(cache: PhaseCache, key: str) -> Iterator[bool]:
    """True (and the key's lock held) unless a live process holds it."""
    lock_path = cache.lock_path(key)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open_lock(lock_path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class Removal:
    entry: CacheEntry
    reason: str
    removed: bool  # False under --dry-run, or when a live process holds the lock
    skipped: str | None = None  # why it was kept after all


def collect_garbage(
    cache: PhaseCache,
    uses: RunUses,
    older_than: float,
    dry_run: bool,
    now: float | None = None,
) -> list[Removal]:
    """Removes stale work folders and phases no run uses, both idle for ``older_than`` seconds.

    A phase folder without a manifest (and no record of one) is incomplete and treated like an
    unused phase. The key's lock is held while a folder is removed, so no run that is training
    or checking that phase right now loses it.
    """
    now = time.time() if now is None else now
    removals = []
    for entry in inventory(cache, uses):
        idle = now - entry.last_used
        if idle < older_than:
            continue
        if entry.partial:
            reason = f"stale work folder, idle {format_age(idle)}"
        elif not entry.used_by:
            reason = f"used by no run, idle {format_age(idle)}"
        else:
            continue
        removal = Removal(entry, reason, removed=False)
        removals.append(removal)
        with try_lock(cache, entry.key) as locked:
            if not locked:
                removal.skipped = "locked by a live process"
            elif not dry_run:
                shutil.rmtree(entry.path)
                if not entry.partial:
                    cache.record_path(entry.key).unlink(missing_ok=True)
                removal.removed = True
    return removals
