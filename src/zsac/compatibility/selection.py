"""Choosing λ on held-out classes (paper Section IV-B, after eq. 9).

- :func:`select_lambda`: the paper's way, one split into training and validation classes;
- :func:`select_lambda_by_class_folds`: class-split cross-validation over the training
  classes, for when there is no separate validation fold (a user's own classes).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..evaluation import (
    mean_average_precision,
    seen_unseen_accuracy,
    seen_unseen_curve,
    true_class_ranks,
)
from ..protocols import SEEN_HOLDOUT_FRACTION, random_class_folds, seen_class_holdout
from .base import CompatibilityLearner, label_matrix
from .bilinear import Bilinear

__all__ = [
    "PAPER_LAMBDA_GRID",
    "LambdaSelection",
    "select_lambda",
    "ClassFoldSelection",
    "select_lambda_by_class_folds",
    "MIN_CLASSES_FOR_CLASS_FOLDS",
    "DEGENERATE_SPREAD",
    "score_spread",
    "warn_if_degenerate",
    "resolve_grid",
    "stack_labels",
    "class_folds",
    "class_fold_chance",
    "CalibrationSelection",
    "select_calibration_by_class_folds",
]

logger = logging.getLogger(__name__)

PAPER_LAMBDA_GRID = (0.0, 0.01, 1.0, 10.0)  # Section IV-B
#: Class-split cross-validation holds out at least 2 classes per fold and trains on at least 2.
MIN_CLASSES_FOR_CLASS_FOLDS = 4
#: At most this many class folds: 5-fold cross-validation, as the paper's ESC-50 protocol.
MAX_CLASS_FOLDS = 5
#: A model whose compatibilities differ across the classes by less than this fraction of the
#: margin Δ, on the median clip, has collapsed under λ: WARP trains score gaps of the order
#: of Δ (eq. 8), so such a model's probabilities are flat (1/K ± a hair) and any Top-1 it gets
#: comes from the order in which ties are broken, not from what it learned.
DEGENERATE_SPREAD = 1e-3


def score_spread(scores: np.ndarray) -> float:
    """The median over clips of (highest − lowest) compatibility across the classes.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_clips, n_classes)]

    Returns
    -------
    float
        0 for a model that gives every class the same score.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return 0.0
    return float(np.median(scores.max(axis=1) - scores.min(axis=1)))


def _is_degenerate(scores: np.ndarray, margin: float | None) -> bool:
    # Only a margin loss collapses to flat scores under a large λ (CompatibilityLearner.score_margin).
    return margin is not None and score_spread(scores) < DEGENERATE_SPREAD * margin


def warn_if_degenerate(model: Bilinear, acoustic: np.ndarray, class_embeddings: np.ndarray) -> bool:
    """Log a warning when ``model``'s compatibilities are nearly the same for every class.

    Parameters
    ----------
    model : Bilinear
        Fitted.
    acoustic : np.ndarray [shape=(n_clips, acoustic_dim)]
    class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]

    Returns
    -------
    bool
        Whether the model is degenerate (its score spread is below ``DEGENERATE_SPREAD × Δ``).
    """
    scores = model.decision_function(acoustic, class_embeddings)
    degenerate = _is_degenerate(scores, model.score_margin)
    if degenerate:
        spread = score_spread(scores)
        logger.warning(
            "the bilinear model (λ=%g) gives nearly the same score to every class (median spread %.2g, margin Δ=%g), "
            "so its probabilities are flat and its predictions arbitrary; use a smaller λ (lam=...) or more data",
            model.lam,
            spread,
            model.delta,
        )
    return degenerate


def _validation_scores(
    model: CompatibilityLearner, acoustic: np.ndarray, labels: np.ndarray, classes: np.ndarray
) -> tuple[float, float, bool]:
    """Top-1 with ties counted as misses, mAP, and whether the model's scores are near-constant."""
    scores = model.decision_function(acoustic, classes)
    # Ties counted as misses (rank 1 only when strictly highest): argmax's tie order gives a
    # model with constant scores the Top-1 of whichever class comes first.
    top1 = float(np.mean(true_class_ranks(scores, labels) == 1))
    return top1, mean_average_precision(scores, labels), _is_degenerate(scores, model.score_margin)


