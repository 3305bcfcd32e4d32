"""The bilinear model and the WARP objective, checked against an independent float64 reference."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from zsac import CheckpointError, ConfigError, DataError, NotFittedError
from zsac.checkpoint import model_version
from zsac.compatibility import (
    Bilinear,
    fit_full_batch,
    fit_sgd,
    load_bilinear,
    rank_weight_table,
    save_bilinear,
    select_lambda,
    select_lambda_by_class_folds,
    warp_gradient,
    warp_objective,
    warp_score_gradient,
)
from zsac.compatibility import selection as selection_module
from zsac.compatibility.selection import DEGENERATE_SPREAD, score_spread, warn_if_degenerate


def reference_warp(theta, W, phi, labels, lam, delta=1.0):
    """Eqs. (6)-(9) sample by sample and class by class, in float64: (objective, gradient)."""
    n = len(labels)
    objective, gradient = 0.0, np.zeros_like(W, dtype=np.float64)
    for x, y_true in zip(theta, labels, strict=True):
        score = [float(x @ W @ z) for z in phi]
        hinges = {y: 1.0 * delta + score[y] - score[y_true] for y in range(len(phi)) if y != y_true}
        violated = [y for y, hinge in hinges.items() if hinge > 0]
        rank = len(violated)
        if rank == 0:  # 0/0 = 0: a top-ranked sample with every margin met adds nothing
            continue
        beta = sum(1.0 / i for i in range(1, rank + 1))
        objective += beta / rank * sum(hinges[y] for y in violated) / n
        for y in violated:
            gradient += beta / rank * np.outer(x, phi[y] - phi[y_true]) / n
    return objective + lam * float(np.sum(W * W)), gradient + 2 * lam * W


def random_problem(seed=0, n=12, acoustic_dim=5, semantic_dim=7, n_classes=6, scale=1.0):
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(n, acoustic_dim))
    W = rng.normal(scale=scale, size=(acoustic_dim, semantic_dim))
    phi = rng.normal(size=(n_classes, semantic_dim))
    labels = rng.integers(0, n_classes, n)
    return theta, W, phi, labels


# --- the objective and its gradient against the reference -------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("lam", [0.0, 0.01, 1.0, 10.0])
@pytest.mark.parametrize("scale", [0.05, 0.5, 3.0])  # few, some and many violated margins
def test_objective_and_gradient_match_reference(seed, lam, scale):
    theta, W, phi, labels = random_problem(seed, scale=scale)
    expected_objective, expected_gradient = reference_warp(theta, W, phi, labels, lam)
    assert warp_objective(theta, W, phi, labels, lam) == pytest.approx(expected_objective, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(warp_gradient(theta, W, phi, labels, lam), expected_gradient, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("delta", [0.0, 0.5, 2.0])
def test_margin_delta_matches_reference(delta):
    theta, W, phi, labels = random_problem(1)
    objective, gradient = reference_warp(theta, W, phi, labels, 0.1, delta)
    assert warp_objective(theta, W, phi, labels, 0.1, delta) == pytest.approx(objective, rel=1e-12)
    np.testing.assert_allclose(warp_gradient(theta, W, phi, labels, 0.1, delta), gradient, rtol=1e-10, atol=1e-12)


def test_rank_zero_contributes_nothing():
    # One sample whose true class beats every other by more than the margin: r = 0.
    theta = np.array([[1.0, 0.0]])
    W = np.eye(2) * 5.0
    phi = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    labels = np.array([0])
    assert warp_objective(theta, W, phi, labels, 0.0) == 0.0
    np.testing.assert_array_equal(warp_gradient(theta, W, phi, labels, 0.0), np.zeros((2, 2)))
    # With λ only the penalty remains.
    assert warp_objective(theta, W, phi, labels, 0.5) == pytest.approx(0.5 * 50.0)
    np.testing.assert_allclose(warp_gradient(theta, W, phi, labels, 0.5), 2 * 0.5 * W)


def test_hinge_exactly_zero_is_not_a_violation():
    # Scores 1, 0, 0 for true class 0 and Δ = 1: both hinges are exactly 0, so r = 0.
    theta = np.array([[1.0]])
    W = np.array([[1.0]])
    phi = np.array([[1.0], [0.0], [0.0]])
    labels = np.array([0])
    assert warp_objective(theta, W, phi, labels, 0.0) == 0.0
    np.testing.assert_array_equal(warp_gradient(theta, W, phi, labels, 0.0), [[0.0]])


def test_tied_scores_hand_computed():
    # W = 0: every score ties, every hinge is Δ = 1, r = n_classes - 1 = 3 for each sample.
    theta = np.array([[1.0, 2.0], [0.5, -1.0]])
    W = np.zeros((2, 3))
    phi = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    labels = np.array([0, 3])
    beta3 = 1 + 1 / 2 + 1 / 3
    # Per sample: β(3)/3 · (1 + 1 + 1) = β(3).
    assert warp_objective(theta, W, phi, labels, 0.0) == pytest.approx(beta3)
    # Sample 0: (β/3) θ0 (φ1 + φ2 + φ3 - 3 φ0)ᵀ; sample 1: (β/3) θ1 (φ0 + φ1 + φ2 - 3 φ3)ᵀ; mean of the two.
    expected = (
        (
            np.outer(theta[0], phi[1] + phi[2] + phi[3] - 3 * phi[0])
            + np.outer(theta[1], phi[0] + phi[1] + phi[2] - 3 * phi[3])
        )
        * beta3
        / 3
        / 2
    )
    np.testing.assert_allclose(warp_gradient(theta, W, phi, labels, 0.0), expected, rtol=1e-12)


def test_rank_weight_table():
    table = rank_weight_table(5)
    np.testing.assert_allclose(table, [0.0, 1.0, 1.5 / 2, (1 + 1 / 2 + 1 / 3) / 3, (1 + 1 / 2 + 1 / 3 + 1 / 4) / 4])


def test_gradient_matches_finite_differences_away_from_kinks():
    theta, W, phi, labels = random_problem(3, scale=0.7)
    gradient = warp_gradient(theta, W, phi, labels, 0.3)
    rng = np.random.default_rng(5)
    for _ in range(5):
        direction = rng.normal(size=W.shape)
        step = 1e-6
        numeric = (
            warp_objective(theta, W + step * direction, phi, labels, 0.3)
            - warp_objective(theta, W - step * direction, phi, labels, 0.3)
        ) / (2 * step)
        assert numeric == pytest.approx(float(np.sum(gradient * direction)), rel=1e-6)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t, W, p, y: (t[:, :2], W, p, y), "do not chain"),
        (lambda t, W, p, y: (t, W, p, y.astype(float)), "integers"),
        (lambda t, W, p, y: (t, W, p, y[:3]), "integers"),
        (lambda t, W, p, y: (t, W, p, np.full_like(y, 6)), "index the 6 rows"),
        (lambda t, W, p, y: (t[0], W, p, y), "2-D"),
    ],
)
def test_objective_rejects_bad_input(change, message):
    args = change(*random_problem(0))
    with pytest.raises(ConfigError, match=message):
        warp_objective(*args, 0.0)


def test_negative_lambda_is_an_error():
    with pytest.raises(ConfigError, match="lam"):
        warp_objective(*random_problem(0), -1.0)


# --- the torch kernel used by the solvers -----------------------------------------------------


@pytest.mark.parametrize("scale", [0.05, 0.5, 3.0])
def test_torch_kernel_matches_numpy_definition(scale):
    theta, W, phi, labels = random_problem(2, n=40, scale=scale)
    scores = torch.as_tensor(theta @ W @ phi.T)
    table = torch.as_tensor(rank_weight_table(len(phi)))
    loss, score_gradient = warp_score_gradient(scores.clone(), torch.as_tensor(labels), table)
    assert float(loss) == pytest.approx(warp_objective(theta, W, phi, labels, 0.0), rel=1e-12)
    gradient = theta.T @ score_gradient.numpy() @ phi
    np.testing.assert_allclose(gradient, warp_gradient(theta, W, phi, labels, 0.0), rtol=1e-10, atol=1e-13)


# --- solvers and the estimator ----------------------------------------------------------------


def zero_shot_problem(seed=0, n_train=600, n_test=300, train_classes=12, test_classes=6):
    """Clips and classes from one latent space: unseen classes are predictable from their embeddings."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(train_classes + test_classes, 6))
    phi = latent @ rng.normal(size=(6, 20)) + 0.05 * rng.normal(size=(len(latent), 20))
    mixing = rng.normal(size=(6, 10))

    def clips(class_ids, n):
        labels = rng.integers(0, len(class_ids), n)
        return latent[class_ids[labels]] @ mixing + 0.3 * rng.normal(size=(n, 10)), labels

    train_ids = np.arange(train_classes)
    test_ids = np.arange(train_classes, train_classes + test_classes)
    return (*clips(train_ids, n_train), phi[train_ids]), (*clips(test_ids, n_test), phi[test_ids])


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_every_solver_learns_and_transfers_to_unseen_classes(solver):
    train, test = zero_shot_problem()
    model = Bilinear(lam=0.01, solver=solver).fit(*train)
    start = warp_objective(train[0], np.zeros_like(model.W_), train[2], train[1], 0.01)
    assert model.objective_ < 0.5 * start
    assert model.score(*train) > 0.6
    assert model.score(*test) > 0.6  # chance is 1/6
    assert model.W_.shape == (10, 20) and model.W_.dtype == np.float64


