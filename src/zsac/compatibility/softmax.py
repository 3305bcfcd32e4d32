"""Bilinear compatibility trained with softmax cross-entropy over the training classes (DeViSE/ALE style).

:class:`SoftmaxBilinear` scores F(x, z) = θ(x)ᵀ W φ(z), as :class:`~zsac.compatibility.Bilinear`
does, but learns W by minimising the cross-entropy of a softmax over the training classes
instead of the WARP ranking loss, with a weight decay on W. Full-batch L-BFGS in torch; torch
loads on the first ``fit``, not on import (see :mod:`zsac`).

The helpers here (rescaling, the span of the class embeddings, the target distribution, the
shared parameter checks) are also used by :mod:`zsac.compatibility.projection`.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._settings import check_choice, check_device_name, check_seed
from ..errors import ConfigError
from .base import CompatibilityLearner, as_matrix, check_fit_inputs, rms_norm

__all__ = ["SoftmaxBilinear", "DTYPES"]

logger = logging.getLogger(__name__)

DTYPES = ("float32", "float64")


# --- what both torch learners share ----------------------------------------------------------


def check_number(name: str, value: Any, *, low: float = 0.0, strict: bool = False) -> None:
    """Raise a one-line ConfigError unless ``value`` is a finite real number >= ``low`` (> with ``strict``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if strict else value >= low)
    if not ok:
        raise ConfigError(f"{name} must be a finite number {'>' if strict else '>='} {low:g}, got {value!r}")


def check_count(name: str, value: Any) -> None:
    """Raise a one-line ConfigError unless ``value`` is a whole number >= 1."""
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1):
        raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")


def check_common(learner: Any) -> None:
    """The checks of ``lam``, ``temperature``, ``max_iter``, ``dtype``, ``device`` and ``seed``."""
    owner = type(learner).__name__
    check_number("lam", learner.lam)
    check_number("temperature", learner.temperature, strict=True)
    check_count("max_iter", learner.max_iter)
    check_choice(owner, "dtype", learner.dtype, DTYPES)
    check_device_name(learner.device)
    check_seed(learner.seed)


def target_distribution(indicator: np.ndarray) -> np.ndarray:
    """Each sample's target: uniform over its positive classes (one-hot for one class).

    Parameters
    ----------
    indicator : np.ndarray [shape=(n_samples, n_classes), dtype=bool]

    Returns
    -------
    np.ndarray [shape=(n_samples, n_classes), dtype=float64]
        Rows sum to 1.
    """
    targets = indicator.astype(np.float64)
    return targets / targets.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class ClassSpan:
    """The training class embeddings in coordinates of their row span.

    φ̃ = φ / s_φ = ``coords`` @ ``basis``: a map applied to φ̃ is seen by the training loss only
    on this span, and its part outside it only adds to the weight decay, so the minimiser has
    none. The solvers optimise the map on the span (k <= n_classes numbers per output instead
    of semantic_dim) and never create the orthogonal part, so nothing random or undecayed
    reaches the unseen classes.

    Attributes
    ----------
    basis : np.ndarray [shape=(k, semantic_dim), dtype=float64]
        Orthonormal rows.
    coords : np.ndarray [shape=(n_classes, k), dtype=float64]
    """

    basis: np.ndarray
    coords: np.ndarray

    @classmethod
    def of(cls, phi_rescaled: np.ndarray) -> ClassSpan:
        u, s, vt = np.linalg.svd(phi_rescaled, full_matrices=False)
        keep = s > s[0] * max(phi_rescaled.shape) * np.finfo(np.float64).eps if s[0] > 0 else np.zeros(0, bool)
        if not keep.any():
            raise ConfigError("the class embeddings are all zero")
        return cls(basis=vt[keep], coords=u[:, keep] * s[keep])


def placement(device: Any, dtype: str) -> tuple[Any, Any]:
    """torch's device (``"auto"``: CUDA when there is one) and dtype; loads torch."""
    import torch

    from .._device import resolve_device

    return resolve_device(device), getattr(torch, dtype)


def lbfgs(parameters: list[Any], closure: Any, *, max_iter: int, tol: float) -> int:
    """Full-batch L-BFGS (strong-Wolfe line search) for at most ``max_iter`` iterations; returns the count.

    ``tol`` is torch's ``tolerance_change`` (absolute change of the objective or the step);
    with ``tol=0`` it runs all ``max_iter`` iterations unless a step is exactly zero.
    """
    import torch

    optimizer = torch.optim.LBFGS(
        parameters, lr=1.0, max_iter=max_iter, max_eval=2 * max_iter, tolerance_grad=0.0,
        tolerance_change=tol, history_size=10, line_search_fn="strong_wolfe",
    )  # fmt: skip
    optimizer.step(closure)
    return int(optimizer.state[optimizer._params[0]].get("n_iter", 0))


# --- the learner ------------------------------------------------------------------------------


