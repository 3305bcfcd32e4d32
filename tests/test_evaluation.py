"""zsac.evaluation: Top-1, mAP, chance level, McNemar's test and generalised zero-shot accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    label_ranking_average_precision_score,
)

from zsac.errors import ConfigError
from zsac.evaluation import (
    ChanceLevel,
    GZSLResult,
    McNemarResult,
    area_under_seen_unseen_curve,
    best_calibration,
    calibrated_stacking,
    generalized_zero_shot_accuracy,
    harmonic_mean,
    mcnemar,
    mcnemar_counts,
    mcnemar_test,
    mean_average_precision,
    per_class_top1_accuracy,
    random_guess_expectation,
    seen_unseen_curve,
    top1_accuracy,
    true_class_ranks,
)

# Ties on purpose. Row 0: true class 2 is tied with class 1 for the top score.
# Row 1: all four classes tie. Row 2: true class 0 has the top score.
TIED_SCORES = np.array(
    [
        [0.1, 0.4, 0.4, 0.2],
        [0.3, 0.3, 0.3, 0.3],
        [0.9, 0.1, 0.5, 0.7],
    ]
)
TIED_LABELS = np.array([2, 0, 0])


def indicator(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=np.int64)[labels]


def random_scores_and_labels(n_samples: int, n_classes: int, *, tied: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if tied:  # few distinct values, so most rows contain ties
        scores = rng.integers(0, 4, size=(n_samples, n_classes)).astype(np.float64)
    else:
        scores = rng.normal(size=(n_samples, n_classes))
    return scores, rng.integers(0, n_classes, size=n_samples)


# --------------------------------------------------------------------------- Top-1 and mAP on a hand example


def test_top1_takes_the_lowest_index_among_tied_top_scores():
    # Predictions by argmax: row 0 -> 1 (tie 1/2, lowest index), row 1 -> 0, row 2 -> 0.
    # Correct: no, yes, yes -> 2/3.
    assert top1_accuracy(TIED_SCORES, TIED_LABELS) == pytest.approx(2 / 3)


def test_per_class_top1_averages_over_classes_present():
    # Class 2: 0 of 1 right; class 0: 2 of 2 right; classes 1 and 3 are absent -> (0 + 1) / 2.
    assert per_class_top1_accuracy(TIED_SCORES, TIED_LABELS) == pytest.approx(0.5)


def test_ranks_count_ties_pessimistically():
    # Row 0: two scores >= 0.4 -> rank 2. Row 1: all four tie -> rank 4. Row 2: top -> rank 1.
    ranks = true_class_ranks(TIED_SCORES, TIED_LABELS)
    np.testing.assert_array_equal(ranks, [2, 4, 1])
    assert ranks.dtype == np.int64


def test_map_is_mean_reciprocal_rank_for_single_labels():
    # (1/2 + 1/4 + 1/1) / 3 = 1.75 / 3
    assert mean_average_precision(TIED_SCORES, TIED_LABELS) == pytest.approx(1.75 / 3)


def test_map_multi_label_hand_example():
    # Row 0 true {1, 2}: both at rank 2 (tied) -> precisions 2/2, 2/2 -> AP 1.
    # Row 1 true {0, 3}: all tie, rank 4 -> precisions 2/4, 2/4 -> AP 0.5.
    # Row 2 true {0, 3}: class 0 rank 1 (1/1), class 3 rank 2 (2/2) -> AP 1.
    labels = np.array([[0, 1, 1, 0], [1, 0, 0, 1], [1, 0, 0, 1]])
    assert mean_average_precision(TIED_SCORES, labels) == pytest.approx(2.5 / 3)


def test_perfect_and_worst_rankings():
    scores = np.array([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]])
    assert mean_average_precision(scores, np.array([0, 2])) == 1.0
    assert mean_average_precision(scores, np.array([2, 0])) == pytest.approx(1 / 3)
    assert top1_accuracy(scores, np.array([2, 0])) == 0.0


# --------------------------------------------------------------------------- agreement with sklearn


@pytest.mark.parametrize("tied", [False, True])
def test_single_label_map_equals_sklearn_lrap(tied):
    scores, labels = random_scores_and_labels(300, 7, tied=tied)
    expected = label_ranking_average_precision_score(indicator(labels, 7), scores)
    assert abs(mean_average_precision(scores, labels) - expected) < 1e-12


def test_float32_scores_give_the_same_map_as_sklearn():
    scores, labels = random_scores_and_labels(200, 5, tied=False)
    scores = scores.astype(np.float32)
    # The reference on the same values in float64 (scipy >= 1.18 ranks float32 in float32).
    expected = label_ranking_average_precision_score(indicator(labels, 5), scores.astype(np.float64))
    assert abs(mean_average_precision(scores, labels) - expected) < 1e-12


@pytest.mark.parametrize("tied", [False, True])
def test_multi_label_map_equals_sklearn_lrap(tied):
    scores, labels = random_scores_and_labels(200, 6, tied=tied)
    rng = np.random.default_rng(1)
    multi = indicator(labels, 6) | (rng.random((200, 6)) < 0.3)
    expected = label_ranking_average_precision_score(multi, scores)
    assert abs(mean_average_precision(scores, multi) - expected) < 1e-12
    assert abs(mean_average_precision(scores, multi.astype(bool)) - expected) < 1e-12


def test_one_hot_indicator_gives_the_same_map_as_class_indices():
    scores, labels = random_scores_and_labels(100, 4, tied=True)
    assert mean_average_precision(scores, indicator(labels, 4)) == pytest.approx(
        mean_average_precision(scores, labels), abs=1e-12
    )


@pytest.mark.parametrize("tied", [False, True])
def test_top1_equals_sklearn_accuracy(tied):
    scores, labels = random_scores_and_labels(300, 7, tied=tied)
    assert top1_accuracy(scores, labels) == pytest.approx(accuracy_score(labels, scores.argmax(axis=1)), abs=1e-12)


@pytest.mark.parametrize("tied", [False, True])
def test_per_class_top1_equals_sklearn_balanced_accuracy(tied):
    scores, labels = random_scores_and_labels(300, 7, tied=tied)
    assert set(labels) == set(range(7))  # so sklearn warns about no absent class
    expected = balanced_accuracy_score(labels, scores.argmax(axis=1))
    assert per_class_top1_accuracy(scores, labels) == pytest.approx(expected, abs=1e-12)


def test_per_class_top1_differs_from_top1_on_imbalanced_classes():
    # 9 samples of class 0, all right; 1 sample of class 1, wrong.
    scores = np.tile([1.0, 0.0], (10, 1))
    labels = np.array([0] * 9 + [1])
    assert top1_accuracy(scores, labels) == pytest.approx(0.9)
    assert per_class_top1_accuracy(scores, labels) == pytest.approx(0.5)


# --------------------------------------------------------------------------- chance level


def test_chance_level_matches_the_paper():
    esc50_fold = random_guess_expectation(10)  # Section VI-A: 0.29 / 0.10
    assert isinstance(esc50_fold, ChanceLevel)
    assert (round(esc50_fold.map, 2), round(esc50_fold.top1, 2)) == (0.29, 0.10)
    audioset_fold = random_guess_expectation(105)  # Section VI-B: 0.05 / 0.01
    assert (round(audioset_fold.map, 2), round(audioset_fold.top1, 2)) == (0.05, 0.01)


def test_chance_level_small_cases_by_hand():
    assert random_guess_expectation(1) == (1.0, 1.0)
    # n = 3: (1 + 1/2 + 1/3) / 3 = 11/18
    chance_map, chance_top1 = random_guess_expectation(3)
    assert chance_map == pytest.approx(11 / 18)
    assert chance_top1 == pytest.approx(1 / 3)


@pytest.mark.parametrize("n_classes", [2, 10, 105])
def test_chance_level_matches_monte_carlo(n_classes):
    rng = np.random.default_rng(0)
    n_samples = 20_000
    scores = rng.random((n_samples, n_classes))
    labels = rng.integers(0, n_classes, size=n_samples)
    expected = random_guess_expectation(n_classes)
    # Standard errors are below 0.004 for both metrics; 0.01 is over 2.5 of them.
    assert mean_average_precision(scores, labels) == pytest.approx(expected.map, abs=0.01)
    assert top1_accuracy(scores, labels) == pytest.approx(expected.top1, abs=0.01)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10"])
def test_chance_level_rejects_bad_class_counts(bad):
    with pytest.raises(ConfigError, match="n_classes must be a positive integer"):
        random_guess_expectation(bad)


# --------------------------------------------------------------------------- McNemar's test

# Table XI: WLE+GLE+BSE (A) against GLE+BSE (B) on AudioSet, Setting 1.
BOTH_CORRECT, A_ONLY, B_ONLY, BOTH_WRONG = 1854, 381, 609, 18533


def table_xi_predictions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions whose contingency table is Table XI; the true class is 0, a wrong prediction is 1."""
    cells = [(BOTH_CORRECT, 0, 0), (A_ONLY, 0, 1), (B_ONLY, 1, 0), (BOTH_WRONG, 1, 1)]
    predictions_a = np.concatenate([np.full(count, a) for count, a, _ in cells])
    predictions_b = np.concatenate([np.full(count, b) for count, _, b in cells])
    order = np.random.default_rng(0).permutation(predictions_a.size)  # the cells need not be contiguous
    return predictions_a[order], predictions_b[order], np.zeros(predictions_a.size, dtype=np.int64)


