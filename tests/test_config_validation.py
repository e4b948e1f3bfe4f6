"""Every value is validated before any data is loaded (issue 14): one line naming the key, the
value and what is allowed, exit status 2, no phase trained."""

from __future__ import annotations

import subprocess
import sys

import pytest

from xtransfer.config_schema import problems


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xtransfer", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("override", "allowed"),
    [
        ("trainer.lr=abc", "a number > 0"),
        ("trainer.lr=-1", "a number > 0"),
        ("seed=abc", "an integer >= 0"),
        ("trainer.grad_accum=0", "an integer >= 1"),
        ("trainer.eval_batch_size=0", "an integer >= 1"),
        ("trainer.precision=fp8", "auto | fp32 | no | bf16 | fp16"),
        ("target.epochs=one", "an integer >= 1"),
        ("target.batch_size=0", "an integer >= 1"),
        ("target.epochs=0", "an integer >= 1"),
        ("trainer.max_train_examples=0", "an integer >= 1 or null"),
        ("target.max_length=0", "an integer >= 8"),
        ("intermediate.tasks.mnli.batch_size=-4", "an integer >= 1"),
    ],
)
def test_bad_value_is_one_line_before_training(tmp_path, override, allowed, capsys):
    # In process (the dispatcher as the shell calls it); the subprocess path is tested below.
    from xtransfer.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["train", f"output_root={tmp_path}", override])
    out, err = capsys.readouterr()
    assert stop.value.code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    line = err.strip()
    key, value = override.split("=")
    assert key in line and value in line and allowed in line, line
    phases = tmp_path / "cache" / "phases"
    assert not phases.exists() or not any(phases.iterdir())
    assert "training" not in out


def test_bad_value_from_the_shell(tmp_path):
    line = _one_line_error(_cli("train", f"output_root={tmp_path}", "trainer.lr=abc"))
    assert (
        line
        == "xtransfer train: error: invalid config value trainer.lr='abc': must be a number > 0"
    )


def test_evaluate_without_a_checkpoint(tmp_path):
    line = _one_line_error(_cli("evaluate", "target=xnli", f"output_root={tmp_path}"))
    assert "checkpoint=" in line and "required" in line


def test_non_utf8_user_task_names_file_and_line(tmp_path):
    folder = tmp_path / "xtransfer_tasks"
    folder.mkdir()
    (folder / "mine.yaml").write_bytes(b"name: mine\nformat: classification\n# caf\xe9\n")
    line = _one_line_error(_cli("tasks", cwd=tmp_path))
    assert "mine.yaml:3" in line and "UTF-8" in line


def test_a_broken_user_task_file_does_not_block_packaged_work(tmp_path):
    folder = tmp_path / "xtransfer_tasks"
    folder.mkdir()
    (folder / "broken.yaml").write_text("name: broken\nformat: [\n")
    proc = _cli("plan", f"output_root={tmp_path / 'out'}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "broken.yaml" in proc.stderr  # said once, as a warning
    # A command that needs the user's tasks names the file.
    line = _one_line_error(_cli("tasks", cwd=tmp_path))
    assert "broken.yaml:" in line


def test_non_utf8_data_file_names_file_and_line(tmp_path):
    from xtransfer.data.readers import read_jsonl, read_tsv
    from xtransfer.errors import UserError

    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_bytes(b'{"a": "x"}\n{"a": "\xff"}\n')
    with pytest.raises(UserError, match=r"rows.jsonl:2: not UTF-8"):
        read_jsonl(jsonl)
    tsv = tmp_path / "rows.tsv"
    tsv.write_bytes(b"a\tb\nx\ty\n\xc3(\tz\n")
    with pytest.raises(UserError, match=r"rows.tsv:3: not UTF-8"):
        read_tsv(tsv)


def test_valid_defaults_and_presets_have_no_problems():
    from hydra import compose, initialize_config_dir

    from xtransfer.config import register_resolvers
    from xtransfer.hydra_app import CONFIG_DIR

    register_resolvers()
    for overrides in ([], ["trainer=xstilts"], ["trainer=xtreme", "target=xquad"]):
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            assert problems(compose("config", overrides=overrides)) == [], overrides


def test_every_problem_is_reported_at_once():
    found = problems({"seed": 1, "trainer": {"lr": "x", "grad_accum": 0, "dropout": 1.5}})
    assert len(found) == 3
    assert any(line.startswith("trainer.dropout=1.5") for line in found)


def test_batch_size_must_split_into_micro_batches():
    found = problems(
        {"trainer": {"grad_accum": 3}, "target": {"train": {"task": "x"}, "batch_size": 32}}
    )
    assert found == [
        "target.batch_size=32 is not a multiple of trainer.grad_accum=3 "
        "(micro-batches of batch_size / grad_accum examples)"
    ]


def test_numbers_and_booleans_do_not_pass_for_each_other():
    assert problems({"trainer": {"fused_adamw": 1}})
    assert problems({"trainer": {"grad_accum": True}})
    assert not problems({"trainer": {"lr": "2e-5", "grad_accum": 2.0}})
