"""Extra multi-label training clips in a zero-shot fold (``evaluate_split(..., extra_training=...)``).

Grouped by property:
- the extra clips join every fit (λ selection and refit) as indicator rows, with their labels;
- a clip carrying a validation, test or non-split class is refused, never silently trimmed;
- without extra clips the outcome is exactly as before.
"""

from __future__ import annotations

import numpy as np
import pytest

from spy_learners import Fits, SpyRidge, zero_shot_problem
from zsac.errors import DataError
from zsac.protocols import ClassSplit
from zsac.reproduce.zero_shot import evaluate_split

SPLIT = ClassSplit(name="F", acoustic=(), train=tuple(range(6)), validation=(6, 7, 8), test=(9, 10, 11), refit=True)
# Marked rows: recognisable in a fit (no real clip has a coordinate of 100).
EXTRA = (np.full((3, 8), 100.0, dtype=np.float32) + np.arange(3, dtype=np.float32)[:, None],
         [(0, 1), (5,), (2, 3, 4)])  # fmt: skip


def _marked_rows(theta):
    return np.flatnonzero(theta[:, 0] >= 100)


@pytest.mark.parametrize("refit", [False, True])
def test_extra_clips_join_every_fit_with_their_labels(refit):
    acoustic, classes, embeddings = zero_shot_problem()
    split = ClassSplit(name="F", acoustic=(), train=SPLIT.train, validation=SPLIT.validation, test=SPLIT.test,
                       refit=refit)  # fmt: skip
    fits = Fits()
    evaluate_split(split, acoustic, classes, embeddings, estimator=SpyRidge(fits=fits), grid=(0.1, 1.0),
                   extra_training=EXTRA)  # fmt: skip
    assert len(fits) == (3 if refit else 2)  # one per λ, then the refit
    for theta, indicator, phi in fits:
        rows = _marked_rows(theta)
        assert rows.size == 3
        np.testing.assert_array_equal(theta[rows], EXTRA[0])
        # Columns are the training classes in split order (then the validation classes in the refit).
        expected = np.zeros((3, len(phi)), dtype=bool)
        expected[0, [0, 1]] = expected[1, 5] = expected[2, [2, 3, 4]] = True
        np.testing.assert_array_equal(indicator[rows], expected)
        # The single-label clips are there too: every training clip once, one label each.
        others = np.delete(indicator, rows, axis=0)
        assert others.shape[0] == 60 + (30 if len(phi) == 9 else 0)
        assert (others.sum(axis=1) == 1).all()


REFUSED = [
    ([(0,), (1, 7), (2,)], "clip 1 carries a validation or test class 7"),
    ([(0,), (1,), (10,)], "clip 2 carries a validation or test class 10"),
    ([(0,), (1, 40), (2,)], "clip 1 carries a non-training class 40"),
]


@pytest.mark.parametrize(("labels", "message"), REFUSED)
def test_a_clip_with_a_class_outside_training_is_refused_by_index(labels, message):
    acoustic, classes, embeddings = zero_shot_problem()
    fits = Fits()
    with pytest.raises(DataError, match=f"extra training {message};"):
        evaluate_split(SPLIT, acoustic, classes, embeddings, estimator=SpyRidge(fits=fits), grid=(1.0,),
                       extra_training=(np.zeros((3, 8), np.float32), labels))  # fmt: skip
    assert fits == []  # refused before any fit


def test_a_clip_without_labels_or_with_the_wrong_width_is_refused():
    acoustic, classes, embeddings = zero_shot_problem()
    with pytest.raises(DataError, match="extra training clip 1 has no label"):
        evaluate_split(SPLIT, acoustic, classes, embeddings, estimator=SpyRidge(), grid=(1.0,),
                       extra_training=(np.zeros((2, 8), np.float32), [(0,), ()]))  # fmt: skip
    with pytest.raises(DataError, match="extra training embeddings of shape"):
        evaluate_split(SPLIT, acoustic, classes, embeddings, estimator=SpyRidge(), grid=(1.0,),
                       extra_training=(np.zeros((2, 5), np.float32), [(0,), (1,)]))  # fmt: skip


def test_no_extra_clips_give_the_same_outcome_as_before():
    acoustic, classes, embeddings = zero_shot_problem()
    held = np.zeros(len(classes), dtype=bool)
    held[::7] = True
    before = evaluate_split(SPLIT, acoustic, classes, embeddings, estimator=SpyRidge(), grid=(0.1, 1.0), held_out=held)
    empty = (np.zeros((0, 8), np.float32), [])
    for extra in (None, empty):
        after = evaluate_split(SPLIT, acoustic, classes, embeddings, estimator=SpyRidge(), grid=(0.1, 1.0),
                               held_out=held, extra_training=extra)  # fmt: skip
        assert (after.top1, after.map, after.lam, after.gzsl) == (before.top1, before.map, before.lam, before.gzsl)
        assert after.predictions.equals(before.predictions)
