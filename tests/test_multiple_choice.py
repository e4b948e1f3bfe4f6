"""Multiple choice (XCOPA, COPA, SIQA, HellaSwag, Cosmos QA, CommonsenseQA): catalogue, label
conventions, featurisation, head and loss, prediction files, Hub layout, and demo runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from xtransfer.config import asset_path
from xtransfer.data.readers import read_jsonl
from xtransfer.data.sources import load_rows
from xtransfer.errors import UserError
from xtransfer.evaluation import formats
from xtransfer.evaluation.scoring import prediction_extension, score_folder, score_language
from xtransfer.tasks.formats import get_format
from xtransfer.tasks.formats.multiple_choice import (
    IGNORE,
    MultipleChoiceFormat,
    MultipleChoiceHead,
    feature_length,
)
from xtransfer.tasks.registry import get_task

XCOPA_LANGS = ["et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh"]
# task -> (number of choices, the splits shipped in the demo data)
MC_TASKS = {
    "copa": (2, ["train", "validation"]),
    "siqa": (3, ["train", "validation"]),
    "hellaswag": (4, ["train", "validation"]),
    "cosmosqa": (4, ["train", "validation"]),
    "commonsenseqa": (5, ["train", "validation"]),
    "xcopa": (2, ["validation", "test"]),
}
DEMO = {"source": "embedded", "root": asset_path("demo")}


@pytest.fixture(scope="module")
def tokenizer():
    path = Path(asset_path("tiny-xlmr"))
    if not (path / "tokenizer.json").is_file():
        pytest.skip(f"the tiny model's tokenizer is not built yet ({path})")
    from xtransfer.training.model import load_tokenizer

    return load_tokenizer(str(path))


def _fmt(task: str) -> MultipleChoiceFormat:
    return get_format("multiple_choice")(get_task(task))


def _lang(task: str) -> str:
    return "th" if task == "xcopa" else "en"


def _local_rows(tmp_path: Path, task: str, raw_rows: list[dict], split: str = "train"):
    """Rows through `data=local`: the catalogue's columns and label mapping on a JSONL file."""
    path = tmp_path / f"{task}-{split}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in raw_rows), encoding="utf-8")
    cfg = {"source": "local", "files": {task: {split: str(path)}}}
    return load_rows(get_task(task), split, _lang(task), cfg)


# --- catalogue and label conventions ---------------------------------------------------------


def test_catalogue_entries():
    for name, (n, _) in MC_TASKS.items():
        task = get_task(name)
        assert task.format == "multiple_choice" and task.metric == "accuracy"
        assert _fmt(name).num_choices == n
        assert _fmt(name).head_signature() == {"format": "multiple_choice", "choices": n}
    xcopa = get_task("xcopa")
    assert xcopa.languages_for("xtreme-r") == XCOPA_LANGS
    assert prediction_extension("xcopa") == "jsonl"  # the format contract
    # COPA trains the head that XCOPA is scored with.
    assert _fmt("copa").head_signature() == _fmt("xcopa").head_signature()
    assert get_task("copa").raw["question_templates"] == xcopa.raw["question_templates"]


@pytest.mark.parametrize("task", sorted(MC_TASKS))
def test_demo_data_load_with_valid_labels(task):
    n, splits = MC_TASKS[task]
    for split in splits:
        rows = load_rows(get_task(task), split, _lang(task), DEMO)
        assert len(rows) >= 20
        labels = [row["label"] for row in rows]
        assert set(labels) == set(range(n)), f"{task} {split}: every choice position is used"


def test_string_digit_labels_hellaswag(tmp_path):
    raw = {"ctx_a": "A man sits.", "ctx_b": "he", "endings": ["a", "b", "c", "d"]}
    rows = _local_rows(tmp_path, "hellaswag", [{**raw, "label": s} for s in ("0", "3", "2")])
    assert [r["label"] for r in rows] == [0, 3, 2]
    # Blank test labels mean "unlabelled": such rows are dropped, not guessed.
    assert len(_local_rows(tmp_path, "hellaswag", [{**raw, "label": ""}, {**raw, "label": "1"}]))


def test_one_based_siqa_labels_with_newline(tmp_path):
    raw = {"context": "c", "question": "q", "answerA": "a", "answerB": "b", "answerC": "c"}
    rows = _local_rows(tmp_path, "siqa", [{**raw, "label": s} for s in ("1", "3\n", "2", "1\n")])
    assert [r["label"] for r in rows] == [0, 2, 1, 0]
    with pytest.raises(UserError, match="label"):
        _local_rows(tmp_path, "siqa", [{**raw, "label": "4"}])


