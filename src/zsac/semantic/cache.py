"""On-disk cache of text embeddings, keyed by encoder identity, kind and text.

An encoder's ``identity`` names everything its output depends on (model file or folder
with sizes and times, hub name and revision, pooling, stop list), so changing any of
them misses the cache. Each text is its own entry, so class lists that share texts
share entries, and a model is only loaded when some text is missing.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from .._npz import default_cache_dir, load_array, store_array
from ..errors import DataError

__all__ = ["TextEncoder", "EmbeddingCache", "encode_texts"]

logger = logging.getLogger(__name__)


class TextEncoder(Protocol):
    """What the semantic side needs of an encoder."""

    @property
    def identity(self) -> str | None:
        """A stable description of the encoder, or None when it has none (never cached)."""

    def encode(self, texts: Sequence[str], *, kind: Any) -> np.ndarray:
        """Embeddings [n_texts, dim] of ``texts``; ``kind`` is ``label`` or ``sentence``."""


class EmbeddingCache:
    """Text embeddings stored as small ``.npz`` files under ``directory``.

    Parameters
    ----------
    directory : path or None
        ``None`` is ``default_cache_dir() / "semantic"`` (``$ZSAC_CACHE_DIR`` or the user cache).
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        if directory is None:
            directory = default_cache_dir() / "semantic"
        self.directory = Path(directory)

    @staticmethod
    def key(identity: str, kind: str, text: str) -> str:
        """The entry name of one text: a sha256 of the encoder identity, the kind and the text."""
        return hashlib.sha256(f"{identity}\x00{kind}\x00{text}".encode()).hexdigest()

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npz"

    def encode(
        self, encoder: TextEncoder, texts: Sequence[str], *, kind: str, progress: bool = False, what: str = "texts"
    ) -> np.ndarray:
        """``encoder.encode(texts, kind=kind)``, computing only the texts not cached yet.

        Returns
        -------
        np.ndarray [shape=(n_texts, dim), dtype=float32]
        """
        if not texts:
            raise DataError("no texts to encode")
        identity = encoder.identity
        if identity is None:
            return _encode_in_chunks(encoder, texts, kind=kind, progress=progress, what=what)
        keys = [self.key(identity, kind, text) for text in texts]
        found: dict[str, np.ndarray] = {}
        for key in dict.fromkeys(keys):
            vector = load_array(
                self._entry(key),
                "embedding",
                valid=lambda a: a.dtype == np.float32 and a.ndim == 1,
                what="semantic cache entry",
            )
            if vector is not None:
                found[key] = vector
        missing = [text for text, key in dict.fromkeys(zip(texts, keys, strict=True)) if key not in found]
        if missing:
            logger.debug("%s: encoding %d of %d texts (the rest are cached)", what, len(missing), len(set(keys)))
            vectors = _encode_in_chunks(encoder, missing, kind=kind, progress=progress, what=what)
            for text, vector in zip(missing, vectors, strict=True):
                key = self.key(identity, kind, text)
                store_array(self._entry(key), "embedding", vector)
                found[key] = vector
        dims = {vector.shape[0] for vector in found.values()}
        if len(dims) != 1:
            # Only a hub model changed under the same name and revision could do this.
            raise DataError(
                f"the semantic cache {self.directory} holds vectors of sizes {sorted(dims)} for one encoder "
                f"({identity}); delete that folder and rerun"
            )
        return np.stack([found[key] for key in keys])


#: Texts per encoder call when a progress bar is shown: small enough for the bar to move
#: every second or so on a CPU, large enough to keep the encoder's own batching efficient.
PROGRESS_CHUNK = 64


def _encode_in_chunks(
    encoder: TextEncoder, texts: Sequence[str], *, kind: str, progress: bool, what: str
) -> np.ndarray:
    if not progress or len(texts) <= PROGRESS_CHUNK:
        return np.asarray(encoder.encode(list(texts), kind=kind), dtype=np.float32)
    chunks = []
    with tqdm(total=len(texts), desc=f"encoding {what}", unit="text", leave=False) as bar:
        for start in range(0, len(texts), PROGRESS_CHUNK):
            chunk = list(texts[start : start + PROGRESS_CHUNK])
            chunks.append(np.asarray(encoder.encode(chunk, kind=kind), dtype=np.float32))
            bar.update(len(chunk))
    return np.concatenate(chunks)


def encode_texts(
    encoder: TextEncoder,
    texts: Sequence[str],
    *,
    kind: str,
    cache: EmbeddingCache | None,
    progress: bool = False,
    what: str = "texts",
) -> np.ndarray:
    """Encode through ``cache`` when given, else directly; ``progress`` shows a bar named ``what``.

    Returns
    -------
    np.ndarray [shape=(n_texts, dim), dtype=float32]
    """
    if cache is None:
        return _encode_in_chunks(encoder, texts, kind=kind, progress=progress, what=what)
    return cache.encode(encoder, texts, kind=kind, progress=progress, what=what)
