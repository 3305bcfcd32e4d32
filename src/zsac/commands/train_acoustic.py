"""``zsac train-acoustic``: VGGish trained from scratch on a dataset's training classes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._atomic import write_json_atomic
from ..acoustic.config import VGGishConfig
from ..acoustic.training import train_vggish
from ..datasets.folder import dataset_clips
from ..features import FeatureCache, extract_examples

__all__ = ["run_train_acoustic"]


def run_train_acoustic(
    *,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    train_classes: Sequence[str] | None = None,
    exclude_classes: Sequence[str] | None = None,
    seed: int = 0,
    device: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    pad_short: bool = False,
    progress: bool = True,
    **vggish: Any,
) -> dict[str, Any]:
    """Train VGGish from scratch on a dataset's training classes; see ``zsac train-acoustic --help``.

    ``data`` is an ESC-50 root (``meta/esc50.csv``) or a folder with one subfolder per class;
    ``vggish`` are :class:`~zsac.acoustic.VGGishConfig` fields. The model, checkpoints and a
    summary go to ``out``; an interrupted run resumes.

    Returns
    -------
    dict
        Summary: classes, clip counts, skipped files, best epoch and validation accuracy.
    """
    config = VGGishConfig(**vggish)
    clips, _ = dataset_clips(Path(data), classes=train_classes, exclude_classes=exclude_classes)
    extracted = extract_examples(
        [clip.path for clip in clips], cache=FeatureCache(cache_dir) if use_cache else None, pad_short=pad_short,
        skip_errors=True, progress=progress,
    )  # fmt: skip
    label_of = {clip.path: clip.label for clip in clips}
    result = train_vggish(
        extracted.examples, [label_of[path] for path in extracted.paths], config, seed=seed, device=device,
        checkpoint_dir=out, progress=progress,
    )  # fmt: skip
    summary = {
        "classes": result.class_names,
        "n_clips": len(extracted.paths),
        "skipped": extracted.failures,
        "best_epoch": result.best_epoch,
        "best_val_accuracy": result.best_val_accuracy,
        "epochs_run": len(result.history),
        "model_dir": str(Path(out) / "final"),
    }
    write_json_atomic(Path(out) / "summary.json", summary)
    return summary
