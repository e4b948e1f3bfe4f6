"""`data=hub` goes through `datasets.load_dataset`; tested offline on a local copy of the Hub
repo layout (README `configs:` + parquet files), read by the very same loader code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xtransfer.data.sources import load_rows
from xtransfer.errors import UserError
from xtransfer.tasks.registry import get_task


def _write_repo(root: Path, configs: dict[str, dict[str, list[dict]]]) -> None:
    """A dataset repo as on the Hub: <config>/<split>-00000-of-00001.parquet + README configs."""
    import datasets

    lines = ["---", "configs:"]
    for config, splits in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, rows in splits.items():
            path = root / config / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            datasets.Dataset.from_list(rows).to_parquet(str(path))
            lines += [f"  - split: {split}", f"    path: {config}/{split}-*"]
    lines.append("---")
    (root / "README.md").write_text("\n".join(lines) + "\n")


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    xtreme = tmp_path / "google" / "xtreme"
    _write_repo(
        xtreme,
        {
            "PAWS-X.de": {
                "test": [
                    {"sentence1": "Der Hund", "sentence2": "Hund der", "label": "1"},
                    {"sentence1": "Die Katze", "sentence2": "Ein Baum", "label": "0"},
                ]
            },
            "XNLI": {
                "test": [
                    {"language": "de", "sentence1": "a", "sentence2": "b", "gold_label": "neutral"},
                    {
                        "language": "fr",
                        "sentence1": "c",
                        "sentence2": "d",
                        "gold_label": "entailment",
                    },
                    {
                        "language": "de",
                        "sentence1": "e",
                        "sentence2": "f",
                        "gold_label": "contradiction",
                    },
                ]
            },
        },
    )
    _write_repo(
        tmp_path / "nyu-mll" / "glue",
        {
            "mnli": {
                "train": [
                    {"premise": "p1", "hypothesis": "h1", "label": 2, "idx": 0},
                    {
                        "premise": "p2",
                        "hypothesis": "h2",
                        "label": -1,
                        "idx": 1,
                    },  # no gold label: dropped
                ]
            }
        },
    )
    return tmp_path


def test_hub_loader_reads_string_labels_per_language_config(mirror: Path):
    rows = load_rows(get_task("pawsx"), "test", "de", {"source": "hub", "mirror": str(mirror)})
    assert rows == [
        {"text_a": "Der Hund", "text_b": "Hund der", "label": 1},
        {"text_a": "Die Katze", "text_b": "Ein Baum", "label": 0},
    ]


def test_hub_loader_filters_the_language_column(mirror: Path):
    rows = load_rows(get_task("xnli"), "test", "de", {"source": "hub", "mirror": str(mirror)})
    assert [r["label"] for r in rows] == [1, 2]  # neutral, contradiction


def test_hub_loader_maps_classlabel_ints_and_drops_unlabelled(mirror: Path):
    rows = load_rows(get_task("mnli"), "train", "en", {"source": "hub", "mirror": str(mirror)})
    assert rows == [{"text_a": "p1", "text_b": "h1", "label": 2}]


def test_missing_mirror_repo_is_a_user_error(tmp_path: Path):
    with pytest.raises(UserError, match="no copy of google/xtreme"):
        load_rows(get_task("pawsx"), "test", "de", {"source": "hub", "mirror": str(tmp_path)})


def test_unknown_language_lists_the_task_languages(mirror: Path):
    with pytest.raises(UserError, match="no language 'xx'.*de"):
        load_rows(get_task("pawsx"), "test", "xx", {"source": "hub", "mirror": str(mirror)})


def test_unreachable_hub_is_one_sentence_with_a_hint(tmp_path: Path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xtransfer",
            "train",
            "data=hub",
            "intermediate=none",
            f"output_root={tmp_path}/out",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "data=embedded" in proc.stderr