def test_objective_attribute_is_the_float64_definition():
    train, _ = zero_shot_problem()
    model = Bilinear(lam=0.1).fit(*train)
    assert model.objective_ == warp_objective(train[0], model.W_, train[2], train[1], 0.1)


@pytest.mark.parametrize("method, tolerance", [("lbfgs", 1e-6), ("adam", 1e-2)])
def test_full_batch_finds_the_closed_form_minimum_of_a_strongly_regularised_problem(method, tolerance):
    # While every hinge stays violated, the data term is linear in W with the gradient g0 it
    # has at W = 0, so the minimiser of eq. (9) is W* = -g0 / (2λ). A large λ keeps W* there.
    train, _ = zero_shot_problem(n_train=200)
    lam = 1e5
    W_star = -warp_gradient(train[0], np.zeros((10, 20)), train[2], train[1], 0.0) / (2 * lam)
    scores = train[0] @ W_star @ train[2].T
    margins = 1 + scores - scores[np.arange(200), train[1]][:, None]
    margins[np.arange(200), train[1]] = 1.0
    assert margins.min() > 0.1  # the premise: W* lies inside the all-violated region
    W = fit_full_batch(*train, lam=lam, method=method, dtype=torch.float64, max_iter=300).W
    assert np.linalg.norm(W - W_star) < tolerance * np.linalg.norm(W_star)


