"""The Hugging Face Hub side of ``data=hub``: where one split of one config lives, loading it,
checking it from metadata alone, and the four ways it can be missing.

A catalogue ``hub`` entry names its data in one of two ways:

* ``{path, name, split}``: a config of a repo whose ``main`` is data files with a README
  ``configs:`` section (google/xtreme, nyu-mll/glue ...), read by ``load_dataset(path, name)``.
* ``{path, files, split, revision}``: data files inside the repo at ``revision``, read by the
  packaged ``parquet`` / ``json`` builder. This is how the auto-converted branch
  ``refs/convert/parquet`` is read: in datasets 5 that branch has no README, so
  ``load_dataset(path, name, revision=...)`` finds only a ``default`` config
  (hub-schemas.md, Corrections 3).

``data.mirror=DIR`` replaces the Hub by a local copy laid out as the ``hf://datasets/`` URLs
are: ``DIR/<owner>/<name>/`` for ``main`` and ``DIR/<owner>/<name>@<revision, %-quoted>/`` for
another revision (``google__xtreme@refs%2Fconvert%2Fparquet`` style, see ``branch_dir``).
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from xtransfer.errors import UserError

OFFLINE_HINT = (
    "offline, use data=embedded for the demo, data.mirror=DIR with a local copy of the Hub "
    "repos, or data=local data.files.<task>.<split>=PATH"
)


@dataclass(frozen=True)
class HubSplit:
    """One split of one config of one Hub repo, as the loader will read it."""

    repo: str
    config: str | None
    split: str
    revision: str | None = None  # a branch, tag or commit; None = main
    files: str | None = None  # data files inside the repo (packaged-builder route)
    mirror: str | None = None
    task: str = ""
    task_split: str = ""

    @property
    def where(self) -> str:
        at = f"@{self.revision}" if self.revision else ""
        config = self.files if self.files else (self.config or "default")
        kind = "files" if self.files else "config"
        return f"{self.repo}{at} ({kind} {config}, split {self.split})"

    @property
    def builder(self) -> str:
        assert self.files
        return "parquet" if self.files.endswith(".parquet") else "json"

    def location(self) -> str:
        """The repo id, or the mirror folder holding the copy of this revision."""
        if not self.mirror:
            return self.repo
        return str(branch_dir(Path(self.mirror), self.repo, self.revision))

    def files_url(self, revision: str | None = None) -> str:
        """The data-files pattern as datasets resolves it (``hf://`` or a mirror path)."""
        assert self.files
        if self.mirror:
            return f"{self.location()}/{self.files}"
        rev = revision or self.revision
        at = f"@{quote(rev, safe='')}" if rev else ""
        return f"hf://datasets/{self.repo}{at}/{self.files}"

    def fix(self) -> str:
        task, split = self.task or "<task>", self.task_split or "<split>"
        return f"data=local data.files.{task}.{split}=PATH"


def branch_dir(mirror: Path, repo: str, revision: str | None) -> Path:
    """``DIR/<owner>/<name>`` for main, ``DIR/<owner>/<name>@<quoted revision>`` otherwise."""
    if not revision or revision == "main":
        return mirror / repo
    return mirror / f"{repo}@{quote(revision, safe='')}"


# --- Errors -----------------------------------------------------------------------------------


def missing_config(ref: HubSplit, available: list[str]) -> str:
    near = _nearby(ref.config or "", available)
    return (
        f"{ref.repo}: no config {ref.config!r} for {ref.task} {ref.task_split} (split "
        f"{ref.split}; the repo has {len(available)} configs{near}); fix the catalogue entry's "
        f"hub name, or supply the files: {ref.fix()}"
    )


def missing_split(ref: HubSplit, available: list[str]) -> str:
    return (
        f"{ref.repo}: config {ref.config or ref.files!r} has no split {ref.split!r} for "
        f"{ref.task} {ref.task_split} (it has: {', '.join(available) or 'none'}); fix the "
        f"catalogue entry's hub split, or supply the files: {ref.fix()}"
    )


def missing_columns(ref: HubSplit, missing: list[str], available: list[str]) -> str:
    return (
        f"{ref.repo}: config {ref.config or ref.files!r} split {ref.split!r} lacks column(s) "
        f"{', '.join(missing)} for {ref.task} {ref.task_split} (it has: "
        f"{', '.join(available)}); fix the hub entry's `columns` map, or supply the files: "
        f"{ref.fix()}"
    )


def missing_repo(ref: HubSplit, detail: str) -> str:
    where = f"data.mirror has no copy at {ref.location()}" if ref.mirror else detail
    return (
        f"{ref.repo}: dataset not found ({where}) for {ref.task} {ref.task_split} "
        f"(config {ref.config or ref.files}, split {ref.split}); check the repo id, or supply the "
        f"files: {ref.fix()}"
    )


def unreachable(ref: HubSplit, detail: str) -> str:
    return (
        f"{ref.repo}: the Hugging Face Hub is unreachable ({detail}) while reading config "
        f"{ref.config or ref.files}, split {ref.split} for {ref.task} {ref.task_split}; "
        f"{OFFLINE_HINT}"
    )


def _nearby(name: str, available: list[str]) -> str:
    stem = name.split(".")[0].lower()
    close = [c for c in available if c.lower().startswith(stem)][:6]
    return f", e.g. {', '.join(close)}" if close else ""


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0][:200] if text else ''}"


