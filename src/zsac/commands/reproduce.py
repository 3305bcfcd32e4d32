"""``zsac reproduce esc50|audioset``: the paper's experiments in one command."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ..acoustic.config import VGGishConfig
from ..compatibility.bilinear import Bilinear
from ..compatibility.selection import PAPER_LAMBDA_GRID
from ..errors import ConfigError
from ..reproduce.audioset import AUDIOSET_VGGISH, audioset_estimator, run_reproduce_audioset
from ..reproduce.common import ReproductionResult
from ..reproduce.esc50 import run_reproduce_esc50
from ..semantic.config import SemanticConfig

__all__ = ["run_reproduce", "REPRODUCE_DATASETS"]

REPRODUCE_DATASETS = ("esc50", "audioset")
_SEMANTIC_FIELDS = tuple(field.name for field in dataclasses.fields(SemanticConfig))
_VGGISH_FIELDS = tuple(field.name for field in dataclasses.fields(VGGishConfig))


def _take(options: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {name: options.pop(name) for name in names if name in options}


def run_reproduce(
    *,
    dataset: str,
    semantic: str | None = None,
    solver: str = "lbfgs",
    max_iter: int | None = None,
    lambda_grid: Sequence[float] = PAPER_LAMBDA_GRID,
    bilinear_device: str = "cpu",
    progress: bool = True,
    **options: Any,
) -> ReproductionResult:
    """Run ``zsac reproduce esc50|audioset``; see ``zsac reproduce DATASET --help``.

    Parameters
    ----------
    dataset : {"esc50", "audioset"}
    semantic : str or None
        Comma-separated specs, e.g. ``"WLE,SLE+SSE"``; ``None`` is the dataset's default.
    solver, max_iter, lambda_grid, bilinear_device
        The bilinear model's solver and the λ grid.
    **options
        :class:`~zsac.semantic.SemanticConfig` text-model fields,
        :class:`~zsac.acoustic.VGGishConfig` fields (over the dataset's recipe), and the
        keywords of :func:`~zsac.reproduce.run_reproduce_esc50` or
        :func:`~zsac.reproduce.run_reproduce_audioset` (``out``, ``data``, ``seeds``, ...).
    """
    if dataset not in REPRODUCE_DATASETS:
        raise ConfigError(f"dataset must be one of {list(REPRODUCE_DATASETS)}, got {dataset!r}")
    text_models = SemanticConfig(**_take(options, _SEMANTIC_FIELDS))
    specs = SemanticConfig(semantic=semantic).specs() if semantic else None
    vggish = _take(options, _VGGISH_FIELDS)
    common = {"specs": specs, "semantic": text_models, "grid": lambda_grid, "progress": progress, **options}
    if dataset == "audioset":
        estimator = audioset_estimator(solver=solver, max_iter=max_iter, device=bilinear_device)
        return run_reproduce_audioset(
            **common, estimator=estimator, vggish=dataclasses.replace(AUDIOSET_VGGISH, **vggish)
        )
    estimator = Bilinear(solver=solver, max_iter=max_iter, device=bilinear_device)
    return run_reproduce_esc50(**common, estimator=estimator, vggish=VGGishConfig(**vggish))
