"""What each ``zsac`` command does, as keyword-only functions; :mod:`zsac.cli` only parses and dispatches.

Every ``run_*`` function takes the command's options as keywords named as the command's
``dest`` (``--max-epochs`` is ``max_epochs``), with the library's defaults, and returns
what the command reports. They are the command line's Python API. Each command is its own
module, loaded on first use (see :mod:`zsac`), so ``zsac classify`` loads nothing that only
training or ``reproduce`` needs.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["classify", "embed_classes", "evaluate", "features", "reproduce", "train", "train_acoustic"],
    submod_attrs={
        "classify": ["run_classify", "run_embed"],
        "embed_classes": ["run_embed_classes"],
        "evaluate": ["run_evaluate"],
        "features": ["run_features"],
        "reproduce": ["REPRODUCE_DATASETS", "run_reproduce"],
        "train": ["run_train"],
        "train_acoustic": ["run_train_acoustic"],
    },
)
