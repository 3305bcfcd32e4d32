"""A user's dataset as a folder with one subfolder of audio files per class."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import soundfile as sf

from ..errors import DataError
from .esc50 import esc50_clips
from .types import Clip

__all__ = ["folder_clips", "dataset_clips", "AUDIO_EXTENSIONS"]

logger = logging.getLogger(__name__)

#: File extensions that libsndfile can decode (``.wav``, ``.flac``, ``.ogg``, ...).
AUDIO_EXTENSIONS = frozenset(f".{ext.lower()}" for ext in sf.available_formats()) | {".wav", ".flac", ".ogg"}


def _class_files(class_dir: Path) -> list[Path]:
    try:
        entries = sorted(class_dir.iterdir())
    except OSError as exc:
        # A class folder that cannot be listed would drop a whole class from training.
        raise DataError(f"cannot list class folder {class_dir}: {exc.strerror or exc}") from exc
    # Not only regular files: a FIFO or device with an audio name is kept, so that reading it
    # refuses it by name (it is never opened), rather than being dropped in silence.
    return [path for path in entries if path.suffix.lower() in AUDIO_EXTENSIONS and not path.is_dir()]


def folder_clips(root: str | os.PathLike[str]) -> list[Clip]:
    """Clips of ``root/<class name>/<file>``; files that are not audio are ignored.

    A class folder without audio files is named in a warning and left out.

    Raises
    ------
    DataError
        ``root`` or one of its class folders cannot be listed, or no class has audio files.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset folder {root} does not exist")
    try:
        class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as exc:
        raise DataError(f"cannot list dataset folder {root}: {exc.strerror or exc}") from exc
    clips = []
    for class_dir in class_dirs:
        files = _class_files(class_dir)
        if not files:
            logger.warning("class folder %s holds no audio files; class %r is left out", class_dir, class_dir.name)
        clips += [Clip(path, class_dir.name) for path in files]
    if not clips:
        raise DataError(f"no audio files under {root}/<class>/ (expected one subfolder per class)")
    return clips


def dataset_clips(
    data: str | os.PathLike[str],
    *,
    classes: Sequence[str] | None = None,
    exclude_classes: Sequence[str] | None = None,
) -> tuple[list[Clip], list[str]]:
    """Clips of an ESC-50 root (``meta/esc50.csv``) or of a folder with one subfolder per class.

    Parameters
    ----------
    data : path
    classes : sequence of str or None
        Keep only these classes; each must be present.
    exclude_classes : sequence of str or None
        Leave these classes out; each must be present.

    Returns
    -------
    clips : list of Clip
    present : list of str
        Every class the dataset holds, sorted.
    """
    data = Path(data)
    clips = esc50_clips(data) if (data / "meta" / "esc50.csv").is_file() else folder_clips(data)
    present = sorted({clip.label for clip in clips})
    for option, chosen in (("training classes", classes), ("excluded classes", exclude_classes)):
        absent = sorted(set(chosen or ()) - set(present))
        if absent:
            raise DataError(f"{option} {absent} are not in {data} (present: {present})")
    if classes:
        clips = [clip for clip in clips if clip.label in set(classes)]
    if exclude_classes:
        clips = [clip for clip in clips if clip.label not in set(exclude_classes)]
    return clips, present
