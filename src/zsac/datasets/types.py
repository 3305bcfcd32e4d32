from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Clip:
    """One labelled audio file."""

    path: Path
    label: str
