"""Compatibilities of clips with named classes, and their probabilities, ranked."""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Ranking"]


@dataclasses.dataclass
class Ranking:
    """Compatibilities of clips with classes: what :meth:`ZeroShotClassifier.rank` returns.

    Attributes
    ----------
    classes : list of str
    scores : np.ndarray [shape=(n_clips, n_classes)], float64
        F(x, z) = θ(x)ᵀ W φ(z) (eq. 4).
    probabilities : np.ndarray [shape=(n_clips, n_classes)], float64
        Softmax of ``scores / temperature``; rows sum to 1.
    """

    classes: list[str]
    scores: np.ndarray
    probabilities: np.ndarray

    def top(self, k: int) -> list[list[tuple[str, float, float]]]:
        """The best ``k`` (class, probability, score) of each clip, best first; ties in class order."""
        order = np.argsort(-self.scores, axis=1, kind="stable")[:, :k]
        return [
            [(self.classes[j], float(self.probabilities[i, j]), float(self.scores[i, j])) for j in row]
            for i, row in enumerate(order)
        ]
