"""What a user passes as audio (``X``): files, waveforms or precomputed embeddings, turned into log-mel examples.

The estimator (:class:`~zsac.ZeroShotClassifier`) and batch classification accept the
same three kinds of input; this module tells them apart and turns audio into VGGish
log-mel examples, skipping and recording bad inputs when asked.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .acoustic.pooling import clip_means
from .audio import MAX_CHANNELS, check_sample_rate, file_seconds, iter_file_examples, waveform_to_examples
from .errors import AudioError, DataError
from .features import FeatureCache, extract_examples

__all__ = [
    "INPUT_KINDS",
    "input_kind",
    "checked_embeddings",
    "Examples",
    "examples_of",
    "SegmentBatch",
    "file_segments",
    "EMBED_BATCH_EXAMPLES",
]

logger = logging.getLogger(__name__)

INPUT_KINDS = ("paths", "waveforms", "embeddings")


def input_kind(X: Any, sample_rate: int | None) -> tuple[str, Any]:
    """What ``X`` holds (one of :data:`INPUT_KINDS`), and ``X`` itself with any iterator turned into a list.

    Raises
    ------
    DataError
        ``X`` is a single path, waveforms without ``sample_rate``, or something else (None).
    ConfigError
        ``sample_rate`` is not a whole number of Hz in the range :func:`~zsac.audio.check_sample_rate` allows.
    """
    if isinstance(X, (str, os.PathLike)):
        raise DataError(f"X must be a list of audio files, not the single path {os.fspath(X)!r}")
    if sample_rate is not None:
        check_sample_rate(sample_rate)  # before any work: NaN, inf, 0 or -1 Hz are a caller's slip
    if not hasattr(X, "ndim"):
        try:
            X = list(X)
        except TypeError:  # None, a number, ...
            raise DataError(f"X must be audio file paths, waveforms or embeddings, got {type(X).__name__}") from None
    if sample_rate is not None:
        return "waveforms", X
    if hasattr(X, "ndim") and X.ndim == 2 and np.issubdtype(np.asarray(X).dtype, np.number):
        return "embeddings", X
    items = [X] if hasattr(X, "ndim") else X
    if items and all(isinstance(item, (str, os.PathLike)) for item in items):
        return "paths", X
    if items and all(isinstance(item, np.ndarray) for item in items):
        raise DataError("X looks like waveforms: pass their sample_rate= as well")
    raise DataError("X must be audio file paths, waveforms (with sample_rate=) or a 2-D array of acoustic embeddings")


def checked_embeddings(X: Any, *, dim: int | None = None, allow_empty: bool = False) -> np.ndarray:
    """Precomputed acoustic embeddings as float32 [shape=(n_clips, dim)]: 2-D, finite, ``dim`` wide.

    Raises
    ------
    DataError
    """
    embeddings = np.asarray(X, dtype=np.float32)
    if embeddings.ndim != 2 or (embeddings.shape[0] == 0 and not allow_empty):
        raise DataError(f"acoustic embeddings must be a non-empty 2-D array, got shape {embeddings.shape}")
    if dim is not None and embeddings.shape[1] != dim:
        raise DataError(f"acoustic embeddings have {embeddings.shape[1]} dimensions; this classifier expects {dim}")
    if not np.isfinite(embeddings).all():
        raise DataError("acoustic embeddings contain NaN or infinite values")
    return embeddings


@dataclasses.dataclass
class Examples:
    """Log-mel examples of the audio inputs that could be read.

    Attributes
    ----------
    examples : list of np.ndarray [shape=(n_segments_i, 96, 64)]
    kept : list of int
        Position in the input of each entry of ``examples``.
    names : list of str
        The path of each entry, or ``"#<position>"`` for waveforms.
    failures : dict of str to str
        Input name to error message, for inputs that were skipped.
    """

    examples: list[np.ndarray]
    kept: list[int]
    names: list[str]
    failures: dict[str, str]


def examples_of(
    X: Any,
    kind: str,
    *,
    sample_rate: int | None = None,
    pad_short: bool = False,
    cache: FeatureCache | None = None,
    skip_errors: bool = False,
    progress: bool = False,
) -> Examples:
    """Log-mel examples of audio inputs: paths (through ``cache``) or waveforms at ``sample_rate``.

    Waveforms are a sequence of arrays [shape=(n_samples,) or (n_samples, n_channels)] or one
    array [shape=(n_clips, n_samples)]. With ``skip_errors`` an unreadable input is logged,
    recorded in ``failures`` and skipped; otherwise its :class:`~zsac.AudioError` names it
    (a path, or ``X[i]`` for a waveform: NaN or infinite samples, a channels-first array, ...).
    """
    if kind == "paths":
        paths = [Path(p) for p in X]
        extracted = extract_examples(
            paths, cache=cache, pad_short=pad_short, skip_errors=skip_errors, progress=progress and len(paths) > 1
        )
        # Successes come back in input order; a failed path fails at each of its positions.
        kept = [i for i, path in enumerate(paths) if os.fspath(path) not in extracted.failures]
        return Examples(extracted.examples, kept, [os.fspath(p) for p in extracted.paths], extracted.failures)
    if kind != "waveforms":
        raise DataError(f"expected audio (paths or waveforms), got {kind}")
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] <= MAX_CHANNELS < X.shape[0]:
        # Rows of at most MAX_CHANNELS samples (64 ms at the lowest rate) are never clips: this is one
        # (frames, channels) clip, which read as (n_clips, n_samples) gave thousands of empty clips.
        raise DataError(
            f"X of shape {X.shape} looks like one clip of shape (frames, channels), not {X.shape[0]} clips of "
            f"{X.shape[1]} samples; pass one clip as a list, [waveform]"
        )
    waveforms = ([X] if X.ndim == 1 else list(X)) if isinstance(X, np.ndarray) and X.ndim <= 2 else list(X)
    result = Examples([], [], [], {})
    for i, waveform in enumerate(waveforms):
        try:
            result.examples.append(waveform_to_examples(waveform, int(sample_rate), pad_short=pad_short))
        except (AudioError, MemoryError) as exc:
            reason = "too large to process in memory" if isinstance(exc, MemoryError) else str(exc)
            error = AudioError(f"X[{i}]: {reason}")
            if not skip_errors:
                raise error from (exc if isinstance(exc, AudioError) else None)
            logger.warning("skipping %s", error)
            result.failures[f"#{i}"] = str(error)
            continue
        result.kept.append(i)
        result.names.append(f"#{i}")
    return result


@dataclasses.dataclass
class SegmentBatch:
    """Segment embeddings of a batch of inputs; what :meth:`ZeroShotClassifier.embed_segments` returns.

    Attributes
    ----------
    segments : list of np.ndarray [shape=(n_segments_i, acoustic_dim)], float32
        One array per input that succeeded, in input order.
    index : np.ndarray [shape=(n_ok,)], int64
        Position in the input of each entry of ``segments``.
    names : list of str
        A name per successful input: the path, or ``"#<position>"`` for waveforms.
    failures : dict of str to str
        Input name to error message, for inputs that were skipped.
    """

    segments: list[np.ndarray]
    index: np.ndarray
    names: list[str]
    failures: dict[str, str]

    def clip_embeddings(self) -> np.ndarray:
        """Each input's clip embedding, the mean of its segments [shape=(n_ok, acoustic_dim)]."""
        if not self.segments:
            return np.empty((0, 0), dtype=np.float32)
        return clip_means(np.concatenate(self.segments), [len(s) for s in self.segments])