def resolve_grid(grid: Sequence[float] | None, estimator: CompatibilityLearner) -> list[float]:
    """``grid`` as a list of floats, or the learner's :attr:`~CompatibilityLearner.default_grid` when None.

    Raises
    ------
    ConfigError
        When the values are not distinct numbers >= 0, or there are none.
    """
    values = [float(lam) for lam in (type(estimator).default_grid if grid is None else grid)]
    if not values or any(not lam >= 0 for lam in values) or len(set(values)) != len(values):
        raise ConfigError(f"the λ grid must be distinct numbers >= 0, got {values}")
    return values


def stack_labels(first: np.ndarray, n_first_classes: int, second: np.ndarray, n_second_classes: int) -> np.ndarray:
    """Labels of two sets of clips whose classes are stacked (the second's after the first's).

    Integer labels stay integers; if either side is a multi-label indicator matrix, the result is
    the block-diagonal indicator matrix.

    Returns
    -------
    np.ndarray [shape=(n_first + n_second,)] or [shape=(n_first + n_second, n_first_classes + n_second_classes)]
    """
    first, second = np.asarray(first), np.asarray(second)
    if first.ndim == 1 and second.ndim == 1:
        return np.concatenate([first, second + n_first_classes])
    top = label_matrix(first, len(first), n_first_classes)
    bottom = label_matrix(second, len(second), n_second_classes)
    stacked = np.zeros((len(top) + len(bottom), n_first_classes + n_second_classes), dtype=bool)
    stacked[: len(top), :n_first_classes] = top
    stacked[len(top) :, n_first_classes:] = bottom
    return stacked


def _best_lambda(grid: Sequence[float], top1: dict, mean_ap: dict, degenerate: set) -> float:
    # A degenerate model is never chosen while another is left; then Top-1, ties broken by the
    # rank-based mAP, and last by the larger λ (the simpler model).
    return max(grid, key=lambda lam: (lam not in degenerate, top1[lam], mean_ap[lam], lam))


@dataclass(frozen=True)
class LambdaSelection:
    """The outcome of :func:`select_lambda`.

    Attributes
    ----------
    lam : float
        The chosen λ.
    validation_top1 : dict of float to float
        Top-1 accuracy on the validation classes of the model trained with each λ (a tie
        for the highest score counts as a miss).
    validation_map : dict of float to float
        mAP on the validation classes of each λ's model: the tie-breaker.
    degenerate : tuple of float
        The λ whose models gave near-constant scores (see :data:`DEGENERATE_SPREAD`).
    model : CompatibilityLearner
        Fitted with ``lam``: on the training classes, or on training plus validation
        classes when ``refit=True``.
    selection_model : CompatibilityLearner or None
        The model fitted with ``lam`` on the training classes alone, on which λ was judged
        (the same object as ``model`` without a refit).
    """

    lam: float
    validation_top1: dict[float, float]
    model: CompatibilityLearner
    validation_map: dict[float, float] = dataclasses.field(default_factory=dict)
    degenerate: tuple[float, ...] = ()
    selection_model: CompatibilityLearner | None = None