_NETWORK_ERRORS = (
    "OfflineModeIsEnabled",
    "ConnectionError",
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "Timeout",
    "LocalEntryNotFoundError",
    "HTTPError",
    "NetworkError",
)


def classify(err: BaseException, ref: HubSplit) -> str:
    """The one-line message for an exception raised by datasets / huggingface_hub."""
    name, text = type(err).__name__, str(err)
    if "BuilderConfig" in text and "not found" in text:
        available = text.split("Available:", 1)[-1].strip(" []").replace("'", "").split(", ")
        return missing_config(ref, [a for a in available if a])
    if text.startswith("Unknown split"):
        available = text.split("one of", 1)[-1].strip(" .[]").replace("'", "").split(", ")
        return missing_split(ref, [a for a in available if a])
    if name in ("DatasetNotFoundError", "RepositoryNotFoundError", "RevisionNotFoundError"):
        return missing_repo(ref, _first_line(err))
    if any(n in name for n in _NETWORK_ERRORS) or "offline" in text.lower():
        return unreachable(ref, _first_line(err))
    if name == "FileNotFoundError" or "Unable to find" in text or "doesn't match" in text:
        return missing_repo(ref, _first_line(err))
    return (
        f"could not load {ref.where} for {ref.task} {ref.task_split}: {_first_line(err)}; "
        f"{OFFLINE_HINT}"
    )


# --- Revisions --------------------------------------------------------------------------------

_RESOLVED: dict[str, str] = {}


def pinned_revision(repo: str, data_cfg: Mapping[str, Any]) -> str | None:
    """``+data.revision.<owner>__<name>=<sha>`` (Hydra keys cannot hold ``/``) or, in YAML,
    ``revision: {<owner>/<name>: <sha>}``."""
    pins = data_cfg.get("revision") or {}
    return pins.get(repo) or pins.get(repo.replace("/", "__"))


@functools.cache
def _commit_sha(repo: str, revision: str | None) -> str:
    from huggingface_hub import HfApi

    return str(HfApi().dataset_info(repo, revision=revision).sha)


def resolve_revision(ref: HubSplit) -> str | None:
    """The commit sha that ``ref`` reads on the Hub now (metadata only); None for a mirror."""
    if ref.mirror:
        return None
    try:
        sha = _commit_sha(ref.repo, ref.revision)
    except Exception as err:  # the network and the Hub raise many unrelated types
        raise UserError(classify(err, ref)) from None
    _RESOLVED[f"{ref.repo}@{ref.revision or 'main'}"] = sha
    return sha


