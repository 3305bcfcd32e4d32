"""``zsac train``: a zero-shot classifier trained on a folder dataset."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..classifier import ZeroShotClassifier
from ..datasets.folder import dataset_clips
from ..semantic.side_info import esc50_class_info, read_class_file
from ._common import feature_cache

__all__ = ["run_train"]

logger = logging.getLogger(__name__)


def run_train(
    *,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    classes_file: str | os.PathLike[str] | None = None,
    ontology: str | os.PathLike[str] | None = None,
    train_classes: Sequence[str] | None = None,
    exclude_classes: Sequence[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    progress: bool = True,
    **params: Any,
) -> dict[str, Any]:
    """Train a :class:`~zsac.ZeroShotClassifier` on a folder dataset and save it; see ``zsac train --help``.

    ``data`` holds one subfolder of audio files per class (or is an ESC-50 root). Class
    descriptions come from ``classes_file``, else from ``data/classes.csv`` when present
    (columns ``name`` and ``description``), else from ``ontology`` for ESC-50; a class
    without one is embedded from its name. ``params`` are ZeroShotClassifier parameters.
    VGGish checkpoints go to ``<out>.partial/`` so that an interrupted run resumes; it is
    removed once the model is saved.

    Returns
    -------
    dict
        Summary: classes, clip counts, skipped files, λ, VGGish's best validation accuracy.
    """
    ZeroShotClassifier.check_param_names(params)
    data, out = Path(data), Path(out)
    clips, _ = dataset_clips(data, classes=train_classes, exclude_classes=exclude_classes)
    names = sorted({clip.label for clip in clips})
    if classes_file is None and (data / "classes.csv").is_file():
        classes_file = data / "classes.csv"
    class_texts = None
    if classes_file is not None:
        listed = {info.name: info for info in read_class_file(classes_file, ontology=ontology)}
        class_texts = [listed[name] for name in names if name in listed]
        unlisted = [name for name in names if name not in listed]
        if unlisted:
            logger.warning("%s does not describe %s; their names stand in", classes_file, unlisted)
    elif ontology is not None and (data / "meta" / "esc50.csv").is_file():
        class_texts = esc50_class_info(names, ontology=ontology)
    partial = out.with_name(out.name + ".partial")
    classifier = ZeroShotClassifier(
        **params,
        checkpoint_dir=partial / "acoustic",
        feature_cache=feature_cache(cache_dir, use_cache),
        progress=progress,
    )
    classifier.fit([clip.path for clip in clips], [clip.label for clip in clips], class_texts, skip_errors=True)
    classifier.save(out)
    shutil.rmtree(partial, ignore_errors=True)
    history = classifier.acoustic_history_
    return {
        "classes": list(classifier.classes_),
        "n_clips": len(clips) - len(classifier.fit_failures_),
        "skipped": classifier.fit_failures_,
        "lambda": classifier.lambda_,
        "lambda_scores": classifier.lambda_scores_,
        "best_val_accuracy": max((h["val_accuracy"] for h in history), default=None),
        "epochs_run": len(history),
        "int8": classifier.quantization_,
        "out": str(out),
    }
