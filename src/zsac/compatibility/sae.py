"""SAE: the semantic autoencoder of Kodirov, Xiang & Gong (CVPR 2017), in closed form.

"Semantic Autoencoder for Zero-Shot Learning" learns one linear map W from acoustic to
semantic space that is also, transposed, the decoder back to acoustic space:

    min_W ‖X − SW‖² + λ‖XWᵀ − S‖²,

with X the (n_samples, acoustic_dim) training θ and S the (n_samples, semantic_dim) semantic
targets of the clips. Setting the gradient to zero gives the Sylvester equation

    SᵀS W + λ W XᵀX = (1 + λ) SᵀX,     W of shape (semantic_dim, acoustic_dim),

solved here through the eigendecompositions of the two symmetric Gram matrices (see
:func:`solve_sae_sylvester`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from .._settings import check_choice
from .base import CompatibilityLearner, check_fit_inputs, rms_norm
from .eszsl import check_positive

__all__ = ["SAE", "DIRECTIONS", "solve_sae_sylvester"]

#: "semantic": score cos(Wθ, φ) (the encoder); "acoustic": score cos(θ, Wᵀφ) (the decoder).
DIRECTIONS = ("semantic", "acoustic")


def solve_sae_sylvester(
    acoustic_gram: np.ndarray, class_gram: np.ndarray, class_acoustic: np.ndarray, phi: np.ndarray, lam: float
) -> np.ndarray:
    """W solving SᵀS W + λ W XᵀX = (1 + λ) SᵀX with S = GΦ, from the Gram matrices of X and G.

    ``scipy.linalg.solve_sylvester`` would run a Schur decomposition of the semantic_dim ×
    semantic_dim matrix SᵀS (up to 1068² here) for every λ. Both sides are symmetric, so with
    SᵀS = UΛUᵀ and XᵀX = QMQᵀ the equation becomes elementwise in the rotated unknown
    W̃ = UᵀWQ: W̃ᵢⱼ = C̃ᵢⱼ / (Λᵢ + λMⱼ). SᵀS = RRᵀ with R = Φᵀ(GᵀG)^½ has rank at most
    n_classes, and the right-hand side lies in its range, so only its non-zero eigenpairs are
    needed; they come from the n_classes × n_classes matrix RᵀR = VΛVᵀ (U = RVΛ^-½), which
    makes a fit cost milliseconds instead of a decomposition of semantic_dim².

    Parameters
    ----------
    acoustic_gram : np.ndarray [shape=(acoustic_dim, acoustic_dim)]
        XᵀX.
    class_gram : np.ndarray [shape=(n_classes, n_classes)]
        GᵀG, with G the (n_samples, n_classes) weights of each sample on the class embeddings
        (its semantic target is GΦ).
    class_acoustic : np.ndarray [shape=(n_classes, acoustic_dim)]
        GᵀX.
    phi : np.ndarray [shape=(n_classes, semantic_dim)]
    lam : float
        λ > 0.

    Returns
    -------
    np.ndarray [shape=(semantic_dim, acoustic_dim), dtype=float64]
    """
    return _SylvesterPath(acoustic_gram, class_gram, class_acoustic, phi).solve(lam)


class _SylvesterPath:
    """The λ-independent part of :func:`solve_sae_sylvester`: every eigendecomposition, done once."""

    def __init__(
        self, acoustic_gram: np.ndarray, class_gram: np.ndarray, class_acoustic: np.ndarray, phi: np.ndarray
    ) -> None:
        values, vectors = np.linalg.eigh(class_gram)  # GᵀG = EDEᵀ
        root = vectors * np.sqrt(np.clip(values, 0.0, None))  # (GᵀG)^½ = E D^½ Eᵀ; the last Eᵀ cancels below
        phi_gram = phi @ phi.T
        semantic_values, rotation = np.linalg.eigh(root.T @ phi_gram @ root)  # RᵀR, with R = ΦᵀE D^½
        # Eigenvalues at round-off level belong to the null space of SᵀS, where W is 0.
        keep = semantic_values > semantic_values.max(initial=0.0) * len(root) * np.finfo(np.float64).eps * 10
        self.semantic_values, rotation = semantic_values[keep], rotation[:, keep]
        self.to_classes = root @ (rotation / np.sqrt(self.semantic_values))  # U = Φᵀ · to_classes
        self.acoustic_values, self.q = np.linalg.eigh(acoustic_gram)
        # C̃ / (1 + λ) = Uᵀ ΦᵀGᵀX Q, through the n_classes² Gram ΦΦᵀ rather than Φ itself.
        self.right = self.to_classes.T @ phi_gram @ class_acoustic @ self.q
        self.phi = phi

    def solve(self, lam: float) -> np.ndarray:
        rotated = (1.0 + lam) * self.right / (self.semantic_values[:, None] + lam * self.acoustic_values[None, :])
        return self.phi.T @ (self.to_classes @ rotated @ self.q.T)


class SAE(CompatibilityLearner):
    """Zero-shot classifier by a linear semantic autoencoder, solved in closed form.

    θ is centred on its training mean, then θ and the semantic targets are each divided by
    their RMS norm over the training clips, so that both reconstruction terms are in the
    same units (a tied W maps one way and its transpose the other, which only balances when
    both spaces have the same scale).

    Parameters
    ----------
    lam : float
        The relative weight λ > 0 of the encoder term ‖XWᵀ − S‖² against the decoder term
        ‖X − SW‖². Since both X and S are rescaled to RMS norm 1, λ is used as given: it is
        relative by construction, and multiplying θ or φ by a constant, or concatenating
        copies of a spec, leaves the predictions unchanged.
    direction : {"semantic", "acoustic"}
        How a clip is scored against a class: ``"semantic"`` compares the encoded clip Wθ̃
        with φ by cosine (the paper's first way); ``"acoustic"`` compares θ̃ with the decoded
        class Wᵀφ by cosine (its second way). ``"acoustic"`` is the default: see Notes.

    Attributes
    ----------
    W_ : np.ndarray [shape=(semantic_dim, acoustic_dim), dtype=float64]
        The encoder, applied to centred θ divided by ``acoustic_scale_``.
    mean_ : np.ndarray [shape=(acoustic_dim,), dtype=float64]
    acoustic_scale_, semantic_scale_ : float
        RMS norms of the centred training θ and of the training clips' semantic targets.
    acoustic_dim_, semantic_dim_ : int

    Notes
    -----
    The semantic target of a clip is its class embedding φ, or the mean φ of its classes for a
    multi-label clip. Both directions rank by cosine, so the scales above only matter for the fit.
    The acoustic direction ranks better on the synthetic zero-shot problem of the tests (θ = Aφ +
    noise) and on AudioSet: Top-1 0.172 against 0.145 (WLE+SLE+SSE, fold seed 0, 5 rotations,
    ``bench/learners.py`` at commit d146667, since replaced by ``zsac reproduce --learner``).
    Decoding into the 128-dimensional acoustic space compares a clip with the part of φ that
    predicts sound, where the encoder must reproduce all of a 1068-dimensional φ, most of which θ
    cannot predict.
    """

    default_grid: ClassVar[tuple[float, ...]] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
    fitted_attribute: ClassVar[str] = "W_"
    name: ClassVar[str] = "sae"

    def __init__(self, *, lam: float = 1.0, direction: str = "acoustic") -> None:
        self.lam = lam
        self.direction = direction

    def _check_params(self) -> float:
        check_choice("SAE", "direction", self.direction, DIRECTIONS)
        return check_positive("SAE", "lam", self.lam)

    def fit(self, acoustic_embeddings: np.ndarray, labels: np.ndarray, class_embeddings: np.ndarray) -> SAE:
        """Solve for W on training clips of the training classes.

        Parameters
        ----------
        acoustic_embeddings : np.ndarray [shape=(n_samples, acoustic_dim)]
        labels : np.ndarray [shape=(n_samples,), dtype=int] or [shape=(n_samples, n_classes)]
            Each clip's class as a row of ``class_embeddings``, or an indicator matrix.
        class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]
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
    ) -> list[SAE]:
        """One fitted copy per value of ``lam``, sharing the eigendecompositions of one Sylvester solve."""
        import scipy.sparse  # only at fit: importing zsac stays light

        copies = self._path_copies(lams)
        theta, indicator, phi = check_fit_inputs(acoustic_embeddings, labels, class_embeddings)
        mean = theta.mean(axis=0)
        x = theta - mean
        acoustic_scale = rms_norm(x)
        # G, each clip's weights on the class embeddings (the mean φ of its classes), is sparse:
        # its Grams cost n_samples · positives, not n_samples · n_classes².
        weights = scipy.sparse.csr_array(indicator / indicator.sum(axis=1, keepdims=True))
        class_gram = (weights.T @ weights).toarray()
        # rms‖GΦ‖ from the n_classes² Grams, without forming the (n_samples, semantic_dim) targets.
        mean_square = float(np.sum(class_gram * (phi @ phi.T))) / len(x)
        semantic_scale = float(np.sqrt(mean_square)) if mean_square > 0 else 1.0
        x = x / acoustic_scale
        path = _SylvesterPath(x.T @ x, class_gram, weights.T @ x, phi / semantic_scale)
        for model, lam in copies:
            model.mean_, model.acoustic_scale_, model.semantic_scale_ = mean, acoustic_scale, semantic_scale
            model.W_ = path.solve(lam)
            model.semantic_dim_, model.acoustic_dim_ = model.W_.shape
        return [model for model, _ in copies]

    def _scores(self, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        x = theta - self.mean_
        if self.direction == "semantic":
            return _cosine(x @ self.W_.T, phi)
        return _cosine(x, phi @ self.W_)


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), np.finfo(np.float64).tiny)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), np.finfo(np.float64).tiny)
    return a @ b.T
