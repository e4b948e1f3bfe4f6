#!/usr/bin/env python
"""xtransfer performance benchmark (issue #8): one command, one process, ratios side by side.

Usage::

    python scripts/bench.py                       # CPU: tiny + mid-size model (< 10 min, 2 cores)
    python scripts/bench.py --quick               # smoke sizes (< 60 s), used by the test suite
    python scripts/bench.py --model xlmr-large --device cuda [--compile]   # GPU mode
    python scripts/bench.py --sections training,padding --output my.json

Every comparison runs in this one process, on the same model, data and number of examples, and
the arms are interleaved (round-robin, order rotated every round) so that a burst of load from
other processes on a shared machine hits every arm alike. Absolute figures on a shared machine
are noisy; the **ratios** are what to compare across commits. The JSON summary is printed on
stdout (progress goes to stderr) and written to ``--output`` (default
``bench-results/bench-<device>-<models>[-compile][-quick].json``, no timestamp: the same command
rewrites the same file, so copy it aside to compare two commits). ``summary_ratios`` lists every
ratio by its dotted path.

Clocks and threads (CPU): torch, BLAS and faiss run on ``--threads`` threads, 1 by default, and
seconds are this process's CPU time (``clock: "cpu"``; wall time is recorded beside it). On a
shared, oversubscribed machine OpenMP barriers make 2-thread runs up to 10x slower and erratic,
and wall time mostly measures the other tenants; single-threaded CPU time measures the work.
With ``--threads 0`` (libraries' default) or on CUDA the clock is wall time, with the GPU
synchronised around every timed block. Each figure is the best of the interleaved rounds.

GPU mode (``--device cuda``, default model ``xlmr-large``): bf16 autocast (xtransfer through its
Accelerator's ``mixed_precision``, HF through ``bf16=True``), SDPA attention, fused AdamW (what
``make_optimizer`` picks on CUDA and HF's default ``adamw_torch_fused``), optional ``--compile``
(``nn.Module.compile`` in place on the shared model, compiled during the untimed warm-up), MFU
against ``--peak-tflops`` (default 989, H100 SXM dense bf16) and peak memory per arm
(``torch.cuda.max_memory_allocated``). ``--device cpu`` hides the GPUs from this process.

Sections (``--sections``, default all):

``training``
    Training throughput of ``xtransfer.training.loop.train`` (length-grouped dynamic batches)
    against two ``transformers.Trainer`` baselines: the HF example scripts' default (random
    order, every example padded to ``max_length`` 128 / 384 at preprocessing, as ``run_glue`` /
    ``run_qa`` do with ``pad_to_max_length``) and ``Trainer`` with group-by-length sampling and
    ``DataCollatorWithPadding``. All three train *the same* ``TaskModel`` object (reset to the
    same initial weights before every run): the baselines see it through a thin adapter whose
    ``forward`` returns the loss computed by the xtransfer task format, so the FLOPs per token are
    identical by construction (and equal to ``XLMRobertaForSequenceClassification`` /
    ``...ForQuestionAnswering``, whose heads have the same layers). Same examples (one epoch of
    ``steps * batch`` examples sampled from real data), same optimizer steps, same batch size,
    same hyperparameters (the X-STILTs preset); each library keeps its own optimizer default
    (HF: ``args.optim``, recorded). Reported: examples/s, real (non-pad) tokens/s, processed
    tokens/s, padding efficiency, time spent collating, the share of step time spent waiting
    for data (``data_wait_share``), model TFLOP/s, MFU (with a peak) and, on
    CUDA, peak memory. A short epoch is not a full-size training set for the samplers (HF's
    mega-batch is ``min(n // (4 batch), 50)`` batches, so on a few hundred examples it barely
    groups at all), hence also ``projected_real_tokens_per_s``: the measured work rate
    (processed tokens/s) times the batching's padding efficiency on the whole data set.
``padding``
    Padding efficiency (real tokens / processed tokens) of the three batchings on full-size
    length distributions: Tatoeba (source sentence + its English translation as an NLI-like
    pair, max length 128), XQuAD question + paragraph windows (max length 384, stride 128, the
    project's own featuriser) and synthetic MNLI-like pairs. The HF grouping is transformers'
    own ``get_length_grouped_indices``.
``evaluation``
    Zero-shot evaluation of a QA model over the 12 XQuAD languages: xtransfer's ``predict``
    (one model load, length-sorted dynamic batches) vs. a per-language reload with every window
    padded to 384 (how one ``run_qa.py`` invocation per language works). Interleaved language by
    language; final answers of both arms are compared.
``retrieval``
    BUCC-style margin mining (``mine_pairs``, ratio margin, k=4, "max" mode) on n x n random
    unit vectors (dim 1024, 2 % planted noisy translation pairs) vs. exact brute force (plain
    matmul + top-k): time, k-NN recall of the miner against the exact neighbours, and recall of
    the planted pairs. On CPU the exact search runs on a random sample of queries (both
    directions) and its full-size time is extrapolated; on CUDA it runs on every query.
``cli``
    Start-up wall time of ``xtransfer --help`` and ``xtransfer score`` (on the XTREME mock
    submission), best of N subprocess runs, next to ``python -c pass`` and ``import torch``.
``diagnostics``
    AdamW step time of xtransfer's ``make_optimizer`` vs. the fused AdamW that HF uses by default,
    per model (a possible cause of a gap between the loops).

Token counts always come from the embedded tiny tokenizer (the XLM-R tokenizer is not available
offline); bigger models are built from an ``XLMRobertaConfig`` with random weights and take the
same token ids. Model FLOPs per sequence of length T: ``6 N T + 12 L H T^2`` (N = non-embedding
parameters, L layers, H hidden size; PaLM appendix B), counted on real lengths for MFU and on
padded lengths for the hardware figure.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data"
TINY_DIR = REPO_ROOT / "src" / "xtransfer" / "assets" / "tiny-xlmr"
SECTIONS = ("training", "padding", "evaluation", "retrieval", "cli", "diagnostics")
XQUAD_LANGS = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
H100_BF16_DENSE_TFLOPS = 989.0

# XLM-R encoder shapes. "tiny" is read from the embedded asset; "mid" is the CPU stand-in for a
# real model (4 layers, hidden 256) and keeps the tiny tokenizer's vocabulary so that its
# embedding matrix (and AdamW update) stays proportionate; base/large are the published configs.
MODEL_SHAPES: dict[str, dict[str, int] | None] = {
    "tiny": None,
    "mid": {
        "num_hidden_layers": 4,
        "hidden_size": 256,
        "num_attention_heads": 4,
        "intermediate_size": 1024,
    },
    "xlmr-base": {
        "num_hidden_layers": 12,
        "hidden_size": 768,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "vocab_size": 250002,
    },
    "xlmr-large": {
        "num_hidden_layers": 24,
        "hidden_size": 1024,
        "num_attention_heads": 16,
        "intermediate_size": 4096,
        "vocab_size": 250002,
    },
}

# Optimizer steps per training run, by model (CPU sizes keep the default run under 10 minutes
# on 2 shared cores; GPU runs are long enough for a stable steady state).
CPU_TRAIN_STEPS = {"tiny": 24, "mid": 6, "xlmr-base": 2, "xlmr-large": 1}
GPU_TRAIN_STEPS = {"tiny": 100, "mid": 100, "xlmr-base": 60, "xlmr-large": 40}
# QA steps carry ~3x (dynamic) to 6x (padded) the tokens of a classification step.
CPU_QA_STEPS = {"tiny": 6, "mid": 2, "xlmr-base": 1, "xlmr-large": 1}
GPU_QA_STEPS = {"tiny": 50, "mid": 50, "xlmr-base": 30, "xlmr-large": 20}

# Interleaved rounds per comparison on CPU: cheap models get more, to beat the noise.
CPU_REPEATS = {"tiny": 3, "mid": 2, "xlmr-base": 1, "xlmr-large": 1}

ARMS = ("xtransfer", "hf_pad_to_max", "hf_group_by_length")


def log(message: str) -> None:
    """Progress goes to stderr so that stdout carries only the JSON summary."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- settings


