"""A full disk names the path, the size the step needed and what is free (issue 14)."""

from __future__ import annotations

import errno
from collections import namedtuple

import pytest
import torch

from xtransfer.errors import UserError
from xtransfer.training import disk

Usage = namedtuple("Usage", "total used free")


def test_space_is_checked_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda _: Usage(10 << 30, 0, 50 << 20))
    needed = 200 << 20
    wrote = []
    with pytest.raises(UserError) as err:
        with disk.writing(tmp_path / "phase", needed, "the target checkpoint"):
            wrote.append(True)
    assert not wrote  # nothing was started
    text = str(err.value)
    assert str(tmp_path / "phase") in text and "200.0 MB" in text and "50.0 MB free" in text


def test_a_disk_that_fills_up_while_writing_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda _: Usage(10 << 30, 0, 1 << 30))
    with pytest.raises(UserError, match="needs about 1.0 KB"):
        with disk.writing(tmp_path, 1024, "the resume state"):
            raise OSError(errno.ENOSPC, "No space left on device")


def test_other_os_errors_pass_through(tmp_path):
    with pytest.raises(PermissionError):
        with disk.writing(tmp_path, 1, "x"):
            raise PermissionError(errno.EACCES, "denied")


def test_tensor_bytes_counts_element_sizes():
    tensors = [torch.zeros(10, dtype=torch.float32), torch.zeros(3, 2, dtype=torch.bfloat16)]
    assert disk.tensor_bytes(tensors) == 10 * 4 + 6 * 2
