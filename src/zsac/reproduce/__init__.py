"""One-command reproduction of the paper's experiments.

- :mod:`~zsac.reproduce.esc50`: ESC-50, Tables VI–VIII (:func:`run_reproduce_esc50`);
- :mod:`~zsac.reproduce.audioset`: AudioSet, Tables IX–XI (:func:`run_reproduce_audioset`);
- :mod:`~zsac.reproduce.zero_shot`: one fold (:func:`evaluate_split`);
- :mod:`~zsac.reproduce.results`: the results folder, with resumption;
- :mod:`~zsac.reproduce.report`: tables beside the paper's (:mod:`~zsac.reproduce.paper`) and plots.
"""

from .audioset import AUDIOSET_OFFLINE_SPECS, LBFGS_MAX_ITER, run_reproduce_audioset
from .common import ReproductionResult, SemanticOptions, VGGishOptions
from .esc50 import run_reproduce_esc50
from .results import RECORD_KEYS, ResultsFolder
from .zero_shot import FoldOutcome, evaluate_split

__all__ = [
    "run_reproduce_esc50",
    "run_reproduce_audioset",
    "AUDIOSET_OFFLINE_SPECS",
    "LBFGS_MAX_ITER",
    "ReproductionResult",
    "SemanticOptions",
    "VGGishOptions",
    "ResultsFolder",
    "RECORD_KEYS",
    "evaluate_split",
    "FoldOutcome",
]