@dataclass
class Settings:
    device: str
    models: list[str]
    quick: bool
    sections: list[str]
    data_dir: Path
    seed: int
    repeats: dict[str, int]
    train_steps: dict[str, int]
    qa_steps: dict[str, int]
    qa_train_models: list[str]
    threads: int = 1
    cls_batch: int = 32
    qa_batch: int = 16
    cls_max_length: int = 128
    qa_max_length: int = 384
    tatoeba_per_lang: int | None = None
    xquad_per_lang: int | None = 200
    synthetic_pairs: int = 20_000
    eval_model: str = "tiny"
    eval_per_lang: int | None = 20
    eval_batch: int = 64
    retrieval_size: int = 20_000
    retrieval_dim: int = 1024
    retrieval_sample: int = 1000
    retrieval_planted: float = 0.02
    cli_runs: int = 3
    peak_tflops: float | None = None
    compile: bool = False
    precision: str = "no"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="xtransfer benchmark: throughput, padding, evaluation, retrieval and CLI "
        "start-up, as ratios measured side by side in one process.",
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--model",
        default=None,
        help="comma-separated models: tiny, mid, xlmr-base, xlmr-large "
        "(default: tiny,mid on CPU, xlmr-large on CUDA; --quick: tiny)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke sizes (< 60 s)")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)}",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="JSON file (default bench-results/bench-<device>-<models>.json)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="also merge the training figures into this throughput profile "
        "(e.g. src/xtransfer/reporting/throughput_profile.json)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA,
        help="the shared real data (tatoeba/, xquad/, xtreme-mock/)",
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="interleaved rounds per training comparison (best is reported)",
    )
    parser.add_argument(
        "--train-steps",
        type=int,
        default=None,
        help="optimizer steps per training run (default: per model and device)",
    )
    parser.add_argument(
        "--qa-train-models",
        default=None,
        help="models that also get the QA (384) training comparison "
        "(default: tiny on CPU, all on CUDA; 'none' to skip)",
    )
    parser.add_argument(
        "--xquad-per-lang",
        type=int,
        default=None,
        help="XQuAD questions per language for the padding statistics "
        "(default 200 on CPU, all on CUDA)",
    )
    parser.add_argument(
        "--eval-model",
        default=None,
        help="model of the evaluation section (default: the first model)",
    )
    parser.add_argument(
        "--eval-per-lang",
        type=int,
        default=None,
        help="XQuAD questions per language in the evaluation section "
        "(default 20 on CPU, all on CUDA)",
    )
    parser.add_argument(
        "--retrieval-size",
        type=int,
        default=None,
        help="n for the n x n mining (default 20000 on CPU, 100000 on CUDA; "
        "100000 on 2 CPU cores takes about half an hour)",
    )
    parser.add_argument(
        "--retrieval-sample",
        type=int,
        default=None,
        help="queries per direction checked by exact brute force on CPU",
    )
    parser.add_argument("--cli-runs", type=int, default=None, help="best of N (default 3)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for torch, BLAS and faiss (default 1 on CPU: on a shared, "
        "oversubscribed machine OpenMP's barriers make 2 threads 10x slower and erratic; "
        "0 = the libraries' default, the default with --device cuda)",
    )
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=None,
        help=f"peak dense TFLOP/s for MFU (default {H100_BF16_DENSE_TFLOPS} on "
        "CUDA = H100 SXM bf16; none on CPU)",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the model (in place, shared by all arms)",
    )
    return parser.parse_args(argv)


def make_settings(args: argparse.Namespace) -> Settings:
    cuda = args.device == "cuda"
    if args.model:
        models = [m.strip() for m in args.model.split(",") if m.strip()]
    else:
        models = ["tiny"] if args.quick else (["xlmr-large"] if cuda else ["tiny", "mid"])
    unknown = [m for m in models if m not in MODEL_SHAPES]
    if unknown:
        raise SystemExit(f"unknown model(s) {unknown}; choose from {sorted(MODEL_SHAPES)}")
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        raise SystemExit(f"unknown section(s) {bad}; choose from {','.join(SECTIONS)}")
    table = GPU_TRAIN_STEPS if cuda else CPU_TRAIN_STEPS
    steps = {m: (args.train_steps or (2 if args.quick else table[m])) for m in models}
    qa_table = GPU_QA_STEPS if cuda else CPU_QA_STEPS
    qa_steps = {m: (args.train_steps or (2 if args.quick else qa_table[m])) for m in models}
    if args.qa_train_models is not None:
        qa_models = [] if args.qa_train_models == "none" else args.qa_train_models.split(",")
    else:
        qa_models = list(models) if cuda else [m for m in models if m == "tiny"]
    s = Settings(
        device=args.device,
        models=models,
        quick=args.quick,
        sections=sections,
        data_dir=args.data_dir,
        seed=args.seed,
        repeats={
            m: args.repeats or (1 if args.quick else (3 if cuda else CPU_REPEATS[m]))
            for m in models
        },
        train_steps=steps,
        qa_steps=qa_steps,
        threads=args.threads if args.threads is not None else (0 if cuda else 1),
        qa_train_models=[m for m in qa_models if m in models],
        eval_model=args.eval_model or models[0],
        compile=args.compile,
        precision="bf16" if cuda else "no",
    )
    s.peak_tflops = (
        args.peak_tflops if args.peak_tflops else (H100_BF16_DENSE_TFLOPS if cuda else None)
    )
    if args.quick:
        s.tatoeba_per_lang, s.xquad_per_lang, s.synthetic_pairs = 100, 16, 2000
        s.eval_per_lang, s.retrieval_size, s.retrieval_sample = 2, 2000, 200
        s.cli_runs = 1
    elif cuda:
        s.xquad_per_lang, s.eval_per_lang, s.retrieval_size = None, None, 100_000
    if args.xquad_per_lang is not None:
        s.xquad_per_lang = args.xquad_per_lang
    if args.eval_per_lang is not None:
        s.eval_per_lang = args.eval_per_lang
    if args.retrieval_size is not None:
        s.retrieval_size = args.retrieval_size
    if args.retrieval_sample is not None:
        s.retrieval_sample = args.retrieval_sample
    if args.cli_runs is not None:
        s.cli_runs = args.cli_runs
    return s


def default_output(s: Settings) -> Path:
    # Timestamp-free on purpose: the same command overwrites the same file, so results of two
    # commits are compared by name (copy or diff the file between runs).
    name = f"bench-{s.device}-{'+'.join(s.models)}"
    if s.compile:
        name += "-compile"
    if s.quick:
        name += "-quick"
    return REPO_ROOT / "bench-results" / f"{name}.json"


# --------------------------------------------------------------------------- small helpers


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or not math.isfinite(a) or not math.isfinite(b):
        return None
    return a / b


def rnd(x: float | None, digits: int = 4) -> float | None:
    if x is None:
        return None
    return float(f"{x:.{digits}g}") if x != 0 else 0.0