def test_letter_labels_commonsenseqa(tmp_path):
    choices = {"label": list("ABCDE"), "text": ["t1", "t2", "t3", "t4", "t5"]}
    raw = [{"question": "q?", "choices": choices, "answerKey": k} for k in "AEC"]
    rows = _local_rows(tmp_path, "commonsenseqa", raw)
    assert [r["label"] for r in rows] == [0, 4, 2]


def test_int_labels_copa_xcopa_cosmos(tmp_path):
    copa = {"premise": "p", "choice1": "a", "choice2": "b", "question": "cause", "idx": 0}
    rows = _local_rows(tmp_path, "copa", [{**copa, "label": 1}, {**copa, "label": 0}])
    assert [r["label"] for r in rows] == [1, 0]  # ClassLabel [choice1, choice2]
    rows = _local_rows(tmp_path, "copa", [{**copa, "label": -1}, {**copa, "label": 1}])
    assert [r["label"] for r in rows] == [1]  # -1 = hidden test label: dropped
    xcopa = {**copa, "changed": False}
    rows = _local_rows(tmp_path, "xcopa", [{**xcopa, "label": 1}], split="test")
    assert rows[0]["label"] == 1 and rows[0]["idx"] == 0
    cosmos = {"context": "c", "question": "q", **{f"answer{i}": str(i) for i in range(4)}}
    rows = _local_rows(tmp_path, "cosmosqa", [{**cosmos, "label": 3}, {**cosmos, "label": 0}])
    assert [r["label"] for r in rows] == [3, 0]


# --- featurisation ---------------------------------------------------------------------------


@pytest.mark.parametrize("task", sorted(MC_TASKS))
def test_featurize_one_sequence_per_choice_and_dynamic_padding(tokenizer, task):
    n, splits = MC_TASKS[task]
    fmt = _fmt(task)
    rows = load_rows(get_task(task), splits[-1], _lang(task), DEMO)[:6]
    features = fmt.featurize(rows, tokenizer, max_length=256)
    assert [f["example_index"] for f in features] == list(range(len(rows)))
    assert [f["label"] for f in features] == [r["label"] for r in rows]
    for feature in features:
        assert len(feature["input_ids"]) == n
        assert all(ids[0] == tokenizer.cls_token_id for ids in feature["input_ids"])
        assert all(len(ids) <= 256 for ids in feature["input_ids"])
    batch = fmt.collate(features, tokenizer.pad_token_id)
    longest = max(feature_length(f) for f in features)
    assert longest < 256  # padded to the batch's longest choice, never to max_length
    assert batch["input_ids"].shape == (len(rows) * n, longest)
    assert batch["attention_mask"].shape == batch["input_ids"].shape
    lengths = [len(ids) for f in features for ids in f["input_ids"]]
    assert batch["attention_mask"].sum(dim=1).tolist() == lengths
    assert batch["labels"].tolist() == [r["label"] for r in rows]
    # Row-major flattening: sequence i*n + j is choice j of row i.
    assert batch["input_ids"][n + 1, : lengths[n + 1]].tolist() == features[1]["input_ids"][1]


def test_training_batches_are_grouped_by_the_longest_choice(tokenizer):
    """The loop groups batches by `fmt.feature_length`; for multiple choice that must be the
    longest choice (not the choice count, which is constant and would leave batches random)."""
    from xtransfer.training.batching import length_grouped_batches

    fmt = _fmt("cosmosqa")
    rows = load_rows(get_task("cosmosqa"), "train", "en", DEMO)
    features = fmt.featurize(rows, tokenizer, max_length=256)
    assert [fmt.feature_length(f) for f in features] == [feature_length(f) for f in features]
    real = sum(len(ids) for f in features for ids in f["input_ids"])

    def processed(lengths: list[int]) -> int:
        batches = length_grouped_batches(lengths, 8, seed=0, epoch=0, group_factor=50)
        return sum(
            len(batch)
            * len(features[0]["input_ids"])
            * max(feature_length(features[i]) for i in batch)
            for batch in batches
        )

    grouped = processed([fmt.feature_length(f) for f in features])
    by_choice_count = processed([len(f["input_ids"]) for f in features])
    assert real / grouped > real / by_choice_count
    assert real / grouped > 0.9


