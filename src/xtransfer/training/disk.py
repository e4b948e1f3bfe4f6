"""A full disk is a user's problem with a fix, not a traceback: say where, and how much.

Checkpoints and resume states are large and written at known points, so their size is known
before writing: `writing(...)` checks the free space first and turns a disk that fills up while
writing (ENOSPC) into one line naming the path, the size the step needed and what is free.
The callers write atomically (a temporary name, then a rename), so the last good state stays.
"""

from __future__ import annotations

import errno
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from xtransfer.errors import UserError

# Headroom for metadata, tokenizer files and JSON written beside the tensors.
_MARGIN = 1.05
_SLACK = 8 << 20


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def tensor_bytes(tensors: Iterable) -> int:
    """Bytes of a collection of tensors (a state dict's values, an optimizer's states)."""
    return sum(int(t.numel()) * int(t.element_size()) for t in tensors if hasattr(t, "numel"))


def _existing(path: Path) -> Path:
    path = Path(path).resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def free_bytes(path: Path) -> int:
    return shutil.disk_usage(_existing(path)).free


def _full(directory: Path, needed: int, what: str, free: int) -> UserError:
    return UserError(
        f"not enough disk space to write {what} in {directory}: it needs about "
        f"{human_bytes(needed)}, {human_bytes(free)} free. Free some space or point "
        "cache_dir= / output_root= to a larger disk; the last complete state is kept"
    )


def ensure_space(directory: Path, needed: int, what: str) -> None:
    free = free_bytes(directory)
    if free < needed * _MARGIN + _SLACK:
        raise _full(Path(directory), needed, what, free)


@contextmanager
def writing(directory: Path, needed: int, what: str) -> Iterator[None]:
    """Checks the space before writing ``what`` (about ``needed`` bytes) and reports a disk
    that fills up during the write the same way."""
    ensure_space(directory, needed, what)
    try:
        yield
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        raise _full(Path(directory), needed, what, free_bytes(directory)) from None
