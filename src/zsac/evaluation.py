"""Evaluation metrics: Top-1, mAP, chance level, McNemar's test and generalised zero-shot accuracy.

The paper (Section V-D) reports two metrics over test samples: Top-1, the proportion
of correctly classified samples, and mAP, the mean over samples of the average
precision of the ranked class list. Section VI-B compares two systems with McNemar's
test (Table XI). Scores are compatibility scores ``F(x, y)`` (Section IV), one column
per candidate class; larger means more compatible.

Beyond the paper, the generalised zero-shot setting (test classes drawn from seen
*and* unseen classes) is evaluated with the protocol of Xian et al., "Zero-Shot
Learning -- The Good, the Bad and the Ugly" (per-class Top-1 on seen and on unseen
test samples, and their harmonic mean), with calibrated stacking and the area under
the seen-unseen accuracy curve (AUSUC) of Chao et al., "An Empirical Study and
Analysis of Generalized Zero-Shot Learning for Object Recognition in the Wild" (2016).
"""

from __future__ import annotations

import math
import operator
from typing import NamedTuple

import numpy as np
import scipy.stats
import sklearn.metrics

from .errors import ConfigError

__all__ = [
    "top1_accuracy",
    "per_class_top1_accuracy",
    "true_class_ranks",
    "mean_average_precision",
    "ChanceLevel",
    "random_guess_expectation",
    "McNemarResult",
    "mcnemar",
    "mcnemar_counts",
    "mcnemar_test",
    "GZSLResult",
    "seen_unseen_curve_area",
    "SeenUnseenCurve",
    "harmonic_mean",
    "calibrated_stacking",
    "generalized_zero_shot_accuracy",
    "seen_unseen_curve",
    "area_under_seen_unseen_curve",
    "best_calibration",
    "seen_unseen_accuracy",
    "NEAR_CHANCE_FRACTION",
    "near_chance",
]


class ChanceLevel(NamedTuple):
    """Expected mAP and Top-1 of uniformly random scores."""

    map: float
    top1: float


class McNemarResult(NamedTuple):
    """McNemar's test statistic and its p-value."""

    statistic: float
    p_value: float


class GZSLResult(NamedTuple):
    """Generalised zero-shot accuracy (Xian et al.) at one calibration.

    ``seen`` and ``unseen`` are per-class-averaged Top-1 over the test samples whose
    true class is seen and unseen, respectively, with predictions searched over all
    classes; ``harmonic_mean`` combines them; ``calibration`` is the gamma subtracted
    from the seen classes' scores (calibrated stacking).
    """

    seen: float
    unseen: float
    harmonic_mean: float
    calibration: float


class SeenUnseenCurve(NamedTuple):
    """Seen and unseen accuracy as the calibration gamma increases (Chao et al.).

    All arrays have shape ``(n_points,)``. The first point predicts every sample as a
    seen class (``unseen == 0``), the last as an unseen class (``seen == 0``).
    """

    calibrations: np.ndarray
    seen: np.ndarray
    unseen: np.ndarray


# --------------------------------------------------------------------------- validation


def _as_array(values: object, name: str) -> np.ndarray:
    try:
        return np.asarray(values)
    except ValueError as error:  # ragged nested lists
        raise ConfigError(f"{name} must be a rectangular array: {error}") from error


