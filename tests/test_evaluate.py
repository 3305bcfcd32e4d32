"""``zsac evaluate``: class-split cross-validation of the classifier ``zsac train`` gives, on data the tests write.

Most tests run the per-fold work and the whole cross-validation on precomputed clip embeddings (no
VGGish); one runs the command end to end on WAV class folders with a tiny VGGish.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import tone
from zsac import ConfigError, DataError, ZeroShotClassifier
from zsac.cli import main
from zsac.protocols import random_class_folds, seen_class_holdout
from zsac.reproduce.cross_validation import check_folds, cross_validate, evaluate_fold
from zsac.semantic.tables import ClassTable

FAST = {"lam": 1.0, "progress": False, "feature_cache": False}


class DotClassifier(ZeroShotClassifier):
    """Scores are θ(x)·φ(z) with the class table as is (γ is given): every metric can be computed by hand."""

    def decision_function(self, X, *, classes=None, sample_rate=None):
        return np.asarray(X, dtype=np.float64) @ self.class_table(classes).embeddings.T.astype(np.float64)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("zsac: error:") and len(err.splitlines()) == 1, err
    return err


@pytest.fixture
def latent(tmp_path):
    """8 classes of 10 clips: embeddings and a WLE table that share a latent class structure."""
    rng = np.random.default_rng(0)
    names = [f"sound_{k}" for k in range(8)]
    u, mix = rng.normal(size=(8, 5)), rng.normal(size=(5, 16))
    X = np.concatenate([u[k] @ mix + 0.5 * rng.normal(size=(10, 16)) for k in range(8)]).astype(np.float32)
    table = ClassTable(np.hstack([u, 0.1 * rng.normal(size=(8, 3))]).astype(np.float32), names=tuple(names))
    path = table.save(tmp_path / "wle.npz")
    classifier = ZeroShotClassifier(semantic="WLE", tables={"WLE": str(path)}, **FAST)
    return X, np.repeat(names, 10), classifier


# --------------------------------------------------------------------------------------------------------- one fold


def test_fold_metrics_by_hand(tmp_path):
    """A and B are seen, C and D held out; scores are dot products with one-hot class vectors, γ = 0.2."""
    path = ClassTable(np.eye(4, dtype=np.float32), names=("A", "B", "C", "D")).save(tmp_path / "onehot.npz")
    classifier = DotClassifier(semantic="WLE", tables={"WLE": str(path)}, calibration=0.2, **FAST)
    X = np.array([
        [1, 0, 0, 0], [1, 0, 0, 0], [0.6, 0, 0, 0.5],        # A: two to fit, one held out (to D at γ = 0.2)
        [0, 1, 0, 0], [0, 1, 0, 0], [0, 0.9, 0.3, 0],        # B: two to fit, one held out
        [0.1, 0, 1, 0], [0, 0.5, 0.4, 0.45],                 # C: right; wrong (D zero-shot, B/D generalised)
        [0, 0, 0, 1], [0.95, 0, 0.2, 0.9],                   # D: right; right zero-shot, A at γ = 0
    ], dtype=np.float32)  # fmt: skip
    labels = ["A"] * 3 + ["B"] * 3 + ["C"] * 2 + ["D"] * 2
    held = np.zeros(10, dtype=bool)
    held[[2, 5]] = True
    ids = [f"clip{k}" for k in range(10)]
    fold = evaluate_fold(classifier, X, labels, test_classes=["D", "C"], held_out=held, clip_ids=ids)
    outcome = fold.outcome

    assert list(fold.classifier.classes_) == ["A", "B"]  # the held-out classes never reach the fit
    assert (outcome.top1, outcome.map, outcome.top1_per_class) == (0.75, 0.875, 0.75)
    assert (outcome.n_classes, outcome.n_clips) == (2, 4)
    assert outcome.predictions[["clip", "true", "predicted"]].values.tolist() == [
        ["clip6", "C", "C"], ["clip7", "C", "D"], ["clip8", "D", "D"], ["clip9", "D", "D"],
    ]  # fmt: skip
    gzsl = outcome.gzsl
    # γ = 0.2: A's held-out clip goes to D; S = (0 + 1) / 2, U = (C 1/2 + D 2/2) / 2 = 0.75.
    assert (gzsl["seen"], gzsl["unseen"], gzsl["gamma"]) == (0.5, 0.75, 0.2)
    assert gzsl["h"] == pytest.approx(2 * 0.5 * 0.75 / 1.25)
    # γ = 0: both held-out seen clips right; C 1/2 (clip7 to B), D 1/2 (clip9 to A).
    assert (gzsl["seen_uncalibrated"], gzsl["unseen_uncalibrated"]) == (1.0, 0.5)
    assert gzsl["h_uncalibrated"] == pytest.approx(2 / 3)
    assert gzsl["seen_clips"] == 2 and 0 < gzsl["ausuc"] <= 1 and len(outcome.gzsl_curve) == 101
    rows = fold.generalised.set_index("clip")
    assert rows.loc["clip2", "predicted"] == "D" and rows.loc["clip2", "predicted_uncalibrated"] == "A"
    assert rows.loc["clip9", "predicted"] == "D" and rows.loc["clip9", "predicted_uncalibrated"] == "A"
    assert rows["seen"].tolist() == [True, True, False, False, False, False]
    both = fold.predictions()
    assert both["task"].value_counts().to_dict() == {"zero-shot": 4, "generalised": 6}


def test_a_test_class_without_clips_is_refused(latent):
    X, labels, classifier = latent
    with pytest.raises(DataError, match="nothing"):
        evaluate_fold(classifier, X, labels, test_classes=["nothing"])


# ------------------------------------------------------------------------------------------- the whole protocol


@pytest.fixture
def fit_spy(monkeypatch):
    """Record the rows and labels of every ZeroShotClassifier.fit."""
    calls = []
    original = ZeroShotClassifier.fit

    def fit(self, X, y, *args, **kwargs):
        calls.append((np.asarray(X).copy(), list(y)))
        return original(self, X, y, *args, **kwargs)

    monkeypatch.setattr(ZeroShotClassifier, "fit", fit)
    return calls


@pytest.fixture
def no_figures(monkeypatch):
    """Skip the report's tables and figures (a second or two each) in tests that do not read them."""
    monkeypatch.setattr("zsac.reproduce.cross_validation.write_report", lambda *args, **kwargs: {})


