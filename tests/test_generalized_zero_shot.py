"""Generalised zero-shot in every fold, refit, relative λ, and the learner plumbing of reproductions.

Grouped by property:
- the seen-class hold-out is seeded, per class, and always leaves a clip to train on;
- evaluate_split never fits on a held-out clip, and reports S, U, H and AUSUC that agree with
  the evaluation functions;
- a relative λ makes the bilinear model's choice independent of the scale of θ and of φ;
- labels of stacked class sets, learner resolution and the command-line parsers.
"""

from __future__ import annotations

import numpy as np
import pytest

from spy_learners import Fits, SpyRidge, zero_shot_problem
from zsac.compatibility import Bilinear
from zsac.compatibility.base import data_scale
from zsac.compatibility.selection import PAPER_LAMBDA_GRID, stack_labels
from zsac.errors import ConfigError, DataError
from zsac.evaluation import seen_unseen_curve
from zsac.protocols import ClassSplit, seen_class_holdout
from zsac.reproduce.zero_shot import CURVE_POINTS, evaluate_split, unseen_at_seen

SPLIT = ClassSplit(name="F", acoustic=(), train=tuple(range(6)), validation=(6, 7, 8), test=(9, 10, 11), refit=True)


# --------------------------------------------------------------------------------------------------------------------
# The seen-class hold-out
# --------------------------------------------------------------------------------------------------------------------


def test_holdout_takes_a_fifth_of_each_seen_class_and_leaves_one_to_train_on():
    classes = [0] * 10 + [1] * 3 + [2] + [3] * 2 + [9] * 10
    held = seen_class_holdout(classes, [0, 1, 2, 3], seed=0)
    counts = {c: int(held[np.array(classes) == c].sum()) for c in (0, 1, 2, 3, 9)}
    assert counts == {0: 2, 1: 1, 2: 0, 3: 0, 9: 0}  # round(0.2 n), never the last clip; class 9 is not seen


def test_holdout_of_a_class_depends_only_on_seed_and_class():
    classes = [0] * 20 + [1] * 20
    both = seen_class_holdout(classes, [0, 1], seed=5)
    alone = seen_class_holdout(classes, [1], seed=5)
    assert np.array_equal(both[20:], alone[20:]) and not alone[:20].any()
    assert np.array_equal(both, seen_class_holdout(classes, [1, 0], seed=5))
    assert not np.array_equal(both, seen_class_holdout(classes, [0, 1], seed=6))


@pytest.mark.parametrize("fraction", [-0.1, 1.0, "0.2", True])
def test_holdout_refuses_a_bad_fraction(fraction):
    with pytest.raises(ConfigError, match="fraction"):
        seen_class_holdout([0, 0, 1], [0], fraction=fraction, seed=0)


# --------------------------------------------------------------------------------------------------------------------
# evaluate_split
# --------------------------------------------------------------------------------------------------------------------


def test_no_fit_sees_a_held_out_clip_and_gzsl_is_reported():
    acoustic, classes, embeddings = zero_shot_problem()
    held = seen_class_holdout(classes, SPLIT.seen, seed=0)
    fits = Fits()
    outcome = evaluate_split(SPLIT, acoustic, classes, embeddings, estimator=SpyRidge(fits=fits), grid=None,
                             held_out=held)  # fmt: skip
    held_rows = {row.tobytes() for row in acoustic[held].astype(np.float64)}
    assert len(fits) == len(SpyRidge.default_grid) + 1  # one per λ, then the refit
    for theta, _, _ in fits:
        assert not held_rows & {row.tobytes() for row in theta}
    assert fits[-1][0].shape[0] == np.isin(classes, SPLIT.seen).sum() - held.sum()
    gzsl = outcome.gzsl
    assert gzsl is not None and gzsl["seen_clips"] == held.sum()
    assert gzsl["h"] == pytest.approx(2 * gzsl["seen"] * gzsl["unseen"] / (gzsl["seen"] + gzsl["unseen"]))
    assert 0 <= gzsl["ausuc"] <= 1 and len(outcome.gzsl_curve) == CURVE_POINTS
    assert outcome.top1 > 1 / 3  # well above chance on this easy problem


def test_without_a_holdout_there_is_no_gzsl_and_every_training_clip_is_used():
    acoustic, classes, embeddings = zero_shot_problem()
    fits = Fits()
    outcome = evaluate_split(SPLIT, acoustic, classes, embeddings, estimator=SpyRidge(fits=fits), grid=[1.0])
    assert outcome.gzsl is None and outcome.gzsl_curve is None
    assert fits[0][0].shape[0] == np.isin(classes, SPLIT.train).sum()


def test_without_refit_the_final_model_is_the_selection_model_and_seen_means_training_classes():
    acoustic, classes, embeddings = zero_shot_problem()
    split = ClassSplit(name="F", acoustic=(), train=SPLIT.train, validation=SPLIT.validation, test=SPLIT.test,
                       refit=False)  # fmt: skip
    held = seen_class_holdout(classes, split.train, seed=1)
    fits = Fits()
    outcome = evaluate_split(split, acoustic, classes, embeddings, estimator=SpyRidge(fits=fits), grid=[1.0],
                             held_out=held)  # fmt: skip
    assert len(fits) == 1 and outcome.gzsl["seen_clips"] == held.sum()


