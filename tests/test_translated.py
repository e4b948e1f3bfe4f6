"""Translated / non-English intermediate data: where each language's training data come from,
the syntax, keys and run names, the sources (embedded, Hub layout, XTREME folder), the demo
files, and the "seen in training" flags of the zero-shot report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from xtransfer.config import register_resolvers
from xtransfer.data.sources import load_rows, training_split
from xtransfer.data.train_data import train_rows
from xtransfer.errors import UserError
from xtransfer.hydra_app import CONFIG_DIR
from xtransfer.pipeline.plan import plan_phases
from xtransfer.pipeline.run import run_pipeline
from xtransfer.pipeline.zero_shot import flag_seen_languages
from xtransfer.reporting.console import language_table
from xtransfer.tasks.registry import get_task

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "src" / "xtransfer" / "assets" / "demo"


_NAMES = {"Anna", "Maria", "Sara", "Lena", "Nina", "Elena", "Laura", "Julia", "Clara", "Emma"}
_NAMES |= {"Sofia", "Mila", "Rosa", "Olga", "Hana", "Yuki"}


def _cfg(*overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("config", overrides=list(overrides))


def test_each_language_comes_from_the_split_the_catalogue_declares():
    mnli, pawsx = get_task("mnli"), get_task("pawsx")
    assert training_split(mnli, "en") == "train"
    assert training_split(mnli, "de") == "translate_train"  # XNLI translate-train
    assert training_split(pawsx, "de") == "train"  # PAWS-X has per-language (MT) train sets
    assert training_split(get_task("squad"), "de") == "translate_train"
    with pytest.raises(UserError, match=r"'mnli' has no ja training data .*de, el, en, es"):
        training_split(mnli, "ja")
    with pytest.raises(UserError, match=r"'pawsx' has no sw training data"):
        training_split(pawsx, "sw")


def test_languages_syntax_keys_and_run_names():
    default = plan_phases(_cfg())
    explicit_en = plan_phases(_cfg("intermediate.languages=[en]"))
    german = plan_phases(_cfg("intermediate.languages=[de]"))
    mixed = plan_phases(_cfg("intermediate.languages=[en,de,fr]"))
    assert default[0].key == explicit_en[0].key  # [en] is the default, not a new setting
    assert len({default[0].key, german[0].key, mixed[0].key}) == 3  # data identity is keyed
    assert german[0].tasks[0].languages == ["de"]
    assert [(r.split, r.lang) for r in mixed[0].tasks[0].train_refs] == [
        ("train", "en"),
        ("translate_train", "de"),
        ("translate_train", "fr"),
    ]
    assert german[0].tasks[0].dev.lang == "en"  # model selection stays on English dev
    # Per-task override beats intermediate.languages.
    multi = plan_phases(
        _cfg(
            "intermediate=[mnli,pawsx]",
            "intermediate.mode=multitask",
            "intermediate.languages=[de]",
            "intermediate.tasks.pawsx.languages=[en,ja]",
        )
    )
    assert [p.languages for p in multi[0].tasks] == [["de"], ["en", "ja"]]
    assert _cfg("intermediate.languages=[de]").intermediate.name == "mnli@de"
    assert (
        _cfg(
            "intermediate=[mnli,pawsx]",
            "intermediate.mode=multitask",
            "intermediate.tasks.pawsx.languages=[en,ja]",
        ).intermediate.name
        == "mnli+pawsx@en,ja.multitask"
    )


@pytest.mark.parametrize(
    "overrides,message",
    [
        (("intermediate.languages=[ja]",), r"'mnli' has no ja training data"),
        (("intermediate.languages=[]",), "list of training languages is empty"),
        (("intermediate.languages=[de,de]",), "repeat a language"),
    ],
)
def test_bad_languages_are_one_clear_error(overrides, message):
    with pytest.raises(UserError, match=message):
        plan_phases(_cfg(*overrides))


def test_mixed_languages_are_concatenated_and_capped_per_language():
    cfg = _cfg("intermediate.languages=[en,de,fr]")
    plan = plan_phases(cfg)[0].tasks[0]
    rows = train_rows(plan, cfg.data)
    en = load_rows(get_task("mnli"), "train", "en", cfg.data)
    de = load_rows(get_task("mnli"), "translate_train", "de", cfg.data)
    fr = load_rows(get_task("mnli"), "translate_train", "fr", cfg.data)
    assert rows == en + de + fr
    capped = train_rows(plan, cfg.data, cap=10)
    assert capped == en[:10] + de[:10] + fr[:10]


def test_demo_translations_are_parallel_to_english_mnli_and_reproducible(tmp_path: Path):
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import make_demo_translated
    finally:
        sys.path.pop(0)
    written = make_demo_translated.generate(tmp_path)
    for rel in written:
        assert (tmp_path / rel).read_bytes() == (DEMO / rel).read_bytes(), rel
    english = [json.loads(x) for x in (DEMO / "nyu-mll__glue/mnli/train.jsonl").open()]
    data = {"source": "embedded", "root": str(DEMO)}
    for lang in make_demo_translated.TRANSLATED_LANGS:
        rows = load_rows(get_task("mnli"), "translate_train", lang, data)
        assert [r["label"] for r in rows] == [r["label"] for r in english[: len(rows)]]
        # A translation of the English item: other words, the same names and numbers (cues).
        for row, en in zip(rows[:20], english, strict=False):
            assert row["text_a"] != en["premise"]
            cues = [w.strip(".") for w in en["premise"].split() if w[:1].isupper() or w.isdigit()]
            cues = [w for w in cues if w in _NAMES or w.isdigit()]
            assert cues and all(c in row["text_a"].split() for c in cues), (row, en)


def test_hub_translate_train_reads_facebook_xnli_layout(tmp_path: Path):
    import datasets

    repo = tmp_path / "facebook" / "xnli"
    rows = [
        {"premise": "Der Hund schläft.", "hypothesis": "Ein Tier schläft.", "label": 0},
        {"premise": "Es regnet.", "hypothesis": "Die Sonne scheint.", "label": 2},
    ]
    (repo / "de").mkdir(parents=True)
    datasets.Dataset.from_list(rows).to_parquet(str(repo / "de" / "train-00000-of-00001.parquet"))
    (repo / "README.md").write_text(
        "---\nconfigs:\n- config_name: de\n  data_files:\n  - split: train\n"
        "    path: de/train-*\n---\n"
    )
    got = load_rows(
        get_task("mnli"), "translate_train", "de", {"source": "hub", "mirror": str(tmp_path)}
    )
    assert got == [
        {"text_a": "Der Hund schläft.", "text_b": "Ein Tier schläft.", "label": 0},
        {"text_a": "Es regnet.", "text_b": "Die Sonne scheint.", "label": 2},
    ]


def test_xtreme_translated_tsv_in_both_shapes(tmp_path: Path):
    folder = tmp_path / "xnli" / "XNLI-Translated"
    folder.mkdir(parents=True)
    # Five columns: English pair, translated pair, label (XNLI-MT spells "contradictory").
    (folder / "en-de-translated.tsv").write_text(
        "A dog sleeps.\tAn animal sleeps.\tEin Hund schläft.\tEin Tier schläft.\tentailment\n"
        "It rains.\tThe sun shines.\tEs regnet.\tDie Sonne scheint.\tcontradictory\n",
        encoding="utf-8",
    )
    (folder / "en-fr-translated.tsv").write_text("Il pleut.\tLe soleil brille.\tneutral\n")
    data = {"source": "xtreme_dir", "root": str(tmp_path)}
    de = load_rows(get_task("mnli"), "translate_train", "de", data)
    assert de == [
        {"text_a": "Ein Hund schläft.", "text_b": "Ein Tier schläft.", "label": 0},
        {"text_a": "Es regnet.", "text_b": "Die Sonne scheint.", "label": 2},
    ]
    fr = load_rows(get_task("mnli"), "translate_train", "fr", data)
    assert fr == [{"text_a": "Il pleut.", "text_b": "Le soleil brille.", "label": 1}]


def test_seen_flags_only_when_more_than_english_was_trained():
    records = [{"task": "xnli", "lang": x, "metric": "accuracy", "value": 50.0} for x in "ab"]
    english = [dict(r, lang=lang) for r, lang in zip(records, ["en", "de"], strict=True)]
    flag_seen_languages(english, ["en"])
    assert not any("seen_in_training" in r for r in english)  # plain zero-shot: nothing to flag
    flag_seen_languages(english, ["de", "en"])
    assert [r.get("seen_in_training") for r in english] == [True, True]
    table = language_table("xnli", english, 50.0)
    assert table.splitlines()[1].endswith("seen") and "de" in table.splitlines()[-1]


def test_run_records_languages_and_flags_seen_target_languages(tmp_path: Path, capsys):
    cfg = _cfg(
        f"output_root={tmp_path}",
        "intermediate.languages=[en,de]",
        "trainer.max_train_examples=32",
        "intermediate.tasks.mnli.epochs=1",
        "target.epochs=1",
    )
    results = run_pipeline(cfg, tmp_path / "run")
    inter, target = results["phases"]
    assert inter["languages"] == {"mnli": ["en", "de"]}
    assert target["languages"] == ["en"]
    assert results["languages_seen_in_training"] == ["de", "en"]
    flagged = {r["lang"] for r in results["scores"] if r.get("seen_in_training")}
    assert flagged == {"de", "en"}
    assert all(r.get("seen_in_training") in (None, True) for r in results["scores"])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line[:2] in ("de", "fr")}
    assert rows["de"].rstrip(" *").endswith("yes") and not rows["fr"].rstrip(" *").endswith("yes")
