"""One zero-shot fold: choose λ on the validation classes, then classify the test clips among the test classes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..compatibility import PAPER_LAMBDA_GRID, Bilinear, select_lambda
from ..errors import DataError
from ..evaluation import mean_average_precision, top1_accuracy, true_class_ranks
from ..protocols import ClassSplit

__all__ = ["FoldOutcome", "evaluate_split"]


@dataclasses.dataclass
class FoldOutcome:
    """What :func:`evaluate_split` returns.

    Attributes
    ----------
    lam : float
        The chosen λ.
    validation_top1 : dict of float to float
        Zero-shot Top-1 on the validation classes for each λ of the grid.
    top1, map : float
        Test metrics over the test clips, ranked among the test classes only.
    n_classes, n_clips : int
        Test classes and test clips.
    predictions : pd.DataFrame
        One row per test clip: ``clip``, ``true``, ``predicted``, ``true_rank`` (1 = top) and ``correct``.
    seconds : float
        Wall time of λ selection, refit and prediction.
    """

    lam: float
    validation_top1: dict[float, float]
    top1: float
    map: float
    n_classes: int
    n_clips: int
    predictions: pd.DataFrame
    seconds: float


def _rows_of(classes: Sequence[Hashable], clip_classes: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the clips of ``classes`` and each one's position in ``classes``."""
    position = {c: k for k, c in enumerate(classes)}
    clips = np.flatnonzero([c in position for c in clip_classes])
    if clips.size == 0:
        raise DataError(f"no clips of the {what} classes {list(classes)[:5]}...")
    return clips, np.array([position[c] for c in clip_classes[clips]], dtype=np.int64)


def evaluate_split(
    split: ClassSplit,
    acoustic: np.ndarray,
    clip_classes: Sequence[Hashable],
    class_embeddings: Mapping[Hashable, np.ndarray],
    *,
    clip_ids: Sequence[str] | None = None,
    class_names: Mapping[Hashable, str] | None = None,
    estimator: Bilinear | None = None,
    grid: Sequence[float] = PAPER_LAMBDA_GRID,
) -> FoldOutcome:
    """Run one fold of a class-split protocol on fixed acoustic embeddings.

    λ is chosen by zero-shot Top-1 on ``split.validation`` with the model trained on
    ``split.train``; with ``split.refit`` the chosen λ is retrained on train + validation.
    Test clips are ranked among ``split.test`` classes only (zero-shot, not generalised).

    Parameters
    ----------
    split : ClassSplit
    acoustic : np.ndarray [shape=(n_clips, acoustic_dim)]
        Clip embeddings θ(x) of every clip; clips of classes outside the split are ignored.
    clip_classes : sequence of hashable [shape=(n_clips,)]
        Class of each clip, in the split's class vocabulary.
    class_embeddings : mapping of class to np.ndarray [shape=(semantic_dim,)]
        φ(z) of every class in the split.
    clip_ids : sequence of str, optional
        Names of the clips for the predictions table (default: their indices).
    class_names : mapping of class to str, optional
        Display names for the predictions table (default: ``str(class)``).
    estimator : Bilinear, optional
        Settings of the compatibility model; its ``lam`` is replaced by the chosen one.
    grid : sequence of float
        The λ grid (default: the paper's).

    Returns
    -------
    FoldOutcome
    """
    started = time.perf_counter()
    clip_classes = np.asarray(list(clip_classes), dtype=object)
    acoustic = np.asarray(acoustic)
    if acoustic.ndim != 2 or acoustic.shape[0] != clip_classes.shape[0]:
        raise DataError(f"acoustic embeddings of shape {acoustic.shape} do not match {clip_classes.shape[0]} clips")
    missing = [c for c in (*split.seen, *split.test) if c not in class_embeddings]
    if missing:
        raise DataError(f"no class embedding for the classes {missing[:10]}")

    def matrix(classes: Sequence[Hashable]) -> np.ndarray:
        return np.stack([np.asarray(class_embeddings[c], dtype=np.float32) for c in classes])

    train_clips, train_labels = _rows_of(split.train, clip_classes, "training")
    val_clips, val_labels = _rows_of(split.validation, clip_classes, "validation")
    test_clips, test_labels = _rows_of(split.test, clip_classes, "test")
    selection = select_lambda(
        acoustic[train_clips], train_labels, matrix(split.train),
        acoustic[val_clips], val_labels, matrix(split.validation),
        estimator=estimator, grid=grid, refit=split.refit,
    )  # fmt: skip
    scores = selection.model.decision_function(acoustic[test_clips], matrix(split.test))
    predicted = scores.argmax(axis=1)
    names = [str(c) if class_names is None else class_names[c] for c in split.test]
    ids = [str(i) for i in test_clips] if clip_ids is None else [str(clip_ids[i]) for i in test_clips]
    predictions = pd.DataFrame(
        {
            "clip": ids,
            "true": [names[k] for k in test_labels],
            "predicted": [names[k] for k in predicted],
            "true_rank": true_class_ranks(scores, test_labels),
            "correct": predicted == test_labels,
        }
    )
    return FoldOutcome(
        lam=selection.lam,
        validation_top1=selection.validation_top1,
        top1=top1_accuracy(scores, test_labels),
        map=mean_average_precision(scores, test_labels),
        n_classes=len(split.test),
        n_clips=int(test_clips.size),
        predictions=predictions,
        seconds=time.perf_counter() - started,
    )
