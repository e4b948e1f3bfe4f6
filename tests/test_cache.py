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
