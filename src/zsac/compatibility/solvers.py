"""Solvers for the WARP objective of the bilinear model (eq. 9).

- :func:`fit_sgd` is the paper's method: mini-batch stochastic (sub)gradient descent on
  the full matrix W, ranks counted exactly over all training classes for every sample.
- :func:`fit_full_batch` minimises the same objective with every sample and class at
  once, vectorised in torch (L-BFGS or Adam), on the CPU or a GPU. It is exact where it
  matters and much faster, for three reasons:

  1. **The span of the class embeddings.** The objective sees W only through W φ(y) for the
     training classes. Writing the SVD of the class matrix as U S Vᵀ, W = B Vᵀ (B has one
     column per singular direction, at most n_classes) gives the same scores, and the part
     of W outside that span only adds to λ‖W‖², so the minimiser has none (with λ = 0 this
     is where gradient descent from W = 0 stays). The solver optimises B: 128 x 300 numbers instead of
     128 x 700, and each score matrix costs n x 128 x n_classes multiply-adds.
  2. **Closed-form gradients.** :func:`~zsac.compatibility.warp.warp_score_gradient` gives
     ∂loss/∂scores directly, in place, so there is no autograd graph and no n x n_classes
     temporaries beyond one.
  3. **Scale-free steps.** θ and φ are divided by their root-mean-square norms s_θ, s_φ,
     and λ by (s_θ s_φ)², a change of variables (W = W' / (s_θ s_φ)) that leaves the
     minimiser unchanged but lets one default step size suit any data.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from .._device import resolve_device
from ..errors import ConfigError
from .bilinear import FULL_BATCH_METHODS
from .warp import check_training_inputs, positive_pairs, rank_weight_table, warp_score_gradient

__all__ = ["SolverResult", "fit_full_batch", "fit_sgd", "FULL_BATCH_METHODS"]

logger = logging.getLogger(__name__)

# Defaults live here only; Bilinear passes what its user set and nothing else.
DEFAULT_MAX_ITER = {"lbfgs": 100, "adam": 300}
DEFAULT_ADAM_STEP = 0.03


def _placement(device: torch.device | str | None, dtype: torch.dtype | str) -> tuple[torch.device, torch.dtype]:
    """``device`` resolved (``None``/``"auto"``: CUDA if available), and ``dtype`` as torch's (from ``"float64"``)."""
    return resolve_device(device), getattr(torch, dtype) if isinstance(dtype, str) else dtype


@dataclass(frozen=True)
class SolverResult:
    """What a solver returns.

    Attributes
    ----------
    W : np.ndarray [shape=(acoustic_dim, semantic_dim), dtype=float64]
    n_iter : int
        Iterations (full batch) or epochs (SGD) run.
    objective_curve : list of float
        The objective (eq. 9) at every evaluation, in the solver's dtype: once per
        iteration (Adam), per epoch (SGD), or per function evaluation, line-search steps
        included (L-BFGS).
    """

    W: np.ndarray
    n_iter: int
    objective_curve: list[float] = field(default_factory=list)


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not (isinstance(value, (int, float)) and 0 < value < math.inf):
            raise ConfigError(f"{name} must be a positive number, got {value!r}")
        if name in ("max_iter", "epochs", "batch_size") and int(value) != value:
            raise ConfigError(f"{name} must be a whole number, got {value!r}")


def _rms_norm(rows: np.ndarray) -> float:
    """Root-mean-square row norm (1 for all-zero rows), the scale of the change of variables."""
    scale = float(np.sqrt(np.mean(np.sum(rows**2, axis=1))))
    return scale if scale > 0 else 1.0


def _labels_tensor(labels: np.ndarray, device: torch.device) -> torch.Tensor:
    """Checked labels on ``device``: int64 class indices, or a bool indicator matrix (several positives)."""
    return torch.as_tensor(labels, dtype=torch.bool if labels.ndim == 2 else torch.int64, device=device)


