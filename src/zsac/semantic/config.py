"""Semantic-side settings: the spec and its text models, with one home for each default and its help.

:class:`SemanticConfig` says how class texts become class embeddings φ(z): which parts
(the spec) and which model or table computes each. The classifier, ``zsac reproduce`` and
the ``zsac train`` / ``embed-classes`` commands take their defaults from here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .._settings import check_optional_count, check_settings, setting
from ..errors import ConfigError
from .side_info import check_label_template
from .transformer import (
    BERT_POOLINGS,
    DEFAULT_BERT_LAYER,
    DEFAULT_BERT_MAX_LENGTH,
    DEFAULT_BERT_MODEL,
    DEFAULT_BERT_POOLING,
)
from .word_vectors import DEFAULT_STOP_LIST, STOP_LISTS

__all__ = ["SemanticConfig", "DEFAULT_SPEC", "parse_table_option"]

#: Offline by default: both parts come from the bundled all-MiniLM-L6-v2.
DEFAULT_SPEC = "SLE+SSE"


def parse_table_option(text: str) -> tuple[str, str]:
    """``"WLE=word2vec_label_embeddings.npz"`` → ``("WLE", "word2vec_label_embeddings.npz")``."""
    part, sep, path = text.partition("=")
    if not sep or not part.strip() or not path:
        raise ConfigError(f"--table expects PART=FILE, e.g. WLE=word2vec_label_embeddings.npz; got {text!r}")
    return part.strip().upper(), path


@dataclasses.dataclass(frozen=True)
class SemanticConfig:
    """The semantic spec and the text models and options that compute its parts.

    ``None`` for a model means its default: all-MiniLM-L6-v2 (bundled, offline) for
    ``sentence_model`` and bert-large-uncased for ``bert``. word2vec and GloVe have no
    default; a spec with W* or G* parts needs a file, a gensim-data name or a table.
    """

    semantic: str = setting(
        DEFAULT_SPEC,
        "semantic spec: parts joined by '+' (WLE, GLE, WSE, GSE, BSE, SLE, SSE), e.g. WLE+SSE",
        aliases=("--spec",),
    )
    sentence_model: str | None = setting(
        None, "sentence-transformers name or folder for SLE/SSE (default: all-MiniLM-L6-v2, bundled)"
    )
    word2vec: str | None = setting(None, "word2vec .bin/.txt, or gensim-data name (word2vec-google-news-300)")
    glove: str | None = setting(None, "GloVe .txt (no header), or gensim-data name (glove-wiki-gigaword-300)")
    bert: str | None = setting(None, f"BERT hub name or folder for BSE (default: {DEFAULT_BERT_MODEL})")
    bert_pooling: str = setting(
        DEFAULT_BERT_POOLING, "how BERT's token states become one vector", choices=BERT_POOLINGS
    )
    bert_layer: int = setting(DEFAULT_BERT_LAYER, "BERT hidden-state layer to pool", parse=int)
    bert_max_length: int = setting(
        DEFAULT_BERT_MAX_LENGTH, "truncate descriptions to N BERT tokens (bert-as-service used 25)", parse=int
    )
    # NLTK's list keeps words such as "fire" and "cry" that sklearn's and gensim's remove.
    stop_words: str = setting(DEFAULT_STOP_LIST, "stop list removed from descriptions for WSE/GSE", choices=STOP_LISTS)
    word_vector_limit: int | None = setting(
        None,
        "load only the N most frequent words of word2vec/GloVe",
        parse=int,
        check=check_optional_count("word_vector_limit"),
    )
    tables: Mapping[str, str] | None = setting(
        None,
        "precomputed part table, e.g. WLE=word2vec_label_embeddings.npz (repeatable)",
        flag="--table",
        metavar="PART=FILE",
        parse=parse_table_option,
        append=True,
    )
    label_template: str | None = setting(
        None, "embed labels inside a template, e.g. 'the sound of {label}'", check=check_label_template
    )
    # The parts live on different scales, so without it the largest would dominate (see zsac.semantic.specs).
    normalize: bool = setting(
        True,
        "L2-normalise each part per class before concatenating them",
        off_help="keep raw part vectors (default: L2-normalise each part per class)",
    )

    def __post_init__(self) -> None:
        if not isinstance(self.semantic, str):
            raise ConfigError(f"SemanticConfig: semantic must be a spec such as 'SLE+SSE', got {self.semantic!r}")
        tables = self.tables
        if tables is not None and not isinstance(tables, Mapping):
            try:
                tables = dict(tables)  # pairs, e.g. from repeated --table options
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"SemanticConfig: tables must map parts to files, got {self.tables!r}") from exc
        object.__setattr__(self, "tables", {str(k).upper(): str(v) for k, v in (tables or {}).items()} or None)
        check_settings(self)

    def specs(self) -> list[str]:
        """The specs named by ``semantic``: one, or several separated by commas."""
        specs = [item.strip() for item in self.semantic.split(",") if item.strip()]
        if not specs:
            raise ConfigError(f"no semantic spec in {self.semantic!r}; e.g. WLE or WLE,SLE+SSE")
        return list(dict.fromkeys(specs))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {**dataclasses.asdict(self), "tables": dict(self.tables or {})}
