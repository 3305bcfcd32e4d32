"""Log-mel examples for many files, with an on-disk cache.

Examples are computed once per clip and stored under a key made of the file's
content hash, the front-end parameters and the zsac version, so an edited file, a
changed front end or a new release never reuses a stale entry. Entries are written
atomically and carry a digest of their data; a corrupt entry is logged, deleted and
recomputed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ._npz import default_cache_dir, load_array, store_array
from ._version import __version__
from .audio import EXAMPLE_FRAMES, FRONTEND_PARAMS, NUM_MEL_BANDS, check_regular_file, file_to_examples
from .errors import AudioError

__all__ = ["FeatureCache", "ExtractedExamples", "extract_examples", "default_cache_dir"]

logger = logging.getLogger(__name__)

_HASH_CHUNK = 1 << 20


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class FeatureCache:
    """Content-addressed cache of log-mel examples (float32 ``.npz`` files).

    Parameters
    ----------
    directory : path or None
        Where entries live; ``None`` is ``default_cache_dir() / "features"``.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir() / "features"
        #: Why the cache was given up (it could not be read or written), or None while it works.
        self.broken: str | None = None

    def _give_up(self, exc: OSError) -> None:
        # The cache only saves time, so a cache that fails (read-only, full, a file in the way)
        # is said once, by its folder, and the work goes on without it: blaming each clip's
        # audio for it (every clip "unreadable") sent users to look at good files.
        if self.broken is None:
            self.broken = exc.strerror or str(exc)
            logger.warning(
                "feature cache %s cannot be used (%s: %s); going on without it",
                self.directory, self.broken, getattr(exc, "filename", None) or self.directory,
            )  # fmt: skip

    @classmethod
    def of_setting(cls, setting: bool | str | os.PathLike[str] | None) -> FeatureCache | None:
        """The cache a ``feature_cache`` setting names: ``True`` the default folder, a path that folder, else none."""
        if setting is False or setting is None:
            return None
        return cls(None if setting is True else setting)

    def key(self, path: str | os.PathLike[str], *, pad_short: bool = False) -> str:
        """Cache key of a file: its content hash plus everything that shapes its examples."""
        settings = json.dumps(
            {"frontend": FRONTEND_PARAMS, "pad_short": pad_short, "zsac": __version__}, sort_keys=True
        )
        return hashlib.sha256(f"{_file_digest(Path(path))}|{settings}".encode()).hexdigest()

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npz"

    def load(self, key: str) -> np.ndarray | None:
        """The cached examples for ``key``, or None when absent or corrupt (a corrupt entry is removed)."""
        return load_array(
            self._entry(key),
            "examples",
            valid=lambda examples: (
                examples.dtype == np.float32
                and examples.ndim == 3
                and examples.shape[1:] == (EXAMPLE_FRAMES, NUM_MEL_BANDS)
            ),
            what="feature cache entry",
        )

    def store(self, key: str, examples: np.ndarray) -> None:
        store_array(self._entry(key), "examples", np.ascontiguousarray(examples, dtype=np.float32))

    def examples(self, path: str | os.PathLike[str], *, pad_short: bool = False) -> np.ndarray:
        """Log-mel examples [n, 96, 64] of ``path``, computed on a miss and stored.

        A cache that cannot be read or written is given up with one warning (see :attr:`broken`).

        Raises
        ------
        AudioError
            The audio file is not a regular file, cannot be read (the OS's reason) or decoded.
        """
        check_regular_file(path)  # before hashing it: opening a FIFO would block for ever
        if self.broken is not None:
            return file_to_examples(path, pad_short=pad_short)
        try:
            key = self.key(path, pad_short=pad_short)
        except OSError as exc:  # reading the audio file for its hash: the file's fault
            raise AudioError(f"cannot read audio file {os.fspath(path)!r}: {exc.strerror or exc}") from exc
        try:
            cached = self.load(key)
        except OSError as exc:  # e.g. a corrupt entry that cannot be deleted
            self._give_up(exc)
            cached = None
        if cached is not None:
            return cached
        examples = file_to_examples(path, pad_short=pad_short)
        if self.broken is None:
            try:
                self.store(key, examples)
            except OSError as exc:  # read-only, full, or not a folder
                self._give_up(exc)
        return examples


@dataclasses.dataclass
class ExtractedExamples:
    """Result of :func:`extract_examples`.

    Attributes
    ----------
    paths : list of Path
        The files that succeeded, in input order.
    examples : list of np.ndarray [shape=(n_examples_i, 96, 64)]
        One array per successful file.
    failures : dict of str to str
        Path to error message, for files that were skipped.
    """

    paths: list[Path]
    examples: list[np.ndarray]
    failures: dict[str, str]


def extract_examples(
    paths: Iterable[str | os.PathLike[str]],
    *,
    cache: FeatureCache | None = None,
    pad_short: bool = False,
    n_workers: int | None = 1,
    skip_errors: bool = False,
    progress: bool = True,
) -> ExtractedExamples:
    """Log-mel examples of many files, optionally in parallel threads.

    Decoding (libsndfile), resampling (soxr) and the FFT (scipy) release the GIL, but on
    the 2-core development machine threads gave no gain over one (bench/frontend.py),
    so one worker, in the calling thread, is the default.

    Parameters
    ----------
    paths : iterable of paths
    cache : FeatureCache or None
        Read and fill this cache; None computes everything afresh.
    pad_short : bool
        See :func:`zsac.audio.waveform_to_examples`.
    n_workers : int or None
        Threads; 1 (the default) works in the calling thread; None lets
        :class:`~concurrent.futures.ThreadPoolExecutor` choose.
    skip_errors : bool
        False raises the first :class:`AudioError`; True logs each bad file, skips it
        and records it in ``failures``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    ExtractedExamples
    """
    paths = [Path(p) for p in paths]

    def one(path: Path) -> np.ndarray | AudioError:
        try:
            if cache is not None:
                return cache.examples(path, pad_short=pad_short)
            return file_to_examples(path, pad_short=pad_short)
        except AudioError as exc:
            if not skip_errors:
                raise
            return exc
        except OSError as exc:  # e.g. unreadable for the content hash
            error = AudioError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}")
            if not skip_errors:
                raise error from exc
            return error
        except MemoryError:
            # One file too large for memory must not take the batch down with it.
            error = AudioError(f"audio file {os.fspath(path)!r} is too large to read into memory")
            if not skip_errors:
                raise error from None
            return error

    result = ExtractedExamples(paths=[], examples=[], failures={})
    with contextlib.ExitStack() as stack:
        if n_workers == 1:
            outcomes = map(one, paths)
        else:
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=n_workers))
            outcomes = pool.map(one, paths)
        bar = tqdm(outcomes, total=len(paths), desc="log-mel", unit="clip", disable=not progress)
        for path, outcome in zip(paths, bar, strict=True):
            if isinstance(outcome, AudioError):
                logger.warning("skipping %s: %s", path, outcome)
                result.failures[os.fspath(path)] = str(outcome)
            else:
                result.paths.append(path)
                result.examples.append(outcome)
    return result
