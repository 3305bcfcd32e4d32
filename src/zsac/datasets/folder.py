"""A user's dataset as a folder with one subfolder of audio files per class."""

from __future__ import annotations

import os
from pathlib import Path

import soundfile as sf

from ..errors import DataError
from .types import Clip

__all__ = ["folder_clips", "AUDIO_EXTENSIONS"]

#: File extensions that libsndfile can decode (``.wav``, ``.flac``, ``.ogg``, ...).
AUDIO_EXTENSIONS = frozenset(f".{ext.lower()}" for ext in sf.available_formats()) | {".wav", ".flac", ".ogg"}


def folder_clips(root: str | os.PathLike[str]) -> list[Clip]:
    """Clips of ``root/<class name>/<file>``; files that are not audio are ignored."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset folder {root} does not exist")
    clips = [
        Clip(path, class_dir.name)
        for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        for path in sorted(class_dir.iterdir())
        if path.is_file() and path.suffix.lower() in AUDIO_EXTENSIONS
    ]
    if not clips:
        raise DataError(f"no audio files under {root}/<class>/ (expected one subfolder per class)")
    return clips
