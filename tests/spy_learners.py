"""A tiny closed-form learner that records what every fit is given, for tests of the protocols."""

from __future__ import annotations

import numpy as np

from zsac.compatibility.base import CompatibilityLearner, check_fit_inputs, data_scale


class Fits(list):
    """The fits of every copy of a learner: λ selection deep-copies the learner, but not this record."""

    def __deepcopy__(self, memo):
        return self


class SpyRidge(CompatibilityLearner):
    """θ → the mean φ of a clip's labels by ridge regression; appends (θ, indicator, φ) of each fit to ``fits``."""

    name = "spy"
    default_grid = (0.1, 1.0)

    def __init__(self, *, lam: float = 1.0, fits: list | None = None) -> None:
        self.lam = lam
        self.fits = fits

    def _check_params(self) -> None:
        pass

    def fit(self, acoustic_embeddings, labels, class_embeddings):
        theta, indicator, phi = check_fit_inputs(acoustic_embeddings, labels, class_embeddings)
        if self.fits is not None:
            self.fits.append((theta.copy(), indicator.copy(), phi.copy()))
        targets = indicator @ phi / indicator.sum(axis=1, keepdims=True)
        gram = theta.T @ theta + self.lam * data_scale(theta, phi) * np.eye(theta.shape[1])
        self.W_ = np.linalg.solve(gram, theta.T @ targets)
        self.acoustic_dim_, self.semantic_dim_ = self.W_.shape
        return self

    def _scores(self, theta, phi):
        return theta @ self.W_ @ phi.T


def zero_shot_problem(n_classes=12, per_class=10, dim=8, sem=6, seed=0):
    """Clips whose θ is a fixed linear map of their class's φ plus noise: (θ, classes, class → φ)."""
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(n_classes, sem))
    mixing = rng.normal(size=(sem, dim))
    classes = np.repeat(np.arange(n_classes), per_class)
    acoustic = phi[classes] @ mixing + 0.3 * rng.normal(size=(classes.size, dim))
    return acoustic.astype(np.float32), classes, {c: phi[c] for c in range(n_classes)}