def test_prompts_follow_the_jiant_templates(tokenizer):
    def decoded(task: str, row: dict) -> list[str]:
        (feature,) = _fmt(task).featurize([row], tokenizer, max_length=128)
        return [tokenizer.decode(ids, skip_special_tokens=True) for ids in feature["input_ids"]]

    copa = {"context": "Anna 7.", "question": "cause", "choice1": "Nina 9.", "choice2": "Mila 5."}
    texts = decoded("xcopa", {**copa, "label": 0})
    assert "What was the cause of this?" in texts[0] and texts[0].endswith("Nina 9.")
    assert "What happened as a result?" in decoded("copa", {**copa, "question": "effect"})[1]
    swag = {"context": "Anna 7.", "choice_prefix": "She", "choices": ["a", "b", "c", "d"]}
    assert decoded("hellaswag", swag)[2].endswith("She c")
    # CommonsenseQA choices are put in A..E order by their own letters.
    csqa = {"question": "Sara?", "choices": {"label": list("CABED"), "text": list("cabed")}}
    assert [t[-1] for t in decoded("commonsenseqa", csqa)] == list("abcde")


def test_featurize_rejects_malformed_rows(tokenizer):
    copa = {"context": "p", "question": "cause", "choice1": "a", "choice2": "b", "label": 0}
    with pytest.raises(UserError, match="question 'why'"):
        _fmt("copa").featurize([{**copa, "question": "why"}], tokenizer, 64)
    with pytest.raises(UserError, match="choice column"):
        _fmt("copa").featurize(
            [{"context": "p", "question": "cause", "choice1": "a"}], tokenizer, 64
        )
    with pytest.raises(UserError, match="3 choices"):
        _fmt("hellaswag").featurize([{"context": "p", "choices": ["a", "b", "c"]}], tokenizer, 64)
    siqa_row = {"context": "p", "question": "cause", **{f"choice{i}": "x" for i in (1, 2, 3)}}
    with pytest.raises(UserError, match="more choices"):
        _fmt("xcopa").featurize([{**siqa_row, "label": 0}], tokenizer, 64)
    with pytest.raises(UserError, match="label 2"):
        _fmt("copa").featurize([{**copa, "label": 2}], tokenizer, 64)


def test_long_context_is_truncated_before_the_choice(tokenizer):
    row = {
        "context": "Anna walks. " * 200,
        "question": "q?",
        **{f"choice{i}": f"Nina {i}" for i in range(1, 5)},
        "label": 1,
    }
    (feature,) = _fmt("cosmosqa").featurize([row], tokenizer, max_length=64)
    for i, ids in enumerate(feature["input_ids"], start=1):
        assert len(ids) == 64
        assert tokenizer.decode(ids, skip_special_tokens=True).endswith(f"Nina {i}")


# --- head, loss, decode ----------------------------------------------------------------------


def test_head_reshapes_flattened_choices_and_loss_is_cross_entropy_over_choices():
    fmt = _fmt("hellaswag")
    head = fmt.make_head(hidden_size=8, dropout=0.0)
    assert isinstance(head, MultipleChoiceHead)
    hidden = torch.randn(3 * 4, 6, 8, requires_grad=True)  # (B*N, len, H)
    logits = head(hidden)
    assert logits.shape == (3, 4)
    # Choice j of row i is scored from the first token of sequence i*4 + j only.
    single = head(hidden[5:6].expand(4, 6, 8).contiguous())
    assert torch.isclose(logits[1, 1], single[0, 0])
    labels = torch.tensor([2, 0, IGNORE])
    loss = fmt.loss(logits, {"labels": labels})
    expected = torch.nn.functional.cross_entropy(logits[:2], labels[:2])
    assert torch.isclose(loss, expected)
    loss.backward()
    assert hidden.grad is not None and head.out_proj.weight.grad is not None
    assert fmt.decode(logits.detach()) == logits.argmax(-1).tolist()
    with pytest.raises(ValueError, match="multiple of 4"):
        head(torch.randn(6, 2, 8))