def resolved_revisions() -> dict[str, str]:
    """Every ``repo@revision`` resolved in this process, with its commit sha (results.json)."""
    return dict(sorted(_RESOLVED.items()))


# --- Loading ----------------------------------------------------------------------------------


def _check_mirror(ref: HubSplit) -> None:
    if ref.mirror and not Path(ref.location()).is_dir():
        raise UserError(missing_repo(ref, ""))


def load_split(ref: HubSplit, sha: str | None = None) -> list[dict[str, Any]]:
    """Every row of ``ref`` (at commit ``sha`` when given, so the rows are the ones identified)."""
    import datasets

    _check_mirror(ref)
    try:
        if ref.files:
            dataset = datasets.load_dataset(
                ref.builder, data_files={ref.split: ref.files_url(sha)}, split=ref.split
            )
        else:
            dataset = datasets.load_dataset(
                ref.location(), ref.config, split=ref.split, revision=sha or ref.revision
            )
    except Exception as err:  # the network, the Hub and datasets raise many unrelated types
        raise UserError(classify(err, ref)) from None
    return dataset.to_list()


# --- Metadata checks (the pre-flight) ---------------------------------------------------------


def _feature_names(features: Any) -> list[str] | None:
    return list(features) if features else None


def probe(ref: HubSplit, columns: list[str]) -> str | None:
    """The problem with ``ref`` from metadata alone (config list, split names, features), or
    None. No data file is downloaded."""
    import datasets

    if ref.mirror and not Path(ref.location()).is_dir():
        return missing_repo(ref, "")
    try:
        if ref.files:
            return _probe_files(ref, columns)
        configs = datasets.get_dataset_config_names(ref.location(), revision=ref.revision)
        if ref.config and ref.config not in configs:
            return missing_config(ref, configs)
        builder = datasets.load_dataset_builder(ref.location(), ref.config, revision=ref.revision)
    except Exception as err:  # the network, the Hub and datasets raise many unrelated types
        return classify(err, ref)
    splits = list(builder.info.splits or {}) or list(builder.config.data_files or {})
    if splits and ref.split not in splits:
        return missing_split(ref, splits)
    names = _feature_names(builder.info.features)
    missing = [c for c in columns if names is not None and c not in names]
    return missing_columns(ref, missing, names or []) if missing else None


def _probe_files(ref: HubSplit, columns: list[str]) -> str | None:
    """Data files: the pattern must match at least one file; parquet columns come from the
    file footer (schema only), JSON Lines columns from the first row."""
    files = _matching_files(ref)
    if not files:
        return (
            f"{ref.repo}: no data files match {ref.files!r} at revision "
            f"{ref.revision or 'main'} (split {ref.split}) for {ref.task} {ref.task_split}; fix "
            f"the catalogue entry's hub files, or supply the files: {ref.fix()}"
        )
    names = _file_columns(ref, files[0])
    missing = [c for c in columns if names is not None and c not in names]
    return missing_columns(ref, missing, names or []) if missing else None


def _matching_files(ref: HubSplit) -> list[str]:
    if ref.mirror:
        root = Path(ref.location())
        return sorted(str(p) for p in root.glob(ref.files or "") if p.is_file())
    from huggingface_hub import HfFileSystem

    return sorted(HfFileSystem().glob(ref.files_url()[len("hf://") :]))


def _file_columns(ref: HubSplit, path: str) -> list[str] | None:
    import json

    opener = open
    if not ref.mirror:
        from huggingface_hub import HfFileSystem

        opener = HfFileSystem().open  # type: ignore[assignment]
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        with opener(path, "rb") as handle:
            return list(pq.read_schema(handle).names)
    if fnmatch.fnmatch(path, "*.json*") and not path.endswith(".gz"):
        with opener(path, "rb") as handle:
            first = handle.readline()
        return list(json.loads(first)) if first.strip() else []
    return None
