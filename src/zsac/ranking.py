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
        F(x, z) = θ(x)ᵀ W φ(z) (eq. 4), as the model computes it.
    probabilities : np.ndarray [shape=(n_clips, n_classes)], float64
        Softmax of ``calibrated_scores / temperature``; rows sum to 1.
    seen : np.ndarray [shape=(n_classes,)], bool, or None
        Which classes are training classes of the model (None: not known).
    calibration : float
        The γ subtracted from the training classes' scores (calibrated stacking); 0 when the
        classes are all training classes or all new ones, or the model has no calibration.
    """

    classes: list[str]
    scores: np.ndarray
    probabilities: np.ndarray
    seen: np.ndarray | None = None
    calibration: float = 0.0

    @property
    def calibrated_scores(self) -> np.ndarray:
        """``scores`` less ``calibration`` for the training classes: what the classes are ranked by."""
        if not self.calibration or self.seen is None:
            return self.scores
        return self.scores - self.calibration * np.asarray(self.seen, dtype=np.float64)

    def best(self) -> np.ndarray:
        """The index of each clip's best class [shape=(n_clips,)]; ties go to the first."""
        return np.argmax(self.calibrated_scores, axis=1)

    def top(self, k: int) -> list[list[tuple[str, float, float]]]:
        """The best ``k`` (class, probability, score) of each clip, best first; ties in class order.

        The score is the calibrated one (:attr:`calibrated_scores`), the one the classes are ranked by.
        """
        scores = self.calibrated_scores
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return [
            [(self.classes[j], float(self.probabilities[i, j]), float(scores[i, j])) for j in row]
            for i, row in enumerate(order)
        ]
