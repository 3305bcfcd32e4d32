"""The bilinear compatibility model F(x, z) = θ(x)ᵀ W φ(z) (paper Section IV-A, eqs. 2-5)."""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .. import compatibility
from .._estimator import check_fitted
from .._settings import (
    check_choice,
    check_device_name,
    check_optional_count,
    check_seed,
    check_settings,
    describe,
    parse_device,
)
from ..checkpoint import BILINEAR_CONFIG_FILE, read_bilinear_folder, write_bilinear_folder
from ..errors import CheckpointError, ConfigError
from .base import CompatibilityLearner, data_scale
from .warp import check_training_inputs, warp_objective

__all__ = ["Bilinear", "save_bilinear", "load_bilinear", "SOLVERS", "DTYPES"]

#: The full-batch solvers in torch (:func:`~zsac.compatibility.fit_full_batch`), then the paper's SGD.
FULL_BATCH_METHODS = ("lbfgs", "adam")
SOLVERS = (*FULL_BATCH_METHODS, "sgd")
DTYPES = ("float32", "float64")
INITS = ("zeros", "normal")
#: How ``lam`` is read: the paper's λ as it is, or relative to the data's scale (see ``lambda_scale``).
LAMBDA_SCALES = ("absolute", "relative")
#: Relative λ values searched by default: log-spaced, 1.5 per decade, around the best values on
#: the AudioSet release (fold seed 0, RESULTS.md); the paper's 0.01 is about 3e-5 there.
RELATIVE_LAMBDA_GRID = tuple(float(f"{x:.3g}") for x in np.logspace(-6, -2, 9))