def _check_scores(scores: object) -> np.ndarray:
    array = _as_array(scores, "scores")
    if array.ndim != 2:
        raise ConfigError(f"scores must be 2-D (n_samples, n_classes), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ConfigError(f"scores must have at least one sample and one class, got shape {array.shape}")
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ConfigError(f"scores must be real numbers, got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        bad_row, bad_column = np.argwhere(~np.isfinite(array))[0]
        raise ConfigError(
            f"scores must be finite, got {array[bad_row, bad_column]} at (sample {bad_row}, class {bad_column})"
        )
    return array


def _check_index_vector(values: object, n_samples: int | None, name: str) -> np.ndarray:
    """A non-empty 1-D array of non-negative integers, of length ``n_samples`` when given."""
    array = _as_array(values, name)
    if array.ndim != 1:
        raise ConfigError(f"{name} must be 1-D (n_samples,), got shape {array.shape}")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ConfigError(f"{name} must be integer class indices, got dtype {array.dtype}")
    if n_samples is not None and array.shape[0] != n_samples:
        raise ConfigError(f"{name} has {array.shape[0]} entries but {n_samples} samples were expected")
    if array.shape[0] == 0:
        raise ConfigError(f"{name} must have at least one sample, got shape {array.shape}")
    negative = np.flatnonzero(array < 0)
    if negative.size:
        raise ConfigError(f"{name} must be class indices >= 0, got {array[negative[0]]} at index {negative[0]}")
    return array


def _check_class_indices(values: object, n_samples: int, n_classes: int, name: str) -> np.ndarray:
    array = _check_index_vector(values, n_samples, name)
    out_of_range = np.flatnonzero(array >= n_classes)
    if out_of_range.size:
        index = out_of_range[0]
        raise ConfigError(
            f"{name} must be class indices in [0, {n_classes}), got {array[index]} at index {index} "
            f"({out_of_range.size} out of range)"
        )
    return array


def _check_scores_and_labels(scores: object, labels: object) -> tuple[np.ndarray, np.ndarray]:
    scores = _check_scores(scores)
    labels = _check_class_indices(labels, scores.shape[0], scores.shape[1], "labels")
    return scores, labels


def _check_seen_mask(seen_mask: object, n_classes: int) -> np.ndarray:
    array = _as_array(seen_mask, "seen_mask")
    if array.dtype != bool:
        raise ConfigError(f"seen_mask must be boolean (True for seen classes), got dtype {array.dtype}")
    if array.shape != (n_classes,):
        raise ConfigError(f"seen_mask must have shape ({n_classes},) to match the score columns, got {array.shape}")
    return array


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool | np.bool_):
        raise ConfigError(f"{name} must be a non-negative integer count, got {value!r}")
    try:
        count = operator.index(value)
    except TypeError:
        raise ConfigError(f"{name} must be a non-negative integer count, got {value!r}") from None
    if count < 0:
        raise ConfigError(f"{name} must be a non-negative integer count, got {count}")
    return count


def _check_finite_number(value: object, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be finite, got {number}")
    return number


# --------------------------------------------------------------------------- Top-1 and mAP (Section V-D)


def _per_class_accuracy(correct: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in ``labels`` of the fraction of their samples that are correct."""
    present, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    correct_per_class = np.bincount(inverse, weights=correct.astype(np.float64), minlength=present.size)
    return float(np.mean(correct_per_class / counts))


def top1_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Top-1: the proportion of samples whose highest-scoring class is the true one (Section V-D).

    Parameters
    ----------
    scores : np.ndarray [shape=(n_samples, n_classes)]
        Finite compatibility scores, one column per candidate class.
    labels : np.ndarray [shape=(n_samples,)]
        Integer index of each sample's true class into the columns of ``scores``.

    Returns
    -------
    float
        In [0, 1]. Among tied top scores the lowest class index is the prediction
        (``np.argmax``), the same rule as classification uses.
    """
    scores, labels = _check_scores_and_labels(scores, labels)
    return float(np.mean(np.argmax(scores, axis=1) == labels))


def per_class_top1_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 averaged per class (balanced accuracy), over the classes present in ``labels``.

    Equals ``sklearn.metrics.balanced_accuracy_score(labels, scores.argmax(axis=1))``;
    computed directly so that predicted classes absent from ``labels`` raise no warning.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_samples, n_classes)]
    labels : np.ndarray [shape=(n_samples,)]
        Integer index of each sample's true class.

    Returns
    -------
    float
        In [0, 1].
    """
    scores, labels = _check_scores_and_labels(scores, labels)
    return _per_class_accuracy(np.argmax(scores, axis=1) == labels, labels)


def true_class_ranks(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """1-based rank of each sample's true class in its sorted class list, ties counted pessimistically.

    The rank is the number of classes whose score is at least the true class's score,
    so a true class tied with others is placed after all of them.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_samples, n_classes)]
    labels : np.ndarray [shape=(n_samples,)]
        Integer index of each sample's true class.

    Returns
    -------
    np.ndarray [shape=(n_samples,), dtype=int64]
        Values in [1, n_classes].
    """
    scores, labels = _check_scores_and_labels(scores, labels)
    true_scores = scores[np.arange(scores.shape[0]), labels]
    return np.count_nonzero(scores >= true_scores[:, None], axis=1).astype(np.int64)


def mean_average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """mAP: the mean over samples of the average precision of the ranked class list (Section V-D).

    The AP of one sample averages the precision at each position where a true class
    sits in the list sorted by decreasing score, with ties counted pessimistically.
    This is label ranking average precision and equals
    ``sklearn.metrics.label_ranking_average_precision_score``. With one true class the
    AP is ``1 / rank`` of that class (:func:`true_class_ranks`), which is why the paper
    calls mAP inversely proportional to the ranks of correct classes.

    The single-label case is computed here, vectorised, because sklearn loops over
    samples in Python, which is slow for test sets of ~20,000 AudioSet clips; the
    multi-label case is delegated to sklearn.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_samples, n_classes)]
    labels : np.ndarray [shape=(n_samples,) or (n_samples, n_classes)]
        Either the integer index of each sample's true class, or a binary indicator
        matrix (bool, or integers/floats equal to 0 or 1) with at least one true class
        per sample.

    Returns
    -------
    float
        In (0, 1]; 1 when every true class is ranked above every other class.
    """
    scores = _check_scores(scores)
    labels_array = _as_array(labels, "labels")
    if labels_array.ndim != 2:
        return float(np.mean(1.0 / true_class_ranks(scores, labels_array)))

    if labels_array.shape != scores.shape:
        raise ConfigError(f"multi-label labels must have the shape of scores {scores.shape}, got {labels_array.shape}")
    if not np.all((labels_array == 0) | (labels_array == 1)):
        raise ConfigError("multi-label labels must be a binary indicator matrix of 0s and 1s")
    # sklearn scores a sample with no true class as AP 1, which would inflate mAP; such a
    # sample means the labels do not match the candidate classes, so it is an error here.
    unlabelled = np.flatnonzero(~np.any(labels_array == 1, axis=1))
    if unlabelled.size:
        raise ConfigError(
            f"every sample needs at least one true class; {unlabelled.size} have none, the first is sample "
            f"{unlabelled[0]}"
        )
    return float(sklearn.metrics.label_ranking_average_precision_score(labels_array.astype(np.int64), scores))


def random_guess_expectation(n_classes: int) -> ChanceLevel:
    """Expected mAP and Top-1 of random guessing among ``n_classes`` with one true class.

    With scores drawn independently from one continuous distribution, the rank of the
    true class is uniform on 1..n, so Top-1 = 1/n and mAP = E[1/rank] = H_n / n, with
    H_n the n-th harmonic number. The paper quotes 0.29 / 0.10 for ESC-50 folds of 10
    classes (Section VI-A) and 0.05 / 0.01 for AudioSet folds of ~105 classes
    (Section VI-B).

    Parameters
    ----------
    n_classes : int
        Number of candidate classes, at least 1.

    Returns
    -------
    ChanceLevel
        ``(map, top1)``.
    """
    if isinstance(n_classes, bool | np.bool_):
        raise ConfigError(f"n_classes must be a positive integer, got {n_classes!r}")
    try:
        n = operator.index(n_classes)
    except TypeError:
        raise ConfigError(f"n_classes must be a positive integer, got {n_classes!r}") from None
    if n < 1:
        raise ConfigError(f"n_classes must be a positive integer, got {n}")
    harmonic_number = math.fsum(1.0 / rank for rank in range(1, n + 1))
    return ChanceLevel(map=harmonic_number / n, top1=1.0 / n)


# --------------------------------------------------------------------------- McNemar's test (Section VI-B, Table XI)


def mcnemar(b: int, c: int, *, exact: bool = False, correction: bool = True) -> McNemarResult:
    """McNemar's test on the discordant counts of two classifiers on the same samples.

    Parameters
    ----------
    b : int
        Samples that system A classifies correctly and system B wrongly.
    c : int
        Samples that A classifies wrongly and B correctly.
    exact : bool
        Use the exact two-sided binomial test instead of the chi-square approximation;
        the statistic is then ``min(b, c)``, as in statsmodels.
    correction : bool
        For the chi-square test, apply the continuity correction
        ``(|b - c| - 1)^2 / (b + c)``, as the paper does (Table XI: b = 381, c = 609
        gives 52.05 and p = 5.41e-13). Without it the statistic is ``(b - c)^2 / (b + c)``.

    Returns
    -------
    McNemarResult
        ``(statistic, p_value)``. When ``b + c == 0`` the systems never disagree and the
        result is ``(0.0, 1.0)``. When ``b == c`` the corrected statistic is 0 (the
        correction is not allowed to overshoot, as in R's ``mcnemar.test``; statsmodels
        would give ``1 / (b + c)``).
    """
    b = _check_count(b, "b")
    c = _check_count(c, "c")
    n_discordant = b + c
    if n_discordant == 0:
        return McNemarResult(statistic=0.0, p_value=1.0)
    if exact:
        smaller = min(b, c)
        p_value = scipy.stats.binomtest(smaller, n_discordant, 0.5, alternative="two-sided").pvalue
        return McNemarResult(statistic=float(smaller), p_value=float(p_value))
    difference = abs(b - c)
    if correction:
        difference = max(difference - 1, 0)
    statistic = difference**2 / n_discordant
    return McNemarResult(statistic=float(statistic), p_value=float(scipy.stats.chi2.sf(statistic, df=1)))


def mcnemar_counts(predictions_a: np.ndarray, predictions_b: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    """The discordant cells of the 2x2 contingency table of two classifiers (Table XI).

    Parameters
    ----------
    predictions_a, predictions_b : np.ndarray [shape=(n_samples,)]
        Integer predicted class of each sample by systems A and B.
    labels : np.ndarray [shape=(n_samples,)]
        Integer true class of each sample.

    Returns
    -------
    tuple[int, int]
        ``(b, c)``: samples A gets right and B wrong, and samples A gets wrong and B right.
    """
    labels = _check_index_vector(labels, None, "labels")
    correct_a = _check_index_vector(predictions_a, labels.shape[0], "predictions_a") == labels
    correct_b = _check_index_vector(predictions_b, labels.shape[0], "predictions_b") == labels
    return int(np.count_nonzero(correct_a & ~correct_b)), int(np.count_nonzero(~correct_a & correct_b))


def mcnemar_test(
    predictions_a: np.ndarray,
    predictions_b: np.ndarray,
    labels: np.ndarray,
    *,
    exact: bool = False,
    correction: bool = True,
) -> McNemarResult:
    """McNemar's test of two classifiers' predictions on the same samples (Section VI-B).

    Parameters
    ----------
    predictions_a, predictions_b : np.ndarray [shape=(n_samples,)]
        Integer predicted class of each sample by systems A and B.
    labels : np.ndarray [shape=(n_samples,)]
        Integer true class of each sample.
    exact, correction : bool
        As in :func:`mcnemar`.

    Returns
    -------
    McNemarResult
        ``(statistic, p_value)`` of :func:`mcnemar` on :func:`mcnemar_counts`.
    """
    b, c = mcnemar_counts(predictions_a, predictions_b, labels)
    return mcnemar(b, c, exact=exact, correction=correction)


# --------------------------------------------------------------------------- generalised zero-shot learning


def harmonic_mean(a: float, b: float) -> float:
    """Harmonic mean ``2ab / (a + b)`` of two non-negative accuracies; 0 when both are 0.

    Parameters
    ----------
    a, b : float
        Non-negative and finite.

    Returns
    -------
    float
    """
    a = _check_finite_number(a, "a")
    b = _check_finite_number(b, "b")
    if a < 0 or b < 0:
        raise ConfigError(f"harmonic_mean expects non-negative values, got {a} and {b}")
    if a + b == 0:
        return 0.0
    return 2.0 * a * b / (a + b)


def calibrated_stacking(scores: np.ndarray, seen_mask: np.ndarray, gamma: float) -> np.ndarray:
    """Subtract ``gamma`` from the scores of seen classes (calibrated stacking, Chao et al.).

    A model trained on the seen classes scores them too high; a positive gamma moves
    predictions towards unseen classes.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_samples, n_classes)]
    seen_mask : np.ndarray [shape=(n_classes,), dtype=bool]
        True for the classes seen in training.
    gamma : float

    Returns
    -------
    np.ndarray [shape=(n_samples, n_classes), dtype=float64]
        A new array; ``scores`` is not modified.
    """
    scores = _check_scores(scores)
    seen_mask = _check_seen_mask(seen_mask, scores.shape[1])
    gamma = _check_finite_number(gamma, "gamma")
    calibrated = np.array(scores, dtype=np.float64, copy=True)
    calibrated[:, seen_mask] -= gamma
    return calibrated


def _check_gzsl_inputs(
    scores: object, labels: object, seen_mask: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate; return scores, labels, seen_mask and whether each sample's true class is seen."""
    scores, labels = _check_scores_and_labels(scores, labels)
    seen_mask = _check_seen_mask(seen_mask, scores.shape[1])
    sample_is_seen = seen_mask[labels]
    if not np.any(sample_is_seen):
        raise ConfigError("generalised zero-shot evaluation needs test samples of seen classes; labels has none")
    if np.all(sample_is_seen):
        raise ConfigError("generalised zero-shot evaluation needs test samples of unseen classes; labels has none")
    return scores, labels, seen_mask, sample_is_seen


