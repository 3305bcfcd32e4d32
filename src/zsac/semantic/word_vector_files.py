"""Reading word-vector files (word2vec, GloVe, gensim-data) with gensim, and the stop lists of libraries.

The light part of the word-vector encoder (:mod:`zsac.semantic.word_vectors`) reaches this
module through the package's lazy attribute only when vectors must be read, so a text
embedding found in the cache does not load gensim (see :mod:`zsac`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import gensim
import gensim.downloader
import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from ..errors import ConfigError, DataError

__all__ = ["read_word_vectors", "library_stop_words"]

logger = logging.getLogger(__name__)


def library_stop_words(name: str) -> frozenset[str]:
    """scikit-learn's (``"sklearn"``) or gensim's (``"gensim"``) English stop list."""
    return frozenset(ENGLISH_STOP_WORDS if name == "sklearn" else gensim.parsing.preprocessing.STOPWORDS)


def _looks_like_path(source: str) -> bool:
    return os.sep in source or "/" in source or bool(Path(source).suffix)


def _detect_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".bin") or name.endswith(".bin.gz"):
        return "word2vec-binary"
    try:
        with gensim.utils.open(str(path), "rb") as handle:
            first = handle.readline().decode("utf-8", errors="replace").split()
    except OSError as exc:
        raise DataError(f"cannot read word vectors {path}: {exc}") from exc
    # word2vec text files start with "<vocabulary size> <dimensions>"; GloVe files start with a vector.
    if len(first) == 2 and all(part.isdigit() for part in first):
        return "word2vec-text"
    return "glove"


def read_word_vectors(source: str | os.PathLike[str], *, format: str, limit: int | None) -> Any:
    """:func:`zsac.semantic.load_word_vectors`, once its arguments are checked."""
    source_str = os.fspath(source)
    path = Path(source_str).expanduser()
    if not path.exists():
        if _looks_like_path(source_str):
            raise DataError(f"word-vector file {path} does not exist")
        if format != "auto" or limit is not None:
            raise ConfigError(
                f"format and limit apply to word-vector files, not to the gensim-data name {source_str!r}"
            )
        logger.info("loading gensim-data model %r (downloaded on first use)", source_str)
        try:
            vectors = gensim.downloader.load(source_str)
        except (ValueError, OSError) as exc:
            raise ConfigError(
                f"{source_str!r} is neither a word-vector file nor a loadable gensim-data model: {exc}"
            ) from exc
        if not (hasattr(vectors, "key_to_index") and hasattr(vectors, "vector_size")):
            raise ConfigError(f"the gensim-data entry {source_str!r} is not a word-vector model")
        return vectors
    if path.suffix.lower() in (".kv", ".model", ".pkl", ".pickle"):
        raise DataError(
            f"{path} looks like a gensim pickle; zsac loads no pickle. "
            "Save it with KeyedVectors.save_word2vec_format(..., binary=True) and pass that file."
        )
    fmt = _detect_format(path) if format == "auto" else format
    logger.info("loading %s word vectors from %s", fmt, path)
    if fmt == "glove":
        return _load_glove(path, limit=limit)
    try:
        return gensim.models.KeyedVectors.load_word2vec_format(
            str(path), binary=fmt == "word2vec-binary", no_header=fmt == "glove", limit=limit
        )
    except (ValueError, UnicodeDecodeError, EOFError, OSError, IndexError) as exc:
        raise DataError(f"cannot read {path} as {fmt} word vectors: {exc}") from exc


def _load_glove(path: Path, *, limit: int | None) -> Any:
    """Read a GloVe text file into KeyedVectors.

    Written here rather than with gensim's ``no_header`` reader because GloVe 840B holds
    tokens with spaces in them (``. . .``), which that reader rejects: the vector is
    always the last ``dim`` fields of a line, so the token is whatever precedes them.
    Lines that still do not parse, and repeated tokens, are skipped with one warning.
    """
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    skipped: list[int] = []
    dim = 0
    try:
        with gensim.utils.open(str(path), "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if limit is not None and len(words) >= limit:
                    break
                line = raw.decode("utf-8", errors="replace").rstrip()
                if not line:
                    continue
                if not dim:
                    dim = len(line.split(" ")) - 1
                    if dim < 1:
                        raise DataError(f"{path}, line {number}: expected a token and its vector, got {line[:80]!r}")
                parts = line.rsplit(" ", dim)
                try:
                    vector = np.asarray(parts[1:], dtype=np.float32)
                except ValueError:
                    vector = None
                if vector is None or vector.shape != (dim,) or not parts[0] or parts[0] in seen:
                    skipped.append(number)
                    continue
                seen.add(parts[0])
                words.append(parts[0])
                rows.append(vector)
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read GloVe vectors {path}: {exc}") from exc
    if not words:
        raise DataError(f"{path} holds no GloVe vectors")
    if skipped:
        logger.warning("%s: skipped %d malformed or repeated lines (e.g. lines %s)", path, len(skipped), skipped[:5])
    vectors = gensim.models.KeyedVectors(vector_size=dim, dtype=np.float32)
    vectors.add_vectors(words, np.stack(rows))
    return vectors
