"""Where datasets live on disk.

All datasets sit under one data root: ``$ZSAC_DATA_DIR`` when set, else ``data`` in the
platform's user cache directory for zsac. Its expected layout is that of the official
releases, which :mod:`zsac.datasets.download` reproduces::

    <data root>/
        audioset/
            class_labels_indices.csv          527 classes: index, mid, display_name
            ontology.json                     class descriptions (semantic side information)
            balanced_train_segments.csv       optional: the release's segment lists
            eval_segments.csv
            word2vec_label_embeddings.npz     optional: precomputed word2vec label embeddings
            audioset_v1_embeddings/
                bal_train/*.tfrecord          the 128-d embeddings of features.tar.gz
                eval/*.tfrecord
                unbal_train/*.tfrecord        optional
        ESC-50/
            meta/esc50.csv
            audio/<filename>.wav
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from ..errors import DataError

__all__ = ["DATA_DIR_ENV", "data_root", "audioset_dir", "esc50_dir"]

#: Environment variable that overrides the default data root.
DATA_DIR_ENV = "ZSAC_DATA_DIR"

_AUDIOSET_MARKER = "class_labels_indices.csv"
_ESC50_MARKER = Path("meta") / "esc50.csv"


def data_root() -> Path:
    """The folder that holds all datasets.

    Returns
    -------
    pathlib.Path
        ``$ZSAC_DATA_DIR`` if set and non-empty, else ``platformdirs.user_cache_path("zsac") / "data"``.
        The folder need not exist yet.
    """
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(env).expanduser() if env else platformdirs.user_cache_path("zsac") / "data"


def _dataset_dir(
    root: str | os.PathLike[str] | None, *, name: str, marker: Path | str, download: str, must_exist: bool
) -> Path:
    if root is not None and (Path(root) / marker).is_file():
        return Path(root)
    base = Path(root) if root is not None else data_root()
    folder = base / name
    if must_exist and not (folder / marker).is_file():
        where = f"{root}" if root is not None else f"the data root {base} (${DATA_DIR_ENV} or the user cache)"
        raise DataError(
            f"no {name} copy found: neither {where} nor {folder} contains {Path(marker).as_posix()}; "
            f"set ${DATA_DIR_ENV} to the folder that holds {name}/, or fetch it with zsac.datasets.{download}()"
        )
    return folder


def audioset_dir(root: str | os.PathLike[str] | None = None, *, must_exist: bool = True) -> Path:
    """The AudioSet folder (the one holding ``class_labels_indices.csv``).

    Parameters
    ----------
    root : path or None
        The AudioSet folder itself, or a data root holding ``audioset/``. None means :func:`data_root`.
    must_exist : bool, keyword-only
        Raise when the folder lacks ``class_labels_indices.csv``; with False the would-be path is returned.

    Returns
    -------
    pathlib.Path
        ``root`` when it already is the AudioSet folder, else ``root / "audioset"``.

    Raises
    ------
    DataError
        With ``must_exist`` and no AudioSet copy there; the message names the path, ``$ZSAC_DATA_DIR``
        and :func:`~zsac.datasets.download_audioset_embeddings`.
    """
    return _dataset_dir(
        root, name="audioset", marker=_AUDIOSET_MARKER, download="download_audioset_embeddings", must_exist=must_exist
    )


def esc50_dir(root: str | os.PathLike[str] | None = None, *, must_exist: bool = True) -> Path:
    """The ESC-50 folder (the one holding ``meta/esc50.csv``).

    Parameters
    ----------
    root : path or None
        The ESC-50 folder itself, or a data root holding ``ESC-50/``. None means :func:`data_root`.
    must_exist : bool, keyword-only
        Raise when the folder lacks ``meta/esc50.csv``; with False the would-be path is returned.

    Returns
    -------
    pathlib.Path
        ``root`` when it already is the ESC-50 folder, else ``root / "ESC-50"``.

    Raises
    ------
    DataError
        With ``must_exist`` and no ESC-50 copy there; the message names the path, ``$ZSAC_DATA_DIR``
        and :func:`~zsac.datasets.download_esc50`.
    """
    return _dataset_dir(root, name="ESC-50", marker=_ESC50_MARKER, download="download_esc50", must_exist=must_exist)
