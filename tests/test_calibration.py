"""Calibrated stacking learnt at fit time, applied when training and new classes compete; the train report's guards.

The calibration is learnt by class-split cross-validation over the training classes (Chao et al. 2016),
so these tests use a learner that over-scores exactly the classes it was trained on, in every fold as in the
final model: uncalibrated, the new classes then never win; the learnt γ must give them back.
"""

from __future__ import annotations

import json
import logging
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import latent_problem
from zsac import CheckpointError, ConfigError, DataError, ZeroShotClassifier
from zsac._settings import check_calibration, parse_calibration
from zsac.checkpoint import model_version
from zsac.commands import run_classify, run_train
from zsac.commands.train import report, warn_near_chance
from zsac.compatibility.bilinear import Bilinear
from zsac.compatibility.selection import (
    class_fold_chance,
    class_folds,
    select_calibration_by_class_folds,
    select_lambda_by_class_folds,
)
from zsac.evaluation import (
    generalized_zero_shot_accuracy,
    near_chance,
    seen_unseen_accuracy,
    seen_unseen_curve,
)
from zsac.protocols import seen_class_holdout
from zsac.semantic.tables import ClassTable, load_class_table

#: What the over-scoring learner adds to the scores of its training classes: far more than the gaps
#: between the classes' scores on these data (about 1), so that uncalibrated, no new class ever wins.
BIAS = 25.0


class OverScoring(Bilinear):
    """The bilinear model, plus ``bias`` on the score of every class it was fitted on (matched by embedding)."""

    def __init__(self, *, bias: float = BIAS, **params) -> None:
        super().__init__(**params)
        self.bias = bias

    def fit(self, acoustic_embeddings, labels, class_embeddings):
        super().fit(acoustic_embeddings, labels, class_embeddings)
        self.trained_ = np.asarray(class_embeddings, dtype=np.float64).copy()
        return self

    def decision_function(self, acoustic_embeddings, class_embeddings):
        scores = super().decision_function(acoustic_embeddings, class_embeddings)
        phi = np.asarray(class_embeddings, dtype=np.float64)
        trained = np.any(np.all(np.isclose(phi[:, None, :], self.trained_[None]), axis=2), axis=1)
        return scores + self.bias * trained


def small_latent_problem(root: Path):
    """12 classes, 8 seen, 10 clips each, 16-d acoustic embeddings (see :func:`conftest.latent_problem`)."""
    return latent_problem(
        root, n_classes=12, n_seen=8, per_class=10, acoustic_dim=16, acoustic_noise=0.3, table_noise_dims=2
    )


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    return small_latent_problem(tmp_path_factory.mktemp("calibration"))


def wle(problem, **params) -> ZeroShotClassifier:
    return ZeroShotClassifier(**{"semantic": "WLE", "tables": {"WLE": str(problem.table)}, "progress": False,
                                 "lam": 1.0, "max_iter": 200, **params})  # fmt: skip


