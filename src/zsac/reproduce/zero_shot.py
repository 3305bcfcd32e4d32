"""One zero-shot fold: choose λ on the validation classes, then classify the test clips among the test classes.

With clips of the seen classes held out of every fit, the fold is also evaluated in the
*generalised* setting, where seen and unseen classes compete (Xian et al.'s GBU protocol): the
held-out seen clips and the test clips are ranked among the seen and the test classes together.
Calibrated stacking (Chao et al. 2016) subtracts γ from the seen classes' scores; γ is chosen on
the validation fold, by the harmonic mean H of the model that λ was chosen with, and applied to
the test fold unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..compatibility.base import CompatibilityLearner, label_matrix
from ..compatibility.selection import PAPER_LAMBDA_GRID, select_lambda, stack_labels
from ..errors import DataError
from ..evaluation import (
    best_calibration,
    generalized_zero_shot_accuracy,
    mean_average_precision,
    per_class_top1_accuracy,
    seen_unseen_curve,
    seen_unseen_curve_area,
    top1_accuracy,
    true_class_ranks,
)
from ..protocols import ClassSplit

__all__ = ["FoldOutcome", "evaluate_split", "CURVE_POINTS", "unseen_at_seen", "gzsl_record"]

#: The seen–unseen curve of a fold is kept as its unseen accuracy at this many seen accuracies
#: 0, 0.01, ..., 1: enough for a smooth figure, and the same points in every fold so that
#: folds can be averaged.
CURVE_POINTS = 101


@dataclasses.dataclass
class FoldOutcome:
    """What :func:`evaluate_split` returns.

    Attributes
    ----------
    lam : float
        The chosen λ.
    validation_top1 : dict of float to float
        Zero-shot Top-1 on the validation classes for each λ of the grid.
    top1, map : float
        Test metrics over the test clips, ranked among the test classes only.
    n_classes, n_clips : int
        Test classes and test clips.
    predictions : pd.DataFrame
        One row per test clip: ``clip``, ``true``, ``predicted``, ``true_rank`` (1 = top) and ``correct``.
    seconds : float
        Wall time of λ selection, refit and prediction.
    top1_per_class : float or None
        Test Top-1 averaged per class (each test class counts once).
    gzsl : dict of str to float, or None
        Generalised zero-shot results on the held-out seen clips and the test clips (None
        without held-out clips): per-class ``seen`` (S) and ``unseen`` (U) accuracy and their
        harmonic mean ``h`` at the calibration ``gamma`` chosen on the validation fold; the same
        three uncalibrated (``*_uncalibrated``, γ = 0); ``ausuc``, the area under the
        seen–unseen curve; ``seen_clips``, the held-out seen clips tested.
    gzsl_curve : list of float or None
        The best unseen accuracy reachable at seen accuracy ≥ k / (CURVE_POINTS − 1), for k = 0 ..
        CURVE_POINTS − 1 (:func:`unseen_at_seen`).
    """

    lam: float
    validation_top1: dict[float, float]
    top1: float
    map: float
    n_classes: int
    n_clips: int
    predictions: pd.DataFrame
    seconds: float
    top1_per_class: float | None = None
    gzsl: dict[str, float] | None = None
    gzsl_curve: list[float] | None = None

    def record_fields(self) -> dict[str, Any]:
        """This outcome's part of a fold record (:class:`~zsac.reproduce.records.FoldRecord`)."""
        return {
            "top1": self.top1,
            "map": self.map,
            "n_classes": self.n_classes,
            "n_clips": self.n_clips,
            "lambda": self.lam,
            "validation_top1": {str(k): v for k, v in self.validation_top1.items()},
            "seconds": self.seconds,
            "top1_per_class": self.top1_per_class,
            **({"gzsl": self.gzsl, "gzsl_curve": self.gzsl_curve} if self.gzsl else {}),
        }


