"""Content-addressed phase cache: ``<cache_dir>/phases/<key>/``.

A phase directory is complete iff its ``phase.json`` exists (written last). Training happens in a
work directory (``.partial-<key>``, holding the resume state) that is renamed into place, so a
half-written checkpoint is never visible; a per-key file lock makes concurrent runs that need
the same phase train it once, and the OS releases the lock of a process that dies.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from xtransfer.errors import UserError
from xtransfer.training.checkpoint import META_FILE


@dataclass
class PhaseSlot:
    key: str
    final: Path
    tmp: Path

    @property
    def complete(self) -> bool:
        return (self.final / META_FILE).is_file()

    @property
    def resume_dir(self) -> Path:
        return self.tmp / "resume"

    def commit(self) -> None:
        """Atomically publishes the work directory as the phase checkpoint."""
        shutil.rmtree(self.resume_dir, ignore_errors=True)  # optimizer state is not needed now
        if self.final.exists():  # an incomplete leftover (e.g. from an older crash)
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
        return (self.path(key) / META_FILE).is_file()

    @contextmanager
    def claim(self, key: str) -> Iterator[PhaseSlot]:
        """Holds the key's lock for the duration; the OS releases it if the process dies."""
        lock_path = self.root / "locks" / f"{key}.lock"
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            # The work directory survives a crash or kill: its resume state lets the next run
            # that needs this phase continue where this one stopped. The lock makes it private.
            work = self.root / "phases" / f".partial-{key}"
            try:
                yield PhaseSlot(key, self.path(key), work)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
