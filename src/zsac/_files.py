"""Refusing special files (FIFOs, devices, sockets) by their ``stat``, before anything opens them.

Opening a FIFO blocks until a writer comes, and a device can be read forever, so every file a
user names (audio, class files, tables, word vectors) is checked here first. This module
imports nothing heavy, so the light modules that read data files can use it.
"""

from __future__ import annotations

import os
import stat

from .errors import DataError, ZsacError

__all__ = ["check_regular_file", "file_kind", "os_reason"]

_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"),
)  # fmt: skip


def file_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words ("a FIFO", "a character device", ...)."""
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a regular file")


def os_reason(exc: OSError) -> str:
    """The OS's own words for ``exc`` ("Permission denied"), not a library's ("System error.")."""
    return exc.strerror or str(exc)


def check_regular_file(
    path: str | os.PathLike[str], *, what: str = "data file", error: type[ZsacError] = DataError
) -> os.stat_result:
    """Stat ``path`` without opening it, and refuse anything but a regular file.

    Parameters
    ----------
    path : path
        The file a user named.
    what : str
        What the file is, for the message ("class file", "word-vector file", ...).
    error : type of ZsacError
        The error to raise: the calling module's usual one.

    Returns
    -------
    os.stat_result

    Raises
    ------
    ZsacError
        Of type ``error``: the file is missing, cannot be stat-ed (the OS's reason), or is a
        FIFO, device, socket or folder.
    """
    name = os.fspath(path)
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise error(f"{what} {name!r} does not exist") from None
    except OSError as exc:
        raise error(f"cannot read {what} {name!r}: {os_reason(exc)}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{what} {name!r} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{what} {name!r} is {file_kind(info.st_mode)}, not a regular file; zsac reads only files")
    return info
