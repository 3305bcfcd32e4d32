"""The learners by name: ``zsac reproduce --learner NAME`` and :func:`make_learner`.

Each name maps to a :class:`~zsac.compatibility.base.CompatibilityLearner` (or, for
``"bilinear"``, the paper's :class:`~zsac.compatibility.Bilinear`). :data:`LEARNERS` imports a
learner's module only when its class is looked up, so importing this module loads neither
scikit-learn nor torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from ..errors import ConfigError

__all__ = ["LEARNERS", "make_learner"]

#: name -> "module:Class", the module relative to zsac.compatibility.
_PATHS = {
    "bilinear": "bilinear:Bilinear",
    "eszsl": "eszsl:ESZSL",
    "sae": "sae:SAE",
    "generative": "generative:GaussianGenerative",
    "softmax": "softmax:SoftmaxBilinear",
    "nonlinear": "projection:NonlinearProjection",
}


class _LazyClasses(Mapping[str, type]):
    """A read-only name -> class mapping that imports each class's module on first lookup."""

    def __init__(self, paths: Mapping[str, str]) -> None:
        self._paths = dict(paths)

    def __getitem__(self, name: str) -> type:
        module, _, attribute = self._paths[name].partition(":")
        return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)

    def __contains__(self, name: object) -> bool:  # without importing the learner's module
        return isinstance(name, str) and name in self._paths

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __repr__(self) -> str:
        return f"LEARNERS({sorted(self._paths)})"


#: Every learner by its short name.
LEARNERS: Mapping[str, type] = _LazyClasses(_PATHS)


def make_learner(name: str, **params: Any) -> Any:
    """A new learner of the given name with the given parameters.

    Parameters
    ----------
    name : str
        One of :data:`LEARNERS`.
    **params
        Constructor parameters of that learner.

    Raises
    ------
    ConfigError
        For an unknown name (listing the known ones) or an unknown parameter.
    """
    if name not in LEARNERS:
        raise ConfigError(f"unknown learner {name!r}; known: {', '.join(LEARNERS)}")
    cls = LEARNERS[name]
    cls.check_param_names(params)
    return cls(**params)
