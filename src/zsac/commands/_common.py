"""Helpers that several commands share."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..classifier import ZeroShotClassifier
from ..errors import ConfigError, DataError
from ..semantic.side_info import ClassInfo, esc50_class_info, read_class_file
from ..semantic.tables import load_class_table

__all__ = [
    "feature_cache",
    "class_list",
    "dataset_class_texts",
    "load_for_inference",
    "check_output_file",
    "output_errors",
]

logger = logging.getLogger("zsac.cli")


def feature_cache(cache_dir: str | os.PathLike[str] | None, use_cache: bool) -> bool | str | os.PathLike[str]:
    """A cache setting (``True``: the default folder, a folder, or ``False``) of ``--cache-dir`` and ``--no-cache``."""
    return (cache_dir or True) if use_cache else False


def dataset_class_texts(
    data: Path,
    names: Sequence[str],
    *,
    classes_file: str | os.PathLike[str] | None,
    ontology: str | os.PathLike[str] | None,
) -> list[ClassInfo] | None:
    """Descriptions of a folder dataset's classes, as ``zsac train`` and ``zsac evaluate`` find them.

    From ``classes_file``, else ``data/classes.csv`` when present (columns ``name`` and
    ``description``), else, for an ESC-50 root, from ``ontology``; a class without one is
    embedded from its name (None: every class is).
    """
    if classes_file is None and (data / "classes.csv").is_file():
        classes_file = data / "classes.csv"
    if classes_file is not None:
        listed = {info.name: info for info in read_class_file(classes_file, ontology=ontology)}
        unlisted = [name for name in names if name not in listed]
        if unlisted:
            logger.warning("%s does not describe %s; their names stand in", classes_file, unlisted)
        return [listed[name] for name in names if name in listed]
    if ontology is not None and (data / "meta" / "esc50.csv").is_file():
        return esc50_class_info(names, ontology=ontology)
    return None


def class_list(
    classes: Sequence[str] | None,
    classes_file: str | os.PathLike[str] | None,
    *,
    tables: bool,
    ontology: str | os.PathLike[str] | None = None,
) -> Any:
    """The classes of ``--classes`` (texts) or ``--classes-file`` (with ``tables``, an ``.npz`` is a class table)."""
    if classes and classes_file:
        raise ConfigError("give either --classes or --classes-file, not both")
    if classes_file is None:
        return list(classes) if classes is not None else None
    if tables and Path(classes_file).suffix.lower() == ".npz":
        return load_class_table(classes_file)
    return read_class_file(classes_file, ontology=ontology)


def load_for_inference(model: str | os.PathLike[str], **overrides: Any) -> ZeroShotClassifier:
    """A saved classifier for batch inference; overrides that are None keep the model's own setting."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return ZeroShotClassifier.load(model, **{"feature_cache": False, **given, "progress": False})


def check_output_file(out: str | os.PathLike[str]) -> None:
    """Refuse an output file path that cannot be written, before any work is done for it.

    An existing folder, a special file (a FIFO would block the write) or a parent that is a
    file fails here with a one-line :class:`~zsac.DataError`; so does a folder where no file
    can be created (read-only, or not ours), found by creating and removing an empty file there.

    Raises
    ------
    DataError
    """
    path = Path(out)
    if path.is_dir():
        raise DataError(f"the output {path} is a folder; give the path of a file (in it, or elsewhere)")
    if path.exists() and not path.is_file():
        raise DataError(f"the output {path} exists and is not a regular file")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise DataError(f"cannot write {path}: {parent} is not a folder")
    if parent.is_dir():
        with output_errors(path):
            fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
            os.close(fd)
            os.unlink(probe)


@contextlib.contextmanager
def output_errors(path: str | os.PathLike[str]) -> Iterator[None]:
    """An OSError while writing ``path`` (permission denied, disk full) as a one-line DataError naming it.

    The writers write to a temporary file and rename it (zsac._atomic), removing it on an error,
    so nothing is left behind.
    """
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DataError(f"cannot write {path}: {reason}") from None