def generalized_zero_shot_accuracy(
    scores: np.ndarray, labels: np.ndarray, seen_mask: np.ndarray, *, calibration: float = 0.0
) -> GZSLResult:
    """Generalised zero-shot accuracy: per-class Top-1 on seen and on unseen samples, and their harmonic mean.

    Each sample is classified among *all* classes, after subtracting ``calibration``
    from the seen classes' scores (:func:`calibrated_stacking`). Following Xian et al.,
    Top-1 is averaged per class within each group of test samples (true class seen, true
    class unseen), so frequent classes do not dominate.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_samples, n_classes)]
        Scores of seen and unseen classes.
    labels : np.ndarray [shape=(n_samples,)]
        Integer true class of each sample; both seen and unseen classes must occur.
    seen_mask : np.ndarray [shape=(n_classes,), dtype=bool]
        True for the classes seen in training.
    calibration : float
        Gamma of calibrated stacking; 0 is plain generalised zero-shot classification.

    Returns
    -------
    GZSLResult
        ``(seen, unseen, harmonic_mean, calibration)``.
    """
    scores, labels, seen_mask, sample_is_seen = _check_gzsl_inputs(scores, labels, seen_mask)
    predictions = np.argmax(calibrated_stacking(scores, seen_mask, calibration), axis=1)
    correct = predictions == labels
    seen_accuracy = _per_class_accuracy(correct[sample_is_seen], labels[sample_is_seen])
    unseen_accuracy = _per_class_accuracy(correct[~sample_is_seen], labels[~sample_is_seen])
    return GZSLResult(
        seen=seen_accuracy,
        unseen=unseen_accuracy,
        harmonic_mean=harmonic_mean(seen_accuracy, unseen_accuracy),
        calibration=float(calibration),
    )


