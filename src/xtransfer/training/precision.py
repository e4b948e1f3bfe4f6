"""Which numeric precision training runs in, decided in one place.

``trainer.precision: auto`` (every preset's default) means bf16 autocast on a CUDA device that
supports it, fp16 autocast with loss scaling on an older CUDA device, and plain fp32 on CPU
(autocast on CPU is slower than fp32 for these models and would change the CPU golden numbers).
The resolved value is what goes into the phase key, the checkpoint meta and ``results.json``:
a phase trained in bf16 is not the same phase as one trained in fp32.
"""

from __future__ import annotations

from xtransfer.config_schema import PRECISION_ALIASES as ALIASES
from xtransfer.config_schema import PRECISIONS as CHOICES
from xtransfer.errors import UserError

# What a user may write, and what each means to ``accelerate.Accelerator(mixed_precision=...)``.
RESOLVED = ("no", "bf16", "fp16")


def default_device_type() -> str:
    """``"cuda"`` when a CUDA device is visible, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _cuda_supports_bf16() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def resolve_precision(requested: str | None, device_type: str | None = None) -> str:
    """``"no"`` | ``"bf16"`` | ``"fp16"`` for ``trainer.precision`` on ``device_type``
    (``"cuda"``, ``"cpu"``, ...; None = this machine's default device).

    ``auto``: bf16 on CUDA with bf16 support, fp16 on older CUDA, fp32 (``"no"``) elsewhere.
    An explicit value is kept as given, except fp16 off CUDA (it needs a GPU's loss scaling).
    """
    # YAML 1.1 reads an unquoted `no` as False.
    value = "no" if requested is False else str(requested or "auto").strip().lower()
    if value not in CHOICES:
        raise UserError(
            f"trainer.precision={requested!r} is not one of {', '.join(CHOICES)} "
            "(auto = bf16 on recent GPUs, fp16 on older ones, fp32 on CPU)"
        )
    device = device_type or default_device_type()
    if value == "auto":
        if device != "cuda":
            return "no"
        return "bf16" if _cuda_supports_bf16() else "fp16"
    resolved = ALIASES[value]
    if resolved == "fp16" and device != "cuda":
        raise UserError(
            f"trainer.precision=fp16 needs a CUDA device (this one is {device}); use auto or bf16"
        )
    return resolved


def describe(resolved: str, device_type: str, requested: str | None) -> str:
    """One line for the log: what was used, and why."""
    name = {"no": "fp32", "bf16": "bf16 autocast", "fp16": "fp16 autocast + loss scaling"}
    how = "auto" if str(requested or "auto").lower() == "auto" else "requested"
    return f"precision: {name[resolved]} on {device_type} ({how})"


def enable_tf32(device_type: str) -> bool:
    """TF32 matmuls and convolutions on Ampere and newer GPUs (compute capability >= 8): fp32
    matmuls outside autocast regions (the optimizer, fp32 heads) then run on tensor cores.
    Returns whether TF32 was switched on."""
    if device_type != "cuda":
        return False
    import torch

    if not torch.cuda.is_available() or torch.cuda.get_device_capability()[0] < 8:
        return False
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    return True
