"""`xtransfer score` end to end in a subprocess: output formats, --strict, --tasks, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from xtransfer.tasks.registry import get_task


def _score(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xtransfer", "score", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("xtransfer score: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert proc.stdout == ""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def xnli_folder(tmp_path: Path) -> Path:
    for lang in get_task("xnli").languages_for("xtreme"):
        _write(tmp_path / f"predictions/xnli/test-{lang}.tsv", "neutral\nneutral\n")
        _write(tmp_path / f"labels/xnli/test-{lang}.tsv", "neutral\nentailment\n")
    return tmp_path


def test_help_works() -> None:
    proc = _score("--help")
    assert proc.returncode == 0
    assert "--predictions" in proc.stdout and "--strict" in proc.stdout


def test_json_output_and_missing_warning(xnli_folder: Path) -> None:
    proc = _score("--predictions", xnli_folder / "predictions", "--labels", xnli_folder / "labels")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) == {"overall_scores", "detailed_scores", "missing"}
    assert result["detailed_scores"]["xnli"]["avg_metric"] == 50.0
    assert result["overall_scores"] == {}
    assert "pawsx" in result["missing"]
    assert "warning: pawsx: no prediction or label file for 7 language(s)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_tasks_and_table(xnli_folder: Path) -> None:
    proc = _score(
        "--predictions",
        xnli_folder / "predictions",
        "--labels",
        xnli_folder / "labels",
        "--tasks",
        "xnli",
        "--format",
        "table",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # the only selected task is complete: nothing to warn about
    assert "XTREME scores" in proc.stdout
    assert "xnli            50.00" in proc.stdout
    assert "xnli accuracy: ar 50.00" in proc.stdout


def test_strict_missing_language_is_an_error(xnli_folder: Path) -> None:
    (xnli_folder / "predictions/xnli/test-sw.tsv").unlink()
    proc = _score(
        "--predictions",
        xnli_folder / "predictions",
        "--labels",
        xnli_folder / "labels",
        "--tasks",
        "xnli",
        "--strict",
    )
    _assert_one_line_error(proc, "--strict", "xnli: sw")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("neutral\n", "1 lines but"),  # count mismatch
        ("", "empty prediction file"),
    ],
)
def test_file_errors_are_one_line(xnli_folder: Path, content: str, fragment: str) -> None:
    _write(xnli_folder / "predictions/xnli/test-de.tsv", content)
    proc = _score("--predictions", xnli_folder / "predictions", "--labels", xnli_folder / "labels")
    _assert_one_line_error(proc, "test-de.tsv", fragment)


def test_malformed_json_and_question_without_answers(tmp_path: Path) -> None:
    qa = {"id": "q1", "answers": []}
    labels = {"data": [{"paragraphs": [{"context": "c", "qas": [qa]}]}]}
    _write(tmp_path / "labels/xquad/test-en.json", json.dumps(labels))
    _write(tmp_path / "predictions/xquad/test-en.json", '{"q1": ')
    args = ("--predictions", tmp_path / "predictions", "--labels", tmp_path / "labels")
    _assert_one_line_error(_score(*args, "--tasks", "xquad"), "test-en.json", "malformed JSON")
    _write(tmp_path / "predictions/xquad/test-en.json", '{"q1": "a"}')
    _assert_one_line_error(
        _score(*args, "--tasks", "xquad"), "labels/xquad/test-en.json", "no gold answers"
    )


def test_bad_arguments(tmp_path: Path) -> None:
    proc = _score("--predictions", tmp_path / "nope", "--labels", tmp_path)
    _assert_one_line_error(proc, "does not exist")
    proc = _score("--predictions", tmp_path, "--labels", tmp_path, "--tasks", "xnli,nope")
    _assert_one_line_error(proc, "nope not in benchmark xtreme")
    proc = _score("--predictions", tmp_path, "--labels", tmp_path, "--tasks", "xquad")
    _assert_one_line_error(proc, "nothing to score", "xquad/test-en.json")
    proc = _score("--predictions", tmp_path, "--labels", tmp_path, "--benchmark", "glue")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr  # argparse's own message


def test_does_not_import_torch_or_transformers(xnli_folder: Path) -> None:
    code = (
        "import sys\n"
        "from xtransfer.cli import main\n"
        f"rc = main(['score', '--predictions', {str(xnli_folder / 'predictions')!r}, "
        f"'--labels', {str(xnli_folder / 'labels')!r}, '--format', 'table'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers'))\n"
        "assert rc == 0 and not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.realdata
def test_mock_submission_all_task(shared_data: Path) -> None:
    mock = shared_data / "xtreme-mock"
    proc = _score("--predictions", mock / "predictions", "--labels", mock / "labels", "--strict")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert f"{result['overall_scores']['all_task']:.4f}" == "62.1732"
    assert f"{result['detailed_scores']['udpos']['avg_f1']:.4f}" == "70.2175"
    table = _score(
        "--predictions", mock / "predictions", "--labels", mock / "labels", "--format", "table"
    )
    assert table.returncode == 0
    assert "all_task         62.17" in table.stdout


@pytest.mark.realdata
def test_mock_submission_xtreme_r_strict_fails(shared_data: Path) -> None:
    mock = shared_data / "xtreme-mock"
    proc = _score(
        "--predictions", mock / "predictions", "--labels", mock / "labels",
        "--benchmark", "xtreme-r", "--strict",
    )  # fmt: skip
    # the mock has no XCOPA/LAReQA and not the XTREME-R-only languages
    _assert_one_line_error(proc, "--strict", "xcopa:", "udpos: lt pl uk wo ro")