def sync(device: str) -> None:
    """Waits for queued GPU work so that a timer measures it (no-op on CPU)."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


class Stopwatch:
    """Wall time and this process's CPU time of a block (GPU work waited for).

    On a shared CPU machine wall time includes the time other processes held our core; with
    one thread, process CPU time is the work itself and is far steadier, so CPU-mode ratios use
    it (``primary_clock``). On CUDA the work is on the GPU: wall time."""

    def __init__(self, device: str):
        self.device = device
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Stopwatch:
        sync(self.device)
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        sync(self.device)
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu


def primary_clock(s: Settings) -> str:
    """ "cpu" (process CPU seconds) for single-threaded CPU runs, else "wall"."""
    return "cpu" if s.device == "cpu" and s.threads == 1 else "wall"


@contextlib.contextmanager
def clean_heap() -> Iterator[None]:
    """Both loops call gc.collect() once per run (accelerate's ``free_memory``), whose cost grows
    with the objects the collector tracks. The benchmark's own corpora and libraries are frozen
    out of it once (``freeze_long_lived``); collecting here first leaves every timed run the
    same, small amount of work for that call."""
    gc.collect()
    yield


def freeze_long_lived() -> None:
    """Moves everything alive now (corpora, tokenizer, imported libraries, all kept until exit)
    to the collector's permanent generation."""
    gc.collect()
    gc.freeze()


def free_memory(device: str) -> None:
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


def reset_peak_memory(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats()


def peak_memory(device: str) -> int | None:
    if device == "cuda":
        import torch

        return int(torch.cuda.max_memory_allocated())
    return None


def rss_peak_bytes() -> int:
    # ru_maxrss is KiB on Linux (bytes on macOS); the benchmark targets Linux machines.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def git_state() -> dict[str, Any]:
    """The commit measured (and whether the tree had local changes): results are compared
    across commits. Read-only git calls."""

    def run(*cmd: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *cmd], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    status = run("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": run("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def walk_ratios(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every value under a ``ratios`` key, with its dotted path (for the summary and tests)."""
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "ratios" and isinstance(value, Mapping):
                yield from flatten(value, path)
            else:
                yield from walk_ratios(value, path)


def flatten(obj: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in obj.items():
        path = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            yield from flatten(value, path)
        else:
            yield path, value


# --------------------------------------------------------------------------- data


def read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def tatoeba_pairs(data_dir: Path, per_lang: int | None) -> list[tuple[str, str, str]]:
    """(language, sentence, its English translation) for every Tatoeba language."""
    folder = data_dir / "tatoeba"
    pairs: list[tuple[str, str, str]] = []
    for eng_file in sorted(folder.glob("tatoeba.*-eng.eng")):
        lang = eng_file.name.split(".")[1].split("-")[0]
        src = read_lines(folder / f"tatoeba.{lang}-eng.{lang}")
        eng = read_lines(eng_file)
        rows = list(zip(src, eng, strict=True))[:per_lang]
        pairs.extend((lang, a, b) for a, b in rows)
    if not pairs:
        raise SystemExit(f"no Tatoeba files under {folder} (see --data-dir)")
    return pairs


def xquad_rows(data_dir: Path, per_lang: int | None, seed: int) -> dict[str, list[dict]]:
    """A seeded random sample of ``per_lang`` questions per XQuAD language (all if None)."""
    from xtransfer.data.squad_json import read_squad_json

    out: dict[str, list[dict]] = {}
    for lang in XQUAD_LANGS:
        path = data_dir / "xquad" / f"xquad.{lang}.json"
        if not path.is_file():
            raise SystemExit(f"{path} not found (see --data-dir)")
        rows = read_squad_json(path)
        if per_lang is not None and per_lang < len(rows):
            # Sample the whole file (the first questions cluster on a few paragraphs), in random
            # order, so that any prefix of the sample is a random sample too.
            picked = random.Random(f"{seed}-{lang}").sample(range(len(rows)), per_lang)
            rows = [rows[i] for i in picked]
        out[lang] = rows
    return out


def synthetic_nli_rows(n: int, tokenizer, seed: int) -> list[dict]:
    """MNLI-like pairs with a controlled token-length distribution.

    Premise and hypothesis token counts are modelled on MNLI under a BPE/SentencePiece tokenizer
    (premise median 24 tokens, lognormal sigma 0.5; hypothesis median 12, sigma 0.4; ~44 tokens
    per pair with the 4 special tokens). Words are the tiny tokenizer's own whole-word pieces,
    so each word is exactly one token and the counts survive tokenisation (the tiny tokenizer
    splits arbitrary English into ~4 pieces per word, which would truncate nearly every pair).
    """
    import numpy as np

    words = np.asarray(
        sorted(
            piece[1:]
            for piece in tokenizer.get_vocab()
            if piece.startswith("\u2581") and len(piece) > 2 and piece[1:].isalpha()
        )
    )
    rng = np.random.default_rng(seed)
    premise_len = np.clip(np.rint(rng.lognormal(math.log(24), 0.5, n)), 3, 250).astype(int)
    hypo_len = np.clip(np.rint(rng.lognormal(math.log(12), 0.4, n)), 2, 60).astype(int)
    labels = rng.integers(0, 3, n)
    return [
        {
            "text_a": " ".join(words[rng.integers(0, len(words), premise_len[i])]),
            "text_b": " ".join(words[rng.integers(0, len(words), hypo_len[i])]),
            "label": int(labels[i]),
        }
        for i in range(n)
    ]


@dataclass
class Corpus:
    """Featurised data shared by the sections (featurisation is never timed)."""

    tokenizer: Any
    cls_fmt: Any
    qa_fmt: Any
    tatoeba: list[dict] = field(default_factory=list)
    synthetic: list[dict] = field(default_factory=list)
    xquad_rows: dict[str, list[dict]] = field(default_factory=dict)
    xquad_features: dict[str, list[dict]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def build_corpus(s: Settings) -> Corpus:
    from xtransfer.tasks.formats.classification import ClassificationFormat
    from xtransfer.tasks.formats.span_qa import SpanQAFormat
    from xtransfer.tasks.registry import get_task
    from xtransfer.training.model import load_tokenizer

    if not TINY_DIR.is_dir():
        raise SystemExit(f"{TINY_DIR} not found: run `make assets` first")
    tokenizer = load_tokenizer(str(TINY_DIR))
    corpus = Corpus(
        tokenizer, ClassificationFormat(get_task("xnli")), SpanQAFormat(get_task("xquad"))
    )
    needs_cls = {"training", "padding"} & set(s.sections)
    needs_qa = {"training", "padding", "evaluation"} & set(s.sections)
    if needs_cls:
        t0 = time.perf_counter()
        pairs = tatoeba_pairs(s.data_dir, s.tatoeba_per_lang)
        labels = random.Random(s.seed)
        rows = [{"text_a": a, "text_b": b, "label": labels.randrange(3)} for _, a, b in pairs]
        corpus.tatoeba = corpus.cls_fmt.featurize(rows, tokenizer, s.cls_max_length)
        synthetic = synthetic_nli_rows(s.synthetic_pairs, tokenizer, s.seed)
        corpus.synthetic = corpus.cls_fmt.featurize(synthetic, tokenizer, s.cls_max_length)
        corpus.timings["featurize_classification_s"] = time.perf_counter() - t0
    if needs_qa:
        t0 = time.perf_counter()
        # One random sample per language serves every section: the largest size any needs.
        wanted = []
        if {"training", "padding"} & set(s.sections):
            wanted.append(s.xquad_per_lang)
        if "evaluation" in s.sections:
            wanted.append(s.eval_per_lang)
        per_lang = None if None in wanted else max(wanted)
        corpus.xquad_rows = xquad_rows(s.data_dir, per_lang, s.seed)
        with quiet_logging():
            corpus.xquad_features = {
                lang: corpus.qa_fmt.featurize(rows, tokenizer, s.qa_max_length)
                for lang, rows in corpus.xquad_rows.items()
            }
        corpus.timings["featurize_xquad_s"] = time.perf_counter() - t0
    return corpus


@contextlib.contextmanager
def quiet_logging() -> Iterator[None]:
    """Silences the QA featuriser's per-split answer report (XQuAD has a few moved answers)."""
    import logging

    logger = logging.getLogger("xtransfer")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


# --------------------------------------------------------------------------- models


@dataclass
class ModelInfo:
    name: str
    config: dict[str, Any]
    parameters: int
    non_embedding_parameters: int
    layers: int
    hidden: int

    def flops(self, length: int) -> float:
        """Training FLOPs (forward + backward) of one sequence of ``length`` tokens."""
        return 6.0 * self.non_embedding_parameters * length + 12.0 * self.layers * (
            self.hidden * length * length
        )


def build_encoder(name: str, tokenizer, seed: int):
    """The encoder of ``name`` with random weights under ``seed`` (as the pipeline does for the
    tiny model: ``build_pretrained_encoder``)."""
    from transformers import AutoModel, XLMRobertaConfig

    from xtransfer.training.model import build_pretrained_encoder

    if name == "tiny":
        return build_pretrained_encoder(
            {"pretrained": None, "config_dir": str(TINY_DIR), "attn_implementation": "sdpa"}, seed
        )
    shape = dict(MODEL_SHAPES[name] or {})
    shape.setdefault("vocab_size", len(tokenizer))
    config = XLMRobertaConfig(
        max_position_embeddings=514,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        **shape,
    )
    import torch

    torch.manual_seed(seed)
    return AutoModel.from_config(config, add_pooling_layer=False, attn_implementation="sdpa")


def model_info(name: str, encoder) -> ModelInfo:
    cfg = encoder.config
    total = sum(p.numel() for p in encoder.parameters())
    # The transformer layers do the per-token matmuls; embeddings are lookups.
    non_emb = sum(p.numel() for p in encoder.encoder.parameters())
    keys = (
        "num_hidden_layers",
        "hidden_size",
        "num_attention_heads",
        "intermediate_size",
        "vocab_size",
        "max_position_embeddings",
    )
    return ModelInfo(
        name,
        {k: getattr(cfg, k) for k in keys},
        total,
        non_emb,
        cfg.num_hidden_layers,
        cfg.hidden_size,
    )


def build_task_model(name: str, fmt, head: str, tokenizer, seed: int, dropout: float):
    from xtransfer.training.model import TaskModel

    encoder = build_encoder(name, tokenizer, seed)
    info = model_info(name, encoder)
    model = TaskModel(encoder, {head: fmt.make_head(encoder.config.hidden_size, dropout)})
    return model, info


def snapshot(model) -> dict[str, Any]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def reset_model(model, state: Mapping[str, Any]) -> None:
    """Same initial weights for every run; drops the forward wrapper that accelerate's
    ``prepare`` installs on the instance under mixed precision (each run installs its own)."""
    model.__dict__.pop("forward", None)
    model.__dict__.pop("_original_forward", None)
    model.load_state_dict(state)
    model.zero_grad(set_to_none=True)
    model.train()


def maybe_compile(model, s: Settings) -> None:
    if s.compile:
        import torch

        if not hasattr(torch.nn.Module, "compile"):
            raise SystemExit("--compile needs torch >= 2.2 (nn.Module.compile)")
        # In place, so that parameter names (AdamW decay groups) and the object every arm
        # trains stay the same; dynamic shapes because two arms pad per batch.
        model.compile(dynamic=True)


# --------------------------------------------------------------------------- counting


@dataclass
class Counter:
    """Work actually done by one run, counted at the collate boundary of each loop."""

    batches: int = 0
    examples: int = 0
    real_tokens: int = 0
    processed_tokens: int = 0
    real_flops: float = 0.0
    processed_flops: float = 0.0
    collate_s: float = 0.0

    def add(self, lengths: Sequence[int], padded_length: int, info: ModelInfo) -> None:
        self.batches += 1
        self.examples += len(lengths)
        self.real_tokens += sum(lengths)
        self.processed_tokens += padded_length * len(lengths)
        self.real_flops += sum(info.flops(n) for n in lengths)
        self.processed_flops += info.flops(padded_length) * len(lengths)


class CountingFormat:
    """The xtransfer task format with a counting ``collate``; everything else is delegated."""

    def __init__(self, fmt, counter: Counter, info: ModelInfo):
        self._fmt, self._counter, self._info = fmt, counter, info

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fmt, name)

    def collate(self, features, pad_id):
        t0 = time.perf_counter()
        batch = self._fmt.collate(features, pad_id)
        self._counter.collate_s += time.perf_counter() - t0
        self._counter.add(
            [len(f["input_ids"]) for f in features], batch["input_ids"].shape[1], self._info
        )
        return batch


class CountingCollator:
    """Wraps an HF data collator the same way."""

    def __init__(self, inner: Callable, counter: Counter, info: ModelInfo):
        self._inner, self._counter, self._info = inner, counter, info

    def __call__(self, features):
        t0 = time.perf_counter()
        batch = self._inner(features)
        self._counter.collate_s += time.perf_counter() - t0
        self._counter.add(
            [int(sum(f["attention_mask"])) for f in features],
            batch["input_ids"].shape[1],
            self._info,
        )
        return batch


# --------------------------------------------------------------------------- training arms


def trainer_config(s: Settings) -> dict[str, Any]:
    """The X-STILTs preset (SPEC §6) as shipped, with what a timing run must not do switched
    off: no resume checkpoints, no dev evaluation (there is no dev set)."""
    from omegaconf import OmegaConf

    import xtransfer

    path = Path(xtransfer.__file__).parent / "conf" / "trainer" / "xstilts.yaml"
    cfg = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    assert isinstance(cfg, dict)
    cfg.pop("defaults", None)
    cfg.update(
        save_every_steps=0, eval_every_epoch=False, debug_kill_at_step=None, precision=s.precision
    )
    return cfg


def get_accelerator(s: Settings):
    """xtransfer's process-wide Accelerator (the one the pipeline uses)."""
    from omegaconf import OmegaConf

    from xtransfer.pipeline.run import get_accelerator as project_accelerator

    return project_accelerator(OmegaConf.create({"precision": s.precision}))


@dataclass
class RunResult:
    wall_s: float
    cpu_s: float
    counter: Counter
    final_loss: float | None
    peak_memory_bytes: int | None
    # Wall time the training loop's main thread waited for batches (xtransfer: its own count,
    # collating or blocked on the prefetch queue; HF with 0 workers: its synchronous collates).
    data_wait_s: float | None = None


def run_xtransfer(
    model,
    fmt,
    head: str,
    features: Sequence[dict],
    batch: int,
    steps: int,
    info: ModelInfo,
    s: Settings,
    tcfg: dict[str, Any],
    pad_id: int,
) -> RunResult:
    import inspect

    from xtransfer.training import loop
    from xtransfer.training.events import EventLog

    counter = Counter()
    counted = CountingFormat(fmt, counter, info)
    accelerator = get_accelerator(s)
    params = inspect.signature(loop.train).parameters
    reset_peak_memory(s.device)
    with clean_heap(), Stopwatch(s.device) as watch:
        if "streams" in params:
            stream = loop.TaskStream(head=head, fmt=counted, features=features, batch_size=batch)
            schedule = loop.Schedule(total_steps=steps, eval_every=steps, probabilities=[1.0])
            stats = loop.train(
                model,
                [stream],
                schedule,
                tcfg,
                accelerator,
                s.seed,
                pad_id,
                EventLog(None),
                desc="xtransfer",
                resume_dir=None,
            )
        else:
            # Earlier commits: one task per call, length from phase settings (epochs x n).
            stats = loop.train(
                model,
                head,
                counted,
                features,
                None,
                {"batch_size": batch, "epochs": 1},
                tcfg,
                accelerator,
                s.seed,
                pad_id,
                EventLog(None),
                desc="xtransfer",
                resume_dir=None,
            )
    if stats.steps != steps:
        raise RuntimeError(f"xtransfer ran {stats.steps} optimizer steps, expected {steps}")
    wait = getattr(stats, "data_wait_s", None)  # absent before the prefetching loop
    return RunResult(
        watch.wall, watch.cpu, counter, float(stats.final_loss), peak_memory(s.device), wait
    )


class ListDataset:
    """A map-style dataset over a list (what ``Trainer`` needs: ``__len__``/``__getitem__``)."""

    def __init__(self, items: Sequence[dict]):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


def hf_adapter(model, fmt, head: str):
    """The TaskModel as ``Trainer`` expects a model: keyword batch in, ``{"loss", "logits"}``
    out, the loss computed by the xtransfer format (same FLOPs as the xtransfer arm)."""
    import torch

    class TaskModelForTrainer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self, input_ids, attention_mask, labels=None, start_positions=None, end_positions=None
        ):
            batch = {"input_ids": input_ids, "attention_mask": attention_mask}
            if labels is not None:
                batch["labels"] = labels
            if start_positions is not None:
                batch["start_positions"], batch["end_positions"] = start_positions, end_positions
            logits = self.model(head, input_ids=input_ids, attention_mask=attention_mask)
            return {"loss": fmt.loss(logits, batch), "logits": logits}

    return TaskModelForTrainer()


def hf_items(features: Sequence[dict], kind: str, pad_id: int, max_length: int | None) -> list:
    """Trainer dataset items as the HF example scripts build them: tokenizer output
    (``input_ids`` + ``attention_mask``) plus labels; ``max_length`` pre-pads every item at
    preprocessing time (``pad_to_max_length``), as ``run_glue.py``/``run_qa.py`` do by default."""
    items = []
    for f in features:
        ids = list(f["input_ids"])
        mask = [1] * len(ids)
        if max_length is not None:
            pad = max_length - len(ids)
            ids, mask = ids + [pad_id] * pad, mask + [0] * pad
        item: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if kind == "classification":
            item["labels"] = f["label"]
        else:
            item["start_positions"] = f["start_position"]
            item["end_positions"] = f["end_position"]
        items.append(item)
    return items


def run_hf(
    model,
    fmt,
    head: str,
    features: Sequence[dict],
    kind: str,
    batch: int,
    steps: int,
    info: ModelInfo,
    s: Settings,
    tcfg: dict[str, Any],
    tokenizer,
    grouped: bool,
    max_length: int,
) -> tuple[RunResult, dict[str, Any]]:
    import inspect

    from transformers import (
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        default_data_collator,
    )

    params = inspect.signature(TrainingArguments.__init__).parameters
    counter = Counter()
    with tempfile.TemporaryDirectory(prefix="xtransfer-bench-hf-") as tmp:
        kwargs: dict[str, Any] = dict(
            output_dir=tmp,
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=1,
            max_steps=steps,
            learning_rate=float(tcfg["lr"]),
            weight_decay=float(tcfg["weight_decay"]),
            adam_beta1=float(tcfg["adam_betas"][0]),
            adam_beta2=float(tcfg["adam_betas"][1]),
            adam_epsilon=float(tcfg["adam_eps"]),
            max_grad_norm=float(tcfg["max_grad_norm"]),
            lr_scheduler_type="linear",
            save_strategy="no",
            report_to="none",
            seed=s.seed,
            dataloader_num_workers=0,
            bf16=s.precision == "bf16",
        )
        # Warm-up and grouping are spelled differently across transformers versions.
        if "warmup_ratio" in params:
            kwargs["warmup_ratio"] = float(tcfg["warmup_ratio"])
        else:
            kwargs["warmup_steps"] = float(tcfg["warmup_ratio"])  # v5: a float < 1 is a ratio
        if grouped:
            if "train_sampling_strategy" in params:
                kwargs["train_sampling_strategy"] = "group_by_length"
            else:
                kwargs["group_by_length"] = True
        if "use_cpu" in params:
            kwargs["use_cpu"] = s.device == "cpu"
        args = TrainingArguments(**kwargs)
        if grouped:
            items = hf_items(features, kind, tokenizer.pad_token_id, None)
            inner = DataCollatorWithPadding(tokenizer)
        else:
            items = hf_items(features, kind, tokenizer.pad_token_id, max_length)
            inner = default_data_collator
        trainer = Trainer(
            model=hf_adapter(model, fmt, head),
            args=args,
            train_dataset=ListDataset(items),
            data_collator=CountingCollator(inner, counter, info),
        )
        reset_peak_memory(s.device)
        # Trainer prints its final metrics to stdout; stdout is reserved for the JSON.
        with contextlib.redirect_stdout(sys.stderr), clean_heap(), Stopwatch(s.device) as watch:
            output = trainer.train()
        if trainer.state.global_step != steps:
            raise RuntimeError(f"Trainer ran {trainer.state.global_step} steps, expected {steps}")
        meta = {
            "optim": str(getattr(args.optim, "value", args.optim)),
            "sampler": "group_by_length" if grouped else "random",
            "collator": "DataCollatorWithPadding"
            if grouped
            else f"default_data_collator (pre-padded to {max_length})",
        }
        result = RunResult(
            watch.wall,
            watch.cpu,
            counter,
            float(output.training_loss),
            peak_memory(s.device),
            counter.collate_s,
        )
        trainer.accelerator.free_memory()
        del trainer
    return result, meta


def warm_up(
    model,
    fmt,
    head: str,
    features: Sequence[dict],
    batch: int,
    max_length: int,
    pad_id: int,
    s: Settings,
) -> None:
    """One-time costs (allocator growth, oneDNN/cuBLAS plans, compilation) before any timed
    run, on a padded-to-max and a dynamic batch; the weights are reset afterwards anyway."""
    import torch

    model.to("cuda" if s.device == "cuda" else "cpu")
    device = next(model.parameters()).device
    picks = list(features[:batch])
    shapes = [None, max_length]
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if s.precision == "bf16"
        else contextlib.nullcontext()
    )
    for pad_to in shapes:
        b = fmt.collate(picks, pad_id)
        if pad_to is not None:
            extra = pad_to - b["input_ids"].shape[1]
            b["input_ids"] = torch.nn.functional.pad(b["input_ids"], (0, extra), value=pad_id)
            b["attention_mask"] = torch.nn.functional.pad(b["attention_mask"], (0, extra))
        b = {k: v.to(device) for k, v in b.items()}
        with autocast:
            loss = fmt.loss(model(head, **b), b)
        loss.backward()
    model.zero_grad(set_to_none=True)
    sync(s.device)


def summarise_runs(runs: list[RunResult], info: ModelInfo, s: Settings) -> dict[str, Any]:
    """Figures of the best (fastest) of the interleaved runs on the primary clock, plus every
    run's wall and CPU time."""
    clock = primary_clock(s)
    seconds = (lambda r: r.cpu_s) if clock == "cpu" else (lambda r: r.wall_s)
    best = min(runs, key=seconds)
    sec = seconds(best)
    c = best.counter
    out: dict[str, Any] = {
        "clock": clock,
        "seconds": rnd(sec),
        "wall_s_all": [rnd(r.wall_s) for r in runs],
        "cpu_s_all": [rnd(r.cpu_s) for r in runs],
        "examples": c.examples,
        "batches": c.batches,
        "examples_per_s": rnd(c.examples / sec),
        "real_tokens_per_s": rnd(c.real_tokens / sec),
        "processed_tokens_per_s": rnd(c.processed_tokens / sec),
        "padding_efficiency": rnd(c.real_tokens / c.processed_tokens),
        "collate_s": rnd(c.collate_s),
        "collate_share": rnd(c.collate_s / best.wall_s),
        # Share of the step time spent waiting for data (the device idle, on a GPU).
        "data_wait_s": rnd(best.data_wait_s),
        "data_wait_share": None
        if best.data_wait_s is None
        else rnd(best.data_wait_s / best.wall_s),
        "model_tflops_per_s": rnd(c.real_flops / sec / 1e12),
        "hardware_tflops_per_s": rnd(c.processed_flops / sec / 1e12),
        "final_loss": rnd(best.final_loss),
        "peak_memory_bytes": best.peak_memory_bytes,
    }
    if s.peak_tflops:
        out["mfu"] = rnd(c.real_flops / sec / (s.peak_tflops * 1e12))
        out["hfu"] = rnd(c.processed_flops / sec / (s.peak_tflops * 1e12))
    return out


def bench_training_case(
    name: str, kind: str, corpus: Corpus, s: Settings, tcfg: dict[str, Any]
) -> dict[str, Any]:
    """One (model, task) comparison: the three arms, interleaved for several rounds."""
    import numpy as np

    if kind == "classification":
        fmt, head, batch, max_len = corpus.cls_fmt, "xnli", s.cls_batch, s.cls_max_length
        pool = corpus.tatoeba
        full_size = [len(f["input_ids"]) for f in corpus.tatoeba]
        source = "Tatoeba pairs (sentence + English translation), random labels"
    else:
        fmt, head, batch, max_len = corpus.qa_fmt, "xquad", s.qa_batch, s.qa_max_length
        # English question + paragraph windows (SQuAD-style training data).
        pool = [f for f in corpus.xquad_features["en"] if f["start_position"] != -100]
        full_size = [len(f["input_ids"]) for fs in corpus.xquad_features.values() for f in fs]
        source = "XQuAD en question + paragraph windows (stride 128)"
    steps = s.qa_steps[name] if kind == "qa" else s.train_steps[name]
    repeats = s.repeats[name]
    n = steps * batch
    if len(pool) < n:
        raise SystemExit(f"{kind}: {len(pool)} examples, {n} needed; lower --train-steps")
    rng = np.random.default_rng(s.seed)
    features = [pool[i] for i in sorted(rng.choice(len(pool), n, replace=False))]
    pad_id = corpus.tokenizer.pad_token_id
    model, info = build_task_model(
        name, fmt, head, corpus.tokenizer, s.seed, float(tcfg["dropout"])
    )
    maybe_compile(model, s)
    initial = snapshot(model)
    warm_up(model, fmt, head, features, batch, max_len, pad_id, s)
    runs: dict[str, list[RunResult]] = {arm: [] for arm in ARMS}
    hf_meta: dict[str, Any] = {}
    for round_ in range(repeats):
        # Rotate the order each round so that no arm always runs first (or after another).
        order = ARMS[round_ % len(ARMS) :] + ARMS[: round_ % len(ARMS)]
        for arm in order:
            reset_model(model, initial)
            free_memory(s.device)
            log(f"training {name}/{kind} round {round_ + 1}/{repeats}: {arm} ({steps} x {batch})")
            if arm == "xtransfer":
                result = run_xtransfer(
                    model, fmt, head, features, batch, steps, info, s, tcfg, pad_id
                )
            else:
                grouped = arm == "hf_group_by_length"
                result, meta = run_hf(
                    model,
                    fmt,
                    head,
                    features,
                    kind,
                    batch,
                    steps,
                    info,
                    s,
                    tcfg,
                    corpus.tokenizer,
                    grouped,
                    max_len,
                )
                hf_meta[arm] = meta
            runs[arm].append(result)
    arms = {arm: summarise_runs(runs[arm], info, s) for arm in ARMS}
    for arm, meta in hf_meta.items():
        arms[arm].update(meta)
    group = int(tcfg["length_group_factor"])
    arms["xtransfer"].update(
        sampler=f"length_grouped_batches (group factor {group})",
        collator="format.collate (pad to batch max)",
        # Examples sorted together: min(factor x batch, n) ...
        grouping_pool=min(group * batch, n),
    )
    # ... and transformers' mega-batch, which shrinks on small datasets:
    # min(n // (4 x batch), 50) x batch (get_length_grouped_indices), so on a benchmark-sized
    # epoch the HF grouping pads more than it would on a full training set.
    arms["hf_group_by_length"]["grouping_pool"] = max(1, min(n // (4 * batch), 50)) * batch
    # Projection to a full-size training set: the measured work rate (processed tokens/s)
    # times each batching's padding efficiency on the whole length distribution.
    full = padding_case(full_size, batch, max_len, s.seed, group)
    for arm in ARMS:
        arms[arm]["full_size_padding_efficiency"] = full[arm]
        arms[arm]["projected_real_tokens_per_s"] = rnd(
            arms[arm]["processed_tokens_per_s"] * full[arm]
        )
    ratios = {}
    for base in ("hf_pad_to_max", "hf_group_by_length"):
        ratios[f"xtransfer_vs_{base}"] = {
            metric: rnd(ratio(arms["xtransfer"][metric], arms[base][metric]))
            for metric in (
                "examples_per_s",
                "real_tokens_per_s",
                "processed_tokens_per_s",
                "projected_real_tokens_per_s",
            )
        }
    del model, initial
    free_memory(s.device)
    return {
        "model": asdict(info),
        "task_format": kind,
        "data": source,
        "examples": n,
        "optimizer_steps": steps,
        "batch_size": batch,
        "max_length": max_len,
        "mean_real_length": rnd(sum(len(f["input_ids"]) for f in features) / n),
        "full_size_examples": len(full_size),
        "repeats": repeats,
        "precision": "bf16 autocast" if s.precision == "bf16" else "fp32",
        "compiled": s.compile,
        "arms": arms,
        "ratios": ratios,
    }


def bench_training(corpus: Corpus, s: Settings) -> dict[str, Any]:
    tcfg = trainer_config(s)
    from xtransfer.run_identity import trainer_spec  # the settings that change what is learned

    out: dict[str, Any] = {"trainer_config": trainer_spec(tcfg)}
    for name in s.models:
        kinds = ["classification"] + (["qa"] if name in s.qa_train_models else [])
        for kind in kinds:
            out[f"{name}/{kind}"] = bench_training_case(name, kind, corpus, s, tcfg)
    return out


# --------------------------------------------------------------------------- padding


def hf_group_batches(lengths: Sequence[int], batch: int, seed: int) -> list[list[int]]:
    """transformers' own group-by-length order (``LengthGroupedSampler``), cut into batches."""
    import torch
    from transformers.trainer_pt_utils import get_length_grouped_indices

    order = get_length_grouped_indices(
        list(lengths), batch, generator=torch.Generator().manual_seed(seed)
    )
    return [order[i : i + batch] for i in range(0, len(order), batch)]


def padding_case(
    lengths: Sequence[int], batch: int, max_length: int, seed: int, group_factor: int
) -> dict[str, Any]:
    from xtransfer.training.batching import (
        length_grouped_batches,
        padding_efficiency,
        sorted_batches,
    )

    real = sum(lengths)
    strategies = {
        "hf_pad_to_max": real / (max_length * len(lengths)),
        "hf_group_by_length": padding_efficiency(lengths, hf_group_batches(lengths, batch, seed)),
        "xtransfer": padding_efficiency(
            lengths, length_grouped_batches(lengths, batch, seed, 0, group_factor)
        ),
        # For reference: evaluation batching (sorted, batch 64) and no grouping at all.
        "xtransfer_eval_sorted": padding_efficiency(lengths, sorted_batches(lengths, 64)),
    }
    out: dict[str, Any] = {
        "examples": len(lengths),
        "mean_length": rnd(real / len(lengths)),
        "max_length": max_length,
        "truncated_share": rnd(sum(n >= max_length for n in lengths) / len(lengths)),
        "batch_size": batch,
    }
    out.update({k: rnd(v) for k, v in strategies.items()})
    out["ratios"] = {
        "xtransfer_vs_hf_pad_to_max": rnd(strategies["xtransfer"] / strategies["hf_pad_to_max"]),
        "xtransfer_vs_hf_group_by_length": rnd(
            strategies["xtransfer"] / strategies["hf_group_by_length"]
        ),
    }
    return out


def bench_padding(corpus: Corpus, s: Settings) -> dict[str, Any]:
    group = int(trainer_config(s)["length_group_factor"])
    xquad_lengths = [len(f["input_ids"]) for feats in corpus.xquad_features.values() for f in feats]
    out = {
        "tatoeba_pairs": padding_case(
            [len(f["input_ids"]) for f in corpus.tatoeba],
            s.cls_batch,
            s.cls_max_length,
            s.seed,
            group,
        ),
        "xquad_qa": padding_case(xquad_lengths, s.qa_batch, s.qa_max_length, s.seed, group),
        "synthetic_nli": padding_case(
            [len(f["input_ids"]) for f in corpus.synthetic],
            s.cls_batch,
            s.cls_max_length,
            s.seed,
            group,
        ),
    }
    out["tatoeba_pairs"]["data"] = "41 Tatoeba languages, sentence + English translation"
    questions = sum(len(rows) for rows in corpus.xquad_rows.values())
    out["xquad_qa"]["data"] = (
        f"12 XQuAD languages, {questions} random questions in all, "
        "windows of the project's QA featuriser"
    )
    out["synthetic_nli"]["data"] = (
        "MNLI-like pairs, token lengths premise ~24, hypothesis ~12 (lognormal), 1 token/word"
    )
    return out


# --------------------------------------------------------------------------- evaluation


@contextlib.contextmanager
def eval_autocast(s: Settings) -> Iterator[None]:
    if s.precision == "bf16":
        import torch

        with torch.autocast("cuda", dtype=torch.bfloat16):
            yield
    else:
        yield


def load_qa_model(ckpt: Path, fmt, head: str, dropout: float, device: str):
    """The way the pipeline loads a saved phase: strict encoder load + the head's weights."""
    from xtransfer.training.checkpoint import load_checkpoint_encoder, load_head_state
    from xtransfer.training.model import TaskModel

    encoder = load_checkpoint_encoder(ckpt)
    model = TaskModel(encoder, {head: fmt.make_head(encoder.config.hidden_size, dropout)})
    model.heads[head].load_state_dict(load_head_state(ckpt, head))
    return model.to(device).eval()


def predict_padded(
    model,
    fmt,
    head: str,
    features: Sequence[dict],
    batch: int,
    pad_id: int,
    max_length: int,
    device: str,
) -> list[Any]:
    """The baseline's prediction loop: file order, every window padded to ``max_length``."""
    import torch

    out: list[Any] = []
    with torch.no_grad():
        for start in range(0, len(features), batch):
            b = fmt.collate(features[start : start + batch], pad_id)
            extra = max_length - b["input_ids"].shape[1]
            b["input_ids"] = torch.nn.functional.pad(b["input_ids"], (0, extra), value=pad_id)
            b["attention_mask"] = torch.nn.functional.pad(b["attention_mask"], (0, extra))
            logits = model(
                head,
                input_ids=b["input_ids"].to(device),
                attention_mask=b["attention_mask"].to(device),
            )
            out.extend(fmt.decode(logits.float().cpu()))
    return out


def bench_evaluation(corpus: Corpus, s: Settings) -> dict[str, Any]:
    from xtransfer.training.checkpoint import save_checkpoint
    from xtransfer.training.loop import predict

    fmt, head, tok = corpus.qa_fmt, "xquad", corpus.tokenizer
    pad_id = tok.pad_token_id
    dropout = 0.1
    rows = {lang: r[: s.eval_per_lang] for lang, r in corpus.xquad_rows.items()}
    with quiet_logging():
        features = {lang: fmt.featurize(r, tok, s.qa_max_length) for lang, r in rows.items()}
    model, info = build_task_model(s.eval_model, fmt, head, tok, s.seed, dropout)
    accelerator = get_accelerator(s)
    device = str(accelerator.device)
    times = {arm: Stopwatch(s.device) for arm in ("xtransfer", "baseline")}
    loads = {arm: Stopwatch(s.device) for arm in ("xtransfer", "baseline")}
    identical = total = 0
    per_lang: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="xtransfer-bench-eval-") as tmp:
        ckpt = Path(tmp) / "phase"
        save_checkpoint(model, tok, ckpt, {"name": "bench"})
        del model
        free_memory(s.device)
        # Warm-up: one load and one small batch through each path, untimed.
        warm = load_qa_model(ckpt, fmt, head, dropout, device)
        with eval_autocast(s):
            predict(warm, head, fmt, features["en"][:2], s.eval_batch, accelerator, pad_id)
            predict_padded(
                warm, fmt, head, features["en"][:2], s.eval_batch, pad_id, s.qa_max_length, device
            )
        del warm
        with times["xtransfer"], loads["xtransfer"]:
            shared = load_qa_model(ckpt, fmt, head, dropout, device)  # xtransfer: one load
        # Interleaved language by language, so both arms see the same machine load.
        for i, lang in enumerate(XQUAD_LANGS):
            feats, lang_rows = features[lang], rows[lang]
            answers: dict[str, Any] = {}
            arms = ("xtransfer", "baseline") if i % 2 == 0 else ("baseline", "xtransfer")
            for arm in arms:
                with times[arm]:
                    if arm == "xtransfer":
                        with eval_autocast(s):
                            preds = predict(
                                shared, head, fmt, feats, s.eval_batch, accelerator, pad_id
                            )
                    else:
                        with loads[arm]:
                            model = load_qa_model(ckpt, fmt, head, dropout, device)
                        with eval_autocast(s):
                            preds = predict_padded(
                                model,
                                fmt,
                                head,
                                feats,
                                s.eval_batch,
                                pad_id,
                                s.qa_max_length,
                                device,
                            )
                        del model
                    answers[arm] = fmt.finalize(lang_rows, feats, preds)
            same = sum(
                a == b for a, b in zip(answers["xtransfer"], answers["baseline"], strict=True)
            )
            identical, total = identical + same, total + len(lang_rows)
            per_lang[lang] = {"questions": len(lang_rows), "windows": len(feats)}
        del shared
    free_memory(s.device)
    n_feats = sum(len(f) for f in features.values())
    real = sum(len(x["input_ids"]) for f in features.values() for x in f)
    clock = primary_clock(s)
    arms_out = {}
    for arm in ("xtransfer", "baseline"):
        sec = times[arm].cpu if clock == "cpu" else times[arm].wall
        arms_out[arm] = {
            "clock": clock,
            "seconds": rnd(sec),
            "wall_s": rnd(times[arm].wall),
            "cpu_s": rnd(times[arm].cpu),
            "model_load_s": rnd(loads[arm].cpu if clock == "cpu" else loads[arm].wall),
            "model_loads": 1 if arm == "xtransfer" else len(XQUAD_LANGS),
            "questions_per_s": rnd(total / sec),
            "windows_per_s": rnd(n_feats / sec),
            "real_tokens_per_s": rnd(real / sec),
        }
    return {
        "model": asdict(info),
        "task": "xquad (12 languages), predict + finalize (n-best span decoding)",
        "questions": total,
        "windows": n_feats,
        "eval_batch_size": s.eval_batch,
        "max_length": s.qa_max_length,
        "per_language": per_lang,
        "baseline": "per-language model reload, file order, every window padded to 384",
        "answers_identical": rnd(identical / total if total else 1.0),
        "arms": arms_out,
        "ratios": {
            "xtransfer_vs_baseline": {
                "questions_per_s": rnd(
                    ratio(
                        arms_out["xtransfer"]["questions_per_s"],
                        arms_out["baseline"]["questions_per_s"],
                    )
                ),
            },
        },
    }


# --------------------------------------------------------------------------- retrieval


def unit_rows(x):
    import numpy as np

    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def exact_knn(queries, database, k: int, device: str):
    """Exact inner-product top-k by plain matmul (the brute force reference), best first."""
    import numpy as np

    if device == "cuda":
        import torch

        # Full fp32 (no TF32) so that "exact" means exact.
        previous = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        try:
            db = torch.from_numpy(database).cuda()
            sims_out, ind_out = [], []
            for start in range(0, queries.shape[0], 4096):
                q = torch.from_numpy(queries[start : start + 4096]).cuda()
                sims, ind = torch.topk(q @ db.T, k, dim=1)
                sims_out.append(sims.cpu().numpy())
                ind_out.append(ind.cpu().numpy())
            del db
            torch.cuda.empty_cache()
        finally:
            torch.backends.cuda.matmul.allow_tf32 = previous
        return np.concatenate(sims_out), np.concatenate(ind_out)
    sims_out, ind_out = [], []
    for start in range(0, queries.shape[0], 256):
        sims = queries[start : start + 256] @ database.T
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        vals = np.take_along_axis(sims, top, axis=1)
        order = np.argsort(-vals, axis=1)
        sims_out.append(np.take_along_axis(vals, order, axis=1))
        ind_out.append(np.take_along_axis(top, order, axis=1))
    return np.concatenate(sims_out), np.concatenate(ind_out)


def bench_retrieval(s: Settings) -> dict[str, Any]:
    import numpy as np

    from xtransfer.evaluation import retrieval

    n, dim, k = s.retrieval_size, s.retrieval_dim, 4
    rng = np.random.default_rng(s.seed)
    x = unit_rows(rng.standard_normal((n, dim), dtype=np.float32))
    y = unit_rows(rng.standard_normal((n, dim), dtype=np.float32))
    # Planted "translations": target = cos * source + noise (cosine ~0.3, far above the ~0.13
    # of a random vector's nearest neighbours at n = 100k), ~2 % as in BUCC.
    planted = max(1, int(s.retrieval_planted * n))
    src_ids = rng.choice(n, planted, replace=False)
    trg_ids = rng.choice(n, planted, replace=False)
    cos = 0.3
    y[trg_ids] = unit_rows(cos * x[src_ids] + math.sqrt(1 - cos**2) * y[trg_ids])
    gold = set(zip(src_ids.tolist(), trg_ids.tolist(), strict=True))

    captured: list[tuple[Any, Any]] = []
    original_knn = retrieval.knn

    def spy(*args: Any, **kwargs: Any):
        # Records the miner's k-NN lists (to check them against brute force); changes nothing.
        result = original_knn(*args, **kwargs)
        captured.append(result)
        return result

    retrieval.knn = spy
    try:
        log(f"retrieval: mine_pairs on {n} x {n} (dim {dim})")
        with Stopwatch(s.device) as mine_watch:
            mined = retrieval.mine_pairs(x, y, k=k, mode="max")
    finally:
        retrieval.knn = original_knn
    (_, fwd_ind), (_, bwd_ind) = captured[0], captured[1]

    sample = n if s.device == "cuda" else min(n, s.retrieval_sample)
    q_src = np.sort(rng.choice(n, sample, replace=False))
    q_trg = np.sort(rng.choice(n, sample, replace=False))
    log(f"retrieval: exact brute force on {sample} queries per direction")
    with Stopwatch(s.device) as brute_watch:
        _, exact_fwd = exact_knn(x[q_src], y, k, s.device)
        _, exact_bwd = exact_knn(y[q_trg], x, k, s.device)
    cpu_clock = primary_clock(s) == "cpu"
    mine_s = mine_watch.cpu if cpu_clock else mine_watch.wall
    brute_s = brute_watch.cpu if cpu_clock else brute_watch.wall
    brute_full_s = brute_s * n / sample  # both directions, every query

    def recall(found, exact) -> float:
        hits = sum(
            len(set(a.tolist()) & set(b.tolist())) for a, b in zip(found, exact, strict=True)
        )
        return hits / exact.size

    mined_pairs = set(zip(mined.source.tolist(), mined.target.tolist(), strict=True))
    top = np.argsort(-mined.score, kind="stable")[: len(gold)]
    top_pairs = set(zip(mined.source[top].tolist(), mined.target[top].tolist(), strict=True))
    return {
        "n": n,
        "dim": dim,
        "k": k,
        "margin": "ratio",
        "mode": "max",
        "backend": "faiss flat IP" if n * n >= retrieval.FAISS_MIN_PAIRS else "numpy",
        "planted_pairs": planted,
        "clock": primary_clock(s),
        "mine_pairs_s": rnd(mine_s),
        "mine_pairs_wall_s": rnd(mine_watch.wall),
        "mined_pairs": len(mined_pairs),
        "brute_force": {
            "method": "numpy matmul + argpartition"
            if s.device == "cpu"
            else "torch fp32 matmul + topk on CUDA",
            "queries_per_direction": sample,
            "measured_s": rnd(brute_s),
            "measured_wall_s": rnd(brute_watch.wall),
            "full_size_s": rnd(brute_full_s),
            "full_size_is_extrapolated": sample < n,
        },
        "knn_recall_at_k": {
            "forward": rnd(recall(fwd_ind[q_src], exact_fwd)),
            "backward": rnd(recall(bwd_ind[q_trg], exact_bwd)),
            "sampled": sample < n,
        },
        "planted_recall": rnd(len(gold & mined_pairs) / len(gold)),
        "planted_precision_at_planted": rnd(len(gold & top_pairs) / len(gold)),
        "peak_rss_bytes": rss_peak_bytes(),
        "ratios": {"brute_force_time_vs_mine_pairs": rnd(ratio(brute_full_s, mine_s))},
    }


# --------------------------------------------------------------------------- CLI start-up


def bench_cli(s: Settings) -> dict[str, Any]:
    exe = Path(sys.executable).parent / "xtransfer"
    base = [str(exe)] if exe.is_file() else [sys.executable, "-m", "xtransfer"]
    mock = s.data_dir / "xtreme-mock"
    if (mock / "predictions").is_dir():
        score = [
            *base,
            "score",
            "--predictions",
            str(mock / "predictions"),
            "--labels",
            str(mock / "labels"),
            "--benchmark",
            "xtreme",
        ]
        score_what = "xtreme-mock submission, all tasks"
    else:
        score, score_what = [*base, "score", "--help"], "--help (mock data not found)"
    commands = {
        "python_startup": [sys.executable, "-c", "pass"],
        "xtransfer_help": [*base, "--help"],
        "xtransfer_score": score,
        "import_torch": [sys.executable, "-c", "import torch"],
    }
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(s.cli_runs):
        for name, cmd in commands.items():  # interleaved: one of each per round
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.run(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO_ROOT
            )
            walls[name].append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # The child's own CPU seconds: what the start-up costs on an idle machine.
            cpus[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.decode()[-500:]}")
    best = {name: min(v) for name, v in walls.items()}
    return {
        "runs": s.cli_runs,
        "score_input": score_what,
        "best_s": {k: rnd(v) for k, v in best.items()},
        "median_s": {k: rnd(statistics.median(v)) for k, v in walls.items()},
        "best_cpu_s": {k: rnd(min(v)) for k, v in cpus.items()},
        "ratios": {
            "help_vs_python_startup": rnd(best["xtransfer_help"] / best["python_startup"]),
            "score_vs_import_torch": rnd(best["xtransfer_score"] / best["import_torch"]),
        },
    }


# --------------------------------------------------------------------------- diagnostics


def bench_optimizers(s: Settings, corpus: Corpus) -> dict[str, Any]:
    """AdamW step time: xtransfer's ``make_optimizer`` vs. fused AdamW (HF's default optim) on
    the same parameters and gradients, interleaved."""
    import torch

    from xtransfer.training.loop import make_optimizer

    tcfg = trainer_config(s)
    out: dict[str, Any] = {}
    device = "cuda" if s.device == "cuda" else "cpu"
    for name in s.models:
        model, _ = build_task_model(name, corpus.cls_fmt, "xnli", corpus.tokenizer, s.seed, 0.1)
        model.to(device)
        for p in model.parameters():
            p.grad = torch.randn_like(p) * 1e-3
        opts = {"xtransfer_make_optimizer": make_optimizer(model, tcfg)}
        try:
            opts["torch_adamw_fused"] = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
            opts["torch_adamw_fused"].step()
        except (RuntimeError, TypeError) as err:  # fused not supported on this device/build
            opts.pop("torch_adamw_fused", None)
            out[f"{name}_fused_error"] = str(err)[:200]
        times: dict[str, list[float]] = {k: [] for k in opts}
        steps = 2 if s.quick else 10
        for i in range(steps + 1):
            for key, opt in opts.items():
                with Stopwatch(s.device) as watch:
                    opt.step()
                if i:  # the first step allocates the moment buffers
                    times[key].append(watch.cpu if primary_clock(s) == "cpu" else watch.wall)
        entry = {
            k: {
                "step_ms_median": rnd(1000 * statistics.median(v)),
                "step_ms_best": rnd(1000 * min(v)),
            }
            for k, v in times.items()
        }
        entry["xtransfer_optimizer"] = {
            "fused": bool(opts["xtransfer_make_optimizer"].defaults.get("fused")),
            "foreach": opts["xtransfer_make_optimizer"].defaults.get("foreach"),
        }
        if "torch_adamw_fused" in times:
            entry["ratios"] = {
                "fused_speedup": rnd(
                    ratio(
                        statistics.median(times["xtransfer_make_optimizer"]),
                        statistics.median(times["torch_adamw_fused"]),
                    )
                )
            }
        out[name] = entry
        del model, opts
        free_memory(s.device)
    return {"optimizer_step": out}


# --------------------------------------------------------------------------- main


def environment(s: Settings) -> dict[str, Any]:
    import accelerate
    import numpy
    import torch
    import transformers

    try:
        import faiss

        faiss_version = getattr(faiss, "__version__", "?")
    except ImportError:
        faiss_version = None
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "accelerate": accelerate.__version__,
        "numpy": numpy.__version__,
        "faiss": faiss_version,
        "torch_threads": torch.get_num_threads(),
        "device": s.device,
        "device_name": cpu_name(),
        "git": git_state(),
    }
    if s.device == "cuda":
        env["device_name"] = torch.cuda.get_device_name(0)
        env["cuda"] = torch.version.cuda
        env["gpu_memory_bytes"] = torch.cuda.get_device_properties(0).total_memory
    return env


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """A flat dict of every ratio in the result (dotted paths), the thing to diff."""
    return {path: value for path, value in walk_ratios(result)}


def run(s: Settings) -> dict[str, Any]:
    import torch

    if s.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible to torch")
    if s.threads > 0:
        torch.set_num_threads(s.threads)
        try:
            import faiss

            faiss.omp_set_num_threads(s.threads)
        except ImportError:
            pass
    from xtransfer.training.model import _silence_transformers

    _silence_transformers()
    started = time.perf_counter()
    result: dict[str, Any] = {
        "schema": "xtransfer-bench/1",
        "mode": "quick" if s.quick else "default",
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(s).items()},
        "environment": environment(s),
        "load_average_start": load_average(),
    }
    corpus = None
    if {"training", "padding", "evaluation", "diagnostics"} & set(s.sections):
        log("featurising data")
        corpus = build_corpus(s)
        result["data_preparation_s"] = {k: rnd(v) for k, v in corpus.timings.items()}
    if "training" in s.sections:
        # Imported now so that the Trainer stack is frozen with the corpora (see clean_heap).
        import transformers.trainer  # noqa: F401
    freeze_long_lived()
    timings: dict[str, float] = {}
    for section in SECTIONS:
        if section not in s.sections:
            continue
        log(f"section {section}")
        t0 = time.perf_counter()
        if section == "training":
            result["training"] = bench_training(corpus, s)
        elif section == "padding":
            result["padding_efficiency"] = bench_padding(corpus, s)
        elif section == "evaluation":
            result["evaluation"] = bench_evaluation(corpus, s)
        elif section == "retrieval":
            result["retrieval"] = bench_retrieval(s)
        elif section == "cli":
            result["cli_startup"] = bench_cli(s)
        elif section == "diagnostics":
            result["diagnostics"] = bench_optimizers(s, corpus)
        timings[section] = time.perf_counter() - t0
    result["section_wall_s"] = {k: rnd(v) for k, v in timings.items()}
    result["load_average_end"] = load_average()
    result["wall_s"] = rnd(time.perf_counter() - started)
    result["summary_ratios"] = headline(result)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    s = make_settings(args)
    if s.device == "cpu":
        # Before torch is imported: a CPU run on a GPU machine must not let accelerate or the
        # Trainer pick the GPU behind our back.
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    if s.threads > 0:
        # Also before any import: OpenMP/BLAS read these once, at load time.
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(s.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_profile beside us
    result = run(s)
    output = args.output or default_output(s)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.profile is not None:
        from bench_profile import update_profile

        update_profile(result, args.profile, source=str(output))
        log(f"throughput profile updated: {args.profile}")
    print(json.dumps(result, indent=2))
    log(f"written {output} ({result['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