@pytest.fixture(scope="module")
def over_scoring(problem):
    """A classifier whose learner over-scores its training classes by BIAS, fitted on the seen classes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            ZeroShotClassifier, "_bilinear",
            lambda self, lam: OverScoring(lam=lam, solver=self.solver, max_iter=self.max_iter, seed=self.seed),
        )  # fmt: skip
        return wle(problem).fit(problem.X[problem.seen], problem.y[problem.seen])


@pytest.fixture(scope="module")
def plain(problem):
    return wle(problem).fit(problem.X[problem.seen], problem.y[problem.seen])


def gzsl(model, problem, **kwargs):
    """Seen and unseen per-class accuracy of ``model.predict`` among all the classes."""
    predicted = model.predict(problem.X, classes=problem.names, **kwargs)
    labels = np.searchsorted(problem.names, problem.y)
    scores = (predicted[:, None] == np.asarray(problem.names)[None]).astype(float)  # one-hot of the predictions
    return generalized_zero_shot_accuracy(scores, labels, np.isin(problem.names, problem.seen_names))


# ------------------------------------------------------------------------------------------------ the metric


def test_seen_unseen_accuracy_is_generalized_accuracy_at_every_calibration():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(40, 6))
    labels = rng.integers(0, 6, size=40)
    labels[:2] = [0, 5]
    mask = np.array([True, True, True, False, False, False])
    curve = seen_unseen_curve(scores, labels, mask)
    seen, unseen = seen_unseen_accuracy(scores, labels, mask, curve.calibrations)
    np.testing.assert_allclose(seen, curve.seen, atol=1e-12)
    np.testing.assert_allclose(unseen, curve.unseen, atol=1e-12)
    gammas = rng.normal(scale=2.0, size=25)
    seen, unseen = seen_unseen_accuracy(scores, labels, mask, gammas)
    for gamma, s, u in zip(gammas, seen, unseen, strict=True):
        expected = generalized_zero_shot_accuracy(scores, labels, mask, calibration=gamma)
        assert (s, u) == pytest.approx((expected.seen, expected.unseen), abs=1e-12)


@pytest.mark.parametrize(
    ("accuracy", "chance", "near"),
    # Chance + a third of the way to 1: 0.125 + 0.875 / 3 = 0.4167 for 8 classes, 0.6667 for 2.
    [(0.21, 0.125, True), (0.41, 0.125, True), (0.42, 0.125, False), (0.66, 0.5, True), (0.67, 0.5, False)],
)
def test_near_chance_is_a_third_of_the_way_from_chance_to_one(accuracy, chance, near):
    assert near_chance(accuracy, chance) is near


def test_class_fold_chance_is_the_mean_of_one_over_the_held_out_classes():
    folds = class_folds(12, seed=0)
    assert sorted(map(len, folds)) == [2, 2, 2, 3, 3]
    assert class_fold_chance(folds) == pytest.approx((2 / 3 + 3 / 2) / 5)
    assert class_folds(3, seed=0) == [] and class_fold_chance([]) is None
    # The folds of λ selection are these folds.
    theta, labels = np.random.default_rng(0).normal(size=(48, 4)), np.repeat(np.arange(12), 4)
    phi = np.random.default_rng(1).normal(size=(12, 3))
    chosen = select_lambda_by_class_folds(theta, labels, phi, estimator=Bilinear(max_iter=5), grid=[1.0], seed=0)
    assert chosen.folds == folds


# ------------------------------------------------------------------------------------------------ learning γ


def test_calibration_selection_undoes_a_learner_that_over_scores_its_training_classes(problem):
    keep = problem.seen
    labels = np.searchsorted(problem.seen_names, problem.y[keep])
    phi = load_class_table(problem.table).embeddings[: len(problem.seen_names)]
    folds = class_folds(len(problem.seen_names), seed=0)
    estimator = OverScoring(lam=1.0, max_iter=200)
    chosen = select_calibration_by_class_folds(problem.X[keep], labels, phi, estimator=estimator, folds=folds)
    assert chosen.n_folds == len(folds) == 4
    # Uncalibrated, every clip goes to a seen class.
    assert chosen.unseen_at_0 == 0.0 and chosen.harmonic_mean_at_0 == 0.0 and chosen.seen_at_0 > 0.8
    assert BIAS - 5 < chosen.gamma < BIAS + 5, chosen.gamma
    assert chosen.harmonic_mean > 0.6 and chosen.seen > 0.6 and chosen.unseen > 0.6  # observed 0.71, 0.69, 0.78
    assert not hasattr(estimator, "W_")  # copied, never fitted itself


def test_the_clips_kept_out_never_reach_a_fold_fit():
    from spy_learners import Fits, SpyRidge, zero_shot_problem

    theta, labels, phi = zero_shot_problem(n_classes=8, per_class=6)
    phi = np.stack([phi[c] for c in range(8)])
    folds = class_folds(8, seed=0)
    for kept_out in (None, np.arange(labels.size) % 3 == 0):
        fits = Fits()
        chosen = select_calibration_by_class_folds(theta, labels, phi, estimator=SpyRidge(fits=fits), folds=folds,
                                                   kept_out=kept_out)  # fmt: skip
        assert chosen.n_folds == len(fits) == len(folds)
        expected = seen_class_holdout(labels.tolist(), range(8), seed=0) if kept_out is None else kept_out
        assert expected.any()
        for (fitted, _, _), held_out in zip(fits, folds, strict=True):
            used = ~np.isin(labels, held_out) & ~expected  # the fold's seen clips, less those kept out
            np.testing.assert_array_equal(fitted, theta[used])
    with pytest.raises(ConfigError, match="kept_out must mark each"):
        select_calibration_by_class_folds(theta, labels, phi, estimator=SpyRidge(), folds=folds, kept_out=[True])


def test_no_folds_or_no_seen_clip_to_keep_out_is_no_calibration():
    theta, labels = np.random.default_rng(0).normal(size=(16, 4)), np.repeat(np.arange(8), 2)  # 2 clips a class
    phi = np.random.default_rng(1).normal(size=(8, 3))
    estimator = Bilinear(max_iter=5)
    assert select_calibration_by_class_folds(theta, labels, phi, estimator=estimator, folds=[]) is None
    folds = class_folds(8, seed=0)
    assert select_calibration_by_class_folds(theta, labels, phi, estimator=estimator, folds=folds) is None


def test_fit_learns_gamma_and_predict_uses_it(over_scoring, problem):
    scores = over_scoring.calibration_scores_
    assert over_scoring.calibration_ == scores["gamma"] and BIAS - 5 < scores["gamma"] < BIAS + 5
    assert scores["n_folds"] == 4 and scores["harmonic_mean_at_0"] == 0.0 and scores["harmonic_mean"] > 0.6
    none = gzsl(over_scoring.set_params(calibration="none"), problem)
    assert over_scoring.calibration_ == 0.0
    auto = gzsl(over_scoring.set_params(calibration="auto"), problem)
    # Uncalibrated the new classes never win; calibrated they do, and the seen ones still mostly do.
    assert none.unseen == 0.0 and none.seen > 0.8  # observed 0.875 (the clips are the training clips)
    assert auto.harmonic_mean > 0.5 and auto.unseen > 0.5, auto
    over_scoring.set_params(calibration=2 * BIAS)  # a γ given: the training classes never win
    assert over_scoring.calibration_ == 2 * BIAS and gzsl(over_scoring, problem).seen == 0.0
    over_scoring.set_params(calibration="auto")


def test_gamma_applies_only_when_training_and_new_classes_are_offered_together(over_scoring, problem):
    X, gamma = problem.X[:20], over_scoring.calibration_
    assert gamma > 0
    for classes, applied in [(problem.seen_names, 0.0), (problem.unseen_names, 0.0), (problem.names, gamma),
                             (None, 0.0)]:  # fmt: skip
        ranking = over_scoring.rank(X, classes=classes)
        assert ranking.calibration == applied
        raw = over_scoring.decision_function(X, classes=classes)
        np.testing.assert_array_equal(ranking.scores, raw)  # decision_function stays eq. (4)
        expected = raw - applied * ranking.seen
        np.testing.assert_allclose(ranking.calibrated_scores, expected)
        probabilities = np.exp(expected - expected.max(axis=1, keepdims=True))
        np.testing.assert_allclose(ranking.probabilities, probabilities / probabilities.sum(axis=1, keepdims=True))
        np.testing.assert_allclose(over_scoring.predict_proba(X, classes=classes), ranking.probabilities)
        best = np.asarray(ranking.classes)[np.argmax(expected, axis=1)]
        np.testing.assert_array_equal(over_scoring.predict(X, classes=classes), best)
        assert [row[0][2] for row in ranking.top(1)] == pytest.approx(expected.max(axis=1).tolist())


def test_training_classes_are_known_by_name_ignoring_case_spacing_and_underscores(over_scoring, problem):
    table = load_class_table(problem.table)
    names = ("SOUND  00", "sound_01", "sound 11")
    rows = table.embeddings[[0, 1, 11]]
    ranking = over_scoring.rank(problem.X[:3], classes=ClassTable(rows, names=names, spec="WLE"))
    assert ranking.seen.tolist() == [True, True, False] and ranking.calibration == over_scoring.calibration_


def test_fewer_than_four_classes_is_no_calibration_with_a_warning(problem, caplog):
    keep = np.isin(problem.y, problem.names[:3])
    with caplog.at_level(logging.WARNING, logger="zsac"):
        model = wle(problem).fit(problem.X[keep], problem.y[keep])
    assert model.calibration_ == 0.0 and model.calibration_scores_ == {}
    assert model.class_fold_top1_ is None and model.class_fold_chance_ is None
    assert any("calibration needs at least 4 training classes" in r.getMessage() for r in caplog.records)


def test_class_fold_figures_are_the_lambda_selections(problem, plain):
    model = wle(problem, lam="auto", lambda_grid=[0.01, 1.0]).fit(problem.X[problem.seen], problem.y[problem.seen])
    assert model.class_fold_top1_ == model.lambda_scores_[model.lambda_]
    assert model.class_fold_chance_ == pytest.approx(class_fold_chance(class_folds(8, seed=0))) == 0.5
    # With λ given: the calibration's fold models, scored among the held-out classes alone.
    assert plain.lambda_scores_ == {} and 0.5 < plain.class_fold_top1_ <= 1.0 and plain.class_fold_chance_ == 0.5


@pytest.mark.parametrize("word", ["auto", "none", "0.25", "-1", "3e-2"])
def test_calibration_option_words(word):
    value = parse_calibration(word)
    assert value == (word if word in ("auto", "none") else float(word))
    check_calibration(value)


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "sometimes", ""])
def test_calibration_option_refuses_other_words(bad):
    with pytest.raises(ConfigError, match="calibration must be auto, none or a finite number"):
        parse_calibration(bad)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), True, "Auto", None, [0.1]])
def test_calibration_parameter_is_checked(problem, bad):
    with pytest.raises(ConfigError, match="calibration must be"):
        wle(problem, calibration=bad).fit(problem.X[:40], problem.y[:40])


# ------------------------------------------------------------------------------------------------ save and load


@pytest.fixture
def saved(plain, tmp_path):
    assert plain.calibration_ > 0
    return plain.save(tmp_path / "model")


def classifier_json(folder: Path) -> Path:
    return model_version(folder) / "classifier.json"


def edit(folder: Path, change) -> None:
    path = classifier_json(folder)
    config = json.loads(path.read_text())
    change(config)
    path.write_text(json.dumps(config))


def load(folder: Path, problem, **overrides) -> ZeroShotClassifier:
    return ZeroShotClassifier.load(folder, tables={"WLE": str(problem.table)}, **overrides)


def test_save_and_load_keep_gamma_and_its_figures(plain, saved, problem):
    loaded = load(saved, problem)
    assert loaded.calibration_ == plain.calibration_
    assert loaded.calibration_scores_ == plain.calibration_scores_
    assert (loaded.class_fold_top1_, loaded.class_fold_chance_) == (plain.class_fold_top1_, plain.class_fold_chance_)
    assert loaded.degenerate_ is plain.degenerate_ is False
    np.testing.assert_array_equal(loaded.predict(problem.X, classes=problem.names),
                                  plain.predict(problem.X, classes=problem.names))  # fmt: skip
    assert ZeroShotClassifier.load(saved, calibration="none").calibration_ == 0.0
    assert ZeroShotClassifier.load(saved, calibration=0.5).calibration_ == 0.5


def test_a_folder_from_before_calibration_loads_with_gamma_zero(plain, saved, problem):
    def old(config):
        for key in ("calibration", "calibration_scores", "class_folds", "degenerate"):
            del config[key]
        del config["params"]["calibration"]

    edit(saved, old)
    loaded = load(saved, problem)
    assert loaded.calibration == "auto" and loaded.calibration_ == 0.0 and loaded.calibration_scores_ == {}
    assert loaded.class_fold_top1_ is None
    raw = plain.decision_function(problem.X, classes=problem.names)
    np.testing.assert_array_equal(loaded.predict(problem.X, classes=problem.names),
                                  np.asarray(problem.names)[raw.argmax(axis=1)])  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.__setitem__("calibration", float("nan")),
        lambda c: c.__setitem__("calibration", float("inf")),
        lambda c: c.__setitem__("calibration", "0.3"),
        lambda c: c.__setitem__("calibration", True),
        lambda c: c["calibration_scores"].__setitem__("gamma", float("-inf")),
        lambda c: c.__setitem__("calibration_scores", [1, 2]),
        lambda c: c["class_folds"].__setitem__("top1", "high"),
        lambda c: c.__setitem__("degenerate", "no"),
        lambda c: c["params"].__setitem__("calibration", float("nan")),
        lambda c: c["params"].__setitem__("calibration", "sometimes"),
    ],
    ids=["nan", "inf", "text", "bool", "score", "scores-list", "top1", "degenerate", "param-nan", "param-word"],
)
def test_a_hostile_calibration_in_the_json_is_a_checkpoint_error(saved, change):
    edit(saved, change)
    with pytest.raises(CheckpointError, match="malformed classifier file") as caught:
        ZeroShotClassifier.load(saved)
    assert str(classifier_json(saved)) in str(caught.value)


# ------------------------------------------------------------------------------------------------ label templates


class Recorder:
    """Stands in for the model's semantic embedder: records the classes it is asked to embed."""

    def __init__(self, dim: int) -> None:
        self.dim, self.calls = dim, []

    def embed(self, spec, classes):
        self.calls.append(list(classes))
        rows = np.random.default_rng(0).normal(size=(len(classes), self.dim)).astype(np.float32)
        return ClassTable(rows, names=tuple(c.name for c in classes), spec=spec)