def test_mcnemar_reproduces_table_xi():
    statistic, p_value = mcnemar(A_ONLY, B_ONLY)
    assert round(statistic, 2) == 52.05
    assert p_value == pytest.approx(5.41e-13, rel=1e-3)


def test_mcnemar_counts_and_test_from_predictions_reproduce_table_xi():
    predictions_a, predictions_b, labels = table_xi_predictions()
    assert mcnemar_counts(predictions_a, predictions_b, labels) == (A_ONLY, B_ONLY)
    assert mcnemar_counts(predictions_b, predictions_a, labels) == (B_ONLY, A_ONLY)
    result = mcnemar_test(predictions_a, predictions_b, labels)
    assert isinstance(result, McNemarResult)
    assert result == mcnemar(A_ONLY, B_ONLY)
    assert top1_accuracy(np.eye(2)[predictions_a], labels) == pytest.approx((BOTH_CORRECT + A_ONLY) / labels.size)


def test_mcnemar_chi_square_by_hand():
    # b = 10, c = 2: corrected (8 - 1)^2 / 12 = 49/12, uncorrected 64/12.
    # The chi-square(1) survival function is erfc(sqrt(x / 2)).
    corrected = mcnemar(10, 2)
    assert corrected.statistic == pytest.approx(49 / 12)
    assert corrected.p_value == pytest.approx(math.erfc(math.sqrt(49 / 24)))
    uncorrected = mcnemar(10, 2, correction=False)
    assert uncorrected.statistic == pytest.approx(64 / 12)
    assert uncorrected.p_value == pytest.approx(math.erfc(math.sqrt(64 / 24)))
    assert mcnemar(A_ONLY, B_ONLY, correction=False).statistic == pytest.approx(228**2 / 990)


