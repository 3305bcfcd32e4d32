"""Semantic side: embeddings of sound classes from their labels and descriptions.

- :mod:`~zsac.semantic.side_info`: class names, labels and descriptions (ESC-50,
  AudioSet, user CSV/JSON/YAML files);
- :mod:`~zsac.semantic.word_vectors`: word2vec and GloVe label and sentence embeddings;
- :mod:`~zsac.semantic.transformer`: BERT and sentence-transformers sentence embeddings;
- :mod:`~zsac.semantic.specs`: specs such as ``WLE+SSE`` and :class:`SemanticEmbedder`;
- :mod:`~zsac.semantic.tables`: class embedding tables (``.npz``), precomputed or saved;
- :mod:`~zsac.semantic.cache`: the on-disk cache of text embeddings.

Heavy libraries (gensim, transformers, sentence-transformers) load only when a model is used.
"""

from .cache import EmbeddingCache, TextEncoder
from .side_info import (
    ESC50_AUDIOSET_NAMES,
    ClassInfo,
    audioset_class_info,
    esc50_class_info,
    label_from_name,
    read_audioset_ontology,
    read_class_file,
    validate_classes,
    with_descriptions,
    with_label_template,
)
from .specs import SEMANTIC_PARTS, SemanticEmbedder, SemanticPart, parse_spec
from .tables import ClassTable, load_class_table
from .transformer import (
    BERT_POOLINGS,
    DEFAULT_BERT_MODEL,
    DEFAULT_SENTENCE_MODEL,
    BertEncoder,
    SentenceTransformerEncoder,
    default_sentence_model_path,
)
from .word_vectors import DEFAULT_STOP_LIST, STOP_LISTS, WordVectors, load_word_vectors, resolve_stop_words

__all__ = [
    "ClassInfo",
    "label_from_name",
    "esc50_class_info",
    "ESC50_AUDIOSET_NAMES",
    "with_label_template",
    "audioset_class_info",
    "read_audioset_ontology",
    "read_class_file",
    "with_descriptions",
    "validate_classes",
    "WordVectors",
    "load_word_vectors",
    "resolve_stop_words",
    "STOP_LISTS",
    "DEFAULT_STOP_LIST",
    "BertEncoder",
    "SentenceTransformerEncoder",
    "BERT_POOLINGS",
    "DEFAULT_BERT_MODEL",
    "DEFAULT_SENTENCE_MODEL",
    "default_sentence_model_path",
    "ClassTable",
    "load_class_table",
    "EmbeddingCache",
    "TextEncoder",
    "SemanticPart",
    "SEMANTIC_PARTS",
    "parse_spec",
    "SemanticEmbedder",
]
