"""Hub mirrors built from the real facts (/work/shared/docs/hub-facts/*.json), not from what the
loaders expect: exact `datasets.Features` from each config's card YAML, the file layout of its
`data_files`, and a README with `configs:` and `dataset_info:` as a parquet repo on the Hub has.
Parquet-branch files go where `data.mirror` looks for another revision
(`<mirror>/<owner>/<name>@<quoted revision>/`, see xtransfer.data.hub.branch_dir)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from xtransfer.data.hub import branch_dir

FACTS_DIR = Path("/work/shared/docs/hub-facts")


def facts_available() -> bool:
    return FACTS_DIR.is_dir()


needs_facts = pytest.mark.skipif(
    not facts_available(), reason=f"the Hub facts are not on this machine ({FACTS_DIR})"
)


@cache
def facts(repo: str) -> dict[str, Any] | None:
    path = FACTS_DIR / f"{repo.replace('/', '__')}.json"
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


# Repos the catalogue reads without a facts file, with the schema its `assumed:` line states
# (the same as the google/xtreme config they stand in for).
ASSUMED = {
    "unimelb-nlp/wikiann": ("google/xtreme", "PAN-X.en"),
    "mteb/tatoeba-bitext-mining": None,  # sentence1 / sentence2 strings
}


def config_facts(repo: str, config: str) -> dict[str, Any]:
    """The facts of one config; for an ASSUMED repo, the schema the catalogue assumes."""
    if facts(repo) is not None:
        return facts(repo)["configs"][config]
    stand_in = ASSUMED[repo]
    card = (
        config_facts(*stand_in)["features_card_yaml"]
        if stand_in
        else [{"name": "sentence1", "dtype": "string"}, {"name": "sentence2", "dtype": "string"}]
    )
    splits = ("train", "validation", "test")
    return {"features_card_yaml": card, "data_files": {s: f"{config}/{s}-*" for s in splits}}


def features_of(repo: str, config: str):
    """The exact datasets.Features of a config, or None where the facts give no card YAML."""
    import datasets

    if facts(repo) is None and repo in ASSUMED:
        entry = config_facts(repo, config)
    else:
        entry = (facts(repo) or {}).get("configs", {}).get(config) or {}
    card = entry.get("features_card_yaml")
    return datasets.Features._from_yaml_list(card) if card else None


# --- Rows ---------------------------------------------------------------------------------------

CONTEXT = "Anna lives in Paris with her cat."
ANSWER = "Paris"


def _value(feature: Any, name: str, i: int) -> Any:
    import datasets

    if isinstance(feature, datasets.ClassLabel):
        return i % feature.num_classes
    if isinstance(feature, datasets.Value):
        if feature.dtype == "string":
            return CONTEXT if name == "context" else f"{name} {i}"
        if feature.dtype == "bool":
            return False
        return i % 2
    if isinstance(feature, datasets.List):
        return [_value(feature.feature, name, i + j) for j in range(3)]
    if isinstance(feature, dict):
        if set(feature) == {"answer_start", "text"}:
            return {"answer_start": [CONTEXT.index(ANSWER)], "text": [ANSWER]}
        return {key: _value(sub, key, i) for key, sub in feature.items()}
    raise TypeError(f"no example value for {feature!r}")


def example_rows(
    features, count: int = 4, overrides: Mapping[str, Callable[[int], Any]] | None = None
) -> list[dict[str, Any]]:
    """``count`` rows of exactly ``features``; ``overrides`` give a column's value per row."""
    rows = []
    for i in range(count):
        row = {name: _value(feature, name, i) for name, feature in features.items()}
        for name, make in (overrides or {}).items():
            row[name] = make(i)
        rows.append(row)
    return rows


# --- Repos --------------------------------------------------------------------------------------


def write_repo(
    mirror: Path,
    repo: str,
    configs: Mapping[str, Mapping[str, list[dict[str, Any]] | None]],
    overrides: Mapping[str, Callable[[int], Any]] | None = None,
) -> Path:
    """Writes ``repo`` on main as its facts describe it: for each config and split, a parquet
    file at the facts' `data_files` place, with the facts' features; rows are given, or
    made from the features when None."""
    import datasets

    root = mirror / repo
    readme: dict[str, list] = {"configs": [], "dataset_info": []}
    for config, splits in configs.items():
        entry = config_facts(repo, config)
        features = features_of(repo, config)
        data_files, split_infos = [], []
        for split, rows in splits.items():
            pattern = entry["data_files"][split]
            rows = rows if rows is not None else example_rows(features, overrides=overrides)
            path = root / pattern.replace("*", "00000-of-00001.parquet")
            path.parent.mkdir(parents=True, exist_ok=True)
            datasets.Dataset.from_list(rows, features=features).to_parquet(str(path))
            data_files.append({"split": split, "path": pattern})
            split_infos.append({"name": split, "num_examples": len(rows)})
        readme["configs"].append({"config_name": config, "data_files": data_files})
        readme["dataset_info"].append(
            {
                "config_name": config,
                "features": entry["features_card_yaml"],
                "splits": split_infos,
            }
        )
    _write_readme(root, readme)
    return root


def _write_readme(root: Path, card: dict[str, list]) -> None:
    readme = root / "README.md"
    if readme.is_file():  # several calls add configs to one repo
        old = yaml.safe_load(readme.read_text("utf-8").split("---")[1])
        for key in card:
            names = {c["config_name"] for c in card[key]}
            card[key] = [c for c in old.get(key, []) if c["config_name"] not in names] + card[key]
    root.mkdir(parents=True, exist_ok=True)
    readme.write_text("---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n", "utf-8")


