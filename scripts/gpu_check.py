#!/usr/bin/env python
"""The one prepared GPU check (issue 16): one process, one call, under 8 minutes on one H100.

Usage::

    bash scripts/gpu_check.sh                   # on the GPU machine (what `make bench-gpu` runs)
    python scripts/gpu_check.py --device cpu --model mid --quick --profile none   # CPU smoke

Sections, each in its own try/except (an error is recorded and the next section runs) and all
under one time budget (``--budget-s``; a section that would not fit is recorded as skipped):

``environment``
    device, its dense bf16 peak, torch/transformers, the precision ``auto`` resolves to, TF32.
``training``
    XLM-R Large built from its config (random weights, no Hub; ``bench.MODEL_SHAPES``), trained
    at max length 128 (Tatoeba pairs, classification, batch 32), 256 (XQuAD windows, QA,
    batch 32) and 384 (XQuAD windows, QA, batch 16) on the committed length distributions of
    the shared files (``scripts/bench_data/length_distributions.json``), by xtransfer's loop
    (``precision: auto``, prefetching, pad to a multiple of 8) and by HF ``Trainer`` at its best
    (bf16, SDPA, ``group_by_length``, fused AdamW, 2 loader workers, pinned memory, pad to a
    multiple of 8). Arms interleaved (order rotated each round), the same examples, steps and
    initial weights; best round reported: real tokens/s, MFU against the dense bf16 peak, peak
    memory, the share of step time waiting for data.
``evaluation``
    ``predict`` throughput (real tokens/s) per case.
``pipeline``
    A three-phase run (pretrained -> mnli -> xnli, 50 steps each, demo data, tiny model) through
    ``run_pipeline``: the whole pipeline on this device.
``compiled``
    ``trainer.compile: true`` against eager, interleaved, per case while the budget lasts;
    compiled graphs (recompilations) per run.

It writes ``--output`` (JSON, rewritten after every section, so a kill leaves what was measured)
and, with a profile path, merges the eager xtransfer figures (128 -> classification, 384 -> qa)
into ``src/xtransfer/reporting/throughput_profile.json``, which `xtransfer plan` reads.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
LENGTHS_FILE = REPO_ROOT / "scripts" / "bench_data" / "length_distributions.json"
DEFAULT_PROFILE = REPO_ROOT / "src" / "xtransfer" / "reporting" / "throughput_profile.json"

# Dense bf16 tensor-core peaks (TFLOP/s, no sparsity), matched on the CUDA device name in order.
PEAK_BF16_TFLOPS = (
    ("H100 PCIE", 756.0),
    ("H100", 989.0),  # SXM
    ("H200", 989.0),
    ("GH200", 989.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10", 125.0),
)


@dataclass(frozen=True)
class Case:
    name: str
    source: str  # histogram source in the lengths file
    max_length: int
    kind: str  # "classification" | "qa"
    batch: int


CASES = (
    Case("128", "tatoeba", 128, "classification", 32),
    Case("256", "xquad", 256, "qa", 32),
    Case("384", "xquad", 384, "qa", 16),
)
HEADS = {"classification": "xnli", "qa": "xquad"}


def log(message: str) -> None:
    print(f"[gpu_check {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Sizes:
    steps: int  # optimizer steps per timed run
    batch_cap: int | None  # smaller batches in the CPU smoke run
    warmup_steps: int
    rounds: int
    eval_examples: int
    pipeline_examples: int  # per phase: 50 steps x batch 32 on a GPU


GPU_SIZES = Sizes(60, None, warmup_steps=4, rounds=2, eval_examples=2048, pipeline_examples=1600)
QUICK_SIZES = Sizes(2, 4, warmup_steps=1, rounds=1, eval_examples=16, pipeline_examples=64)


class Budget:
    def __init__(self, seconds: float):
        self.start, self.seconds = time.perf_counter(), seconds

    def left(self) -> float:
        return self.seconds - (time.perf_counter() - self.start)


class Report:
    """The results, written to ``path`` after every section."""

    def __init__(self, path: Path, budget: Budget):
        self.path, self.budget = path, budget
        self.data: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "sections": {}}

    def write(self) -> None:
        self.data["elapsed_s"] = round(time.perf_counter() - self.budget.start, 1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str) + "\n", encoding="utf-8")
        tmp.replace(self.path)

    def section(self, name: str, need_s: float, fn: Callable[[], Any]) -> Any:
        """Runs ``fn`` if ``need_s`` seconds are left; records its result or its error."""
        status: dict[str, Any] = {"status": "skipped", "need_s": need_s}
        result = None
        if self.budget.left() < need_s:
            status["reason"] = f"time budget: {self.budget.left():.0f} s left, {need_s} s needed"
            log(f"{name}: skipped ({status['reason']})")
        else:
            log(f"{name}: start ({self.budget.left():.0f} s left)")
            start = time.perf_counter()
            try:
                result = fn()
                status = {"status": "ok"}
                self.data[name] = result
            except Exception as error:  # recorded; the next section still runs
                status = {"status": "error", "error": f"{type(error).__name__}: {error}"}
                status["traceback"] = traceback.format_exc()[-4000:]
                log(f"{name}: ERROR {status['error']}")
            status["seconds"] = round(time.perf_counter() - start, 1)
            log(f"{name}: {status['status']} in {status['seconds']} s")
        self.data["sections"][name] = status
        self.write()
        return result


# --------------------------------------------------------------------------- the device


def peak_tflops(device_name: str, given: float | None) -> float | None:
    if given:
        return given
    upper = device_name.upper()
    for key, value in PEAK_BF16_TFLOPS:
        if key in upper:
            return value
    return None


def environment(device: str, given_peak: float | None) -> dict[str, Any]:
    import torch
    import transformers
    from omegaconf import OmegaConf

    from xtransfer.pipeline.run import get_accelerator
    from xtransfer.training.precision import resolve_precision

    accelerator = get_accelerator(OmegaConf.create({"precision": "auto"}))
    name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    out: dict[str, Any] = {
        "device": device,
        "device_name": name,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "precision_auto": resolve_precision("auto", device),
        "accelerator_precision": accelerator.mixed_precision,
        "peak_bf16_tflops": peak_tflops(name, given_peak),
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "git_commit": _git_commit(),
    }
    if device == "cuda":
        out["capability"] = list(torch.cuda.get_device_capability())
        out["memory_bytes"] = torch.cuda.get_device_properties(0).total_memory
    return out


def _git_commit() -> str | None:
    import subprocess

    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return None


def sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


# --------------------------------------------------------------------------- data and model


def load_histograms() -> dict[str, dict[str, dict[str, int]]]:
    return json.loads(LENGTHS_FILE.read_text(encoding="utf-8"))["histograms"]


def synthetic_features(
    histogram: dict[str, int], n: int, kind: str, seed: int, vocab: int
) -> list[dict]:
    """``n`` features whose lengths are drawn from ``histogram`` (random token ids: speed does
    not depend on which tokens, only on how many)."""
    rng = random.Random(seed)
    lengths = rng.choices([int(k) for k in histogram], weights=list(histogram.values()), k=n)
    features = []
    for length in lengths:
        ids = [0] + [rng.randrange(5, vocab) for _ in range(max(0, length - 2))] + [2]
        feature: dict[str, Any] = {"input_ids": ids[:length] if length >= 2 else ids}
        if kind == "classification":
            feature["label"] = rng.randrange(3)
        else:
            start = rng.randrange(1, max(2, length - 1))
            feature["start_position"] = start
            feature["end_position"] = min(length - 2, start + rng.randrange(0, 8))
        features.append(feature)
    return features


class Models:
    """The eager model (also trained by HF through an adapter) and its copy that is compiled,
    both from the same initial weights."""

    def __init__(self, name: str, tokenizer, device: str, seed: int):
        import torch
        from bench import build_encoder, model_info, snapshot

        from xtransfer.tasks.formats import get_format
        from xtransfer.tasks.registry import get_task
        from xtransfer.training.model import TaskModel

        self.formats = {
            kind: get_format(get_task(head).format)(get_task(head)) for kind, head in HEADS.items()
        }
        encoder = build_encoder(name, tokenizer, seed)
        self.info = model_info(name, encoder)
        hidden = encoder.config.hidden_size
        heads = {HEADS[k]: fmt.make_head(hidden, 0.1) for k, fmt in self.formats.items()}
        torch.manual_seed(seed)
        self.eager = TaskModel(encoder, heads).to(device)
        self.initial = snapshot(self.eager)
        self._compiled = None
        self.device = device

    @property
    def compiled(self):
        if self._compiled is None:
            self.reset(self.eager)  # drops accelerate's forward wrapper before copying
            self._compiled = copy.deepcopy(self.eager)
        return self._compiled

    def reset(self, model) -> None:
        from bench import reset_model

        reset_model(model, self.initial)


# --------------------------------------------------------------------------- the arms


def trainer_config(**overrides: Any) -> dict[str, Any]:
    """The X-STILTs preset as shipped (precision auto, prefetch auto, pad multiple auto), with
    what a timing run must not do switched off."""
    from omegaconf import OmegaConf

    import xtransfer

    path = Path(xtransfer.__file__).parent / "conf" / "trainer" / "xstilts.yaml"
    cfg = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    assert isinstance(cfg, dict)
    cfg.pop("defaults", None)
    cfg.update(save_every_steps=0, eval_every_epoch=False, debug_kill_at_step=None, log_every=10)
    cfg.update(overrides)
    return cfg


def measure(
    fn: Callable[[], dict[str, Any]], features: Sequence[dict], info, device: str, peak
) -> dict[str, Any]:
    """Runs one training run; its figures on the real (non-pad) tokens it trained on."""
    import torch
    from bench import free_memory

    free_memory(device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sync(device)
    start = time.perf_counter()
    extra = fn()
    sync(device)
    wall = extra.pop("timed_s", None) or time.perf_counter() - start
    real = sum(len(f["input_ids"]) for f in features)
    flops = sum(info.flops(len(f["input_ids"])) for f in features)
    out = {
        "seconds": round(wall, 4),
        "real_tokens_per_s": round(real / wall, 1),
        "examples_per_s": round(len(features) / wall, 2),
        "model_tflops_per_s": round(flops / wall / 1e12, 4),
        "mfu": round(flops / wall / (peak * 1e12), 4) if peak else None,
        "peak_memory_bytes": int(torch.cuda.max_memory_allocated()) if device == "cuda" else None,
        **extra,
    }
    wait = extra.get("data_wait_s")
    out["data_wait_share"] = None if wait is None else round(wait / wall, 4)
    return out


def run_xtransfer(models: Models, model, case: Case, features, steps: int, tcfg, seed: int):
    from omegaconf import OmegaConf

    from xtransfer.pipeline.run import get_accelerator
    from xtransfer.training.compiled import graphs_compiled
    from xtransfer.training.events import EventLog
    from xtransfer.training.loop import Schedule, TaskStream, train

    models.reset(model)
    accelerator = get_accelerator(OmegaConf.create({"precision": "auto"}))
    fmt = models.formats[case.kind]
    stream = TaskStream(HEADS[case.kind], fmt, features, case.batch)
    graphs = graphs_compiled()
    stats = train(
        model,
        [stream],
        Schedule(steps, steps, [1.0]),
        tcfg,
        accelerator,
        seed,
        1,
        EventLog(None),
        desc=f"xtransfer@{case.name}",
    )
    if stats.steps != steps:
        raise RuntimeError(f"xtransfer ran {stats.steps} steps, expected {steps}")
    return {
        "final_loss": round(float(stats.final_loss), 5),
        "data_wait_s": round(stats.data_wait_s, 4),
        "graphs_compiled": graphs_compiled() - graphs,
    }


def run_hf(models: Models, case: Case, features, steps: int, tcfg, tokenizer, seed, device):
    """HF ``Trainer`` at its best on the same model (through bench's loss adapter)."""
    import contextlib
    import inspect

    import torch
    from bench import ListDataset, hf_adapter, hf_items
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    models.reset(models.eager)
    params = inspect.signature(TrainingArguments.__init__).parameters
    cuda = device == "cuda"
    with tempfile.TemporaryDirectory(prefix="xtransfer-gpu-check-hf-") as tmp:
        kwargs: dict[str, Any] = dict(
            output_dir=tmp,
            per_device_train_batch_size=case.batch,
            max_steps=steps,
            learning_rate=float(tcfg["lr"]),
            weight_decay=float(tcfg["weight_decay"]),
            max_grad_norm=float(tcfg["max_grad_norm"]),
            lr_scheduler_type="linear",
            save_strategy="no",
            report_to="none",
            logging_steps=max(1, steps),
            disable_tqdm=True,
            seed=seed,
            bf16=cuda and torch.cuda.is_bf16_supported(),
            optim="adamw_torch_fused",
            dataloader_num_workers=2 if cuda else 0,
            dataloader_pin_memory=cuda,
        )
        if "warmup_ratio" in params:
            kwargs["warmup_ratio"] = float(tcfg["warmup_ratio"])
        else:
            kwargs["warmup_steps"] = float(tcfg["warmup_ratio"])  # v5: a float < 1 is a ratio
        if "train_sampling_strategy" in params:
            kwargs["train_sampling_strategy"] = "group_by_length"
        else:
            kwargs["group_by_length"] = True
        if "use_cpu" in params:
            kwargs["use_cpu"] = not cuda
        args = TrainingArguments(**kwargs)
        collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if cuda else None)
        trainer = Trainer(
            model=hf_adapter(models.eager, models.formats[case.kind], HEADS[case.kind]),
            args=args,
            train_dataset=ListDataset(hf_items(features, case.kind, tokenizer.pad_token_id, None)),
            data_collator=collator,
        )
        # Timed: train() alone (optimizer, accelerate's prepare and the loop), as for xtransfer;
        # building the Trainer is not part of training.
        with contextlib.redirect_stdout(sys.stderr):
            sync(device)
            start = time.perf_counter()
            output = trainer.train()
            sync(device)
            timed = time.perf_counter() - start
        if trainer.state.global_step != steps:
            raise RuntimeError(f"Trainer ran {trainer.state.global_step} steps, expected {steps}")
        trainer.accelerator.free_memory()
        del trainer
    return {
        "final_loss": round(float(output.training_loss), 5),
        "optim": "adamw_torch_fused",
        "timed_s": timed,
    }


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    top = max(runs, key=lambda r: r["real_tokens_per_s"])
    return {**top, "real_tokens_per_s_all": [r["real_tokens_per_s"] for r in runs]}


