"""ESZSL: the closed-form bilinear learner of Romera-Paredes & Torr (ICML 2015).

"An embarrassingly simple approach to zero-shot learning" fits the bilinear compatibility
F(x, z) = θ̃(x)ᵀ V φ(z) by a squared loss against ±1 class indicators with two ridge penalties,
which has one closed form:

    V = (XᵀX + γI)⁻¹ XᵀY S (SᵀS + λI)⁻¹,

X the training θ centred on their mean, Y the (n_samples, n_classes) label matrix in {-1, +1},
S the training classes' φ. Fitting costs two small linear solves (acoustic_dim² and
n_classes², the latter through the identity (SᵀS + λI)⁻¹Sᵀ = Sᵀ(SSᵀ + λI)⁻¹), so a whole λ
grid is cheaper than one WARP fit.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError
from .base import CompatibilityLearner, check_fit_inputs

__all__ = ["ESZSL", "check_positive", "mean_square_norm"]


def check_positive(owner: str, name: str, value: Any) -> float:
    """``value`` as a float, or a :class:`~zsac.ConfigError` naming it unless it is finite and > 0."""
    if isinstance(value, bool) or not (isinstance(value, numbers.Real) and 0 < value < math.inf):
        raise ConfigError(f"{owner} {name} must be a finite number > 0, got {value!r}")
    return float(value)


def mean_square_norm(rows: np.ndarray) -> float:
    """Mean squared row norm, the mean eigenvalue of the rows' Gram matrix (1 for all-zero rows)."""
    value = float(np.mean(np.sum(np.square(rows), axis=1)))
    return value if value > 0 else 1.0


class ESZSL(CompatibilityLearner):
    """Zero-shot classifier by ESZSL's closed-form bilinear compatibility, θ centred.

    Parameters
    ----------
    lam : float
        Relative strength of both ridge penalties, > 0. The absolute ones are

        - λ = ``lam`` · mean‖φ‖² over the training classes, the mean eigenvalue of the class
          Gram matrix SSᵀ, and
        - γ = ``gamma_ratio`` · ``lam`` · trace(XᵀX) / acoustic_dim, the mean eigenvalue of
          the centred acoustic scatter matrix XᵀX,

        so each penalty is the same fraction of its Gram matrix whatever the scale of θ, the
        number of clips, or the number of spec parts (‖φ‖² = 1, 2 or 3): multiplying θ or φ by
        a constant, or concatenating copies of a spec, leaves the predictions unchanged. One
        knob is searched; the two penalties are tied through ``gamma_ratio``.
    gamma_ratio : float
        γ's relative strength as a multiple of ``lam`` (> 0; not searched). The default 0.01 was
        measured on AudioSet (fold seed 0, WLE+SLE+SSE, ``bench/learners.py`` at commit d146667,
        since replaced by ``zsac reproduce --learner``): with some 6,000 clips for 128 acoustic
        dimensions the acoustic side needs little ridge, and Top-1 rose from 0.159 (ratio 1) to
        0.166 (ratio 0.01), flat below that.

    Attributes
    ----------
    V_ : np.ndarray [shape=(acoustic_dim, semantic_dim), dtype=float64]
        The compatibility matrix, applied to centred θ.
    mean_ : np.ndarray [shape=(acoustic_dim,), dtype=float64]
        The mean training θ, subtracted before scoring.
    lambda_, gamma_ : float
        The absolute penalties used.
    acoustic_dim_, semantic_dim_ : int

    Notes
    -----
    Labels are coded in {-1, +1} as in the paper. Because X is centred (its columns sum to 0),
    XᵀY with ±1 labels is exactly twice XᵀY with 0/1 labels, so the two codings give the same
    V up to a factor 2 and the same predictions; the ±1 form is kept for fidelity. Centring
    matters: without it the class-independent part of θ leaks into class-specific offsets.
    Multi-label clips have +1 for each of their classes.
    """

    default_grid: ClassVar[tuple[float, ...]] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
    fitted_attribute: ClassVar[str] = "V_"
    name: ClassVar[str] = "eszsl"

    def __init__(self, *, lam: float = 1.0, gamma_ratio: float = 0.01) -> None:
        self.lam = lam
        self.gamma_ratio = gamma_ratio

    def _check_params(self) -> tuple[float, float]:
        return check_positive("ESZSL", "lam", self.lam), check_positive("ESZSL", "gamma_ratio", self.gamma_ratio)

    def fit(self, acoustic_embeddings: np.ndarray, labels: np.ndarray, class_embeddings: np.ndarray) -> ESZSL:
        """Solve for V on training clips of the training classes.

        Parameters
        ----------
        acoustic_embeddings : np.ndarray [shape=(n_samples, acoustic_dim)]
            θ(x) of each training clip.
        labels : np.ndarray [shape=(n_samples,), dtype=int] or [shape=(n_samples, n_classes)]
            Each clip's class as a row of ``class_embeddings``, or an indicator matrix.
        class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]
            φ(z) of each training class.
        """
        self._check_params()
        return self._fit_through_path(acoustic_embeddings, labels, class_embeddings)

    def fit_path(
        self,
        acoustic_embeddings: np.ndarray,
        labels: np.ndarray,
        class_embeddings: np.ndarray,
        lams: Sequence[float],
        *,
        progress: bool = False,
    ) -> list[ESZSL]:
        """One fitted copy per value of ``lam``, from one eigendecomposition of each Gram matrix.

        With XᵀX = QMQᵀ and ΦΦᵀ = PEPᵀ, (XᵀX + γI)⁻¹ = Q(M + γ)⁻¹Qᵀ and (ΦΦᵀ + λI)⁻¹ = P(E + λ)⁻¹Pᵀ,
        so each λ costs two small products instead of two solves; the result equals ``fit``'s.
        """
        copies = self._path_copies(lams)
        theta, indicator, phi = check_fit_inputs(acoustic_embeddings, labels, class_embeddings)
        mean = theta.mean(axis=0)
        x = theta - mean
        y = np.where(indicator, 1.0, -1.0)
        scatter = x.T @ x
        acoustic_values, acoustic_vectors = np.linalg.eigh(scatter)
        projected = acoustic_vectors.T @ (x.T @ y)  # Qᵀ XᵀY
        class_values, class_vectors = np.linalg.eigh(phi @ phi.T)
        class_projected = class_vectors.T @ phi  # Pᵀ Φ
        scale_phi = mean_square_norm(phi)
        scale_theta = float(np.trace(scatter)) / x.shape[1] or 1.0
        for model, (lam, gamma_ratio) in copies:
            model.mean_ = mean
            model.lambda_ = lam * scale_phi
            model.gamma_ = gamma_ratio * lam * scale_theta
            acoustic_side = acoustic_vectors @ (projected / (acoustic_values + model.gamma_)[:, None])
            # S(SᵀS + λI)⁻¹ written as (SSᵀ + λI)⁻¹S: n_classes, not semantic_dim, unknowns.
            class_side = class_vectors @ (class_projected / (class_values + model.lambda_)[:, None])
            model.V_ = acoustic_side @ class_side
            model.acoustic_dim_, model.semantic_dim_ = model.V_.shape
        return [model for model, _ in copies]

    def _scores(self, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        return (theta - self.mean_) @ (self.V_ @ phi.T)