def test_a_label_template_at_load_shapes_the_new_class_texts(saved, plain):
    loaded = ZeroShotClassifier.load(saved, label_template="the sound of {label}")
    recorder = Recorder(plain.semantic_dim_)
    loaded._semantic_embedder, loaded._check_text_models = recorder, False
    loaded.class_table(["dog_bark", "rain"])
    assert [c.label for c in recorder.calls[-1]] == ["the sound of dog bark", "the sound of rain"]
    assert [c.name for c in recorder.calls[-1]] == ["dog_bark", "rain"]
    # The training classes keep the embeddings they were trained with.
    np.testing.assert_array_equal(loaded.class_table().embeddings, plain.class_embeddings_)
    untemplated = ZeroShotClassifier.load(saved)
    untemplated._semantic_embedder, untemplated._check_text_models = recorder, False
    untemplated.class_table(["rain"])
    assert recorder.calls[-1][0].label == "rain"


@pytest.mark.parametrize("bad", ["the sound of", "{label} {0}", "{name}"])
def test_a_bad_label_template_is_one_config_error(saved, bad):
    with pytest.raises(ConfigError, match="label template") as caught:
        ZeroShotClassifier.load(saved, label_template=bad)
    assert "\n" not in str(caught.value)


def test_classify_refuses_a_label_template_without_class_names(tmp_path):
    table = ClassTable(np.eye(2, dtype=np.float32), names=("a", "b"), spec="WLE").save(tmp_path / "t.npz")
    for given in ({}, {"classes_file": table}):
        with pytest.raises(ConfigError, match="--label-template applies to class names"):
            run_classify(model=tmp_path / "none", files=[tmp_path], label_template="the {label}", **given)


