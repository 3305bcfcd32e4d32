"""No leakage of test classes: the models scored on a fold's classes never trained on them.

- ``zsac reproduce esc50``: each fold's VGGish (its training record) and every bilinear fit
  of the fold (λ selection and refit) leave out the fold's test classes, λ selection
  fits on the training classes only, and no fit ever sees a clip held out for the
  generalised zero-shot test.
- The classifier's λ cross-validation (:func:`select_lambda_by_class_folds`): each fold's
  models never see the classes that fold holds out.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import zsac.reproduce.common
from test_reproduce import TINY_VGGISH, make_esc50
from zsac.checkpoint import model_version
from zsac.compatibility import Bilinear, select_lambda_by_class_folds
from zsac.compatibility.selection import PAPER_LAMBDA_GRID
from zsac.reproduce import run_reproduce_esc50

pytestmark = pytest.mark.slow  # a whole ESC-50 reproduction


def _record_fits(monkeypatch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every (class-embedding matrix, acoustic embeddings) that Bilinear.fit is given, in call order."""
    fits: list[tuple[np.ndarray, np.ndarray]] = []
    original = Bilinear.fit

    def recording_fit(self, acoustic, labels, class_embeddings):
        fits.append((np.array(class_embeddings, dtype=np.float32), np.array(acoustic, dtype=np.float32)))
        return original(self, acoustic, labels, class_embeddings)

    monkeypatch.setattr(Bilinear, "fit", recording_fit)
    return fits


def test_reproduce_esc50_never_trains_on_a_folds_test_classes(tmp_path, write_wav, monkeypatch):
    classes = ["dog", "rooster", "rain", "sea_waves", "crackling_fire", "crying_baby", "sneezing", "clock_tick"]
    root = make_esc50(tmp_path / "ESC-50", write_wav, classes, per_class=4)
    fits = _record_fits(monkeypatch)
    per_fold = []  # (split, class-embedding row -> class, clip-embedding row -> class, first fit, last fit)
    original = zsac.reproduce.common.evaluate_split

    def recording_split(split, acoustic, clip_classes, class_embeddings, **kwargs):
        rows = {np.asarray(v, dtype=np.float32).tobytes(): c for c, v in class_embeddings.items()}
        clips = {np.asarray(a, dtype=np.float32).tobytes(): c for a, c in zip(acoustic, clip_classes, strict=True)}
        first = len(fits)
        held = {np.asarray(a, dtype=np.float32).tobytes() for a in np.asarray(acoustic)[kwargs["held_out"]]}
        outcome = original(split, acoustic, clip_classes, class_embeddings, **kwargs)
        per_fold.append((split, rows, clips, first, len(fits), held))
        return outcome

    monkeypatch.setattr(zsac.reproduce.common, "evaluate_split", recording_split)
    out = tmp_path / "out"
    result = run_reproduce_esc50(
        out=out, data=root, seeds=[0, 1], vggish=TINY_VGGISH, learners=["bilinear"], grid="paper", progress=False
    )
    assert len(result.records) == 2 * 4 and len(per_fold) == 8
    assert all(record["gzsl"]["seen_clips"] > 0 for record in result.records)

    for record in result.records:
        fold, seed = record["test_fold"], record["seed"]
        tested = set(pd.read_csv(out / "folds" / "bilinear" / "SLE" / f"seed{seed}" / f"{fold}.csv")["true"])
        work = out / "acoustic" / f"seed{seed}" / fold
        trained_on = json.loads((work / "training.json").read_text())["class_names"]
        final = json.loads((model_version(work / "final") / "config.json").read_text())["metadata"]["class_names"]
        assert tested and not tested & set(trained_on) and trained_on == final
        assert set(trained_on) | tested <= set(classes)

    grid = len(PAPER_LAMBDA_GRID)
    for split, rows, clips, first, last, held in per_fold:
        # 20% of each seen class's clips (1 of 4 here) are kept out of every fit, for the generalised test.
        assert len(held) == len(split.train) + len(split.validation)
        assert all(not held & {row.tobytes() for row in fits[i][1]} for i in range(first, last))
        # The classes each fit was given, by their embeddings and by the clips it trained on.
        fitted = [{rows[row.tobytes()] for row in fits[i][0]} for i in range(first, last)]
        heard = [{clips[row.tobytes()] for row in fits[i][1]} for i in range(first, last)]
        assert len(fitted) == grid + 1  # one model per λ, then the refit of the chosen λ
        for named, clip_classes in zip(fitted[:grid], heard[:grid], strict=True):
            # λ is chosen by models that never saw the validation classes, nor their clips.
            assert named == clip_classes == set(split.train)
        assert fitted[grid] == heard[grid] == set(split.train) | set(split.validation)
        assert all(not seen & set(split.test) for seen in fitted + heard)


def test_lambda_cross_validation_never_fits_on_the_classes_it_holds_out(monkeypatch):
    rng = np.random.default_rng(0)
    n_classes, per_class = 10, 6
    phi = rng.normal(size=(n_classes, 12)).astype(np.float32)
    labels = np.repeat(np.arange(n_classes), per_class)
    acoustic = (phi[labels] @ rng.normal(size=(12, 16)) + 0.1 * rng.normal(size=(labels.size, 16))).astype(np.float32)
    fits = _record_fits(monkeypatch)
    chosen = select_lambda_by_class_folds(acoustic, labels, phi, estimator=Bilinear(max_iter=5), seed=3)
    assert len(chosen.folds) == 5 and sorted(c for fold in chosen.folds for c in fold) == list(range(n_classes))
    row_of = {row.tobytes(): k for k, row in enumerate(phi)}
    grid = len(PAPER_LAMBDA_GRID)
    class_of_clip = {row.tobytes(): int(label) for row, label in zip(acoustic, labels, strict=True)}
    assert len(fits) == grid * len(chosen.folds)
    for k, held_out in enumerate(chosen.folds):
        for matrix, clips in fits[k * grid : (k + 1) * grid]:
            seen = {row_of[row.tobytes()] for row in matrix}
            heard = {class_of_clip[row.tobytes()] for row in clips}
            assert seen == heard == set(range(n_classes)) - set(held_out)
