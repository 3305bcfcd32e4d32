"""Atomic file writes: write to a temporary file beside the target, then rename.

A crash or a full disk never leaves a half-written file under the final name,
because ``os.replace`` within one directory is atomic on POSIX and Windows.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _process_umask() -> int:
    # os.umask can only be read by setting it; done once at import, before any threads write.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _process_umask()


def default_permissions(path: Path, *, directory: bool = False) -> None:
    """Give a file made by ``mkstemp``/``mkdtemp`` (mode 0600/0700) the mode a plain ``open`` would."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_UMASK)


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
