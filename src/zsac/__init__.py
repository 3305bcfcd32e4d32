"""zsac: zero-shot audio classification via semantic embeddings.

Implements Xie & Virtanen, "Zero-Shot Audio Classification via Semantic Embeddings"
(IEEE/ACM TASLP 2021). Importing zsac downloads nothing and configures no logging.

Start-up time: zsac loads its parts, and with them their heavy libraries (torch,
transformers, gensim, ...), on first use, through one mechanism, ``lazy_loader`` (as librosa
and scikit-image do): each package's ``__init__`` attaches its submodules and public names
with ``lazy.attach``. Every module imports what it needs at its top; a heavy library is
confined to the modules that run it (torch to ``acoustic.vggish``, ``compatibility.solvers``,
``_device``, ...; transformers to ``semantic.hf_models``; gensim to
``semantic.word_vector_files``), and other modules reach those through their package's
lazy attribute (``acoustic.vggish.load_vggish(...)``), so the library loads only when code
that needs it runs. ``import zsac`` or ``zsac --help`` costs a few milliseconds, and
``zsac classify`` in int8 on a CPU never loads torch. ``EAGER_IMPORT=1`` in the environment
imports everything at once (a test checks every attached name with it).
"""

from __future__ import annotations

import logging

import lazy_loader as lazy

from ._version import __version__
from .errors import AudioError, CheckpointError, ConfigError, DataError, DistributedError, VocabularyError, ZsacError

__getattr__, __dir__, _ = lazy.attach(
    __name__,
    submodules=[
        "_device",
        "acoustic",
        "audio",
        "batch",
        "checkpoint",
        "classifier",
        "cli",
        "commands",
        "compatibility",
        "datasets",
        "evaluation",
        "features",
        "protocols",
        "reproduce",
        "semantic",
        "shards",
    ],
    submod_attrs={"classifier": ["ZeroShotClassifier"], "_estimator": ["NotFittedError"]},
)

__all__ = [
    "ZeroShotClassifier",
    "ZsacError",
    "AudioError",
    "DataError",
    "CheckpointError",
    "ConfigError",
    "NotFittedError",
    "VocabularyError",
    "DistributedError",
    "__version__",
]

# A library adds a NullHandler and leaves configuration to the application.
logging.getLogger(__name__).addHandler(logging.NullHandler())