def unseen_at_seen(seen: np.ndarray, unseen: np.ndarray, *, points: int = CURVE_POINTS) -> np.ndarray:
    """The seen–unseen curve sampled at fixed seen accuracies.

    Parameters
    ----------
    seen, unseen : np.ndarray [shape=(n_points,)]
        A curve of :func:`~zsac.evaluation.seen_unseen_curve`.
    points : int

    Returns
    -------
    np.ndarray [shape=(points,)]
        At seen accuracy s = k / (points − 1), the highest unseen accuracy of a calibration whose
        seen accuracy is at least s; 0 where no calibration reaches s.
    """
    targets = np.linspace(0.0, 1.0, points)
    seen = np.asarray(seen, dtype=np.float64)
    unseen = np.asarray(unseen, dtype=np.float64)
    # A tiny tolerance: a per-class mean that should be exactly k/(points-1) may round below it.
    reach = seen[None, :] >= targets[:, None] - 1e-12
    return np.where(reach, unseen[None, :], 0.0).max(axis=1)


def _rows_of(
    classes: Sequence[Hashable], clip_classes: np.ndarray, what: str, *, keep: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the clips of ``classes`` (among those ``keep`` marks) and each one's position in ``classes``."""
    position = {c: k for k, c in enumerate(classes)}
    chosen = np.array([c in position for c in clip_classes], dtype=bool)
    if keep is not None:
        chosen &= keep
    clips = np.flatnonzero(chosen)
    if clips.size == 0:
        raise DataError(f"no clips of the {what} classes {list(classes)[:5]}...")
    return clips, np.array([position[c] for c in clip_classes[clips]], dtype=np.int64)


def _extra_rows(
    split: ClassSplit, extra: tuple[np.ndarray, Sequence[Sequence[Hashable]]], acoustic_dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """The extra training clips' embeddings and their indicator rows over ``split.train``, checked."""
    extra_acoustic, extra_labels = extra
    extra_acoustic = np.asarray(extra_acoustic)
    extra_labels = list(extra_labels)
    if extra_acoustic.ndim != 2 or extra_acoustic.shape != (len(extra_labels), acoustic_dim):
        raise DataError(
            f"extra training embeddings of shape {extra_acoustic.shape} do not match {len(extra_labels)} clips "
            f"of dimension {acoustic_dim}"
        )
    column = {c: k for k, c in enumerate(split.train)}
    unseen = set(split.validation) | set(split.test)
    rows = np.zeros((len(extra_labels), len(split.train)), dtype=bool)
    for index, labels in enumerate(extra_labels):
        labels = list(labels)
        if not labels:
            raise DataError(f"extra training clip {index} has no label")
        for label in labels:
            if label not in column:
                # Refused, never dropped: silently dropping a validation or test label would still
                # train on that class's sound.
                kind = "a validation or test" if label in unseen else "a non-training"
                raise DataError(f"extra training clip {index} carries {kind} class {label!r}; only training classes")
            rows[index, column[label]] = True
    return extra_acoustic, rows


def evaluate_split(
    split: ClassSplit,
    acoustic: np.ndarray,
    clip_classes: Sequence[Hashable],
    class_embeddings: Mapping[Hashable, np.ndarray],
    *,
    clip_ids: Sequence[str] | None = None,
    class_names: Mapping[Hashable, str] | None = None,
    estimator: CompatibilityLearner | None = None,
    grid: Sequence[float] | None = PAPER_LAMBDA_GRID,
    held_out: np.ndarray | None = None,
    extra_training: tuple[np.ndarray, Sequence[Sequence[Hashable]]] | None = None,
) -> FoldOutcome:
    """Run one fold of a class-split protocol on fixed acoustic embeddings.

    λ is chosen by zero-shot Top-1 on ``split.validation`` with the model trained on
    ``split.train``; with ``split.refit`` the chosen λ is retrained on train + validation.
    Test clips are ranked among ``split.test`` classes only (zero-shot). With ``held_out``
    clips, the fold is also evaluated in the generalised setting (see the module docstring).

    Parameters
    ----------
    split : ClassSplit
    acoustic : np.ndarray [shape=(n_clips, acoustic_dim)]
        Clip embeddings θ(x) of every clip; clips of classes outside the split are ignored.
    clip_classes : sequence of hashable [shape=(n_clips,)]
        Class of each clip, in the split's class vocabulary.
    class_embeddings : mapping of class to np.ndarray [shape=(semantic_dim,)]
        φ(z) of every class in the split.
    clip_ids : sequence of str, optional
        Names of the clips for the predictions table (default: their indices).
    class_names : mapping of class to str, optional
        Display names for the predictions table (default: ``str(class)``).
    estimator : CompatibilityLearner, optional
        The learner and its settings; its ``lam`` is replaced by the chosen one (default: ``Bilinear()``).
    grid : sequence of float or None
        The values of ``lam`` (default: the paper's λ grid; None: the learner's own grid).
    held_out : np.ndarray [shape=(n_clips,), dtype=bool], optional
        Clips of seen classes kept out of every fit (e.g. :func:`~zsac.protocols.seen_class_holdout`),
        tested in the generalised setting. Marks on clips of validation or test classes are ignored
        where those classes are unseen.
    extra_training : (np.ndarray [shape=(n_extra, acoustic_dim)], sequence of sequence of hashable), optional
        More training clips, e.g. the release's multi-label clips: their embeddings and each
        one's labels, in the split's class vocabulary. Every label must be a class of
        ``split.train``: a clip with any other class (a validation or test class above all) is
        refused, so it can never leak an unseen class into a fit. They join every fit, λ
        selection and refit alike, as rows of a multi-label indicator matrix; they are never
        tested.

    Returns
    -------
    FoldOutcome
    """
    started = time.perf_counter()
    clip_classes = np.asarray(list(clip_classes), dtype=object)
    acoustic = np.asarray(acoustic)
    if acoustic.ndim != 2 or acoustic.shape[0] != clip_classes.shape[0]:
        raise DataError(f"acoustic embeddings of shape {acoustic.shape} do not match {clip_classes.shape[0]} clips")
    held = np.zeros(clip_classes.shape[0], dtype=bool) if held_out is None else np.asarray(held_out, dtype=bool)
    if held.shape != clip_classes.shape:
        raise DataError(f"held_out has shape {held.shape}, expected ({clip_classes.shape[0]},) like the clips")
    missing = [c for c in (*split.seen, *split.test) if c not in class_embeddings]
    if missing:
        raise DataError(f"no class embedding for the classes {missing[:10]}")

    def matrix(classes: Sequence[Hashable]) -> np.ndarray:
        return np.stack([np.asarray(class_embeddings[c], dtype=np.float32) for c in classes])

    train_clips, train_labels = _rows_of(split.train, clip_classes, "training", keep=~held)
    val_clips, val_labels = _rows_of(split.validation, clip_classes, "validation")
    test_clips, test_labels = _rows_of(split.test, clip_classes, "test")
    train_acoustic = acoustic[train_clips]
    if extra_training is not None:
        extra_acoustic, extra_labels = _extra_rows(split, extra_training, acoustic.shape[1])
        train_acoustic = np.concatenate([train_acoustic, extra_acoustic.astype(acoustic.dtype, copy=False)])
        train_labels = np.concatenate([label_matrix(train_labels, len(train_labels), len(split.train)), extra_labels])
    selection = select_lambda(
        train_acoustic, train_labels, matrix(split.train),
        acoustic[val_clips], val_labels, matrix(split.validation),
        estimator=estimator, grid=grid, refit=False,
    )  # fmt: skip
    model = selection.model
    if split.refit:
        # The chosen λ again on every seen class; held-out clips of validation classes stay out.
        refit_clips, refit_labels = _rows_of(split.validation, clip_classes, "validation", keep=~held)
        model = copy.deepcopy(selection.model)
        model.fit(
            np.concatenate([train_acoustic, acoustic[refit_clips]]),
            stack_labels(train_labels, len(split.train), refit_labels, len(split.validation)),
            np.concatenate([matrix(split.train), matrix(split.validation)]),
        )
    scores = model.decision_function(acoustic[test_clips], matrix(split.test))
    predicted = scores.argmax(axis=1)
    names = [str(c) if class_names is None else class_names[c] for c in split.test]
    ids = [str(i) for i in test_clips] if clip_ids is None else [str(clip_ids[i]) for i in test_clips]
    predictions = pd.DataFrame(
        {
            "clip": ids,
            "true": [names[k] for k in test_labels],
            "predicted": [names[k] for k in predicted],
            "true_rank": true_class_ranks(scores, test_labels),
            "correct": predicted == test_labels,
        }
    )
    gzsl = curve = None
    seen = split.seen if split.refit else split.train
    if held.any() and np.isin(clip_classes[held], list(seen)).any():
        gzsl, curve = _generalized(
            selection.model, model, split, seen, acoustic, clip_classes, held, matrix,
            (val_clips, val_labels), (test_clips, test_labels),
        )  # fmt: skip
    return FoldOutcome(
        lam=selection.lam,
        validation_top1=selection.validation_top1,
        top1=top1_accuracy(scores, test_labels),
        map=mean_average_precision(scores, test_labels),
        n_classes=len(split.test),
        n_clips=int(test_clips.size),
        predictions=predictions,
        seconds=time.perf_counter() - started,
        top1_per_class=per_class_top1_accuracy(scores, test_labels),
        gzsl=gzsl,
        gzsl_curve=curve,
    )


def _generalized(
    selection_model: CompatibilityLearner,
    model: CompatibilityLearner,
    split: ClassSplit,
    seen: Sequence[Hashable],
    acoustic: np.ndarray,
    clip_classes: np.ndarray,
    held: np.ndarray,
    matrix: Any,
    validation: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
) -> tuple[dict[str, float], list[float]]:
    """S, U, H (calibrated on the validation fold and not), AUSUC and the sampled curve of one fold."""

    def ranked_together(
        fitted: CompatibilityLearner,
        seen_classes: Sequence[Hashable],
        unseen_classes: Sequence[Hashable],
        unseen: tuple[np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        seen_clips, seen_labels = _rows_of(seen_classes, clip_classes, "held-out seen", keep=held)
        clips = np.concatenate([seen_clips, unseen[0]])
        labels = np.concatenate([seen_labels, unseen[1] + len(seen_classes)])
        classes = np.concatenate([matrix(seen_classes), matrix(unseen_classes)])
        mask = np.arange(len(classes)) < len(seen_classes)
        return fitted.decision_function(acoustic[clips], classes), labels, mask

    # γ is chosen with the model λ was chosen with: trained on split.train, blind to the validation classes.
    scores, labels, mask = ranked_together(selection_model, split.train, split.validation, validation)
    gamma = best_calibration(scores, labels, mask).calibration
    scores, labels, mask = ranked_together(model, seen, split.test, test)
    return gzsl_record(scores, labels, mask, gamma=gamma)


def gzsl_record(
    scores: np.ndarray, labels: np.ndarray, seen_mask: np.ndarray, *, gamma: float
) -> tuple[dict[str, float], list[float]]:
    """A fold record's generalised zero-shot figures: S, U, H at ``gamma`` and at 0, AUSUC, and the curve.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_clips, n_classes)]
        Seen and unseen classes ranked together.
    labels : np.ndarray [shape=(n_clips,)], int
    seen_mask : np.ndarray [shape=(n_classes,)], bool
    gamma : float
        The calibration to report at.

    Returns
    -------
    record : dict
        ``seen``, ``unseen``, ``h``, ``gamma``, the same at γ = 0 (``*_uncalibrated``), ``ausuc``, ``seen_clips``.
    curve : list of float
        Unseen accuracy at seen accuracy 0, 0.01, ..., 1 (:func:`unseen_at_seen`).
    """
    calibrated = generalized_zero_shot_accuracy(scores, labels, seen_mask, calibration=gamma)
    plain = generalized_zero_shot_accuracy(scores, labels, seen_mask)
    curve = seen_unseen_curve(scores, labels, seen_mask)
    record = {
        "seen": calibrated.seen,
        "unseen": calibrated.unseen,
        "h": calibrated.harmonic_mean,
        "gamma": float(gamma),
        "seen_uncalibrated": plain.seen,
        "unseen_uncalibrated": plain.unseen,
        "h_uncalibrated": plain.harmonic_mean,
        "ausuc": seen_unseen_curve_area(curve),
        "seen_clips": float(np.count_nonzero(seen_mask[labels])),
    }
    return record, [float(u) for u in unseen_at_seen(curve.seen, curve.unseen)]
