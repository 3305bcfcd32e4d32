"""Word-vector label and sentence embeddings (word2vec, GloVe) through gensim.

Label embeddings (WLE, GLE; paper Section III-A) average the vectors of the words and
phrases of a class label. word2vec's GoogleNews model holds phrases joined by ``_``
(``police_car``), so within each comma- or bracket-separated part of a label the longest
run of words present as a phrase is taken first, then single words. Sentence embeddings
(WSE, GSE; Section V-C3) average the vectors of a description's words after removing
stop words. Every word or phrase is tried as written, then lower-cased, because GoogleNews
and Common Crawl GloVe are case-sensitive while GloVe 6B is lower-case.

Missing words are skipped and reported in one warning per call; a text with no known word
at all raises :class:`~zsac.errors.VocabularyError` rather than becoming a zero vector.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .. import semantic
from .._settings import check_optional_count
from ..errors import ConfigError, VocabularyError

__all__ = [
    "WordVectors",
    "load_word_vectors",
    "resolve_stop_words",
    "STOP_LISTS",
    "DEFAULT_STOP_LIST",
    "WORD_VECTOR_FORMATS",
]

logger = logging.getLogger(__name__)

WORD_VECTOR_FORMATS = ("auto", "word2vec-binary", "word2vec-text", "glove")

#: NLTK's English stop list (nltk_data ``corpora/stopwords/english``, 179 words): function
#: words only. Written out here because NLTK itself downloads its corpora at run time.
NLTK_ENGLISH_STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves he him
    his himself she she's her hers herself it it's its itself they them their theirs themselves what which who
    whom this that that'll these those am is are was were be been being have has had having do does did doing a an
    the and but if or because as until while of at by for with about against between into through during before
    after above below to from up down in out on off over under again further then once here there when where why
    how all any both each few more most other some such no nor not only own same so than too very s t can will just
    don don't should should've now d ll m o re ve y ain aren aren't couldn couldn't didn didn't doesn doesn't hadn
    hadn't hasn hasn't haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn
    shouldn't wasn wasn't weren weren't won won't wouldn wouldn't""".split()
)

#: The stop list removed from descriptions by default. NLTK's list holds function words
#: only; scikit-learn's (the Glasgow IR group's 318 words) and gensim's also remove words
#: such as "fire", "cry", "call", "back", "top" and "empty", which carry meaning in sound
#: descriptions (one of these six occurs in 21 of AudioSet's 527 ontology descriptions).
DEFAULT_STOP_LIST = "nltk"

#: Named stop lists: ``nltk`` (179 words, default), ``sklearn`` (Glasgow IR group, 318
#: words), ``gensim`` (gensim's ``STOPWORDS``, 337 words, also from the Glasgow list), ``none``.
STOP_LISTS = ("nltk", "sklearn", "gensim", "none")

# A word: letters or digits, possibly joined by hyphens or apostrophes ("cock-a-doodle-doo",
# "dentist's"). Underscores separate words, so "door_wood_knock" reads as three words.
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
# Phrases never span these: commas separate synonyms ("Chicken, rooster") and brackets
# hold qualifiers ("Whimper (dog)").
_PHRASE_BREAK = re.compile(r"[^\w\s'’\-]+")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)


def _stop_key(word: str) -> str:
    return word.lower().replace("’", "'")


def resolve_stop_words(stop_words: str | Iterable[str] | None) -> tuple[str, frozenset[str]]:
    """A stop list by name (see :data:`STOP_LISTS`) or as words; returns (identity, lower-cased words)."""
    if stop_words is None or stop_words == "none":
        return "none", frozenset()
    if isinstance(stop_words, str):
        if stop_words == "nltk":
            return "nltk", NLTK_ENGLISH_STOP_WORDS
        if stop_words in ("sklearn", "gensim"):
            return stop_words, semantic.word_vector_files.library_stop_words(stop_words)
        raise ConfigError(f"unknown stop list {stop_words!r}; choose one of {STOP_LISTS} or pass the words")
    words = frozenset(_stop_key(word) for word in stop_words)
    digest = hashlib.sha256("\n".join(sorted(words)).encode()).hexdigest()[:16]
    return f"custom:{digest}", words


