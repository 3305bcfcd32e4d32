"""A generative learner: class-conditional Gaussians whose means are regressed from φ.

p(θ | z) = N(μ(z), Σ) with μ(z) = θ̄ + B (φ(z) − φ̄), a ridge regression from the class
embedding to the class's mean clip fitted on the training classes, and Σ the training clips'
pooled within-class covariance, shrunk by Ledoit-Wolf. Scoring a clip by its log-likelihood
under each class is linear discriminant analysis with regressed means, so any class that has
an embedding can be recognised, and :meth:`GaussianGenerative.sample` synthesises clips of it.

This is the closed-form limit of the synthesise-then-train family (f-CLSWGAN, CADA-VAE,
ZeroDiffusion): those learn a nonlinear conditional generator, draw features of the unseen
classes and train a classifier on them. With a Gaussian generator of shared covariance the
best classifier trained on unlimited synthesised features is this LDA, so nothing needs to
be drawn to classify; it is not a VAE, a GAN or a diffusion model.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._settings import check_seed
from ..errors import ConfigError
from .base import CompatibilityLearner, as_matrix, check_fit_inputs
from .eszsl import check_positive, mean_square_norm

__all__ = ["GaussianGenerative"]


class GaussianGenerative(CompatibilityLearner):
    """Zero-shot classifier by Gaussian class-conditionals with means regressed from φ.

    Parameters
    ----------
    lam : float
        Relative ridge penalty of the regression from φ to class means, > 0: the absolute
        penalty is ``lam`` · mean‖φ − φ̄‖² over the training classes, the mean eigenvalue of
        their centred Gram matrix, so multiplying φ by a constant or concatenating copies
        of a spec leaves the predictions unchanged (and the regressed means are linear in θ,
        so the scale of θ does not matter either).
    seen_means : bool
        When True, a class whose embedding equals a training class's row exactly is scored
        (and sampled) with that class's empirical mean clip instead of the regressed mean:
        better for seen classes in generalised zero-shot, no change for new classes.

    Attributes
    ----------
    coef_ : np.ndarray [shape=(semantic_dim, acoustic_dim), dtype=float64]
        B, the ridge regression of centred class means on centred class embeddings.
    theta_mean_ : np.ndarray [shape=(acoustic_dim,)]
        θ̄, the mean of the training class means.
    phi_mean_ : np.ndarray [shape=(semantic_dim,)]
        φ̄, the mean embedding of the training classes that have clips.
    class_means_ : np.ndarray [shape=(n_train_classes, acoustic_dim)]
        Empirical mean clip of each training class that has clips (rows of ``train_phi_``).
    train_phi_ : np.ndarray [shape=(n_train_classes, semantic_dim)]
    covariance_, precision_ : np.ndarray [shape=(acoustic_dim, acoustic_dim)]
        The shrunk pooled within-class covariance Σ and its inverse.
    shrinkage_ : float
        The Ledoit-Wolf shrinkage towards a scaled identity.
    acoustic_dim_, semantic_dim_ : int

    Notes
    -----
    A multi-label clip counts towards the mean of each of its classes, and its within-class
    residual is taken from the average of its classes' means. Classes without clips take no
    part in the regression.
    """

    default_grid: ClassVar[tuple[float, ...]] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
    fitted_attribute: ClassVar[str] = "coef_"
    name: ClassVar[str] = "generative"

    def __init__(self, *, lam: float = 1.0, seen_means: bool = False) -> None:
        self.lam = lam
        self.seen_means = seen_means

    def _check_params(self) -> float:
        if not isinstance(self.seen_means, (bool, np.bool_)):
            raise ConfigError(f"GaussianGenerative seen_means must be True or False, got {self.seen_means!r}")
        return check_positive("GaussianGenerative", "lam", self.lam)

    def fit(
        self, acoustic_embeddings: np.ndarray, labels: np.ndarray, class_embeddings: np.ndarray
    ) -> GaussianGenerative:
        """Fit the class means' regression and the shared covariance on training clips.

        Parameters
        ----------
        acoustic_embeddings : np.ndarray [shape=(n_samples, acoustic_dim)]
        labels : np.ndarray [shape=(n_samples,), dtype=int] or [shape=(n_samples, n_classes)]
            Each clip's class as a row of ``class_embeddings``, or an indicator matrix.
        class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]
        """
        from sklearn.covariance import ledoit_wolf  # only at fit: importing zsac stays light

        lam = self._check_params()
        theta, indicator, phi = check_fit_inputs(acoustic_embeddings, labels, class_embeddings)
        counts = indicator.sum(axis=0)
        present = counts > 0
        if present.sum() < 2:
            raise ConfigError(f"GaussianGenerative needs clips of at least 2 classes, got {int(present.sum())}")
        weights = indicator[:, present].astype(np.float64)
        means = (weights.T @ theta) / counts[present, None]
        residuals = theta - (weights / weights.sum(axis=1, keepdims=True)) @ means
        self.covariance_, self.shrinkage_ = ledoit_wolf(residuals, assume_centered=True)
        self.precision_ = np.linalg.inv(self.covariance_)
        self.train_phi_ = phi[present]
        self.class_means_ = means
        self.phi_mean_ = self.train_phi_.mean(axis=0)
        self.theta_mean_ = means.mean(axis=0)
        centred_phi = self.train_phi_ - self.phi_mean_
        penalty = lam * mean_square_norm(centred_phi)
        # Ridge in its dual form: a system of n_classes, not semantic_dim, unknowns.
        dual = np.linalg.solve(
            centred_phi @ centred_phi.T + penalty * np.eye(len(centred_phi)), means - self.theta_mean_
        )
        self.coef_ = centred_phi.T @ dual
        self.semantic_dim_, self.acoustic_dim_ = self.coef_.shape
        return self

    def class_means(self, class_embeddings: Any) -> np.ndarray:
        """μ(z) of each class: regressed, or empirical for a training row when ``seen_means``.

        Parameters
        ----------
        class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]

        Returns
        -------
        np.ndarray [shape=(n_classes, acoustic_dim), dtype=float64]
        """
        self._check_fitted()
        phi = as_matrix(class_embeddings, "class_embeddings")
        if phi.shape[1] != self.semantic_dim_:
            raise ConfigError(
                f"class_embeddings have {phi.shape[1]} dimensions, the model expects {self.semantic_dim_}"
            )
        means = self.theta_mean_ + (phi - self.phi_mean_) @ self.coef_
        if self.seen_means:
            rows = {row.tobytes(): index for index, row in enumerate(self.train_phi_)}
            for index, row in enumerate(phi):
                match = rows.get(row.tobytes())
                if match is not None:
                    means[index] = self.class_means_[match]
        return means

    def _scores(self, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        means = self.class_means(phi)
        # log N(θ; μ, Σ) = θᵀPμ − ½μᵀPμ − ½θᵀPθ − ½ log det(2πΣ), P = Σ⁻¹.
        projected = means @ self.precision_
        _, logdet = np.linalg.slogdet(2.0 * np.pi * self.covariance_)
        quadratic = np.einsum("ij,jk,ik->i", theta, self.precision_, theta)
        return (
            theta @ projected.T
            - 0.5 * np.einsum("ij,ij->i", projected, means)[None, :]
            - 0.5 * (quadratic[:, None] + logdet)
        )

    def sample(self, class_embeddings: Any, n_per_class: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Synthesise clips θ ~ N(μ(z), Σ) of any classes.

        Parameters
        ----------
        class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]
        n_per_class : int
            Clips drawn for each class, ≥ 1.
        seed : int
            Seeds ``np.random.default_rng``; the same seed gives the same clips.

        Returns
        -------
        features : np.ndarray [shape=(n_classes * n_per_class, acoustic_dim), dtype=float64]
        labels : np.ndarray [shape=(n_classes * n_per_class,), dtype=int64]
            The row of ``class_embeddings`` each clip was drawn for, class by class.
        """
        if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
            raise ConfigError(f"n_per_class must be a whole number >= 1, got {n_per_class!r}")
        check_seed(seed)
        means = self.class_means(class_embeddings)
        labels = np.repeat(np.arange(len(means), dtype=np.int64), n_per_class)
        factor = np.linalg.cholesky(self.covariance_)
        noise = np.random.default_rng(seed).standard_normal((len(labels), self.acoustic_dim_))
        return means[labels] + noise @ factor.T, labels