# ------------------------------------------------------------------------------------------------ score()


def test_score_refuses_labels_outside_the_classes(plain, problem):
    X, y = problem.X[:20], problem.y[:20]
    with pytest.raises(DataError, match=r"not among the classes: 'sound 00', 'sound 01'") as caught:
        plain.score(X, y, classes=["sound 02", "sound 03"])
    assert "\n" not in str(caught.value)
    assert plain.score(X, y, classes=["sound 00", "sound 01", "sound 07"]) == plain.score(X, y)
    # Without classes, y's labels are the classes, as before.
    assert plain.score(X, y) == np.mean(plain.predict(X, classes=["sound 00", "sound 01"]) == y)


# ------------------------------------------------------------------------------------------------ zsac train's guards


def summary_of(**figures) -> dict:
    base = {
        "classes": ["a", "b", "c", "d"], "n_clips": 16, "skipped": {}, "lambda": 1.0, "out": "m",
        "class_fold_top1": 0.9, "class_fold_chance": 0.5, "best_val_accuracy": 0.9, "val_chance": 0.25,
        "calibration": 0.2, "calibration_scores": {}, "degenerate": False,
    }  # fmt: skip
    return base | figures


def test_figures_near_chance_are_warned_about(caplog):
    with caplog.at_level(logging.WARNING, logger="zsac"):
        assert warn_near_chance(summary_of()) == []
        assert warn_near_chance(summary_of(class_fold_top1=0.6)) == ["class_fold_top1"]
        assert warn_near_chance(summary_of(best_val_accuracy=0.4)) == ["best_val_accuracy"]
        assert warn_near_chance(summary_of(class_fold_top1=None, best_val_accuracy=None)) == []
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and all("\n" not in m and "README" in m for m in messages)
    assert "0.600, near chance (0.500)" in messages[0] and "more clips" in messages[0]
    assert "0.400, near chance (0.250)" in messages[1] and "more epochs" in messages[1]