def interleaved(
    arms: dict[str, Callable[[int], dict[str, Any]]], rounds: int, warmup_steps: int, steps: int
) -> dict[str, Any]:
    """One untimed warm-up run per arm, then ``rounds`` rounds with the order rotated. An arm
    that fails is recorded under ``errors`` and left out of the later rounds."""
    errors: dict[str, str] = {}

    def attempt(name: str, n_steps: int) -> dict[str, Any] | None:
        try:
            return arms[name](n_steps)
        except Exception as error:  # the other arm's figures still count
            errors[name] = f"{type(error).__name__}: {error}"[:2000]
            log(f"  {name} FAILED: {errors[name][:300]}")
            return None

    names = list(arms)
    for name in names:
        log(f"  warm-up {name}")
        attempt(name, warmup_steps)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            if name in errors:
                continue
            result = attempt(name, steps)
            if result is not None:
                runs[name].append(result)
                log(f"  round {r + 1} {name}: {result['real_tokens_per_s']:.0f} real tok/s")
    out: dict[str, Any] = {name: best(rs) for name, rs in runs.items() if rs}
    if errors:
        out["errors"] = errors
    return out


def training_section(
    models, tokenizer, hist, sizes, device, peak, seed, compiled: bool, budget, need_s, partial
):
    """Per case: xtransfer against HF Trainer at its best (or eager against compiled). Cases go
    into ``partial`` as they finish (the report is written after each); a case that would not
    fit in the budget is recorded as skipped."""
    write = partial.pop("_write")
    partial["model"] = asdict(models.info)
    for case in CASES:
        if budget.left() < need_s:
            partial[case.name] = {"skipped": f"time budget ({budget.left():.0f} s left)"}
            continue
        try:
            partial[case.name] = train_case(
                models, case, tokenizer, hist, sizes, device, peak, seed, compiled
            )
        except Exception as error:  # recorded; the next case still runs
            partial[case.name] = {"error": f"{type(error).__name__}: {error}"[:2000]}
            partial[case.name]["traceback"] = traceback.format_exc()[-3000:]
            log(f"case {case.name}: ERROR {partial[case.name]['error'][:300]}")
        write()
    return partial


