"""Choosing λ on validation classes (paper Section IV-B, after eq. 9)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from ..errors import ConfigError
from .bilinear import Bilinear

__all__ = ["PAPER_LAMBDA_GRID", "LambdaSelection", "select_lambda"]

logger = logging.getLogger(__name__)

PAPER_LAMBDA_GRID = (0.0, 0.01, 1.0, 10.0)  # Section IV-B


@dataclass(frozen=True)
class LambdaSelection:
    """The outcome of :func:`select_lambda`.

    Attributes
    ----------
    lam : float
        The chosen λ.
    validation_top1 : dict of float to float
        Top-1 accuracy on the validation classes of the model trained with each λ.
    model : Bilinear
        Fitted with ``lam``: on the training classes, or on training plus validation
        classes when ``refit=True``.
    """

    lam: float
    validation_top1: dict[float, float]
    model: Bilinear


def select_lambda(
    train_acoustic: np.ndarray,
    train_labels: np.ndarray,
    train_classes: np.ndarray,
    validation_acoustic: np.ndarray,
    validation_labels: np.ndarray,
    validation_classes: np.ndarray,
    *,
    estimator: Bilinear | None = None,
    grid: Sequence[float] = PAPER_LAMBDA_GRID,
    refit: bool = False,
    progress: bool = False,
    warn_on_ties: bool = True,
) -> LambdaSelection:
    """Fit one model per λ on the training classes and keep the best on the validation classes.

    Zero-shot validation: the validation clips are classified among the validation
    classes only, which the models never saw. On equal validation Top-1 the larger λ wins
    (the simpler model).

    Parameters
    ----------
    train_acoustic : np.ndarray [shape=(n_train, acoustic_dim)]
    train_labels : np.ndarray [shape=(n_train,), dtype=int]
        Rows of ``train_classes``.
    train_classes : np.ndarray [shape=(n_train_classes, semantic_dim)]
    validation_acoustic : np.ndarray [shape=(n_validation, acoustic_dim)]
    validation_labels : np.ndarray [shape=(n_validation,), dtype=int]
        Rows of ``validation_classes``.
    validation_classes : np.ndarray [shape=(n_validation_classes, semantic_dim)]
    estimator : Bilinear, optional
        The settings to use (its ``lam`` is ignored); ``Bilinear()`` by default.
    grid : sequence of float
        The λ values, by default the paper's {0, 0.01, 1, 10}.
    refit : bool
        Refit the chosen λ on the training and validation classes together (their clips
        and class embeddings stacked), so the final model sees every seen class.
    warn_on_ties : bool
        Log a warning when every λ gives the same validation Top-1. Callers that combine
        several selections (class-split cross-validation) judge ties on the combination instead.
    """
    grid = [float(lam) for lam in grid]
    if not grid or any(not lam >= 0 for lam in grid) or len(set(grid)) != len(grid):
        raise ConfigError(f"the λ grid must be distinct numbers >= 0, got {grid}")
    template = Bilinear() if estimator is None else estimator
    validation_labels = np.asarray(validation_labels)
    validation_top1: dict[float, float] = {}
    models: dict[float, Bilinear] = {}
    for lam in tqdm(grid, desc="choosing λ", disable=not progress, leave=False):
        model = copy.deepcopy(template).set_params(lam=lam)
        model.fit(train_acoustic, train_labels, train_classes)
        validation_top1[lam] = model.score(validation_acoustic, validation_labels, validation_classes)
        models[lam] = model
        logger.info("λ=%g: validation Top-1 %.4f (%d iterations)", lam, validation_top1[lam], model.n_iter_)
    best = max(grid, key=lambda lam: (validation_top1[lam], lam))
    if warn_on_ties and len(grid) > 1 and len(set(validation_top1.values())) == 1:
        logger.warning(
            "every λ in %s gave validation Top-1 %.4f, so the choice of λ=%g is arbitrary; the models may be "
            "undertrained (raise max_iter or the learning rate)",
            grid,
            validation_top1[best],
            best,
        )
    model = models[best]
    if refit:
        n_train_classes = len(np.asarray(train_classes))
        model = copy.deepcopy(template).set_params(lam=best)
        model.fit(
            np.concatenate([np.asarray(train_acoustic), np.asarray(validation_acoustic)]),
            np.concatenate([np.asarray(train_labels), validation_labels + n_train_classes]),
            np.concatenate([np.asarray(train_classes), np.asarray(validation_classes)]),
        )
    return LambdaSelection(lam=best, validation_top1=validation_top1, model=model)
