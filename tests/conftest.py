"""Shared fixtures: tiny audio written by the tests, and the optional shared data."""

from __future__ import annotations

import os
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Fixtures that make a test slow (a VGGish trained on CPU, or the real shared data read):
#: every test that uses one is marked ``slow``, so that ``pytest -m "not slow"`` is the quick loop.
SLOW_FIXTURES = frozenset({"audio_model", "saved_audio", "esc10_root", "audioset_root"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def shared_data_dir() -> Path | None:
    """``$ZSAC_DATA_DIR``, else ``../shared/data`` beside the checkout, if it exists."""
    env = os.environ.get("ZSAC_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    return next((path for path in candidates if path.is_dir()), None)


@pytest.fixture(scope="session")
def esc10_root() -> Path:
    data = shared_data_dir()
    root = data / "ESC-50" if data else None
    if root is None or not (root / "meta" / "esc50.csv").is_file():
        pytest.skip("needs the ESC-10 copy in ../shared/data/ESC-50 (or $ZSAC_DATA_DIR/ESC-50); absent here")
    return root


@pytest.fixture(scope="session")
def audioset_root() -> Path:
    data = shared_data_dir()
    root = data / "audioset" if data else None
    if root is None or not (root / "class_labels_indices.csv").is_file():
        pytest.skip("needs the AudioSet release in ../shared/data/audioset (or $ZSAC_DATA_DIR/audioset); absent here")
    return root


@pytest.fixture(scope="session", autouse=True)
def _isolated_session_cache(tmp_path_factory):
    # Keep tests, module- and session-scoped fixtures included, out of the user's real cache directory.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZSAC_CACHE_DIR", str(tmp_path_factory.mktemp("zsac-session-cache")))
        yield


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Each test starts with an empty cache.
    monkeypatch.setenv("ZSAC_CACHE_DIR", str(tmp_path_factory.mktemp("zsac-cache")))


def tone(frequency: float, seconds: float, sample_rate: int = 16_000, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


@pytest.fixture
def write_wav(tmp_path):
    """Write a waveform to ``tmp_path/name`` and return the path."""

    def write(name: str, waveform: np.ndarray, sample_rate: int = 16_000, subtype: str | None = None) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, waveform, sample_rate, subtype=subtype)
        return path

    return write


def latent_problem(
    root: Path, *, n_classes: int, n_seen: int, per_class: int, acoustic_dim: int, acoustic_noise: float,
    table_noise_dims: int, seed: int = 0,
) -> types.SimpleNamespace:  # fmt: skip
    """Embeddings and a WLE table that share a latent class structure, so zero-shot transfer works.

    Class k has a latent u_k; its WLE row is [u_k, small noise]; its clips' acoustic embeddings are a
    fixed linear map of u_k plus noise. The first ``n_seen`` classes are the seen ones.
    """
    from zsac.semantic.tables import ClassTable

    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_classes, 6))
    mix = rng.normal(size=(6, acoustic_dim))
    names = [f"sound {k:02d}" for k in range(n_classes)]
    table = np.hstack([latent, 0.1 * rng.normal(size=(n_classes, table_noise_dims))]).astype(np.float32)
    table_path = ClassTable(table, names=tuple(names)).save(root / "wle.npz")
    X = np.concatenate(
        [latent[k] @ mix + acoustic_noise * rng.normal(size=(per_class, acoustic_dim)) for k in range(n_classes)]
    )
    y = np.repeat(names, per_class)
    seen = np.isin(y, names[:n_seen])
    return types.SimpleNamespace(
        X=X.astype(np.float32), y=y, seen=seen, names=names, seen_names=names[:n_seen],
        unseen_names=names[n_seen:], table=table_path,
    )  # fmt: skip
