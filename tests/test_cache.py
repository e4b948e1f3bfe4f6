"""Phase cache robustness: manifests catch damaged checkpoints, dead processes leave no stale
lock, and their work directories are picked up again."""

from __future__ import annotations

import fcntl
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from xtransfer.config import register_resolvers
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.cache import MANIFEST_FILE, PhaseCache, check_manifest
from xtransfer.pipeline.run import run_pipeline


def _published(tmp_path: Path) -> tuple[PhaseCache, Path]:
    cache = PhaseCache(tmp_path / "cache")
    with cache.claim("k1") as slot:
        (slot.tmp / "encoder").mkdir(parents=True)
        (slot.tmp / "encoder" / "model.safetensors").write_bytes(b"weights" * 100)
        (slot.tmp / "phase.json").write_text('{"name": "x"}')
        (slot.resume_dir).mkdir()
        (slot.resume_dir / "state.json").write_text("{}")
        slot.commit()
    return cache, slot.final


def test_commit_publishes_a_manifest_of_every_file(tmp_path):
    cache, final = _published(tmp_path)
    manifest = json.loads((final / MANIFEST_FILE).read_text())["files"]
    assert sorted(manifest) == ["encoder/model.safetensors", "phase.json"]  # no resume state
    assert manifest["phase.json"]["size"] == len('{"name": "x"}')
    assert cache.is_complete("k1") and check_manifest(final) is None
    assert not (final.parent / ".partial-k1").exists()


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda f: f.write_bytes(b"weightz" * 100), "does not match its sha256"),
        (lambda f: f.write_bytes(b"weights" * 50), "has 350 bytes, expected 700"),
        (lambda f: f.unlink(), "is missing"),
    ],
)
def test_damaged_checkpoint_is_reported_and_removed(tmp_path, capfd, damage, problem):
    cache, final = _published(tmp_path)
    damage(final / "encoder" / "model.safetensors")
    assert problem in check_manifest(final)
    with cache.claim("k1") as slot:
        assert slot.reusable() is False
    err = capfd.readouterr().err
    assert "cached phase k1" in err and "corrupted" in err and problem in err
    assert not final.exists()


def test_phase_folder_without_manifest_is_not_complete(tmp_path):
    """A half-written or foreign folder under the key (no manifest) is never used."""
    cache = PhaseCache(tmp_path / "cache")
    (cache.path("k2") / "encoder").mkdir(parents=True)
    (cache.path("k2") / "phase.json").write_text("{}")
    assert not cache.is_complete("k2")
    with cache.claim("k2") as slot:
        assert not slot.complete and not slot.reusable()


_HOLDER = """
import sys, time
from pathlib import Path
from xtransfer.pipeline.cache import PhaseCache
with PhaseCache(Path(sys.argv[1])).claim("k3") as slot:
    slot.tmp.mkdir(parents=True)
    (slot.tmp / "progress.txt").write_text("step 7")
    print("held", flush=True)
    time.sleep(120)
"""


def test_lock_of_a_killed_process_is_released_and_its_work_is_kept(tmp_path, capfd):
    root = tmp_path / "cache"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        lock_file = root / "locks" / "k3.lock"
        with lock_file.open("a") as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # really held

        claimed = threading.Event()
        seen: list[Path] = []

        def waiter() -> None:
            with PhaseCache(root).claim("k3") as slot:
                seen.append(slot.tmp)
                claimed.set()

        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        assert not claimed.wait(1.0)  # blocked behind the live holder
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        assert claimed.wait(30), "the lock of a SIGKILLed process was not released"
        thread.join(timeout=30)
    finally:
        holder.kill()
        holder.wait()
    assert holder.returncode == -signal.SIGKILL
    assert "being trained by another process" in capfd.readouterr().err
    # The dead process's work directory is the next claimer's, to resume from.
    assert (seen[0] / "progress.txt").read_text() == "step 7"


def _cfg(output_root: Path, *overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=[f"output_root={output_root}", *overrides])


def test_run_retrains_a_corrupted_cached_phase(tmp_path, capfd):
    cfg = _cfg(tmp_path, "intermediate=none", "target=pawsx")
    first = run_pipeline(cfg, tmp_path / "run1")
    checkpoint = Path(first["phases"][0]["checkpoint"])
    heads = checkpoint / "heads.safetensors"
    data = bytearray(heads.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in a weight: same size, still loads
    heads.write_bytes(bytes(data))
    capfd.readouterr()
    second = run_pipeline(cfg, tmp_path / "run2")
    err = capfd.readouterr().err
    assert "corrupted" in err and "heads.safetensors does not match its sha256" in err
    assert second["phases"][0]["reused"] is False
    assert second["phases"][0]["key"] == first["phases"][0]["key"]
    assert second["scores"] == first["scores"]  # retrained to the same model
    assert check_manifest(checkpoint) is None
    third = run_pipeline(cfg, tmp_path / "run3")
    assert third["phases"][0]["reused"] is True


def test_phase_that_only_lost_its_manifest_is_verified_and_kept(tmp_path, capfd):
    """The manifest's record outside the folder vouches for every file (all hashed)."""
    cache, final = _published(tmp_path)
    original = (final / MANIFEST_FILE).read_bytes()
    (final / MANIFEST_FILE).unlink()
    assert cache.is_complete("k1")
    with cache.claim("k1") as slot:
        assert slot.reusable() is True
    assert "had lost its manifest.json" in capfd.readouterr().err
    assert (final / MANIFEST_FILE).read_bytes() == original  # restored


def test_lost_manifest_and_a_damaged_file_is_retrained(tmp_path, capfd):
    cache, final = _published(tmp_path)
    (final / MANIFEST_FILE).unlink()
    (final / "phase.json").write_text('{"name": "y"}')  # same size, other content
    assert not cache.is_complete("k1")  # the record is always checked with hashes
    with cache.claim("k1") as slot:
        assert slot.reusable() is False
    assert "phase.json does not match its sha256" in capfd.readouterr().err
    assert not final.exists()


def test_read_only_cache_reuses_a_complete_phase_without_a_lock(tmp_path, monkeypatch):
    import errno

    from xtransfer.errors import UserError
    from xtransfer.pipeline import cache as cache_module

    cache, final = _published(tmp_path)

    def read_only(path):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(cache_module, "open_lock", read_only)
    with cache.claim("k1") as slot:
        assert slot.complete and slot.reusable()
    with pytest.raises(UserError, match="phase k9 is not in the cache and the cache cannot"):
        with cache.claim("k9"):
            pass


_READ_ONLY_REUSE = """
import sys
from pathlib import Path
from xtransfer.pipeline.cache import PhaseCache
with PhaseCache(Path(sys.argv[1])).claim("k1") as slot:
    print("reusable", slot.reusable(), flush=True)
"""


def _can_mount() -> bool:
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount(), reason="needs unshare -m to mount a read-only view")
@pytest.mark.parametrize("with_locks", [True, False])
def test_really_read_only_cache_is_reused(tmp_path, with_locks):
    """A read-only bind mount of a complete cache, with its lock files (opened read-only for
    flock) or without (no lock can be made: reused without one)."""
    import shutil

    _, final = _published(tmp_path)
    if not with_locks:
        shutil.rmtree(tmp_path / "cache" / "locks")
    view = tmp_path / "view"
    view.mkdir()
    script = (
        f"mount --bind -o ro {tmp_path / 'cache'} {view} && "
        f"{sys.executable} -c '{_READ_ONLY_REUSE}' {view}"
    )
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "reusable True" in proc.stdout
