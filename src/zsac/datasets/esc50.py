"""ESC-50 in its official layout: ``meta/esc50.csv`` and ``audio/<filename>``."""

from __future__ import annotations

import csv
import os
from collections.abc import Collection
from pathlib import Path

from .._files import check_regular_file
from ..errors import DataError
from .types import Clip

__all__ = ["ESC50_COLUMNS", "read_esc50_metadata", "esc50_clips"]

ESC50_COLUMNS = ("filename", "fold", "target", "category", "esc10", "src_file", "take")


def read_esc50_metadata(root: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of ``root/meta/esc50.csv`` as dicts keyed by :data:`ESC50_COLUMNS`."""
    meta = Path(root) / "meta" / "esc50.csv"
    if meta.exists():  # a missing file gets the message below; a FIFO would block the open
        check_regular_file(meta, what="ESC-50 metadata")
    try:
        with open(meta, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = set(ESC50_COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise DataError(f"{meta} lacks the columns {sorted(missing)}")
            return list(reader)
    except FileNotFoundError as exc:
        raise DataError(f"no ESC-50 metadata at {meta}; is {root} an ESC-50 root?") from exc


def esc50_clips(
    root: str | os.PathLike[str],
    *,
    classes: Collection[str] | None = None,
    folds: Collection[int] | None = None,
    esc10: bool = False,
) -> list[Clip]:
    """Clips of an ESC-50 copy, optionally restricted to classes, folds or the ESC-10 subset.

    Classes are ESC-50's snake_case categories (``door_wood_knock``). Asking for a class
    that this copy lacks is an error that names it; so is a listed file that is missing.
    """
    root = Path(root)
    rows = read_esc50_metadata(root)
    if esc10:
        rows = [row for row in rows if row["esc10"].strip().lower() == "true"]
    if folds is not None:
        rows = [row for row in rows if int(row["fold"]) in set(folds)]
    if classes is not None:
        present = {row["category"] for row in rows}
        absent = sorted(set(classes) - present)
        if absent:
            raise DataError(f"ESC-50 copy at {root} has no clips of {absent} (present: {sorted(present)})")
        rows = [row for row in rows if row["category"] in set(classes)]
    clips = [Clip(root / "audio" / row["filename"], row["category"]) for row in rows]
    missing = [str(clip.path) for clip in clips if not clip.path.is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DataError(f"{len(missing)} ESC-50 audio files listed in meta/esc50.csv are missing: {shown}")
    return clips
