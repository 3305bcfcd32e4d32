"""Helpers that several commands share."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..classifier import ZeroShotClassifier
from ..errors import ConfigError
from ..semantic.side_info import read_class_file
from ..semantic.tables import load_class_table

__all__ = ["feature_cache", "class_list", "load_for_inference"]


def feature_cache(cache_dir: str | os.PathLike[str] | None, use_cache: bool) -> bool | str | os.PathLike[str]:
    """A cache setting (``True``: the default folder, a folder, or ``False``) of ``--cache-dir`` and ``--no-cache``."""
    return (cache_dir or True) if use_cache else False


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
