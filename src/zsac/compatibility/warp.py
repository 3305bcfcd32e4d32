"""The WARP ranking objective of the bilinear model (paper Section IV-B, eqs. 6-9).

For a sample with acoustic embedding θ(x_n) and true class y_n, every class y gets the
hinge l(y) = Δ(y_n, y) + F(x_n, y) - F(x_n, y_n) (eq. 8), with Δ = 1 for y ≠ y_n and
0 for y_n and F(x, y) = θ(x)ᵀ W φ(y) (eq. 4). The rank r_n is the number of classes
y ≠ y_n with a positive hinge, counted exactly over all classes. The sample's hinge sum is
weighted by β(r_n)/r_n with β(r) = Σ_{i≤r} 1/i (eq. 6 with α_i = 1/i) and 0/0 = 0 (eq. 7);
the objective averages over samples and adds λ‖W‖²_F (eq. 9).

:func:`warp_objective` and :func:`warp_gradient` are the float64 numpy definitions;
:func:`warp_score_gradient` is the same maths on torch score matrices, used by the solvers.
The gradient holds each sample's rank constant (the weights are piecewise constant in W),
and a hinge of exactly zero counts as not violated, so it adds neither rank nor gradient.

**Several positives.** Labels may also be a bool indicator matrix of shape
``(n_samples, n_classes)`` (multi-label clips). Each (sample n, positive p) pair is then a
term of its own: its hinges l(y) = Δ + F(x_n, y) - F(x_n, p) run over the sample's
*negative* classes y only (another positive of the same sample is never a violator, so no
positive is pushed below another), its rank r_{n,p} counts the violating negatives, and it
is weighted β(r_{n,p})/r_{n,p}. A sample's loss is the mean of its terms over its P_n
positives, and the objective averages over samples:

    (1/N) Σ_n (1/P_n) Σ_{p ∈ P_n} β(r_{n,p})/r_{n,p} Σ_{y ∉ P_n} max(0, Δ + F(x_n, y) - F(x_n, p)) + λ‖W‖²_F,

which for a sample with one positive is its term of eq. (9) exactly. An indicator matrix
with one positive per row is turned into integer labels (:func:`check_training_inputs`), so
it gives the same numbers as integer labels, bit for bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..errors import ConfigError
from .base import label_matrix

if TYPE_CHECKING:  # warp_score_gradient works on the tensors it is given; no torch import needed here
    import torch

__all__ = [
    "PositivePairs",
    "positive_pairs",
    "rank_weight_table",
    "warp_objective",
    "warp_gradient",
    "warp_score_gradient",
]


def rank_weight_table(n_classes: int) -> np.ndarray:
    """β(r)/r for every possible rank r = 0 .. n_classes - 1 (eqs. 6-7, α_i = 1/i, 0/0 = 0).

    Returns
    -------
    np.ndarray [shape=(max(n_classes, 1),), dtype=float64]
    """
    ranks = np.arange(1, max(n_classes, 1), dtype=np.float64)
    beta = np.cumsum(1.0 / ranks)  # eq. (6) with α_i = 1/i
    return np.concatenate([[0.0], beta / ranks])  # r = 0: the convention 0/0 = 0 (eq. 7)


def check_training_inputs(
    theta: np.ndarray, labels: np.ndarray, phi: np.ndarray, lam: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate θ, labels, φ and λ as every objective and solver needs them; float64 copies of θ and φ.

    Parameters
    ----------
    theta : np.ndarray [shape=(n_samples, acoustic_dim)]
    labels : np.ndarray [shape=(n_samples,), dtype=int] or [shape=(n_samples, n_classes), dtype=bool]
        Rows of ``phi``, or an indicator matrix (0/1 or bool) with at least one positive per row.
    phi : np.ndarray [shape=(n_classes, semantic_dim)]
    lam : float

    Returns
    -------
    theta, labels, phi : np.ndarray
        ``labels`` is the integer array as given, or the indicator matrix as bool, except that an
        indicator matrix with exactly one positive per row becomes its integer labels
        [shape=(n_samples,), dtype=int64], so that it runs through the single-positive code.
    """
    theta = np.asarray(theta, dtype=np.float64)
    phi = np.asarray(phi, dtype=np.float64)
    labels = np.asarray(labels)
    if theta.ndim != 2 or phi.ndim != 2:
        raise ConfigError(f"theta and phi must be 2-D, got shapes {theta.shape} and {phi.shape}")
    if theta.shape[0] == 0 or phi.shape[0] == 0:
        raise ConfigError(f"need at least one sample and one class, got theta {theta.shape} and phi {phi.shape}")
    if labels.ndim == 2:
        labels = label_matrix(labels, theta.shape[0], phi.shape[0])
        if (labels.sum(axis=1) == 1).all():
            labels = np.argmax(labels, axis=1).astype(np.int64)
    elif labels.shape != (theta.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ConfigError(f"labels must be {theta.shape[0]} integers, got shape {labels.shape} of {labels.dtype}")
    elif labels.min() < 0 or labels.max() >= phi.shape[0]:
        raise ConfigError(
            f"labels must index the {phi.shape[0]} rows of phi, got values {labels.min()}..{labels.max()}"
        )
    if not (np.isfinite(theta).all() and np.isfinite(phi).all()):
        raise ConfigError("theta or phi contains NaN or infinite values")
    if isinstance(lam, bool) or not (isinstance(lam, (int, float, np.floating, np.integer)) and 0 <= lam < np.inf):
        raise ConfigError(f"lam must be a finite number >= 0, got {lam!r}")
    return theta, labels, phi


def _check_inputs(
    theta: np.ndarray, W: np.ndarray, phi: np.ndarray, labels: np.ndarray, lam: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    theta, labels, phi = check_training_inputs(theta, labels, phi, lam)
    W = np.asarray(W, dtype=np.float64)
    if W.shape != (theta.shape[1], phi.shape[1]):
        raise ConfigError(f"shapes do not chain: theta {theta.shape} @ W {W.shape} @ phi.T {phi.shape[::-1]}")
    return theta, W, phi, labels


def _margins_ranks_weights(
    scores: np.ndarray, labels: np.ndarray, delta: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rows = np.arange(len(labels))
    margins = delta + scores - scores[rows, labels][:, None]  # eq. (8)
    margins[rows, labels] = 0.0  # Δ(y_n, y_n) = 0 and F - F = 0: the true class has no hinge
    violated = margins > 0
    ranks = violated.sum(axis=1)
    weights = rank_weight_table(scores.shape[1])[ranks]
    return margins, violated, ranks, weights


def _pair_terms(
    scores: np.ndarray, positives: np.ndarray, delta: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One row per (sample, positive) pair: its hinges over the sample's negatives, ranks and weights.

    Returns ``rows`` and ``cols`` (the pairs, sample-major), ``margins`` and ``violated``
    [shape=(n_pairs, n_classes)], ``ranks`` and ``weights`` (β(r)/r divided by the sample's
    number of positives) [shape=(n_pairs,)].
    """
    rows, cols = np.nonzero(positives)
    margins = delta + scores[rows] - scores[rows, cols][:, None]
    margins[positives[rows]] = 0.0  # positives are never violators, their own or another's
    violated = margins > 0
    ranks = violated.sum(axis=1)
    weights = rank_weight_table(scores.shape[1])[ranks] / positives.sum(axis=1)[rows]
    return rows, cols, margins, violated, ranks, weights


def warp_objective(
    theta: np.ndarray, W: np.ndarray, phi: np.ndarray, labels: np.ndarray, lam: float, delta: float = 1.0
) -> float:
    """The regularised WARP objective (eq. 9), in float64.

    Parameters
    ----------
    theta : np.ndarray [shape=(n_samples, acoustic_dim)]
        Acoustic embeddings θ(x).
    W : np.ndarray [shape=(acoustic_dim, semantic_dim)]
        The bilinear compatibility matrix.
    phi : np.ndarray [shape=(n_classes, semantic_dim)]
        Class embeddings φ(z), one row per class.
    labels : np.ndarray [shape=(n_samples,), dtype=int] or [shape=(n_samples, n_classes), dtype=bool]
        Index of each sample's true class among the rows of ``phi``, or an indicator matrix of
        each sample's positive classes (several positives: see the module docstring).
    lam : float
        λ, the weight of ‖W‖²_F.
    delta : float
        Δ(y_n, y) for y ≠ y_n, the margin.

    Returns
    -------
    float
        (1/N) Σ_n β(r_n)/r_n Σ_y max(0, l(x_n, y_n, y)) + λ‖W‖²_F.
    """
    theta, W, phi, labels = _check_inputs(theta, W, phi, labels, lam)
    scores = theta @ W @ phi.T  # eq. (4)
    if labels.ndim == 2:  # several positives: (1/N) Σ_n (1/P_n) Σ_p of the pair terms
        rows, _, margins, violated, _, weights = _pair_terms(scores, labels, delta)
        per_sample = np.bincount(rows, weights * np.where(violated, margins, 0.0).sum(axis=1), len(labels))
        return float(np.mean(per_sample) + lam * np.sum(W * W))
    margins, violated, _, weights = _margins_ranks_weights(scores, labels, delta)
    hinge_sums = np.where(violated, margins, 0.0).sum(axis=1)
    return float(np.mean(weights * hinge_sums) + lam * np.sum(W * W))  # eqs. (7) and (9)


def warp_gradient(
    theta: np.ndarray, W: np.ndarray, phi: np.ndarray, labels: np.ndarray, lam: float, delta: float = 1.0
) -> np.ndarray:
    """Gradient of :func:`warp_objective` with respect to ``W``, each rank held constant.

    Takes the same arguments as :func:`warp_objective`.

    Returns
    -------
    np.ndarray [shape=(acoustic_dim, semantic_dim), dtype=float64]
        (1/N) Σ_n β(r_n)/r_n θ_n (Σ_{y violated} φ_y - r_n φ_{y_n})ᵀ + 2λW; with several
        positives, the same sum over (sample, positive) pairs, each weighted 1/P_n.
    """
    theta, W, phi, labels = _check_inputs(theta, W, phi, labels, lam)
    scores = theta @ W @ phi.T
    if labels.ndim == 2:  # several positives: each pair's gradient, summed over the sample's pairs
        rows, cols, _, violated, ranks, weights = _pair_terms(scores, labels, delta)
        pair_gradient = violated * weights[:, None]
        pair_gradient[np.arange(len(rows)), cols] = -weights * ranks
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # every sample has a pair, rows ascend
        score_gradient = np.add.reduceat(pair_gradient, starts, axis=0)
        return theta.T @ score_gradient @ phi / len(labels) + 2.0 * lam * W
    _, violated, ranks, weights = _margins_ranks_weights(scores, labels, delta)
    score_gradient = violated * weights[:, None]
    score_gradient[np.arange(len(labels)), labels] = -weights * ranks
    return theta.T @ score_gradient @ phi / len(labels) + 2.0 * lam * W


def warp_score_gradient(
    scores: torch.Tensor, labels: torch.Tensor, weight_table: torch.Tensor, *, delta: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean WARP data term (eq. 7) and its gradient with respect to the scores.

    Works in place: ``scores`` is overwritten (it becomes the gradient), which saves two
    passes over the largest array of a full-batch fit.

    Parameters
    ----------
    scores : torch.Tensor [shape=(n_samples, n_classes)]
        F(x_n, y) for every sample and class.
    labels : torch.Tensor [shape=(n_samples,), dtype=int64] or [shape=(n_samples, n_classes), dtype=bool]
        Each sample's class, or an indicator matrix of its positives with at least one per row
        (several positives: see the module docstring), or :func:`positive_pairs` of such a
        matrix (computed once for many calls).
    weight_table : torch.Tensor [shape=(n_classes,)]
        :func:`rank_weight_table` on the device and in the dtype of ``scores``.
    delta : float
        The margin.

    Returns
    -------
    loss : torch.Tensor
        A 0-d tensor, (1/N) Σ_n β(r_n)/r_n Σ_y max(0, l) (with several positives, the mean over
        each sample's positives of its pair terms).
    gradient : torch.Tensor [shape=(n_samples, n_classes)]
        ∂loss/∂scores with the ranks held constant (the storage of ``scores``).
    """
    if isinstance(labels, PositivePairs):
        return _multi_positive_score_gradient(scores, labels, weight_table, delta=delta)
    if labels.ndim == 2:
        pairs = positive_pairs(labels, scores.dtype)
        return _multi_positive_score_gradient(scores, pairs, weight_table, delta=delta)
    true_index = labels[:, None]
    margins = scores.sub_(scores.gather(1, true_index)).add_(delta)  # eq. (8)
    margins.scatter_(1, true_index, 0.0)  # the true class has no hinge
    violated = margins > 0
    ranks = violated.sum(dim=1)
    weights = weight_table[ranks] / scores.shape[0]
    loss = (margins.clamp_min_(0.0).sum(dim=1) * weights).sum()  # eq. (7)
    gradient = margins.copy_(violated).mul_(weights[:, None])
    gradient.scatter_(1, true_index, (-weights * ranks)[:, None])
    return loss, gradient


class PositivePairs(NamedTuple):
    """An indicator matrix of labels, laid out for :func:`warp_score_gradient` (see :func:`positive_pairs`).

    Attributes
    ----------
    positives : torch.Tensor [shape=(n_samples, n_classes), dtype=bool]
    counts : torch.Tensor [shape=(n_samples,)]
        Positives per sample.
    first : torch.Tensor [shape=(n_samples, 1), dtype=int64]
        Each sample's first positive class.
    rows, cols : torch.Tensor [shape=(n_other_pairs,), dtype=int64]
        The (sample, positive) pairs other than the first positives, sample-major.
    """

    positives: torch.Tensor
    counts: torch.Tensor
    first: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor


def positive_pairs(positives: torch.Tensor, dtype: torch.dtype) -> PositivePairs:
    """The layout of an indicator matrix that :func:`warp_score_gradient` uses, computed once per fit.

    Parameters
    ----------
    positives : torch.Tensor [shape=(n_samples, n_classes), dtype=bool]
        At least one positive per row.
    dtype : torch.dtype
        The dtype of the scores.
    """
    first = positives.to(dtype).argmax(dim=1, keepdim=True)  # the first maximum: the first positive of each row
    rows, cols = positives.clone().scatter_(1, first, False).nonzero(as_tuple=True)
    return PositivePairs(positives, positives.sum(dim=1).to(dtype), first, rows, cols)


def _multi_positive_score_gradient(
    scores: torch.Tensor, pairs: PositivePairs, weight_table: torch.Tensor, *, delta: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`warp_score_gradient` for several positives: one term per (sample, positive) pair.

    Each sample's first positive is done on the whole score matrix in place, as with integer
    labels; only the other positives (few: most clips have one class) are gathered into
    rows of their own, so several positives cost little more than one.
    """
    n_samples = scores.shape[0]
    positives, counts, first, rows, cols = pairs
    # The other pairs first, while the scores are intact.
    margins = (scores[rows] - scores[rows, cols][:, None]).add_(delta)  # [n_other_pairs, n_classes]
    margins.masked_fill_(positives[rows], 0.0)  # positives are never violators, their own or another's
    violated = margins > 0
    ranks = violated.sum(dim=1)
    weights = weight_table[ranks] / (counts[rows] * n_samples)
    loss = (margins.clamp_min_(0.0).sum(dim=1) * weights).sum()
    other_gradient = margins.copy_(violated).mul_(weights[:, None])
    other_gradient.scatter_(1, cols[:, None], (-weights * ranks)[:, None])
    # Then every sample's first positive, in the storage of the scores.
    margins = scores.sub_(scores.gather(1, first)).add_(delta)
    margins.masked_fill_(positives, 0.0)
    violated = margins > 0
    ranks = violated.sum(dim=1)
    weights = weight_table[ranks] / (counts * n_samples)
    loss = loss + (margins.clamp_min_(0.0).sum(dim=1) * weights).sum()
    gradient = margins.copy_(violated).mul_(weights[:, None])
    gradient.scatter_(1, first, (-weights * ranks)[:, None])
    # index_put_ with accumulate: a sample may have several other pairs (and it is far faster than index_add_ on CPU)
    return loss, gradient.index_put_((rows,), other_gradient, accumulate=True)