def load_word_vectors(source: str | os.PathLike[str], *, format: str = "auto", limit: int | None = None) -> Any:
    """Load word vectors as gensim ``KeyedVectors``.

    Parameters
    ----------
    source : path or str
        A word2vec binary (``GoogleNews-vectors-negative300.bin``, optionally ``.gz``), a
        word2vec text file (with its ``<count> <dims>`` header), a GloVe text file (no
        header), or a gensim-data model name such as ``word2vec-google-news-300`` or
        ``glove-wiki-gigaword-300``, which gensim downloads once (needs internet). Note that
        gensim-data runs a small Python loader shipped with each model and stores the model
        in gensim's own format; use a downloaded file to avoid both. gensim's pickled
        ``.kv``/``.model`` files are refused: zsac loads no pickle.
    format : {'auto', 'word2vec-binary', 'word2vec-text', 'glove'}
        ``auto`` decides by the ``.bin`` extension, then by the first line.
    limit : int or None
        Read only the first ``limit`` vectors (the most frequent words, in both releases).

    Returns
    -------
    gensim.models.KeyedVectors
    """
    if format not in WORD_VECTOR_FORMATS:
        raise ConfigError(f"unknown word-vector format {format!r}; choose one of {WORD_VECTOR_FORMATS}")
    check_optional_count("word_vector_limit")(limit)  # a bad limit is the option's fault, not the file's
    # gensim does the reading; it loads (over a second) only when vectors are needed.
    return semantic.word_vector_files.read_word_vectors(source, format=format, limit=limit)


