"""Content-addressed phase cache: ``<cache_dir>/phases/<key>/``.

Training happens in a work directory (``.partial-<key>``, holding the resume state) that is
renamed into place, so a half-written checkpoint is never visible. Just before the rename a
manifest (size and sha256 of every file) is written into it; a phase directory is complete iff
its manifest exists, and it is used only if every file still matches — a checkpoint damaged
later (disk error, a copy cut short, a hand edit) is reported and trained again, never used.

A per-key ``fcntl`` file lock makes concurrent runs that need the same phase train it once. The
OS drops the lock of a process that dies (kill -9, preemption), so there are no stale locks; the
dead process's work directory stays and the next run that needs the phase resumes from it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from xtransfer.errors import UserError

MANIFEST_FILE = "manifest.json"
_CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST_FILE)


def write_manifest(directory: Path) -> None:
    """Records size and sha256 of every file under ``directory`` (written last, atomically)."""
    files = {
        str(p.relative_to(directory)): {"size": p.stat().st_size, "sha256": _sha256(p)}
        for p in _files(directory)
    }
    tmp = directory / f".{MANIFEST_FILE}.tmp"
    tmp.write_text(json.dumps({"files": files}, indent=1, sort_keys=True), "utf-8")
    os.replace(tmp, directory / MANIFEST_FILE)


def check_manifest(directory: Path, hashes: bool = True) -> str | None:
    """None if ``directory`` matches its manifest, else what is wrong (one phrase)."""
    path = directory / MANIFEST_FILE
    if not path.is_file():
        return f"{MANIFEST_FILE} is missing"
    try:
        files = json.loads(path.read_text("utf-8"))["files"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        return f"{MANIFEST_FILE} is unreadable"
    for name, entry in files.items():
        file = directory / name
        if not file.is_file():
            return f"{name} is missing"
        size = file.stat().st_size
        if size != entry["size"]:
            return f"{name} has {size} bytes, expected {entry['size']}"
        if hashes and _sha256(file) != entry["sha256"]:
            return f"{name} does not match its sha256"
    return None


@dataclass
class PhaseSlot:
    key: str
    final: Path
    tmp: Path

    @property
    def complete(self) -> bool:
        """Published and not obviously damaged (manifest present, sizes match; no hashing)."""
        return self.final.is_dir() and check_manifest(self.final, hashes=False) is None

    @property
    def resume_dir(self) -> Path:
        return self.tmp / "resume"

    def reusable(self) -> bool:
        """True if the published checkpoint is intact. A damaged one is reported and removed,
        so the caller trains the phase again (resuming from a leftover work directory)."""
        if not self.final.exists():
            return False
        problem = check_manifest(self.final)
        if problem is None:
            return True
        print(
            f"xtransfer: cached phase {self.key} at {self.final} is corrupted ({problem}); "
            "removing it and training the phase again",
            file=sys.stderr,
        )
        shutil.rmtree(self.final)
        return False

    def commit(self) -> None:
        """Atomically publishes the work directory as the phase checkpoint."""
        shutil.rmtree(self.resume_dir, ignore_errors=True)  # optimizer state is not needed now
        write_manifest(self.tmp)
        if self.final.exists():  # an incomplete or damaged leftover
            shutil.rmtree(self.final)
        os.replace(self.tmp, self.final)


class PhaseCache:
    def __init__(self, root: Path):
        self.root = Path(root)
        try:
            (self.root / "phases").mkdir(parents=True, exist_ok=True)
            (self.root / "locks").mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UserError(
                f"cannot create the phase cache at {self.root}: {err.strerror}"
            ) from None

    def path(self, key: str) -> Path:
        return self.root / "phases" / key

    def is_complete(self, key: str) -> bool:
        return self.path(key).is_dir() and check_manifest(self.path(key), hashes=False) is None

    @contextmanager
    def claim(self, key: str, lock: bool = True) -> Iterator[PhaseSlot]:
        """Holds the key's lock for the duration; the OS releases it if the process dies.

        ``lock=False`` is for the non-main processes of a data-parallel run: the main process
        holds the lock for all of them (two processes of one run must not wait on each other).
        """
        slot = PhaseSlot(key, self.path(key), self.root / "phases" / f".partial-{key}")
        if not lock:
            yield slot
            return
        lock_path = self.root / "locks" / f"{key}.lock"
        with lock_path.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print(
                    f"xtransfer: phase {key} is being trained by another process "
                    f"(lock {lock_path}); waiting for it",
                    file=sys.stderr,
                )
                fcntl.flock(handle, fcntl.LOCK_EX)
            # The work directory survives a crash or kill: its resume state lets the next run
            # that needs this phase continue where this one stopped. The lock makes it private.
            try:
                yield slot
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