def select_lambda(
    train_acoustic: np.ndarray,
    train_labels: np.ndarray,
    train_classes: np.ndarray,
    validation_acoustic: np.ndarray,
    validation_labels: np.ndarray,
    validation_classes: np.ndarray,
    *,
    estimator: CompatibilityLearner | None = None,
    grid: Sequence[float] | None = PAPER_LAMBDA_GRID,
    refit: bool = False,
    progress: bool = False,
    warn_on_ties: bool = True,
) -> LambdaSelection:
    """Fit one model per λ on the training classes and keep the best on the validation classes.

    Zero-shot validation: the validation clips are classified among the validation
    classes only, which the models never saw. A model whose scores are near-constant
    (:data:`DEGENERATE_SPREAD`) is never chosen while another is left; on equal validation
    Top-1 the higher mAP wins, then the larger λ (the simpler model).

    Parameters
    ----------
    train_acoustic : np.ndarray [shape=(n_train, acoustic_dim)]
    train_labels : np.ndarray [shape=(n_train,), dtype=int] or [shape=(n_train, n_train_classes)]
        Rows of ``train_classes``, or a multi-label indicator matrix (for a learner that takes one).
    train_classes : np.ndarray [shape=(n_train_classes, semantic_dim)]
    validation_acoustic : np.ndarray [shape=(n_validation, acoustic_dim)]
    validation_labels : np.ndarray [shape=(n_validation,), dtype=int]
        Rows of ``validation_classes``.
    validation_classes : np.ndarray [shape=(n_validation_classes, semantic_dim)]
    estimator : CompatibilityLearner, optional
        The learner and its settings (its ``lam`` is ignored); ``Bilinear()`` by default.
    grid : sequence of float or None
        The values of the learner's ``lam``; by default the paper's {0, 0.01, 1, 10}; None for
        the learner's own :attr:`~zsac.compatibility.CompatibilityLearner.default_grid`.
    refit : bool
        Refit the chosen λ on the training and validation classes together (their clips
        and class embeddings stacked), so the final model sees every seen class.
    warn_on_ties : bool
        Log a warning when every λ gives the same validation Top-1. Callers that combine
        several selections (class-split cross-validation) judge ties on the combination instead.
    """
    template = Bilinear() if estimator is None else estimator
    grid = resolve_grid(grid, template)
    validation_labels = np.asarray(validation_labels)
    validation_top1: dict[float, float] = {}
    validation_map: dict[float, float] = {}
    degenerate: set[float] = set()
    models: dict[float, CompatibilityLearner] = {}
    # One decomposition for the whole grid where the learner has one (the closed-form learners).
    path = template.fit_path(train_acoustic, train_labels, train_classes, grid, progress=progress)
    for lam, model in zip(grid, path, strict=True):
        top1, mean_ap, flat = _validation_scores(model, validation_acoustic, validation_labels, validation_classes)
        validation_top1[lam], validation_map[lam] = top1, mean_ap
        if flat:
            degenerate.add(lam)
        models[lam] = model
        logger.debug("λ=%g: validation Top-1 %.4f, mAP %.4f%s (%d iterations)", lam, top1, mean_ap,
                     ", near-constant scores" if flat else "", getattr(model, "n_iter_", 0))  # fmt: skip
    best = _best_lambda(grid, validation_top1, validation_map, degenerate)
    if warn_on_ties and len(grid) > 1 and len({(validation_top1[lam], validation_map[lam]) for lam in grid}) == 1:
        logger.warning(
            "every λ in %s gave validation Top-1 %.4f, so the choice of λ=%g is arbitrary%s",
            grid,
            validation_top1[best],
            best,
            "; the models may be undertrained (raise max_iter or the learning rate)"
            if "max_iter" in template.get_params()
            else " (the validation classes do not tell the values apart)",
        )
    model = models[best]
    if refit:
        n_train_classes = len(np.asarray(train_classes))
        model = copy.deepcopy(template).set_params(lam=best)
        model.fit(
            np.concatenate([np.asarray(train_acoustic), np.asarray(validation_acoustic)]),
            stack_labels(train_labels, n_train_classes, validation_labels, len(np.asarray(validation_classes))),
            np.concatenate([np.asarray(train_classes), np.asarray(validation_classes)]),
        )
    if warn_on_ties and best in degenerate:
        logger.warning(
            "every λ in %s gave near-constant scores on the validation classes; λ=%g is no better", grid, best
        )
    return LambdaSelection(
        lam=best, validation_top1=validation_top1, model=model, validation_map=validation_map,
        degenerate=tuple(sorted(degenerate)), selection_model=models[best],
    )  # fmt: skip