def _file_identity(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


class WordVectors:
    """A word-vector model as a text encoder for label and sentence embeddings.

    The model is loaded on first use, so a cache that holds every text never loads it.

    Parameters
    ----------
    source : path, str or gensim KeyedVectors
        See :func:`load_word_vectors`; or vectors already loaded (these are not cached on
        disk, because they have no stable identity).
    format : str
        See :func:`load_word_vectors`.
    limit : int or None
        See :func:`load_word_vectors`.
    stop_words : str, iterable of str or None
        Removed from descriptions (never from labels): a name in :data:`STOP_LISTS`
        (default ``nltk``) or the words themselves.
    name : str
        Shown in log messages, e.g. ``word2vec`` or ``GloVe``.
    """

    def __init__(
        self,
        source: Any,
        *,
        format: str = "auto",
        limit: int | None = None,
        stop_words: str | Iterable[str] | None = DEFAULT_STOP_LIST,
        name: str = "word vectors",
    ) -> None:
        self.source = source
        self.format = format
        self.limit = limit
        self.name = name
        self._stop_list_id, self._stop_words = resolve_stop_words(stop_words)
        self._vectors: Any = None
        if not isinstance(source, (str, os.PathLike)):
            if not (hasattr(source, "key_to_index") and hasattr(source, "vector_size")):
                raise ConfigError(f"{name}: expected a path, a gensim-data name or KeyedVectors, got {source!r}")
            self._vectors = source

    @property
    def identity(self) -> str | None:
        """What the embeddings depend on; None for in-memory vectors (never cached)."""
        if not isinstance(self.source, (str, os.PathLike)):
            return None
        path = Path(os.fspath(self.source)).expanduser()
        origin = _file_identity(path) if path.is_file() else f"gensim-data:{os.fspath(self.source)}"
        return f"word-vectors/v1|{origin}|format={self.format}|limit={self.limit}|stop={self._stop_list_id}"

    @property
    def vectors(self) -> Any:
        """The gensim ``KeyedVectors`` (loaded on first access)."""
        if self._vectors is None:
            self._vectors = load_word_vectors(self.source, format=self.format, limit=self.limit)
        return self._vectors

    def _lookup(self, word: str) -> str | None:
        index = self.vectors.key_to_index
        if word in index:
            return word
        lower = word.lower()
        return lower if lower in index else None

    def _resolve(self, words: Sequence[str], *, phrases: bool, drop_stop_words: bool) -> tuple[list[str], list[str]]:
        """Vocabulary keys for a run of words, longest phrase first; also the words not found."""
        if drop_stop_words:
            words = [word for word in words if _stop_key(word) not in self._stop_words]
        keys: list[str] = []
        missing: list[str] = []
        i = 0
        while i < len(words):
            longest = len(words) - i if phrases else 1
            found, length = None, 0
            for length in range(longest, 0, -1):
                found = self._lookup("_".join(words[i : i + length]))
                if found:
                    break
            if found:
                keys.append(found)
                i += length
                continue
            word = words[i]
            # "Hi-hat", "dentist's": when the joined form is unknown, use its parts.
            parts = [part for part in re.split(r"['’\-]", _POSSESSIVE.sub("", word)) if part]
            if parts != [word]:
                sub_keys, sub_missing = self._resolve(parts, phrases=phrases, drop_stop_words=drop_stop_words)
                keys += sub_keys
                missing += sub_missing
            else:
                missing.append(word)
            i += 1
        return keys, missing

    def keys_for(self, text: str, *, kind: Literal["label", "sentence"]) -> tuple[list[str], list[str]]:
        """The vocabulary entries averaged for ``text``, and the words skipped as unknown.

        ``kind="label"`` matches phrases and keeps stop words; ``kind="sentence"`` removes
        stop words and matches single words, as WSE/GSE are defined (paper Section V-C3).
        """
        if kind not in ("label", "sentence"):
            raise ConfigError(f"kind must be 'label' or 'sentence', got {kind!r}")
        keys: list[str] = []
        missing: list[str] = []
        for segment in _PHRASE_BREAK.split(text):
            words = _WORD.findall(segment)
            segment_keys, segment_missing = self._resolve(
                words, phrases=kind == "label", drop_stop_words=kind == "sentence"
            )
            keys += segment_keys
            missing += segment_missing
        return keys, missing

    def encode(self, texts: Sequence[str], *, kind: Literal["label", "sentence"] = "label") -> np.ndarray:
        """Mean word/phrase vectors of each text.

        Returns
        -------
        np.ndarray [shape=(n_texts, vector_size), dtype=float32]

        Raises
        ------
        VocabularyError
            When some text has no known word at all; ``error.texts`` lists them.
        """
        vectors = self.vectors
        out = np.empty((len(texts), vectors.vector_size), dtype=np.float32)
        skipped: dict[str, list[str]] = {}
        empty: list[str] = []
        for row, text in enumerate(texts):
            keys, missing = self.keys_for(text, kind=kind)
            if missing:
                skipped[text] = missing
                logger.debug("%s: skipped %s in %r", self.name, missing, text)
            if not keys:
                empty.append(text)
                continue
            # Mean in float64: GoogleNews vectors are float32 and labels average few terms,
            # but descriptions can average dozens.
            out[row] = vectors[keys].astype(np.float64).mean(axis=0)
        if skipped:
            examples = "; ".join(f"{text!r}: {words}" for text, words in list(skipped.items())[:5])
            logger.warning(
                "%s: %d words not in the vocabulary were skipped in %d of %d texts (e.g. %s)",
                self.name,
                sum(len(words) for words in skipped.values()),
                len(skipped),
                len(texts),
                examples,
            )
        if empty:
            note = f" (after removing {self._stop_list_id} stop words)" if kind == "sentence" else ""
            raise VocabularyError(
                f"{self.name}: no word of {empty[:10]!r}{' ...' if len(empty) > 10 else ''} is in the vocabulary{note}",
                texts=empty,
            )
        return out
