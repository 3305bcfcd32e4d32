"""Class embedding tables: one semantic vector per class, saved as ``.npz``.

A table file holds ``embeddings`` [n_classes, dim] plus ``mid`` and/or ``name`` (or
``display_name``, as in the AudioSet word2vec table published with the paper's code).
Tables written by zsac also record the spec, the size of each part and the encoders, and
can be read back as precomputed parts of later specs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import atomic_path
from .._files import check_regular_file
from ..errors import DataError
from .side_info import ClassInfo

__all__ = ["ClassTable", "load_class_table"]


@dataclasses.dataclass(frozen=True)
class ClassTable:
    """Semantic embeddings of a list of classes.

    Attributes
    ----------
    embeddings : np.ndarray [shape=(n_classes, dim), dtype=float32]
    names : tuple of str
        Class names, one per row.
    mids : tuple of str or None
        Class identifiers (e.g. AudioSet mids), one per row; ``""`` where unknown.
    spec : str or None
        The spec that made the table, e.g. ``WLE+SSE``.
    part_dims : tuple of int or None
        Columns of each part of the spec, in order.
    metadata : dict
        Encoders, normalisation and versions (JSON-serialisable).
    """

    embeddings: np.ndarray
    _: dataclasses.KW_ONLY
    names: tuple[str, ...]
    mids: tuple[str, ...] | None = None
    spec: str | None = None
    part_dims: tuple[int, ...] | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        embeddings = np.asarray(self.embeddings)
        if embeddings.ndim != 2 or len(embeddings) != len(self.names):
            raise DataError(f"a class table needs [n_classes, dim] embeddings for {len(self.names)} names, "
                            f"got shape {embeddings.shape}")  # fmt: skip
        if self.mids is not None and len(self.mids) != len(self.names):
            raise DataError(f"a class table has {len(self.names)} names but {len(self.mids)} mids")
        if self.part_dims is not None and sum(self.part_dims) != embeddings.shape[1]:
            raise DataError(f"part sizes {self.part_dims} do not add up to the table's {embeddings.shape[1]} columns")

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    def __len__(self) -> int:
        return len(self.names)

    def rows_for(self, classes: Sequence[ClassInfo], *, source: str = "the class table") -> np.ndarray:
        """The rows of ``classes``, matched by mid when both sides have mids, else by name.

        Names match exactly, then ignoring case. Classes without a row, or two classes
        that would share one, raise a :class:`~zsac.errors.DataError` that lists them.

        Returns
        -------
        np.ndarray [shape=(len(classes), dim), dtype=float32]
        """
        by_mid = {mid: i for i, mid in enumerate(self.mids or ()) if mid}
        by_name = {name: i for i, name in enumerate(self.names)}
        by_lower = {name.lower(): i for i, name in enumerate(self.names)}
        rows, missing = [], []
        for item in classes:
            if item.mid and by_mid:
                # Both sides have identifiers: a name match could pair different classes.
                row = by_mid.get(item.mid)
            else:
                row = by_name.get(item.name, by_lower.get(item.name.lower()))
            if row is None:
                missing.append(f"{item.name} ({item.mid})" if item.mid and by_mid else item.name)
            rows.append(row)
        if missing:
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise DataError(f"{source} has no row for the classes {missing[:10]}{more}")
        shared = sorted({self.names[row] for row in rows if rows.count(row) > 1})
        if shared:
            raise DataError(f"{source}: several classes match the same rows {shared}")
        return np.asarray(self.embeddings[rows], dtype=np.float32)

    def nearest(self, query: str | np.ndarray, *, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` classes most cosine-similar to a class of this table (excluded) or a vector."""
        norms = np.linalg.norm(self.embeddings, axis=1, keepdims=True)
        unit = self.embeddings / np.maximum(norms, np.finfo(np.float32).tiny)
        exclude = None
        if isinstance(query, str):
            if query not in self.names:
                raise DataError(f"{query!r} is not a class of this table")
            exclude = self.names.index(query)
            vector = unit[exclude]
        else:
            vector = np.asarray(query, dtype=np.float64)
            if vector.shape != (self.dim,):
                raise DataError(f"query vector has shape {vector.shape}; this table's rows have {self.dim} values")
            vector = vector / max(np.linalg.norm(vector), np.finfo(np.float32).tiny)
        similarity = unit @ vector
        order = [i for i in np.argsort(-similarity, kind="stable") if i != exclude][:k]
        return [(self.names[i], float(similarity[i])) for i in order]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the table to ``path`` (``.npz``) atomically; :func:`load_class_table` reads it."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {
            "embeddings": np.ascontiguousarray(self.embeddings, dtype=np.float32),
            "name": np.array(self.names, dtype=str),
            "metadata": np.array(json.dumps(self.metadata, sort_keys=True)),
        }
        if self.mids is not None:
            arrays["mid"] = np.array(self.mids, dtype=str)
        if self.spec is not None:
            arrays["spec"] = np.array(self.spec)
        if self.part_dims is not None:
            arrays["part_dims"] = np.array(self.part_dims, dtype=np.int64)
        try:
            with atomic_path(path) as tmp:
                with open(tmp, "wb") as handle:
                    np.savez(handle, **arrays)
        except OSError as exc:
            raise DataError(f"cannot write the class table {path}: {exc}") from exc
        return path


