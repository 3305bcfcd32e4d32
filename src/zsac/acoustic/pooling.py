"""A clip's embedding is the mean of its segment embeddings (paper Section III-B): the means, in numpy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError

__all__ = ["clip_means", "window_means"]


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