#: Examples embedded together by :func:`file_segments` (about 25 MB of log-mel): short files
#: share a model call, and a long file is embedded as it is decoded.
EMBED_BATCH_EXAMPLES = 1024
#: Files longer than this bypass the feature cache and are streamed. A cache entry is a file's
#: whole log-mel, computed at once on a miss: a 1-hour 16-kHz file then peaked at 264 MB
#: against 113 MB streamed, and 10 hours would take about 1.6 GB. Ten minutes costs at most
#: about 60 MB more than streaming (the waveform and its log-mel), while the files that a cache
#: pays off for (dataset clips, re-classified recordings) are mostly far shorter.
CACHE_MAX_SECONDS = 600.0


def file_segments(
    paths: Sequence[str | os.PathLike[str]],
    embed: Callable[[np.ndarray], np.ndarray],
    *,
    pad_short: bool = False,
    cache: FeatureCache | None = None,
    skip_errors: bool = False,
    progress: bool = False,
    block_seconds: float | None = None,
    batch_examples: int = EMBED_BATCH_EXAMPLES,
) -> SegmentBatch:
    """Segment embeddings of audio files, streamed: memory stays flat however long a file is.

    Without a cache each file is decoded, resampled and cut into examples a block at a time
    (:func:`~zsac.audio.iter_file_examples`), and examples are embedded ``batch_examples`` at
    a time, across files; only the segment embeddings (128 floats per 0.96 s) are kept. The
    segments, and so the clip means, are exactly those of the whole-file path. With a cache,
    a file's examples are read from it (or computed whole and stored), except for files longer
    than :data:`CACHE_MAX_SECONDS`, which are streamed as without one.

    Parameters
    ----------
    paths : sequence of paths
    embed : callable
        Log-mel examples [shape=(n, 96, 64)] to segment embeddings [shape=(n, dim)].
    pad_short, cache, skip_errors, progress
        See :func:`examples_of`.
    block_seconds : float or None
        Audio decoded at a time; None is :data:`zsac.audio.BLOCK_SECONDS`.
    batch_examples : int

    Returns
    -------
    SegmentBatch
    """
    names = [os.fspath(p) for p in paths]
    parts: dict[int, list[np.ndarray]] = {}  # input position -> its segment embeddings so far
    pending: list[tuple[int, np.ndarray]] = []
    failures: dict[str, str] = {}

    def flush() -> None:
        if not pending:
            return
        flat = embed(np.concatenate([examples for _, examples in pending]))
        offsets = np.cumsum([len(examples) for _, examples in pending])[:-1]
        for (position, _), part in zip(pending, np.split(flat, offsets), strict=True):
            if position in parts:
                parts[position].append(part)
        pending.clear()

    def blocks(name: str) -> Iterator[np.ndarray]:
        if cache is not None and file_seconds(name) <= CACHE_MAX_SECONDS:
            yield cache.examples(name, pad_short=pad_short)
        else:
            yield from iter_file_examples(name, pad_short=pad_short, block_seconds=block_seconds)

    for position, name in enumerate(tqdm(names, desc="embedding", unit="file", disable=not progress)):
        if name in failures:  # the same bad path again
            continue
        parts[position] = []
        try:
            for examples in blocks(name):
                pending.append((position, examples))
                if sum(len(e) for _, e in pending) >= batch_examples:
                    flush()
        except (AudioError, OSError, MemoryError) as exc:
            del parts[position]
            pending[:] = [(p, e) for p, e in pending if p != position]
            if isinstance(exc, AudioError):
                error = exc
            elif isinstance(exc, MemoryError):  # one file must not take the batch down
                error = AudioError(f"audio file {name!r} is too large to process in memory")
            else:
                error = AudioError(f"cannot read audio file {name!r}: {exc.strerror or exc}")
            if not skip_errors:
                raise error from exc
            logger.warning("skipping %s: %s", name, error)
            failures[name] = str(error)
    flush()
    kept = [position for position in parts if names[position] not in failures]
    segments = [np.concatenate(parts[position]) for position in kept]
    return SegmentBatch(segments, np.asarray(kept, dtype=np.int64), [names[p] for p in kept], failures)