def fit_full_batch(
    theta: np.ndarray,
    labels: np.ndarray,
    phi: np.ndarray,
    *,
    lam: float,
    delta: float = 1.0,
    method: str = "lbfgs",
    max_iter: int | None = None,
    learning_rate: float | None = None,
    tol: float = 1e-6,
    init: np.ndarray | None = None,
    device: torch.device | str | None = "cpu",
    dtype: torch.dtype | str = torch.float32,
    progress: bool = False,
) -> SolverResult:
    """Minimise eq. (9) over all samples and classes at once.

    Parameters
    ----------
    theta : np.ndarray [shape=(n_samples, acoustic_dim)]
    labels : np.ndarray [shape=(n_samples,), dtype=int] or [shape=(n_samples, n_classes), dtype=bool]
        Rows of ``phi``, or an indicator matrix of each sample's positives (several positives,
        :mod:`~zsac.compatibility.warp`).
    phi : np.ndarray [shape=(n_classes, semantic_dim)]
    lam, delta : float
        λ and the margin Δ.
    method : {"lbfgs", "adam"}
        L-BFGS with a strong-Wolfe line search, or Adam with a cosine-decaying step
        (``learning_rate``, default 0.03, in the rescaled variables) that returns the
        iterate with the lowest objective.
    max_iter : int, optional
        Iterations, by default 100 (L-BFGS, which may evaluate the objective up to 1.25
        times as often) or 300 (Adam).
    tol : float
        L-BFGS stops when the objective or the step changes by less than this (absolute,
        torch's ``tolerance_change``); Adam stops when the best objective has not improved
        by this fraction for 20 iterations.
    init : np.ndarray [shape=(acoustic_dim, semantic_dim)], optional
        Starting W (its part outside the span of ``phi`` is dropped); zeros by default.
    """
    if method not in FULL_BATCH_METHODS:
        raise ConfigError(f"full-batch method must be one of {FULL_BATCH_METHODS}, got {method!r}")
    device, dtype = _placement(device, dtype)
    theta, labels, phi = check_training_inputs(theta, labels, phi, lam)
    max_iter = DEFAULT_MAX_ITER[method] if max_iter is None else max_iter
    step = DEFAULT_ADAM_STEP if learning_rate is None else learning_rate
    _check_positive(max_iter=max_iter, learning_rate=step)
    theta_scale, phi_scale = _rms_norm(theta), _rms_norm(phi)
    theta_t = torch.as_tensor(theta / theta_scale, dtype=dtype, device=device)
    labels_t = _labels_tensor(labels, device)
    if labels_t.ndim == 2:  # several positives: their layout once, not at every evaluation
        labels_t = positive_pairs(labels_t, dtype)
    # The span of the class embeddings (point 1 of the module docstring), in float64.
    u, s, vt = np.linalg.svd(phi / phi_scale, full_matrices=False)
    keep = s > s[0] * max(phi.shape) * np.finfo(np.float64).eps if s.size and s[0] > 0 else np.zeros(0, bool)
    if not keep.any():
        raise ConfigError("the class embeddings are all zero")
    basis = vt[keep]  # [k, semantic_dim], orthonormal rows
    class_coords = torch.as_tensor(u[:, keep] * s[keep], dtype=dtype, device=device)  # [n_classes, k]
    scale = theta_scale * phi_scale
    lam_scaled = lam / scale**2  # λ‖W‖² = λ/(s_θ s_φ)² ‖W'‖² and ‖W'‖ = ‖B‖
    weight_table = torch.as_tensor(rank_weight_table(phi.shape[0]), dtype=dtype, device=device)

    start = np.zeros((theta_t.shape[1], basis.shape[0])) if init is None else (np.asarray(init) * scale) @ basis.T
    B = torch.as_tensor(start, dtype=dtype, device=device).clone().requires_grad_(True)
    class_coords_t = class_coords.T.contiguous()

    def objective_and_gradient() -> float:
        with torch.no_grad():
            scores = theta_t @ (B @ class_coords_t)
            loss, score_gradient = warp_score_gradient(scores, labels_t, weight_table, delta=delta)
            B.grad = (theta_t.T @ score_gradient) @ class_coords + (2.0 * lam_scaled) * B
            return float(loss + lam_scaled * B.pow(2).sum())

    curve: list[float] = []
    bar = tqdm(total=max_iter, desc=f"bilinear {method} λ={lam:g}", disable=not progress, leave=False)
    if method == "lbfgs":
        optimizer = torch.optim.LBFGS(
            [B], lr=1.0, max_iter=max_iter, tolerance_grad=0.0, tolerance_change=tol,
            history_size=10, line_search_fn="strong_wolfe",
        )  # fmt: skip

        def closure() -> torch.Tensor:
            value = objective_and_gradient()
            curve.append(value)
            bar.update(0)
            return torch.tensor(value, dtype=dtype)

        optimizer.step(closure)
        n_iter = int(optimizer.state[optimizer._params[0]].get("n_iter", 0))
        bar.update(n_iter)
        best = B.detach()
    else:
        optimizer = torch.optim.Adam([B], lr=step)
        best_value, best, since_best = math.inf, B.detach().clone(), 0
        n_iter = 0
        for n_iter in range(1, max_iter + 1):
            value = objective_and_gradient()
            curve.append(value)
            if n_iter == 1 or value < best_value - tol * abs(best_value):
                since_best = 0
            else:
                since_best += 1
            if value < best_value:
                best_value, best = value, B.detach().clone()
            if since_best >= 20:
                break
            for group in optimizer.param_groups:  # cosine decay to zero over max_iter
                group["lr"] = step * 0.5 * (1 + math.cos(math.pi * (n_iter - 1) / max_iter))
            optimizer.step()
            bar.update(1)
    bar.close()
    W = (best.double().cpu().numpy() @ basis) / scale
    logger.debug(
        "bilinear %s λ=%g: %d iterations, objective %.6g", method, lam, n_iter, curve[-1] if curve else math.nan
    )
    return SolverResult(W=W, n_iter=n_iter, objective_curve=curve)