def write_files(
    mirror: Path, repo: str, revision: str | None, path: str, rows: list[dict], features=None
) -> Path:
    """Data files at ``revision`` of ``repo`` (the parquet branch, or JSON Lines on main)."""
    import datasets

    target = branch_dir(mirror, repo, revision) / path
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.endswith(".parquet"):
        datasets.Dataset.from_list(rows, features=features).to_parquet(str(target))
    else:
        target.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return target


# --- A mirror of everything a run reads -------------------------------------------------------


def _mention(i: int, lang: str) -> dict:
    return {
        "context": {"document_title": f"News {i}", "document_url": "u", "document_id": f"d{i}",
                    "language": lang, "text": CONTEXT, "sentence_spans": [{"start": 0, "end": 33}],
                    "section_title": None},
        "mention": {"example_id": f"{lang}-m{i}", "entity_id": f"Q{i % 3}", "metadata": None,
                    "mention_span": {"start": 14, "end": 19, "text": ANSWER}},
    }  # fmt: skip


def _entity(i: int) -> dict:
    return {"entity_id": f"Q{i}", "title": f"Title {i}", "description": f"About {i}",
            "description_language": "en", "description_url": "u",
            "sentence_spans": [{"start": 0, "end": 5}]}  # fmt: skip


def _file_rows(ref, task) -> tuple[list[dict], Any]:
    """Rows for a data-files entry, whose features the facts do not record (see the catalogue's
    `assumed:` lines): the assumed schema, or exact features where the facts have them."""
    if ref.repo == "izhx/mewsli-x":
        lang = ref.files.split("/")[1] if ref.files.startswith("wikinews") else "en"
        if ref.files.startswith("wikinews"):
            return [_mention(i, lang) for i in range(6)], None
        if ref.files.startswith("candidate"):
            return [_entity(i) for i in range(3)], None
        return [{"contextual_mention": _mention(i, "en"), "entity": _entity(i % 3)}
                for i in range(6)], None  # fmt: skip
    if ref.repo == "universal-dependencies/universal_dependencies":
        features = features_of(ref.repo, "en_ewt")
        feats = ["{'Number': 'Sing'}", "None", "{'Degree': 'Pos'}"]
        return example_rows(features, 6, {"feats": lambda i: feats}), features
    features = features_of("google/xtreme", "XQuAD.de")  # juletxara: assumed SQuAD-style
    return example_rows(features, 6), features


def _overrides(task, repo: str, config: str, lang: str) -> dict:
    """Column values a format needs to be meaningful, taken from the facts where they say what
    the values are (label values, languages in a column, id prefixes)."""
    entry = config_facts(repo, config)
    features = features_of(repo, config)
    out: dict[str, Callable[[int], Any]] = {}
    labels = list(task.labels or [])
    for column, values in (entry.get("label_values") or {}).items():
        out[column] = lambda i, v=values: v[i % len(v)]
    for column, langs in (entry.get("languages_in_column") or {}).items():
        out[column] = lambda i, v=langs: v[i % len(v)]
    if config == "tydiqa":
        prefixes = list(task.raw["id_prefixes"].values())
        out["id"] = lambda i: f"{prefixes[i % len(prefixes)]}{i}"
    if "question" in features and task.format == "multiple_choice":  # COPA: cause / effect
        out["question"] = lambda i: ("cause", "effect")[i % 2]
    if task.format == "multiple_choice" and "label" in features and labels:
        import datasets

        if isinstance(features["label"], datasets.Value) and features["label"].dtype == "string":
            out["label"] = lambda i: labels[i % len(labels)]
    if task.format == "bitext_mining":
        out["source_lang"] = lambda i: f"{lang}-{i:09d}"
        out["target_lang"] = lambda i: f"en-{i:09d}"
    return out


def build_mirror(mirror: Path, needed: list[tuple[str, str, str]]) -> None:
    """A facts-built copy of every (task, split, language) in ``needed`` that has a Hub source
    (languages the catalogue refuses are left out: the run must refuse them itself)."""
    from xtransfer.data.sources import hub_split
    from xtransfer.errors import UserError
    from xtransfer.tasks.registry import get_task

    configs: dict[str, dict[str, dict[str, None]]] = {}
    overrides: dict[tuple[str, str], dict] = {}
    for name, split, lang in needed:
        task = get_task(name)
        try:
            ref = hub_split(task, split, lang, {"source": "hub"})
        except UserError:
            continue
        if ref.files:
            rows, features = _file_rows(ref, task)
            path = ref.files.replace("*", "0000")
            write_files(mirror, ref.repo, ref.revision, path, rows, features)
            continue
        configs.setdefault(ref.repo, {}).setdefault(ref.config, {})[ref.split] = None
        overrides[(ref.repo, ref.config)] = _overrides(task, ref.repo, ref.config, lang)
    for repo, repo_configs in configs.items():
        for config, splits in repo_configs.items():
            features = features_of(repo, config)
            made = overrides[(repo, config)]
            # XNLI and tydiqa mix their languages in one config: rows for every language.
            count = 30 if "language" in features or config == "tydiqa" else 6
            rows = {split: example_rows(features, count, made) for split in splits}
            write_repo(mirror, repo, {config: rows})
