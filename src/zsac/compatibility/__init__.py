"""Bilinear compatibility learning with the WARP ranking loss (paper Section IV).

:class:`Bilinear` scores F(x, z) = θ(x)ᵀ W φ(z) and predicts the best of any classes
given at predict time; :func:`select_lambda` picks λ on validation classes and
:func:`select_lambda_by_class_folds` by class-split cross-validation over training classes;
:func:`warp_objective` and :func:`warp_gradient` are the objective's float64 definition.
Beside the paper's learner: the closed-form :class:`ESZSL` and :class:`SAE`, the generative
:class:`GaussianGenerative`, :class:`SoftmaxBilinear` (softmax cross-entropy, DeViSE/ALE style)
and :class:`NonlinearProjection` (factored tanh projections, Xie & Virtanen 2021);
:func:`make_learner` builds any learner by name.

Public names load on first use (see :mod:`zsac`).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=[
        "base",
        "bilinear",
        "eszsl",
        "generative",
        "learners",
        "projection",
        "sae",
        "selection",
        "softmax",
        "solvers",
        "warp",
    ],  # fmt: skip
    submod_attrs={
        "bilinear": ["SOLVERS", "Bilinear", "load_bilinear", "save_bilinear"],
        "eszsl": ["ESZSL"],
        "generative": ["GaussianGenerative"],
        "learners": ["LEARNERS", "make_learner"],
        "sae": ["SAE"],
        "selection": [
            "PAPER_LAMBDA_GRID",
            "LambdaSelection",
            "select_lambda",
            "ClassFoldSelection",
            "select_lambda_by_class_folds",
        ],
        "projection": ["NonlinearProjection"],
        "softmax": ["SoftmaxBilinear"],
        "solvers": ["SolverResult", "fit_full_batch", "fit_sgd"],
        "warp": ["rank_weight_table", "warp_gradient", "warp_objective", "warp_score_gradient"],
    },
)
