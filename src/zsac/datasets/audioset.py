"""AudioSet's released 128-d embeddings (``features.tar.gz``), read without TensorFlow.

The release holds ``audioset_v1_embeddings/{bal_train,eval,unbal_train}/*.tfrecord``. Each
record is a ``tf.train.SequenceExample``: context ``video_id`` (bytes), ``start_time_seconds``,
``end_time_seconds`` (float) and ``labels`` (int64 indices into ``class_labels_indices.csv``);
feature list ``audio_embedding`` with one string of 128 uint8 per ~0.96 s frame. The bytes
are the 8-bit quantisation of PCA-whitened VGGish embeddings on [-2, 2], so a byte ``x``
stands for ``x / 255 * 4 - 2``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .._atomic import atomic_path
from .._npz import default_cache_dir
from ..acoustic.pooling import clip_statistics
from ..errors import ConfigError, DataError
from .root import DATA_DIR_ENV, data_root

__all__ = ["AUDIOSET_SPLITS", "EMBEDDING_DIM", "AudioSetEmbeddings", "read_audioset_embeddings"]

logger = logging.getLogger(__name__)

#: Split folders of the release, in the order the download page lists them.
AUDIOSET_SPLITS = ("bal_train", "eval", "unbal_train")
#: Size of one released embedding frame.
EMBEDDING_DIM = 128
_EMBEDDINGS_FOLDER = "audioset_v1_embeddings"

# A 256-entry table gives the exactly rounded float32 of x / 255 * 4 - 2 for every byte,
# without a float64 temporary the size of the whole release.
_DEQUANTISE = (np.arange(256, dtype=np.float64) / 255.0 * 4.0 - 2.0).astype(np.float32)


@dataclasses.dataclass(frozen=True, eq=False)
class AudioSetEmbeddings:
    """Clips of the AudioSet embedding release, their labels and their dequantised frames.

    Attributes
    ----------
    video_id : np.ndarray [shape=(n_clips,)], str (numpy unicode)
        YouTube id of each clip.
    start_time : np.ndarray [shape=(n_clips,)], float32
        Start of each 10 s segment in its video, in seconds.
    end_time : np.ndarray [shape=(n_clips,)], float32
        End of each segment, in seconds.
    labels : tuple of tuple of int [n_clips][n_labels_of_clip]
        Class indices into ``class_labels_indices.csv``, as stored.
    split : np.ndarray [shape=(n_clips,)], str (numpy unicode)
        ``"bal_train"``, ``"eval"`` or ``"unbal_train"``.
    frames : np.ndarray [shape=(n_frames_total, 128)], float32
        Dequantised embedding frames on [-2, 2], all clips concatenated in clip order.
    frame_offsets : np.ndarray [shape=(n_clips + 1,)], int64
        Clip ``i`` is ``frames[frame_offsets[i]:frame_offsets[i + 1]]``; starts at 0, ends at ``n_frames_total``.
    """

    video_id: np.ndarray
    start_time: np.ndarray
    end_time: np.ndarray
    labels: tuple[tuple[int, ...], ...]
    split: np.ndarray
    frames: np.ndarray
    frame_offsets: np.ndarray

    def __post_init__(self) -> None:
        n_clips = len(self.video_id)
        lengths = {
            "start_time": len(self.start_time),
            "end_time": len(self.end_time),
            "labels": len(self.labels),
            "split": len(self.split),
        }
        wrong = {name: n for name, n in lengths.items() if n != n_clips}
        if wrong:
            raise DataError(f"AudioSetEmbeddings: {n_clips} video ids but lengths {wrong}")
        if self.frames.ndim != 2 or self.frames.shape[1] != EMBEDDING_DIM:
            raise DataError(f"AudioSetEmbeddings: frames have shape {self.frames.shape}, expected (n, {EMBEDDING_DIM})")
        offsets = self.frame_offsets
        if (
            offsets.shape != (n_clips + 1,)
            or offsets[0] != 0
            or offsets[-1] != len(self.frames)
            or np.any(np.diff(offsets) < 0)
        ):
            raise DataError(
                f"AudioSetEmbeddings: frame_offsets must rise from 0 to {len(self.frames)} "
                f"with {n_clips + 1} entries (got shape {offsets.shape})"
            )

    def __len__(self) -> int:
        return len(self.video_id)

    @property
    def n_frames(self) -> np.ndarray:
        """np.ndarray [shape=(n_clips,)], int64: the number of frames of each clip."""
        return np.diff(self.frame_offsets)

    def clip_frames(self, index: int) -> np.ndarray:
        """Frames of one clip.

        Parameters
        ----------
        index : int
            Clip index; negative indices count from the end.

        Returns
        -------
        np.ndarray [shape=(n_frames_i, 128)], float32
            A view into :attr:`frames`.
        """
        index = range(len(self))[index]
        return self.frames[self.frame_offsets[index] : self.frame_offsets[index + 1]]

    def clip_means(self) -> np.ndarray:
        """Mean frame of each clip: the clip-level embedding.

        Returns
        -------
        np.ndarray [shape=(n_clips, 128)], float32
            Accumulated in float64, then rounded.
        """
        if len(self) == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        n_frames = self.n_frames
        # reduceat would return the next clip's first frame for an empty clip; the reader skips those.
        if np.any(n_frames == 0):
            raise DataError("AudioSetEmbeddings: some clips have no frames, so they have no mean embedding")
        # reduceat over a float64 copy: the same sums as dtype=float64 on the float32 frames, 4x faster.
        sums = np.add.reduceat(self.frames.astype(np.float64), self.frame_offsets[:-1], axis=0)
        return (sums / n_frames[:, None]).astype(np.float32)

    def clip_statistics(self, stats: Sequence[str] | str = ("mean",)) -> np.ndarray:
        """Statistics of each clip's frames, concatenated: pooling beyond the mean.

        Parameters
        ----------
        stats : sequence of {"mean", "max", "std"}, or one of them
            As :func:`zsac.acoustic.pooling.clip_statistics`; ``("mean",)`` equals :meth:`clip_means`.

        Returns
        -------
        np.ndarray [shape=(n_clips, 128 * len(stats))], float32
            Columns ``128 k .. 128 (k + 1)`` hold ``stats[k]`` of each clip's frames.
        """
        if len(self) and np.any(self.n_frames == 0):
            raise DataError("AudioSetEmbeddings: some clips have no frames, so they have no pooled embedding")
        return clip_statistics(self.frames, self.n_frames, stats)

    def subset(self, indices: Sequence[int] | np.ndarray) -> AudioSetEmbeddings:
        """The clips at ``indices``, in the order given (repeats allowed).

        Parameters
        ----------
        indices : array-like of int [shape=(n_selected,)], or of bool [shape=(n_clips,)]
            Clip indices, or a mask over the clips.

        Returns
        -------
        AudioSetEmbeddings
            A new object with copied frames.
        """
        indices = np.asarray(indices)
        if indices.dtype == bool:
            if indices.shape != (len(self),):
                raise DataError(f"subset: a mask needs shape ({len(self)},), got {indices.shape}")
            indices = np.flatnonzero(indices)
        indices = indices.astype(np.int64, copy=False).reshape(-1)
        if indices.size and (indices.min() < -len(self) or indices.max() >= len(self)):
            raise DataError(
                f"subset: indices must lie in [-{len(self)}, {len(self)}), got {indices.min()}..{indices.max()}"
            )
        indices = indices % max(len(self), 1)
        starts = self.frame_offsets[indices]
        lengths = self.frame_offsets[indices + 1] - starts
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        # Frame k of the result comes from starts[clip] + (k - offsets[clip]).
        frame_index = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1], dtype=np.int64)
        return AudioSetEmbeddings(
            video_id=self.video_id[indices],
            start_time=self.start_time[indices],
            end_time=self.end_time[indices],
            labels=tuple(self.labels[i] for i in indices.tolist()),
            split=self.split[indices],
            frames=self.frames[frame_index],
            frame_offsets=offsets,
        )


def _embeddings_dir(root: str | os.PathLike[str] | None) -> Path:
    """The ``audioset_v1_embeddings`` folder, given it, the AudioSet folder or a data root."""
    base = Path(root) if root is not None else data_root()
    candidates = [base, base / _EMBEDDINGS_FOLDER, base / "audioset" / _EMBEDDINGS_FOLDER]
    for candidate in candidates:
        if candidate.name == _EMBEDDINGS_FOLDER and candidate.is_dir():
            return candidate
    # A folder with split subfolders directly inside counts even under another name.
    if any((base / split).is_dir() for split in AUDIOSET_SPLITS):
        return base
    raise DataError(
        f"no AudioSet embeddings found: none of {', '.join(str(c) for c in candidates)} is an "
        f"{_EMBEDDINGS_FOLDER} folder; set ${DATA_DIR_ENV} to the folder that holds audioset/, "
        f"or fetch the release with zsac.datasets.download_audioset_embeddings()"
    )


def _context_value(context, key: str, kind: str, path: Path, record: int):
    if key not in context.feature:
        raise DataError(f"{path}: record {record} lacks the context feature {key!r}")
    return getattr(context.feature[key], kind).value


def _read_file(path: Path, split: str, out: dict[str, list]) -> int:
    """Append the clips of one TFRecord file to ``out``; return how many clips had no frames."""
    # Here, not at import: the tfrecord package imports torch, which a cached read never needs.
    from google.protobuf.message import DecodeError
    from tfrecord import example_pb2
    from tfrecord.reader import tfrecord_iterator

    empty = 0
    try:
        for record_number, record in enumerate(tfrecord_iterator(str(path))):
            # Parsing the proto directly (rather than through tfrecord's sequence_loader) keeps a
            # clip whose audio_embedding list is absent or empty readable, so it can be skipped.
            example = example_pb2.SequenceExample.FromString(record)
            context = example.context
            video_id = bytes(_context_value(context, "video_id", "bytes_list", path, record_number)[0]).decode()
            start = _context_value(context, "start_time_seconds", "float_list", path, record_number)
            end = _context_value(context, "end_time_seconds", "float_list", path, record_number)
            labels = tuple(int(label) for label in _context_value(context, "labels", "int64_list", path, record_number))
            feature_list = example.feature_lists.feature_list
            frames = feature_list["audio_embedding"].feature if "audio_embedding" in feature_list else ()
            data = b"".join(b"".join(frame.bytes_list.value) for frame in frames)
            if len(data) % EMBEDDING_DIM:
                raise DataError(
                    f"{path}: clip {video_id} has {len(data)} embedding bytes, not a multiple of {EMBEDDING_DIM}"
                )
            if not data:
                empty += 1
                continue
            out["video_id"].append(video_id)
            out["start_time"].append(start[0] if len(start) else np.nan)
            out["end_time"].append(end[0] if len(end) else np.nan)
            out["labels"].append(labels)
            out["split"].append(split)
            out["frames"].append(data)
            out["n_frames"].append(len(data) // EMBEDDING_DIM)
    except DataError:
        raise
    except (RuntimeError, DecodeError, UnicodeDecodeError, IndexError, OSError, ValueError, OverflowError,
            MemoryError) as exc:  # fmt: skip
        # tfrecord reports a truncated file as RuntimeError; a corrupt length field can ask for an
        # impossible buffer (OverflowError/MemoryError); a corrupt payload fails to parse (DecodeError).
        raise DataError(f"cannot read AudioSet TFRecord {path}: {type(exc).__name__}: {exc}") from exc
    return empty


#: Bumped whenever the cached arrays change meaning, so older cache files are never read.
_CACHE_FORMAT = 1
_CACHE_ARRAYS = (
    "quantised", "frame_offsets", "video_id", "start_time", "end_time", "label_values", "label_offsets", "split",
    "empty",
)  # fmt: skip


def _release_cache_path(files: Sequence[tuple[str, Path]]) -> Path:
    """The cache entry of exactly these TFRecord files, as they are now (paths, sizes, modification times)."""
    digest = hashlib.sha256(f"zsac audioset cache {_CACHE_FORMAT}\n".encode())
    for split, path in files:
        status = path.stat()
        digest.update(f"{split}\t{path.resolve()}\t{status.st_size}\t{status.st_mtime_ns}\n".encode())
    return default_cache_dir() / "audioset" / f"release-{digest.hexdigest()[:24]}.npz"


def _load_cached_release(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cache entry, or None when it is absent, unreadable or inconsistent (then it is deleted)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in _CACHE_ARRAYS}
        n_clips = len(arrays["video_id"])
        consistent = (
            arrays["quantised"].dtype == np.uint8
            and arrays["quantised"].ndim == 2
            and arrays["quantised"].shape[1] == EMBEDDING_DIM
            and arrays["frame_offsets"].shape == (n_clips + 1,)
            and arrays["frame_offsets"][-1] == len(arrays["quantised"])
            and np.all(np.diff(arrays["frame_offsets"]) > 0)
            and arrays["label_offsets"].shape == (n_clips + 1,)
            and arrays["label_offsets"][-1] == len(arrays["label_values"])
            and all(len(arrays[name]) == n_clips for name in ("start_time", "end_time", "split"))
        )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("ignoring the unreadable AudioSet cache %s (%s); reading the TFRecords", path, exc)
        consistent, arrays = False, None
    if not consistent:
        path.unlink(missing_ok=True)
        return None
    return arrays


#: A temporary cache file older than this was left by a killed run (a write takes about a second).
_STALE_SECONDS = 600


def _store_cached_release(path: Path, arrays: dict[str, np.ndarray]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in path.parent.glob(".release-*.tmp"):  # a run killed while writing (about 60 MB each)
            with contextlib.suppress(OSError):
                if time.time() - leftover.stat().st_mtime > _STALE_SECONDS:
                    leftover.unlink()
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
    except OSError as exc:  # a cache that cannot be written only costs the next run its speed
        logger.warning("cannot write the AudioSet cache %s (%s); the next run reads the TFRecords again",
                       path, exc.strerror or exc)  # fmt: skip


def read_audioset_embeddings(
    root: str | os.PathLike[str] | None = None,
    *,
    splits: Sequence[str] = ("bal_train", "eval"),
    progress: bool = True,
    cache: bool = True,
    keep: Callable[[tuple[tuple[int, ...], ...]], Sequence[int] | np.ndarray] | None = None,
) -> AudioSetEmbeddings:
    """Read the released embeddings of some splits into memory.

    Files are read in sorted order within a split, splits in the order given. Clips with no
    frames are skipped (one warning gives their count); duplicate clips are kept as stored.

    The parsed release is cached (its 8-bit frames and metadata, in one ``.npz`` under
    ``$ZSAC_CACHE_DIR/audioset``), keyed by every file's path, size and modification time, so a
    later read of the same files takes a fraction of a second and never imports the TFRecord
    parser; a changed, added or removed file misses the cache.

    Parameters
    ----------
    root : path or None
        The ``audioset_v1_embeddings`` folder, the AudioSet folder holding it, or a data root
        holding ``audioset/``. None means :func:`~zsac.datasets.data_root`.
    splits : sequence of str, keyword-only
        Any of ``"bal_train"``, ``"eval"``, ``"unbal_train"``, without repeats.
    progress : bool, keyword-only
        Show a progress bar over the files.
    cache : bool, keyword-only
        Read and write the cache (default); False parses the TFRecords every time.
    keep : callable, keyword-only, optional
        Given every clip's labels, the indices of the clips to return (e.g.
        :func:`zsac.protocols.single_label_clips`); only their frames are dequantised, which
        saves time and memory. The result equals ``read_audioset_embeddings(...).subset(indices)``.

    Returns
    -------
    AudioSetEmbeddings
        The clips, with frames dequantised to float32 on [-2, 2].

    Raises
    ------
    ConfigError
        An unknown or repeated split name.
    DataError
        No embeddings folder; a split folder that is missing or holds no ``.tfrecord`` files;
        a truncated or corrupt file; a clip whose embedding bytes are not a multiple of 128.
    """
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    unknown = [split for split in splits if split not in AUDIOSET_SPLITS]
    if unknown or not splits or len(set(splits)) != len(splits):
        raise ConfigError(f"splits must be distinct names among {AUDIOSET_SPLITS}, got {splits}")
    folder = _embeddings_dir(root)
    files: list[tuple[str, Path]] = []
    for split in splits:
        split_dir = folder / split
        if not split_dir.is_dir():
            raise DataError(f"AudioSet split folder {split_dir} does not exist")
        split_files = sorted(split_dir.glob("*.tfrecord"))
        if not split_files:
            raise DataError(f"AudioSet split folder {split_dir} holds no .tfrecord files")
        files.extend((split, path) for path in split_files)

    cache_path = _release_cache_path(files) if cache else None
    arrays = None if cache_path is None else _load_cached_release(cache_path)
    if arrays is None:
        arrays = _read_release(files, progress=progress)
        if cache_path is not None:
            _store_cached_release(cache_path, arrays)
    else:
        logger.debug("read the AudioSet release of %d files from the cache %s", len(files), cache_path)
    if arrays["empty"]:
        logger.warning(
            "skipped %d AudioSet clips with no embedding frames (splits %s)", int(arrays["empty"]), ", ".join(splits)
        )
    offsets = arrays["frame_offsets"]
    logger.info("read %d AudioSet clips (%d frames) from %d files under %s", len(offsets) - 1, offsets[-1],
                len(files), folder)  # fmt: skip
    label_values, label_offsets = arrays["label_values"].tolist(), arrays["label_offsets"].tolist()
    labels = tuple(tuple(label_values[a:b]) for a, b in zip(label_offsets[:-1], label_offsets[1:], strict=True))
    quantised = AudioSetEmbeddings(
        video_id=arrays["video_id"].astype(str),
        start_time=arrays["start_time"].astype(np.float32),
        end_time=arrays["end_time"].astype(np.float32),
        labels=labels,
        split=arrays["split"].astype(str),
        frames=arrays["quantised"],
        frame_offsets=offsets.astype(np.int64),
    )
    if keep is not None:
        quantised = quantised.subset(np.asarray(keep(labels), dtype=np.int64))
    # Dequantised last, and only for the clips kept: the table lookup is most of a cached read's time.
    return dataclasses.replace(quantised, frames=_DEQUANTISE[quantised.frames])


def _read_release(files: Sequence[tuple[str, Path]], *, progress: bool) -> dict[str, np.ndarray]:
    """Parse every TFRecord file into the arrays that :func:`read_audioset_embeddings` caches."""
    out: dict[str, list] = {key: [] for key in ("video_id", "start_time", "end_time", "labels", "split", "frames")}
    out["n_frames"] = []
    empty = 0
    for split, path in tqdm(files, desc="AudioSet embeddings", unit="file", disable=not progress):
        empty += _read_file(path, split, out)
    offsets = np.zeros(len(out["n_frames"]) + 1, dtype=np.int64)
    np.cumsum(out["n_frames"], out=offsets[1:])
    label_offsets = np.zeros(len(out["labels"]) + 1, dtype=np.int64)
    np.cumsum([len(labels) for labels in out["labels"]], out=label_offsets[1:])
    return {
        "quantised": np.frombuffer(b"".join(out["frames"]), dtype=np.uint8).reshape(-1, EMBEDDING_DIM),
        "frame_offsets": offsets,
        "video_id": np.array(out["video_id"], dtype=str),
        "start_time": np.array(out["start_time"], dtype=np.float32),
        "end_time": np.array(out["end_time"], dtype=np.float32),
        "label_values": np.array([label for labels in out["labels"] for label in labels], dtype=np.int64),
        "label_offsets": label_offsets,
        "split": np.array(out["split"], dtype=str),
        "empty": np.array(empty, dtype=np.int64),
    }
