"""scikit-learn's parameter conventions, shared by zsac's estimators."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from .errors import ConfigError


@functools.cache
def _defaults(cls: type) -> dict[str, Any]:
    return {
        name: parameter.default
        for name, parameter in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays, whose == is elementwise
        return False


class EstimatorParams:
    """``get_params``, ``set_params`` and ``__repr__`` from the constructor's keyword parameters.

    As in scikit-learn, ``__init__`` stores each parameter under its own name and does nothing else.
    """

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        return tuple(_defaults(cls))

    @classmethod
    def check_param_names(cls, names: Any) -> None:
        """Raise ConfigError naming any of ``names`` that is not a constructor parameter."""
        unknown = sorted(set(names) - set(_defaults(cls)))
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} parameter(s) {unknown}; known: {list(_defaults(cls))}")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters, as scikit-learn estimators report them."""
        return {name: getattr(self, name) for name in _defaults(type(self))}

    def set_params(self, **params: Any):
        self.check_param_names(params)
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = _defaults(type(self))
        changed = {k: v for k, v in self.get_params().items() if not _same(v, defaults[k])}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"
