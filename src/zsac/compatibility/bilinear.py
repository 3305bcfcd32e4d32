"""The bilinear compatibility model F(x, z) = θ(x)ᵀ W φ(z) (paper Section IV-A, eqs. 2-5)."""

from __future__ import annotations

import json
import math
import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from .. import __version__
from .._atomic import atomic_path, write_json_atomic
from .._device import resolve_device
from .._params import EstimatorParams
from ..errors import CheckpointError, ConfigError
from ..evaluation import top1_accuracy
from .solvers import FULL_BATCH_METHODS, fit_full_batch, fit_sgd
from .warp import check_training_inputs, warp_objective

__all__ = ["Bilinear", "save_bilinear", "load_bilinear", "SOLVERS"]

SOLVERS = (*FULL_BATCH_METHODS, "sgd")
WEIGHTS_FILE = "bilinear.safetensors"
CONFIG_FILE = "bilinear.json"
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class Bilinear(EstimatorParams):
    """Zero-shot classifier by bilinear compatibility, trained with the WARP loss (eq. 9).

    Classes are given as embeddings at every call, so the classes predicted can differ from
    the classes trained on: that is zero-shot classification (eq. 5).

    Parameters
    ----------
    lam : float
        λ, the weight of ‖W‖²_F. The paper picks it from {0, 0.01, 1, 10} on validation
        classes: see :func:`~zsac.compatibility.select_lambda`.
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
    objective_ : float
        Eq. (9) on the training data at ``W_``, computed in float64.
    objective_curve_ : list of float
    acoustic_dim_, semantic_dim_ : int
    """

    def __init__(
        self,
        *,
        lam: float = 0.01,
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
        if self.solver not in SOLVERS:
            raise ConfigError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        if isinstance(self.lam, bool) or not (isinstance(self.lam, numbers.Real) and 0 <= self.lam < math.inf):
            raise ConfigError(f"lam must be a finite number >= 0, got {self.lam!r}")
        if self.init not in ("zeros", "normal"):
            raise ConfigError(f"init must be 'zeros' or 'normal', got {self.init!r}")
        if self.dtype not in _DTYPES:
            raise ConfigError(f"dtype must be one of {sorted(_DTYPES)}, got {self.dtype!r}")
        if self.max_iter is not None and not (isinstance(self.max_iter, numbers.Integral) and self.max_iter >= 1):
            raise ConfigError(f"max_iter must be a whole number >= 1, got {self.max_iter!r}")

    def fit(self, acoustic_embeddings: np.ndarray, labels: np.ndarray, class_embeddings: np.ndarray) -> Bilinear:
        """Learn W from training samples of the training classes.

        Parameters
        ----------
        acoustic_embeddings : np.ndarray [shape=(n_samples, acoustic_dim)]
            θ(x) of each training clip.
        labels : np.ndarray [shape=(n_samples,), dtype=int]
            Each clip's class, as a row of ``class_embeddings``.
        class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]
            φ(z) of each training class. Ranks are counted over all of them.
        """
        self._check_params()
        theta, labels, phi = check_training_inputs(acoustic_embeddings, labels, class_embeddings, self.lam)
        init = None
        if self.init == "normal":
            init = np.random.default_rng(self.seed).normal(0.0, self.init_scale, (theta.shape[1], phi.shape[1]))
        common = dict(
            lam=float(self.lam), delta=self.delta, init=init,
            device=resolve_device(self.device), dtype=_DTYPES[self.dtype], progress=self.progress,
        )  # fmt: skip
        if self.learning_rate is not None:  # otherwise each solver's own default
            common["learning_rate"] = self.learning_rate
        if self.solver == "sgd":
            if self.max_iter is not None:
                common["epochs"] = self.max_iter
            result = fit_sgd(theta, labels, phi, **common, seed=self.seed, batch_size=self.batch_size)
        else:
            result = fit_full_batch(
                theta, labels, phi, **common, method=self.solver, max_iter=self.max_iter, tol=self.tol
            )
        self.W_ = result.W
        self.n_iter_ = result.n_iter
        self.objective_curve_ = result.objective_curve
        self.objective_ = warp_objective(theta, self.W_, phi, labels, float(self.lam), self.delta)
        self.acoustic_dim_, self.semantic_dim_ = self.W_.shape
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "W_"):
            raise ConfigError("this Bilinear model is not fitted yet: call fit() or load_bilinear() first")

    def decision_function(self, acoustic_embeddings: np.ndarray, class_embeddings: np.ndarray) -> np.ndarray:
        """Compatibility scores F(x, z) = θ(x)ᵀ W φ(z) (eq. 4) of every clip with every class.

        Parameters
        ----------
        acoustic_embeddings : np.ndarray [shape=(n_clips, acoustic_dim)]
        class_embeddings : np.ndarray [shape=(n_classes, semantic_dim)]
            Any classes, seen in training or not.

        Returns
        -------
        np.ndarray [shape=(n_clips, n_classes), dtype=float64]
        """
        self._check_fitted()
        theta = _as_matrix(acoustic_embeddings, "acoustic_embeddings")
        phi = _as_matrix(class_embeddings, "class_embeddings")
        if theta.shape[1] != self.acoustic_dim_:
            raise ConfigError(
                f"acoustic_embeddings have {theta.shape[1]} dimensions, the model expects {self.acoustic_dim_}"
            )
        if phi.shape[1] != self.semantic_dim_:
            raise ConfigError(
                f"class_embeddings have {phi.shape[1]} dimensions, the model expects {self.semantic_dim_}"
            )
        return theta @ (self.W_ @ phi.T)

    def predict(self, acoustic_embeddings: np.ndarray, class_embeddings: np.ndarray) -> np.ndarray:
        """The best-scoring class of each clip (eq. 5), as a row index of ``class_embeddings``.

        Returns
        -------
        np.ndarray [shape=(n_clips,), dtype=int64]
            Ties go to the lowest index.
        """
        return np.argmax(self.decision_function(acoustic_embeddings, class_embeddings), axis=1)

    def score(self, acoustic_embeddings: np.ndarray, labels: np.ndarray, class_embeddings: np.ndarray) -> float:
        """Top-1 accuracy of :meth:`predict` against ``labels`` (rows of ``class_embeddings``)."""
        return top1_accuracy(self.decision_function(acoustic_embeddings, class_embeddings), labels)


