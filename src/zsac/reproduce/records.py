"""One record per run of a reproduction: the :class:`FoldRecord` schema, its validation and summary.

A *run* is one (dataset, setting, acoustic embeddings, semantic spec, test fold, seed),
optionally of one compatibility ``learner``. Its :class:`FoldRecord` is what
``folds/<spec>/seed<k>/<fold>.json``, ``results.json``, ``results.csv`` and every table and
figure of :mod:`zsac.reproduce.report` read; :data:`RECORD_KEYS` are the keys every record
has. Per-clip *predictions* are a :class:`pandas.DataFrame` with the columns of
:data:`PREDICTION_COLUMNS`.

This module turns records into flat frames (:func:`records_frame`, :func:`summary_frame`)
and reads and writes them as CSV (:func:`write_records_csv`, :func:`read_records_csv`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from ..errors import DataError

__all__ = [
    "FoldRecord",
    "RECORD_KEYS",
    "OPTIONAL_KEYS",
    "PREDICTION_COLUMNS",
    "RUN_KEYS",
    "METRICS",
    "OPTIONAL_METRICS",
    "records_frame",
    "summary_frame",
    "group_keys",
    "predictions_frame",
    "write_records_csv",
    "read_records_csv",
]

logger = logging.getLogger(__name__)

#: The metrics of every record (Section V-D): Top-1 accuracy and mean average precision.
METRICS: tuple[str, ...] = ("top1", "map")
#: Metrics beyond the paper that records may have (flat column names): per-class Top-1, and the
#: generalised zero-shot S, U, H (calibrated on the validation fold), H uncalibrated, and AUSUC.
OPTIONAL_METRICS: tuple[str, ...] = (
    "top1_per_class", "gzsl.seen", "gzsl.unseen", "gzsl.h", "gzsl.h_uncalibrated", "gzsl.ausuc",
)  # fmt: skip


@dataclasses.dataclass(frozen=True, kw_only=True)
class FoldRecord:
    """The result of one run: one semantic spec on one test fold with one seed.

    As JSON (:meth:`to_dict`) the keys are the field names, except ``lam``, which is
    written ``"lambda"``; optional fields that are None are left out, and the keys of
    ``extra`` sit beside the others.

    Attributes
    ----------
    dataset : str
        ``"esc50"`` or ``"audioset"``.
    setting : str
        The class partition or data setting (``"category"``, ``"esc10"``, ``"train3"``, ...).
    acoustic : str
        The acoustic embeddings: ``"vggish"`` (trained from scratch) or ``"released"``.
    spec : str
        The semantic spec, e.g. ``"WLE+GLE"``.
    test_fold : str
        The test class fold.
    seed : int
        The seed of the run (VGGish training, class folds).
    top1, map : float
        Top-1 accuracy and mAP on the test clips, ranked among the test classes.
    n_classes, n_clips : int
        Test classes (at least 1) and test clips.
    lam : float
        The λ chosen on the validation classes (``"lambda"`` in JSON and CSV).
    learner : str, optional
        The compatibility learner, when runs of several are compared.
    validation_top1 : mapping of str to float, optional
        Validation Top-1 per λ of the grid (keys as ``str(λ)``).
    n_train_classes : int, optional
        Classes the compatibility model was (re)fit on.
    seconds : float, optional
        Wall time of λ selection, refit and prediction.
    config_digest : str, optional
        The digest of the configuration that made the record (see :class:`~zsac.reproduce.ResultsFolder`).
    top1_per_class : float, optional
        Test Top-1 averaged per test class.
    gzsl : mapping of str to float, optional
        Generalised zero-shot results (``seen``, ``unseen``, ``h``, ``gamma``, ``ausuc``, ...;
        see :class:`~zsac.reproduce.FoldOutcome`).
    extra : mapping of str to any
        Any other keys, kept as given.

    Raises
    ------
    DataError
        When a value has the wrong type (it is coerced where that loses nothing: ``"3"``
        or ``3.0`` for a seed, ``np.float32`` for a score), or ``n_classes`` is below 1.
    """

    dataset: str
    setting: str
    acoustic: str
    spec: str
    test_fold: str
    seed: int
    top1: float
    map: float
    n_classes: int
    n_clips: int
    lam: float
    learner: str | None = None
    validation_top1: Mapping[str, float] | None = None
    n_train_classes: int | None = None
    seconds: float | None = None
    config_digest: str | None = None
    top1_per_class: float | None = None
    gzsl: Mapping[str, float] | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_mapping(cls, record: Mapping[str, Any] | FoldRecord, *, index: int | None = None) -> FoldRecord:
        """Validate a record (a JSON object, a flat CSV row or a FoldRecord) and coerce its types.

        Keys of the form ``"name.key"`` (a flat row, as :func:`records_frame` and
        ``results.csv`` write nested mappings) are nested back as ``{"name": {"key": ...}}``,
        split at the first dot; missing values (None, NaN) of optional keys are dropped.

        Parameters
        ----------
        record : mapping or FoldRecord
        index : int, optional
            The record's position, named in error messages.

        Returns
        -------
        FoldRecord

        Raises
        ------
        DataError
            When the record is not a mapping, lacks a key of :data:`RECORD_KEYS` or has a
            value of the wrong type (the message names the key and the record's index).
        """
        where = "a record" if index is None else f"record {index}"
        if isinstance(record, FoldRecord):
            return record
        if not isinstance(record, Mapping):
            raise DataError(f"{where} is a {type(record).__name__}, not a mapping")
        values = _nested(record)
        for key in RECORD_KEYS:
            if key not in values or _missing(values[key]):
                raise DataError(f"{where} lacks the required key {key!r}")
        fields = {
            _FIELD_OF_KEY[key]: value
            for key, value in values.items()
            if key in _FIELD_OF_KEY and not (key in OPTIONAL_KEYS and _missing(value))
        }
        extra = {key: value for key, value in values.items() if key not in _FIELD_OF_KEY and not _missing(value)}
        return cls(**_checked(fields, where=where), extra=extra)

    def __post_init__(self) -> None:
        # A record built directly is checked as one read from a file is, so no record has values of the wrong type.
        fields = {
            name: getattr(self, name)
            for name in _KINDS
            if getattr(self, name) is not None or name in _REQUIRED_FIELDS  # a required None is refused
        }
        for name, value in _checked(fields, where="a record").items():
            object.__setattr__(self, name, value)
        if not isinstance(self.extra, Mapping):
            raise DataError(f"a record's extra keys must be a mapping, got {type(self.extra).__name__}")
        object.__setattr__(self, "extra", dict(self.extra))

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict: :data:`RECORD_KEYS`, then optional keys that are set, then ``extra``."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            if field.name == "extra":
                continue
            value = getattr(self, field.name)
            if value is None:
                continue
            out[_KEY_OF_FIELD[field.name]] = dict(value) if isinstance(value, Mapping) else value
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    def to_flat(self) -> dict[str, Any]:
        """:meth:`to_dict` with nested mappings flattened into dotted keys (``{"a": {"b": 1}}`` -> ``a.b``)."""
        return _flatten(self.to_dict())

    def run_key(self) -> tuple[Any, ...]:
        """What identifies the run: the values of :data:`RUN_KEYS` and the learner."""
        return (*(getattr(self, _FIELD_OF_KEY[key]) for key in RUN_KEYS), self.learner)


def _key(name: str) -> str:
    return "lambda" if name == "lam" else name


_KEY_OF_FIELD = {field.name: _key(field.name) for field in dataclasses.fields(FoldRecord) if field.name != "extra"}
_FIELD_OF_KEY = {key: name for name, key in _KEY_OF_FIELD.items()}
_KINDS: dict[str, type] = {
    "dataset": str, "setting": str, "acoustic": str, "spec": str, "test_fold": str, "seed": int,
    "top1": float, "map": float, "n_classes": int, "n_clips": int, "lam": float,
    "learner": str, "validation_top1": dict, "n_train_classes": int, "seconds": float, "config_digest": str,
    "top1_per_class": float, "gzsl": dict,
}  # fmt: skip
_REQUIRED_FIELDS = [field.name for field in dataclasses.fields(FoldRecord) if field.default is dataclasses.MISSING]
_REQUIRED_FIELDS.remove("extra")

#: Keys every record has, in the order of ``results.csv``'s first columns (``lam`` is ``"lambda"``).
RECORD_KEYS: tuple[str, ...] = tuple(_KEY_OF_FIELD[name] for name in _REQUIRED_FIELDS)
#: Keys of the schema that a record may leave out.
OPTIONAL_KEYS: tuple[str, ...] = tuple(key for key in _KEY_OF_FIELD.values() if key not in RECORD_KEYS)
#: Keys that identify one run; two records with the same values (and learner) are the same run.
RUN_KEYS: tuple[str, ...] = ("dataset", "setting", "acoustic", "spec", "test_fold", "seed")
#: Columns a predictions frame must have (one row per test clip of one run).
PREDICTION_COLUMNS: tuple[str, ...] = (
    "dataset",
    "setting",
    "spec",
    "seed",
    "test_fold",
    "clip",
    "true",
    "predicted",
    "correct",
)
_GROUP_KEYS = ["dataset", "setting", "acoustic", "spec"]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


def _nested(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` with dotted keys nested at their first dot (the inverse of :func:`_flatten` for one level)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        key = str(key)
        head, dot, tail = key.partition(".")
        if dot and head and tail and not isinstance(record.get(head), Mapping):
            if _missing(value):
                continue  # a flat frame's gap: this record has no such key
            inner = out.setdefault(head, {})
            if isinstance(inner, dict):
                inner[tail] = value
                continue
        out[key] = value
    return out


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def _checked(fields: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """``fields`` (by field name) coerced to the schema's types; DataError naming the key at fault."""
    checked: dict[str, Any] = {}
    for name, value in fields.items():
        key, kind = _KEY_OF_FIELD[name], _KINDS[name]
        if kind is dict:
            if not isinstance(value, Mapping):
                raise DataError(f"{where}: {key}={value!r} is not a mapping")
            checked[name] = {str(k): _coerce(v, float, key=f"{key}.{k}", where=where) for k, v in value.items()}
        else:
            checked[name] = _coerce(value, kind, key=key, where=where)
    if "n_classes" in checked and checked["n_classes"] < 1:
        raise DataError(f"{where}: n_classes={checked['n_classes']} is not a positive number of test classes")
    return checked


def _coerce(value: Any, kind: type, *, key: str, where: str) -> Any:
    """``value`` as ``kind`` (str, int or float); DataError naming ``key`` when it is not one."""
    bad = DataError(f"{where}: {key}={value!r} is not a valid {kind.__name__}")
    if kind is str:
        if value is None:
            raise bad
        return str(value)
    if isinstance(value, bool | np.bool_):
        raise bad  # True is an int to Python, but never a count or a score here
    if isinstance(value, int | np.integer):
        return int(value) if kind is int else float(value)
    if isinstance(value, float | np.floating):
        if kind is int:
            if not float(value).is_integer():
                raise bad
            return int(value)
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        parse = int if kind is int else float
        try:
            return parse(text)
        except ValueError:  # the parser's own error, turned into the documented one
            raise bad from None
    raise bad


def _as_records(records: Iterable[Mapping[str, Any] | FoldRecord] | pd.DataFrame) -> list[FoldRecord]:
    rows = records.to_dict("records") if isinstance(records, pd.DataFrame) else list(records)
    if not rows:
        raise DataError("no records to report")
    return [FoldRecord.from_mapping(record, index=index) for index, record in enumerate(rows)]


def records_frame(records: Iterable[Mapping[str, Any] | FoldRecord] | pd.DataFrame) -> pd.DataFrame:
    """Validated records as a flat frame, one row per run.

    Parameters
    ----------
    records : iterable of mapping or FoldRecord, or pandas.DataFrame
        Records with at least the keys of :data:`RECORD_KEYS` (see :class:`FoldRecord`).
        Nested mappings are flattened into dotted columns (``{"params": {"lr": 1}}`` ->
        ``params.lr``).

    Returns
    -------
    pandas.DataFrame [shape=(n_runs, n_columns)]
        The columns of :data:`RECORD_KEYS` first (strings, ints and floats), then any
        others in order of first appearance. A ``learner`` column appears only when some
        record has a learner; records without one have None there.

    Raises
    ------
    DataError
        When there are no records, a record is not a mapping, lacks a required key (the
        message names the key and the record's index) or has a value of the wrong type,
        or two records describe the same run.
    """
    parsed = _as_records(records)
    frame = pd.DataFrame([record.to_flat() for record in parsed])
    if "learner" in frame.columns:
        frame["learner"] = [record.learner for record in parsed]  # None, not NaN, where absent
    extra = [column for column in frame.columns if column not in RECORD_KEYS]
    frame = frame[list(RECORD_KEYS) + extra]
    seen: dict[tuple[Any, ...], int] = {}
    for index, record in enumerate(parsed):
        first = seen.setdefault(record.run_key(), index)
        if first != index:
            raise DataError(
                f"records {[first, index]} describe the same run ({', '.join(RUN_KEYS)}, learner); "
                "each run must appear once"
            )
    return frame.reset_index(drop=True)


def group_keys(frame: pd.DataFrame) -> list[str]:
    """The columns that identify a group of runs: dataset, setting, acoustic, [learner,] spec."""
    return _GROUP_KEYS[:3] + (["learner"] if "learner" in frame.columns else []) + _GROUP_KEYS[3:]


def summary_frame(records: Iterable[Mapping[str, Any] | FoldRecord] | pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of Top-1 and mAP per (dataset, setting, acoustic, [learner,] spec).

    The statistics are over all (seed, test fold) runs of a group. The standard deviation
    is the population one (``ddof=0``), i.e. the spread of the runs themselves, not an
    estimate of a larger population's. For a balanced design (every seed run on every
    fold) the mean equals the mean over seeds of the per-seed fold averages, which is
    therefore not reported separately.

    Parameters
    ----------
    records : iterable of mapping or FoldRecord, or pandas.DataFrame
        As for :func:`records_frame`.

    Returns
    -------
    pandas.DataFrame [shape=(n_groups, n_columns)]
        Columns ``dataset, setting, acoustic, [learner,] spec, top1_mean, top1_std,
        map_mean, map_std, [<metric>_mean, <metric>_std for each of OPTIONAL_METRICS the
        records have,] n_runs, n_seeds, n_folds`` (``learner`` only when the records have
        one); groups in order of first appearance within each (dataset, setting, acoustic).
    """
    frame = records_frame(records)
    keys = group_keys(frame)
    rows = []
    for key, group in frame.groupby(keys, sort=False, dropna=False):
        row = dict(zip(keys, key, strict=True))
        for metric in METRICS:
            values = group[metric].to_numpy(dtype=float)
            row[f"{metric}_mean"] = float(np.mean(values))
            row[f"{metric}_std"] = float(np.std(values, ddof=0))
        for metric in OPTIONAL_METRICS:
            if metric in group.columns and group[metric].notna().any():
                values = group[metric].dropna().to_numpy(dtype=float)
                row[f"{metric}_mean"] = float(np.mean(values))
                row[f"{metric}_std"] = float(np.std(values, ddof=0))
        row["n_runs"] = len(group)
        row["n_seeds"] = int(group["seed"].nunique())
        row["n_folds"] = int(group["test_fold"].nunique())
        rows.append(row)
    summary = pd.DataFrame(rows)
    # Keep each (dataset, setting, acoustic) together, at the place of its first group.
    places = list(summary[_GROUP_KEYS[:3]].itertuples(index=False, name=None))
    order: dict[tuple[str, ...], int] = {}
    for place in places:
        order.setdefault(place, len(order))
    summary["_order"] = [order[place] for place in places]
    return summary.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def predictions_frame(predictions: Any, *, columns: Iterable[str] = PREDICTION_COLUMNS) -> pd.DataFrame:
    """``predictions`` checked to be a frame with ``columns`` (default :data:`PREDICTION_COLUMNS`).

    Raises
    ------
    DataError
        When ``predictions`` is not a :class:`pandas.DataFrame` or lacks a column.
    """
    if not isinstance(predictions, pd.DataFrame):
        raise DataError(f"predictions must be a pandas DataFrame, got {type(predictions).__name__}")
    columns = list(columns)
    for column in columns:
        if column not in predictions.columns:
            raise DataError(f"the predictions lack the column {column!r}; expected {columns}")
    return predictions


def write_records_csv(path: str | os.PathLike[str], frame: pd.DataFrame) -> Path:
    """Write a frame (e.g. :func:`records_frame`) as CSV, atomically; lists and tuples as JSON.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = [
                json.dumps(value) if isinstance(value, list | tuple | set) else value for value in frame[column]
            ]
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    logger.debug("wrote %s", path)
    return path


def read_records_csv(path: str | os.PathLike[str]) -> list[FoldRecord]:
    """The records of a ``results.csv`` written by :func:`write_records_csv`.

    String keys are read as strings (a fold named ``"1"`` or a digest of digits stays
    text), JSON lists are parsed back, and dotted columns are nested again at their
    first dot.

    Raises
    ------
    DataError
        When the file cannot be read or a row is not a valid record.
    """
    strings = {key: str for key, name in _FIELD_OF_KEY.items() if _KINDS[name] is str}
    try:
        frame = pd.read_csv(path, dtype=strings, keep_default_na=True)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot read the records in {path}: {exc}") from exc
    rows = []
    for row in frame.to_dict("records"):
        for key, value in row.items():
            if isinstance(value, str) and value.startswith("[") and key not in strings:
                try:
                    row[key] = json.loads(value)
                except json.JSONDecodeError:
                    pass  # text that merely starts with "[": keep it
        rows.append(row)
    return _as_records(rows)
