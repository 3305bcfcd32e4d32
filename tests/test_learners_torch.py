"""The torch learners beside the paper's: SoftmaxBilinear and NonlinearProjection.

Checked against a float64 NumPy reference of their objectives, on a synthetic zero-shot
problem, and for the properties their docstrings promise (relative λ, labels, seeds, errors).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from zsac import ConfigError, NotFittedError
from zsac.compatibility import NonlinearProjection, SoftmaxBilinear
from zsac.compatibility.base import CompatibilityLearner, rms_norm

LEARNERS = (SoftmaxBilinear, NonlinearProjection)


def zero_shot_problem(seed=0, n_classes=16, n_seen=10, semantic_dim=12, acoustic_dim=8, per_class=12, noise=0.3):
    """θ = A φ(y) + noise with a random linear A: (train θ, labels, seen φ, test θ, labels, unseen φ)."""
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(n_classes, semantic_dim))
    phi /= np.linalg.norm(phi, axis=1, keepdims=True)
    A = rng.normal(size=(acoustic_dim, semantic_dim))
    labels = np.repeat(np.arange(n_classes), per_class)
    theta = phi[labels] @ A.T + noise * rng.normal(size=(labels.size, acoustic_dim))
    seen = labels < n_seen
    return theta[seen], labels[seen], phi[:n_seen], theta[~seen], labels[~seen] - n_seen, phi[n_seen:]


def softmax_reference(theta, targets, phi, W_tilde, lam, T):
    """The SoftmaxBilinear objective of its docstring in float64, on rescaled θ̃, φ̃ and W̃."""
    theta_r, phi_r = theta / rms_norm(theta), phi / rms_norm(phi)
    logits = theta_r @ W_tilde @ phi_r.T / T
    logits -= logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -(targets * log_p).sum() / len(theta) + lam * np.sum(W_tilde**2)


def multi_label_problem():
    theta, labels, phi, *_ = zero_shot_problem(seed=3, per_class=4)
    indicator = np.zeros((len(labels), len(phi)), dtype=int)
    indicator[np.arange(len(labels)), labels] = 1
    indicator[::3, 0] = 1  # every third clip also carries class 0
    return theta, indicator, phi


# --- the objective: the fit is a stationary point of the float64 reference --------------------


def reference_gradient(theta, targets, phi, W_tilde, lam, T, step=1e-5):
    """Central differences of :func:`softmax_reference` over every entry of W̃."""
    gradient = np.zeros_like(W_tilde)
    for index in np.ndindex(W_tilde.shape):
        bump = np.zeros_like(W_tilde)
        bump[index] = step
        plus = softmax_reference(theta, targets, phi, W_tilde + bump, lam, T)
        minus = softmax_reference(theta, targets, phi, W_tilde - bump, lam, T)
        gradient[index] = (plus - minus) / (2 * step)
    return gradient


def test_softmax_fit_is_a_stationary_point_of_the_reference_objective():
    theta, indicator, phi = multi_label_problem()
    lam, T = 1e-2, 0.2
    model = SoftmaxBilinear(lam=lam, temperature=T, dtype="float64", tol=1e-12).fit(theta, indicator, phi)
    targets = indicator / indicator.sum(axis=1, keepdims=True)
    W_tilde = model.W_ * (T * rms_norm(theta) * rms_norm(phi))
    reference = softmax_reference(theta, targets, phi, W_tilde, lam, T)
    assert model.objective_ == pytest.approx(reference, rel=1e-10)
    # The gradient of the reference over the full W̃ (not only the span the solver works on)
    # vanishes at the fit, relative to its size at the zero start.
    at_zero = np.linalg.norm(reference_gradient(theta, targets, phi, np.zeros_like(W_tilde), lam, T))
    assert np.linalg.norm(reference_gradient(theta, targets, phi, W_tilde, lam, T)) < 1e-5 * at_zero
    assert model.gradient_norm_ < 1e-5 * at_zero
    # And it is a minimum: a random nudge raises the objective.
    nudge = np.random.default_rng(0).normal(scale=1e-2, size=W_tilde.shape)
    assert softmax_reference(theta, targets, phi, W_tilde + nudge, lam, T) > reference


def test_softmax_float32_matches_float64():
    theta, labels, phi, *_ = zero_shot_problem()
    single = SoftmaxBilinear(lam=1e-3, dtype="float32").fit(theta, labels, phi)
    double = SoftmaxBilinear(lam=1e-3, dtype="float64").fit(theta, labels, phi)
    assert np.allclose(single.W_, double.W_, atol=1e-3 * np.abs(double.W_).max())


def test_nonlinear_objective_and_scores_match_the_reference():
    theta, indicator, phi = multi_label_problem()
    lam, T, h = 1e-3, 0.1, 6
    model = NonlinearProjection(lam=lam, temperature=T, hidden=h, max_iter=30, dtype="float64").fit(
        theta, indicator, phi
    )
    theta_scale, phi_scale = rms_norm(theta - theta.mean(0)), rms_norm(phi)
    U, V = model.acoustic_weights_ * theta_scale, model.semantic_weights_ * phi_scale
    acoustic = np.tanh((theta - theta.mean(0)) / theta_scale @ U + model.acoustic_bias_)
    semantic = np.tanh(phi / phi_scale @ V + model.semantic_bias_)
    logits = acoustic @ semantic.T / (T * h)
    assert np.allclose(model.decision_function(theta, phi), logits)
    targets = indicator / indicator.sum(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    reference = -(targets * log_p).sum() / len(theta) + lam / h * (np.sum(U**2) + np.sum(V**2))
    assert model.objective_ == pytest.approx(reference, rel=1e-9)
    # V lies in the span of the training φ: nothing outside it reaches unseen classes.
    projector = np.linalg.pinv(phi) @ phi
    assert np.allclose(projector @ V, V)


def test_nonlinear_training_lowers_the_objective():
    theta, labels, phi, *_ = zero_shot_problem()
    short = NonlinearProjection(hidden=8, max_iter=1).fit(theta, labels, phi)
    longer = NonlinearProjection(hidden=8, max_iter=40).fit(theta, labels, phi)
    assert longer.objective_ < 0.5 * short.objective_


# --- zero-shot: unseen classes are recovered ---------------------------------------------------


@pytest.mark.parametrize("learner", [SoftmaxBilinear(lam=1e-4), NonlinearProjection(lam=1e-4, hidden=16, max_iter=60)])
def test_recovers_unseen_classes(learner):
    theta, labels, phi, test_theta, test_labels, test_phi = zero_shot_problem()
    learner.fit(theta, labels, phi)
    assert learner.score(test_theta, test_labels, test_phi) > 0.6  # chance is 1/6
    assert learner.decision_function(test_theta, test_phi).shape == (len(test_theta), len(test_phi))


# --- λ is relative: the scale of θ and the number of spec parts do not matter -----------------


@pytest.mark.parametrize("cls", LEARNERS)
def test_same_predictions_whatever_the_scale_of_theta_and_phi(cls):
    theta, labels, phi, test_theta, _, test_phi = zero_shot_problem()
    settings = dict(lam=1e-3, dtype="float64", hidden=6, max_iter=25) if cls is NonlinearProjection else {}
    settings.setdefault("dtype", "float64")
    base = cls(**settings).fit(theta, labels, phi).decision_function(test_theta, test_phi)
    louder = cls(**settings).fit(10 * theta, labels, phi).decision_function(10 * test_theta, test_phi)
    assert np.allclose(base, louder, rtol=1e-6, atol=1e-8)
    # A three-part spec whose parts all point the same way: ‖φ‖² = 3. The non-convex fit starts
    # from a point drawn in coordinates of the span of φ, whose basis the SVD may turn when the
    # dimension changes, so it gets the same φ scaled by √3 rather than three copies.
    if cls is SoftmaxBilinear:
        wide = (
            cls(**settings)
            .fit(theta, labels, np.hstack([phi] * 3))
            .decision_function(test_theta, np.hstack([test_phi] * 3))
        )
    else:
        wide = cls(**settings).fit(theta, labels, np.sqrt(3) * phi).decision_function(test_theta, np.sqrt(3) * test_phi)
    assert np.allclose(base, wide, rtol=1e-5, atol=1e-7)


def test_softmax_absolute_penalty_is_lam_times_data_scale():
    # The documented absolute weight: lam · s_θ² s_φ² T² on ‖W‖², so the objective seen in
    # the original variables is the same number.
    theta, labels, phi, *_ = zero_shot_problem()
    lam, T = 1e-3, 0.1
    model = SoftmaxBilinear(lam=lam, temperature=T, dtype="float64").fit(theta, labels, phi)
    logits = theta @ model.W_ @ phi.T
    log_p = logits - logits.max(1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
    absolute = lam * rms_norm(theta) ** 2 * rms_norm(phi) ** 2 * T**2
    objective = -log_p[np.arange(len(labels)), labels].mean() + absolute * np.sum(model.W_**2)
    assert objective == pytest.approx(model.objective_, rel=1e-8)


# --- labels: an indicator matrix with one positive per row is the integer labels ---------------


@pytest.mark.parametrize("cls", LEARNERS)
def test_one_positive_indicator_rows_equal_integer_labels(cls):
    theta, labels, phi, test_theta, _, test_phi = zero_shot_problem()
    settings = {"hidden": 6, "max_iter": 20} if cls is NonlinearProjection else {}
    indicator = np.eye(len(phi), dtype=bool)[labels]
    by_index = cls(**settings).fit(theta, labels, phi).decision_function(test_theta, test_phi)
    by_matrix = cls(**settings).fit(theta, indicator, phi).decision_function(test_theta, test_phi)
    assert np.array_equal(by_index, by_matrix)


def test_a_second_positive_changes_the_fit():
    theta, labels, phi, *_ = zero_shot_problem(seed=3, per_class=4)
    single = np.eye(len(phi), dtype=bool)[labels]
    double = single.copy()
    double[::3, 0] = True  # every third clip also carries class 0
    a = SoftmaxBilinear().fit(theta, single, phi).W_
    b = SoftmaxBilinear().fit(theta, double, phi).W_
    assert not np.allclose(a, b, rtol=1e-2)


# --- seeds and warm starts ---------------------------------------------------------------------


def test_nonlinear_same_seed_same_model_and_other_seed_another():
    theta, labels, phi, test_theta, _, test_phi = zero_shot_problem()

    def scores(seed):
        model = NonlinearProjection(hidden=6, max_iter=20, seed=seed).fit(theta, labels, phi)
        return model.decision_function(test_theta, test_phi)

    assert np.array_equal(scores(7), scores(7))
    assert not np.allclose(scores(7), scores(8))


def test_softmax_warm_start_from_the_solution_stays_there():
    theta, labels, phi, *_ = zero_shot_problem()
    cold = SoftmaxBilinear(lam=1e-3, dtype="float64", tol=1e-12, max_iter=500).fit(theta, labels, phi)
    warm = SoftmaxBilinear(lam=1e-3, dtype="float64", tol=1e-12, max_iter=500, init=cold.W_).fit(theta, labels, phi)
    assert warm.n_iter_ <= 2 < cold.n_iter_
    assert np.allclose(warm.W_, cold.W_, atol=1e-6 * np.abs(cold.W_).max())


@pytest.mark.parametrize("cls", LEARNERS)
def test_auto_device_fits(cls):
    theta, labels, phi, *_ = zero_shot_problem()
    settings = {"hidden": 4, "max_iter": 3} if cls is NonlinearProjection else {"max_iter": 3}
    model = cls(device="auto", **settings).fit(theta, labels, phi)
    assert (model.acoustic_dim_, model.semantic_dim_) == (theta.shape[1], phi.shape[1])


# --- the interface ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "params", "named"),
    [
        (SoftmaxBilinear, {"lam": -1.0}, "lam"),
        (SoftmaxBilinear, {"lam": float("nan")}, "lam"),
        (SoftmaxBilinear, {"temperature": 0}, "temperature"),
        (SoftmaxBilinear, {"max_iter": 0}, "max_iter"),
        (SoftmaxBilinear, {"max_iter": 2.5}, "max_iter"),
        (SoftmaxBilinear, {"tol": -1e-3}, "tol"),
        (SoftmaxBilinear, {"dtype": "float16"}, "dtype"),
        (SoftmaxBilinear, {"device": "gpu"}, "device"),
        (SoftmaxBilinear, {"seed": -1}, "seed"),
        (SoftmaxBilinear, {"init": np.zeros((2, 2))}, "init"),
        (NonlinearProjection, {"lam": True}, "lam"),
        (NonlinearProjection, {"hidden": 0}, "hidden"),
        (NonlinearProjection, {"temperature": -0.1}, "temperature"),
        (NonlinearProjection, {"device": "tpu"}, "device"),
    ],
)
def test_bad_parameters_are_config_errors_naming_the_value(cls, params, named):
    theta, labels, phi, *_ = zero_shot_problem()
    with pytest.raises(ConfigError, match=named) as caught:
        cls(**params).fit(theta, labels, phi)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("cls", LEARNERS)
def test_decision_before_fit_raises_not_fitted(cls):
    with pytest.raises(NotFittedError):
        cls().decision_function(np.ones((2, 3)), np.ones((2, 4)))


@pytest.mark.parametrize("cls", LEARNERS)
def test_estimator_conventions(cls):
    learner = cls(lam=0.5)
    assert isinstance(learner, CompatibilityLearner)
    assert learner.get_params()["lam"] == 0.5 and cls().set_params(lam=0.5).lam == 0.5
    grid = np.array(cls.default_grid)
    assert 8 <= grid.size <= 10 and np.all(grid > 0)
    assert np.allclose(np.diff(np.log(grid)), np.log(grid[1] / grid[0]), rtol=0.1)  # log-spaced
    assert grid[0] < cls().lam < grid[-1]
    theta, labels, phi, *_ = zero_shot_problem()
    with pytest.raises(ConfigError, match="dimensions"):
        cls(max_iter=2).fit(theta, labels, phi).decision_function(theta[:, :3], phi)


def test_importing_the_modules_does_not_load_torch():
    code = (
        "import sys, zsac.compatibility.softmax, zsac.compatibility.projection\n"
        "from zsac.compatibility import SoftmaxBilinear, NonlinearProjection\n"
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
