"""What a user passes as audio (``X``): files, waveforms or precomputed embeddings, turned into log-mel examples.

The estimator (:class:`~zsac.ZeroShotClassifier`) and batch classification accept the
same three kinds of input; this module tells them apart and turns audio into VGGish
log-mel examples, skipping and recording bad inputs when asked.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from .acoustic.pooling import clip_means
from .audio import waveform_to_examples
from .errors import AudioError, DataError
from .features import FeatureCache, extract_examples

__all__ = ["INPUT_KINDS", "input_kind", "checked_embeddings", "Examples", "examples_of", "SegmentBatch"]

logger = logging.getLogger(__name__)

INPUT_KINDS = ("paths", "waveforms", "embeddings")


def input_kind(X: Any, sample_rate: int | None) -> tuple[str, Any]:
    """What ``X`` holds (one of :data:`INPUT_KINDS`), and ``X`` itself with any iterator turned into a list.

    Raises
    ------
    DataError
        ``X`` is a single path, waveforms without ``sample_rate``, or something else.
    """
    if isinstance(X, (str, os.PathLike)):
        raise DataError(f"X must be a list of audio files, not the single path {os.fspath(X)!r}")
    if not hasattr(X, "ndim"):
        X = list(X)
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
    recorded in ``failures`` and skipped; otherwise its :class:`~zsac.AudioError` names it.
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
    waveforms = ([X] if X.ndim == 1 else list(X)) if isinstance(X, np.ndarray) and X.ndim <= 2 else list(X)
    result = Examples([], [], [], {})
    for i, waveform in enumerate(waveforms):
        try:
            result.examples.append(waveform_to_examples(np.asarray(waveform), int(sample_rate), pad_short=pad_short))
        except AudioError as exc:
            if not skip_errors:
                raise AudioError(f"waveform #{i}: {exc}") from exc
            logger.warning("skipping waveform #%d: %s", i, exc)
            result.failures[f"#{i}"] = str(exc)
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
