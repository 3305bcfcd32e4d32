"""The closed-form learners ESZSL and SAE, the generative learner, and the learner registry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg

from zsac import ConfigError
from zsac._estimator import NotFittedError
from zsac.compatibility import ESZSL, LEARNERS, SAE, Bilinear, GaussianGenerative, make_learner
from zsac.compatibility.sae import solve_sae_sylvester

CLOSED_FORM = (ESZSL, SAE, GaussianGenerative)


def zero_shot_problem(seed=0, *, n_classes=40, n_seen=25, per_class=20, acoustic_dim=16, semantic_dim=24, noise=0.3):
    """θ = A φ(z) + b + noise with a random linear A: seen classes to train on, unseen ones to test."""
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(n_classes, semantic_dim))
    phi /= np.linalg.norm(phi, axis=1, keepdims=True)
    mixing = rng.normal(size=(acoustic_dim, semantic_dim))
    offset = rng.normal(size=acoustic_dim) * 3.0  # a class-independent part, which centring removes
    labels = np.repeat(np.arange(n_classes), per_class)
    theta = phi[labels] @ mixing.T + offset + noise * rng.normal(size=(len(labels), acoustic_dim))
    seen = labels < n_seen
    return dict(
        train=(theta[seen], labels[seen], phi[:n_seen]),
        test=(theta[~seen], labels[~seen] - n_seen, phi[n_seen:]),
    )


@pytest.fixture(scope="module")
def problem():
    return zero_shot_problem()


# --- the closed forms equal their references ----------------------------------------------------


def test_eszsl_equals_the_direct_solve_of_the_paper():
    data = zero_shot_problem(1, n_classes=12, n_seen=12, per_class=5)
    theta, labels, phi = data["train"]
    model = ESZSL(lam=0.3, gamma_ratio=2.0).fit(theta, labels, phi)
    x = theta - theta.mean(axis=0)
    y = -np.ones((len(labels), len(phi)))
    y[np.arange(len(labels)), labels] = 1.0
    lam = 0.3 * np.mean(np.sum(phi**2, axis=1))
    gamma = 2.0 * 0.3 * np.trace(x.T @ x) / x.shape[1]
    expected = np.linalg.solve(x.T @ x + gamma * np.eye(x.shape[1]), x.T @ y @ phi) @ np.linalg.inv(
        phi.T @ phi + lam * np.eye(phi.shape[1])
    )
    np.testing.assert_allclose(model.V_, expected, rtol=1e-8, atol=1e-12)
    assert model.lambda_ == pytest.approx(lam) and model.gamma_ == pytest.approx(gamma)
    np.testing.assert_allclose(model.decision_function(theta, phi), x @ expected @ phi.T, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("multi_label", [False, True])
def test_sae_solution_equals_scipy_solve_sylvester(multi_label):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 7))
    phi = rng.normal(size=(9, 15))  # more dimensions than classes: SᵀS is singular
    indicator = np.eye(9)[rng.integers(0, 9, 60)]
    if multi_label:
        indicator[rng.random((60, 9)) < 0.2] = 1.0
    weights = indicator / indicator.sum(axis=1, keepdims=True)
    s = weights @ phi
    lam = 0.7
    expected = scipy.linalg.solve_sylvester(s.T @ s, lam * x.T @ x, (1 + lam) * s.T @ x)
    solution = solve_sae_sylvester(x.T @ x, weights.T @ weights, weights.T @ x, phi, lam)
    np.testing.assert_allclose(solution, expected, rtol=1e-7, atol=1e-10)


def test_sae_fit_solves_the_sylvester_equation_of_its_rescaled_data():
    theta, labels, phi = zero_shot_problem(3, n_classes=10, n_seen=10, per_class=6)["train"]
    model = SAE(lam=2.0).fit(theta, labels, phi)
    x = (theta - theta.mean(axis=0)) / model.acoustic_scale_
    s = phi[labels] / model.semantic_scale_
    residual = s.T @ s @ model.W_ + 2.0 * model.W_ @ x.T @ x - 3.0 * s.T @ x
    assert np.abs(residual).max() < 1e-8 * np.abs(s.T @ x).max()


def test_generative_means_are_the_ridge_regression_of_class_means():
    theta, labels, phi = zero_shot_problem(4, n_classes=10, n_seen=10, per_class=6)["train"]
    model = GaussianGenerative(lam=0.5).fit(theta, labels, phi)
    means = np.stack([theta[labels == k].mean(axis=0) for k in range(10)])
    centred = phi - phi.mean(axis=0)
    penalty = 0.5 * np.mean(np.sum(centred**2, axis=1))
    coef = np.linalg.solve(centred.T @ centred + penalty * np.eye(phi.shape[1]), centred.T @ (means - means.mean(0)))
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-7, atol=1e-10)
    # The score is the Gaussian log-density (scipy's) under each class.
    from scipy.stats import multivariate_normal

    density = multivariate_normal(model.class_means(phi[:1])[0], model.covariance_).logpdf(theta[:3])
    np.testing.assert_allclose(model.decision_function(theta[:3], phi[:1])[:, 0], density, rtol=1e-9)


# --- zero-shot recognition ------------------------------------------------------------------------


@pytest.mark.parametrize("learner", [ESZSL(lam=0.1), SAE(lam=1.0), SAE(lam=1.0, direction="acoustic"),
                                     GaussianGenerative(lam=0.1)], ids=lambda m: repr(m))  # fmt: skip
def test_unseen_classes_are_recognised_well_above_chance(problem, learner):
    learner.fit(*problem["train"])
    accuracy = learner.score(*problem["test"])
    assert accuracy > 0.6, accuracy  # chance is 1/15


def test_sae_acoustic_direction_is_the_better_default_on_the_synthetic_problem():
    accuracy = {
        direction: np.mean([
            SAE(lam=1.0, direction=direction).fit(*data["train"]).score(*data["test"])
            for data in (zero_shot_problem(seed, noise=1.0) for seed in range(3))
        ])
        for direction in ("semantic", "acoustic")
    }  # fmt: skip
    assert accuracy["acoustic"] > accuracy["semantic"], accuracy
    assert SAE().direction == "acoustic"


# --- scale independence ------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLOSED_FORM)
def test_scaled_theta_and_a_three_part_spec_give_the_same_predictions(problem, cls):
    theta, labels, phi = problem["train"]
    test_theta, _, test_phi = problem["test"]
    lam = cls.default_grid[len(cls.default_grid) // 2]
    reference = cls(lam=lam).fit(theta, labels, phi).decision_function(test_theta, test_phi)
    scaled = cls(lam=lam).fit(10 * theta, labels, phi).decision_function(10 * test_theta, test_phi)
    # Three parts of norm 1 each: ‖φ‖² = 3 and three times the dimensions.
    wide = cls(lam=lam).fit(theta, labels, np.hstack([phi] * 3))
    wide_scores = wide.decision_function(test_theta, np.hstack([test_phi] * 3))
    for scores in (scaled, wide_scores):
        np.testing.assert_array_equal(scores.argmax(axis=1), reference.argmax(axis=1))
        # Scores agree up to a constant factor and offset, so rankings do too.
        assert np.corrcoef(scores.ravel(), reference.ravel())[0, 1] > 1 - 1e-9


# --- labels, determinism, sampling ---------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLOSED_FORM)
def test_one_positive_indicator_labels_equal_integer_labels(problem, cls):
    theta, labels, phi = problem["train"]
    indicator = np.eye(len(phi), dtype=int)[labels]
    a = cls(lam=0.3).fit(theta, labels, phi).decision_function(*problem["test"][::2])
    b = cls(lam=0.3).fit(theta, indicator, phi).decision_function(*problem["test"][::2])
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", CLOSED_FORM)
def test_multi_label_clips_are_accepted(problem, cls):
    theta, labels, phi = problem["train"]
    indicator = np.eye(len(phi), dtype=bool)[labels]
    indicator[::7, 0] = True  # some clips also carry class 0
    scores = cls(lam=0.3).fit(theta, indicator, phi).decision_function(*problem["test"][::2])
    assert scores.shape == (len(problem["test"][0]), len(problem["test"][2])) and np.isfinite(scores).all()


@pytest.mark.parametrize("cls", CLOSED_FORM)
def test_same_inputs_give_the_same_model(problem, cls):
    first = cls(lam=0.3).fit(*problem["train"]).decision_function(*problem["test"][::2])
    second = cls(lam=0.3).fit(*problem["train"]).decision_function(*problem["test"][::2])
    np.testing.assert_array_equal(first, second)


def test_sample_is_seeded_and_follows_the_class_means(problem):
    model = GaussianGenerative(lam=0.1).fit(*problem["train"])
    test_phi = problem["test"][2]
    features, labels = model.sample(test_phi, 300, seed=5)
    again, _ = model.sample(test_phi, 300, seed=5)
    other, _ = model.sample(test_phi, 300, seed=6)
    np.testing.assert_array_equal(features, again)
    assert not np.allclose(features, other)
    assert features.shape == (300 * len(test_phi), model.acoustic_dim_)
    np.testing.assert_array_equal(labels, np.repeat(np.arange(len(test_phi)), 300))
    spread = np.sqrt(np.diag(model.covariance_)).max()
    means = np.stack([features[labels == k].mean(axis=0) for k in range(len(test_phi))])
    assert np.abs(means - model.class_means(test_phi)).max() < 5 * spread / np.sqrt(300)
    # Synthesised clips of unseen classes are recognised as those classes.
    assert model.score(features, labels, test_phi) > 0.6


def test_seen_means_uses_empirical_means_of_training_rows_only(problem):
    theta, labels, phi = problem["train"]
    model = GaussianGenerative(lam=0.1, seen_means=True).fit(theta, labels, phi)
    np.testing.assert_allclose(model.class_means(phi[:2]), [theta[labels == 0].mean(0), theta[labels == 1].mean(0)])
    plain = GaussianGenerative(lam=0.1).fit(theta, labels, phi)
    np.testing.assert_array_equal(model.class_means(problem["test"][2]), plain.class_means(problem["test"][2]))


# --- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("learner", "text"),
    [
        (ESZSL(lam=0.0), "lam must be a finite number > 0, got 0.0"),
        (ESZSL(lam=float("nan")), "got nan"),
        (ESZSL(gamma_ratio=-1), "gamma_ratio must be a finite number > 0, got -1"),
        (SAE(lam=True), "got True"),
        (SAE(direction="both"), "'both'"),
        (GaussianGenerative(lam="1"), "got '1'"),
        (GaussianGenerative(seen_means="yes"), "seen_means must be True or False, got 'yes'"),
    ],
)
def test_bad_parameters_raise_config_error_naming_the_value(problem, learner, text):
    with pytest.raises(ConfigError, match=text.replace("(", r"\(")):
        learner.fit(*problem["train"])


@pytest.mark.parametrize("cls", CLOSED_FORM)
def test_bad_inputs_raise_config_error(problem, cls):
    theta, labels, phi = problem["train"]
    with pytest.raises(ConfigError, match="labels must index the 25 class embeddings"):
        cls().fit(theta, labels + 1, phi)
    with pytest.raises(ConfigError, match="acoustic_embeddings contains NaN"):
        cls().fit(np.where(theta > 2, np.nan, theta), labels, phi)
    model = cls().fit(theta, labels, phi)
    with pytest.raises(ConfigError, match="class_embeddings have 23 dimensions, the model expects 24"):
        model.decision_function(theta, phi[:, :-1])


def test_generative_needs_two_classes_and_sample_checks_its_arguments(problem):
    theta, _, phi = problem["train"]
    with pytest.raises(ConfigError, match="at least 2 classes, got 1"):
        GaussianGenerative().fit(theta, np.zeros(len(theta), dtype=int), phi)
    model = GaussianGenerative().fit(*problem["train"])
    with pytest.raises(ConfigError, match="n_per_class must be a whole number >= 1, got 0"):
        model.sample(phi, 0)
    with pytest.raises(ConfigError, match="seed"):
        model.sample(phi, 1, seed=-1)


@pytest.mark.parametrize("cls", CLOSED_FORM)
def test_use_before_fit_raises_not_fitted(problem, cls):
    with pytest.raises(NotFittedError, match=f"this {cls.__name__} is not fitted yet"):
        cls().decision_function(*problem["test"][::2])


# --- the registry ----------------------------------------------------------------------------------------


def test_registry_names_every_learner_and_builds_it():
    assert {"bilinear", "eszsl", "sae", "generative"} <= set(LEARNERS)
    assert LEARNERS["bilinear"] is Bilinear
    for name in ("eszsl", "sae", "generative"):
        assert LEARNERS[name].name == name
        grid = LEARNERS[name].default_grid
        ratios = np.diff(np.log10(grid))
        assert 8 <= len(grid) <= 10 and np.all((ratios > 0.4) & (ratios < 0.6)), grid  # steps of about √10
    model = make_learner("sae", lam=3.0, direction="acoustic")
    assert isinstance(model, SAE) and model.get_params() == {"lam": 3.0, "direction": "acoustic"}


def test_registry_errors_name_the_unknown_learner_or_parameter():
    with pytest.raises(ConfigError, match="unknown learner 'esszl'; known: bilinear, eszsl, sae, generative"):
        make_learner("esszl")
    with pytest.raises(ConfigError, match=r"unknown learner \['sae'\]"):
        make_learner(["sae"])
    with pytest.raises(ConfigError, match=r"unknown ESZSL parameter\(s\) \['gamma'\]"):
        make_learner("eszsl", gamma=1.0)


def test_importing_the_registry_loads_neither_torch_nor_sklearn():
    code = "import sys, zsac.compatibility.learners\nprint('sklearn' in sys.modules, 'torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]  # a learner's module loads when it is looked up


def test_eszsl_plus_minus_one_labels_are_twice_the_zero_one_solution_once_theta_is_centred(problem):
    theta, labels, phi = problem["train"]
    model = ESZSL(lam=0.3).fit(theta, labels, phi)
    x = theta - theta.mean(axis=0)
    zero_one = np.eye(len(phi))[labels]
    expected = np.linalg.solve(x.T @ x + model.gamma_ * np.eye(x.shape[1]), x.T @ zero_one) @ np.linalg.solve(
        phi @ phi.T + model.lambda_ * np.eye(len(phi)), phi
    )
    np.testing.assert_allclose(model.V_, 2 * expected, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("cls", [ESZSL, SAE, GaussianGenerative])
def test_a_lambda_path_equals_one_fit_per_lambda(problem, cls):
    theta, labels, phi = problem["train"]
    lams = (0.03, 1.0, 30.0)
    path = cls().fit_path(theta, labels, phi, lams)
    for lam, fitted in zip(lams, path, strict=True):
        alone = cls(lam=lam).fit(theta, labels, phi)
        assert fitted.lam == lam
        np.testing.assert_allclose(fitted.decision_function(theta, phi), alone.decision_function(theta, phi),
                                   rtol=1e-8, atol=1e-10)  # fmt: skip