def test_report_prints_each_figure_next_to_chance(capsys):
    scores = {"gamma": 0.3, "seen": 0.7, "unseen": 0.6, "harmonic_mean": 0.646, "harmonic_mean_at_0": 0.1}
    report(summary_of(calibration=0.3, calibration_scores=scores), None)
    out = capsys.readouterr().out
    assert "held-out-class zero-shot Top-1 0.900 (chance 0.500)" in out
    assert "VGGish validation accuracy 0.900 (chance 0.250)" in out
    assert "calibration γ=0.3" in out and "H 0.646" in out and "H 0.100 at γ=0" in out
    report(summary_of(class_fold_top1=None, best_val_accuracy=None, calibration=0.0), None)
    out = capsys.readouterr().out
    assert "not measured (needs at least 4 training classes)" in out and "VGGish" not in out


#: A VGGish that trains in about a second: the figures, not their quality, are under test.
TINY_TRAINING = {"conv_channels": (4, 4, 4, 4), "fc_units": 8, "max_epochs": 2, "patience": 2, "quantize": False,
                 "progress": False, "lam": 1.0, "max_iter": 50}  # fmt: skip


@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    """4 classes of 3 one-second tones, and a WLE table of their names."""
    root, rng = tmp_path_factory.mktemp("sounds"), np.random.default_rng(0)
    names = ("hum", "whistle", "hiss", "clicks")
    for k, name in enumerate(names):
        (root / "data" / name).mkdir(parents=True)
        for i in range(3):
            t = np.arange(16_000) / 16_000
            wave = np.sin(2 * np.pi * 200 * (k + 1) * t) + 0.1 * rng.standard_normal(t.size)
            sf.write(root / "data" / name / f"{i}.wav", (0.4 * wave).astype(np.float32), 16_000)
    rows = np.random.default_rng(1).normal(size=(4, 8)).astype(np.float32)
    table = ClassTable(rows, names=names).save(root / "wle.npz")
    return types.SimpleNamespace(data=root / "data", table=table, names=names)


