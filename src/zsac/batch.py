"""Batch work on many audio files with a fitted :class:`~zsac.ZeroShotClassifier`.

Files are processed in chunks, so memory stays flat on long lists; a file that cannot be
read is recorded with its reason and the rest go on. Each file is classified as a whole,
by the mean of its segment embeddings (paper Section III-B), and optionally per window
of consecutive segments (a timeline).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from ._atomic import atomic_path
from .acoustic.pooling import clip_means, window_means
from .audio import EXAMPLE_FRAMES, SAMPLE_RATE, STFT_HOP_LENGTH
from .datasets.folder import AUDIO_EXTENSIONS
from .errors import ConfigError, DataError

__all__ = [
    "SEGMENT_SECONDS",
    "collect_audio_files",
    "FileResult",
    "ClassificationRun",
    "classify_files",
    "EmbeddingRun",
    "embed_files",
    "save_embeddings",
    "format_results",
    "OUTPUT_FORMATS",
    "timeline_window",
    "check_window_seconds",
    "csv_safe",
]

logger = logging.getLogger(__name__)

#: Length of one VGGish segment (96 frames of 10 ms).
SEGMENT_SECONDS = EXAMPLE_FRAMES * STFT_HOP_LENGTH / SAMPLE_RATE
OUTPUT_FORMATS = ("table", "json", "csv")
CSV_COLUMNS = ("file", "level", "start_s", "end_s", "rank", "class", "probability", "score")


def _audio_files_under(folder: Path) -> list[Path]:
    """Audio files under ``folder``, recursively and sorted; folders that cannot be listed are named in a warning."""

    def unlisted(exc: OSError) -> None:
        # os.walk (and rglob) skip an unreadable folder without a word; its files would just be missing.
        logger.warning("cannot list folder %s (%s); its files are left out", exc.filename, exc.strerror or exc)

    found = []
    for parent, dirs, names in os.walk(folder, onerror=unlisted):
        dirs.sort()
        for name in names:
            path = Path(parent) / name
            # Not only regular files: a FIFO or device with an audio name is kept, so that it is
            # refused by name with the failures (never opened), not dropped in silence.
            if path.suffix.lower() in AUDIO_EXTENSIONS:
                found.append(path)
    return sorted(found)


def collect_audio_files(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given, and the audio files under any folder (recursively, sorted).

    A path that does not exist is kept, so that it is reported as a failure with the rest;
    so is a FIFO or device with an audio file's name. A subfolder that cannot be listed is
    named in a warning.
    """
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = _audio_files_under(path)
            if not found:
                logger.warning("no audio files under %s", path)
            files.extend(found)
        else:
            files.append(path)
    return files


def _nothing_done(failures: dict[str, str], what: str) -> DataError:
    """The error when every file failed: no output is worth writing, and the exit status must say so.

    Its message gives the reasons of the first three failures, and how many more there were.
    """
    shown = "; ".join(f"{reason}" for reason in list(failures.values())[:3])
    more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
    return DataError(f"none of the {len(failures)} files could be {what}: {shown}{more}")


@dataclasses.dataclass
class FileResult:
    """The classification of one file.

    Attributes
    ----------
    file : str
    duration_s : float
        The file's duration. Whole 0.96-s segments are analysed, so up to 0.96 s at its end
        (or, for a clip shorter than one segment, the zero padding) is not heard.
    n_segments : int
        0.96-s segments analysed.
    top : list of (class, probability, score)
        The best ``top_k`` classes of the whole file, best first.
    timeline : list of (start_s, end_s, list of (class, probability, score))
        Per window, when a timeline was asked for; the windows cover the whole file.
    """

    file: str
    duration_s: float
    n_segments: int
    top: list[tuple[str, float, float]]
    timeline: list[tuple[float, float, list[tuple[str, float, float]]]]


@dataclasses.dataclass
class ClassificationRun:
    """What :func:`classify_files` returns: results in input order, and the files that failed.

    ``window_s`` is the timeline's window in seconds (whole 0.96-s segments), or None.
    ``training_classes`` are the classes that the classifier was trained on, and
    ``calibration`` the γ subtracted from their scores (0 unless new classes compete with them).
    """

    classes: list[str]
    results: list[FileResult]
    failures: dict[str, str]
    window_s: float | None = None
    training_classes: list[str] = dataclasses.field(default_factory=list)
    calibration: float = 0.0


def check_window_seconds(seconds: float | str) -> float:
    """A timeline window in seconds, checked: a positive, finite number (a string is parsed).

    Raises
    ------
    ConfigError
    """
    try:
        value = float(seconds) if isinstance(seconds, str) else seconds
    except ValueError:
        value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"the timeline window must be a positive, finite number of seconds, got {seconds!r}")
    return float(value)