def train_case(models, case, tokenizer, hist, sizes, device, peak, seed, compiled: bool):
    backend = compiled if isinstance(compiled, str) else True
    from xtransfer.training.compiled import graphs_compiled

    if sizes.batch_cap is not None:
        case = Case(case.name, case.source, case.max_length, case.kind, sizes.batch_cap)
    n = sizes.steps * case.batch
    feats = synthetic_features(hist[case.source][str(case.max_length)], n, case.kind, seed, 4000)
    warm = feats[: sizes.warmup_steps * case.batch]

    def pick(steps: int) -> list[dict]:
        return feats if steps == sizes.steps else warm

    def xt(steps: int, model=models.eager, **over) -> dict[str, Any]:
        tcfg = trainer_config(**over)
        return measure(
            lambda: run_xtransfer(models, model, case, pick(steps), steps, tcfg, seed),
            pick(steps),
            models.info,
            device,
            peak,
        )

    def hf(steps: int) -> dict[str, Any]:
        tcfg = trainer_config()
        return measure(
            lambda: run_hf(models, case, pick(steps), steps, tcfg, tokenizer, seed, device),
            pick(steps),
            models.info,
            device,
            peak,
        )

    before = graphs_compiled()
    if compiled:
        arms = {
            "xtransfer_eager": xt,
            "xtransfer_compiled": lambda steps: xt(steps, models.compiled, compile=backend),
        }
    else:
        arms = {"xtransfer": xt, "hf_trainer_best": hf}
    log(f"case {case.name}: {case.kind}, batch {case.batch}, {n} examples")
    figures = interleaved(arms, sizes.rounds, sizes.warmup_steps, sizes.steps)
    result: dict[str, Any] = {
        **asdict(case),
        "examples": n,
        "optimizer_steps": sizes.steps,
        "mean_real_length": round(sum(len(f["input_ids"]) for f in feats) / n, 2),
        "arms": figures,
    }
    first, second = list(arms)
    if compiled:
        result["graphs_compiled_total"] = graphs_compiled() - before
    if first in figures and second in figures:
        ratio = figures[first]["real_tokens_per_s"] / figures[second]["real_tokens_per_s"]
        key = "compiled_vs_eager" if compiled else "xtransfer_vs_hf"
        result[key] = round(1 / ratio if compiled else ratio, 4)
    return result


