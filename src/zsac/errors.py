"""User-facing errors.

Every error that zsac raises because of bad input derives from :class:`ZsacError`,
so callers (and the CLI) can catch one type. Messages name the file or value at fault.
"""

from __future__ import annotations

__all__ = ["ZsacError", "AudioError", "DataError", "CheckpointError", "ConfigError", "VocabularyError"]


class ZsacError(Exception):
    """Base class of all errors caused by bad input, files or settings."""


class AudioError(ZsacError):
    """An audio file or waveform cannot be used (unreadable, empty, non-finite, too short)."""


class DataError(ZsacError):
    """A dataset, manifest or label set is malformed or incomplete."""


class CheckpointError(ZsacError):
    """A saved model or checkpoint is missing, corrupt or does not match the model."""


class ConfigError(ZsacError):
    """A parameter value is out of range or inconsistent with the others."""


class VocabularyError(ZsacError):
    """A class text has no word that the text encoder knows, so it has no embedding.

    ``texts`` lists the texts at fault (the error message names them, or their classes).
    """

    def __init__(self, message: str, *, texts: list[str] | None = None) -> None:
        super().__init__(message)
        self.texts = list(texts or [])