def test_held_out_mask_of_the_wrong_length_is_refused():
    acoustic, classes, embeddings = zero_shot_problem()
    with pytest.raises(DataError, match="held_out"):
        evaluate_split(SPLIT, acoustic, classes, embeddings, estimator=SpyRidge(), held_out=np.zeros(3, bool))


def test_unseen_at_seen_samples_the_frontier():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(40, 6))
    labels = rng.integers(0, 6, size=40)
    labels[:3], labels[3:6] = 0, 5
    mask = np.array([True, True, True, False, False, False])
    curve = seen_unseen_curve(scores, labels, mask)
    sampled = unseen_at_seen(curve.seen, curve.unseen, points=11)
    for k, target in enumerate(np.linspace(0, 1, 11)):
        reachable = curve.unseen[curve.seen >= target - 1e-12]
        assert sampled[k] == (reachable.max() if reachable.size else 0.0)
    assert np.all(np.diff(sampled) <= 1e-12)  # more seen accuracy never buys more unseen accuracy


# --------------------------------------------------------------------------------------------------------------------
# Relative λ
# --------------------------------------------------------------------------------------------------------------------


def test_relative_lambda_is_the_absolute_one_times_the_data_scale():
    acoustic, classes, embeddings = zero_shot_problem()
    phi = np.stack([embeddings[c] for c in range(12)])
    model = Bilinear(lam=1e-3, lambda_scale="relative", max_iter=5).fit(acoustic, classes, phi)
    assert model.lambda_ == pytest.approx(1e-3 * data_scale(acoustic, phi))
    assert Bilinear(lam=0.5, max_iter=5).fit(acoustic, classes, phi).lambda_ == 0.5


def test_relative_lambda_gives_the_same_predictions_whatever_the_scale_of_theta_and_phi():
    acoustic, classes, embeddings = zero_shot_problem()
    phi = np.stack([embeddings[c] for c in range(12)])
    base = Bilinear(lam=1e-2, lambda_scale="relative", dtype="float64", max_iter=200)
    small = base.fit(acoustic, classes, phi).decision_function(acoustic, phi)
    big = Bilinear(**base.get_params()).fit(10 * acoustic, classes, 3 * phi).decision_function(10 * acoustic, 3 * phi)
    assert np.array_equal(small.argmax(axis=1), big.argmax(axis=1))
    np.testing.assert_allclose(big, small, rtol=1e-3, atol=1e-4 * np.abs(small).max())


def test_bilinear_refuses_an_unknown_lambda_scale():
    with pytest.raises(ConfigError, match="lambda_scale"):
        Bilinear(lambda_scale="log").fit(np.ones((2, 2)), np.array([0, 1]), np.eye(2))


# --------------------------------------------------------------------------------------------------------------------
# Stacked labels, learners of a reproduction, the command line
# --------------------------------------------------------------------------------------------------------------------


def test_stacked_labels_shift_the_second_set_and_mix_into_a_block_indicator():
    assert stack_labels(np.array([0, 1]), 2, np.array([1, 0]), 3).tolist() == [0, 1, 3, 2]
    multi = np.array([[True, True, False]])
    stacked = stack_labels(np.array([1]), 2, multi, 3)
    assert stacked.tolist() == [[False, True, False, False, False], [False, False, True, True, False]]


def test_resolve_learners_paper_grid_is_absolute_for_the_bilinear_model_only():
    from zsac.reproduce.common import resolve_learners

    runs = resolve_learners(["bilinear"], lambda_grid="paper")
    assert runs["bilinear"].grid == tuple(PAPER_LAMBDA_GRID)
    assert runs["bilinear"].estimator.lambda_scale == "absolute"
    runs = resolve_learners(["bilinear"], lambda_grid=None)
    assert runs["bilinear"].estimator.lambda_scale == "relative"
    assert runs["bilinear"].grid == Bilinear.default_grid
    assert resolve_learners(["bilinear"], lambda_grid=[0.5, 2])["bilinear"].grid == (0.5, 2.0)
    with pytest.raises(ConfigError, match="learner"):
        resolve_learners(["nope"])
    with pytest.raises(ConfigError, match="lambda_grid"):
        resolve_learners(["bilinear"], lambda_grid="wide")


def test_command_line_parsers_name_the_bad_value():
    from zsac.commands.reproduce import parse_fraction, parse_grid, parse_learners

    assert parse_grid("auto") is None and parse_grid("paper") == "paper" and parse_grid("0,0.5") == [0.0, 0.5]
    with pytest.raises(ConfigError, match="auto, paper or comma-separated numbers"):
        parse_grid("wide")
    assert parse_learners("bilinear") == ["bilinear"] and parse_learners("all") == ["all"]
    with pytest.raises(ConfigError, match="'svm'"):
        parse_learners("bilinear,svm")
    with pytest.raises(ConfigError, match="'1.5'"):
        parse_fraction("1.5")
