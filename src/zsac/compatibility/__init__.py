"""Bilinear compatibility learning with the WARP ranking loss (paper Section IV).

:class:`Bilinear` scores F(x, z) = θ(x)ᵀ W φ(z) and predicts the best of any classes
given at predict time; :func:`select_lambda` picks λ on validation classes;
:func:`warp_objective` and :func:`warp_gradient` are the objective's float64 definition.
"""

from .bilinear import SOLVERS, Bilinear, load_bilinear, save_bilinear
from .selection import PAPER_LAMBDA_GRID, LambdaSelection, select_lambda
from .solvers import SolverResult, fit_full_batch, fit_sgd
from .warp import rank_weight_table, warp_gradient, warp_objective, warp_score_gradient

__all__ = [
    "Bilinear",
    "save_bilinear",
    "load_bilinear",
    "SOLVERS",
    "select_lambda",
    "LambdaSelection",
    "PAPER_LAMBDA_GRID",
    "fit_full_batch",
    "fit_sgd",
    "SolverResult",
    "warp_objective",
    "warp_gradient",
    "warp_score_gradient",
    "rank_weight_table",
]