def test_no_fold_fits_on_its_test_classes_or_held_out_clips(latent, tmp_path, fit_spy, no_figures):
    X, labels, classifier = latent
    cross_validate(classifier, X, labels, out=tmp_path / "out", n_folds=3, progress=False)
    folds = list(random_class_folds(sorted(set(labels)), n_folds=3, seed=0).values())
    assert len(fit_spy) == 3
    for (fitted_X, fitted_y), test in zip(fit_spy, folds, strict=True):
        assert not set(fitted_y) & set(test) and set(fitted_y) | set(test) == set(labels)
        held = seen_class_holdout(labels.tolist(), [c for c in set(labels) if c not in test], fraction=0.2, seed=0)
        fitted = {row.tobytes() for row in fitted_X}
        assert not any(row.tobytes() in fitted for row in X[held | np.isin(labels, test)])
        assert len(fitted_y) == int((~held & ~np.isin(labels, test)).sum())


def test_results_folder_tables_and_figures(latent, tmp_path):
    X, labels, classifier = latent
    out = tmp_path / "out"
    result = cross_validate(classifier, X, labels, out=out, n_folds=4, data="my_sounds", progress=False)
    records = json.loads((out / "results.json").read_text())
    assert [r["test_fold"] for r in records] == ["Fold0", "Fold1", "Fold2", "Fold3"] and result.ran == 4
    top1 = [r["top1"] for r in records]
    h = [r["gzsl"]["h"] for r in records]
    assert result.summary["n_folds"] == 4 and result.summary["top1_mean"] == pytest.approx(np.mean(top1))
    summary = pd.read_csv(out / "summary.csv")
    assert summary["gzsl.h_std"].iloc[0] == pytest.approx(np.std(h)) and summary["n_folds"].iloc[0] == 4
    tables = (out / "tables.md").read_text()
    assert f"| **mean ± std (4 folds)** |  | 80 | {np.mean(top1):.3f} ± {np.std(top1):.3f} |" in tables
    assert tables.startswith("# Zero-shot accuracy on my_sounds") and "## Per class" in tables
    per_class = pd.read_csv(out / "per_class.csv")
    assert per_class["class"].tolist() == sorted(set(labels)) and per_class["clips"].sum() == 80
    predictions = pd.read_csv(out / "predictions.csv")
    zero_shot = predictions[predictions["task"] == "zero-shot"]
    assert len(zero_shot) == 80 and zero_shot["correct"].mean() == pytest.approx(np.mean(top1))  # equal folds
    # Each class is seen in 3 folds, with 2 of its 10 clips held out each time.
    assert (per_class["held_out_clips"] == 6).all()
    for name in ("headline", "per_class", "confusions", "per_fold", "seen_unseen"):
        assert (out / "plots" / f"own_4_class_folds_embeddings_{name}.png").stat().st_size > 1000
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["folds"] == 4 and config["classifier"]["lam"] == 1.0 and "progress" not in config["classifier"]


def test_rerun_skips_finished_folds_and_refuses_another_configuration(latent, tmp_path, fit_spy, no_figures):
    X, labels, classifier = latent
    out = tmp_path / "out"
    cross_validate(classifier, X, labels, out=out, n_folds=3, progress=False)
    before = json.loads((out / "results.json").read_text())
    (out / "folds" / "WLE" / "seed0" / "Fold1.json").unlink()
    fit_spy.clear()
    again = cross_validate(classifier, X, labels, out=out, n_folds=3, progress=False)
    assert (again.ran, again.skipped, len(fit_spy)) == (1, 2, 1)
    after = json.loads((out / "results.json").read_text())
    for record in (*before, *after):
        record.pop("seconds")
    assert after == before  # the same fold, computed again, gives the same record
    assert [json.loads(line)["ran"] for line in (out / "runs.jsonl").read_text().splitlines()] == [3, 1]
    with pytest.raises(ConfigError, match="another configuration"):
        cross_validate(classifier, X, labels, out=out, n_folds=3, holdout=0.3, progress=False)
    with pytest.raises(ConfigError, match="another configuration"):
        cross_validate(classifier, X + 1, labels, out=out, n_folds=3, progress=False)  # other data


