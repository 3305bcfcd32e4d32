"""Semantic embedding specs (paper Table V) and the embedder that computes them.

A spec names one or more parts joined by ``+``, concatenated in the order written:

====  ===========================  ===================
part  encoder                      text
====  ===========================  ===================
WLE   word2vec                     label
GLE   GloVe                        label
WSE   word2vec (stop words out)    description
GSE   GloVe (stop words out)       description
BSE   BERT                         description
SLE   sentence-transformers        label
SSE   sentence-transformers        description
====  ===========================  ===================

By default each part is L2-normalised per class before concatenation. The paper does
not say; we normalise because the parts live on different scales (the authors' AudioSet
WLE rows have norms from 1.3 to 4.7, MiniLM's vectors have norm 1, BERT's pooled states
have their own scale), so without it the largest part would dominate both the bilinear
scores and the shared penalty on W, and a class's score would grow with its vector's norm.
``normalize=False`` keeps the raw vectors.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import ConfigError, DataError, VocabularyError
from .cache import EmbeddingCache, TextEncoder, encode_texts
from .config import SemanticConfig
from .side_info import ClassInfo, as_class_infos, validate_classes, with_fallback_descriptions, with_label_template
from .tables import ClassTable, load_class_table
from .transformer import DEFAULT_BERT_MODEL, BertEncoder, SentenceTransformerEncoder
from .word_vectors import WordVectors

__all__ = [
    "check_embeddable",
    "SemanticPart",
    "SEMANTIC_PARTS",
    "parse_spec",
    "uses_descriptions",
    "classes_from_texts",
    "SemanticEmbedder",
    "warn_on_drift",
]

logger = logging.getLogger(__name__)

_DEFAULTS = SemanticConfig()


@dataclasses.dataclass(frozen=True)
class SemanticPart:
    """One part of a spec: which encoder reads which text of a class."""

    name: str
    encoder: str
    text: str
    kind: str
    summary: str


SEMANTIC_PARTS: dict[str, SemanticPart] = {
    part.name: part
    for part in (
        SemanticPart("WLE", "word2vec", "label", "label", "word2vec label embedding"),
        SemanticPart("GLE", "glove", "label", "label", "GloVe label embedding"),
        SemanticPart("WSE", "word2vec", "description", "sentence", "word2vec sentence embedding"),
        SemanticPart("GSE", "glove", "description", "sentence", "GloVe sentence embedding"),
        SemanticPart("BSE", "bert", "description", "sentence", "BERT sentence embedding"),
        SemanticPart("SLE", "sentence_transformer", "label", "label", "sentence-transformers label embedding"),
        SemanticPart(
            "SSE", "sentence_transformer", "description", "sentence", "sentence-transformers sentence embedding"
        ),  # fmt: skip
    )
}


def parse_spec(spec: str | Sequence[str]) -> tuple[str, ...]:
    """The parts of a spec such as ``"WLE+GLE+BSE"`` (case-insensitive), in order.

    Raises
    ------
    ConfigError
        For an empty spec, an unknown part or a repeated part.
    """
    parts = spec.split("+") if isinstance(spec, str) else list(spec)
    parts = [part.strip().upper() for part in parts]
    if not parts or any(not part for part in parts):
        raise ConfigError(f"empty part in the semantic spec {spec!r}; write parts joined by '+', e.g. 'WLE+SSE'")
    unknown = [part for part in parts if part not in SEMANTIC_PARTS]
    if unknown:
        raise ConfigError(f"unknown part(s) {unknown} in the semantic spec {spec!r}; known: {list(SEMANTIC_PARTS)}")
    repeated = sorted({part for part in parts if parts.count(part) > 1})
    if repeated:
        raise ConfigError(f"the semantic spec {spec!r} repeats {repeated}")
    return tuple(parts)


_WORD_VECTOR_HINTS = {
    "word2vec": "a GoogleNews-vectors-negative300.bin path or the gensim-data name 'word2vec-google-news-300'",
    "glove": "a glove.6B.300d.txt path or the gensim-data name 'glove-wiki-gigaword-300'",
}


def check_embeddable(config: SemanticConfig, specs: Iterable[str] | None = None) -> None:
    """Fail now, before any audio work, when a part of ``specs`` cannot be computed under ``config``.

    Checks that each part has its source: a table file that reads as a class table, or word
    vectors (word2vec, GloVe) that are given and, when named by a path, exist. Models are not
    loaded here, so this costs milliseconds.

    Parameters
    ----------
    config : SemanticConfig
    specs : iterable of str or None
        Default: ``config.semantic``.

    Raises
    ------
    ConfigError
        When a part's source is missing.
    DataError
        When a table or word-vector file does not exist or a table does not read.
    """
    embedder = SemanticEmbedder.from_config(config, cache=False)
    for spec in [config.semantic] if specs is None else specs:
        for part in parse_spec(spec):
            table = embedder._table_source(part)
            if table is not None:
                if isinstance(table, (str, os.PathLike)) and not os.path.exists(table):  # a FIFO: refused below
                    raise DataError(f"the {part} table {os.fspath(table)} does not exist (--table {part}=FILE)")
                embedder._table(part)  # a broken table fails here, naming its file
                continue
            encoder = SEMANTIC_PARTS[part].encoder
            if encoder not in _WORD_VECTOR_HINTS:
                continue
            source = getattr(config, encoder)
            if source is None:
                raise ConfigError(
                    f"{part} needs {encoder} vectors: pass --{encoder} ({encoder}= in Python) "
                    f"{_WORD_VECTOR_HINTS[encoder]}, or a precomputed table (--table {part}=FILE)"
                )
            text = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
            looks_like_path = text is not None and ("/" in text or os.sep in text or bool(os.path.splitext(text)[1]))
            if looks_like_path and not os.path.exists(os.path.expanduser(text)):
                raise DataError(f"{encoder} file {text} does not exist (needed by {part})")


def uses_descriptions(spec: str | Sequence[str]) -> bool:
    """Whether a spec has a part that reads class descriptions (WSE, GSE, BSE, SSE)."""
    return any(SEMANTIC_PARTS[part].text == "description" for part in parse_spec(spec))


def classes_from_texts(
    texts: Any, *, spec: str, label_template: str | None = None, what: str = "classes"
) -> list[ClassInfo]:
    """Class texts as a user gives them (see :func:`~zsac.semantic.as_class_infos`), ready to embed under ``spec``.

    Labels are put inside ``label_template`` first, when given (e.g. ``"the sound of
    {label}"``). Then, when the spec reads descriptions, a class given without one embeds its
    (templated) label instead, so a class named by a user embeds the same way at training and
    at prediction time.
    """
    classes = as_class_infos(texts, what=what)
    if label_template:
        classes = with_label_template(classes, label_template)
    return with_fallback_descriptions(classes) if uses_descriptions(spec) else classes


#: Encoders are deterministic, so a saved table and a recomputed one differ only by float
#: rounding across machines; more than this means another model or another text.
DRIFT_TOLERANCE = 1e-3


def warn_on_drift(embedder: SemanticEmbedder, spec: str, classes: Sequence[ClassInfo], saved: np.ndarray) -> float:
    """Recompute ``classes`` under ``spec`` and warn when the result differs from ``saved`` embeddings.

    A loaded model's text models must still give its training classes the embeddings they had;
    otherwise its W meets class embeddings from another space.

    Returns
    -------
    float
        The largest absolute difference.
    """
    gap = float(np.max(np.abs(embedder.embed(spec, classes).embeddings - saved)))
    if gap > DRIFT_TOLERANCE:
        logger.warning(
            "the text models now give the training classes other %s embeddings than at training time "
            "(largest difference %.3g): another model version or path? Predictions may suffer.",
            spec,
            gap,
        )
    return gap


def _l2_normalize(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix.astype(np.float64), axis=1, keepdims=True)
    return (matrix / np.maximum(norms, np.finfo(np.float32).tiny)).astype(np.float32)


class SemanticEmbedder:
    """Computes class embeddings for any spec from the models and tables it is given.

    Models are loaded on first use and kept for later calls; computed text embeddings
    are cached on disk, so a rerun loads no model at all.

    Parameters
    ----------
    word2vec, glove : path, str, KeyedVectors, WordVectors or None
        Word vectors for W* and G* parts: a word2vec ``.bin``/text file, a GloVe ``.txt``,
        or a gensim-data name (see :func:`~zsac.semantic.load_word_vectors`).
    bert : str, BertEncoder or None
        Model for BSE; ``None`` is ``bert-large-uncased`` (the paper's).
    sentence_model : str, SentenceTransformerEncoder or None
        Model for SLE and SSE; ``None`` is all-MiniLM-L6-v2 (bundled copy when installed).
    tables : mapping of part name to path or ClassTable, or None
        Precomputed parts, e.g. ``{"WLE": "audioset/word2vec_label_embeddings.npz"}``;
        rows are matched by mid, then by name. A table overrides that part's encoder.
    normalize : bool
        L2-normalise each part per class before concatenating (default True; see module docs).
    stop_words : str, iterable of str or None
        Stop list for WSE and GSE; default NLTK's English list (see ``STOP_LISTS``).
    bert_pooling, bert_layer, bert_max_length : str, int, int
        BERT pooling, default the mean of the second-to-last layer; token limit (see BertEncoder).
    word_vector_limit : int or None
        Load only the most frequent words of the word-vector files.
    device : str or None
        For the transformer models; ``None`` uses CUDA when available.
    cache : bool, path or EmbeddingCache
        ``True`` (default) caches under ``$ZSAC_CACHE_DIR`` or the user cache; ``False`` disables.
    progress : bool
        Show a progress bar while texts are encoded.

    The defaults are :class:`~zsac.semantic.SemanticConfig`'s; :meth:`from_config` builds
    an embedder from one.
    """

    def __init__(
        self,
        *,
        word2vec: Any = _DEFAULTS.word2vec,
        glove: Any = _DEFAULTS.glove,
        bert: Any = _DEFAULTS.bert,
        sentence_model: Any = _DEFAULTS.sentence_model,
        tables: Mapping[str, str | os.PathLike[str] | ClassTable] | None = _DEFAULTS.tables,
        normalize: bool = _DEFAULTS.normalize,
        stop_words: str | Iterable[str] | None = _DEFAULTS.stop_words,
        bert_pooling: str = _DEFAULTS.bert_pooling,
        bert_layer: int = _DEFAULTS.bert_layer,
        bert_max_length: int = _DEFAULTS.bert_max_length,
        word_vector_limit: int | None = _DEFAULTS.word_vector_limit,
        device: str | None = None,
        cache: bool | str | os.PathLike[str] | EmbeddingCache = True,
        progress: bool = False,
    ) -> None:
        self.word2vec = word2vec
        self.glove = glove
        self.bert = DEFAULT_BERT_MODEL if bert is None else bert
        self.sentence_model = sentence_model
        self.tables = dict(tables or {})
        self.normalize = normalize
        self.stop_words = stop_words
        self.bert_pooling = bert_pooling
        self.bert_layer = bert_layer
        self.bert_max_length = bert_max_length
        self.word_vector_limit = word_vector_limit
        self.device = device
        self.cache = cache
        self.progress = progress
        unknown = [part for part in self.tables if part.upper() not in SEMANTIC_PARTS]
        if unknown:
            raise ConfigError(f"tables given for unknown parts {unknown}; known: {list(SEMANTIC_PARTS)}")
        self._encoders: dict[str, TextEncoder] = {}
        self._loaded_tables: dict[str, ClassTable] = {}

    @classmethod
    def from_config(
        cls,
        config: SemanticConfig,
        *,
        device: str | None = None,
        cache: bool | str | os.PathLike[str] | EmbeddingCache = True,
        progress: bool = False,
    ) -> SemanticEmbedder:
        """The embedder of a :class:`~zsac.semantic.SemanticConfig`'s text models and options.

        The spec and the label template are not the embedder's: the spec is given to
        :meth:`embed`, and the template shapes the classes (:func:`classes_from_texts`).
        """
        options = {field.name: getattr(config, field.name) for field in dataclasses.fields(config)}
        del options["semantic"], options["label_template"]
        return cls(**options, device=device, cache=cache, progress=progress)

    # -- sources -----------------------------------------------------------------------

    def _cache(self) -> EmbeddingCache | None:
        if self.cache is False or self.cache is None:
            return None
        if isinstance(self.cache, EmbeddingCache):
            return self.cache
        return EmbeddingCache(None if self.cache is True else self.cache)

    def _word_vectors(self, source: Any, name: str, option: str, hint: str) -> WordVectors:
        if isinstance(source, WordVectors):
            return source
        if source is None:
            raise ConfigError(
                f"{name} parts need {name} vectors: pass {option}= (--{option} on the command line) {hint}, "
                "or a precomputed table of the part"
            )
        return WordVectors(source, limit=self.word_vector_limit, stop_words=self.stop_words, name=name)

    def encoder(self, name: str) -> TextEncoder:
        """The encoder behind parts that use ``name`` (``word2vec``, ``glove``, ``bert``, ``sentence_transformer``)."""
        if name not in self._encoders:
            if name == "word2vec":
                encoder: TextEncoder = self._word_vectors(
                    self.word2vec, "word2vec", "word2vec",
                    "a GoogleNews-vectors-negative300.bin path or the gensim-data name 'word2vec-google-news-300'",
                )  # fmt: skip
            elif name == "glove":
                encoder = self._word_vectors(
                    self.glove, "GloVe", "glove",
                    "a GloVe .txt path (e.g. glove.840B.300d.txt) or a gensim-data name like 'glove-wiki-gigaword-300'",
                )  # fmt: skip
            elif name == "bert":
                encoder = (
                    self.bert
                    if isinstance(self.bert, BertEncoder)
                    else BertEncoder(
                        self.bert,
                        pooling=self.bert_pooling,
                        layer=self.bert_layer,
                        max_length=self.bert_max_length,
                        device=self.device,
                    )
                )
            elif name == "sentence_transformer":
                encoder = (
                    self.sentence_model
                    if isinstance(self.sentence_model, SentenceTransformerEncoder)
                    else SentenceTransformerEncoder(self.sentence_model, device=self.device)
                )
            else:
                raise ConfigError(f"unknown encoder {name!r}")
            self._encoders[name] = encoder
        return self._encoders[name]

    def _table_source(self, part: str) -> Any:
        return next((value for key, value in self.tables.items() if key.upper() == part), None)

    def _table(self, part: str) -> ClassTable | None:
        source = self._table_source(part)
        if source is None:
            return None
        if part not in self._loaded_tables:
            self._loaded_tables[part] = source if isinstance(source, ClassTable) else load_class_table(source)
        return self._loaded_tables[part]

    def part_source(self, part: str) -> str:
        """Where a part comes from: a table path or an encoder's identity."""
        part = parse_spec(part)[0]
        source = self._table_source(part)
        if source is not None:
            return f"table:{source}" if not isinstance(source, ClassTable) else "table:in-memory"
        encoder = self.encoder(SEMANTIC_PARTS[part].encoder)
        return encoder.identity or f"in-memory {type(encoder).__name__}"

    # -- embedding ---------------------------------------------------------------------

    def embed_part(self, part: str, classes: Sequence[ClassInfo]) -> np.ndarray:
        """The raw (unnormalised) embeddings of one part.

        Returns
        -------
        np.ndarray [shape=(n_classes, part_dim), dtype=float32]
        """
        part = parse_spec(part)[0]
        classes = validate_classes(classes)
        definition = SEMANTIC_PARTS[part]
        table = self._table(part)
        if table is not None:
            source = f"the {part} table ({self.part_source(part)})"
            rows = table.rows_for(classes, source=source)
            if table.spec is None:  # e.g. the authors' WLE table: its rows are the part
                return rows
            parts = parse_spec(table.spec)
            if part not in parts:
                raise ConfigError(f"{source} holds {table.spec} embeddings, not {part}")
            if len(parts) == 1:
                return rows
            if table.part_dims is None:
                raise ConfigError(f"{source} holds {table.spec} embeddings without part sizes; cannot take {part}")
            # A table that zsac saved for a longer spec: take this part's columns only.
            start = sum(table.part_dims[: parts.index(part)])
            return rows[:, start : start + table.part_dims[parts.index(part)]]
        if definition.text == "description":
            lacking = [c.name for c in classes if c.description is None]
            if lacking:
                more = f" and {len(lacking) - 10} more" if len(lacking) > 10 else ""
                raise DataError(
                    f"{part} needs class descriptions, but {lacking[:10]}{more} have none; "
                    "give them in the class file (a 'description' column or key) or via an AudioSet ontology"
                )
            texts = [c.description for c in classes]
        else:
            texts = [c.label for c in classes]
        try:
            return encode_texts(
                self.encoder(definition.encoder), texts, kind=definition.kind, cache=self._cache(),
                progress=self.progress, what=part,
            )  # fmt: skip
        except VocabularyError as exc:
            empty = set(exc.texts)
            culprits = [f"{c.name!r} ({definition.text} {getattr(c, definition.text)!r})"
                        for c in classes if getattr(c, definition.text) in empty]  # fmt: skip
            raise VocabularyError(
                f"{part}: no word of the {definition.text} of class {', '.join(culprits[:10])} is in the "
                f"{definition.encoder} vocabulary; reword it or give it a label/description with known words",
                texts=exc.texts,
            ) from exc

    def embed_many(self, specs: Iterable[str], classes: Sequence[ClassInfo]) -> dict[str, ClassTable]:
        """Tables for several specs, computing each distinct part once.

        Returns
        -------
        dict of str to ClassTable
            Keyed by the specs as given.
        """
        classes = validate_classes(classes)
        specs = list(specs)
        parsed = {spec: parse_spec(spec) for spec in specs}
        computed: dict[str, np.ndarray] = {}
        for parts in parsed.values():
            for part in parts:
                if part not in computed:
                    raw = self.embed_part(part, classes)
                    computed[part] = _l2_normalize(raw) if self.normalize else raw
        names = tuple(c.name for c in classes)
        mids = tuple(c.mid or "" for c in classes) if any(c.mid for c in classes) else None
        out = {}
        for spec, parts in parsed.items():
            metadata = {
                "spec": "+".join(parts),
                "normalize": self.normalize,
                "parts": {part: {"source": self.part_source(part), "dim": computed[part].shape[1]} for part in parts},
                "zsac": __version__,
            }
            out[spec] = ClassTable(
                embeddings=np.concatenate([computed[part] for part in parts], axis=1),
                names=names,
                mids=mids,
                spec="+".join(parts),
                part_dims=tuple(computed[part].shape[1] for part in parts),
                metadata=metadata,
            )
        return out

    def embed(self, spec: str, classes: Sequence[ClassInfo]) -> ClassTable:
        """Class embeddings for one spec, e.g. ``"WLE+SSE"``.

        Returns
        -------
        ClassTable
            ``embeddings`` [shape=(n_classes, sum of part dims), dtype=float32], rows in class order.
        """
        return self.embed_many([spec], classes)[spec]
