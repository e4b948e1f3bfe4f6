"""Compute-time estimates for `xtransfer plan`, from the measured throughput profile.

``throughput_profile.json`` holds what ``scripts/bench.py --profile`` measured: real tokens per
second of the training loop per (model, device, precision, task format). A phase's time is its
real training tokens divided by that rate. A model without its own entry on a device is scaled
from another model's entry there by model FLOPs per token (``6 N + 12 L H T`` for forward and
backward at mean length ``T``), i.e. the same useful FLOP/s is assumed. Devices without any
entry get no estimate: only measured machines are quoted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROFILE = Path(__file__).with_name("throughput_profile.json")


@dataclass(frozen=True)
class Architecture:
    """The sizes model FLOPs depend on (embeddings cost no matmul FLOPs)."""

    layers: int
    hidden: int
    intermediate: int

    @property
    def non_embedding_parameters(self) -> int:
        h, i = self.hidden, self.intermediate
        # Q, K, V, O with biases; two LayerNorms; the feed-forward pair with biases.
        return self.layers * (4 * h * h + 2 * h * i + 9 * h + i)

    def train_flops_per_token(self, mean_length: float) -> float:
        """Forward + backward FLOPs per real token at the given mean sequence length."""
        return 6.0 * self.non_embedding_parameters + 12.0 * self.layers * self.hidden * mean_length


def architecture(model_cfg: Mapping[str, Any]) -> Architecture | None:
    """From the model config's ``architecture`` block, else its local ``config.json``."""
    arch = model_cfg.get("architecture")
    if arch:
        return Architecture(int(arch["layers"]), int(arch["hidden"]), int(arch["intermediate"]))
    config_dir = model_cfg.get("config_dir") or model_cfg.get("pretrained")
    path = Path(str(config_dir)) / "config.json" if config_dir else None
    if path is None or not path.is_file():
        return None
    config = json.loads(path.read_text(encoding="utf-8"))
    return Architecture(
        int(config["num_hidden_layers"]),
        int(config["hidden_size"]),
        int(config["intermediate_size"]),
    )


def format_family(format_name: str) -> str:
    """The profile measures two shapes of work: short pairs and 384-token QA windows."""
    return "qa" if format_name == "span_qa" else "classification"


@dataclass(frozen=True)
class Estimate:
    device: str
    seconds: float
    basis: str  # "measured <model>" or "scaled from <model>"


def load_profile(path: Path = PROFILE) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return list(json.loads(path.read_text(encoding="utf-8")).get("entries", []))


def estimate(
    entries: Sequence[Mapping[str, Any]],
    model_name: str,
    arch: Architecture | None,
    family: str,
    real_tokens: float,
    mean_length: float,
) -> list[Estimate]:
    """One estimate per device that has a measured entry for this task family."""
    out = []
    for device in sorted({str(e["device"]) for e in entries}):
        same = [e for e in entries if e["device"] == device and e["task_format"] == family]
        if not same:
            continue
        exact = [e for e in same if e["model"] == model_name]
        if exact:
            rate = float(exact[0]["train_real_tokens_per_s"])
            out.append(Estimate(device, real_tokens / rate, f"measured {model_name}"))
        elif arch is not None:
            # The largest measured model is the best proxy for a big model's FLOP rate.
            ref = max(same, key=lambda e: int(e["non_embedding_parameters"]))
            rate = float(ref["train_model_flops_per_s"]) / arch.train_flops_per_token(mean_length)
            out.append(Estimate(device, real_tokens / rate, f"scaled from {ref['model']}"))
    return out


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