def test_a_folder_of_other_files_is_refused(latent, tmp_path):
    X, labels, classifier = latent
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(DataError, match="notes.txt"):
        cross_validate(classifier, X, labels, out=out, n_folds=2, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_folder_another_run_writes_is_refused(tmp_path, capsys, monkeypatch):
    from zsac._atomic import output_lock

    monkeypatch.setattr(ZeroShotClassifier, "fit", lambda *a, **k: pytest.fail("training started"))
    data = write_classes(tmp_path)
    with output_lock(tmp_path / "out"):
        assert main(evaluate_args(data, tmp_path / "out", "--folds", "2")) == 2
    assert "being written by another zsac run" in one_line_error(capsys)


@pytest.mark.parametrize(("folds", "classes"), [(2, 3), (5, 4), (1, 9), (True, 5), (2.0, 5)])
def test_too_many_folds_for_the_classes(folds, classes):
    with pytest.raises(ConfigError, match="--folds"):
        check_folds(folds, classes)


@pytest.mark.parametrize(("folds", "classes"), [(2, 4), (3, 3), (5, 10)])
def test_enough_classes(folds, classes):
    assert check_folds(folds, classes) == folds


# ------------------------------------------------------------------------------------------------- the command


NAMES = ("hum", "buzz", "whistle", "beep")


def write_classes(tmp_path, names=NAMES):
    """Classes of 5 one-second tones each, a classes.csv that describes one, and a WLE table for all four."""
    root = tmp_path / "sounds"
    for k, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for i in range(5):
            sf.write(root / name / f"{i}.wav", tone(150 * 2**k * (1 + 0.03 * i), 1.0), 16_000)
    (root / "classes.csv").write_text("name,description\nhum,a low hum\n")
    rng = np.random.default_rng(0)
    table = ClassTable(rng.normal(size=(4, 5)).astype(np.float32), names=tuple(sorted(NAMES)))
    table.save(tmp_path / "wle.npz")
    return root


def evaluate_args(data, out, *more):
    table = f"WLE={data.parent / 'wle.npz'}"
    return ["-q", "evaluate", "--data", str(data), "-o", str(out), "--semantic", "WLE", "--table", table,
            "--lambda", "1", "--no-quantize", "--no-cache", *more]  # fmt: skip


@pytest.mark.parametrize(
    ("folds", "message"),
    [
        ("1", "at least 2; got '1'"),
        ("two", "at least 2; got 'two'"),
        ("3", "--folds 3 needs at least 3 classes"),
        (
            "2",
            "--folds 2 needs at least 4 classes (one or more per fold, and 2 or more to train on without each fold); "
            "the data has 2",
        ),
    ],
)
def test_bad_folds_are_one_line_errors(tmp_path, capsys, monkeypatch, folds, message):
    monkeypatch.setattr(ZeroShotClassifier, "fit", lambda *a, **k: pytest.fail("training started"))
    data = write_classes(tmp_path, NAMES[:2])
    assert main(evaluate_args(data, tmp_path / "out", "--folds", folds)) == 2
    assert message in one_line_error(capsys)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # trains a (tiny) VGGish per fold
def test_command_end_to_end_with_vggish(tmp_path, capsys):
    wav_classes, out = write_classes(tmp_path), tmp_path / "out"
    tiny = ["--conv-channels", "2", "2", "2", "2", "--fc-units", "8", "--max-epochs", "1", "--folds", "2"]
    assert main(evaluate_args(wav_classes, out, *tiny)) == 0
    printed = capsys.readouterr().out
    assert "2 folds computed, 0 already finished" in printed and "zero-shot Top-1" in printed
    assert "generalised H" in printed and str(out / "tables.md") in printed
    records = json.loads((out / "results.json").read_text())
    assert len(records) == 2 and {r["acoustic"] for r in records} == {"vggish"}
    assert all(r["n_train_classes"] == 2 and r["vggish_val_accuracy"] is not None for r in records)
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["classifier"]["conv_channels"] == [2, 2, 2, 2] and config["classifier"]["fc_units"] == 8
    assert config["class_texts"]["hum"]["description"] == "a low hum"  # DATA/classes.csv, as zsac train reads it
    predictions = pd.read_csv(out / "predictions.csv")
    assert set(predictions["clip"]) <= {f"{c}/{i}.wav" for c in NAMES for i in range(5)}
    assert not (out / "acoustic").exists()  # finished folds keep no VGGish checkpoints
    assert main(evaluate_args(wav_classes, out, *tiny)) == 0
    assert "0 folds computed, 2 already finished" in capsys.readouterr().out
