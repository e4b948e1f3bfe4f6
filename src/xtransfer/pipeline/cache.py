"""Content-addressed phase cache: ``<cache_dir>/phases/<key>/``.

Training happens in a work directory (``.partial-<key>``, holding the resume state) that is
renamed into place, so a half-written checkpoint is never visible. Just before the rename a
manifest (size and sha256 of every file) is written into it; a phase directory is complete iff
its manifest exists, and it is used only if every file still matches — a checkpoint damaged
later (disk error, a copy cut short, a hand edit) is reported and trained again, never used.

A per-key ``fcntl`` file lock makes concurrent runs that need the same phase train it once. The
OS drops the lock of a process that dies (kill -9, preemption), so there are no stale locks; the
dead process's work directory stays and the next run that needs the phase resumes from it.

The manifest is also kept outside the phase folder (``<cache_dir>/manifests/<key>.json``), so a
phase that only lost its ``manifest.json`` is verified against that record (every hash) and
restored instead of being trained again; a folder with neither is never trusted. A complete phase
on a read-only file system is reused without a lock (nothing there can train or change it).
Every reuse refreshes the manifest's mtime, which ``xtransfer cache gc`` reads as "last used".
"""

from __future__ import annotations

import errno
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
PARTIAL_PREFIX = ".partial-"
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB chunks (checkpoints are gigabytes)."""
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
        str(p.relative_to(directory)): {"size": p.stat().st_size, "sha256": file_sha256(p)}
        for p in _files(directory)
    }
    tmp = directory / f".{MANIFEST_FILE}.tmp"
    tmp.write_text(json.dumps({"files": files}, indent=1, sort_keys=True), "utf-8")
    os.replace(tmp, directory / MANIFEST_FILE)


def check_manifest(
    directory: Path, hashes: bool = True, manifest: Path | None = None
) -> str | None:
    """None if ``directory`` matches its manifest (``manifest``, by default the one inside it),
    else what is wrong (one phrase)."""
    path = manifest or directory / MANIFEST_FILE
    if not path.is_file():
        return f"{MANIFEST_FILE} is missing"
    try:
        files = json.loads(path.read_text("utf-8"))["files"]
        entries = [(str(name), int(e["size"]), str(e["sha256"])) for name, e in files.items()]
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return f"{MANIFEST_FILE} is unreadable"
    for name, expected_size, sha256 in entries:
        file = directory / name
        if not file.is_file():
            return f"{name} is missing"
        size = file.stat().st_size
        if size != expected_size:
            return f"{name} has {size} bytes, expected {expected_size}"
        if hashes and file_sha256(file) != sha256:
            return f"{name} does not match its sha256"
    return None


def check_phase(final: Path, record: Path, hashes: bool = True) -> str | None:
    """Like ``check_manifest``; a folder that lost its manifest is checked against the key's
    record kept outside it (always with hashes: the folder's own manifest is gone)."""
    if (final / MANIFEST_FILE).is_file() or not record.is_file():
        return check_manifest(final, hashes)
    return check_manifest(final, True, manifest=record)


def restore_manifest(final: Path, record: Path) -> bool:
    """Copies the record back into a phase folder that lost its manifest (False if read-only)."""
    tmp = final / f".{MANIFEST_FILE}.tmp"
    try:
        shutil.copyfile(record, tmp)
        os.replace(tmp, final / MANIFEST_FILE)
    except OSError:
        return False
    return True


@dataclass
class PhaseSlot:
    key: str
    final: Path
    tmp: Path
    record: Path  # the copy of the manifest kept outside the phase folder

    @property
    def complete(self) -> bool:
        """Published and not obviously damaged: sizes match the manifest (no hashing), or, for a
        folder that lost its manifest, every file matches the key's record (hashed)."""
        return self.final.is_dir() and check_phase(self.final, self.record, hashes=False) is None

    @property
    def resume_dir(self) -> Path:
        return self.tmp / "resume"

    def reusable(self) -> bool:
        """True if the published checkpoint is intact. A damaged one is reported and removed,
        so the caller trains the phase again (resuming from a leftover work directory)."""
        if not self.final.exists():
            return False
        lost_manifest = not (self.final / MANIFEST_FILE).is_file() and self.record.is_file()
        problem = check_phase(self.final, self.record)
        if problem is None:
            if lost_manifest:
                restored = restore_manifest(self.final, self.record)
                print(
                    f"xtransfer: cached phase {self.key} had lost its {MANIFEST_FILE}; every "
                    f"file matches the record {self.record}, "
                    + ("manifest restored" if restored else "reusing it (read-only)"),
                    file=sys.stderr,
                )
            _mark_used(self.final)
            return True
        print(
            f"xtransfer: cached phase {self.key} at {self.final} is corrupted ({problem}); "
            "removing it and training the phase again",
            file=sys.stderr,
        )
        try:
            shutil.rmtree(self.final)
        except OSError as err:
            raise UserError(
                f"cached phase {self.key} at {self.final} is corrupted ({problem}) and cannot be "
                f"removed ({err.strerror}); delete it or set cache_dir to a writable folder"
            ) from None
        return False

    def commit(self) -> None:
        """Atomically publishes the work directory as the phase checkpoint."""
        shutil.rmtree(self.resume_dir, ignore_errors=True)  # optimizer state is not needed now
        write_manifest(self.tmp)
        self.record.parent.mkdir(parents=True, exist_ok=True)
        tmp_record = self.record.with_name(f".{self.record.name}.tmp")
        shutil.copyfile(self.tmp / MANIFEST_FILE, tmp_record)
        os.replace(tmp_record, self.record)
        if self.final.exists():  # an incomplete or damaged leftover
            shutil.rmtree(self.final)
        os.replace(self.tmp, self.final)


_UNWRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT)


