"""A clip's embedding is the mean of its segment embeddings (paper Section III-B): the means, in numpy.

:func:`clip_statistics` adds other statistics over a clip's segments (max, standard deviation),
concatenated, for pooling beyond the paper's mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError, DataError

__all__ = ["POOLING_STATISTICS", "clip_means", "clip_statistics", "window_means"]

#: Statistics :func:`clip_statistics` computes over each clip's segments.
POOLING_STATISTICS = ("mean", "max", "std")


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


def clip_statistics(
    segments: np.ndarray, counts: Sequence[int] | np.ndarray, stats: Sequence[str] | str = ("mean",)
) -> np.ndarray:
    """Statistics of each clip's run of segment embeddings, concatenated in the order of ``stats``.

    Parameters
    ----------
    segments : np.ndarray [shape=(sum(counts), dim)]
        Segment embeddings of all clips, clip after clip.
    counts : sequence of int [shape=(n_clips,)]
        Segments per clip; each at least 1.
    stats : sequence of {"mean", "max", "std"}, or one of them
        ``"mean"`` (as :func:`clip_means`, bit for bit), ``"max"`` (element-wise maximum) and
        ``"std"`` (element-wise population standard deviation, 0 for a one-segment clip); no repeats.

    Returns
    -------
    np.ndarray [shape=(n_clips, dim * len(stats))], float32
        Columns ``k * dim .. (k + 1) * dim`` hold ``stats[k]``. Sums are accumulated in float64.
    """
    stats = (stats,) if isinstance(stats, str) else tuple(stats)
    unknown = [name for name in stats if name not in POOLING_STATISTICS]
    if not stats or unknown or len(set(stats)) != len(stats):
        raise ConfigError(f"pooling statistics must be distinct names among {POOLING_STATISTICS}, got {stats}")
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size == 0:
        return np.empty((0, segments.shape[1] * len(stats)), dtype=np.float32)
    if (counts < 1).any() or counts.sum() != segments.shape[0]:
        raise DataError(f"segment counts {counts.tolist()} do not split {segments.shape[0]} segments into clips")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    means = None
    if "mean" in stats or "std" in stats:
        # float64 sums without a float64 copy of the segments (the same sums as clip_means's)
        means = np.add.reduceat(segments, starts, axis=0, dtype=np.float64) / counts[:, None]
    pooled = {}
    for name in stats:
        if name == "mean":
            pooled[name] = means
        elif name == "max":
            # a maximum needs no accumulation: reduceat over each clip's run, in the segments' own dtype
            pooled[name] = np.maximum.reduceat(segments, starts, axis=0)
        else:  # two passes (deviations from the clip's mean), which stays accurate where E[x²] - E[x]² would not
            squares = np.square(segments - np.repeat(means, counts, axis=0))  # float64
            pooled[name] = np.sqrt(np.add.reduceat(squares, starts, axis=0) / counts[:, None])
    return np.concatenate([pooled[name].astype(np.float32) for name in stats], axis=1)


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