@pytest.mark.parametrize("split_unit", ["clip", "segment"])
def test_vggish_validation_clips_are_the_seen_clips_kept_out_when_it_split_by_clip(sounds, split_unit, monkeypatch):
    from zsac import classifier as module
    from zsac.acoustic.training import stratified_split

    given = []

    def spy(*args, **kwargs):
        given.append(kwargs["kept_out"])
        return select_calibration_by_class_folds(*args, **kwargs)

    monkeypatch.setattr(module, "select_calibration_by_class_folds", spy)
    paths = sorted(sounds.data.glob("*/*.wav"))
    labels = [path.parent.name for path in paths]
    model = ZeroShotClassifier(semantic="WLE", tables={"WLE": str(sounds.table)}, split_unit=split_unit,
                               feature_cache=False, seed=3, **TINY_TRAINING).fit(paths, labels)  # fmt: skip
    if split_unit == "segment":  # no clip escapes VGGish's training: the seeded share of each class
        assert given == [None]
    else:
        expected = stratified_split(np.searchsorted(model.classes_, labels), validation_fraction=0.2, seed=3)
        assert expected.any()
        np.testing.assert_array_equal(given[0], expected)


def test_run_train_reports_the_figures_of_the_fitted_classifier(sounds, tmp_path, caplog, capsys):
    with caplog.at_level(logging.WARNING, logger="zsac"):
        summary = run_train(
            data=sounds.data, out=tmp_path / "m", semantic="WLE", tables={"WLE": str(sounds.table)}, use_cache=False,
            **TINY_TRAINING,
        )  # fmt: skip
    loaded = ZeroShotClassifier.load(tmp_path / "m")
    assert summary["class_fold_chance"] == 0.5 and summary["val_chance"] == 0.25  # 2 folds of 2; 4 classes
    assert summary["class_fold_top1"] == loaded.class_fold_top1_ is not None
    assert summary["calibration"] == loaded.calibration_
    assert summary["best_val_accuracy"] is not None
    warned = {r.getMessage().split(" is ")[0] for r in caplog.records if "near chance" in r.getMessage()}
    expected = {"held-out-class zero-shot Top-1"} if near_chance(summary["class_fold_top1"], 0.5) else set()
    if near_chance(summary["best_val_accuracy"], 0.25):
        expected.add("VGGish's validation accuracy")
    assert warned == expected
    report(summary, None)
    out = capsys.readouterr().out
    assert f"zero-shot Top-1 {summary['class_fold_top1']:.3f} (chance 0.500)" in out
    assert f"VGGish validation accuracy {summary['best_val_accuracy']:.3f} (chance 0.250)" in out
