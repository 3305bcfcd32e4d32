"""The cache folder, and cache entries as ``.npz`` files that carry a digest of their data.

Writes are atomic; a read that finds a truncated, unreadable or tampered entry returns
None after logging and deleting it, so the caller recomputes instead of trusting it.
Nothing is ever unpickled (``allow_pickle=False``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import platformdirs

from ._atomic import atomic_path

logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """``$ZSAC_CACHE_DIR``, else the platform's user cache directory for zsac."""
    env = os.environ.get("ZSAC_CACHE_DIR")
    return Path(env) if env else platformdirs.user_cache_path("zsac")


def array_digest(array: np.ndarray) -> str:
    """sha256 of an array's bytes (callers check dtype and shape with ``valid``)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def store_array(entry: str | os.PathLike[str], name: str, array: np.ndarray) -> None:
    """Write ``array`` under ``name`` plus its digest to ``entry``, atomically."""
    array = np.ascontiguousarray(array)
    with atomic_path(entry) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **{name: array, "digest": np.array(array_digest(array))})


def load_array(
    entry: str | os.PathLike[str],
    name: str,
    *,
    valid: Callable[[np.ndarray], bool] = lambda array: True,
    what: str = "cache entry",
) -> np.ndarray | None:
    """The array stored in ``entry``, or None when absent or corrupt (a corrupt entry is deleted)."""
    entry = Path(entry)
    if not entry.exists():
        return None
    try:
        with np.load(entry, allow_pickle=False) as data:
            array, digest = data[name], str(data["digest"])
        ok = digest == array_digest(array) and valid(array)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.debug("%s %s unreadable: %s", what, entry, exc)
        ok = False
    if not ok:
        logger.warning("%s %s is corrupt; recomputing it", what, entry)
        entry.unlink(missing_ok=True)
        return None
    return array