def test_full_batch_solution_lies_in_the_span_of_the_training_classes():
    train, _ = zero_shot_problem()
    W = Bilinear(lam=1.0).fit(*train).W_
    phi = train[2]
    projector = np.linalg.pinv(phi) @ phi
    np.testing.assert_allclose(W @ projector, W, atol=1e-10)


def test_rescaling_leaves_the_minimiser_unchanged():
    train, _ = zero_shot_problem(n_train=200)
    x, y, phi = train
    lam = 1.0
    W = fit_full_batch(x, y, phi, lam=lam, dtype=torch.float64, max_iter=200).W
    # Scaling θ by a and φ by b scales the optimal W by 1/(ab) once λ is scaled by (ab)².
    a, b = 7.0, 0.2
    W_scaled = fit_full_batch(a * x, y, b * phi, lam=lam * (a * b) ** 2, dtype=torch.float64, max_iter=200).W
    np.testing.assert_allclose(W_scaled * a * b, W, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_same_seed_same_model(solver):
    train, _ = zero_shot_problem(n_train=200)
    first = Bilinear(solver=solver, init="normal", seed=3, max_iter=20).fit(*train).W_
    again = Bilinear(solver=solver, init="normal", seed=3, max_iter=20).fit(*train).W_
    other = Bilinear(solver=solver, init="normal", seed=4, max_iter=20).fit(*train).W_
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_fit_leaves_global_random_state_alone():
    train, _ = zero_shot_problem(n_train=100)
    np.random.seed(1)
    torch.manual_seed(1)
    expected = (np.random.random(), torch.rand(1).item())
    np.random.seed(1)
    torch.manual_seed(1)
    Bilinear(solver="sgd", init="normal", max_iter=2).fit(*train)
    assert (np.random.random(), torch.rand(1).item()) == expected


def test_sgd_objective_curve_decreases():
    train, _ = zero_shot_problem()
    curve = fit_sgd(*train, lam=0.01, epochs=8).objective_curve
    assert len(curve) == 8 and curve[-1] < curve[0]


def test_predict_takes_any_classes_at_predict_time():
    train, test = zero_shot_problem()
    model = Bilinear(lam=0.01).fit(*train)
    scores = model.decision_function(test[0], test[2])
    assert scores.shape == (len(test[0]), len(test[2]))
    np.testing.assert_allclose(scores, test[0] @ model.W_ @ test[2].T, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(test[0], test[2]), np.argmax(scores, axis=1))
    # Columns follow the class order given: reversing the classes reverses the predictions.
    reversed_predictions = model.predict(test[0], test[2][::-1])
    np.testing.assert_array_equal(reversed_predictions, len(test[2]) - 1 - model.predict(test[0], test[2]))


def test_predict_ties_go_to_the_lowest_index():
    model = Bilinear()
    model.W_ = np.eye(2)
    model.acoustic_dim_, model.semantic_dim_ = 2, 2
    assert model.predict(np.array([[1.0, 1.0]]), np.array([[0.0, 0.0], [0.0, 0.0]])).tolist() == [0]


def test_estimator_parameters_and_errors():
    model = Bilinear(lam=1.0, solver="adam")
    assert model.get_params()["lam"] == 1.0
    assert repr(model) == "Bilinear(lam=1.0, solver='adam')"
    with pytest.raises(ConfigError, match="unknown Bilinear parameter"):
        model.set_params(lambda_=1)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.predict(np.zeros((1, 2)), np.zeros((1, 2)))
    train, _ = zero_shot_problem(n_train=50)
    for bad, message in [
        (dict(solver="newton"), "solver"),
        (dict(lam=-1), "lam"),
        (dict(init="ones"), "init"),
        (dict(dtype="float16"), "dtype"),
        (dict(max_iter=0), "max_iter"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Bilinear(**bad).fit(*train)
    with pytest.raises(ConfigError, match="index the 12 rows of phi"):
        Bilinear().fit(train[0], train[1] + 12, train[2])
    with pytest.raises(ConfigError, match="NaN"):
        Bilinear().fit(np.full_like(train[0], np.nan), train[1], train[2])
    fitted = Bilinear(max_iter=2).fit(*train)
    with pytest.raises(ConfigError, match="expects 10"):
        fitted.predict(np.zeros((1, 3)), train[2])
    with pytest.raises(ConfigError, match="expects 20"):
        fitted.predict(train[0], np.zeros((2, 3)))


# --- λ selection --------------------------------------------------------------------------------


def test_select_lambda_picks_the_best_validation_top1():
    train, validation = zero_shot_problem()
    selection = select_lambda(*train, *validation, grid=(0.0, 0.01, 1.0, 10.0))
    assert set(selection.validation_top1) == {0.0, 0.01, 1.0, 10.0}
    best = max(selection.validation_top1.values())
    assert selection.validation_top1[selection.lam] == best
    assert selection.model.lam == selection.lam
    # The returned model is the one that was scored.
    assert selection.model.score(*validation) == best


def test_select_lambda_ties_go_to_the_larger_lambda(monkeypatch):
    train, validation = zero_shot_problem(n_train=100)
    monkeypatch.setattr(selection_module, "_validation_scores", lambda *args: (0.5, 0.5, False))
    assert select_lambda(*train, *validation, grid=(0.0, 1.0, 0.01)).lam == 1.0


def test_select_lambda_breaks_top1_ties_by_map_not_by_lambda(monkeypatch):
    train, validation = zero_shot_problem(n_train=100)
    mean_ap = {0.0: 0.6, 0.01: 0.7, 1.0: 0.65}
    monkeypatch.setattr(selection_module, "_validation_scores", lambda model, *args: (0.5, mean_ap[model.lam], False))
    selection = select_lambda(*train, *validation, grid=(0.0, 1.0, 0.01))
    assert selection.lam == 0.01 and selection.validation_map == mean_ap


def test_select_lambda_never_chooses_a_model_with_near_constant_scores(monkeypatch):
    train, validation = zero_shot_problem(n_train=100)
    # λ=10 has the best Top-1 and mAP, but its scores are flat: it must lose to any other.
    scores = {0.0: (0.4, 0.5, False), 1.0: (0.3, 0.4, False), 10.0: (0.9, 0.9, True)}
    monkeypatch.setattr(selection_module, "_validation_scores", lambda model, *args: scores[model.lam])
    selection = select_lambda(*train, *validation, grid=(0.0, 1.0, 10.0))
    assert selection.lam == 0.0 and selection.degenerate == (10.0,)


def tiny_scale_problem():
    """4 balanced classes of 4 clips whose acoustic embeddings are so small that λ >= 1 flattens W."""
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(4, 32))
    phi /= np.linalg.norm(phi, axis=1, keepdims=True)
    return 0.01 * rng.normal(size=(16, 128)), np.repeat(np.arange(4), 4), phi


def test_class_fold_selection_does_not_let_a_flat_model_win_by_tie_order():
    # Before: every λ tied at Top-1 0.625 on 2-class folds, so λ=10 won, whose W was ~2e-4
    # and whose probabilities were 1/K to four decimals.
    acoustic, labels, phi = tiny_scale_problem()
    chosen = select_lambda_by_class_folds(acoustic, labels, phi, grid=(0.0, 0.01, 1.0, 10.0), seed=0)
    assert 10.0 in chosen.degenerate and chosen.lam not in chosen.degenerate
    model = Bilinear(lam=chosen.lam).fit(acoustic, labels, phi)
    assert score_spread(model.decision_function(acoustic, phi)) > DEGENERATE_SPREAD * model.delta


def test_top1_of_selection_counts_tied_scores_as_misses():
    train, validation = zero_shot_problem(n_train=100)
    flat = Bilinear(max_iter=1).fit(*train)
    flat.W_ = np.zeros_like(flat.W_)
    top1, mean_ap, degenerate = selection_module._validation_scores(flat, *validation)
    n_classes = len(validation[2])
    assert top1 == 0.0 and mean_ap == pytest.approx(1 / n_classes) and degenerate


def test_warn_if_degenerate_names_the_flat_model(caplog):
    acoustic, labels, phi = tiny_scale_problem()
    with caplog.at_level("WARNING", logger="zsac.compatibility.selection"):
        assert warn_if_degenerate(Bilinear(lam=10.0).fit(acoustic, labels, phi), acoustic, phi)
        assert not warn_if_degenerate(Bilinear(lam=0.01).fit(acoustic, labels, phi), acoustic, phi)
    assert caplog.text.count("nearly the same score") == 1 and "λ=10" in caplog.text


def test_select_lambda_refit_trains_on_every_seen_class():
    train, validation = zero_shot_problem()
    selection = select_lambda(*train, *validation, grid=(0.01, 1.0), refit=True)
    expected = Bilinear(lam=selection.lam).fit(
        np.concatenate([train[0], validation[0]]),
        np.concatenate([train[1], validation[1] + len(train[2])]),
        np.concatenate([train[2], validation[2]]),
    )
    np.testing.assert_array_equal(selection.model.W_, expected.W_)


def test_select_lambda_uses_the_estimator_settings():
    train, validation = zero_shot_problem(n_train=100)
    template = Bilinear(solver="sgd", max_iter=3, lam=123.0)
    selection = select_lambda(*train, *validation, estimator=template, grid=(0.01,))
    assert selection.model.solver == "sgd" and selection.model.n_iter_ == 3
    assert template.lam == 123.0 and not hasattr(template, "W_")  # the template is not modified


@pytest.mark.parametrize("grid", [(), (-1.0,), (0.1, 0.1)])
def test_select_lambda_rejects_bad_grids(grid):
    train, validation = zero_shot_problem(n_train=50)
    with pytest.raises(ConfigError, match="grid"):
        select_lambda(*train, *validation, grid=grid)


# --- saving and loading -------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    train, test = zero_shot_problem(n_train=100)
    model = Bilinear(lam=0.5, solver="adam", max_iter=30).fit(*train)
    save_bilinear(model, tmp_path / "model", metadata={"spec": "WLE", "classes": ["a", "b"]})
    loaded, metadata = load_bilinear(tmp_path / "model")
    assert metadata == {"spec": "WLE", "classes": ["a", "b"]}
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.W_, model.W_)
    np.testing.assert_array_equal(loaded.decision_function(test[0], test[2]), model.decision_function(test[0], test[2]))
    assert sorted(p.name for p in model_version(tmp_path / "model").iterdir()) == [
        "bilinear.json",
        "bilinear.safetensors",
    ]


def test_loading_broken_models_names_the_file(tmp_path):
    train, _ = zero_shot_problem(n_train=50)
    directory = save_bilinear(Bilinear(max_iter=2).fit(*train), tmp_path / "m")
    with pytest.raises(CheckpointError, match="bilinear.json is missing"):
        load_bilinear(tmp_path / "missing")
    (model_version(directory) / "bilinear.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match="bilinear.safetensors"):
        load_bilinear(directory)
    # Weights that do not fit the config are refused, never loaded loosely.
    save_bilinear(Bilinear(max_iter=2).fit(*train), directory)
    config = json.loads((model_version(directory) / "bilinear.json").read_text())
    config["semantic_dim"] = 21
    (model_version(directory) / "bilinear.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="bilinear.safetensors does not hold what its description says"):
        load_bilinear(directory)
    (model_version(directory) / "bilinear.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="malformed"):
        load_bilinear(directory)


def test_saving_replaces_a_model_but_never_other_files(tmp_path):
    train, _ = zero_shot_problem(n_train=50)
    model = Bilinear(max_iter=2).fit(*train)
    folder = save_bilinear(model, tmp_path / "m")
    save_bilinear(model, folder)  # a model folder is replaced whole
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="notes.txt"):
        save_bilinear(model, folder)
    assert (folder / "notes.txt").read_text() == "keep me" and (model_version(folder) / "bilinear.json").is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is a file, not a model folder"):
        save_bilinear(model, tmp_path / "file")


def test_saving_an_unfitted_model_is_an_error(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted"):
        save_bilinear(Bilinear(), tmp_path / "m")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_cuda_matches_cpu(solver):
    train, _ = zero_shot_problem()
    cpu = Bilinear(solver=solver, dtype="float64", max_iter=30).fit(*train).W_
    cuda = Bilinear(solver=solver, dtype="float64", max_iter=30, device="cuda").fit(*train).W_
    np.testing.assert_allclose(cuda, cpu, rtol=1e-6, atol=1e-9)


# --- review additions: solver input checks, float32 kernel, λ-selection warning ---------------


@pytest.mark.parametrize("fit", [fit_full_batch, fit_sgd])
@pytest.mark.parametrize(
    "change, message",
    [
        (lambda x, y, p: (x, y + 0.7, p, {}), "integers"),
        (lambda x, y, p: (x, y + 100, p, {}), "index the 12 rows"),
        (lambda x, y, p: (x, y, p, {"lam": -1.0}), "lam"),
        (lambda x, y, p: (x, y, p, {"lam": float("nan")}), "lam"),
        (lambda x, y, p: (x, y, np.zeros_like(p), {}), "all zero"),
        (lambda x, y, p: (x * np.nan, y, p, {}), "NaN"),
    ],
)
def test_solvers_check_their_inputs(fit, change, message):
    train, _ = zero_shot_problem(n_train=40)
    theta, labels, phi, options = change(*train)
    with pytest.raises(ConfigError, match=message):
        fit(theta, labels, phi, **{"lam": 0.1, **options})


def test_solvers_reject_bad_step_settings():
    train, _ = zero_shot_problem(n_train=40)
    with pytest.raises(ConfigError, match="learning_rate"):
        fit_full_batch(*train, lam=0.1, method="adam", learning_rate=-1.0)
    with pytest.raises(ConfigError, match="batch_size"):
        fit_sgd(*train, lam=0.1, batch_size=0)
    with pytest.raises(ConfigError, match="max_iter"):
        Bilinear(max_iter=2.5).fit(*train)
    with pytest.raises(ConfigError, match="lam"):
        Bilinear(lam=True).fit(*train)
    assert Bilinear(lam=np.float32(0.01), max_iter=2).fit(*train).W_.shape == (10, 20)


def test_torch_kernel_in_float32_matches_float64():
    theta, W, phi, labels = random_problem(4, n=64, scale=0.5)
    scores = theta @ W @ phi.T
    table = rank_weight_table(len(phi))
    loss32, grad32 = warp_score_gradient(
        torch.as_tensor(scores, dtype=torch.float32),
        torch.as_tensor(labels),
        torch.as_tensor(table, dtype=torch.float32),
    )
    loss64, grad64 = warp_score_gradient(torch.as_tensor(scores), torch.as_tensor(labels), torch.as_tensor(table))
    assert float(loss32) == pytest.approx(float(loss64), rel=1e-5)
    np.testing.assert_allclose(grad32.numpy(), grad64.numpy(), rtol=1e-5, atol=1e-7)


def test_sgd_stays_stable_with_a_large_lambda():
    # The penalty's step is implicit, so even 2ηλ >> 1 shrinks W instead of blowing it up.
    train, _ = zero_shot_problem(n_train=200)
    result = fit_sgd(*train, lam=1e6, learning_rate=5.0, epochs=3)
    assert np.isfinite(result.W).all() and np.abs(result.W).max() < 1e-3


def test_select_lambda_warns_when_every_lambda_ties(monkeypatch, caplog):
    train, validation = zero_shot_problem(n_train=100)
    monkeypatch.setattr(selection_module, "_validation_scores", lambda *args: (0.25, 0.5, False))
    with caplog.at_level("WARNING", logger="zsac.compatibility.selection"):
        select_lambda(*train, *validation, grid=(0.0, 1.0))
    assert "arbitrary" in caplog.text
