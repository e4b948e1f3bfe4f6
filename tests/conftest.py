from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` beside the checkout; tests using it are marked `realdata`."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real benchmark data not found at {SHARED_DATA} (only CI/dev machines have it)"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Tiny random-weight checkpoints of seven encoder architectures (and ones with heads), each
    saved with its own tokenizer; built once per session (tests/tiny_checkpoints.py)."""
    from tiny_checkpoints import build_all

    return build_all(tmp_path_factory.mktemp("checkpoints"))
