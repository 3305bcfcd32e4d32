"""``zsac train``: a zero-shot classifier trained on a folder dataset."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._atomic import output_lock
from .._settings import settings_of
from ..checkpoint import check_model_target
from ..classifier import ZeroShotClassifier
from ..datasets.folder import dataset_clips
from ..evaluation import near_chance
from ._common import dataset_class_texts, feature_cache
from ._options import (
    add_cache_options,
    add_class_subset_options,
    add_settings,
    report_failures,
    semantic_settings,
    vggish_settings,
)

__all__ = ["run_train", "add_arguments", "report", "warn_near_chance"]

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
        Summary: classes, clip counts, skipped files, λ; the two figures the report prints
        next to their chance levels, the held-out-class zero-shot Top-1 of the class
        cross-validation (``class_fold_top1``, ``class_fold_chance``) and VGGish's best
        validation accuracy (``best_val_accuracy``, ``val_chance``); the calibration γ and
        its cross-validation figures (``calibration``, ``calibration_scores``); whether the
        model's scores are near-constant (``degenerate``). Figures near chance are warned
        about (:func:`warn_near_chance`).
    """
    ZeroShotClassifier.check_param_names(params)
    data, out = Path(data), Path(out)
    # Before any audio work: -o must be a model folder, an empty folder or a new name, and no other
    # zsac run may be writing it (the lock is held until the model is saved).
    check_model_target(out)
    with output_lock(out):
        return _train(data=data, out=out, classes_file=classes_file, ontology=ontology, train_classes=train_classes,
                      exclude_classes=exclude_classes, cache_dir=cache_dir, use_cache=use_cache, progress=progress,
                      params=params)  # fmt: skip


def _train(
    *,
    data: Path,
    out: Path,
    classes_file: str | os.PathLike[str] | None,
    ontology: str | os.PathLike[str] | None,
    train_classes: Sequence[str] | None,
    exclude_classes: Sequence[str] | None,
    cache_dir: str | os.PathLike[str] | None,
    use_cache: bool,
    progress: bool,
    params: dict[str, Any],
) -> dict[str, Any]:
    clips, _ = dataset_clips(data, classes=train_classes, exclude_classes=exclude_classes)
    names = sorted({clip.label for clip in clips})
    class_texts = dataset_class_texts(data, names, classes_file=classes_file, ontology=ontology)
    absolute = Path(os.path.abspath(out))  # "-o ." has no name of its own
    partial = absolute.with_name(absolute.name + ".partial")
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
    summary = {
        "classes": list(classifier.classes_),
        "n_clips": len(clips) - len(classifier.fit_failures_),
        "skipped": classifier.fit_failures_,
        "lambda": classifier.lambda_,
        "lambda_scores": classifier.lambda_scores_,
        "class_fold_top1": classifier.class_fold_top1_,
        "class_fold_chance": classifier.class_fold_chance_,
        "best_val_accuracy": max((h["val_accuracy"] for h in history), default=None),
        "val_chance": 1.0 / len(classifier.classes_),
        "calibration": classifier.calibration_,
        "calibration_scores": classifier.calibration_scores_,
        "degenerate": classifier.degenerate_,
        "epochs_run": len(history),
        "int8": classifier.quantization_,
        "out": str(out),
    }
    warn_near_chance(summary)
    return summary


def warn_near_chance(summary: dict[str, Any]) -> list[str]:
    """Log a warning for each of the summary's two figures that is near its chance level.

    "Near chance" is :func:`zsac.evaluation.near_chance`. The warnings say what to do.

    Returns
    -------
    list of str
        The figures warned about: ``class_fold_top1`` and/or ``best_val_accuracy``.
    """
    warned = []
    top1, chance = summary["class_fold_top1"], summary["class_fold_chance"]
    if top1 is not None and near_chance(top1, chance):
        logger.warning(
            "held-out-class zero-shot Top-1 is %.3f, near chance (%.3f): this model will barely recognise new "
            "classes; train with more clips per class, more epochs (--max-epochs) or more classes (see README, "
            "zsac train)",
            top1,
            chance,
        )
        warned.append("class_fold_top1")
    accuracy, chance = summary["best_val_accuracy"], summary["val_chance"]
    if accuracy is not None and near_chance(accuracy, chance):
        logger.warning(
            "VGGish's validation accuracy is %.3f, near chance (%.3f): the acoustic model learned little; train "
            "with more clips per class or more epochs (--max-epochs, --patience) (see README, zsac train)",
            accuracy,
            chance,
        )
        warned.append("best_val_accuracy")
    return warned


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``zsac train``: the classifier's settings, generated from their homes."""
    parser.add_argument(
        "--data", required=True, help="folder with one subfolder of audio files per class (or an ESC-50 root)"
    )
    parser.add_argument("-o", "--out", required=True, help="model folder to write")
    parser.add_argument("--classes-file", help="class descriptions (default: DATA/classes.csv when present)")
    parser.add_argument("--ontology", help="AudioSet ontology.json: descriptions for the classes of an ESC-50 root")
    add_class_subset_options(parser)
    settings = settings_of(ZeroShotClassifier)
    add_settings(parser, settings, [*semantic_settings(), "acoustic_model", *vggish_settings()])
    add_settings(
        parser, settings,
        ["lam", "lambda_grid", "solver", "max_iter", "calibration", "quantize", "pad_short", "seed", "device"],
    )  # fmt: skip
    add_cache_options(parser, "feature")


def report(summary: dict[str, Any], args: argparse.Namespace) -> int:
    """Print what :func:`run_train` did, with its figures next to chance; the exit code (1 when files were skipped)."""
    lines = [
        f"trained on {len(summary['classes'])} classes, {summary['n_clips']} clips; λ={summary['lambda']:g}; "
        f"model in {summary['out']}"
    ]
    top1 = summary["class_fold_top1"]
    if top1 is None:
        lines.append("held-out-class zero-shot Top-1: not measured (needs at least 4 training classes)")
    else:
        lines.append(
            f"held-out-class zero-shot Top-1 {top1:.3f} (chance {summary['class_fold_chance']:.3f}), "
            "by class-split cross-validation"
        )
    accuracy = summary["best_val_accuracy"]
    if accuracy is not None:
        lines.append(f"VGGish validation accuracy {accuracy:.3f} (chance {summary['val_chance']:.3f})")
    scores = summary["calibration_scores"]
    line = f"calibration γ={summary['calibration']:.3g}"
    if scores:
        learnt = "learnt" if summary["calibration"] == scores["gamma"] else f"learnt γ={scores['gamma']:.3g}"
        line += (
            f" ({learnt}); training and held-out classes ranked together, cross-validated: "
            f"H {scores['harmonic_mean']:.3f} (seen {scores['seen']:.3f}, unseen {scores['unseen']:.3f}) at the "
            f"learnt γ, H {scores['harmonic_mean_at_0']:.3f} at γ=0"
        )
    lines.append(line)
    sys.stdout.write("\n".join(lines) + "\n")
    return report_failures(summary["skipped"], "files were")
