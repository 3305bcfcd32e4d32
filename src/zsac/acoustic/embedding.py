"""Clip embeddings with a torch VGGish: the mean of a clip's segment embeddings (paper Section III-B).

The means themselves (:func:`clip_means`, :func:`window_means`) are numpy and live in
:mod:`zsac.acoustic.pooling`, which needs no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .._device import autocast, cpu_supports_bf16, resolve_device, resolve_precision
from ..errors import DataError
from .pooling import clip_means, window_means

__all__ = ["embed_clips", "segment_embeddings", "clip_means", "window_means", "torch_precision", "device_type"]


def segment_embeddings(
    model: nn.Module,
    examples: np.ndarray | torch.Tensor,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    precision: str = "auto",
) -> np.ndarray:
    """Embed log-mel examples one batch at a time.

    Parameters
    ----------
    model : nn.Module
        An acoustic network with ``embed``: :class:`~zsac.acoustic.VGGish` or
        :class:`~zsac.acoustic.mobilenet.MobileNet`.
    examples : array [shape=(n_segments, 96, 64)]
    batch_size : int
    device : str, torch.device or None
        ``None`` picks CUDA when available.
    precision : {"auto", "fp32", "bf16"}

    Returns
    -------
    np.ndarray [shape=(n_segments, embedding_size)], float32
    """
    device = resolve_device(device)
    precision = resolve_precision(precision, device)
    examples = torch.as_tensor(examples, dtype=torch.float32)
    was_training = model.training
    model.eval().to(device)
    outputs = []
    try:
        with torch.inference_mode(), autocast(device, precision):
            for start in range(0, examples.shape[0], batch_size):
                batch = examples[start : start + batch_size].to(device, non_blocking=True).unsqueeze(1)
                batch = batch.contiguous(memory_format=torch.channels_last)
                outputs.append(model.embed(batch).float().cpu())
    finally:
        model.train(was_training)
    if not outputs:
        return np.empty((0, model.embedding_size), dtype=np.float32)
    return torch.cat(outputs).numpy()


def embed_clips(
    model: nn.Module,
    examples: Sequence[np.ndarray] | np.ndarray,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    precision: str = "auto",
) -> np.ndarray:
    """Clip embeddings as the mean of each clip's segment embeddings.

    Segments of all clips are embedded together in batches, so short clips share work.

    Parameters
    ----------
    model : nn.Module
        An acoustic network with ``embed``: :class:`~zsac.acoustic.VGGish` or
        :class:`~zsac.acoustic.mobilenet.MobileNet`.
    examples : sequence of arrays [shape=(n_segments_i, 96, 64)], or one array
        [shape=(n_clips, n_segments, 96, 64)] when all clips have the same length.
    batch_size, device, precision
        See :func:`segment_embeddings`.

    Returns
    -------
    np.ndarray [shape=(n_clips, embedding_size)], float32
    """
    clips = list(examples)
    if not clips:
        return np.empty((0, model.embedding_size), dtype=np.float32)
    counts = np.array([len(clip) for clip in clips])
    if (counts == 0).any():
        raise DataError(f"clip {int(np.argmin(counts))} has no segments; every clip needs at least one")
    segments = segment_embeddings(
        model, np.concatenate(clips), batch_size=batch_size, device=device, precision=precision
    )
    return clip_means(segments, counts)


def device_type(device: str | torch.device | None) -> str:
    """``"cpu"`` or ``"cuda"``: where ``device`` (``None``/``"auto"``: CUDA when available) runs."""
    return resolve_device(device).type


def torch_precision(device: str | torch.device | None) -> str:
    """The arithmetic that suits ``device``: ``"bf16"`` on CUDA or a CPU with native bf16, else ``"fp32"``."""
    return "bf16" if device_type(device) == "cuda" or cpu_supports_bf16() else "fp32"