def _as_matrix(values: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0:
        raise ConfigError(f"{name} must be a non-empty 2-D array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ConfigError(f"{name} contains NaN or infinite values")
    return array


def save_bilinear(
    model: Bilinear, directory: str | os.PathLike[str], *, metadata: dict[str, Any] | None = None
) -> Path:
    """Save a fitted model: ``W`` as safetensors and the parameters as JSON, each written atomically.

    Writes ``directory/bilinear.safetensors`` and ``directory/bilinear.json``;
    ``metadata`` (for example the semantic spec and training classes) goes into the JSON.
    """
    model._check_fitted()
    directory = Path(directory)
    with atomic_path(directory / WEIGHTS_FILE) as tmp:
        save_file({"W": np.ascontiguousarray(model.W_)}, tmp, metadata={"zsac_version": __version__})
    config = {
        "model": "bilinear",
        "params": model.get_params(),
        "acoustic_dim": model.acoustic_dim_,
        "semantic_dim": model.semantic_dim_,
        "n_iter": model.n_iter_,
        "objective": model.objective_,
        "zsac_version": __version__,
        "metadata": metadata or {},
    }
    write_json_atomic(directory / CONFIG_FILE, config)
    return directory


def load_bilinear(directory: str | os.PathLike[str]) -> tuple[Bilinear, dict[str, Any]]:
    """Load a model written by :func:`save_bilinear`.

    Returns
    -------
    model : Bilinear
        Fitted: ``W_`` and the parameters it was trained with.
    metadata : dict
        What was passed to :func:`save_bilinear`.
    """
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        model = Bilinear(**config["params"])
        shape = (int(config["acoustic_dim"]), int(config["semantic_dim"]))
    except FileNotFoundError as exc:
        raise CheckpointError(f"no bilinear model config at {config_path}") from exc
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"malformed bilinear model config {config_path}: {exc}") from exc
    try:
        tensors = load_file(weights_path)
    except (FileNotFoundError, SafetensorError, OSError) as exc:
        raise CheckpointError(f"cannot read bilinear weights {weights_path}: {exc}") from exc
    if set(tensors) != {"W"} or tensors["W"].shape != shape or tensors["W"].dtype != np.float64:
        found = {name: (array.shape, str(array.dtype)) for name, array in tensors.items()}
        raise CheckpointError(f"{weights_path} must hold exactly W float64 {shape} (per {config_path}), found {found}")
    try:
        model._check_params()
    except ConfigError as exc:
        raise CheckpointError(f"bad parameters in {config_path}: {exc}") from exc
    model.W_ = tensors["W"]
    model.acoustic_dim_, model.semantic_dim_ = shape
    model.n_iter_ = int(config.get("n_iter", 0))
    model.objective_ = float(config.get("objective", float("nan")))
    model.objective_curve_ = []
    return model, config.get("metadata", {})