def evaluation_section(models, hist, sizes, device, seed) -> dict[str, Any]:
    """``predict`` (prefetching, autocast, length-sorted batches) real tokens/s per case."""
    from omegaconf import OmegaConf

    from xtransfer.pipeline.run import get_accelerator
    from xtransfer.training.loop import predict

    accelerator = get_accelerator(OmegaConf.create({"precision": "auto"}))
    models.reset(models.eager)
    out: dict[str, Any] = {}
    for case in CASES:
        fmt = models.formats[case.kind]
        feats = synthetic_features(
            hist[case.source][str(case.max_length)], sizes.eval_examples, case.kind, seed + 1, 4000
        )
        tcfg = trainer_config()
        predict(models.eager, HEADS[case.kind], fmt, feats[:64], 64, accelerator, 1, None, tcfg)
        sync(device)
        start = time.perf_counter()
        predict(models.eager, HEADS[case.kind], fmt, feats, 64, accelerator, 1, None, tcfg)
        sync(device)
        wall = time.perf_counter() - start
        real = sum(len(f["input_ids"]) for f in feats)
        out[case.name] = {
            "examples": len(feats),
            "eval_batch_size": 64,
            "seconds": round(wall, 4),
            "real_tokens_per_s": round(real / wall, 1),
        }
    return out


