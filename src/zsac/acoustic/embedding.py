"""Clip embeddings: the mean of a clip's segment embeddings (paper Section III-B)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .._device import autocast, resolve_device, resolve_precision
from ..errors import DataError
from .vggish import VGGish

__all__ = ["embed_clips", "segment_embeddings", "clip_means", "window_means"]


def segment_embeddings(
    model: VGGish,
    examples: np.ndarray | torch.Tensor,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    precision: str = "auto",
) -> np.ndarray:
    """Embed log-mel examples one batch at a time.

    Parameters
    ----------
    model : VGGish
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
    model: VGGish,
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
    model : VGGish
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


def clip_means(segments: np.ndarray, counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """The mean of each clip's run of segment embeddings (paper Section III-B).

    Parameters
    ----------
    segments : np.ndarray [shape=(sum(counts), dim)]
        Segment embeddings of all clips, clip after clip.
    counts : sequence of int [shape=(n_clips,)]
        Segments per clip; each at least 1.

    Returns
    -------
    np.ndarray [shape=(n_clips, dim)], float32
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size == 0:
        return np.empty((0, segments.shape[1]), dtype=np.float32)
    if (counts < 1).any() or counts.sum() != segments.shape[0]:
        raise DataError(f"segment counts {counts.tolist()} do not split {segments.shape[0]} segments into clips")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # reduceat sums each clip's contiguous run of segments in one pass; float64 keeps the mean exact.
    sums = np.add.reduceat(segments.astype(np.float64), starts, axis=0)
    return (sums / counts[:, None]).astype(np.float32)


def window_means(segments: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Means over consecutive windows of ``window`` segments of one clip; the last may be shorter.

    Parameters
    ----------
    segments : np.ndarray [shape=(n_segments, dim)]
    window : int
        Segments per window, at least 1.

    Returns
    -------
    means : np.ndarray [shape=(ceil(n_segments / window), dim)], float32
    first_segment : np.ndarray [shape=(ceil(n_segments / window),)], int64
        Index of each window's first segment.
    """
    if window < 1:
        raise DataError(f"a window needs at least one segment, got {window}")
    starts = np.arange(0, segments.shape[0], window, dtype=np.int64)
    counts = np.diff(np.append(starts, segments.shape[0]))
    return clip_means(segments, counts), starts
