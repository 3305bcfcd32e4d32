"""One-command reproduction of the paper's experiments.

- :mod:`~zsac.reproduce.esc50`: ESC-50, Tables VI–VIII (:func:`run_reproduce_esc50`);
- :mod:`~zsac.reproduce.audioset`: AudioSet, Tables IX–XI (:func:`run_reproduce_audioset`);
- :mod:`~zsac.reproduce.zero_shot`: one fold (:func:`evaluate_split`);
- :mod:`~zsac.reproduce.cross_validation`: ``zsac evaluate``, class-split cross-validation of a
  :class:`~zsac.ZeroShotClassifier` on your own data (:func:`cross_validate`);
- :mod:`~zsac.reproduce.results`: the results folder, with resumption and a run log;
- :mod:`~zsac.reproduce.records`: the record of one run (:class:`FoldRecord`) and summary frames;
- :mod:`~zsac.reproduce.tables`: Markdown tables beside the paper's (:mod:`~zsac.reproduce.paper`);
- :mod:`~zsac.reproduce.plots`: figures sized for a paper column;
- :mod:`~zsac.reproduce.report`: all of these written into the results folder (:func:`write_report`).

Public names load on first use (see :mod:`zsac`).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=[
        "audioset",
        "common",
        "cross_validation",
        "esc50",
        "paper",
        "plots",
        "records",
        "report",
        "results",
        "tables",
        "zero_shot",
    ],
    submod_attrs={
        "audioset": [
            "AUDIOSET_OFFLINE_SPECS",
            "AUDIOSET_VGGISH",
            "LBFGS_MAX_ITER",
            "audioset_estimator",
            "run_reproduce_audioset",
        ],
        "common": ["ReproductionResult"],
        "cross_validation": ["cross_validate", "evaluate_fold"],
        "esc50": ["run_reproduce_esc50"],
        "records": ["RECORD_KEYS", "FoldRecord"],
        "results": ["ResultsFolder"],
        "zero_shot": ["FoldOutcome", "evaluate_split"],
    },
)
