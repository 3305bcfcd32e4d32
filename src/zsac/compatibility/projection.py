"""A nonlinear learner: the factored tanh projection of Xie & Virtanen (ICASSP 2021).

:class:`NonlinearProjection` projects the acoustic embedding θ and the class embedding φ
through their own linear maps into one h-dimensional space, applies tanh to each, and scores a
(clip, class) pair by the dot product of the two projections ("Zero-shot audio classification
with factored linear and nonlinear acoustic-semantic projections"). It is trained with the
same softmax cross-entropy over the training classes as
:class:`~zsac.compatibility.SoftmaxBilinear`, so the two are comparable. torch loads on the
first ``fit``, not on import (see :mod:`zsac`).
"""

from __future__ import annotations

import logging
import time
from typing import ClassVar

import numpy as np

from .base import CompatibilityLearner, check_fit_inputs, rms_norm
from .softmax import ClassSpan, check_common, check_count, lbfgs, placement, target_distribution

__all__ = ["NonlinearProjection"]

logger = logging.getLogger(__name__)


class NonlinearProjection(CompatibilityLearner):
    """Zero-shot classifier by factored tanh projections of θ and φ into a joint space.

    With θ̃ = (θ - μ) / s_θ (μ the mean training clip, s_θ the root-mean-square norm of the
    centred training θ) and φ̃ = φ / s_φ (s_φ that of the training φ), the score is

        F(x, z) = tanh(θ̃ U + a) · tanh(φ̃ V + b) / (T h)

    with U [acoustic_dim, h], V [semantic_dim, h], biases a, b [h] and T ``temperature``; as
    tanh lies in [-1, 1], |F| <= 1/T. The parameters minimise

        (1/n) Σ_n CE(t_n, softmax_y F(x_n, y)) + (lam / h) (‖U‖²_F + ‖V‖²_F)

    over the training classes y, t_n uniform over the positives of clip n. ``lam`` is
    **relative**: the rescaling makes the fit, and so the best ``lam``, independent of the
    scale of θ and of φ (a three-part spec against a one-part one); dividing by h keeps the
    penalty of the unit-variance start (lam (acoustic_dim + rank of the training φ)) the
    same at any width. V is kept in the span of
    the training φ (its orthogonal part would only add to the penalty), so nothing random
    reaches the unseen classes' projections.

    Training is full-batch L-BFGS for exactly ``max_iter`` iterations from a seeded start
    (U and V normal with unit variance per entry in the rescaled variables, V drawn on the
    span of the training φ; biases zero), so the same seed gives the same model on the same
    device; the objective is not convex, and different seeds give different models.

    Parameters
    ----------
    lam : float
        Relative weight decay (>= 0); choose it on validation classes from :attr:`default_grid`.
    hidden : int
        h, the width of the joint space.
    temperature : float
        T > 0.
    max_iter : int
        L-BFGS iterations.
    device : str
        ``"cpu"``, ``"cuda"`` (``"cuda:N"``) or ``"auto"`` (CUDA when there is one).
    dtype : {"float32", "float64"}
        The solver's precision; the fitted weights are float64 either way.
    seed : int
        Seeds the starting U and V.

    Attributes
    ----------
    acoustic_weights_ : np.ndarray [shape=(acoustic_dim, hidden), dtype=float64]
        U / s_θ: applied to θ - ``acoustic_mean_``.
    acoustic_bias_ : np.ndarray [shape=(hidden,), dtype=float64]
    acoustic_mean_ : np.ndarray [shape=(acoustic_dim,), dtype=float64]
    semantic_weights_ : np.ndarray [shape=(semantic_dim, hidden), dtype=float64]
        V / s_φ: applied to φ.
    semantic_bias_ : np.ndarray [shape=(hidden,), dtype=float64]
    score_scale_ : float
        1 / (T h), as fitted.
    n_iter_ : int
    objective_ : float
        The objective above at the solution, in the solver's dtype.
    fit_seconds_ : float
    acoustic_dim_, semantic_dim_ : int
    """

    #: On AudioSet (WLE+SLE+SSE, fold seed 0) validation chose 1e-4 .. 3e-3 and never below 1e-4.
    default_grid: ClassVar[tuple[float, ...]] = (1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
    fitted_attribute: ClassVar[str] = "semantic_weights_"
    name: ClassVar[str] = "nonlinear"

    def __init__(
        self,
        *,
        lam: float = 1e-4,
        hidden: int = 256,
        temperature: float = 0.05,
        max_iter: int = 100,
        device: str = "cpu",
        dtype: str = "float32",
        seed: int = 0,
    ) -> None:
        self.lam = lam
        self.hidden = hidden
        self.temperature = temperature
        self.max_iter = max_iter
        self.device = device
        self.dtype = dtype
        self.seed = seed

    def _check_params(self) -> None:
        check_common(self)
        check_count("hidden", self.hidden)

    def fit(
        self, acoustic_embeddings: np.ndarray, labels: np.ndarray, class_embeddings: np.ndarray
    ) -> NonlinearProjection:
        """Learn the two projections from training clips of the training classes.

        Parameters
        ----------
        acoustic_embeddings : np.ndarray [shape=(n_samples, acoustic_dim)]
            θ(x) of each training clip.
        labels : np.ndarray [shape=(n_samples,), dtype=int] or [shape=(n_samples, n_classes)]
            Each clip's class as a row of ``class_embeddings``, or a multi-label indicator
            matrix (the target is uniform over a clip's positives).
        class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]
            φ(z) of each training class; the softmax runs over all of them.

        Returns
        -------
        NonlinearProjection
        """
        self._check_params()
        started = time.perf_counter()
        theta, indicator, phi = check_fit_inputs(acoustic_embeddings, labels, class_embeddings)
        import torch

        device, dtype = placement(self.device, self.dtype)
        mean = theta.mean(axis=0)
        theta_scale, phi_scale = rms_norm(theta - mean), rms_norm(phi)
        span = ClassSpan.of(phi / phi_scale)
        h, T, lam, n = int(self.hidden), float(self.temperature), float(self.lam), theta.shape[0]
        # The start is drawn with NumPy, so it is the same on every device.
        rng = np.random.default_rng(self.seed)
        U0 = rng.standard_normal((theta.shape[1], h))
        R0 = rng.standard_normal((span.basis.shape[0], h))  # V = basisᵀ R: an isotropic V projected on the span

        def tensor(values: np.ndarray, grad: bool = False) -> torch.Tensor:
            return torch.as_tensor(values, dtype=dtype, device=device).clone().requires_grad_(grad)

        theta_t = tensor((theta - mean) / theta_scale)
        coords = tensor(span.coords)
        targets = tensor(target_distribution(indicator))
        U, R = tensor(U0, True), tensor(R0, True)
        a, b = tensor(np.zeros(h), True), tensor(np.zeros(h), True)
        parameters = [U, R, a, b]

        def objective() -> torch.Tensor:
            logits = torch.tanh(theta_t @ U + a) @ torch.tanh(coords @ R + b).T / (T * h)
            penalty = (lam / h) * (U.pow(2).sum() + R.pow(2).sum())
            return -(targets * torch.log_softmax(logits, dim=1)).sum() / n + penalty

        def closure() -> torch.Tensor:
            for parameter in parameters:
                parameter.grad = None
            loss = objective()
            loss.backward()
            return loss.detach()

        # tol=0: exactly max_iter iterations, for a result that depends on the seed alone.
        self.n_iter_ = lbfgs(parameters, closure, max_iter=int(self.max_iter), tol=0.0)
        with torch.no_grad():
            self.objective_ = float(objective())

        def numpy(value: torch.Tensor) -> np.ndarray:
            return value.detach().double().cpu().numpy()

        self.acoustic_mean_ = mean
        self.acoustic_weights_ = numpy(U) / theta_scale
        self.acoustic_bias_ = numpy(a)
        self.semantic_weights_ = (span.basis.T @ numpy(R)) / phi_scale
        self.semantic_bias_ = numpy(b)
        self.score_scale_ = 1.0 / (T * h)
        self.acoustic_dim_, self.semantic_dim_ = theta.shape[1], phi.shape[1]
        self.fit_seconds_ = time.perf_counter() - started
        logger.debug("nonlinear λ=%g: %d iterations, objective %.6g", lam, self.n_iter_, self.objective_)
        return self

    def _scores(self, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        acoustic = np.tanh((theta - self.acoustic_mean_) @ self.acoustic_weights_ + self.acoustic_bias_)
        semantic = np.tanh(phi @ self.semantic_weights_ + self.semantic_bias_)
        return (acoustic @ semantic.T) * self.score_scale_