def fit_sgd(
    theta: np.ndarray,
    labels: np.ndarray,
    phi: np.ndarray,
    *,
    lam: float,
    delta: float = 1.0,
    learning_rate: float = 0.5,
    epochs: int = 20,
    batch_size: int = 64,
    init: np.ndarray | None = None,
    seed: int = 0,
    device: torch.device | str | None = "cpu",
    dtype: torch.dtype | str = torch.float32,
    progress: bool = False,
) -> SolverResult:
    """The paper's mini-batch SGD on eq. (9) (Section IV-B), on the full W.

    Each step takes ``batch_size`` samples in a seeded random order, computes their exact
    ranks over all classes and moves W by ``learning_rate`` times the batch's mean
    gradient, the penalty's gradient 2λW taken implicitly. The step is taken in the rescaled variables of the full-batch
    solvers (θ and φ divided by their RMS norms), so one default suits any data.
    ``init`` is the starting W (zeros by default). ``labels`` are int class indices
    [shape=(n_samples,)] or a bool indicator matrix [shape=(n_samples, n_classes)] as in
    :func:`fit_full_batch`.
    """
    device, dtype = _placement(device, dtype)
    theta, labels, phi = check_training_inputs(theta, labels, phi, lam)
    _check_positive(batch_size=batch_size, epochs=epochs, learning_rate=learning_rate)
    if not np.any(phi):
        raise ConfigError("the class embeddings are all zero")
    # The same change of variables as the full-batch solvers (point 3 of the module docstring).
    theta_scale, phi_scale = _rms_norm(theta), _rms_norm(phi)
    scale = theta_scale * phi_scale
    theta_t = torch.as_tensor(theta / theta_scale, dtype=dtype, device=device)
    labels_t = _labels_tensor(labels, device)
    phi_t = torch.as_tensor(phi / phi_scale, dtype=dtype, device=device)
    lam_scaled = lam / scale**2
    shrink = 2.0 * learning_rate * lam_scaled
    weight_table = torch.as_tensor(rank_weight_table(phi_t.shape[0]), dtype=dtype, device=device)
    shape = (theta_t.shape[1], phi_t.shape[1])
    W = torch.zeros(shape, dtype=dtype, device=device)
    if init is not None:
        W += torch.as_tensor(np.asarray(init) * scale, dtype=dtype, device=device)
    order_rng = np.random.default_rng(seed)
    n = theta_t.shape[0]
    curve: list[float] = []
    with torch.no_grad():
        for _ in tqdm(range(epochs), desc=f"bilinear sgd λ={lam:g}", disable=not progress, leave=False):
            order = torch.as_tensor(order_rng.permutation(n), device=device)
            for start in range(0, n, batch_size):
                batch = order[start : start + batch_size]
                theta_batch = theta_t[batch]
                scores = (theta_batch @ W) @ phi_t.T
                _, score_gradient = warp_score_gradient(scores, labels_t[batch], weight_table, delta=delta)
                # The penalty's step is taken implicitly (W <- (W - η g) / (1 + 2ηλ)): the same
                # fixed points as the explicit step, but stable for any λ and step size.
                W.sub_(learning_rate * ((theta_batch.T @ score_gradient) @ phi_t)).div_(1.0 + shrink)
            loss, _ = warp_score_gradient(theta_t @ (W @ phi_t.T), labels_t, weight_table, delta=delta)
            curve.append(float(loss + lam_scaled * W.pow(2).sum()))
    return SolverResult(W=W.double().cpu().numpy() / scale, n_iter=epochs, objective_curve=curve)
