"""Segment shards: a dataset's log-mel examples on disk in N parts, read with bounded memory.

Training at scale cannot hold every example in RAM (all of AudioSet is about 20 M segments,
250 GB in float16), so ``zsac features --shard i/N --shards-out DIR`` writes part ``i`` of
``N`` of a folder that training reads through memory maps. Part ``i`` of ``N`` is four files,
named ``part-{i:05d}-of-{N:05d}.*``:

- ``.examples.npy``: the log-mel examples ``[n_i, 96, 64]``, float16 (half the disk) or float32;
- ``.labels.npy``: int64 ``[n_i]``, each segment's class, an index into the class list;
- ``.clips.npy``: int64 ``[n_i]``, the index of each segment's clip in the dataset's whole
  clip list (training splits AudioSet by clip);
- ``.json``: the format and its version, the part, the class list (every class of the
  dataset, so that all parts agree), dtype, counts, the part's clip paths, the files skipped,
  the front-end parameters and the zsac version.

Each file is written atomically and the JSON last, so a part is complete only when its JSON
exists: a writer killed half-way leaves a part that readers count as missing. The reader,
:class:`SegmentShards`, treats the folder as untrusted input: every failed check is a one-line
:class:`~zsac.DataError` naming the file, and nothing is ever unpickled.

This module sits beside :mod:`zsac.features` and imports nothing above it (no torch).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from glob import escape as glob_escape
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ._atomic import (
    atomic_path,
    default_permissions,
    fsync_path,
    open_regular_file,
    output_lock,
    write_json_atomic,
)
from ._files import file_kind, os_reason
from ._version import __version__
from .audio import EXAMPLE_FRAMES, FRONTEND_PARAMS, NUM_MEL_BANDS
from .errors import ConfigError, DataError

__all__ = [
    "SHARDS_FORMAT", "SHARDS_VERSION", "SHARD_DTYPES", "SegmentPartWriter", "SegmentShards", "part_stem",
    "write_segment_part",
]  # fmt: skip

logger = logging.getLogger(__name__)

SHARDS_FORMAT = "zsac-segment-shards"
SHARDS_VERSION = 1
#: The dtypes the examples may be stored in; float16 halves the disk at ~1e-3 relative error.
SHARD_DTYPES = ("float16", "float32")

_EXAMPLE_SHAPE = (EXAMPLE_FRAMES, NUM_MEL_BANDS)
_SUFFIXES = ("examples.npy", "labels.npy", "clips.npy")
_PART_NAME = re.compile(r"part-(\d{5})-of-(\d{5})\.(json|examples\.npy|labels\.npy|clips\.npy)")
# The examples file's header is written first as a placeholder and rewritten with the real
# count at the end, so it has a fixed size: 128 bytes hold any shape (the npy format pads
# its header to a multiple of 64 bytes, with spaces before the final newline).
_NPY_HEADER_BYTES = 128
_NPY_MAGIC = b"\x93NUMPY\x01\x00"


def part_stem(part: int, parts: int) -> str:
    """``part-00003-of-00008``: the name that part ``part`` of ``parts`` gives its four files."""
    return f"part-{part:05d}-of-{parts:05d}"


def _check_part(part: int, parts: int) -> None:
    if not (isinstance(parts, int) and isinstance(part, int) and parts >= 1 and 0 <= part < parts):
        raise ConfigError(f"a shard part is i of N with 0 <= i < N, got {part!r} of {parts!r}")
    if parts > 99_999:
        raise ConfigError(f"at most 99999 parts, got {parts}")


def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    text = repr({"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})
    body = text.encode("latin1")
    room = _NPY_HEADER_BYTES - len(_NPY_MAGIC) - 2 - 1  # magic, header length, newline
    if len(body) > room:  # pragma: no cover  (a shape of 20-digit numbers still fits)
        raise DataError(f"npy header too long for shape {shape}")
    body = body.ljust(room) + b"\n"
    return _NPY_MAGIC + len(body).to_bytes(2, "little") + body


class SegmentPartWriter:
    """Write part ``part`` of ``parts`` of a segment-shards folder, one clip at a time.

    The examples stream to disk as clips are added, so memory holds one clip's examples (and
    8 bytes per segment for labels and clip indices), whatever the part's size. Use it as a
    context manager: :meth:`finish` writes the labels, clip indices and, last, the JSON; leaving
    the block with an exception writes no JSON, so the part stays missing. The part's JSON path
    is locked (:func:`~zsac._atomic.output_lock`) for the whole write, so a second run writing
    the same part is refused at once.

    Parameters
    ----------
    directory : path
        The shards folder (made if absent).
    part, parts : int
        This is part ``part`` (0-based) of ``parts``.
    class_names : sequence of str
        Every class of the dataset, sorted; labels index it. All parts must pass the same list.
    total_clips : int
        Clips in the dataset's whole clip list (all parts); clip indices are below it.
    dtype : {"float16", "float32"}
        How the examples are stored.
    pad_short : bool
        Whether clips shorter than one example were zero-padded (recorded; parts must agree).
    clip_list_digest : str
        A digest of the whole clip list, recorded so that the reader can tell that all parts
        were cut from the same list.

    Raises
    ------
    ConfigError
        A bad part, dtype or class list.
    DataError
        Another run is writing this part, or the folder cannot be written.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        part: int,
        parts: int,
        class_names: Sequence[str],
        total_clips: int,
        dtype: str = "float16",
        pad_short: bool = False,
        clip_list_digest: str = "",
    ) -> None:
        _check_part(part, parts)
        if dtype not in SHARD_DTYPES:
            raise ConfigError(f"shard dtype must be one of {', '.join(SHARD_DTYPES)}, got {dtype!r}")
        class_names = [str(name) for name in class_names]
        if class_names != sorted(set(class_names)) or not class_names:
            raise ConfigError("class_names must be a non-empty sorted list without repeats")
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise DataError(f"{self.directory} is a file, not a shards folder; refusing to write into it")
        self.part, self.parts, self.dtype = part, parts, np.dtype(dtype)
        self.class_names, self.total_clips = class_names, int(total_clips)
        self.pad_short, self.clip_list_digest = bool(pad_short), clip_list_digest
        self._class_index = {name: k for k, name in enumerate(class_names)}
        self._labels: list[np.ndarray] = []
        self._clips: list[np.ndarray] = []
        self.paths: list[str] = []
        self.n_segments = 0
        self._lock = contextlib.ExitStack()
        self._handle: BinaryIO | None = None
        self._tmp: Path | None = None
        self._finished = False

    def path(self, suffix: str) -> Path:
        """The file of this part with ``suffix`` (``"json"``, ``"examples.npy"``, ...)."""
        return self.directory / f"{part_stem(self.part, self.parts)}.{suffix}"

    def __enter__(self) -> SegmentPartWriter:
        # Held until the JSON is written, so two runs never interleave the files of one part.
        self._lock.enter_context(output_lock(self.path("json")))
        try:
            # A complete part of an earlier run is dropped first: its JSON would vouch for
            # the new arrays while they are being replaced.
            self.path("json").unlink(missing_ok=True)
            # What a killed writer of this part left; no one else writes it while we hold the lock.
            for leftover in self.directory.glob(f".{glob_escape(self.path('examples.npy').name)}.*.tmp"):
                leftover.unlink(missing_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{self.path('examples.npy').name}.", suffix=".tmp", dir=self.directory)
            self._tmp = Path(name)
            self._handle = os.fdopen(fd, "wb")
            self._handle.write(_npy_header(self.dtype, (0, *_EXAMPLE_SHAPE)))  # placeholder, see finish
        except OSError as exc:
            self._abort()
            raise DataError(f"cannot write shards folder {self.directory}: {os_reason(exc)}") from exc
        except BaseException:
            self._abort()
            raise
        return self

    def add_clip(self, *, clip_index: int, label: str, path: str | os.PathLike[str], examples: np.ndarray) -> None:
        """Append one clip's examples ``[n, 96, 64]``; ``clip_index`` is its place in the whole clip list."""
        if self._handle is None or self._finished:
            raise RuntimeError("SegmentPartWriter.add_clip outside its with-block")
        examples = np.asarray(examples)
        if examples.ndim != 3 or examples.shape[1:] != _EXAMPLE_SHAPE:
            raise DataError(f"examples of {os.fspath(path)!r} have shape {examples.shape}, expected (n, 96, 64)")
        if label not in self._class_index:
            raise DataError(f"label {label!r} of {os.fspath(path)!r} is not among the shards' classes")
        if not 0 <= clip_index < self.total_clips:
            raise DataError(f"clip index {clip_index} of {os.fspath(path)!r} is outside 0..{self.total_clips - 1}")
        n = examples.shape[0]
        if n == 0:  # nothing to train on; the reader counts a part's clips by their segments
            return
        try:
            self._handle.write(np.ascontiguousarray(examples, dtype=self.dtype).tobytes())
        except OSError as exc:
            raise DataError(f"cannot write {self.path('examples.npy')}: {os_reason(exc)}") from exc
        self._labels.append(np.full(n, self._class_index[label], dtype=np.int64))
        self._clips.append(np.full(n, clip_index, dtype=np.int64))
        self.paths.append(os.fspath(path))
        self.n_segments += n

    def finish(self, *, failures: Mapping[str, str] | None = None) -> Path:
        """Complete the part: the examples' real header, the labels and clip indices, then the JSON.

        Parameters
        ----------
        failures : mapping of str to str or None
            Files of this part that were skipped, and why (recorded in the JSON).

        Returns
        -------
        Path
            The part's JSON.
        """
        if self._handle is None or self._tmp is None or self._finished:
            raise RuntimeError("SegmentPartWriter.finish outside its with-block, or twice")
        try:
            handle = self._handle
            handle.seek(0)
            handle.write(_npy_header(self.dtype, (self.n_segments, *_EXAMPLE_SHAPE)))
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            default_permissions(self._tmp)
            os.replace(self._tmp, self.path("examples.npy"))
            for suffix, chunks in (("labels.npy", self._labels), ("clips.npy", self._clips)):
                array = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
                with atomic_path(self.path(suffix)) as tmp:
                    with open(tmp, "wb") as out:
                        np.save(out, array, allow_pickle=False)
                        out.flush()
                        os.fsync(out.fileno())
            # The JSON last, once the arrays are on disk: it is what makes the part complete.
            fsync_path(self.directory)
            write_json_atomic(self.path("json"), self._metadata(failures or {}))
        except OSError as exc:
            raise DataError(f"cannot write shards folder {self.directory}: {os_reason(exc)}") from exc
        self._finished = True
        return self.path("json")

    def _metadata(self, failures: Mapping[str, str]) -> dict[str, Any]:
        return {
            "format": SHARDS_FORMAT, "version": SHARDS_VERSION, "part": self.part, "parts": self.parts,
            "class_names": self.class_names, "dtype": self.dtype.name, "n_segments": self.n_segments,
            "n_clips": len(self.paths), "total_clips": self.total_clips, "clip_list_digest": self.clip_list_digest,
            "paths": self.paths, "skipped": dict(failures), "pad_short": self.pad_short,
            "frontend": FRONTEND_PARAMS, "zsac_version": __version__,
        }  # fmt: skip

    def __exit__(self, *exc_info: Any) -> None:
        self._abort()

    def _abort(self) -> None:
        # Unfinished (an error, or finish never called): the temporary examples file goes and no
        # JSON is written, so the part stays missing. Then the lock is released.
        try:
            if self._handle is not None and not self._handle.closed:
                self._handle.close()
            if self._tmp is not None and not self._finished:
                self._tmp.unlink(missing_ok=True)
        finally:
            self._lock.close()


# --------------------------------------------------------------------------- reading


def _open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading; a symlink, FIFO, device or folder in its place is refused unopened."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise DataError(f"shard file {path} does not exist") from None
    except OSError as exc:
        raise DataError(f"cannot read shard file {path}: {os_reason(exc)}") from exc
    if stat.S_ISLNK(info.st_mode):
        raise DataError(f"shard file {path} is a symbolic link; zsac reads only regular files in a shards folder")
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"shard file {path} is {file_kind(info.st_mode)}, not a regular file")
    try:  # non-blocking, and checked on the descriptor: a file swapped since the lstat cannot hang us
        return open_regular_file(path, what="shard file")
    except OSError as exc:
        raise DataError(f"cannot read shard file {path}: {os_reason(exc)}") from exc


