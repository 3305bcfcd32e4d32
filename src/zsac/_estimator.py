"""scikit-learn's estimator conventions for zsac's estimators, with zsac's errors.

:class:`ZsacEstimator` is scikit-learn's ``BaseEstimator`` (``get_params``, ``set_params``,
``clone``, ``repr``) whose ``set_params`` names unknown parameters with a
:class:`~zsac.ConfigError`, and :func:`check_fitted` is scikit-learn's ``check_is_fitted``
raising :class:`NotFittedError`, which is both scikit-learn's ``NotFittedError`` and a
:class:`~zsac.ZsacError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from .errors import ConfigError, ZsacError

__all__ = ["ZsacEstimator", "NotFittedError", "check_fitted"]


class NotFittedError(SklearnNotFittedError, ZsacError):
    """An estimator was used before ``fit`` (or ``load``): scikit-learn's error, and a :class:`~zsac.ZsacError`."""


class ZsacEstimator(BaseEstimator):
    """``BaseEstimator`` whose parameter errors are :class:`~zsac.ConfigError`.

    As in scikit-learn, ``__init__`` takes keyword-only parameters and stores each under its
    own name, doing nothing else; fitted attributes end in ``_``.
    """

    @classmethod
    def check_param_names(cls, names: Iterable[str]) -> None:
        """Raise ConfigError naming any of ``names`` that is not a constructor parameter."""
        known = cls._get_param_names()
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} parameter(s) {unknown}; known: {known}")

    def set_params(self, **params: Any) -> ZsacEstimator:
        self.check_param_names(params)
        return super().set_params(**params)


def check_fitted(estimator: Any, attributes: str | Iterable[str]) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has the fitted ``attributes``."""
    name = type(estimator).__name__
    try:
        check_is_fitted(
            estimator,
            attributes,
            msg=f"this {name} is not fitted yet: call fit() (or load a saved one) before using it",
        )
    except SklearnNotFittedError as exc:
        raise NotFittedError(str(exc)) from None
