"""What every compatibility learner shares: one estimator interface and its input checks.

A *learner* scores every (clip, class) pair from the clip's acoustic embedding θ(x) and the
class's semantic embedding φ(z), and so classifies among any classes given at predict time,
seen in training or not (eq. 5). Each learner has one regularisation strength ``lam``, chosen
on validation classes (:func:`~zsac.compatibility.select_lambda`), and a ``default_grid``
of values for it.

``lam`` is *relative* for every learner but :class:`~zsac.compatibility.Bilinear` with
``lambda_scale="absolute"`` (the paper's λ): the learner multiplies it by the scale of its
data (:func:`data_scale`), so one grid suits a spec of one, two or three concatenated parts
(each of norm 1, so ‖φ‖² = 1, 2 or 3) and acoustic embeddings of any scale.

Labels are either one class per clip (``labels`` of shape ``(n_samples,)``, rows of the class
embeddings) or several (an indicator matrix of shape ``(n_samples, n_classes)``, for
multi-label clips); :func:`label_matrix` turns both into the indicator matrix.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from tqdm.auto import tqdm

from .._estimator import ZsacEstimator, check_fitted
from ..errors import ConfigError
from ..evaluation import top1_accuracy

__all__ = ["CompatibilityLearner", "as_matrix", "check_fit_inputs", "label_matrix", "data_scale", "rms_norm"]


def as_matrix(values: Any, name: str) -> np.ndarray:
    """A finite, non-empty 2-D float64 array, or a one-line :class:`~zsac.ConfigError` naming ``name``."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ConfigError(f"{name} must be a non-empty 2-D array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ConfigError(f"{name} contains NaN or infinite values")
    return array


def label_matrix(labels: Any, n_samples: int, n_classes: int) -> np.ndarray:
    """Labels as an indicator matrix.

    Parameters
    ----------
    labels : np.ndarray [shape=(n_samples,), dtype=int] or [shape=(n_samples, n_classes)]
        One class per sample (rows of the class embeddings), or an indicator matrix of 0/1 or
        bool with at least one positive per sample (multi-label samples).
    n_samples, n_classes : int

    Returns
    -------
    np.ndarray [shape=(n_samples, n_classes), dtype=bool]
    """
    labels = np.asarray(labels)
    if labels.ndim == 1:
        if labels.shape != (n_samples,) or not np.issubdtype(labels.dtype, np.integer):
            raise ConfigError(f"labels must be {n_samples} integers, got shape {labels.shape} of {labels.dtype}")
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise ConfigError(
                f"labels must index the {n_classes} class embeddings, got values {labels.min()}..{labels.max()}"
            )
        matrix = np.zeros((n_samples, n_classes), dtype=bool)
        matrix[np.arange(n_samples), labels] = True
        return matrix
    if labels.shape != (n_samples, n_classes):
        raise ConfigError(
            f"multi-label labels must be a ({n_samples}, {n_classes}) indicator matrix, got shape {labels.shape}"
        )
    if labels.dtype != bool and not np.isin(labels, (0, 1)).all():
        raise ConfigError("a multi-label indicator matrix may hold only 0 and 1 (or booleans)")
    matrix = labels.astype(bool)
    if not matrix.any(axis=1).all():
        raise ConfigError(f"{int((~matrix.any(axis=1)).sum())} samples have no positive class in the labels matrix")
    return matrix