def _read_json(path: Path) -> dict[str, Any]:
    with _open_regular(path) as handle:
        try:
            meta = json.loads(handle.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"shard file {path} is not valid JSON: {exc}") from None
        except OSError as exc:
            raise DataError(f"cannot read shard file {path}: {os_reason(exc)}") from exc
    if not isinstance(meta, dict):
        raise DataError(f"shard file {path} holds no JSON object")
    return meta


def _map_npy(path: Path, *, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only memory map of an ``.npy`` that must hold exactly ``dtype`` and ``shape``.

    The header is read and checked here, before anything is mapped, so an object (pickle)
    dtype, a Fortran-order or mis-shaped array, or a truncated file is refused by name.
    """
    with _open_regular(path) as handle:
        try:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                found_shape, fortran, found_dtype = np.lib.format.read_array_header_1_0(handle)
            elif version in ((2, 0), (3, 0)):
                found_shape, fortran, found_dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise ValueError(f"npy version {version}")
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(f"shard file {path} is not a readable .npy file: {exc}") from None
        if found_dtype.hasobject:
            raise DataError(f"shard file {path} holds Python objects (a pickle); refusing to read it")
        if found_dtype != dtype or fortran or tuple(found_shape) != shape:
            raise DataError(
                f"shard file {path} holds {found_dtype} {tuple(found_shape)}{' (Fortran order)' if fortran else ''}, "
                f"its JSON says {dtype} {shape}"
            )
        offset = handle.tell()
        size = os.fstat(handle.fileno()).st_size
        if size != offset + int(np.prod(shape)) * dtype.itemsize:
            raise DataError(
                f"shard file {path} is {size} bytes, expected {offset + int(np.prod(shape)) * dtype.itemsize} "
                "(truncated or padded)"
            )
        if int(np.prod(shape)) == 0:
            return np.zeros(shape, dtype=dtype)  # an empty file cannot be mapped
        return np.memmap(handle, dtype=dtype, mode="r", offset=offset, shape=shape)


#: JSON fields every part must agree on.
_SHARED_FIELDS = ("parts", "class_names", "dtype", "frontend", "pad_short", "total_clips", "clip_list_digest")


class SegmentShards:
    """A segment-shards folder, read with bounded memory.

    The labels and clip indices of all parts (16 bytes a segment) are held in RAM; the
    examples stay on disk as read-only memory maps, and :meth:`gather` reads only the rows
    it is asked for.

    Parameters
    ----------
    directory : path
        A folder written by ``zsac features --shards-out`` (:class:`SegmentPartWriter`).

    Attributes
    ----------
    directory : Path
    class_names : list of str
        Label ``k`` is ``class_names[k]``.
    labels : np.ndarray [shape=(n_segments,), dtype=int64]
        Each segment's class, over all parts in part order.
    clip_of_segment : np.ndarray [shape=(n_segments,), dtype=int64]
        Each segment's clip: its index in the dataset's whole clip list.
    n_parts : int
    dtype : str
        How the examples are stored ("float16" or "float32").
    total_clips : int
        Clips in the dataset's whole clip list; clip indices are below it.
    paths : dict of int to str
        The path of each clip that has segments, by clip index (skipped clips are absent).
    skipped : dict of str to str
        The files that were skipped when the parts were written, and why.
    frontend : dict
        The front-end parameters the examples were computed with.

    Raises
    ------
    DataError
        The folder is missing or holds no parts, a part is missing or incomplete (its JSON is
        written last), the parts disagree, or a file is malformed, truncated, pickle-bearing,
        a symbolic link or a special file; the message names the file.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise DataError(f"shards folder {self.directory} does not exist or is not a folder")
        parts = self._part_count()
        metas = [self._part_meta(i, parts) for i in range(parts)]
        first = metas[0]
        for i, meta in enumerate(metas[1:], start=1):
            for field in _SHARED_FIELDS:
                if meta.get(field) != first.get(field):
                    raise DataError(
                        f"shard file {self._file(i, parts, 'json')} disagrees with part 0 on {field!r}: parts "
                        "written from different data or settings; rewrite them all with the same command"
                    )
        self.n_parts = parts
        self.class_names: list[str] = list(first["class_names"])
        self.dtype: str = first["dtype"]
        self.frontend: dict[str, Any] = dict(first["frontend"])
        self.total_clips: int = first["total_clips"]
        self.skipped: dict[str, str] = {}
        self._examples: list[np.ndarray] = []
        labels, clips = [], []
        # By clip index, in a dict: the JSON's total_clips is untrusted and may be absurdly large.
        self.paths: dict[int, str] = {}
        for i, meta in enumerate(metas):
            n = meta["n_segments"]
            dtype = np.dtype(self.dtype)
            self._examples.append(
                _map_npy(self._file(i, parts, "examples.npy"), dtype=dtype, shape=(n, *_EXAMPLE_SHAPE))
            )
            part_labels = np.array(_map_npy(self._file(i, parts, "labels.npy"), dtype=np.dtype(np.int64), shape=(n,)))
            part_clips = np.array(_map_npy(self._file(i, parts, "clips.npy"), dtype=np.dtype(np.int64), shape=(n,)))
            if n and (part_labels.min() < 0 or part_labels.max() >= len(self.class_names)):
                raise DataError(f"shard file {self._file(i, parts, 'labels.npy')} holds labels outside "
                                f"0..{len(self.class_names) - 1}")  # fmt: skip
            if n and (part_clips.min() < 0 or part_clips.max() >= self.total_clips):
                raise DataError(f"shard file {self._file(i, parts, 'clips.npy')} holds clip indices outside "
                                f"0..{self.total_clips - 1}")  # fmt: skip
            n_clips = len(np.unique(part_clips))
            if n_clips != meta["n_clips"]:
                raise DataError(f"shard file {self._file(i, parts, 'clips.npy')} holds {n_clips} clips, "
                                f"its JSON says {meta['n_clips']}")  # fmt: skip
            _, first = np.unique(part_clips, return_index=True)
            for index, path in zip(part_clips[np.sort(first)], meta["paths"], strict=True):
                self.paths[int(index)] = path
            self.skipped.update(meta["skipped"])
            labels.append(part_labels)
            clips.append(part_clips)
        self.labels: np.ndarray = np.concatenate(labels)
        self.clip_of_segment: np.ndarray = np.concatenate(clips)
        self._offsets = np.cumsum([0] + [len(part) for part in labels])

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def __getstate__(self) -> dict[str, Any]:
        # A pickled np.memmap carries its whole data: a DataLoader worker started by "spawn"
        # would get every part in RAM. The folder is sent instead, and opened (and checked) again.
        return {"directory": os.fspath(self.directory)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["directory"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"SegmentShards({os.fspath(self.directory)!r}: {len(self)} segments, {self.n_parts} parts)"

    def _file(self, part: int, parts: int, suffix: str) -> Path:
        return self.directory / f"{part_stem(part, parts)}.{suffix}"

    def _part_count(self) -> int:
        try:
            names = [entry.name for entry in self.directory.iterdir()]
        except OSError as exc:
            raise DataError(f"cannot list shards folder {self.directory}: {os_reason(exc)}") from exc
        found = [match for name in names if (match := _PART_NAME.fullmatch(name))]
        if not found:
            raise DataError(
                f"shards folder {self.directory} holds no parts; write them with "
                f"zsac features --shard i/N --shards-out {self.directory}"
            )
        counts = sorted({int(match.group(2)) for match in found})
        if len(counts) > 1:
            raise DataError(f"shards folder {self.directory} mixes parts of {' and '.join(map(str, counts))}; "
                            "keep the parts of one run")  # fmt: skip
        parts = counts[0]
        complete = {int(m.group(1)) for m in found if m.group(3) == "json"}
        missing = [i for i in range(parts) if i not in complete]
        if parts < 1 or any(int(m.group(1)) >= parts for m in found):
            raise DataError(f"shards folder {self.directory} holds a part numbered beyond its count of {parts}")
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            raise DataError(
                f"shards folder {self.directory} lacks part(s) {shown} of {parts} (a part is complete once its JSON "
                f"is written); make each with zsac features --shard {missing[0]}/{parts} --shards-out {self.directory}"
            )
        return parts

    def _part_meta(self, part: int, parts: int) -> dict[str, Any]:
        path = self._file(part, parts, "json")
        meta = _read_json(path)
        if meta.get("format") != SHARDS_FORMAT:
            raise DataError(f"shard file {path} is not a {SHARDS_FORMAT} part (format {meta.get('format')!r})")
        if meta.get("version") != SHARDS_VERSION:
            raise DataError(f"shard file {path} has format version {meta.get('version')!r}; this zsac reads "
                            f"{SHARDS_VERSION}")  # fmt: skip
        checks = {
            "part": lambda v: v == part,
            "parts": lambda v: v == parts,
            "class_names": lambda v: isinstance(v, list) and v and all(isinstance(s, str) for s in v)
            and v == sorted(set(v)),
            "dtype": lambda v: v in SHARD_DTYPES,
            "n_segments": lambda v: _count(v),
            "n_clips": lambda v: _count(v),
            "total_clips": lambda v: _count(v),
            "paths": lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v)
            and len(v) == meta.get("n_clips"),
            "skipped": lambda v: isinstance(v, dict) and all(isinstance(s, str) for s in v.values()),
            "frontend": lambda v: isinstance(v, dict),
            "pad_short": lambda v: isinstance(v, bool),
            "clip_list_digest": lambda v: isinstance(v, str),
        }  # fmt: skip
        for field, ok in checks.items():
            if field not in meta or not ok(meta[field]):
                raise DataError(f"shard file {path} has a missing or bad {field!r}: {meta.get(field)!r:.80}")
        return meta

    def gather(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """The examples of segments ``indices`` as float32 ``[k, 96, 64]``, in the order given.

        Any order and repeats are allowed. Only the rows asked for are read: the indices are
        grouped by part and each part's rows are read in ascending order from its memory map.

        Raises
        ------
        IndexError
            An index is outside ``0..len(self) - 1``.
        """
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        out = np.empty((indices.size, *_EXAMPLE_SHAPE), dtype=np.float32)
        if indices.size == 0:
            return out
        if indices.min() < 0 or indices.max() >= len(self):
            raise IndexError(f"segment indices must be in 0..{len(self) - 1}, got {indices.min()}..{indices.max()}")
        part_of = np.searchsorted(self._offsets, indices, side="right") - 1
        for part in np.unique(part_of):
            where = np.flatnonzero(part_of == part)
            local = indices[where] - self._offsets[part]
            order = np.argsort(local, kind="stable")
            # Ascending rows read the map front to back; the result goes back to the caller's order.
            out[where[order]] = self._examples[part][local[order]]
        return out

    def part_examples(self) -> Iterator[np.ndarray]:
        """The memory maps of the parts' examples (for inspection; they are read-only)."""
        return iter(self._examples)


def write_segment_part(
    directory: str | os.PathLike[str],
    *,
    part: int,
    parts: int,
    class_names: Sequence[str],
    total_clips: int,
    clip_indices: Sequence[int],
    clip_labels: Sequence[str],
    clip_examples: Iterable[np.ndarray],
    paths: Sequence[str | os.PathLike[str]] | None = None,
    dtype: str = "float16",
    pad_short: bool = False,
    failures: Mapping[str, str] | None = None,
) -> Path:
    """Write part ``part`` of ``parts`` from per-clip examples in one call (see :class:`SegmentPartWriter`).

    ``clip_examples`` may be a generator, so the clips need not all be in memory at once;
    ``paths`` default to ``clip{index}``. Returns the part's JSON.
    """
    clip_indices, clip_labels = list(clip_indices), list(clip_labels)
    if len(clip_indices) != len(clip_labels) or (paths is not None and len(paths) != len(clip_indices)):
        raise ConfigError("clip_indices, clip_labels and paths must have one entry per clip")
    names = [f"clip{index}" for index in clip_indices] if paths is None else list(paths)
    with SegmentPartWriter(
        directory, part=part, parts=parts, class_names=class_names, total_clips=total_clips, dtype=dtype,
        pad_short=pad_short,
    ) as writer:  # fmt: skip
        for index, label, path, examples in zip(clip_indices, clip_labels, names, clip_examples, strict=True):
            writer.add_clip(clip_index=index, label=label, path=path, examples=examples)
        return writer.finish(failures=failures)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