class Bilinear(CompatibilityLearner):
    """Zero-shot classifier by bilinear compatibility, trained with the WARP loss (eq. 9).

    Classes are given as embeddings at every call, so the classes predicted can differ from
    the classes trained on: that is zero-shot classification (eq. 5).

    Parameters
    ----------
    lam : float
        λ, the weight of ‖W‖²_F. The paper picks it from {0, 0.01, 1, 10} on validation
        classes: see :func:`~zsac.compatibility.select_lambda`.
    lambda_scale : {"absolute", "relative"}
        ``"absolute"``: ``lam`` is the paper's λ of eq. (9). ``"relative"``: the fit uses
        λ = ``lam`` · rms‖θ‖² · rms‖φ‖² / Δ, so the balance of loss and penalty is the same
        whatever the scale of θ and however many unit-norm parts φ concatenates (‖φ‖² = 1, 2, 3):
        scores of size Δ need ‖W‖ ∝ Δ / (‖θ‖‖φ‖). :attr:`default_grid` is in these units.
    solver : {"lbfgs", "adam", "sgd"}
        ``"lbfgs"`` and ``"adam"`` are the fast full-batch solvers of
        :func:`~zsac.compatibility.fit_full_batch`; ``"sgd"`` is the paper's mini-batch SGD
        (:func:`~zsac.compatibility.fit_sgd`).
    max_iter : int, optional
        Iterations (full batch; default 100 for L-BFGS, 300 for Adam) or epochs (SGD, default 20).
    learning_rate : float, optional
        The step in rescaled variables (θ and φ divided by their RMS norms): Adam's initial
        step (default 0.03) or SGD's step (default 0.5).
    batch_size : int
        SGD mini-batch size.
    delta : float
        The margin Δ(y_n, y) for y ≠ y_n (eq. 8).
    init : {"zeros", "normal"}
        Starting W: zeros, or normal with standard deviation ``init_scale`` (drawn from ``seed``).
    init_scale : float
    tol : float
        Full-batch stopping tolerance (relative change of the objective).
    device : str
        ``"cpu"``, ``"cuda"``, or ``"auto"``.
    dtype : {"float32", "float64"}
        The solver's precision; the fitted ``W_`` is float64 either way.
    seed : int
        Seeds the initialisation and SGD's sample order; the same seed gives the same W.
    progress : bool
        Show a progress bar while fitting.

    Attributes
    ----------
    W_ : np.ndarray [shape=(acoustic_dim, semantic_dim), dtype=float64]
    n_iter_ : int
    lambda_ : float
        The λ of eq. (9) the fit used (``lam`` itself unless ``lambda_scale="relative"``).
    objective_ : float
        Eq. (9) on the training data at ``W_``, computed in float64.
    objective_curve_ : list of float
    acoustic_dim_, semantic_dim_ : int
    """

    name: ClassVar[str] = "bilinear"
    default_grid: ClassVar[tuple[float, ...]] = RELATIVE_LAMBDA_GRID

    param_settings: ClassVar[dict[str, dict[str, Any]]] = {
        "solver": describe("bilinear solver (sgd is the paper's mini-batch SGD)", choices=SOLVERS),
        "max_iter": describe(
            "bilinear solver iterations (epochs for sgd; default: the solver's)",
            parse=int,
            metavar="N",
            check=check_optional_count("max_iter"),
        ),
        "device": describe(
            "device of the bilinear solver", flag="--bilinear-device", parse=parse_device, check=check_device_name
        ),
    }

    def __init__(
        self,
        *,
        lam: float = 0.01,
        lambda_scale: str = "absolute",
        solver: str = "lbfgs",
        max_iter: int | None = None,
        learning_rate: float | None = None,
        batch_size: int = 64,
        delta: float = 1.0,
        init: str = "zeros",
        init_scale: float = 0.01,
        tol: float = 1e-6,
        device: str = "cpu",
        dtype: str = "float32",
        seed: int = 0,
        progress: bool = False,
    ) -> None:
        self.lam = lam
        self.lambda_scale = lambda_scale
        self.solver = solver
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.delta = delta
        self.init = init
        self.init_scale = init_scale
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.seed = seed
        self.progress = progress

    def _check_params(self) -> None:
        check_choice("Bilinear", "solver", self.solver, SOLVERS)
        if isinstance(self.lam, bool) or not (isinstance(self.lam, numbers.Real) and 0 <= self.lam < math.inf):
            raise ConfigError(f"lam must be a finite number >= 0, got {self.lam!r}")
        check_choice("Bilinear", "lambda_scale", self.lambda_scale, LAMBDA_SCALES)
        check_choice("Bilinear", "init", self.init, INITS)
        check_choice("Bilinear", "dtype", self.dtype, DTYPES)
        check_settings(self)  # max_iter and device, as the command line checks them
        check_seed(self.seed)

    def fit(self, acoustic_embeddings: np.ndarray, labels: np.ndarray, class_embeddings: np.ndarray) -> Bilinear:
        """Learn W from training samples of the training classes.

        Parameters
        ----------
        acoustic_embeddings : np.ndarray [shape=(n_samples, acoustic_dim)]
            θ(x) of each training clip.
        labels : np.ndarray [shape=(n_samples,), dtype=int] or [shape=(n_samples, n_classes), dtype=bool]
            Each clip's class, as a row of ``class_embeddings``; or an indicator matrix of each
            clip's classes (multi-label clips, e.g. from
            :func:`~zsac.protocols.label_indicator_matrix`), trained with the multi-positive WARP
            of :mod:`~zsac.compatibility.warp`.
        class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]
            φ(z) of each training class. Ranks are counted over all of them.
        """
        self._check_params()
        theta, labels, phi = check_training_inputs(acoustic_embeddings, labels, class_embeddings, self.lam)
        lam = self.effective_lambda(theta, phi)
        init = None
        if self.init == "normal":
            init = np.random.default_rng(self.seed).normal(0.0, self.init_scale, (theta.shape[1], phi.shape[1]))
        solvers = compatibility.solvers  # torch loads here, on the first fit (see zsac/__init__.py)
        common = dict(
            lam=lam, delta=self.delta, init=init,
            device=self.device, dtype=self.dtype, progress=self.progress,
        )  # fmt: skip
        if self.learning_rate is not None:  # otherwise each solver's own default
            common["learning_rate"] = self.learning_rate
        if self.solver == "sgd":
            if self.max_iter is not None:
                common["epochs"] = self.max_iter
            result = solvers.fit_sgd(theta, labels, phi, **common, seed=self.seed, batch_size=self.batch_size)
        else:
            result = solvers.fit_full_batch(
                theta, labels, phi, **common, method=self.solver, max_iter=self.max_iter, tol=self.tol
            )
        self.W_ = result.W
        self.n_iter_ = result.n_iter
        self.objective_curve_ = result.objective_curve
        self.lambda_ = lam
        self.objective_ = warp_objective(theta, self.W_, phi, labels, lam, self.delta)
        self.acoustic_dim_, self.semantic_dim_ = self.W_.shape
        return self

    @property
    def score_margin(self) -> float:
        """WARP's margin Δ (eq. 8): the size of the score gaps the loss trains."""
        return float(self.delta)

    def effective_lambda(self, theta: np.ndarray, phi: np.ndarray) -> float:
        """The λ of eq. (9) that a fit on ``theta`` and ``phi`` uses (see ``lambda_scale``)."""
        if self.lambda_scale == "absolute":
            return float(self.lam)
        return float(self.lam) * data_scale(np.asarray(theta), np.asarray(phi)) / float(self.delta)

    def _check_fitted(self) -> None:
        check_fitted(self, "W_")

    def _scores(self, theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        return theta @ (self.W_ @ phi.T)  # eq. (4); predict() takes the argmax, eq. (5)


def save_bilinear(
    model: Bilinear, directory: str | os.PathLike[str], *, metadata: dict[str, Any] | None = None
) -> Path:
    """Save a fitted model: ``W`` as safetensors and the parameters as JSON, the folder replaced whole.

    Writes ``directory/bilinear.safetensors`` and ``directory/bilinear.json``;
    ``metadata`` (for example the semantic spec and training classes) goes into the JSON.
    """
    model._check_fitted()
    description = {
        "model": "bilinear",
        "params": model.get_params(),
        "acoustic_dim": model.acoustic_dim_,
        "semantic_dim": model.semantic_dim_,
        "n_iter": model.n_iter_,
        "objective": model.objective_,
        "lambda": model.lambda_,
        "metadata": metadata or {},
    }
    return write_bilinear_folder(directory, description=description, W=model.W_)


def load_bilinear(directory: str | os.PathLike[str]) -> tuple[Bilinear, dict[str, Any]]:
    """Load a model written by :func:`save_bilinear`.

    Returns
    -------
    model : Bilinear
        Fitted: ``W_`` and the parameters it was trained with.
    metadata : dict
        What was passed to :func:`save_bilinear`.
    """
    description, W = read_bilinear_folder(directory)
    config_path = Path(directory) / BILINEAR_CONFIG_FILE
    try:
        model = Bilinear(**description["params"])
        model._check_params()
    except (TypeError, ConfigError) as exc:
        raise CheckpointError(f"bad parameters in {config_path}: {exc}") from exc
    model.W_ = W
    model.acoustic_dim_, model.semantic_dim_ = W.shape
    model.n_iter_ = int(description.get("n_iter", 0))
    model.objective_ = float(description.get("objective", float("nan")))
    model.lambda_ = float(description.get("lambda", model.lam if model.lambda_scale == "absolute" else float("nan")))
    model.objective_curve_ = []
    return model, description.get("metadata", {})