@pytest.fixture
def one_thread():
    """One intra-op thread: on a busy 2-core machine this tiny model trains ~20x faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_tiny_batch_trains_through_the_task_model(tokenizer, one_thread):
    from xtransfer.training.model import TaskModel, build_pretrained_encoder

    fmt = _fmt("xcopa")
    rows = load_rows(get_task("copa"), "train", "en", DEMO)[:4]
    features = fmt.featurize(rows, tokenizer, max_length=128)
    encoder = build_pretrained_encoder({"config_dir": asset_path("tiny-xlmr")}, seed=0)
    model = TaskModel(encoder, {"xcopa": fmt.make_head(encoder.config.hidden_size, 0.0)})
    batch = fmt.collate(features, tokenizer.pad_token_id)
    assert batch["input_ids"].shape[0] == 8  # 4 rows x 2 choices through a 2-D encoder input
    model.eval()  # no dropout noise: gradients flow all the same
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):  # overfit 4 rows: the loss must go down
        loss = fmt.loss(model("xcopa", **batch), batch)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert model("xcopa", **batch).shape == (4, 2)
    assert losses[-1] < 0.5 * losses[0], losses


def test_dev_score_is_accuracy():
    rows = [{"label": 0}, {"label": 1}, {"label": 1}, {"label": 0}]
    assert _fmt("copa").dev_score(rows, [0, 1, 0, 0]) == 75.0


# --- prediction files ------------------------------------------------------------------------


def test_prediction_and_label_files_score_like_xcopa(tmp_path):
    fmt = _fmt("xcopa")
    rows = [{"idx": i, "label": i % 2} for i in range(8)]
    predictions = [0, 1, 0, 1, 1, 1, 1, 1]  # 6 of 8 right
    pred_dir, label_dir = tmp_path / "predictions" / "xcopa", tmp_path / "labels" / "xcopa"
    pred_dir.mkdir(parents=True)
    label_dir.mkdir(parents=True)
    fmt.write_predictions(pred_dir / "test-et.jsonl", rows, predictions)
    fmt.write_labels(label_dir / "test-et.jsonl", rows)
    assert read_jsonl(pred_dir / "test-et.jsonl")[0] == {"idx": 0, "label": 0}
    assert formats.read_jsonl_labels(label_dir / "test-et.jsonl") == [r["label"] for r in rows]
    scores = score_language("xcopa", pred_dir / "test-et.jsonl", label_dir / "test-et.jsonl")
    assert scores == {"accuracy": 75.0}
    report = score_folder(
        tmp_path / "predictions", tmp_path / "labels", benchmark="xtreme-r", tasks=["xcopa"]
    )
    assert report["detailed_scores"]["xcopa"]["avg_metric"] == 75.0


# --- the Hub layout --------------------------------------------------------------------------


def _write_hub_repo(root: Path, configs: dict[str, dict[str, list[dict]]]) -> None:
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


def test_hub_entries_read_parquet_copies_of_the_demo_repos(tmp_path):
    """Every `hub` entry, read by datasets.load_dataset from a local mirror of the Hub layout
    (parquet built from the embedded demo files), gives the same rows as the embedded source."""
    demo_root = Path(asset_path("demo"))
    cases = [
        (name, split, _lang(name)) for name, (_, splits) in MC_TASKS.items() for split in splits
    ]
    repos: dict[str, dict[str, dict[str, list[dict]]]] = {}
    for name, split, lang in cases + [("xcopa", "test", "zh")]:
        hub = get_task(name).raw["splits"][split]["hub"]
        config = str(hub.get("name") or "default").format(lang=lang)
        folder = demo_root / hub["path"].replace("/", "__") / config
        rows = read_jsonl(folder / f"{hub['split']}.jsonl")
        repos.setdefault(hub["path"], {}).setdefault(config, {})[hub["split"]] = rows
    for repo, configs in repos.items():
        _write_hub_repo(tmp_path / repo, configs)
    for name, split, lang in cases:
        hub_rows = load_rows(get_task(name), split, lang, {"source": "hub", "mirror": tmp_path})
        assert hub_rows == load_rows(get_task(name), split, lang, DEMO), (name, split)


# --- end to end ------------------------------------------------------------------------------


def _xtransfer() -> list[str]:
    script = Path(sys.executable).with_name("xtransfer")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "xtransfer"]


def test_plan_of_copa_plus_siqa(tmp_path):
    proc = subprocess.run(
        [*_xtransfer(), "plan", "intermediate=siqa", "target=xcopa", f"output_root={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "siqa" in proc.stdout and "xcopa" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("intermediate", ["none", "hellaswag"])
def test_demo_run_scores_every_xcopa_language(tmp_path, intermediate):
    proc = subprocess.run(
        [
            *_xtransfer(),
            "train",
            f"intermediate={intermediate}",
            "target=xcopa",
            f"output_root={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_path,) = tmp_path.glob("runs/**/results.json")
    results = json.loads(results_path.read_text())
    accuracy = {s["lang"]: s["value"] for s in results["scores"] if s["metric"] == "accuracy"}
    assert sorted(accuracy) == XCOPA_LANGS
    assert all(0.0 <= v <= 100.0 for v in accuracy.values())
    assert results["summary"]["xcopa"]["languages"] == 11
    phases = [p["name"] for p in results["phases"]]
    assert phases == (["target"] if intermediate == "none" else ["intermediate", "target"])
    run_dir = results_path.parent
    for lang in XCOPA_LANGS:
        pred = run_dir / "predictions" / "xcopa" / f"test-{lang}.jsonl"
        gold = run_dir / "labels" / "xcopa" / f"test-{lang}.jsonl"
        assert len(formats.read_jsonl_labels(pred)) == len(formats.read_jsonl_labels(gold))
        assert score_language("xcopa", pred, gold)["accuracy"] == accuracy[lang]