def test_mcnemar_is_symmetric():
    assert mcnemar(381, 609) == mcnemar(609, 381)
    assert mcnemar(3, 11, exact=True) == mcnemar(11, 3, exact=True)


def test_exact_mcnemar_is_the_binomial_test():
    # b = 1, c = 5: P(X <= 1) for X ~ Bin(6, 1/2) is 7/64; two-sided 14/64.
    assert mcnemar(1, 5, exact=True) == pytest.approx((1.0, 14 / 64))
    for b, c in [(0, 7), (12, 30), (A_ONLY, B_ONLY)]:
        expected = scipy.stats.binomtest(min(b, c), b + c, 0.5).pvalue
        statistic, p_value = mcnemar(b, c, exact=True)
        assert statistic == min(b, c)
        assert p_value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("exact", [False, True])
def test_mcnemar_without_disagreement_is_not_significant(exact):
    assert mcnemar(0, 0, exact=exact) == (0.0, 1.0)


def test_corrected_mcnemar_does_not_overshoot_when_counts_are_equal():
    assert mcnemar(4, 4) == (0.0, 1.0)
    assert mcnemar(5, 4).statistic == 0.0


@pytest.mark.parametrize("bad", [-1, 2.5, 3.0, True, "4", None])
def test_mcnemar_rejects_bad_counts(bad):
    with pytest.raises(ConfigError, match="b must be a non-negative integer count"):
        mcnemar(bad, 3)
    with pytest.raises(ConfigError, match="c must be a non-negative integer count"):
        mcnemar(3, bad)


def test_mcnemar_accepts_numpy_integers():
    assert mcnemar(np.int64(A_ONLY), np.int32(B_ONLY)) == mcnemar(A_ONLY, B_ONLY)