@dataclass(frozen=True)
class ClassFoldSelection:
    """The outcome of :func:`select_lambda_by_class_folds`.

    Attributes
    ----------
    lam : float
        The chosen λ.
    scores : dict of float to float
        Mean held-out-class Top-1 of each λ over the folds (empty when λ could not be chosen).
    folds : list of tuple of int
        The classes (rows of the class embeddings) held out in each fold.
    map_scores : dict of float to float
        Mean held-out-class mAP of each λ: the tie-breaker.
    degenerate : tuple of float
        The λ whose models gave near-constant scores on some fold; never chosen while another is left.
    """

    lam: float
    scores: dict[float, float]
    folds: list[tuple[int, ...]]
    map_scores: dict[float, float] = dataclasses.field(default_factory=dict)
    degenerate: tuple[float, ...] = ()


def class_folds(n_classes: int, *, seed: int) -> list[tuple[int, ...]]:
    """The seeded class folds of class-split cross-validation over ``n_classes`` training classes.

    ``min(5, n_classes // 2)`` folds of rows of the class embeddings
    (:func:`zsac.protocols.random_class_folds`); none with fewer than
    :data:`MIN_CLASSES_FOR_CLASS_FOLDS` classes. λ selection and the calibration share them.

    Returns
    -------
    list of tuple of int
    """
    if n_classes < MIN_CLASSES_FOR_CLASS_FOLDS:
        return []
    folds = random_class_folds(range(n_classes), n_folds=min(MAX_CLASS_FOLDS, n_classes // 2), seed=seed)
    return [tuple(int(c) for c in fold) for fold in folds.values()]


def class_fold_chance(folds: Sequence[Sequence[int]]) -> float | None:
    """Chance Top-1 of the held-out-class classification: the mean over folds of 1 / (classes held out).

    Returns
    -------
    float or None
        None without folds.
    """
    return float(np.mean([1.0 / len(fold) for fold in folds])) if folds else None


def select_lambda_by_class_folds(
    acoustic: np.ndarray,
    labels: np.ndarray,
    class_embeddings: np.ndarray,
    *,
    estimator: CompatibilityLearner | None = None,
    grid: Sequence[float] | None = PAPER_LAMBDA_GRID,
    seed: int = 0,
) -> ClassFoldSelection:
    """λ by class-split cross-validation: each fold's classes are held out and classified zero-shot.

    The classes are dealt into ``min(5, n_classes // 2)`` seeded random folds
    (:func:`zsac.protocols.random_class_folds`). For each fold, one model per λ trains on
    the clips of the other classes and classifies the held-out clips among the held-out
    classes only; the λ with the best mean Top-1 wins (ties: the higher mean mAP, then the
    larger λ), except that a λ whose model gives near-constant scores on any fold
    (:data:`DEGENERATE_SPREAD`) is never chosen while another is left. The held-out
    classes' clips and embeddings never reach the models that are scored on them.

    Parameters
    ----------
    acoustic : np.ndarray [shape=(n_clips, acoustic_dim)]
    labels : np.ndarray [shape=(n_clips,)], int
        Rows of ``class_embeddings``.
    class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]
    estimator : CompatibilityLearner or None
        The learner and its settings (its ``lam`` is ignored); ``Bilinear()`` by default.
    grid : sequence of float or None
        None for the learner's own default grid.
    seed : int
        Seeds the class folds.

    Returns
    -------
    ClassFoldSelection
        With fewer than :data:`MIN_CLASSES_FOR_CLASS_FOLDS` classes, λ = 0.01 (or the grid's
        first value) with a warning and no scores.
    """
    grid = resolve_grid(grid, Bilinear() if estimator is None else estimator)
    labels = np.asarray(labels)
    n_classes = len(class_embeddings)
    if n_classes < MIN_CLASSES_FOR_CLASS_FOLDS:
        fallback = 0.01 if 0.01 in grid else grid[0]
        logger.warning(
            "choosing λ needs at least %d training classes (2 held out per fold); with %d, λ=%g",
            MIN_CLASSES_FOR_CLASS_FOLDS,
            n_classes,
            fallback,
        )
        return ClassFoldSelection(lam=fallback, scores={}, folds=[])
    folds = class_folds(n_classes, seed=seed)
    totals = dict.fromkeys(grid, 0.0)
    map_totals = dict.fromkeys(grid, 0.0)
    degenerate: set[float] = set()
    for held_out in folds:
        held = np.isin(labels, held_out)
        train_classes = np.setdiff1d(np.arange(n_classes), held_out)
        selection = select_lambda(
            acoustic[~held],
            np.searchsorted(train_classes, labels[~held]),
            class_embeddings[train_classes],
            acoustic[held],
            np.searchsorted(np.asarray(held_out), labels[held]),
            class_embeddings[list(held_out)],
            estimator=estimator,
            grid=grid,
            warn_on_ties=False,
        )
        for lam, top1 in selection.validation_top1.items():
            totals[lam] += top1 / len(folds)
            map_totals[lam] += selection.validation_map[lam] / len(folds)
        degenerate.update(selection.degenerate)
    best = _best_lambda(grid, totals, map_totals, degenerate)
    if degenerate:
        logger.info("λ in %s gave near-constant scores on some held-out classes and are not chosen", sorted(degenerate))
    if len(grid) > 1 and len({(totals[lam], map_totals[lam]) for lam in grid}) == 1:
        logger.warning(
            "every λ in %s gave the same held-out-class Top-1 (%.4f) and mAP, so λ=%g is an arbitrary choice; "
            "more training classes or clips would tell them apart",
            grid,
            totals[best],
            best,
        )
    logger.info("λ=%g chosen by held-out-class Top-1 %s", best, {k: round(v, 4) for k, v in totals.items()})
    return ClassFoldSelection(
        lam=best, scores=totals, folds=[tuple(int(c) for c in fold) for fold in folds], map_scores=map_totals,
        degenerate=tuple(sorted(degenerate)),
    )  # fmt: skip


@dataclass(frozen=True)
class CalibrationSelection:
    """The outcome of :func:`select_calibration_by_class_folds`.

    Attributes
    ----------
    gamma : float
        The calibration γ with the best mean harmonic mean H over the folds.
    seen, unseen, harmonic_mean : float
        Mean over the folds of the per-class seen and unseen accuracy and of H, at ``gamma``.
    seen_at_0, unseen_at_0, harmonic_mean_at_0 : float
        The same without calibration (γ = 0).
    zero_shot_top1 : float
        Mean over the folds of the held-out clips' Top-1 among the held-out classes alone
        (ties counted as misses), of the fold models.
    n_folds : int
        The folds that gave a figure.
    """

    gamma: float
    seen: float
    unseen: float
    harmonic_mean: float
    seen_at_0: float
    unseen_at_0: float
    harmonic_mean_at_0: float
    zero_shot_top1: float
    n_folds: int


def select_calibration_by_class_folds(
    acoustic: np.ndarray,
    labels: np.ndarray,
    class_embeddings: np.ndarray,
    *,
    estimator: CompatibilityLearner,
    folds: Sequence[Sequence[int]],
    seed: int = 0,
    holdout_fraction: float = SEEN_HOLDOUT_FRACTION,
    kept_out: np.ndarray | None = None,
) -> CalibrationSelection | None:
    """Calibrated stacking's γ (Chao et al. 2016) by class-split cross-validation over the training classes.

    In each fold, the fold's classes play the unseen classes and the others the seen ones. A
    seeded share (``holdout_fraction``) of each seen class's clips is kept out
    (:func:`zsac.protocols.seen_class_holdout`); ``estimator`` (with its λ) is fitted on the
    rest of the seen clips, so each fold costs one fit. The kept-out seen clips and the
    unseen classes' clips are then ranked among all the classes, and each fold's seen and
    unseen per-class accuracy is known at every γ (:func:`zsac.evaluation.seen_unseen_accuracy`).
    γ is the candidate with the best mean over the folds of H; the candidates are 0 and the
    calibrations of every fold's :func:`~zsac.evaluation.seen_unseen_curve`. Ties go to the
    γ nearest 0, the least change to the model's scores (so a model whose H is 0 at every γ
    keeps γ = 0).

    Parameters
    ----------
    acoustic : np.ndarray [shape=(n_clips, acoustic_dim)]
    labels : np.ndarray [shape=(n_clips,)], int
        Rows of ``class_embeddings``.
    class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]
    estimator : CompatibilityLearner
        The learner with the λ to use; copied, never fitted itself.
    folds : sequence of sequence of int
        The classes held out in each fold, e.g. :func:`class_folds`.
    seed : int
        Seeds the seen clips kept out.
    holdout_fraction : float
        The share of each seen class's clips kept out of the fold's fit.
    kept_out : np.ndarray [shape=(n_clips,)], bool, or None
        The seen clips to keep out instead (e.g. clips that the acoustic model did not train
        on either); None: a seeded ``holdout_fraction`` of each class
        (:func:`zsac.protocols.seen_class_holdout`).

    Returns
    -------
    CalibrationSelection or None
        None when no fold has a seen clip to keep out (classes of fewer than 3 clips) or there are no folds.
    """
    labels = np.asarray(labels)
    n_classes = len(class_embeddings)
    if kept_out is None:
        kept_out = seen_class_holdout(labels.tolist(), range(n_classes), fraction=holdout_fraction, seed=seed)
    kept_out = np.asarray(kept_out, dtype=bool)
    if kept_out.shape != labels.shape:
        raise ConfigError(f"kept_out must mark each of the {labels.size} clips, got shape {kept_out.shape}")
    candidates, outcomes = [np.zeros(1)], []
    for held_out in folds:
        unseen = np.isin(labels, held_out)
        seen_classes = np.setdiff1d(np.arange(n_classes), held_out)
        train = ~unseen & ~kept_out
        test = unseen | kept_out
        if not np.any(~unseen & kept_out):
            continue
        model = copy.deepcopy(estimator).fit(
            acoustic[train], np.searchsorted(seen_classes, labels[train]), class_embeddings[seen_classes]
        )
        scores = model.decision_function(acoustic[test], class_embeddings)
        mask = ~np.isin(np.arange(n_classes), held_out)
        curve = seen_unseen_curve(scores, labels[test], mask)
        candidates.append(curve.calibrations)
        # Zero-shot among the held-out classes alone, as λ selection scores it (ties are misses).
        columns = np.asarray(held_out)
        among_unseen = scores[unseen[test]][:, columns]
        top1 = float(np.mean(true_class_ranks(among_unseen, np.searchsorted(columns, labels[unseen])) == 1))
        outcomes.append((scores, labels[test], mask, top1))
    if not outcomes:
        return None
    gammas = np.unique(np.concatenate(candidates))
    seen = np.zeros((len(outcomes), gammas.size))
    unseen = np.zeros_like(seen)
    for row, (scores, fold_labels, mask, _) in enumerate(outcomes):
        seen[row], unseen[row] = seen_unseen_accuracy(scores, fold_labels, mask, gammas)
    total = seen + unseen
    h = np.divide(2.0 * seen * unseen, total, out=np.zeros_like(total), where=total > 0)
    mean_h = h.mean(axis=0)
    # The best mean H; among equals, the γ nearest 0 (then the smaller).
    best = min(range(gammas.size), key=lambda i: (-mean_h[i], abs(gammas[i]), gammas[i]))
    zero = int(np.searchsorted(gammas, 0.0))
    logger.info("calibration γ=%g: generalised H %.4f over %d class folds (%.4f at γ=0)",
                gammas[best], mean_h[best], len(outcomes), mean_h[zero])  # fmt: skip
    return CalibrationSelection(
        gamma=float(gammas[best]), seen=float(seen[:, best].mean()), unseen=float(unseen[:, best].mean()),
        harmonic_mean=float(mean_h[best]), seen_at_0=float(seen[:, zero].mean()),
        unseen_at_0=float(unseen[:, zero].mean()), harmonic_mean_at_0=float(mean_h[zero]),
        zero_shot_top1=float(np.mean([outcome[3] for outcome in outcomes])), n_folds=len(outcomes),
    )  # fmt: skip
