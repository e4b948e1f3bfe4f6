"""Contract of every catalogue `hub` entry with the real Hub, as recorded in
/work/shared/docs/hub-facts (not with our own fixtures): for every split and every language
(all XTREME and XTREME-R languages of a target), the config exists, the split exists, every
mapped column exists with a compatible type, and ClassLabel names equal the task's labels. A
language the catalogue refuses (`absent`) must really be missing from the facts, and an entry
that relies on a fact the facts mark unconfirmed must say what it assumes (`assumed`)."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest
from hub_mirror import facts, features_of, needs_facts

from xtransfer.data.sources import hub_entry, hub_split, source_columns, split_languages
from xtransfer.errors import UserError
from xtransfer.tasks.registry import all_tasks

pytestmark = needs_facts

STRING_COLUMNS = {
    "text_a", "text_b", "context", "question", "id", "title", "source", "target",
    "source_lang", "target_lang", "choice1", "choice2", "choice3", "choice4", "choice_prefix",
    "caption", "text", "idx", "source_id", "target_id",
}  # fmt: skip


def _packaged_tasks() -> list[str]:
    from xtransfer.tasks.registry import _packaged

    return sorted(_packaged())


def _kind(feature: Any) -> str:
    import datasets

    if isinstance(feature, datasets.ClassLabel):
        return "classlabel"
    if isinstance(feature, datasets.Value):
        return str(feature.dtype)
    if isinstance(feature, datasets.List):
        return f"list<{_kind(feature.feature)}>"
    if isinstance(feature, dict):
        return "dict{" + ",".join(f"{k}:{_kind(v)}" for k, v in feature.items()) + "}"
    return type(feature).__name__


def _label_problem(task, canonical: str, feature: Any, config_facts: dict, source: str) -> str:
    """The catalogue's labels against the source's label column."""
    import datasets

    inner = feature.feature if isinstance(feature, datasets.List) else feature
    if isinstance(inner, datasets.ClassLabel):
        if inner.names != task.labels:
            return f"ClassLabel names {inner.names} != catalogue labels {task.labels}"
        return ""
    if isinstance(inner, datasets.Value) and inner.dtype == "string":
        values = (config_facts.get("label_values") or {}).get(source)
        if values and not set(values) <= set(task.labels):
            return f"label values {values} not in catalogue labels {task.labels}"
        return ""
    if isinstance(inner, datasets.Value) and inner.dtype.startswith("int"):
        return ""  # indexes into the catalogue labels
    return f"label column of type {_kind(feature)}"


def _type_problem(task, canonical: str, feature: Any, config_facts: dict, source: str) -> str:
    kind = _kind(feature)
    if canonical == "label":
        return _label_problem(task, canonical, feature, config_facts, source)
    if canonical == "upos":  # skip_upos names the multiword-token tag and its id
        names = feature.feature.names
        skip = task.raw.get("skip_upos") or []
        bad = [s for s in skip if isinstance(s, int) and names[s] not in skip]
        return f"upos ids {bad} are not {skip}" if bad else ""
    if canonical in STRING_COLUMNS and kind not in ("string", "int32", "int64"):
        return f"{kind}, not a string"
    if canonical in ("tokens", "feats") and kind != "list<string>":
        return f"{kind}, not a list of strings"
    if canonical == "answers" and not {"answer_start", "text"} <= set(feature):
        return f"{kind}, not {{answer_start, text}} lists"
    if canonical == "choices" and kind not in (
        "list<string>",
        "dict{label:list<string>,text:list<string>}",
    ):
        return f"{kind}, not a list of choice texts"
    return ""


def _known_files(repo_facts: dict) -> dict[str, list[str]]:
    """Every file path the facts give, per config (main data files, parquet-branch files)."""
    known: dict[str, list[str]] = {}
    for config, entry in repo_facts["configs"].items():
        paths = [*(entry.get("data_files") or {}).values()]
        paths += [*(entry.get("refs_convert_parquet_files") or {}).values()]
        known[config] = [p for p in paths if isinstance(p, str)]
    return known


def _config_of_files(repo_facts: dict, pattern: str) -> tuple[str | None, bool]:
    """The config whose files the pattern reads, and whether a recorded file matches it."""
    for config, paths in _known_files(repo_facts).items():
        if any(fnmatch.fnmatch(path, pattern) for path in paths):
            return config, True
    first = pattern.split("/")[0]
    if first in repo_facts["configs"]:
        return first, False
    for config in repo_facts["configs"]:  # e.g. wikinews_mentions/<lang>/
        if any(
            pattern.split("/")[:2] == p.split("/")[:2] for p in _known_files(repo_facts)[config]
        ):
            return config, False
    return None, False


def _unconfirmed(config_facts: dict) -> bool:
    # data_files_status is left out: a config read by name is found through the README.
    text = " ".join(
        str(v) for k, v in config_facts.items() if k.endswith("status") and k != "data_files_status"
    )
    return "UNCONFIRMED" in text.upper() or isinstance(config_facts.get("features"), str)


def check_entry(task, split: str, lang: str) -> list[str]:
    """Every disagreement of one (task, split, language) hub entry with the facts."""
    spec = {**task.raw["splits"][split], "_task": task.name, "_split": split}
    at = f"{task.name} {split} {lang}"
    try:
        entry = hub_entry(spec, lang)
    except UserError as err:
        return _check_refusal(spec, lang, at, str(err))
    ref = hub_split(task, split, lang, {"source": "hub"})
    repo_facts = facts(ref.repo)
    assumed = entry.get("assumed")
    if repo_facts is None:  # a source the facts do not cover must say what it assumes
        return [] if assumed else [f"{at}: no facts for {ref.repo} and nothing is assumed"]
    problems: list[str] = []
    if ref.files:
        config, matched = _config_of_files(repo_facts, ref.files)
        if config is None:
            if assumed:  # a config the facts did not record (juletxara: 5 of 12 seen)
                return []
            return [f"{at}: no recorded config of {ref.repo} has files like {ref.files}"]
        if not matched and not assumed:
            problems.append(f"{at}: no recorded file matches {ref.files} and nothing is assumed")
    else:
        config = ref.config or "default"
        if config not in repo_facts["configs"]:
            return [f"{at}: {ref.repo} has no config {config}"]
    config_facts = repo_facts["configs"][config]
    splits = config_facts.get("splits") or {}
    if ref.split not in splits:
        problems.append(f"{at}: {ref.repo} {config} has no split {ref.split} (has {list(splits)})")
    columns = source_columns(task, entry)
    features = features_of(ref.repo, config)
    if features is None or _unconfirmed(config_facts):
        names = (
            set(config_facts.get("features") or {})
            if isinstance(config_facts.get("features"), dict)
            else set()
        )
        if not assumed:
            problems.append(f"{at}: the facts leave {ref.repo} {config} unconfirmed; no `assumed`")
        missing = [c for c in columns.values() if names and c not in names]
        if missing:
            problems.append(f"{at}: {ref.repo} {config} lacks {missing} (even as assumed)")
        return problems
    for canonical, source in columns.items():
        if source not in features:
            problems.append(f"{at}: {ref.repo} {config} has no column {source} ({canonical})")
            continue
        problem = _type_problem(task, canonical, features[source], config_facts, source)
        if problem:
            problems.append(f"{at}: {ref.repo} {config} column {source}: {problem}")
    return problems


def _check_refusal(spec: dict, lang: str, at: str, message: str) -> list[str]:
    hub = spec["hub"]
    if hub.get("not_on_hub"):
        return []
    config = hub["name"].format(
        lang=lang, language=(hub.get("language_names") or {}).get(lang, lang)
    )
    repo_facts = facts(hub["path"]) or {"configs": {}}
    if config in repo_facts["configs"]:
        return [f"{at}: refused ({message}) but {hub['path']} has config {config}"]
    if lang not in message or "data.files" not in message:
        return [f"{at}: the refusal does not name the language and the fix: {message}"]
    return []


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for name in _packaged_tasks():
        task = all_tasks()[name]
        for split, spec in (task.raw.get("splits") or {}).items():
            if "hub" not in spec:
                continue
            for lang in split_languages(task, split):
                cases.append((name, split, lang))
    return cases


@pytest.mark.parametrize("name", _packaged_tasks())
def test_hub_entries_agree_with_the_facts(name: str):
    task = all_tasks()[name]
    problems = [
        problem
        for task_name, split, lang in _cases()
        if task_name == name
        for problem in check_entry(task, split, lang)
    ]
    assert problems == [], "\n".join(problems)


def test_every_target_language_is_checked():
    """The cases cover every XTREME and XTREME-R language of every target's test split."""
    from xtransfer.evaluation.benchmarks import available_benchmarks, get_benchmark

    cases = set(_cases())
    for bench in available_benchmarks():
        for name in get_benchmark(bench).tasks:
            task = all_tasks()[name]
            for lang in task.languages.get(bench.replace("-", "_"), []):
                test_split = "test" if "test" in task.raw["splits"] else "validation"
                assert (name, test_split, lang) in cases, (name, lang)


def test_the_checker_catches_a_wrong_assumption(monkeypatch):
    """XQuAD with the title that google/xtreme does not have fails the contract."""
    task = all_tasks()["xquad"]
    spec = task.raw["splits"]["test"]["hub"]
    monkeypatch.setitem(spec, "columns", {**spec["columns"], "title": "title"})
    assert any("no column title" in p for p in check_entry(task, "test", "de"))


def test_the_checker_catches_a_wrong_label_order(monkeypatch):
    import dataclasses

    panx = all_tasks()["panx"]
    task = dataclasses.replace(
        panx, labels=["O", "B-LOC", "I-LOC", "B-PER", "I-PER", "B-ORG", "I-ORG"]
    )
    task.raw.update(panx.raw)
    assert any("ClassLabel names" in p for p in check_entry(task, "test", "de"))


def test_the_checker_catches_a_false_refusal(monkeypatch):
    """Refusing a language the Hub has (udpos.German) fails the contract."""
    task = all_tasks()["udpos"]
    hub = task.raw["splits"]["test"]["hub"]
    monkeypatch.setitem(hub, "absent", [*hub["absent"], "de"])
    assert any("has config udpos.German" in p for p in check_entry(task, "test", "de"))