def test_mcnemar_counts_rejects_mismatched_predictions():
    labels = np.array([0, 1, 2])
    with pytest.raises(ConfigError, match="predictions_b has 2 entries but 3 samples"):
        mcnemar_counts(labels, labels[:2], labels)
    with pytest.raises(ConfigError, match="predictions_a must be integer class indices, got dtype float64"):
        mcnemar_counts(labels.astype(float), labels, labels)
    with pytest.raises(ConfigError, match="labels must have at least one sample"):
        mcnemar_counts([], [], np.array([], dtype=np.int64))


# --------------------------------------------------------------------------- generalised zero-shot learning

# Classes 0 and 1 are seen, 2 and 3 unseen. Scores are integers, so every comparison is exact.
# margin = max seen score - max unseen score; prediction among all classes at calibration 0.
GZSL_SCORES = np.array(
    [
        [9, 1, 5, 2],  # class 0 (seen):   margin  4, predicted 0 (right); best seen 0 (right)
        [8, 3, 6, 1],  # class 1 (seen):   margin  2, predicted 0 (wrong); best seen 0 (wrong)
        [7, 2, 6, 1],  # class 2 (unseen): margin  1, predicted 0 (wrong); best unseen 2 (right)
        [3, 1, 2, 5],  # class 3 (unseen): margin -2, predicted 3 (right); best unseen 3 (right)
        [6, 2, 1, 8],  # class 0 (seen):   margin -2, predicted 3 (wrong); best seen 0 (right)
    ],
    dtype=np.float64,
)
GZSL_LABELS = np.array([0, 1, 2, 3, 0])
SEEN_MASK = np.array([True, True, False, False])


def test_harmonic_mean():
    assert harmonic_mean(0.25, 0.5) == pytest.approx(1 / 3)
    assert harmonic_mean(0.6, 0.6) == pytest.approx(0.6)
    assert harmonic_mean(0.0, 0.8) == 0.0
    assert harmonic_mean(0.0, 0.0) == 0.0
    with pytest.raises(ConfigError, match="non-negative"):
        harmonic_mean(-0.1, 0.5)
    with pytest.raises(ConfigError, match="b must be finite"):
        harmonic_mean(0.1, float("nan"))


def test_calibrated_stacking_lowers_seen_scores_in_a_copy():
    original = GZSL_SCORES.copy()
    calibrated = calibrated_stacking(GZSL_SCORES, SEEN_MASK, 1.5)
    np.testing.assert_array_equal(GZSL_SCORES, original)
    np.testing.assert_array_equal(calibrated[:, :2], original[:, :2] - 1.5)
    np.testing.assert_array_equal(calibrated[:, 2:], original[:, 2:])


def test_gzsl_accuracy_by_hand():
    # Seen samples: class 0 right 1 of 2, class 1 right 0 of 1 -> 0.25.
    # Unseen samples: class 2 wrong, class 3 right -> 0.5. H = 2 * 0.25 * 0.5 / 0.75 = 1/3.
    result = generalized_zero_shot_accuracy(GZSL_SCORES, GZSL_LABELS, SEEN_MASK)
    assert isinstance(result, GZSLResult)
    assert result == pytest.approx((0.25, 0.5, 1 / 3, 0.0))


def test_calibration_moves_predictions_to_unseen_classes():
    # gamma = 1.5: samples with margin < 1.5 become unseen; class 2's sample is now right.
    assert generalized_zero_shot_accuracy(GZSL_SCORES, GZSL_LABELS, SEEN_MASK, calibration=1.5) == pytest.approx(
        (0.25, 1.0, 0.4, 1.5)
    )
    # A large gamma predicts every sample as unseen: seen accuracy 0, unseen accuracy is plain zero-shot Top-1.
    large = generalized_zero_shot_accuracy(GZSL_SCORES, GZSL_LABELS, SEEN_MASK, calibration=100.0)
    assert large == pytest.approx((0.0, 1.0, 0.0, 100.0))
    # A very negative gamma predicts every sample as seen: class 0 right 2 of 2, class 1 wrong -> 0.5.
    small = generalized_zero_shot_accuracy(GZSL_SCORES, GZSL_LABELS, SEEN_MASK, calibration=-100.0)
    assert small == pytest.approx((0.5, 0.0, 0.0, -100.0))


