"""zsac: zero-shot audio classification via semantic embeddings.

Implements Xie & Virtanen, "Zero-Shot Audio Classification via Semantic Embeddings"
(IEEE/ACM TASLP 2021). Importing zsac downloads nothing and configures no logging.
"""

from __future__ import annotations

import logging

from .errors import AudioError, CheckpointError, ConfigError, DataError, VocabularyError, ZsacError

__version__ = "0.1.0"

from .classifier import ZeroShotClassifier  # noqa: E402  (classifier reads __version__)

__all__ = [
    "ZeroShotClassifier",
    "ZsacError",
    "AudioError",
    "DataError",
    "CheckpointError",
    "ConfigError",
    "VocabularyError",
    "__version__",
]

# A library adds a NullHandler and leaves configuration to the application.
logging.getLogger(__name__).addHandler(logging.NullHandler())
