"""Blanked gold is refused: XTREME's download_data.sh writes the XCOPA test files with every
label set to 0 (docs/hub-schemas.md Corrections 9); such a file is built here from the real
XCOPA release files in ../shared/data/xcopa the way that script leaves them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xtransfer.data.sources import load_rows
from xtransfer.errors import UserError
from xtransfer.tasks.registry import get_task

pytestmark = pytest.mark.realdata


@pytest.fixture
def xcopa_dir(shared_data: Path) -> Path:
    path = shared_data / "xcopa"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


def _xtreme_download(xcopa_dir: Path, root: Path, lang: str) -> Path:
    """xcopa/test-<lang>.jsonl as XTREME's download leaves it: the release rows, label 0."""
    rows = [json.loads(line) for line in (xcopa_dir / lang / f"test.{lang}.jsonl").open()]
    out = root / "xcopa" / f"test-{lang}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps({**r, "label": 0}) + "\n" for r in rows), "utf-8")
    return out


def test_xtreme_download_xcopa_test_is_refused_in_one_line(xcopa_dir, tmp_path):
    blanked = _xtreme_download(xcopa_dir, tmp_path, "et")
    with pytest.raises(UserError) as err:
        load_rows(get_task("xcopa"), "test", "et", {"source": "xtreme_dir", "root": str(tmp_path)})
    message = str(err.value)
    assert "\n" not in message
    assert str(blanked) in message and "'choice1'" in message
    assert "data.files.xcopa.test" in message and "data=hub" in message


def test_the_release_files_with_their_gold_load(xcopa_dir):
    data = {
        "source": "local",
        "files": {"xcopa": {"test": str(xcopa_dir / "{lang}" / "test.{lang}.jsonl")}},
    }
    rows = load_rows(get_task("xcopa"), "test", "et", data)
    assert len(rows) == 500 and {r["label"] for r in rows} == {0, 1}
    # Validation (not blanked by XTREME) is never refused.
    val = {
        "source": "local",
        "files": {"xcopa": {"validation": str(xcopa_dir / "et/val.et.jsonl")}},
    }
    assert len(load_rows(get_task("xcopa"), "validation", "et", val)) == 100