def timeline_window(seconds: float) -> int:
    """Segments per timeline window: ``seconds`` rounded to whole 0.96-s segments, at least one.

    Raises
    ------
    ConfigError
        For a window that is not a positive, finite number of seconds.
    """
    seconds = check_window_seconds(seconds)
    segments = max(1, round(seconds / SEGMENT_SECONDS))
    if not math.isclose(segments * SEGMENT_SECONDS, seconds, abs_tol=1e-9):
        logger.warning(
            "timeline windows are whole 0.96-s segments: %g s is rounded to %d segment%s = %.2f s",
            seconds,
            segments,
            "" if segments == 1 else "s",
            segments * SEGMENT_SECONDS,
        )
    return segments


def _duration(path: str, n_segments: int) -> float:
    try:
        return float(sf.info(path).duration)
    except (sf.LibsndfileError, RuntimeError, OSError):  # read once already, so this is a race with a writer
        return n_segments * SEGMENT_SECONDS


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def classify_files(
    classifier: Any,
    files: Sequence[str | os.PathLike[str]],
    *,
    classes: Any = None,
    top_k: int = 3,
    timeline: float | None = None,
    chunk_size: int = 64,
    progress: bool = True,
) -> ClassificationRun:
    """Classify audio files with a fitted classifier, skipping and recording unreadable ones.

    Parameters
    ----------
    classifier : ZeroShotClassifier
    files : sequence of paths
    classes : class texts, ClassTable or None
        Any names or descriptions; ``None`` is the classifier's training classes.
    top_k : int
        Classes reported per file (and per window), best first.
    timeline : float or None
        Also classify windows of this many seconds, rounded to whole 0.96-s segments
        (at least one; a warning says so when it rounds); the last window of a file
        may be shorter, and reaches the file's end.
    chunk_size : int
        Files embedded together; bounds memory.
    progress : bool

    Returns
    -------
    ClassificationRun

    Raises
    ------
    DataError
        No file could be classified: each file's reason is logged, and the error gives the first three.
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ConfigError(f"top_k must be a whole number >= 1, got {top_k!r}")
    window = None if timeline is None else timeline_window(timeline)
    table = classifier.class_table(classes)  # embedded once, ranked against every chunk
    top_k = min(top_k, len(table.names))
    files = [Path(f) for f in files]
    results: list[FileResult] = []
    failures: dict[str, str] = {}
    ranking = None  # which classes are training classes, and the calibration: the same for every chunk
    with tqdm(total=len(files), desc="classifying", unit="file", disable=not progress) as bar:
        for chunk in _chunks(files, chunk_size):
            batch = classifier.embed_segments(chunk, skip_errors=True)
            failures.update(batch.failures)
            if batch.segments:
                ranking = classifier.rank(batch.clip_embeddings(), classes=table)
                ranked = ranking.top(top_k)
                for name, segments, top in zip(batch.names, batch.segments, ranked, strict=True):
                    duration = _duration(name, len(segments))
                    windows = []
                    if window is not None:
                        means, starts = window_means(segments, window)
                        ends = np.append(starts[1:], len(segments)) * SEGMENT_SECONDS
                        ends[-1] = max(ends[-1], duration)  # the last window reaches the end of the file
                        per_window = classifier.rank(means, classes=table).top(top_k)
                        windows = [
                            (float(start * SEGMENT_SECONDS), float(end), best)
                            for start, end, best in zip(starts, ends, per_window, strict=True)
                        ]
                    results.append(FileResult(name, duration, len(segments), top, windows))
            bar.update(len(chunk))
    if not results and failures:
        raise _nothing_done(failures, "classified")
    window_s = None if window is None else window * SEGMENT_SECONDS
    seen = getattr(ranking, "seen", None)
    seen = [] if seen is None else [name for name, is_seen in zip(table.names, seen, strict=True) if is_seen]
    calibration = float(getattr(ranking, "calibration", 0.0))
    if calibration:
        logger.info("calibration γ=%g subtracted from the scores of the training classes %s", calibration, seen)
    return ClassificationRun(
        classes=list(table.names), results=results, failures=failures, window_s=window_s, training_classes=seen,
        calibration=calibration,
    )  # fmt: skip


@dataclasses.dataclass
class EmbeddingRun:
    """What :func:`embed_files` returns.

    Attributes
    ----------
    files : list of str
        Files that succeeded, in input order.
    embeddings : np.ndarray [shape=(n_files, acoustic_dim)], float32
        Clip embeddings (means of segments).
    segments : list of np.ndarray [shape=(n_segments_i, acoustic_dim)]
    failures : dict of str to str
    """

    files: list[str]
    embeddings: np.ndarray
    segments: list[np.ndarray]
    failures: dict[str, str]


def embed_files(
    classifier: Any, files: Sequence[str | os.PathLike[str]], *, chunk_size: int = 64, progress: bool = True
) -> EmbeddingRun:
    """Acoustic embeddings of audio files, skipping and recording unreadable ones.

    Raises
    ------
    DataError
        No file could be embedded: each file's reason is logged, and the error gives the first three.
    """
    files = [Path(f) for f in files]
    names: list[str] = []
    segments: list[np.ndarray] = []
    failures: dict[str, str] = {}
    with tqdm(total=len(files), desc="embedding", unit="file", disable=not progress) as bar:
        for chunk in _chunks(files, chunk_size):
            batch = classifier.embed_segments(chunk, skip_errors=True)
            names += batch.names
            segments += batch.segments
            failures.update(batch.failures)
            bar.update(len(chunk))
    if not names and failures:
        raise _nothing_done(failures, "embedded")
    dim = classifier.acoustic_dim_
    flat = np.concatenate(segments) if segments else np.empty((0, dim), dtype=np.float32)
    embeddings = clip_means(flat, [len(s) for s in segments])
    return EmbeddingRun(files=names, embeddings=embeddings, segments=segments, failures=failures)


def save_embeddings(run: EmbeddingRun, path: str | os.PathLike[str], *, with_segments: bool = False) -> Path:
    """Write embeddings as ``.npz`` (no pickle: ``np.load(path, allow_pickle=False)`` reads it).

    Arrays: ``embeddings`` [shape=(n_files, dim)], ``files`` (str); with ``with_segments``
    also ``segment_embeddings`` [shape=(n_segments, dim)] and ``segment_counts`` [shape=(n_files,)].
    """
    path = Path(path)
    arrays = {"embeddings": run.embeddings, "files": np.array(run.files, dtype=str)}
    if with_segments:
        dim = run.embeddings.shape[1] if run.embeddings.ndim == 2 else 0
        arrays["segment_embeddings"] = np.concatenate(run.segments) if run.segments else np.empty((0, dim))
        arrays["segment_counts"] = np.array([len(s) for s in run.segments], dtype=np.int64)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return path


# --------------------------------------------------------------------------- output


def _rows(run: ClassificationRun) -> list[dict[str, Any]]:
    rows = []
    for result in run.results:
        levels = [("file", 0.0, result.duration_s, result.top)] + [("window", *window) for window in result.timeline]
        for level, start, end, ranked in levels:
            for rank, (name, probability, score) in enumerate(ranked, start=1):
                rows.append(
                    {
                        "file": result.file,
                        "level": level,
                        "start_s": round(start, 2),
                        "end_s": round(end, 2),
                        "rank": rank,
                        "class": name,
                        "probability": round(probability, 4),
                        "score": round(score, 4),
                    }
                )
    return rows


def _as_json(run: ClassificationRun) -> str:
    def entries(ranked):
        return [{"class": n, "probability": round(p, 4), "score": round(s, 4)} for n, p, s in ranked]

    files = []
    for result in run.results:
        item: dict[str, Any] = {
            "file": result.file,
            "duration_s": round(result.duration_s, 3),
            "predictions": entries(result.top),
        }
        if result.timeline:
            item["timeline"] = [
                {"start_s": round(a, 2), "end_s": round(b, 2), "predictions": entries(r)} for a, b, r in result.timeline
            ]
        files.append(item)
    document = {
        "classes": run.classes, "training_classes": run.training_classes, "calibration": run.calibration,
        "files": files, "failures": run.failures,
    }  # fmt: skip
    if run.window_s is not None:
        document["timeline_window_s"] = round(run.window_s, 2)
    return json.dumps(document, indent=2) + "\n"


#: What a spreadsheet takes for the start of a formula (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(cell: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula, with a ``'`` in front; numbers as they are.

    File names and class texts come from users (or from whoever named the files), and a cell
    such as ``=HYPERLINK(...)`` is executed when the CSV is opened in a spreadsheet.
    """
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


