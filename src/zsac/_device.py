"""Device and precision choices shared by training and inference (torch-bound: imported where torch runs)."""

from __future__ import annotations

import contextlib

import torch

from .errors import ConfigError

__all__ = ["resolve_device", "resolve_precision", "autocast", "cpu_supports_bf16"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` or ``"auto"`` picks CUDA when available, else the CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ConfigError(
            f"device must be auto, cpu, cuda or cuda:N (or another torch device), got {device!r}"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {str(device)!r} was asked for but CUDA is not available")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ConfigError(f"device {str(device)!r} was asked for but this machine has {torch.cuda.device_count()} GPUs")
    return device


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` is bf16 autocast on CUDA and fp32 on CPU (bf16 is slower on most CPUs)."""
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ConfigError(f"precision must be 'auto', 'fp32' or 'bf16', got {precision!r}")
    return precision


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[object]:
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def cpu_supports_bf16() -> bool:
    """Whether this CPU runs bf16 matrix products natively (oneDNN), so bf16 inference pays off."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