def _strings(array: np.ndarray, path: Path) -> tuple[str, ...]:
    if array.ndim != 1 or array.dtype.kind not in "US":
        raise DataError(f"{path}: names and mids must be 1-D string arrays, got {array.dtype} {array.shape}")
    if array.dtype.kind == "S":
        return tuple(x.decode("utf-8") for x in array)
    return tuple(str(x) for x in array)


def load_class_table(path: str | os.PathLike[str]) -> ClassTable:
    """Read a class table ``.npz``: ``embeddings`` plus ``mid`` and/or ``name`` (or ``display_name``).

    Returns
    -------
    ClassTable
    """
    path = Path(path)
    check_regular_file(path, what="class table")  # a FIFO would block the open below
    try:
        with open(path, "rb") as handle:
            data = np.load(handle, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise DataError(f"{path} is not an .npz class table (it holds a single array)")
            with data:
                arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read the class table {path}: {exc}") from exc
    if "embeddings" not in arrays:
        raise DataError(f"{path} has no 'embeddings' array (it has {sorted(arrays)})")
    embeddings = arrays["embeddings"]
    if embeddings.ndim != 2 or not np.issubdtype(embeddings.dtype, np.floating):
        raise DataError(f"{path}: 'embeddings' must be a 2-D float array, got {embeddings.dtype} {embeddings.shape}")
    if not np.isfinite(embeddings).all():
        raise DataError(f"{path}: 'embeddings' holds NaN or infinite values")
    names_array = arrays.get("name", arrays.get("display_name"))
    mids_array = arrays.get("mid")
    if names_array is None and mids_array is None:
        raise DataError(f"{path} needs a 'name', 'display_name' or 'mid' array to identify its rows")
    names = _strings(names_array if names_array is not None else mids_array, path)
    mids = _strings(mids_array, path) if mids_array is not None else None
    for label, values in (("name", names), ("mid", mids)):
        if values is not None and len(values) != len(embeddings):
            raise DataError(f"{path}: {len(values)} {label}s for {len(embeddings)} embedding rows")
    try:
        metadata = json.loads(str(arrays["metadata"])) if "metadata" in arrays else {"source": str(path)}
        spec = str(arrays["spec"]) if "spec" in arrays else None
        part_dims = tuple(int(x) for x in arrays["part_dims"]) if "part_dims" in arrays else None
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: unreadable 'metadata', 'spec' or 'part_dims': {exc}") from exc
    return ClassTable(
        embeddings=embeddings.astype(np.float32, copy=False),
        names=names,
        mids=mids,
        spec=spec,
        part_dims=part_dims,
        metadata=metadata,
    )