def check_fit_inputs(
    acoustic_embeddings: Any, labels: Any, class_embeddings: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """θ, labels and φ checked for ``fit``: float64 θ and φ, and labels as a bool indicator matrix.

    Returns
    -------
    theta : np.ndarray [shape=(n_samples, acoustic_dim), dtype=float64]
    indicator : np.ndarray [shape=(n_samples, n_classes), dtype=bool]
    phi : np.ndarray [shape=(n_classes, semantic_dim), dtype=float64]
    """
    theta = as_matrix(acoustic_embeddings, "acoustic_embeddings")
    phi = as_matrix(class_embeddings, "class_embeddings")
    return theta, label_matrix(labels, theta.shape[0], phi.shape[0]), phi


def rms_norm(rows: np.ndarray) -> float:
    """Root-mean-square row norm (1 for all-zero rows)."""
    scale = float(np.sqrt(np.mean(np.sum(np.square(rows, dtype=np.float64), axis=1))))
    return scale if scale > 0 else 1.0


def data_scale(theta: np.ndarray, phi: np.ndarray) -> float:
    """rms‖θ‖² · rms‖φ‖²: what a relative ``lam`` is multiplied by for a penalty on a bilinear W.

    A score θᵀWφ of a given size needs ‖W‖ ∝ 1 / (‖θ‖‖φ‖), so ‖W‖² shrinks by this factor
    when θ or φ grows; multiplying λ by it keeps the balance of loss and penalty, whatever
    the number of spec parts or the scale of the acoustic embeddings.
    """
    return rms_norm(theta) ** 2 * rms_norm(phi) ** 2


class CompatibilityLearner(ZsacEstimator):
    """Base of the learners: ``fit(θ, labels, Φ)``, ``decision_function(θ, Φ)``, ``predict``, ``score``.

    Subclasses set :attr:`default_grid` (relative values of ``lam``), :attr:`fitted_attribute`
    (a fitted attribute that ``check_fitted`` looks for), and implement ``fit`` and
    ``_scores(theta, phi)`` on checked float64 matrices; they record ``acoustic_dim_`` and
    ``semantic_dim_`` when fitted.
    """

    #: Values of ``lam`` searched on validation classes by default (relative; log-spaced).
    default_grid: ClassVar[tuple[float, ...]] = ()
    #: The attribute that marks the learner as fitted.
    fitted_attribute: ClassVar[str] = "W_"
    #: The short name ``zsac reproduce --learner`` knows this learner by.
    name: ClassVar[str] = ""

    def _check_fitted(self) -> None:
        check_fitted(self, self.fitted_attribute)

    def _fit_through_path(
        self, acoustic_embeddings: np.ndarray, labels: np.ndarray, class_embeddings: np.ndarray
    ) -> CompatibilityLearner:
        """``fit`` of a learner whose :meth:`fit_path` does the work: this learner takes the fitted
        attributes of the path's one model, at its own ``lam``."""
        fitted = self.fit_path(acoustic_embeddings, labels, class_embeddings, [self.lam])[0]
        vars(self).update({name: value for name, value in vars(fitted).items() if name.endswith("_")})
        return self

    @property
    def score_margin(self) -> float | None:
        """The margin a margin loss trains score gaps to (WARP's Δ), or None for a learner without one.

        :func:`~zsac.compatibility.selection.score_spread` below a small fraction of it marks a model
        that collapsed under λ; the scores of a closed-form or softmax learner shrink with λ but keep
        their order, so they have no margin and are never called degenerate.
        """
        return None

    def _path_copies(self, lams: Sequence[float]) -> list[tuple[CompatibilityLearner, Any]]:
        """A copy of this learner per value of ``lam``, each with what its ``_check_params`` returns."""
        self._check_params()
        copies = [copy.deepcopy(self).set_params(lam=lam) for lam in lams]
        return [(model, model._check_params()) for model in copies]

    def fit_path(
        self,
        acoustic_embeddings: np.ndarray,
        labels: np.ndarray,
        class_embeddings: np.ndarray,
        lams: Sequence[float],
        *,
        progress: bool = False,
    ) -> list[CompatibilityLearner]:
        """One fitted copy of this learner per value of ``lam``, in the order given (a λ path).

        The same as fitting ``copy.deepcopy(self).set_params(lam=lam)`` for each value; learners whose
        fit shares a decomposition across λ override it to decompose once.

        Parameters
        ----------
        acoustic_embeddings, labels, class_embeddings
            As for ``fit``.
        lams : sequence of float
        progress : bool
            A bar over the values, for learners that fit one at a time (a decomposed path needs none).

        Returns
        -------
        list of CompatibilityLearner [shape=(len(lams),)]
        """
        return [
            copy.deepcopy(self).set_params(lam=lam).fit(acoustic_embeddings, labels, class_embeddings)
            for lam in tqdm(lams, desc="choosing λ", disable=not progress, leave=False)
        ]

    def _scores(self, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def decision_function(self, acoustic_embeddings: np.ndarray, class_embeddings: np.ndarray) -> np.ndarray:
        """Compatibility of every clip with every class.

        Parameters
        ----------
        acoustic_embeddings : np.ndarray [shape=(n_clips, acoustic_dim)]
        class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]
            Any classes, seen in training or not.

        Returns
        -------
        np.ndarray [shape=(n_clips, n_classes), dtype=float64]
            Larger is more compatible.
        """
        self._check_fitted()
        theta = as_matrix(acoustic_embeddings, "acoustic_embeddings")
        phi = as_matrix(class_embeddings, "class_embeddings")
        if theta.shape[1] != self.acoustic_dim_:
            raise ConfigError(
                f"acoustic_embeddings have {theta.shape[1]} dimensions, the model expects {self.acoustic_dim_}"
            )
        if phi.shape[1] != self.semantic_dim_:
            raise ConfigError(
                f"class_embeddings have {phi.shape[1]} dimensions, the model expects {self.semantic_dim_}"
            )
        return np.asarray(self._scores(theta, phi), dtype=np.float64)

    def predict(self, acoustic_embeddings: np.ndarray, class_embeddings: np.ndarray) -> np.ndarray:
        """The best-scoring class of each clip (eq. 5), as a row index of ``class_embeddings``.

        Returns
        -------
        np.ndarray [shape=(n_clips,), dtype=int64]
            Ties go to the lowest index.
        """
        return np.argmax(self.decision_function(acoustic_embeddings, class_embeddings), axis=1)

    def score(self, acoustic_embeddings: np.ndarray, labels: np.ndarray, class_embeddings: np.ndarray) -> float:
        """Top-1 accuracy of :meth:`predict` against ``labels`` (rows of ``class_embeddings``)."""
        return top1_accuracy(self.decision_function(acoustic_embeddings, class_embeddings), labels)