def pipeline_section(sizes: Sizes, root: Path) -> dict[str, Any]:
    """pretrained -> mnli -> xnli on the demo data (tiny model), 50 steps per phase on a GPU."""
    from hydra import compose, initialize_config_dir

    from xtransfer.config import register_resolvers
    from xtransfer.hydra_app import CONFIG_DIR
    from xtransfer.pipeline.run import run_pipeline

    register_resolvers()
    overrides = [
        f"output_root={root}",
        f"trainer.max_train_examples={sizes.pipeline_examples}",
        "intermediate.tasks.mnli.epochs=1",
        "target.epochs=1",
    ]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    start = time.perf_counter()
    results = run_pipeline(cfg, root / "run")
    return {
        "overrides": overrides,
        "seconds": round(time.perf_counter() - start, 2),
        "precision": results.get("precision"),
        "phases": [
            {k: p.get(k) for k in ("name", "steps", "seconds", "best_dev", "reused")}
            for p in results["phases"]
        ],
        "avg_metric": results["summary"]["xnli"]["avg_metric"],
        "languages": results["summary"]["xnli"]["languages"],
    }


# --------------------------------------------------------------------------- the profile


def profile_entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The eager xtransfer figures as throughput-profile entries (128 -> classification,
    384 -> qa), in bench_profile's schema."""
    from bench_profile import entry_key

    env, training = data["environment"], data["training"]
    model = training["model"]
    evaluation = data.get("evaluation") or {}
    entries = []
    for case_name, fmt in (("128", "classification"), ("384", "qa")):
        case = training.get(case_name)
        if not case or "xtransfer" not in case.get("arms", {}):
            continue
        arm = case["arms"]["xtransfer"]
        entry = {
            "model": model["name"],
            "model_config": model["config"],
            "parameters": model["parameters"],
            "non_embedding_parameters": model["non_embedding_parameters"],
            "device": env["device"],
            "device_name": env["device_name"],
            "threads": None,
            "precision": "bf16" if env["accelerator_precision"] == "bf16" else "fp32",
            "compiled": False,
            "task_format": fmt,
            "batch_size": case["batch"],
            "max_length": case["max_length"],
            "mean_real_length": case["mean_real_length"],
            "train_real_tokens_per_s": arm["real_tokens_per_s"],
            "train_real_tokens_per_s_measured": arm["real_tokens_per_s"],
            "train_examples_per_s": arm["examples_per_s"],
            "train_model_flops_per_s": arm["model_tflops_per_s"] * 1e12,
            "eval_real_tokens_per_s": (evaluation.get(case_name) or {}).get("real_tokens_per_s"),
            "mfu": arm["mfu"],
            "peak_memory_bytes": arm["peak_memory_bytes"],
            "hf_trainer_best_real_tokens_per_s": case["arms"]
            .get("hf_trainer_best", {})
            .get("real_tokens_per_s"),
            "measured": {
                "bench_file": "scripts/gpu_check.py",
                "git_commit": env.get("git_commit"),
                "date": time.strftime("%Y-%m-%d"),
                "torch": env["torch"],
                "transformers": env["transformers"],
            },
        }
        entry["key"] = entry_key(entry)
        entries.append(entry)
    return entries


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """The figures of the issue's goals, for the profile and the log."""
    out: dict[str, Any] = {}
    for name, case in (data.get("training") or {}).items():
        if name == "model" or "arms" not in case:
            continue
        xt, hf = case["arms"].get("xtransfer", {}), case["arms"].get("hf_trainer_best", {})
        out[f"max_length_{name}"] = {
            "xtransfer_real_tokens_per_s": xt.get("real_tokens_per_s"),
            "hf_trainer_best_real_tokens_per_s": hf.get("real_tokens_per_s"),
            "xtransfer_vs_hf": case.get("xtransfer_vs_hf"),
            "xtransfer_mfu": xt.get("mfu"),
            "hf_mfu": hf.get("mfu"),
            "xtransfer_peak_memory_bytes": xt.get("peak_memory_bytes"),
            "hf_peak_memory_bytes": hf.get("peak_memory_bytes"),
            "xtransfer_data_wait_share": xt.get("data_wait_share"),
            "errors": case["arms"].get("errors"),
        }
    for name, case in (data.get("compiled") or {}).items():
        if name != "model" and "compiled_vs_eager" in case:
            out.setdefault(f"max_length_{name}", {})["compiled_vs_eager"] = case[
                "compiled_vs_eager"
            ]
    return out


