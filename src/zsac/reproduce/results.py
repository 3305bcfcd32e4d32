"""The results folder of a reproduction run.

Layout of ``DIR``::

    config.json                       the protocol configuration, its digest, and the versions of its first run
    runs.jsonl                        the run log: one JSON line per run (scope, versions, folds ran/skipped)
    folds/<spec>/seed<k>/<fold>.json  one :class:`~zsac.reproduce.records.FoldRecord` per (spec, seed, test fold)
    folds/<spec>/seed<k>/<fold>.csv   that fold's per-clip predictions (McNemar needs them)
    results.json                      every record of this configuration, as a list
    results.csv, summary.csv, tables.md, plots/   written by :mod:`zsac.reproduce.report`

The configuration has two parts. The *protocol* (everything but :data:`SCOPE_KEYS`) says
how a fold is computed; its digest names the folder's configuration, and a folder that
holds results of another protocol is refused rather than mixed. The *scope* (which specs
and seeds, the device) says which folds a run computes; runs of different scopes share a
folder, and ``results.json`` and the tables cover every finished fold of the protocol,
whichever run computed it. ``config.json`` therefore holds the protocol only and is
written once; each run appends its scope to ``runs.jsonl`` (:meth:`ResultsFolder.log_run`).

A fold's JSON is written last, atomically, so its presence means the fold is finished; a
rerun with the same configuration skips it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_path, write_json_atomic
from ..errors import ConfigError, DataError
from .records import RECORD_KEYS, FoldRecord, predictions_frame

__all__ = ["ResultsFolder", "package_versions", "RECORD_KEYS", "SCOPE_KEYS", "safe_name"]

logger = logging.getLogger(__name__)

#: Configuration keys that choose *which* folds run, not *how*: they may differ between runs
#: that share a folder, and are logged per run in ``runs.jsonl`` rather than kept in ``config.json``.
SCOPE_KEYS = frozenset({"specs", "seeds", "out", "progress", "device"})

_PACKAGES = (
    "zsac", "numpy", "scipy", "torch", "scikit-learn", "pandas", "matplotlib", "gensim",
    "transformers", "sentence-transformers", "soundfile", "soxr", "tfrecord",
)  # fmt: skip


def package_versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages a run depends on."""
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def safe_name(text: str) -> str:
    """``text`` as a file or folder name: runs of other characters than ``A-Za-z0-9.+-`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", str(text)).strip("_") or "_"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _now() -> str:
    """The time now, UTC, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class ResultsFolder:
    """Results of one configuration, fold by fold, with resumption and a log of runs.

    Parameters
    ----------
    path : path
        The folder (created if needed).
    config : dict
        The resolved configuration. Keys in :data:`SCOPE_KEYS` may change between runs
        that share the folder; any other change is refused.

    Attributes
    ----------
    path : pathlib.Path
    config : dict
        The whole configuration of this run, JSON-ready.
    protocol : dict
        ``config`` without :data:`SCOPE_KEYS`: what ``config.json`` holds.
    scope : dict
        The :data:`SCOPE_KEYS` of ``config``: what this run's line of ``runs.jsonl`` holds.
    digest : str
        16 hex digits of the SHA-256 of ``protocol``; every record carries it.
    started : str
        When this object was made (UTC, ISO 8601), logged by :meth:`log_run`.
    versions : dict of str to str
        :func:`package_versions` of this run, logged by :meth:`log_run` (``config.json``
        keeps those of the run that made the folder).

    Raises
    ------
    ConfigError
        If the folder holds results of another configuration.
    DataError
        If its ``config.json`` cannot be read.
    """

    CONFIG_FILE = "config.json"
    RUN_LOG = "runs.jsonl"

    def __init__(self, path: str | os.PathLike[str], config: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.config = _jsonable(dict(config))
        self.protocol = {k: v for k, v in self.config.items() if k not in SCOPE_KEYS}
        self.scope = {k: v for k, v in self.config.items() if k in SCOPE_KEYS}
        self.digest = hashlib.sha256(json.dumps(self.protocol, sort_keys=True).encode()).hexdigest()[:16]
        self.started = _now()
        self.versions = package_versions()
        config_file = self.path / self.CONFIG_FILE
        previous = None
        if self.path.exists() and not self.path.is_dir():
            raise DataError(f"the results folder {self.path} is a file; give a folder (--out)")
        if config_file.exists():
            try:
                previous = json.loads(config_file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise DataError(f"cannot read {config_file}: {exc}; use another --out or delete it") from exc
            if not isinstance(previous, dict) or previous.get("digest") != self.digest:
                stored = previous.get("config", {}) if isinstance(previous, dict) else {}
                changed = sorted(
                    key
                    for key in set(self.protocol) | set(stored)
                    if key not in SCOPE_KEYS and self.protocol.get(key) != stored.get(key)
                )
                raise ConfigError(
                    f"{self.path} holds results of another configuration (differing: {changed}); "
                    "use another --out folder or delete this one"
                )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if previous is None:
                write_json_atomic(
                    config_file,
                    {
                        "digest": self.digest,
                        "config": self.protocol,
                        "created": self.started,
                        "versions": self.versions,
                    },
                )
            elif any(key in SCOPE_KEYS for key in previous.get("config", {})):
                # Written by an earlier zsac, which kept the scope of the folder's last run here, as if
                # that run's specs and seeds were all the folder held; the protocol alone is the truth.
                write_json_atomic(config_file, {**previous, "config": self.protocol})
        except OSError as exc:
            raise DataError(f"cannot write the results folder {self.path}: {exc.strerror or exc}") from None
        # Otherwise config.json is already this protocol's: a run of another scope leaves it as it is.

    def _fold_base(self, spec: str, seed: int, test_fold: str, learner: str | None = None) -> Path:
        # A run of one named learner lives one level down, under the learner's name.
        folds = self.path / "folds" if learner is None else self.path / "folds" / safe_name(learner)
        return folds / safe_name(spec) / f"seed{int(seed)}" / safe_name(test_fold)

    def finished(self, spec: str, seed: int, test_fold: str, learner: str | None = None) -> dict[str, Any] | None:
        """The record of a finished fold, or None when it has not run (or its predictions CSV is gone)."""
        path = self._fold_base(spec, seed, test_fold, learner).with_suffix(".json")
        if not path.exists() or not path.with_suffix(".csv").is_file():
            return None  # a fold without its predictions runs again: the report needs them
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # written atomically, so only a hand-edited file lands here; run the fold again
        return record if isinstance(record, dict) and record.get("config_digest") == self.digest else None

    def save_fold(self, record: FoldRecord | Mapping[str, Any], predictions: pd.DataFrame) -> dict[str, Any]:
        """Store a finished fold: its predictions first, then its record (which marks it finished).

        Parameters
        ----------
        record : FoldRecord or mapping
            The fold's record (a mapping is validated as a :class:`FoldRecord`).
        predictions : pandas.DataFrame [shape=(n_clips, n_columns)]
            One row per test clip, with ``clip``, ``true``, ``predicted`` and ``correct`` at least.

        Returns
        -------
        dict
            The record as stored, with this folder's ``config_digest``.

        Raises
        ------
        DataError
            When the record is not a valid :class:`FoldRecord` or the predictions lack a column.
        """
        predictions = predictions_frame(predictions, columns=("clip", "true", "predicted", "correct"))
        fold = dataclasses.replace(FoldRecord.from_mapping(record), config_digest=self.digest)
        stored = _jsonable(fold.to_dict())
        base = self._fold_base(fold.spec, fold.seed, fold.test_fold, fold.learner)
        base.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(base.with_suffix(".csv")) as tmp:
            predictions.to_csv(tmp, index=False)
        write_json_atomic(base.with_suffix(".json"), stored)
        return stored

    def records(self) -> list[dict[str, Any]]:
        """Every finished record of this configuration (as :meth:`FoldRecord.to_dict`), sorted by spec, seed and fold.

        Raises
        ------
        DataError
            When a fold's JSON cannot be read or is not a valid record.
        """
        records = []
        folds = self.path / "folds"
        for path in sorted([*folds.glob("*/seed*/*.json"), *folds.glob("*/*/seed*/*.json")]):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise DataError(f"cannot read the fold record {path}: {exc}; delete it to run the fold again") from exc
            if not isinstance(record, dict) or record.get("config_digest") != self.digest:
                continue
            if not path.with_suffix(".csv").is_file():
                logger.warning(
                    "%s has no predictions (%s); the fold counts as not run", path, path.with_suffix(".csv").name
                )
                continue
            try:
                records.append(FoldRecord.from_mapping(record).to_dict())
            except DataError as exc:
                raise DataError(f"{path}: {exc}; delete it to run the fold again") from None
        return sorted(records, key=lambda r: (r.get("learner") or "", r["spec"], r["seed"], str(r["test_fold"])))

    def predictions(self) -> pd.DataFrame:
        """Per-clip predictions of every finished record, with spec, seed and test_fold columns."""
        frames = []
        for record in self.records():
            base = self._fold_base(record["spec"], record["seed"], record["test_fold"], record.get("learner"))
            frame = pd.read_csv(base.with_suffix(".csv"), dtype={"clip": str, "true": str, "predicted": str})
            for key in ("dataset", "setting", "acoustic", "spec", "seed", "test_fold"):
                frame[key] = record.get(key)
            if record.get("learner") is not None:
                frame["learner"] = record["learner"]
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def write_results(self) -> list[dict[str, Any]]:
        """Write ``results.json`` (all finished records) and return the records."""
        records = self.records()
        write_json_atomic(self.path / "results.json", records)
        logger.debug("wrote %s", self.path / "results.json")
        return records

    def log_run(self, *, ran: int, skipped: int, notes: Sequence[str] = ()) -> dict[str, Any]:
        """Append this run's entry to ``runs.jsonl``, the folder's run log.

        The entry is one JSON object on one line::

            {"started": "2025-01-31T09:00:00+00:00", "finished": "2025-01-31T09:01:30+00:00",
             "digest": "<config.json's digest>", "scope": {"specs": [...], "seeds": [...], "device": null},
             "ran": 10, "skipped": 0, "notes": [...], "versions": {"python": ..., "zsac": ..., ...}}

        ``scope`` holds the :data:`SCOPE_KEYS` of this run's configuration; ``ran`` and
        ``skipped`` count its folds computed now and found finished. The file is rewritten
        atomically with the earlier lines as they were and the new one after them, so a
        crash leaves either the old log or the new one, never a torn line. A run that is
        interrupted logs nothing; the next run counts its finished folds as skipped.

        Parameters
        ----------
        ran, skipped : int
            Folds computed by this run, and folds it found finished.
        notes : sequence of str
            What the run had to adapt (a partial dataset copy, ...).

        Returns
        -------
        dict
            The entry written.

        Raises
        ------
        ConfigError
            When ``ran`` or ``skipped`` is not a count (a non-negative int).
        """
        for name, value in (("ran", ran), ("skipped", skipped)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ConfigError(f"{name} must be a non-negative number of folds, got {value!r}")
        entry = {
            "started": self.started,
            "finished": _now(),
            "digest": self.digest,
            "scope": self.scope,
            "ran": int(ran),
            "skipped": int(skipped),
            "notes": [str(note) for note in notes],
            "versions": self.versions,
        }
        path = self.path / self.RUN_LOG
        earlier = path.read_bytes() if path.exists() else b""
        if earlier and not earlier.endswith(b"\n"):
            earlier += b"\n"  # a hand-edited last line without its newline stays a line of its own
        line = json.dumps(_jsonable(entry), sort_keys=True, ensure_ascii=False) + "\n"
        with atomic_path(path) as tmp:
            tmp.write_bytes(earlier + line.encode("utf-8"))
        logger.debug("wrote %s", path)
        return entry

    def runs(self) -> list[dict[str, Any]]:
        """The entries of ``runs.jsonl``, oldest first (lines that are not JSON objects are skipped, with a warning)."""
        path = self.path / self.RUN_LOG
        if not path.exists():
            return []
        entries = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                entry = None
            if isinstance(entry, dict):
                entries.append(entry)
            else:
                logger.warning("%s line %d is not a JSON object; skipped", path, number)
        return entries
