"""User-facing errors.

Every error that zsac raises because of bad input derives from :class:`ZsacError`,
so callers (and the CLI) can catch one type. Messages name the file or value at fault.

The rule for choosing one:

- a bad *argument* (a parameter out of range, an unknown choice, options that contradict
  each other) raises :class:`ConfigError`;
- bad *content* (a file, an array, a dataset, a class list that cannot be used) raises
  :class:`DataError`, or one of its kinds: :class:`AudioError`, :class:`CheckpointError`,
  :class:`VocabularyError`;
- using an estimator before ``fit`` raises ``zsac.NotFittedError``, which is scikit-learn's
  ``NotFittedError`` and a :class:`ZsacError` (it lives in :mod:`zsac._estimator`, beside
  the estimator base, so that importing this module does not import scikit-learn).

``ConfigError`` and ``DataError`` also subclass :class:`ValueError`, so code written for
scikit-learn's conventions catches them as it expects. The library raises no bare ``ValueError``.
"""

from __future__ import annotations

__all__ = [
    "ZsacError", "ConfigError", "DataError", "AudioError", "CheckpointError", "VocabularyError", "DistributedError",
]  # fmt: skip


class ZsacError(Exception):
    """Base class of all errors caused by bad input, files or settings."""


class ConfigError(ZsacError, ValueError):
    """A bad argument: a parameter value out of range, an unknown choice, or options that contradict each other."""


class DataError(ZsacError, ValueError):
    """Bad content: a dataset, file, array or class list that is malformed or incomplete."""


class AudioError(DataError):
    """An audio file or waveform cannot be used (unreadable, empty, non-finite, too short)."""


class CheckpointError(DataError):
    """A saved model or checkpoint is missing, corrupt or does not match the model."""


class VocabularyError(DataError):
    """A class text has no word that the text encoder knows, so it has no embedding.

    ``texts`` lists the texts at fault (the error message names them, or their classes).
    """

    def __init__(self, message: str, *, texts: list[str] | None = None) -> None:
        super().__init__(message)
        self.texts = list(texts or [])


class DistributedError(ZsacError, RuntimeError):
    """A process of a torchrun job was lost (killed, crashed, its node gone), so the others cannot go on."""
