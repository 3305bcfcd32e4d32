"""``zsac evaluate``: how well zero-shot classification works on your own data, by class-split cross-validation."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .._atomic import output_lock
from .._settings import settings_of
from ..classifier import ZeroShotClassifier
from ..datasets.folder import dataset_clips
from ..errors import ConfigError
from ..protocols import SEEN_HOLDOUT_FRACTION
from ..reproduce.cross_validation import (
    DEFAULT_FOLDS,
    EvaluationResult,
    check_folds,
    check_results_target,
    cross_validate,
)
from ._common import dataset_class_texts, feature_cache
from ._options import add_cache_options, add_settings, parse_word, report_failures, semantic_settings, vggish_settings

__all__ = ["run_evaluate", "add_arguments", "report"]


#: Classifier parameters that are not options of ``zsac evaluate``: where a run keeps its files and
#: what it shows (set by the command), and the softmax temperature, which changes no ranking.
_NOT_OPTIONS = ("checkpoint_dir", "feature_cache", "progress", "temperature")


def _parse_folds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"expected a whole number of class folds, at least 2; got {text!r}") from None
    if value < 2:
        raise ConfigError(f"expected a whole number of class folds, at least 2; got {text!r}")
    return value


def _parse_fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise ConfigError(f"expected a number in [0, 1), got {text!r}")
    return value


def run_evaluate(
    *,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    folds: int = DEFAULT_FOLDS,
    seen_holdout: float = SEEN_HOLDOUT_FRACTION,
    classes_file: str | os.PathLike[str] | None = None,
    ontology: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    progress: bool = True,
    **params: Any,
) -> EvaluationResult:
    """Class-split cross-validation of ``zsac train``'s classifier on a dataset; see ``zsac evaluate --help``.

    ``data`` holds one subfolder of audio files per class (or is an ESC-50 root); class
    descriptions come from ``classes_file``, else ``data/classes.csv``, else ``ontology`` for
    ESC-50, as for ``zsac train``. ``params`` are :class:`~zsac.ZeroShotClassifier` parameters,
    the ``zsac train`` options; ``seed`` also draws the class folds and the held-out clips.
    The work is :func:`zsac.reproduce.cross_validation.cross_validate`.

    Returns
    -------
    EvaluationResult
    """
    ZeroShotClassifier.check_param_names(params)
    data, out = Path(data), Path(out)
    classifier = ZeroShotClassifier(**params, feature_cache=feature_cache(cache_dir, use_cache), progress=progress)
    classifier._check_params()  # before the dataset is listed or the folder touched
    check_results_target(out)
    with output_lock(out):  # one zsac run at a time writes a results folder
        return _evaluate(classifier, data=data, out=out, folds=folds, seen_holdout=seen_holdout,
                         classes_file=classes_file, ontology=ontology, progress=progress)  # fmt: skip


def _evaluate(
    classifier: ZeroShotClassifier,
    *,
    data: Path,
    out: Path,
    folds: int,
    seen_holdout: float,
    classes_file: str | os.PathLike[str] | None,
    ontology: str | os.PathLike[str] | None,
    progress: bool,
) -> EvaluationResult:
    clips, names = dataset_clips(data)
    check_folds(folds, len(names))  # before any warning about the class texts: this one ends the run
    class_texts = dataset_class_texts(data, names, classes_file=classes_file, ontology=ontology)
    return cross_validate(
        classifier, [clip.path for clip in clips], [clip.label for clip in clips], out=out, n_folds=folds,
        holdout=seen_holdout, class_texts=class_texts, clip_ids=[_clip_id(clip.path, data) for clip in clips],
        data=str(data), progress=progress,
    )  # fmt: skip


def _clip_id(path: Path, data: Path) -> str:
    """A clip's path within the dataset (``dog/1.wav``, ``audio/1-100032-A-0.wav``)."""
    try:
        return Path(path).relative_to(data).as_posix()
    except ValueError:
        return str(path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``zsac evaluate``: the folds, and ``zsac train``'s classifier settings from their homes."""
    parser.add_argument(
        "--data", required=True, help="folder with one subfolder of audio files per class (or an ESC-50 root)"
    )
    parser.add_argument("-o", "--out", required=True, help="results folder to write (a rerun skips finished folds)")
    parser.add_argument(
        "--folds", type=parse_word(_parse_folds), default=DEFAULT_FOLDS, metavar="K",
        help=f"class folds: each is held out in turn (default: {DEFAULT_FOLDS})",
    )  # fmt: skip
    parser.add_argument(
        "--seen-holdout", type=parse_word(_parse_fraction), default=SEEN_HOLDOUT_FRACTION, metavar="FRACTION",
        help="share of each training class's clips held out of the fit for the generalised test; 0 turns it off "
        f"(default: {SEEN_HOLDOUT_FRACTION})",
    )  # fmt: skip
    parser.add_argument("--classes-file", help="class descriptions (default: DATA/classes.csv when present)")
    parser.add_argument("--ontology", help="AudioSet ontology.json: descriptions for the classes of an ESC-50 root")
    settings = settings_of(ZeroShotClassifier)
    first = [*semantic_settings(), "acoustic_model", *vggish_settings()]
    rest = [name for name in settings if name not in first and name not in _NOT_OPTIONS]
    add_settings(parser, settings, [*first, *rest])
    add_cache_options(parser, "feature")


def report(result: EvaluationResult, args: argparse.Namespace) -> int:
    """Print the mean ± std over the folds and where the results are; the exit code (1 when clips were skipped)."""
    summary = result.summary
    n_folds = int(summary["n_folds"])
    lines = [f"{result.ran} folds computed, {result.skipped} already finished"]
    lines.append(f"{'':<22}{'mean':>7}{'std':>8}   over {n_folds} class folds")
    names = [("zero-shot Top-1", "top1"), ("zero-shot mAP", "map"), ("generalised S", "gzsl.seen"),
             ("generalised U", "gzsl.unseen"), ("generalised H", "gzsl.h"), ("H at γ=0", "gzsl.h_uncalibrated"),
             ("AUSUC", "gzsl.ausuc")]  # fmt: skip
    for label, metric in names:
        mean = summary.get(f"{metric}_mean")
        if mean is not None and mean == mean:
            lines.append(f"{label:<22}{mean:>7.3f}{summary[f'{metric}_std']:>8.3f}")
    lines.append(f"tables: {Path(result.out) / 'tables.md'}; figures: {Path(result.out) / 'plots'}")
    sys.stdout.write("\n".join(lines) + "\n")
    return report_failures(result.skipped_clips, "files were")
