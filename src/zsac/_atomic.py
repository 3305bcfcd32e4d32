"""Atomic writes: of a file, and of a whole folder.

A file is written to a temporary name beside its target, then renamed; a folder is
built in a staging folder beside its target, then swapped into place. A crash or a full
disk never leaves a half-written file or folder under the final name, because
``os.replace`` within one directory is atomic on POSIX and Windows. Downloaded datasets
(:mod:`zsac.datasets.download`) use the folder swap; model folders (:mod:`zsac.checkpoint`)
switch a pointer to a new version folder instead, so that no instant lacks a model.

Also here: :func:`output_lock` (one writer per output path), and the checks that refuse
special files (FIFOs, devices) before anything opens them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from glob import escape as glob_escape
from pathlib import Path
from typing import Any, BinaryIO

from ._files import file_kind
from .errors import CheckpointError, DataError


def _process_umask() -> int:
    # os.umask can only be read by setting it; done once at import, before any threads write.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _process_umask()
# Times output_lock reopens its lock file that the finishing holder removed meanwhile.
_LOCK_ATTEMPTS = 5


def default_permissions(path: Path, *, directory: bool = False) -> None:
    """Give a file made by ``mkstemp``/``mkdtemp`` (mode 0600/0700) the mode a plain ``open`` would."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_UMASK)


@contextlib.contextmanager
def output_lock(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold an exclusive lock on an output path for a whole run; a second writer is refused at once.

    The lock is ``fcntl.flock`` on ``.NAME.lock`` beside the target (after following a link, so
    two names of one folder share it); it ends with the process, so a killed run never leaves
    it held. Where ``fcntl`` does not exist (Windows) nothing is locked.

    Raises
    ------
    DataError
        Another process holds the lock, or the lock file cannot be made (e.g. a read-only folder).
    """
    target = Path(os.path.realpath(target))
    lock_path = target.parent / f".{target.name}.lock"
    try:
        import fcntl
    except ImportError:  # pragma: no cover  (Windows)
        yield lock_path
        return
    busy = DataError(
        f"{target} is being written by another zsac run (it holds {lock_path}); "
        "wait for it to finish or write elsewhere"
    )
    for _ in range(_LOCK_ATTEMPTS):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise DataError(f"cannot write in {target.parent}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise busy from exc
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        # The holder before us removed the file as it finished, between our open and our lock:
        # a lock on its inode locks nothing, and nobody holds the lock now. Open the file anew.
        os.close(fd)
    else:
        raise busy
    try:
        yield lock_path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock_path)  # still held: no one else can have locked this file
        os.close(fd)  # releases the lock


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Flush a file or folder to disk (a folder: its entries), so that a rename after it is durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if Path(path).is_dir() else os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot fsync a folder; the data is still written
        if exc.errno not in (errno.EINVAL, errno.EBADF, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


def check_regular_file(path: str | os.PathLike[str], *, what: str = "model file") -> os.stat_result:
    """``os.stat`` of ``path``, which must be a regular file; a FIFO, device or socket is refused unopened.

    Opening a FIFO blocks until a writer comes, and reading a device may never end, so a model
    or data file is checked by its ``stat`` before anything opens it.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist (the caller words that error).
    CheckpointError
        ``path`` is not a regular file.
    """
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"{path} is {file_kind(info.st_mode)}, not a regular {what}; refusing to open it")
    return info


def open_regular_file(path: str | os.PathLike[str], *, what: str = "model file") -> BinaryIO:
    """``path`` opened for binary reading, checked to be a regular file on the open descriptor.

    The open is non-blocking, so a path swapped for a FIFO after any earlier ``stat`` returns
    at once and is refused here instead of blocking.

    Raises
    ------
    OSError
        ``path`` cannot be opened (the caller words that error).
    CheckpointError
        ``path`` is not a regular file.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CheckpointError(f"{path} is not a regular {what}; refusing to read it")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_bytes(path: str | os.PathLike[str], *, what: str = "model file") -> bytes:
    """The bytes of a regular file, opened only after :func:`check_regular_file` (see :func:`open_regular_file`)."""
    check_regular_file(path, what=what)
    with open_regular_file(path, what=what) as handle:
        return handle.read()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # After the write: some writers (safetensors) recreate the file with mode 0600.
        default_permissions(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json_atomic(target: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def check_replaceable(target: Path, own: Callable[[str], bool] | None, *, what: str = "folder") -> None:
    """Refuse to replace ``target`` when it is a file, or a folder that holds an entry ``own`` does not claim.

    Raises
    ------
    DataError
        Naming ``target`` and (up to five of) the foreign entries, so that nothing is lost.
    """
    if target.exists() and not target.is_dir():
        raise DataError(f"{target} is a file, not a {what}; refusing to replace it")
    if own is not None and target.is_dir():
        foreign = sorted(entry.name for entry in target.iterdir() if not own(entry.name))
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise DataError(
                f"{target} holds what zsac does not write ({shown}); refusing to write a {what} into it, "
                "so nothing is lost: write to another folder"
            )


def replace_directory(staging: Path, target: Path, *, own: Callable[[str], bool] | None = None) -> None:
    """Move a finished folder onto ``target``; an existing ``target`` is swapped out, then removed.

    Parameters
    ----------
    staging : Path
        The finished folder, in the same parent folder as ``target``.
    target : Path
    own : callable or None
        Says whether an entry of an existing ``target`` (by name) is one that the writer
        makes. If any other entry is there, nothing is moved and :class:`~zsac.DataError`
        names it, so that replacing a folder never deletes something else.
    """
    staging, target = Path(staging), Path(target)
    check_replaceable(target, own)
    _swap_into_place(staging, target)
    # What a crash between the two renames of an earlier swap left: the new folder is in place now.
    for leftover in target.parent.glob(f".{glob_escape(target.name)}.old-*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)


def _swap_into_place(staging: Path, target: Path) -> None:
    if not target.exists():
        os.replace(staging, target)
        return
    # A fresh name, so that a leftover of a crash (or a reused process id) is never in the way.
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, old)  # onto the empty folder just made: atomic on POSIX
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def staged_directory(target: str | os.PathLike[str], *, own: Callable[[str], bool] | None = None) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; on success it replaces ``target`` whole.

    ``own`` is checked before anything is written (and again at the swap), as for
    :func:`replace_directory`. On an error the staging folder is removed and ``target`` is
    left as it was.
    """
    target = Path(target)
    check_replaceable(target, own)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    default_permissions(staging, directory=True)
    try:
        yield staging
        replace_directory(staging, target, own=own)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
