"""Semantic side: embeddings of sound classes from their labels and descriptions.

- :mod:`~zsac.semantic.config`: :class:`SemanticConfig`, the spec and its text models;
- :mod:`~zsac.semantic.side_info`: class names, labels and descriptions (ESC-50,
  AudioSet, user CSV/JSON/YAML files), and turning user class texts into classes;
- :mod:`~zsac.semantic.word_vectors`: word2vec and GloVe label and sentence embeddings;
- :mod:`~zsac.semantic.transformer`: BERT and sentence-transformers sentence embeddings;
- :mod:`~zsac.semantic.specs`: specs such as ``WLE+SSE`` and :class:`SemanticEmbedder`;
- :mod:`~zsac.semantic.tables`: class embedding tables (``.npz``), precomputed or saved;
- :mod:`~zsac.semantic.cache`: the on-disk cache of text embeddings.

Public names, and heavy libraries (gensim, transformers, sentence-transformers), load on
first use (see :mod:`zsac`).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=[
        "cache",
        "config",
        "hf_models",
        "side_info",
        "specs",
        "tables",
        "transformer",
        "word_vector_files",
        "word_vectors",
    ],
    submod_attrs={
        "cache": ["EmbeddingCache", "TextEncoder"],
        "config": ["SemanticConfig", "DEFAULT_SPEC"],
        "side_info": [
            "ESC50_AUDIOSET_NAMES",
            "ClassInfo",
            "as_class_infos",
            "audioset_class_info",
            "esc50_class_info",
            "label_from_name",
            "read_audioset_ontology",
            "read_class_file",
            "validate_classes",
            "with_descriptions",
            "with_label_template",
            "with_ontology_context",
        ],
        "specs": ["SEMANTIC_PARTS", "SemanticEmbedder", "SemanticPart", "parse_spec"],
        "tables": ["ClassTable", "load_class_table"],
        "transformer": [
            "BERT_POOLINGS",
            "DEFAULT_BERT_MODEL",
            "DEFAULT_SENTENCE_MODEL",
            "BertEncoder",
            "SentenceTransformerEncoder",
            "default_sentence_model_path",
        ],
        "word_vectors": ["DEFAULT_STOP_LIST", "STOP_LISTS", "WordVectors", "load_word_vectors", "resolve_stop_words"],
    },
)