def open_lock(path: Path):
    """The lock file, for writing if possible; ``flock`` needs no write access, so an existing
    lock file that cannot be written (read-only mount, another user's file) is opened read-only."""
    try:
        return path.open("a")
    except OSError as err:
        if err.errno not in _UNWRITABLE or not path.is_file():
            raise
        return path.open("r")


def _mark_used(final: Path) -> None:
    """The manifest's mtime is the phase's last use (gc keeps what was used recently)."""
    try:
        os.utime(final / MANIFEST_FILE)
    except OSError:
        pass  # a read-only cache: nothing will collect it anyway


class PhaseCache:
    def __init__(self, root: Path):
        self.root = Path(root)
        try:
            (self.root / "phases").mkdir(parents=True, exist_ok=True)
            (self.root / "locks").mkdir(parents=True, exist_ok=True)
        except OSError as err:
            if not (self.root / "phases").is_dir():  # a read-only cache is still readable
                raise UserError(
                    f"cannot create the phase cache at {self.root}: {err.strerror}"
                ) from None

    def path(self, key: str) -> Path:
        return self.root / "phases" / key

    def partial_path(self, key: str) -> Path:
        return self.root / "phases" / f"{PARTIAL_PREFIX}{key}"

    def record_path(self, key: str) -> Path:
        return self.root / "manifests" / f"{key}.json"

    def lock_path(self, key: str) -> Path:
        return self.root / "locks" / f"{key}.lock"

    def slot(self, key: str) -> PhaseSlot:
        return PhaseSlot(key, self.path(key), self.partial_path(key), self.record_path(key))

    def is_complete(self, key: str) -> bool:
        return self.slot(key).complete

    @contextmanager
    def claim(self, key: str, lock: bool = True) -> Iterator[PhaseSlot]:
        """Holds the key's lock for the duration; the OS releases it if the process dies.

        ``lock=False`` is for the non-main processes of a data-parallel run: the main process
        holds the lock for all of them (two processes of one run must not wait on each other).
        """
        slot = self.slot(key)
        if not lock:
            yield slot
            return
        lock_path = self.lock_path(key)
        try:
            handle = open_lock(lock_path)
        except OSError as err:
            if err.errno not in _UNWRITABLE:
                raise
            if not slot.complete:
                raise UserError(
                    f"phase {key} is not in the cache and the cache cannot be written "
                    f"({lock_path}: {err.strerror}); set cache_dir to a writable folder"
                ) from None
            # Read-only: no process can be writing this phase, so reading it needs no lock.
            yield slot
            return
        with handle:
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