def test_seen_unseen_curve_by_hand():
    # Distinct margins -2, 1, 2, 4: five outcomes, gammas between and outside them.
    curve = seen_unseen_curve(GZSL_SCORES, GZSL_LABELS, SEEN_MASK)
    np.testing.assert_allclose(curve.calibrations[1:-1], [-0.5, 1.5, 3.0])
    assert curve.calibrations[0] < -2 and curve.calibrations[-1] > 4
    np.testing.assert_allclose(curve.seen, [0.5, 0.25, 0.25, 0.25, 0.0])
    np.testing.assert_allclose(curve.unseen, [0.0, 0.5, 1.0, 1.0, 1.0])
    # Trapezoids over unseen accuracy: (0.5 + 0.25) / 2 * 0.5 + 0.25 * 0.5 = 0.3125.
    assert area_under_seen_unseen_curve(GZSL_SCORES, GZSL_LABELS, SEEN_MASK) == pytest.approx(0.3125)


def test_best_calibration_by_hand():
    # Harmonic means along the curve: 0, 1/3, 0.4, 0.4, 0; the first maximum is at gamma 1.5.
    assert best_calibration(GZSL_SCORES, GZSL_LABELS, SEEN_MASK) == pytest.approx((0.25, 1.0, 0.4, 1.5))


