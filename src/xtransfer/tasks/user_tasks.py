"""Tasks declared by the user: one YAML file per task, no Python change.

Where they are found (in this order; a name may be declared once):

* every folder in the ``XTRANSFER_TASKS`` environment variable (``os.pathsep``-separated);
* ``./xtransfer_tasks/`` in the working directory, when it exists.

A declaration is a catalogue entry (same keys as ``catalogue/*.yaml``) with friendlier defaults:
``languages`` may be a plain list, ``metric`` defaults to the format's, and a split may name its
own data file (``file: PATH``, relative to the YAML file, ``{lang}`` expanded), which is then
read under every ``data=`` choice. Optional ``intermediate:`` and ``target:`` sections give the
settings of the Hydra group options ``intermediate=<name>`` and ``target=<name>``, which are
generated from the declaration (nothing to write under ``conf/``).

Validation happens when the file is read: an unknown format, a missing column mapping or a
malformed split names the file and the line of the offending key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from xtransfer.data.readers import read_utf8
from xtransfer.errors import UserError
from xtransfer.tasks.formats.contracts import contract_for

ENV_VAR = "XTRANSFER_TASKS"
LOCAL_DIR = "xtransfer_tasks"

# Canonical columns a format reads from every row (the `columns` map must provide them).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "classification": ("text_a", "label"),
    "tagging": ("tokens", "label"),
    "span_qa": ("id", "context", "question", "answers"),
    "multiple_choice": ("label",),
    "dual_encoder_retrieval": ("query", "candidate"),
}
# Formats whose labels are a closed list the rows are checked against.
NEEDS_LABELS = ("classification", "tagging")
SOURCE_KEYS = ("file", "hub", "xtreme_dir", "local")
INTERMEDIATE_DEFAULTS = {"epochs": 3, "max_length": 128, "batch_size": 32}
TARGET_DEFAULTS = {"epochs": 3, "max_length": 128, "batch_size": 32}


def task_dirs() -> list[Path]:
    """The folders user tasks are read from (see the module docstring)."""
    dirs: list[Path] = []
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if not entry.strip():
            continue
        path = Path(entry).expanduser()
        if not path.is_dir():
            raise UserError(f"{ENV_VAR} names {entry!r}, which is not a folder")
        dirs.append(path.resolve())
    local = Path.cwd() / LOCAL_DIR
    if local.is_dir() and local.resolve() not in dirs:
        dirs.append(local.resolve())
    return dirs


def task_files(dirs: list[Path]) -> list[Path]:
    return [p for d in dirs for p in sorted([*d.glob("*.yaml"), *d.glob("*.yml")])]


def _key_lines(path: Path, text: str) -> dict[str, int]:
    """1-based line of every top-level key, and of ``key.sub`` for one level below it."""
    lines: dict[str, int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        lines[str(key.value)] = key.start_mark.line + 1
        if isinstance(value, yaml.MappingNode):
            for sub, _ in value.value:
                lines[f"{key.value}.{sub.value}"] = sub.start_mark.line + 1
    return lines


class _Checker:
    """Raises UserErrors that point at ``file:line`` of a declaration."""

    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, _key_lines(path, text)

    def fail(self, key: str | None, message: str) -> None:
        line = self.lines.get(key or "") or self.lines.get((key or "").split(".")[0])
        where = f"{self.path}:{line}" if line else str(self.path)
        raise UserError(f"{where}: {message}")


def _known_formats() -> list[str]:
    from xtransfer.tasks.formats import FORMATS  # a plain dict: no torch import

    return sorted(FORMATS)


def parse_user_task(path: Path) -> dict[str, Any]:
    """The validated catalogue entry of one user task file (paths made absolute)."""
    text = read_utf8(path)
    check = _Checker(path, text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise UserError(f"{where}: not valid YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a task declaration is a mapping (name:, format:, ...)")
    for key in ("name", "format", "languages", "splits"):
        if key not in data:
            check.fail(None, f"task declaration lacks `{key}:`")
    name = str(data["name"])
    if not name.replace("_", "").replace("-", "").isalnum():
        check.fail("name", f"task name {name!r} may only hold letters, digits, _ and -")
    fmt = str(data["format"])
    if fmt not in _known_formats():
        check.fail("format", f"unknown format {fmt!r}; known: {', '.join(_known_formats())}")
    # The format's default metric (its contract), or one the format's files can be scored by.
    allowed = contract_for(fmt).metrics
    data.setdefault("metric", allowed[0])
    if data["metric"] not in allowed:
        check.fail(
            "metric",
            f"metric {data['metric']!r} cannot score format {fmt!r}; choose one of "
            f"{', '.join(allowed)}",
        )

    languages = data["languages"]
    if isinstance(languages, list | tuple):
        languages = {"languages": list(languages)}
    if not isinstance(languages, Mapping) or not all(
        isinstance(v, list | tuple) and v for v in languages.values()
    ):
        check.fail("languages", "`languages:` is a list of language codes (e.g. [en, de])")
    data["languages"] = {str(k): [str(c) for c in v] for k, v in languages.items()}

    labels = data.get("labels")
    if fmt in NEEDS_LABELS and not labels:
        check.fail(None, f"format {fmt} needs `labels:` (the list of label names)")
    if labels is not None:
        if not isinstance(labels, list) or len(set(map(str, labels))) != len(labels):
            check.fail("labels", "`labels:` is a list of distinct label names")
        data["labels"] = [str(x) for x in labels]

    columns = data.get("columns") or {}
    if not isinstance(columns, Mapping):
        check.fail("columns", "`columns:` maps canonical names to your file's column names")
    missing = [c for c in REQUIRED_COLUMNS.get(fmt, ()) if c not in columns]
    if missing:
        check.fail(
            "columns",
            f"format {fmt} needs column(s) {', '.join(missing)} in `columns:` "
            f"(canonical name: your column name)",
        )

    splits = data["splits"]
    if not isinstance(splits, Mapping) or not splits:
        check.fail("splits", "`splits:` maps split names (train, validation, test) to data")
    for split, entry in splits.items():
        if isinstance(entry, str):  # shorthand: `train: data/train.jsonl`
            entry = splits[split] = {"file": entry}
        if not isinstance(entry, Mapping) or not any(k in entry for k in SOURCE_KEYS):
            check.fail(
                f"splits.{split}",
                f"split {split!r} needs a data source: file: PATH (or hub:/local:/xtreme_dir:)",
            )
        if "file" in entry:
            file = Path(str(entry["file"]))
            entry["file"] = str(file if file.is_absolute() else (path.parent / file).resolve())
    for section in ("intermediate", "target"):
        if data.get(section) is not None and not isinstance(data[section], Mapping):
            check.fail(section, f"`{section}:` holds settings (epochs, max_length, batch_size)")
    data["_file"] = str(path)
    return data


def intermediate_node(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``intermediate/<name>`` group option: the task trained on its English train split."""
    if "train" not in data["splits"]:
        return None
    settings = {**INTERMEDIATE_DEFAULTS, **dict(data.get("intermediate") or {})}
    return {"tasks": {data["name"]: {k: settings[k] for k in INTERMEDIATE_DEFAULTS}}}


def target_node(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``target/<name>`` group option: trained on the task's own train split, selected on
    its validation split (when it has one), scored on ``test`` in every language."""
    name, splits = data["name"], data["splits"]
    known = [code for codes in data["languages"].values() for code in codes]
    lang = "en" if "en" in known else known[0]  # the training language of zero-shot transfer
    cfg = dict(data.get("target") or {})
    test_split = cfg.pop("test_split", "test")
    if test_split not in splits:
        return None
    node: dict[str, Any] = {"name": name, "task": name, "test_split": test_split}
    if "train" in cfg:
        node["train"] = cfg.pop("train")
    elif "train" in splits:
        node["train"] = {"task": name, "split": "train", "lang": lang}
    if "dev" in cfg:
        node["dev"] = cfg.pop("dev")
    else:
        node["dev"] = (
            {"task": name, "split": "validation", "lang": lang} if "validation" in splits else None
        )
    node.update({**TARGET_DEFAULTS, **cfg})
    return node