def _stacking_margins(scores: object, labels: object, seen_mask: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each sample's margin ``max(seen scores) - max(unseen scores)``, and what it adds to each accuracy.

    Returns the margins, and each sample's weight in the seen accuracy when it is predicted
    seen (and then right) and in the unseen accuracy when predicted unseen (and then right);
    0 for a sample that would be wrong.
    """
    scores, labels, seen_mask, sample_is_seen = _check_gzsl_inputs(scores, labels, seen_mask)
    seen_classes = np.flatnonzero(seen_mask)
    unseen_classes = np.flatnonzero(~seen_mask)
    seen_scores = scores[:, seen_classes]
    unseen_scores = scores[:, unseen_classes]
    margins = seen_scores.max(axis=1).astype(np.float64) - unseen_scores.max(axis=1)
    # A sample of a seen class can only be right when predicted seen, and vice versa.
    right_if_seen = sample_is_seen & (seen_classes[np.argmax(seen_scores, axis=1)] == labels)
    right_if_unseen = ~sample_is_seen & (unseen_classes[np.argmax(unseen_scores, axis=1)] == labels)

    # Per-class averaging within a group weights each sample by 1 / (classes in group * samples of its class).
    class_counts = np.bincount(labels, minlength=scores.shape[1])
    n_seen_classes_present = np.count_nonzero(class_counts[seen_mask])
    n_unseen_classes_present = np.count_nonzero(class_counts[~seen_mask])
    group_size = np.where(sample_is_seen, n_seen_classes_present, n_unseen_classes_present)
    weights = 1.0 / (group_size * class_counts[labels])
    return margins, weights * right_if_seen, weights * right_if_unseen


def seen_unseen_curve(scores: np.ndarray, labels: np.ndarray, seen_mask: np.ndarray) -> SeenUnseenCurve:
    """Seen and unseen accuracy for every distinct outcome of calibrated stacking (Chao et al.).

    A sample is predicted as a seen class exactly when gamma is below its margin
    ``max(seen scores) - max(unseen scores)``, and then as its best seen class, else as
    its best unseen class. So the predictions change only at the samples' margins, and
    evaluating one gamma between each pair of adjacent distinct margins, plus one below
    all and one above all, traces the whole curve exactly, from "everything predicted
    seen" to "everything predicted unseen".

    Parameters
    ----------
    scores : np.ndarray [shape=(n_samples, n_classes)]
    labels : np.ndarray [shape=(n_samples,)]
        Integer true class of each sample; both seen and unseen classes must occur.
    seen_mask : np.ndarray [shape=(n_classes,), dtype=bool]
        True for the classes seen in training.

    Returns
    -------
    SeenUnseenCurve
        ``(calibrations, seen, unseen)``, each of shape ``(n_distinct_margins + 1,)``,
        with increasing calibrations; ``seen`` is non-increasing and ``unseen``
        non-decreasing. ``generalized_zero_shot_accuracy(..., calibration=g)`` at each
        returned ``g`` gives the same accuracies.
    """
    margins, seen_weights, unseen_weights = _stacking_margins(scores, labels, seen_mask)
    distinct_margins, margin_index = np.unique(margins, return_inverse=True)
    n_margins = distinct_margins.size
    seen_gain = np.bincount(margin_index, weights=seen_weights, minlength=n_margins)
    unseen_gain = np.bincount(margin_index, weights=unseen_weights, minlength=n_margins)
    # At point j the samples with the j smallest distinct margins are predicted unseen.
    seen_accuracy = np.append(np.cumsum(seen_gain[::-1])[::-1], 0.0)
    unseen_accuracy = np.insert(np.cumsum(unseen_gain), 0, 0.0)

    outside = 1.0 + abs(distinct_margins[0]) + abs(distinct_margins[-1])
    calibrations = np.concatenate(
        [
            [distinct_margins[0] - outside],
            (distinct_margins[:-1] + distinct_margins[1:]) / 2.0,
            [distinct_margins[-1] + outside],
        ]
    )
    return SeenUnseenCurve(calibrations=calibrations, seen=seen_accuracy, unseen=unseen_accuracy)


def area_under_seen_unseen_curve(scores: np.ndarray, labels: np.ndarray, seen_mask: np.ndarray) -> float:
    """AUSUC: the area under the seen-unseen accuracy curve (Chao et al.), by the trapezoidal rule.

    Independent of any single calibration; 1 for a perfect classifier.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_samples, n_classes)]
    labels : np.ndarray [shape=(n_samples,)]
    seen_mask : np.ndarray [shape=(n_classes,), dtype=bool]

    Returns
    -------
    float
        In [0, 1].
    """
    return seen_unseen_curve_area(seen_unseen_curve(scores, labels, seen_mask))


def seen_unseen_curve_area(curve: SeenUnseenCurve) -> float:
    """AUSUC of a curve already computed by :func:`seen_unseen_curve` (trapezoidal rule).

    Returns
    -------
    float
        In [0, 1].
    """
    return float(sklearn.metrics.auc(curve.unseen, curve.seen))


def best_calibration(scores: np.ndarray, labels: np.ndarray, seen_mask: np.ndarray) -> GZSLResult:
    """The calibration that maximises the harmonic mean on the given (validation) data.

    Choose it on validation data and apply it to the test set with
    ``generalized_zero_shot_accuracy(..., calibration=result.calibration)``.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_samples, n_classes)]
    labels : np.ndarray [shape=(n_samples,)]
    seen_mask : np.ndarray [shape=(n_classes,), dtype=bool]

    Returns
    -------
    GZSLResult
        At the smallest calibration of :func:`seen_unseen_curve` with the highest harmonic mean.
    """
    curve = seen_unseen_curve(scores, labels, seen_mask)
    total = curve.seen + curve.unseen
    harmonic_means = np.divide(2.0 * curve.seen * curve.unseen, total, out=np.zeros_like(total), where=total > 0)
    best = int(np.argmax(harmonic_means))
    return generalized_zero_shot_accuracy(scores, labels, seen_mask, calibration=float(curve.calibrations[best]))


def seen_unseen_accuracy(
    scores: np.ndarray, labels: np.ndarray, seen_mask: np.ndarray, calibrations: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Seen and unseen accuracy of calibrated stacking at many calibrations at once.

    The same accuracies as :func:`generalized_zero_shot_accuracy` at each calibration, in
    one sort instead of one pass per calibration: so that the calibrations of several folds'
    curves (:func:`seen_unseen_curve`) can be compared on each fold. A sample whose margin
    equals a calibration exactly counts as predicted unseen (``np.argmax`` would take the
    first of the tied columns); the calibrations of :func:`seen_unseen_curve` never fall on
    a margin of their own scores.

    Parameters
    ----------
    scores : np.ndarray [shape=(n_samples, n_classes)]
    labels : np.ndarray [shape=(n_samples,)]
    seen_mask : np.ndarray [shape=(n_classes,), dtype=bool]
    calibrations : np.ndarray [shape=(n_calibrations,)]
        Finite gammas, in any order.

    Returns
    -------
    seen, unseen : np.ndarray [shape=(n_calibrations,)]
        Per-class-averaged Top-1 on the samples of seen and of unseen classes.
    """
    calibrations = np.asarray(calibrations, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(calibrations)):
        raise ConfigError("calibrations must be finite numbers")
    margins, seen_weights, unseen_weights = _stacking_margins(scores, labels, seen_mask)
    order = np.argsort(margins, kind="stable")
    sorted_margins = margins[order]
    # Samples with margin <= gamma are predicted unseen: the first k of the sorted margins.
    predicted_unseen = np.searchsorted(sorted_margins, calibrations, side="right")
    seen_lost = np.concatenate([[0.0], np.cumsum(seen_weights[order])])
    unseen_won = np.concatenate([[0.0], np.cumsum(unseen_weights[order])])
    return seen_lost[-1] - seen_lost[predicted_unseen], unseen_won[predicted_unseen]


#: A figure is "near chance" below chance + this fraction of the way from chance to 1. By the
#: classical correction for guessing, an accuracy ``a`` with chance ``c`` means that a fraction
#: ``(a - c) / (1 - c)`` of the clips is classified by what the model learned and the rest is
#: guessed; below one third, most of what a user sees is guesswork (0.42 for 8 classes, 0.67 for 2).
NEAR_CHANCE_FRACTION = 1 / 3


def near_chance(accuracy: float, chance: float) -> bool:
    """Whether ``accuracy`` is below ``chance + NEAR_CHANCE_FRACTION * (1 - chance)``.

    Parameters
    ----------
    accuracy, chance : float
        In [0, 1].

    Returns
    -------
    bool
    """
    accuracy = _check_finite_number(accuracy, "accuracy")
    chance = _check_finite_number(chance, "chance")
    return accuracy < chance + NEAR_CHANCE_FRACTION * (1.0 - chance)
