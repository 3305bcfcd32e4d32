"""The results folder of a reproduction run.

Layout of ``DIR``::

    config.json                       resolved configuration, its digest, package versions, platform
    folds/<spec>/seed<k>/<fold>.json  one record per (spec, seed, test fold): metrics, λ, timings
    folds/<spec>/seed<k>/<fold>.csv   that fold's per-clip predictions (McNemar needs them)
    results.json                      every record of this configuration, as a list
    results.csv, summary.csv, tables.md, plots/   written by :mod:`zsac.reproduce.report`

A fold's JSON is written last, atomically, so its presence means the fold is finished; a
rerun with the same configuration skips it. Records carry the digest of the configuration
that made them, and a folder that holds records of another configuration is refused
rather than mixed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_path, write_json_atomic
from ..errors import ConfigError, DataError

__all__ = ["ResultsFolder", "package_versions", "RECORD_KEYS", "safe_name"]

#: Keys every record in ``results.json`` has; tools rely on them.
RECORD_KEYS = ("spec", "test_fold", "seed", "top1", "map", "n_classes", "n_clips", "lambda")

#: Configuration keys that choose *which* folds run, not *how*: they may differ between runs
#: that share a folder.
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


class ResultsFolder:
    """Results of one configuration, fold by fold, with resumption.

    Parameters
    ----------
    path : path
        The folder (created if needed).
    config : dict
        The resolved configuration. Keys in :data:`SCOPE_KEYS` may change between runs
        that share the folder; any other change is refused.

    Raises
    ------
    ConfigError
        If the folder holds results of another configuration.
    """

    def __init__(self, path: str | os.PathLike[str], config: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.config = _jsonable(dict(config))
        protocol = {k: v for k, v in self.config.items() if k not in SCOPE_KEYS}
        self.digest = hashlib.sha256(json.dumps(protocol, sort_keys=True).encode()).hexdigest()[:16]
        config_file = self.path / "config.json"
        if config_file.exists():
            try:
                previous = json.loads(config_file.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise DataError(f"cannot read {config_file}: {exc}; use another --out or delete it") from exc
            if previous.get("digest") != self.digest:
                changed = sorted(
                    key
                    for key in set(protocol) | set(previous.get("config", {}))
                    if key not in SCOPE_KEYS and protocol.get(key) != previous.get("config", {}).get(key)
                )
                raise ConfigError(
                    f"{self.path} holds results of another configuration (differing: {changed}); "
                    "use another --out folder or delete this one"
                )
        self.path.mkdir(parents=True, exist_ok=True)
        write_json_atomic(config_file, {"digest": self.digest, "config": self.config, "versions": package_versions()})

    def _fold_base(self, spec: str, seed: int, test_fold: str) -> Path:
        return self.path / "folds" / safe_name(spec) / f"seed{int(seed)}" / safe_name(test_fold)

    def finished(self, spec: str, seed: int, test_fold: str) -> dict[str, Any] | None:
        """The record of a finished fold, or None when it has not run."""
        path = self._fold_base(spec, seed, test_fold).with_suffix(".json")
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # written atomically, so only a hand-edited file lands here; run the fold again
        return record if record.get("config_digest") == self.digest else None

    def save_fold(self, record: Mapping[str, Any], predictions: pd.DataFrame) -> dict[str, Any]:
        """Store a finished fold: its predictions first, then its record (which marks it finished)."""
        missing = [key for key in RECORD_KEYS if key not in record]
        if missing:
            raise DataError(f"a fold record lacks the keys {missing}")
        record = {**_jsonable(dict(record)), "config_digest": self.digest}
        base = self._fold_base(record["spec"], record["seed"], record["test_fold"])
        base.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(base.with_suffix(".csv")) as tmp:
            predictions.to_csv(tmp, index=False)
        write_json_atomic(base.with_suffix(".json"), record)
        return record

    def records(self) -> list[dict[str, Any]]:
        """Every finished record of this configuration, sorted by spec, seed and fold."""
        records = []
        for path in sorted((self.path / "folds").glob("*/seed*/*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            if record.get("config_digest") == self.digest:
                records.append(record)
        return sorted(records, key=lambda r: (r["spec"], r["seed"], str(r["test_fold"])))

    def predictions(self) -> pd.DataFrame:
        """Per-clip predictions of every finished record, with spec, seed and test_fold columns."""
        frames = []
        for record in self.records():
            base = self._fold_base(record["spec"], record["seed"], record["test_fold"])
            frame = pd.read_csv(base.with_suffix(".csv"), dtype={"clip": str, "true": str, "predicted": str})
            for key in ("dataset", "setting", "acoustic", "spec", "seed", "test_fold"):
                frame[key] = record.get(key)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def write_results(self) -> list[dict[str, Any]]:
        """Write ``results.json`` (all finished records) and return the records."""
        records = self.records()
        write_json_atomic(self.path / "results.json", records)
        return records
