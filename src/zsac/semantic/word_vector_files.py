"""Reading word-vector files (word2vec, GloVe, gensim-data) with gensim, and the stop lists of libraries.

The light part of the word-vector encoder (:mod:`zsac.semantic.word_vectors`) reaches this
module through the package's lazy attribute only when vectors must be read, so a text
embedding found in the cache does not load gensim (see :mod:`zsac`).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import gensim
import gensim.downloader
import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .._files import check_regular_file
from ..errors import ConfigError, DataError

__all__ = ["read_word_vectors", "library_stop_words"]

logger = logging.getLogger(__name__)


def library_stop_words(name: str) -> frozenset[str]:
    """scikit-learn's (``"sklearn"``) or gensim's (``"gensim"``) English stop list."""
    return frozenset(ENGLISH_STOP_WORDS if name == "sklearn" else gensim.parsing.preprocessing.STOPWORDS)


#: Compressed files (gensim reads them by extension) hold at most this many times their size:
#: vectors compress far less (gzip takes GoogleNews' float32 vectors to 0.45 of their size).
_MAX_COMPRESSION = 20
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".lzma")


def _problem(exc: BaseException) -> str:
    """What went wrong reading a vectors file, without quoting the file: its content is not ours to print.

    Parse errors of gensim and NumPy quote the text they choke on, which for a path that names
    another file (a key, a password file) would print it; only a line number is kept.
    """
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(exc, EOFError):
        return "it ends early (truncated?)"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    line = re.search(r"line (\d+)", str(exc))
    return "malformed entry" + (f" on line {line.group(1)}" if line else "")


def _check_word2vec_header(path: Path, *, binary: bool, limit: int | None) -> None:
    """Refuse a word2vec header whose vocabulary the file cannot hold, before gensim allocates for it.

    gensim allocates ``words × dimensions`` float32 values from the header alone, so a header
    claiming 3e9 words took 23.5 GB before failing. Each entry takes at least ``4 × dim + 2``
    bytes in a binary file (a one-byte word, a space, the floats) and ``2 × dim + 1`` in a text
    file (a one-character word and a one-digit number per dimension, with spaces).
    """
    try:
        with gensim.utils.open(str(path), "rb") as handle:
            header = handle.readline(128)
    except OSError as exc:
        raise DataError(f"cannot read word vectors {path}: {_problem(exc)}") from exc
    fields = header.split()
    if len(fields) != 2 or not all(field.isdigit() for field in fields):
        raise DataError(f"{path} is not a word2vec file: its first line is not '<vocabulary size> <dimensions>'")
    count, dim = int(fields[0]), int(fields[1])
    if count < 1 or dim < 1:
        raise DataError(f"{path}: the word2vec header declares {count} words of {dim} dimensions")
    read = count if limit is None else min(count, limit)
    least = read * (4 * dim + 2 if binary else 2 * dim + 1)
    size = path.stat().st_size
    compressed = path.suffix.lower() in _COMPRESSED
    if least > size * (_MAX_COMPRESSION if compressed else 1):
        raise DataError(
            f"{path}: the word2vec header declares {count:,} words of {dim} dimensions, which need at least "
            f"{least:,} bytes, but the file holds {size:,}{' compressed' if compressed else ''}: it is truncated "
            "or not a word2vec file"
        )


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
        raise DataError(f"cannot read word vectors {path}: {_problem(exc)}") from exc
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
    # gensim opens the file without a stat: a FIFO would block it, a device be read forever.
    check_regular_file(path, what="word-vector file")
    if path.suffix.lower() in (".kv", ".model", ".pkl", ".pickle"):
        raise DataError(
            f"{path} looks like a gensim pickle; zsac loads no pickle. "
            "Save it with KeyedVectors.save_word2vec_format(..., binary=True) and pass that file."
        )
    fmt = _detect_format(path) if format == "auto" else format
    logger.info("loading %s word vectors from %s", fmt, path)
    if fmt == "glove":
        return _load_glove(path, limit=limit)
    _check_word2vec_header(path, binary=fmt == "word2vec-binary", limit=limit)
    try:
        return gensim.models.KeyedVectors.load_word2vec_format(
            str(path), binary=fmt == "word2vec-binary", no_header=fmt == "glove", limit=limit
        )
    except (ValueError, UnicodeDecodeError, EOFError, OSError, IndexError) as exc:
        raise DataError(f"cannot read {path} as {fmt} word vectors: {_problem(exc)}") from None


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
                        # The line itself is not quoted: the path may name a file that is not ours to print.
                        raise DataError(f"{path}, line {number}: expected a token and its vector (is it GloVe?)")
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
        raise DataError(f"cannot read GloVe vectors {path}: {_problem(exc)}") from None
    if not words:
        raise DataError(f"{path} holds no GloVe vectors")
    if skipped:
        logger.warning("%s: skipped %d malformed or repeated lines (e.g. lines %s)", path, len(skipped), skipped[:5])
    vectors = gensim.models.KeyedVectors(vector_size=dim, dtype=np.float32)
    vectors.add_vectors(words, np.stack(rows))
    return vectors