def random_gzsl_problem(*, tied: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scores, labels = random_scores_and_labels(400, 9, tied=tied)
    seen_mask = np.zeros(9, dtype=bool)
    seen_mask[[0, 2, 3, 7, 8]] = True
    scores += 0.5 * seen_mask  # the usual bias towards seen classes
    return scores, labels, seen_mask


@pytest.mark.parametrize("tied", [False, True])
def test_curve_agrees_with_accuracy_at_each_calibration(tied):
    scores, labels, seen_mask = random_gzsl_problem(tied=tied)
    curve = seen_unseen_curve(scores, labels, seen_mask)
    for gamma, seen, unseen in zip(curve.calibrations, curve.seen, curve.unseen, strict=True):
        result = generalized_zero_shot_accuracy(scores, labels, seen_mask, calibration=gamma)
        assert (result.seen, result.unseen) == pytest.approx((seen, unseen), abs=1e-12)


@pytest.mark.parametrize("tied", [False, True])
def test_curve_spans_all_seen_to_all_unseen(tied):
    scores, labels, seen_mask = random_gzsl_problem(tied=tied)
    curve = seen_unseen_curve(scores, labels, seen_mask)
    assert np.all(np.diff(curve.calibrations) > 0)
    assert np.all(np.diff(curve.seen) <= 0) and np.all(np.diff(curve.unseen) >= 0)
    # End points: conventional accuracy within the seen classes, and within the unseen classes.
    is_seen_sample = seen_mask[labels]
    seen_only = scores[np.ix_(is_seen_sample, seen_mask)]
    seen_labels = np.searchsorted(np.flatnonzero(seen_mask), labels[is_seen_sample])
    unseen_only = scores[np.ix_(~is_seen_sample, ~seen_mask)]
    unseen_labels = np.searchsorted(np.flatnonzero(~seen_mask), labels[~is_seen_sample])
    assert (curve.seen[0], curve.unseen[0]) == pytest.approx((per_class_top1_accuracy(seen_only, seen_labels), 0))
    assert (curve.seen[-1], curve.unseen[-1]) == pytest.approx((0, per_class_top1_accuracy(unseen_only, unseen_labels)))
    # The area by the trapezoid rule written out (the module itself uses sklearn's auc).
    widths = np.diff(curve.unseen)
    heights = (curve.seen[1:] + curve.seen[:-1]) / 2
    assert area_under_seen_unseen_curve(scores, labels, seen_mask) == pytest.approx(float(np.sum(widths * heights)))


def test_best_calibration_beats_every_curve_point():
    scores, labels, seen_mask = random_gzsl_problem(tied=False)
    best = best_calibration(scores, labels, seen_mask)
    curve = seen_unseen_curve(scores, labels, seen_mask)
    curve_harmonic_means = [harmonic_mean(s, u) for s, u in zip(curve.seen, curve.unseen, strict=True)]
    assert best.harmonic_mean == pytest.approx(max(curve_harmonic_means))
    assert best.harmonic_mean >= generalized_zero_shot_accuracy(scores, labels, seen_mask).harmonic_mean


def test_perfect_gzsl_classifier_has_unit_area():
    labels = np.array([0, 1, 2, 3])
    scores = np.eye(4)
    assert area_under_seen_unseen_curve(scores, labels, SEEN_MASK) == pytest.approx(1.0)
    assert generalized_zero_shot_accuracy(scores, labels, SEEN_MASK) == pytest.approx((1.0, 1.0, 1.0, 0.0))


def test_gzsl_needs_seen_and_unseen_samples():
    with pytest.raises(ConfigError, match="samples of unseen classes"):
        generalized_zero_shot_accuracy(GZSL_SCORES, np.array([0, 1, 0, 1, 0]), SEEN_MASK)
    with pytest.raises(ConfigError, match="samples of seen classes"):
        seen_unseen_curve(GZSL_SCORES, np.array([2, 3, 2, 3, 2]), SEEN_MASK)


def test_seen_mask_is_validated():
    with pytest.raises(ConfigError, match=r"seen_mask must have shape \(4,\).*got \(3,\)"):
        calibrated_stacking(GZSL_SCORES, SEEN_MASK[:3], 1.0)
    with pytest.raises(ConfigError, match="seen_mask must be boolean"):
        generalized_zero_shot_accuracy(GZSL_SCORES, GZSL_LABELS, SEEN_MASK.astype(int))
    with pytest.raises(ConfigError, match="gamma must be finite"):
        calibrated_stacking(GZSL_SCORES, SEEN_MASK, float("inf"))


# --------------------------------------------------------------------------- input validation

SCORE_METRICS = [top1_accuracy, per_class_top1_accuracy, mean_average_precision, true_class_ranks]


@pytest.mark.parametrize("metric", SCORE_METRICS)
@pytest.mark.parametrize(
    ("scores", "message"),
    [
        (np.zeros(4), r"scores must be 2-D \(n_samples, n_classes\), got shape \(4,\)"),
        (np.zeros((2, 2, 2)), r"got shape \(2, 2, 2\)"),
        (np.zeros((0, 3)), r"at least one sample and one class, got shape \(0, 3\)"),
        (np.array([[0.0, np.nan], [0.0, 1.0]]), r"finite, got nan at \(sample 0, class 1\)"),
        (np.array([[0.0, 1.0], [np.inf, 1.0]]), r"finite, got inf at \(sample 1, class 0\)"),
        (np.array([["a", "b"], ["c", "d"]]), "scores must be real numbers"),
        ([[0.0, 1.0], [2.0]], "scores must be a rectangular array"),
    ],
)
def test_bad_scores_are_rejected(metric, scores, message):
    with pytest.raises(ConfigError, match=message):
        metric(scores, np.array([0, 1]))


@pytest.mark.parametrize("metric", [top1_accuracy, per_class_top1_accuracy, true_class_ranks])
@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 1]), "labels has 2 entries but 3 samples"),
        (np.array([0, 1, 4]), r"class indices in \[0, 4\), got 4 at index 2"),
        (np.array([0, -1, 1]), "class indices >= 0, got -1 at index 1"),
        (np.array([0.0, 1.0, 2.0]), "labels must be integer class indices, got dtype float64"),
        (np.array([True, False, True]), "got dtype bool"),
        (np.zeros((3, 4), dtype=np.int64), r"labels must be 1-D \(n_samples,\), got shape \(3, 4\)"),
    ],
)
def test_bad_labels_are_rejected(metric, labels, message):
    with pytest.raises(ConfigError, match=message):
        metric(TIED_SCORES, labels)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 5, 1]), r"class indices in \[0, 4\), got 5 at index 1"),
        (np.ones((3, 3), dtype=np.int64), r"shape of scores \(3, 4\), got \(3, 3\)"),
        (np.full((3, 4), 2), "binary indicator matrix"),
        (np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]]), "1 have none, the first is sample 1"),
    ],
)
def test_bad_map_labels_are_rejected(labels, message):
    with pytest.raises(ConfigError, match=message):
        mean_average_precision(TIED_SCORES, labels)


def test_config_error_is_catchable_as_zsac_error():
    from zsac import ZsacError

    with pytest.raises(ZsacError):
        top1_accuracy(np.zeros(3), np.zeros(3, dtype=np.int64))
