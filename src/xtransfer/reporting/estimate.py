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
    """The sizes of the checkpoint that will be trained: its own ``config.json`` (a local folder,
    the tiny model's config, or the Hub cache; never downloaded), else the preset's
    ``architecture`` block when it describes that same checkpoint, else None (no estimate)."""
    from xtransfer.training.model import load_model_config

    has_source = model_cfg.get("pretrained") or model_cfg.get("config_dir")
    config = load_model_config(model_cfg, offline=True) if has_source else None
    if config is not None:
        return architecture_of(config)
    block = model_cfg.get("architecture")
    if block and block.get("checkpoint") in (None, model_cfg.get("pretrained")):
        return Architecture(int(block["layers"]), int(block["hidden"]), int(block["intermediate"]))
    return None


def architecture_of(config) -> Architecture:
    """Sizes from a transformers config (DistilBERT names its feed-forward size ``hidden_dim``)."""
    hidden = int(config.hidden_size)
    inner = getattr(config, "intermediate_size", None) or getattr(config, "hidden_dim", None)
    return Architecture(int(config.num_hidden_layers), hidden, int(inner or 4 * hidden))


def profile_model_name(model_cfg: Mapping[str, Any]) -> str:
    """The name the throughput profile may hold measurements under: the ``model=`` preset's
    name while it trains its own checkpoint, else the checkpoint (``model=tiny
    model.pretrained=DIR`` must not be quoted the tiny model's measured rate)."""
    pretrained = model_cfg.get("pretrained")
    block = model_cfg.get("architecture") or {}
    if pretrained is None or block.get("checkpoint") == pretrained:
        return str(model_cfg.get("name"))
    return str(pretrained)


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
