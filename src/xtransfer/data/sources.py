"""Reading one split of one task in one language from the configured data source.

Every source returns rows with the task's canonical columns (``text_a``, ``text_b``, ``label``
...), mapped from the source's own column names by the catalogue's ``columns`` entry, so task
formats never see source-specific names. The embedded demo data mirrors the Hub layout
(``<root>/<owner>__<name>/<config>/<split>.jsonl``), so one catalogue entry serves both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xtransfer.data.gold_checks import refuse_blanked_gold
from xtransfer.data.hub import HubSplit, load_split, pinned_revision, probe, resolve_revision
from xtransfer.data.readers import read_file, read_jsonl
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


def _check_language(task: TaskSpec, lang: str, spec: Mapping[str, Any] | None = None) -> None:
    # A split may list its own languages (translate-train data of an English-only task).
    declared = (spec or {}).get("languages")
    known = set(declared) if declared else {c for codes in task.languages.values() for c in codes}
    if lang not in known:
        raise UserError(
            f"task {task.name!r} has no language {lang!r} (it has: {', '.join(sorted(known))})"
        )


def _expand(template: Any, lang: str, names: Mapping[str, str] | None) -> str:
    """Fills ``{lang}`` (the ISO code) and ``{language}`` (the source's own name for it, from
    the catalogue's ``language_names``: udpos.German, tatoeba.deu)."""
    return str(template).format(lang=lang, language=(names or {}).get(lang, lang))


def _embedded_entry(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """The demo file's place: the hub entry (the demo mirrors the Hub repos), with the
    ``embedded`` entry's keys over it where the demo's layout differs (the parquet-branch
    entries of Mewsli-X, a split the Hub names otherwise, a task that is not on the Hub)."""
    hub = {k: v for k, v in (spec.get("hub") or {}).items() if k not in ("by_lang", "absent")}
    merged = {**hub, **(spec.get("embedded") or {})}
    if "path" not in merged:
        raise UserError(f"task {spec['_task']!r} has no embedded demo data for {spec['_split']!r}")
    return merged


def _embedded_path(entry: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> Path:
    """``<root>/<owner>__<name>/<config>/<split>.jsonl``: the Hub layout, flattened."""
    config_name = _expand(entry.get("name") or "default", lang, entry.get("language_names"))
    repo_dir = Path(data_cfg["root"]) / entry["path"].replace("/", "__")
    return repo_dir / config_name / f"{entry['split']}.jsonl"


def _load_embedded(spec: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> tuple:
    path = _embedded_path(_embedded_entry(spec), lang, data_cfg)
    if not path.is_file():
        raise UserError(
            f"embedded demo data file not found: {path} (the demo has no {lang} data for "
            f"{spec['_task']} {spec['_split']}; data=hub, xtreme_dir or local may have it)"
        )
    return read_jsonl(path), str(path)


def hub_entry(spec: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The hub entry that serves ``lang``: ``by_lang`` replaces keys for languages another repo
    holds (XQuAD ro: google/xquad); a language in ``absent`` has no real Hub source and is
    refused with the way to supply it."""
    hub = dict(_source_entry(spec, "hub"))
    if hub.get("not_on_hub"):
        raise UserError(
            f"{spec['_task']} {spec['_split']}: {hub['not_on_hub']} Use data=embedded, or "
            f"data=local data.files.{spec['_task']}.{spec['_split']}=PATH"
        )
    absent = hub.pop("absent", None) or []
    if lang in absent:
        config = _expand(hub.get("name") or hub.get("files") or "", lang, _names(hub, spec))
        fix = hub.get("absent_fix") or (
            f"data=local data.files.{spec['_task']}.{spec['_split']}=PATH ({{lang}} expands), "
            "or data=xtreme_dir with the XTREME-R download"
        )
        raise UserError(
            f"{spec['_task']} {spec['_split']}: no Hub source has {lang} ({hub['path']} has no "
            f"config {config}); supply the files: {fix}"
        )
    override = (hub.pop("by_lang", None) or {}).get(lang)
    if override:
        hub = {**hub, **override}
    return hub


def _names(entry: Mapping[str, Any], spec: Mapping[str, Any]) -> Mapping[str, str] | None:
    return entry.get("language_names") or spec.get("_names")


def hub_split(task: TaskSpec, split: str, lang: str, data_cfg: Mapping[str, Any]) -> HubSplit:
    """Where ``split`` of ``task`` in ``lang`` lives on the Hub (or in ``data.mirror``)."""
    spec = _with_context(task, split, _split_spec(task, split))
    return _hub_split(spec, lang, data_cfg)


def _hub_split(spec: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> HubSplit:
    hub = hub_entry(spec, lang)
    names = _names(hub, spec)
    repo = str(hub["path"])
    return HubSplit(
        repo=repo,
        config=_expand(hub["name"], lang, names) if hub.get("name") else None,
        split=_expand(hub["split"], lang, names),
        revision=pinned_revision(repo, data_cfg) or hub.get("revision"),
        files=_expand(hub["files"], lang, names) if hub.get("files") else None,
        mirror=str(data_cfg["mirror"]) if data_cfg.get("mirror") else None,
        task=str(spec["_task"]),
        task_split=str(spec["_split"]),
    )


def _load_hub(spec: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> tuple:
    ref = _hub_split(spec, lang, data_cfg)
    # Read the commit that the data identity records, so the rows are the ones identified.
    return load_split(ref, resolve_revision(ref)), ref.where


def _load_file(path: Path, reader: str | None, where_hint: str) -> tuple:
    if not path.is_file():
        raise UserError(f"data file not found: {path} ({where_hint})")
    return read_file(path, reader), str(path)


def _xtreme_dir_path(spec: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> Path:
    """A folder written by XTREME's download_data.sh (docs/xtreme-download-layout.md)."""
    entry = _source_entry(spec, "xtreme_dir")
    if not data_cfg.get("root"):
        raise UserError("data=xtreme_dir needs data.root=PATH (the XTREME download folder)")
    names = entry.get("language_names") or spec.get("_names")
    return Path(data_cfg["root"]) / _expand(entry["path"], lang, names)


def _load_xtreme_dir(spec: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> tuple:
    path = _xtreme_dir_path(spec, lang, data_cfg)
    return _load_file(path, spec["xtreme_dir"].get("reader"), "data=xtreme_dir")


def _local_path(spec: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> Path:
    """User files in original formats: data.files.<task>.<split>=PATH (``{lang}`` expands)."""
    task, split = spec["_task"], spec["_split"]
    files = data_cfg.get("files") or {}
    pattern = (files.get(task) or {}).get(split)
    if not pattern:
        raise UserError(
            f"data=local has no file for {task} {split}: set data.files.{task}.{split}=PATH "
            "(SQuAD JSON, CoNLL-U, TSV or JSONL; {lang} in the path is replaced)"
            + (" or data.ud_root=DIR (a UD release folder)" if task == "udpos" else "")
        )
    return Path(_expand(pattern, lang, spec.get("_names")))


def _ud_release_split(spec: Mapping[str, Any], data_cfg: Mapping[str, Any]) -> bool:
    """A UD-POS split built from a UD release folder (data.ud_root), i.e. no data.files entry."""
    if not (spec.get("local") or {}).get("ud_release"):
        return False
    named = ((data_cfg.get("files") or {}).get(spec["_task"]) or {}).get(spec["_split"])
    return not named and bool(data_cfg.get("ud_root") or data_cfg.get("ud_root_v27"))


def _load_local(spec: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> tuple:
    if (spec.get("local") or {}).get("ud_release"):
        from xtransfer.data import ud_xtreme

        if _ud_release_split(spec, data_cfg):
            return ud_xtreme.load_ud_release(data_cfg, spec["_split"], lang)
        path = _local_path(spec, lang, data_cfg)
        if not path.is_file():
            raise UserError(f"data file not found: {path} (data=local)")
        # One named CoNLL-U file: data.udpos.words says how multiword tokens are read.
        mode = ud_xtreme.word_mode(data_cfg, default="syntactic")
        return ud_xtreme.read_file_rows(path, lang, mode), str(path)
    path = _local_path(spec, lang, data_cfg)
    return _load_file(path, (spec.get("local") or {}).get("reader"), "data=local")


def _task_file_path(spec: Mapping[str, Any], lang: str) -> Path:
    """A split that names its own file (user tasks: ``file: PATH``, ``{lang}`` expanded)."""
    return Path(_expand(spec["file"], lang, spec.get("_names")))


def _load_task_file(spec: Mapping[str, Any], lang: str, data_cfg: Mapping[str, Any]) -> tuple:
    from xtransfer.data.task_files import read_task_file

    path = _task_file_path(spec, lang)
    return read_task_file(path, spec.get("reader")), str(path)


_LOADERS = {
    "embedded": _load_embedded,
    "hub": _load_hub,
    "xtreme_dir": _load_xtreme_dir,
    "local": _load_local,
}


def _source_entry(spec: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    if source not in spec:
        raise UserError(
            f"task {spec['_task']!r} has no {source} source for split {spec['_split']!r}"
        )
    return spec[source]


def _to_label_id(value: Any, labels: list[str], at: str, names_only: bool = False) -> int | None:
    """Maps a source label (ClassLabel int or label string) to its index; None = unlabelled.

    ``names_only`` (a user task's own files): the label must be written as one of the declared
    names; a number would be read as an index into the list, silently, so it is refused."""
    if names_only and not isinstance(value, str):
        raise UserError(
            f"{at}: label {value!r} is not a label name; write one of {labels} "
            "(numbers are not read as positions in a user task's files)"
        )
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
    raise UserError(f"{at}: label {value!r} is not one of {labels}")


def _to_tag_id(value: Any, labels: list[str], at: str, names_only: bool = False) -> int:
    tag = _to_label_id(value, labels, at, names_only)
    if tag is None:
        raise UserError(f"{at}: tag {value!r} is not one of {labels}")
    return tag


def _concat_parts(task: TaskSpec, spec: Mapping[str, Any]) -> list[tuple[TaskSpec, str]]:
    """The (task, split) parts of a concatenated split; they must share the task's labels, since
    their integer labels are used as they are."""
    from xtransfer.tasks.registry import get_task

    parts = []
    for part in spec["concat"]:
        other = get_task(part["task"])
        if other.labels != task.labels:
            raise UserError(
                f"task {task.name!r}: part {other.name!r} has labels {other.labels}, "
                f"not {task.labels}"
            )
        parts.append((other, part["split"]))
    return parts


def _with_context(task: TaskSpec, split: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    return {**spec, "_task": task.name, "_split": split, "_names": task.raw.get("language_names")}


def source_entry(spec: Mapping[str, Any], source: str, lang: str) -> dict[str, Any]:
    """The settings one source uses for ``lang``: hub -> :func:`hub_entry`; embedded -> the hub
    entry under the ``embedded`` keys (the demo mirrors the Hub); others -> their own entry."""
    if source == "hub":
        return hub_entry(spec, lang)
    if source == "embedded":
        return dict(_embedded_entry(spec))
    return dict(spec.get(source) or {})


def source_columns(task: TaskSpec, entry: Mapping[str, Any]) -> dict[str, str]:
    """Canonical column -> the source's column. Each source maps its own columns (XQuAD on the
    Hub has no ``title``; XTREME's TSVs have no header), so no source is asked for a column it
    does not have; the task's ``columns`` apply where an entry has none."""
    return dict(entry.get("columns") or task.raw.get("columns") or {})


def _filters(spec: Mapping[str, Any], source: str, entry: Mapping[str, Any]) -> Mapping:
    # A local file without an entry of its own is taken to be in the Hub's schema.
    if source == "local" and not spec.get("local"):
        return spec.get("hub") or {}
    return entry


def _select_language(raw_rows: list[dict], filters: Mapping, task: TaskSpec, lang: str) -> list:
    language_column = filters.get("language_column")
    if language_column:
        raw_rows = [row for row in raw_rows if row.get(language_column) == lang]
    # Sources whose language is only in the id prefix (google/xtreme tydiqa: `english-...`):
    # `id_prefix` is one prefix, or a map from language code to prefix.
    id_prefix = filters.get("id_prefix")
    if id_prefix:
        prefix = id_prefix.get(lang) if isinstance(id_prefix, Mapping) else str(id_prefix)
        id_column = (filters.get("columns") or task.raw.get("columns") or {}).get("id", "id")
        raw_rows = [r for r in raw_rows if prefix and str(r.get(id_column, "")).startswith(prefix)]
    return raw_rows


def _resolved_source(
    task: TaskSpec, split: str, lang: str, spec: Mapping[str, Any], data_cfg: Mapping[str, Any]
) -> tuple[str, Mapping[str, Any]]:
    """(data source, split spec in context) for one language: the steps that loading and the
    pre-flight check share, so both refuse the same language and source the same way."""
    _check_language(task, lang, spec)
    source = data_cfg["source"]
    if source not in _LOADERS:
        raise UserError(f"unknown data source {source!r}; known: {', '.join(_LOADERS)}")
    return source, _with_context(task, split, spec)


def load_rows(
    task: TaskSpec, split: str, lang: str, data_cfg: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Rows of ``split`` of ``task`` in ``lang``, with canonical columns and integer labels.

    Unlabelled rows (label -1 or empty) are dropped: they cannot be trained on or scored.
    """
    spec = _split_spec(task, split)
    if "concat" in spec:  # one split made of other tasks' splits (ANLI+: SNLI + MNLI + ANLI)
        return [
            row for part in _concat_parts(task, spec) for row in load_rows(*part, lang, data_cfg)
        ]
    source, spec = _resolved_source(task, split, lang, spec, data_cfg)
    # A split with its own file (a user task's data) is read from it under every data= choice.
    if "file" in spec:
        raw_rows, where = _load_task_file(spec, lang, data_cfg)
        entry: dict[str, Any] = {}
    else:
        entry = source_entry(spec, source, lang)
        raw_rows, where = _LOADERS[source](spec, lang, data_cfg)
    raw_rows = _select_language(raw_rows, _filters(spec, source, entry), task, lang)
    columns = source_columns(task, entry)
    # Hub text columns that keep the generator's line end (google/xtreme tatoeba: "...\n").
    strip = set(entry.get("strip") or ())
    rows = []
    for row_no, raw in enumerate(raw_rows, start=1):
        # Readers that know the file line of a row (user task files) report that line.
        at = f"{where}:{raw['__line__']}" if "__line__" in raw else f"{where}: row {row_no}"
        missing = [src for src in columns.values() if src not in raw]
        if missing:
            raise UserError(
                f"{at}: row lacks column(s) {', '.join(missing)} (it has: "
                f"{', '.join(k for k in raw if k != '__line__')}); fix the {source} entry's "
                f"`columns` of {task.name} {split}"
            )
        row = {canonical: raw[src] for canonical, src in columns.items()}
        for name in strip & row.keys():
            if isinstance(row[name], str):
                row[name] = row[name].strip()
        if "label" in row and task.labels is not None:
            own_file = "file" in spec  # a user task's data: labels by name only
            if isinstance(row["label"], list):  # one label per word (tagging)
                row["label"] = [_to_tag_id(v, task.labels, at, own_file) for v in row["label"]]
            else:
                row["label"] = _to_label_id(row["label"], task.labels, at, own_file)
                if row["label"] is None:
                    continue
        rows.append(row)
    if not rows:
        raise UserError(f"{where}: no {lang} rows in split {split!r} of task {task.name!r}")
    refuse_blanked_gold(task, split, rows, where)
    return rows


_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def file_digest(path: Path) -> str | None:
    """sha256 of a file's content (first 16 hex digits), computed once per path, size, mtime
    and change time (which no tool sets back) in a process; None when the file is missing.
    Local data are identified by content, so a file rewritten with other rows is a new phase
    key even with the same size and time."""
    if not path.is_file():
        return None
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()[:16]
    return _DIGESTS[key]


def data_identity(
    task: TaskSpec, split: str, lang: str, data_cfg: Mapping[str, Any]
) -> dict[str, Any]:
    """What determines the rows of a split: part of every phase's content key. Hub data are
    identified by the commit the revision resolves to, files by their content hash."""
    split_spec = _split_spec(task, split)
    source = data_cfg["source"]
    if "concat" in split_spec:
        return {
            "concat": [
                data_identity(other, part_split, lang, data_cfg)
                for other, part_split in _concat_parts(task, split_spec)
            ]
        }
    spec = _with_context(task, split, split_spec)
    if "file" in split_spec:  # a user task's own file, whatever data= says
        path = _task_file_path(spec, lang)
        return {
            "source": "file",
            "file": [str(path), file_digest(path)],
            "lang": lang,
            "columns": task.raw.get("columns"),
            "labels": task.labels,
            "reader": split_spec.get("reader"),
        }
    entry = source_entry(spec, source, lang)
    ident: dict[str, Any] = {
        "source": source,
        "entry": {
            k: (_expand(v, lang, entry.get("language_names")) if isinstance(v, str) else v)
            for k, v in entry.items()
        },
        "lang": lang,
        "columns": source_columns(task, entry),
        "labels": task.labels,
    }
    if source == "embedded":
        ident["sha256"] = file_digest(_embedded_path(entry, lang, data_cfg))
    elif source == "hub":
        ref = _hub_split(spec, lang, data_cfg)
        if ref.mirror:
            ident["mirror"] = ref.location()
        else:
            ident["revision_sha"] = resolve_revision(ref)
    elif source == "local" and _ud_release_split(spec, data_cfg):
        from xtransfer.data.ud_xtreme import ud_release_identity

        ident["ud_release"] = ud_release_identity(data_cfg, split, lang)
    elif source in ("xtreme_dir", "local"):
        if source == "local" and (split_spec.get("local") or {}).get("ud_release"):
            from xtransfer.data.ud_xtreme import word_mode

            ident["udpos_words"] = word_mode(data_cfg, default="syntactic")
        locate = _xtreme_dir_path if source == "xtreme_dir" else _local_path
        path = locate(spec, lang, data_cfg)
        ident["file"] = [str(path.resolve()), file_digest(path)]
    return ident


# --- Training data in other languages ---------------------------------------------------------

TRAIN_SPLITS = ("train", "translate_train")


def split_languages(task: TaskSpec, split: str) -> list[str]:
    """Languages a split has: its own ``languages`` list, else every language of the task."""
    declared = _split_spec(task, split).get("languages")
    if declared:
        return [str(code) for code in declared]
    return sorted({code for codes in task.languages.values() for code in codes})


def training_split(task: TaskSpec, lang: str) -> str:
    """The split holding ``task``'s training data in ``lang``: ``train`` where the task has the
    language there, else ``translate_train``; an error that names the languages otherwise."""
    splits = task.raw.get("splits") or {}
    available: set[str] = set()
    for split in TRAIN_SPLITS:
        if split not in splits:
            continue
        languages = split_languages(task, split)
        if lang in languages:
            return split
        available.update(languages)
    raise UserError(
        f"task {task.name!r} has no {lang} training data (training languages: "
        f"{', '.join(sorted(available)) or 'none'})"
    )


# --- Plain text corpora (masked-LM co-training) -----------------------------------------------

CORPUS_SOURCES = ("embedded", "local", "hub")


def _demo_text_dir() -> Path:
    from xtransfer.config import asset_path

    return Path(asset_path("demo")) / "text"


def resolve_corpus(
    task: str, corpus: Mapping[str, Any] | None, data_cfg: Mapping[str, Any], languages: list[str]
) -> dict[str, Any]:
    """The corpus settings of a text task with ``source: auto`` made concrete, checked for every
    language before any training (a missing file is one clear error)."""
    if not corpus:
        raise UserError(
            f"intermediate task {task!r} reads plain text: it needs "
            f"intermediate.tasks.{task}.corpus (see conf/intermediate/{task}.yaml)"
        )
    settings = dict(corpus)
    source = str(settings.get("source") or "auto")
    if source == "auto":
        if settings.get("path"):
            source = "local"
        elif data_cfg.get("source") in ("embedded", "hub"):
            source = str(data_cfg["source"])
        else:
            raise UserError(
                f"{task} corpus: with data={data_cfg.get('source')}, set "
                f"intermediate.tasks.{task}.corpus.path=/dir/{{lang}}.txt (or corpus.source=hub)"
            )
    if source not in CORPUS_SOURCES:
        raise UserError(
            f"{task} corpus.source must be auto or one of {', '.join(CORPUS_SOURCES)}, "
            f"not {source!r}"
        )
    settings["source"] = source
    if source == "local" and not settings.get("path"):
        raise UserError(f"{task} corpus.source=local needs corpus.path=/dir/{{lang}}.txt")
    for lang in languages:
        if source in ("embedded", "local"):
            path = _text_path(settings, lang)
            if not path.is_file():
                if source == "embedded":
                    have = sorted(p.stem for p in _demo_text_dir().glob("*.txt"))
                    raise UserError(
                        f"{task} corpus: the embedded demo text has no {lang} "
                        f"(it has: {', '.join(have)})"
                    )
                raise UserError(
                    f"{task} corpus file not found: {path} "
                    f"(intermediate.tasks.{task}.corpus.path={settings['path']})"
                )
    if source == "hub" and data_cfg.get("mirror"):
        settings["mirror"] = str(data_cfg["mirror"])
    return settings


def _text_path(corpus: Mapping[str, Any], lang: str) -> Path:
    if corpus["source"] == "embedded":
        return _demo_text_dir() / f"{lang}.txt"
    return Path(_expand(corpus["path"], lang, None))


def _lines(texts, limit: int | None) -> list[str]:
    lines: list[str] = []
    for text in texts:
        for line in str(text).splitlines():
            line = line.strip()
            if line:
                lines.append(line)
                if limit and len(lines) >= limit:
                    return lines
    return lines


def load_text(corpus: Mapping[str, Any], lang: str) -> list[dict[str, str]]:
    """Rows ``{"text": line}`` of a resolved corpus in ``lang`` (non-empty lines, at most
    ``max_lines``)."""
    limit = int(corpus["max_lines"]) if corpus.get("max_lines") else None
    if corpus["source"] in ("embedded", "local"):
        path = _text_path(corpus, lang)
        with path.open(encoding="utf-8") as handle:
            lines = _lines(handle, limit)
        where = str(path)
    else:
        lines, where = _hub_text(corpus, lang, limit)
    if not lines:
        raise UserError(f"{where}: no {lang} text")
    return [{"text": line} for line in lines]


def _hub_text(corpus: Mapping[str, Any], lang: str, limit: int | None) -> tuple[list[str], str]:
    import datasets

    hub = corpus.get("hub") or {}
    if not hub.get("path"):
        raise UserError("corpus.source=hub needs corpus.hub.path (a Hub dataset id)")
    mirror = corpus.get("mirror")
    location = str(Path(mirror) / hub["path"]) if mirror else str(hub["path"])
    name = _expand(hub["name"], lang, None) if hub.get("name") else None
    where = f"{location} (config {name}, split {hub.get('split', 'train')})"
    try:
        # Streaming: a Wikipedia or CC-100 subset is read up to max_lines, never downloaded whole.
        dataset = datasets.load_dataset(
            location,
            name,
            split=hub.get("split", "train"),
            revision=hub.get("revision"),
            streaming=True,
        )
        column = hub.get("column", "text")
        lines = _lines((row[column] for row in dataset), limit)
    except Exception as err:  # the network, the Hub and datasets raise many unrelated types
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise UserError(
            f"could not read the text corpus {where}: {type(err).__name__}: {first_line[:300]}. "
            "Offline, use the embedded demo text or corpus.path=/dir/{lang}.txt."
        ) from None
    return lines, where


def text_identity(corpus: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """What determines a corpus's rows in ``lang``: part of the phase key."""
    ident: dict[str, Any] = {
        "source": corpus["source"],
        "lang": lang,
        "max_lines": corpus.get("max_lines"),
    }
    if corpus["source"] in ("embedded", "local"):
        path = _text_path(corpus, lang)
        ident["sha256"] = (
            hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else None
        )
        if corpus["source"] == "local":
            ident["path"] = str(path.resolve())
    else:
        ident["hub"] = dict(corpus.get("hub") or {})
        ident["mirror"] = corpus.get("mirror")
    return ident


# --- Checks without loading (the pre-flight) ---------------------------------------------------

# Files up to this size are read whole by their reader to check the first rows' columns; a
# larger one is only opened and its first block decoded (the run reads it in full later).
_PARSE_LIMIT = 4 << 20


def check_split(task: TaskSpec, split: str, lang: str, data_cfg: Mapping[str, Any]) -> list[str]:
    """The problems that would stop ``load_rows(task, split, lang)``, found cheaply: Hub
    metadata only (config list, split names, features), file existence and first rows."""
    try:
        split_spec = _split_spec(task, split)
        if "concat" in split_spec:
            return [
                problem
                for other, part in _concat_parts(task, split_spec)
                for problem in check_split(other, part, lang, data_cfg)
            ]
        source, spec = _resolved_source(task, split, lang, split_spec, data_cfg)
        if "file" in spec:
            problem = _check_file(_task_file_path(spec, lang), spec.get("reader"), task, {})
            return [problem] if problem else []
        entry = source_entry(spec, source, lang)
        columns = list(source_columns(task, entry).values())
        if source == "hub":
            problem = probe(_hub_split(spec, lang, data_cfg), columns)
        elif source == "embedded":
            path = _embedded_path(entry, lang, data_cfg)
            problem = _check_file(path, "jsonl", task, entry, "data=embedded (the demo)")
        elif source == "local" and _ud_release_split(spec, data_cfg):
            roots = [data_cfg.get("ud_root"), data_cfg.get("ud_root_v27")]
            missing = [str(r) for r in roots if r and not Path(str(r)).is_dir()]
            problem = f"UD release folder not found: {', '.join(missing)}" if missing else None
        else:
            locate = _xtreme_dir_path if source == "xtreme_dir" else _local_path
            problem = _check_file(
                locate(spec, lang, data_cfg), entry.get("reader"), task, entry, f"data={source}"
            )
    except UserError as err:
        return [str(err)]
    return [problem] if problem else []


def _head_rows(path: Path, reader: str | None, count: int = 5) -> list[dict[str, Any]]:
    """The first rows of a file: JSON Lines are parsed line by line (the embedded demo and most
    user files), other formats by their reader."""
    if (reader or "jsonl") == "jsonl" and path.suffix == ".jsonl":
        import json

        rows = []
        with path.open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as err:
                        raise UserError(
                            f"{path}:{line_no}: malformed JSON line ({err.msg})"
                        ) from None
                if len(rows) >= count:
                    break
        return rows
    return read_file(path, reader)


def _check_file(
    path: Path, reader: str | None, task: TaskSpec, entry: Mapping, hint: str = ""
) -> str | None:
    if not path.is_file():
        return f"data file not found: {path} ({hint or task.name})"
    if path.stat().st_size > _PARSE_LIMIT:
        import codecs

        with path.open("rb") as handle:
            try:  # incremental: a character cut at the block's end is not an error
                codecs.getincrementaldecoder("utf-8")().decode(handle.read(1 << 16))
            except UnicodeDecodeError as err:
                return f"{path}: not UTF-8 text ({err.reason} at byte {err.start})"
        return None
    rows = _head_rows(path, reader)
    if not rows:
        return f"{path}: no rows ({task.name})"
    columns = source_columns(task, entry)
    missing = [src for src in columns.values() if src not in rows[0]]
    if missing:
        return (
            f"{path}: first row lacks column(s) {', '.join(missing)} for {task.name} (it has: "
            f"{', '.join(k for k in rows[0] if k != '__line__')})"
        )
    return None