def write_profile(data: dict[str, Any], profile: Path) -> int:
    from bench_profile import merge_entries

    entries = profile_entries(data)
    env = data["environment"]
    extra = {
        "gpu_check": {
            "device_name": env["device_name"],
            "peak_bf16_tflops": env["peak_bf16_tflops"],
            "date": time.strftime("%Y-%m-%d"),
            "git_commit": env.get("git_commit"),
            "summary": summary(data),
            "pipeline": data.get("pipeline"),
            "sections": data["sections"],
        }
    }
    merge_entries(profile, entries, extra if env["device"] == "cuda" else None)
    return len(entries)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--model", default=None, help="default: xlmr-large (cuda), mid (cpu)")
    parser.add_argument("--quick", action="store_true", help="smoke sizes (CPU test)")
    parser.add_argument("--budget-s", type=float, default=420.0, help="global time budget")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "bench-results/gpu_check.json")
    parser.add_argument(
        "--profile",
        default="auto",
        help="throughput profile to merge into: auto (the committed one on cuda, none on cpu), "
        "none, or a path",
    )
    parser.add_argument("--copy-profile-to", type=Path, default=None)
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--compile-backend", default="inductor", help="torch.compile backend of the compiled arm"
    )
    parser.add_argument("--skip", default="", help="comma-separated sections to skip")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch is imported
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    sys.path.insert(0, str(REPO_ROOT / "src"))
    model_name = args.model or ("xlmr-large" if args.device == "cuda" else "mid")
    sizes = QUICK_SIZES if args.quick else GPU_SIZES
    skip = {s for s in args.skip.split(",") if s}
    budget = Budget(args.budget_s)
    report = Report(args.output, budget)
    report.data.update(model=model_name, quick=args.quick, sizes=asdict(sizes))

    env = report.section("environment", 0, lambda: environment(args.device, args.peak_tflops))
    if env is None:
        return 1
    if args.device == "cuda" and env["device"] != "cuda":
        log("no CUDA device")
    from bench import TINY_DIR

    from xtransfer.training.model import load_tokenizer

    tokenizer = load_tokenizer(str(TINY_DIR))
    hist = load_histograms()
    gc.collect()
    gc.freeze()  # long-lived objects out of the collector: every run's gc.collect() stays cheap
    peak = env["peak_bf16_tflops"]
    holder: dict[str, Models] = {}

    def models() -> Models:
        if "m" not in holder:
            holder["m"] = Models(model_name, tokenizer, args.device, args.seed)
        return holder["m"]

    # What each section (training: each case) needs, at least, to be worth starting (seconds).
    need = {"training": 25, "evaluation": 15, "pipeline": 45, "compiled": 100}
    if args.quick:
        need = dict.fromkeys(need, 0)

    def training(name: str, compiled: bool | str) -> Callable[[], Any]:
        def run() -> Any:
            partial = report.data.setdefault(name, {})
            partial["_write"] = report.write
            return training_section(
                models(),
                tokenizer,
                hist,
                sizes,
                args.device,
                peak,
                args.seed,
                compiled,
                budget,
                need[name],
                partial,
            )

        return run

    if "training" not in skip:
        report.section("training", need["training"], training("training", False))
    if "evaluation" not in skip:
        report.section(
            "evaluation",
            need["evaluation"],
            lambda: evaluation_section(models(), hist, sizes, args.device, args.seed),
        )
    if "pipeline" not in skip:
        with tempfile.TemporaryDirectory(prefix="xtransfer-gpu-check-run-") as tmp:
            report.section("pipeline", need["pipeline"], lambda: pipeline_section(sizes, Path(tmp)))
    if "compiled" not in skip:
        report.section("compiled", need["compiled"], training("compiled", args.compile_backend))
    report.data["summary"] = summary(report.data) if "training" in report.data else {}
    profile = None
    if args.profile == "auto":
        profile = DEFAULT_PROFILE if env["device"] == "cuda" else None
    elif args.profile != "none":
        profile = Path(args.profile)
    if profile is not None and "training" in report.data:
        try:
            n = write_profile(report.data, profile)
            report.data["profile"] = {"path": str(profile), "entries_written": n}
            if args.copy_profile_to is not None:
                args.copy_profile_to.parent.mkdir(parents=True, exist_ok=True)
                args.copy_profile_to.write_bytes(profile.read_bytes())
        except Exception as error:
            report.data["profile"] = {"error": f"{type(error).__name__}: {error}"}
    report.write()
    print(json.dumps(report.data.get("summary", {}), indent=2))
    log(f"written {args.output} ({report.data['elapsed_s']} s)")
    failed = [k for k, v in report.data["sections"].items() if v["status"] == "error"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