class SoftmaxBilinear(CompatibilityLearner):
    """Zero-shot classifier by bilinear compatibility, trained with softmax cross-entropy (DeViSE/ALE style).

    With θ̃ = θ / s_θ and φ̃ = φ / s_φ, where s_θ and s_φ are the root-mean-square row norms
    of the training θ and φ (:func:`~zsac.compatibility.base.rms_norm`), W̃ minimises

        (1/n) Σ_n CE(t_n, softmax_y(θ̃_nᵀ W̃ φ̃_y / T)) + lam ‖W̃‖²_F

    over the training classes y, where t_n is uniform over the positive classes of clip n
    (one-hot for a single label) and T is ``temperature``. The fitted model scores
    F(x, z) = θᵀ W φ with W = W̃ / (T s_θ s_φ), so F is the trained logit.

    ``lam`` is **relative**: in the original variables the penalty is
    lam · s_θ² s_φ² T² ‖W‖²_F (:func:`~zsac.compatibility.base.data_scale` times T²), so the
    same ``lam`` gives the same predictions when θ is multiplied by any factor, or when φ is
    (a three-part spec, ‖φ‖² = 3, against a one-part one). For this model T is only a change
    of variables: (T, lam) and (1, lam T²) give the same W. It is kept as a parameter so that
    ``lam`` is measured in the cosine-like units of the rescaled scores, where the
    :attr:`default_grid` was tuned (T = 0.1 on AudioSet, WLE+SLE+SSE).

    Parameters
    ----------
    lam : float
        Relative weight decay (>= 0); choose it on validation classes from :attr:`default_grid`.
    temperature : float
        T > 0, divides the rescaled scores.
    max_iter : int
        L-BFGS iterations at most.
    tol : float
        L-BFGS stops when the objective or the step changes by less than this (torch's
        ``tolerance_change``).
    init : np.ndarray [shape=(acoustic_dim, semantic_dim)], optional
        Warm start: a starting W in the fitted model's units (for example ``W_`` of a fit
        with a neighbouring ``lam``); its part outside the span of the training φ is dropped.
        Zeros by default.
    device : str
        ``"cpu"``, ``"cuda"`` (``"cuda:N"``) or ``"auto"`` (CUDA when there is one).
    dtype : {"float32", "float64"}
        The solver's precision; ``W_`` is float64 either way.
    seed : int
        Unused by this deterministic, convex fit (zero start); kept so every learner takes one.

    Attributes
    ----------
    W_ : np.ndarray [shape=(acoustic_dim, semantic_dim), dtype=float64]
        F(x, z) = θᵀ W_ φ.
    n_iter_ : int
        L-BFGS iterations run.
    objective_ : float
        The objective above at the solution, in the solver's dtype.
    gradient_norm_ : float
        Frobenius norm of the objective's gradient with respect to W̃ at the solution (in the
        span of the training φ, where the solver works).
    fit_seconds_ : float
    acoustic_dim_, semantic_dim_ : int
    """

    #: On AudioSet (WLE+SLE+SSE, fold seed 0, T = 0.1) validation chose 3e-3 or 1e-2.
    default_grid: ClassVar[tuple[float, ...]] = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
    fitted_attribute: ClassVar[str] = "W_"
    name: ClassVar[str] = "softmax"

    def __init__(
        self,
        *,
        lam: float = 3e-3,
        temperature: float = 0.1,
        max_iter: int = 200,
        tol: float = 1e-7,
        init: np.ndarray | None = None,
        device: str = "cpu",
        dtype: str = "float32",
        seed: int = 0,
    ) -> None:
        self.lam = lam
        self.temperature = temperature
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.device = device
        self.dtype = dtype
        self.seed = seed

    def _check_params(self) -> None:
        check_common(self)
        check_number("tol", self.tol)

    def fit(self, acoustic_embeddings: np.ndarray, labels: np.ndarray, class_embeddings: np.ndarray) -> SoftmaxBilinear:
        """Learn W from training clips of the training classes.

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
        SoftmaxBilinear
        """
        self._check_params()
        started = time.perf_counter()
        theta, indicator, phi = check_fit_inputs(acoustic_embeddings, labels, class_embeddings)
        init = None
        if self.init is not None:
            init = as_matrix(self.init, "init")
            if init.shape != (theta.shape[1], phi.shape[1]):
                raise ConfigError(f"init must have shape {(theta.shape[1], phi.shape[1])}, got {init.shape}")
        import torch

        device, dtype = placement(self.device, self.dtype)
        theta_scale, phi_scale = rms_norm(theta), rms_norm(phi)
        span = ClassSpan.of(phi / phi_scale)
        T = float(self.temperature)
        lam = float(self.lam)
        theta_t = torch.as_tensor(theta / theta_scale, dtype=dtype, device=device)
        targets = torch.as_tensor(target_distribution(indicator), dtype=dtype, device=device)
        coords = torch.as_tensor(span.coords, dtype=dtype, device=device)  # [n_classes, k]
        start = np.zeros((theta.shape[1], span.basis.shape[0]))
        if init is not None:  # W̃ = T s_θ s_φ W, restricted to the span
            start = (init * (T * theta_scale * phi_scale)) @ span.basis.T
        B = torch.as_tensor(start, dtype=dtype, device=device).clone().requires_grad_(True)
        n = theta.shape[0]

        def objective_and_gradient() -> torch.Tensor:
            # Closed form: ∂CE/∂logits = (softmax - t) / n, and the logits are θ̃ B cᵀ / T.
            with torch.no_grad():
                logits = (theta_t @ B) @ coords.T / T
                log_p = torch.log_softmax(logits, dim=1)
                loss = -(targets * log_p).sum() / n + lam * B.pow(2).sum()
                score_gradient = (log_p.exp_() - targets) / (n * T)
                B.grad = (theta_t.T @ score_gradient) @ coords + (2.0 * lam) * B
            return loss

        self.n_iter_ = lbfgs([B], objective_and_gradient, max_iter=int(self.max_iter), tol=float(self.tol))
        loss = objective_and_gradient()
        self.objective_ = float(loss)
        self.gradient_norm_ = float(B.grad.norm())
        W_tilde = B.detach().double().cpu().numpy() @ span.basis
        self.W_ = W_tilde / (T * theta_scale * phi_scale)
        self.acoustic_dim_, self.semantic_dim_ = self.W_.shape
        self.fit_seconds_ = time.perf_counter() - started
        logger.debug("softmax λ=%g: %d iterations, objective %.6g", lam, self.n_iter_, self.objective_)
        return self

    def _scores(self, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        return theta @ (self.W_ @ phi.T)
