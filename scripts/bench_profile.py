#!/usr/bin/env python
"""Writes the throughput profile that ``xtransfer plan`` uses to estimate compute time.

Usage::

    python scripts/bench_profile.py bench-results/bench-cpu-tiny+mid.json \\
        [--profile src/xtransfer/reporting/throughput_profile.json]

(or ``python scripts/bench.py --profile src/xtransfer/reporting/throughput_profile.json``,
which calls :func:`update_profile` at the end of a run).

Entries from the result replace those with the same key and all others are kept, so a GPU run
adds its rows beside the CPU ones. Schema (``schema_version`` 1)::

    {
      "schema_version": 1,
      "description": "...", "flops_per_sequence": "...", "how_to_estimate": "...",
      "entries": [
        {
          "key": "<model>|<device>|<device_name>|<precision>|<compiled|eager>|<task_format>",
          "model": "tiny" | "mid" | "xlmr-base" | "xlmr-large",
          "model_config": {num_hidden_layers, hidden_size, num_attention_heads,
                           intermediate_size, vocab_size, max_position_embeddings},
          "parameters": int, "non_embedding_parameters": int,
          "device": "cpu" | "cuda", "device_name": str, "threads": int | null,
          "precision": "fp32" | "bf16", "compiled": bool,
          "task_format": "classification" | "qa",
          "batch_size": int, "max_length": int, "mean_real_length": float,
          "train_real_tokens_per_s": float,           # xtransfer loop, projected to a full-size
                                                      # training set (measured work rate x
                                                      # full-size padding efficiency)
          "train_real_tokens_per_s_measured": float,  # as measured on the benchmark's epoch
          "train_processed_tokens_per_s": float,      # incl. padding: the raw work rate
          "train_examples_per_s": float,
          "train_model_flops_per_s": float,           # useful FLOP/s (real tokens only)
          "padding_efficiency": float,                # full-size, xtransfer batching
          "eval_real_tokens_per_s": float | null,     # predict + decode (QA entries only)
          "mfu": float | null,                        # when a peak FLOP/s was given
          "peak_memory_bytes": int | null,            # CUDA only
          "measured": {"bench_file", "git_commit", "date", "load_average", "torch",
                       "transformers"}
        }, ...
      ]
    }

How ``plan`` uses it: the time of a phase is (real tokens in its training data x epochs) /
``train_real_tokens_per_s`` of the matching (model, device, precision, format) entry; for a
model without an entry on a device, scale another model's entry on that device by FLOPs:
``tokens/s ~= train_model_flops_per_s / flops_per_token(model, mean_real_length)`` with the
formula in ``flops_per_sequence``. CPU entries are for the demo scale only; on a shared
machine they are noisy and ``measured.load_average`` says how busy it was.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PROFILE = REPO_ROOT / "src" / "xtransfer" / "reporting" / "throughput_profile.json"
SCHEMA_VERSION = 1

HEADER: dict[str, Any] = {
    "schema_version": SCHEMA_VERSION,
    "description": (
        "Measured throughput of xtransfer's training loop (and QA evaluation) per model, "
        "device, precision and task format, from scripts/bench.py; used by `xtransfer plan` "
        "to estimate compute time. Written by scripts/bench_profile.py."
    ),
    "flops_per_sequence": (
        "6*N*T + 12*L*H*T^2 for a sequence of T tokens (forward + backward; N non-embedding "
        "parameters, L layers, H hidden size)"
    ),
    "how_to_estimate": (
        "hours = real_tokens * epochs / train_real_tokens_per_s / 3600 with the entry of the "
        "same model/device/precision/format; another model on the same device: tokens/s ~= "
        "train_model_flops_per_s / (flops_per_sequence(T) / T) at its mean length T"
    ),
}


def entry_key(entry: Mapping[str, Any]) -> str:
    mode = "compiled" if entry.get("compiled") else "eager"
    return (
        "|".join(str(entry[k]) for k in ("model", "device", "device_name", "precision"))
        + f"|{mode}|{entry['task_format']}"
    )


def entries_from_result(result: Mapping[str, Any], source: str) -> list[dict[str, Any]]:
    """One entry per (model, task format) trained in ``result`` (the xtransfer arm)."""
    env = result["environment"]
    settings = result["settings"]
    measured = {
        "bench_file": source,
        "git_commit": (env.get("git") or {}).get("commit"),
        "date": time.strftime("%Y-%m-%d"),
        "load_average": result.get("load_average_start"),
        "torch": env.get("torch"),
        "transformers": env.get("transformers"),
    }
    entries: list[dict[str, Any]] = []
    training = result.get("training") or {}
    for case in training.values():
        if not isinstance(case, Mapping) or "arms" not in case:
            continue
        arm = case["arms"]["xtransfer"]
        model = case["model"]
        entry = {
            "model": model["name"],
            "model_config": model["config"],
            "parameters": model["parameters"],
            "non_embedding_parameters": model["non_embedding_parameters"],
            "device": env["device"],
            "device_name": env["device_name"],
            "threads": env.get("torch_threads") if env["device"] == "cpu" else None,
            "precision": "bf16" if settings.get("precision") == "bf16" else "fp32",
            "compiled": bool(case.get("compiled")),
            "task_format": case["task_format"],
            "batch_size": case["batch_size"],
            "max_length": case["max_length"],
            "mean_real_length": case["mean_real_length"],
            "train_real_tokens_per_s": arm["projected_real_tokens_per_s"],
            "train_real_tokens_per_s_measured": arm["real_tokens_per_s"],
            "train_processed_tokens_per_s": arm["processed_tokens_per_s"],
            "train_examples_per_s": arm["examples_per_s"],
            "train_model_flops_per_s": arm["model_tflops_per_s"] * 1e12,
            "padding_efficiency": arm["full_size_padding_efficiency"],
            "eval_real_tokens_per_s": None,
            "mfu": arm.get("mfu"),
            "peak_memory_bytes": arm.get("peak_memory_bytes"),
            "measured": measured,
        }
        entry["key"] = entry_key(entry)
        entries.append(entry)
    evaluation = result.get("evaluation")
    if evaluation:
        for entry in entries:
            if entry["model"] == evaluation["model"]["name"] and entry["task_format"] == "qa":
                entry["eval_real_tokens_per_s"] = evaluation["arms"]["xtransfer"][
                    "real_tokens_per_s"
                ]
    return entries


def merge_entries(
    profile: Path, new: Sequence[Mapping[str, Any]], extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Writes ``profile`` with ``new`` entries replacing those of the same key (others kept),
    and ``extra`` top-level blocks (e.g. the GPU check's summary) beside them."""
    existing: list[dict[str, Any]] = []
    kept: dict[str, Any] = {}
    if profile.is_file():
        data = json.loads(profile.read_text(encoding="utf-8"))
        if data.get("schema_version") == SCHEMA_VERSION:
            existing = list(data.get("entries", []))
            kept = {k: v for k, v in data.items() if k not in HEADER and k != "entries"}
    keys = {e["key"] for e in new}
    merged = sorted(
        [e for e in existing if e.get("key") not in keys] + [dict(e) for e in new],
        key=lambda e: e["key"],
    )
    out = {**HEADER, **kept, **(extra or {}), "entries": merged}
    profile.parent.mkdir(parents=True, exist_ok=True)
    profile.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return out


def update_profile(result: Mapping[str, Any], profile: Path, source: str) -> dict[str, Any]:
    """Merges the entries of ``result`` into ``profile`` (created if missing)."""
    try:
        source = str(Path(source).resolve().relative_to(REPO_ROOT))
    except ValueError:
        pass
    return merge_entries(profile, entries_from_result(result, source))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", type=Path, help="a JSON file written by scripts/bench.py")
    parser.add_argument("--profile", type=Path, default=DEFAULT_PROFILE)
    args = parser.parse_args(argv)
    result = json.loads(args.result.read_text(encoding="utf-8"))
    if "training" not in result:
        print(f"{args.result}: no training section, nothing to profile", file=sys.stderr)
        return 1
    out = update_profile(result, args.profile, str(args.result))
    print(f"{args.profile}: {len(out['entries'])} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
