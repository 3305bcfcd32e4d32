"""User-facing errors.

Every error that zsac raises because of bad input derives from :class:`ZsacError`,
so callers (and the CLI) can catch one type. Messages name the file or value at fault.
"""

from __future__ import annotations

__all__ = ["ZsacError", "AudioError", "DataError", "CheckpointError", "ConfigError"]


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
