"""Reading one split of one task in one language from the configured data source.

Every source returns rows with the task's canonical columns (``text_a``, ``text_b``, ``label``
...), mapped from the source's own column names by the catalogue's ``columns`` entry, so task
formats never see source-specific names. The embedded demo data mirrors the Hub layout
(``<root>/<owner>__<name>/<config>/<split>.jsonl``), so one catalogue entry serves both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xtransfer.errors import UserError
from xtransfer.tasks.registry import TaskSpec


def _split_spec(task: TaskSpec, split: str) -> dict[str, Any]:
    splits = task.raw.get("splits") or {}
    if split not in splits:
        raise UserError(
            f"task {task.name!r} has no {split!r} split "
            f"(available: {', '.join(sorted(splits)) or 'none'})"
        )
    return splits[split]


def _check_language(task: TaskSpec, lang: str) -> None:
    known = {code for codes in task.languages.values() for code in codes}
    if lang not in known:
        raise UserError(
            f"task {task.name!r} has no language {lang!r} (it has: {', '.join(sorted(known))})"
        )


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise UserError(f"{path}:{line_no}: malformed JSON line ({err.msg})") from None
    return rows


def _embedded_path(hub: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> Path:
    """``<root>/<owner>__<name>/<config>/<split>.jsonl``: the Hub layout, flattened."""
    config_name = str(hub.get("name") or "default").format(lang=lang)
    repo_dir = Path(data_cfg["root"]) / hub["path"].replace("/", "__")
    return repo_dir / config_name / f"{hub['split']}.jsonl"


def _load_embedded(hub: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> tuple:
    path = _embedded_path(hub, lang, data_cfg)
    if not path.is_file():
        raise UserError(f"embedded demo data file not found: {path}")
    return _read_jsonl(path), str(path)


def _load_hub(hub: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> tuple:
    import datasets

    repo = hub["path"]
    config_name = str(hub["name"]).format(lang=lang) if hub.get("name") else None
    mirror = data_cfg.get("mirror")
    location = str(Path(mirror) / repo) if mirror else repo
    where = f"{location} (config {config_name}, split {hub['split']})"
    if mirror and not Path(location).is_dir():
        raise UserError(f"data.mirror has no copy of {repo}: {location} not found")
    try:
        dataset = datasets.load_dataset(
            location, config_name, split=hub["split"], revision=hub.get("revision")
        )
    except Exception as err:  # the network, the Hub and datasets raise many unrelated types
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise UserError(
            f"could not load {where}: {type(err).__name__}: {first_line[:300]}. "
            "If the Hugging Face Hub is unreachable, use data=embedded for the offline demo "
            "or data.mirror=DIR with a local copy of the Hub repos."
        ) from None
    return dataset.to_list(), where


_LOADERS = {"embedded": _load_embedded, "hub": _load_hub}


def _to_label_id(value: Any, labels: list[str], where: str, row_no: int) -> int | None:
    """Maps a source label (ClassLabel int or label string) to its index; None = unlabelled."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        if value == -1:  # GLUE/SNLI convention for "no gold label"
            return None
        if 0 <= value < len(labels):
            return value
    elif isinstance(value, str):
        text = value.strip()
        if text in labels:
            return labels.index(text)
        if text == "" or text == "-":
            return None
    raise UserError(f"{where}: row {row_no}: label {value!r} is not one of {labels}")


def load_rows(
    task: TaskSpec, split: str, lang: str, data_cfg: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Rows of ``split`` of ``task`` in ``lang``, with canonical columns and integer labels.

    Unlabelled rows (label -1 or empty) are dropped: they cannot be trained on or scored.
    """
    _check_language(task, lang)
    spec = _split_spec(task, split)
    source = data_cfg["source"]
    if source not in _LOADERS:
        raise UserError(f"unknown data source {source!r}; known: {', '.join(_LOADERS)}")
    # The embedded demo data mirrors the Hub repos, so both read the `hub` entry of the split.
    if "hub" not in spec:
        raise UserError(f"task {task.name!r} has no {source} source for split {split!r}")
    raw_rows, where = _LOADERS[source](spec["hub"], lang, data_cfg)
    language_column = spec["hub"].get("language_column")
    if language_column:
        raw_rows = [row for row in raw_rows if row.get(language_column) == lang]
    columns: dict[str, str] = task.raw.get("columns") or {}
    rows = []
    for row_no, raw in enumerate(raw_rows, start=1):
        missing = [src for src in columns.values() if src not in raw]
        if missing:
            raise UserError(f"{where}: row {row_no} lacks column(s) {', '.join(missing)}")
        row = {canonical: raw[src] for canonical, src in columns.items()}
        if "label" in row and task.labels is not None:
            row["label"] = _to_label_id(row["label"], task.labels, where, row_no)
            if row["label"] is None:
                continue
        rows.append(row)
    if not rows:
        raise UserError(f"{where}: no {lang} rows in split {split!r} of task {task.name!r}")
    return rows


def data_identity(
    task: TaskSpec, split: str, lang: str, data_cfg: Mapping[str, Any]
) -> dict[str, Any]:
    """What determines the rows of a split: part of every phase's content key."""
    spec = _split_spec(task, split)["hub"]
    ident: dict[str, Any] = {
        "source": data_cfg["source"],
        "path": spec["path"],
        "name": str(spec.get("name") or "").format(lang=lang),
        "split": spec["split"],
        "revision": spec.get("revision"),
        "lang": lang,
        "columns": task.raw.get("columns"),
        "labels": task.labels,
    }
    if data_cfg["source"] == "embedded":
        path = _embedded_path(spec, lang, data_cfg)
        ident["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else None
    elif data_cfg.get("mirror"):
        ident["mirror"] = str(data_cfg["mirror"])
    return ident