def _as_csv(run: ClassificationRun) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: csv_safe(value) for key, value in row.items()} for row in _rows(run))
    return buffer.getvalue()


def _as_table(run: ClassificationRun) -> str:
    header = ("file", "time (s)", "rank", "class", "probability")
    lines = []
    for row in _rows(run):
        time_span = "whole file" if row["level"] == "file" else f"{row['start_s']:.2f}-{row['end_s']:.2f}"
        lines.append((row["file"], time_span, str(row["rank"]), row["class"], f"{row['probability']:.3f}"))
    if not lines:
        return "no file could be classified\n"
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(len(header))]

    def fmt(cells):
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    out = [fmt(header), fmt(tuple("-" * w for w in widths))]
    previous = ("", "")
    for line in lines:
        # Name a file and a time span once, on their first row.
        shown = (
            line[0] if line[0] != previous[0] else "",
            line[1] if line[:2] != previous else "",
            *line[2:],
        )
        previous = line[:2]
        out.append(fmt(shown))
    return "\n".join(out) + "\n"


def format_results(run: ClassificationRun, fmt: str) -> str:
    """The run as text: ``table`` (aligned columns), ``json`` or ``csv`` (one row per class and level)."""
    if fmt == "table":
        return _as_table(run)
    if fmt == "json":
        return _as_json(run)
    if fmt == "csv":
        return _as_csv(run)
    raise ConfigError(f"unknown output format {fmt!r}; choose from {OUTPUT_FORMATS}")
