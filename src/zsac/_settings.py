"""Settings declared once: each knob's default, allowed values and help text.

The configuration dataclasses (:class:`~zsac.acoustic.VGGishConfig`,
:class:`~zsac.semantic.SemanticConfig`) declare every field with :func:`setting`, and the
estimators declare theirs in ``__init__`` (the default) plus a ``param_settings`` mapping
built with :func:`describe` (allowed values, help). :func:`settings_of` reads either kind
back as :class:`Setting` objects, and the command line is generated from them
(:mod:`zsac.cli`), so a default, a choice list or a help text is written in exactly one place.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import ConfigError

__all__ = [
    "Setting",
    "setting",
    "describe",
    "settings_of",
    "infos_of",
    "document_parameters",
    "check_choice",
    "parse_float_list",
    "parse_lambda",
]

_KEY = "zsac.setting"


@dataclasses.dataclass(frozen=True)
class Setting:
    """One knob as the library and the command line show it.

    Attributes
    ----------
    name : str
        The parameter or field name; also the ``dest`` of its command-line option.
    default : object
    help : str
    choices : tuple or None
        The allowed values, when they are a fixed list.
    parse : callable or None
        Turns one command-line word into a value (``int``, ``float``, ...).
    nargs : int, str or None
        Command-line words per use (``4`` for the VGGish widths).
    metavar : str or None
    flag : str or None
        The command-line spelling when it is not ``--`` + the name with dashes (``--lambda``).
    aliases : tuple of str
        Old spellings that still work for one release and warn.
    append : bool
        The option may be repeated; each use adds one value.

    For a flag that is on by default, ``help`` says what it does when on, and ``off_help``
    what ``--no-<name>``, the command line's way to turn it off, does.
    """

    name: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    parse: Callable[[str], Any] | None = None
    nargs: int | str | None = None
    metavar: str | None = None
    flag: str | None = None
    aliases: tuple[str, ...] = ()
    append: bool = False
    off_help: str | None = None
    annotation: str = ""

    @property
    def option(self) -> str:
        """The command-line flag: ``--max-epochs`` for ``max_epochs``; ``--no-x`` for a flag that is on by default."""
        if self.flag:
            return self.flag
        dashed = self.name.replace("_", "-")
        return f"--no-{dashed}" if self.default is True else f"--{dashed}"


def describe(
    help: str,
    *,
    choices: Iterable[Any] | None = None,
    parse: Callable[[str], Any] | None = None,
    nargs: int | str | None = None,
    metavar: str | None = None,
    flag: str | None = None,
    aliases: Iterable[str] = (),
    append: bool = False,
    off_help: str | None = None,
) -> dict[str, Any]:
    """Everything about a knob but its default: for estimators, whose defaults live in ``__init__``."""
    return {
        "help": help,
        "choices": None if choices is None else tuple(choices),
        "parse": parse,
        "nargs": nargs,
        "metavar": metavar,
        "flag": flag,
        "aliases": tuple(aliases),
        "append": append,
        "off_help": off_help,
    }


def setting(default: Any, help: str, **options: Any) -> Any:
    """A dataclass field with its default, allowed values and help (options as for :func:`describe`)."""
    return dataclasses.field(default=default, metadata={_KEY: describe(help, **options)})


def settings_of(source: Any) -> dict[str, Setting]:
    """The settings of a configuration dataclass, or of an estimator class (or instance).

    An estimator's defaults come from its ``__init__`` signature and the rest from its
    ``param_settings`` mapping; parameters missing from that mapping are not listed.
    """
    cls = source if isinstance(source, type) else type(source)
    if dataclasses.is_dataclass(cls):
        return {
            field.name: Setting(
                name=field.name, default=field.default, annotation=str(field.type), **field.metadata[_KEY]
            )
            for field in dataclasses.fields(cls)
            if _KEY in field.metadata
        }
    described: Mapping[str, dict[str, Any]] = getattr(cls, "param_settings", {})
    out = {}
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if name in described and parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            annotation = "" if parameter.annotation is inspect.Parameter.empty else str(parameter.annotation)
            out[name] = Setting(name=name, default=parameter.default, annotation=annotation, **described[name])
    return out


def infos_of(config_class: type) -> dict[str, dict[str, Any]]:
    """A configuration dataclass's field descriptions, to reuse for estimator parameters of the same name."""
    return {
        field.name: dict(field.metadata[_KEY]) for field in dataclasses.fields(config_class) if _KEY in field.metadata
    }


def document_parameters(cls: type) -> type:
    """Class decorator: add a numpydoc ``Parameters`` section, built from :func:`settings_of`, to the docstring.

    The help of each parameter then has one home (its setting), shared by the docstring and
    the command line.
    """
    lines = ["Parameters", "----------"]
    for item in settings_of(cls).values():
        kind = f"{{{', '.join(map(repr, item.choices))}}}" if item.choices else item.annotation
        lines += [f"{item.name} : {kind}, default {item.default!r}", f"    {item.help[:1].upper()}{item.help[1:]}."]
    section = "\n".join(f"    {line}" if line else "" for line in lines) + "\n\n"
    doc = cls.__doc__ or ""
    marker = "    Attributes\n    ----------"
    cls.__doc__ = doc.replace(marker, section + marker, 1) if marker in doc else doc.rstrip() + "\n\n" + section
    return cls


def check_choice(owner: str, name: str, value: Any, choices: Iterable[Any]) -> None:
    """Raise ConfigError unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"{owner}: {name} must be one of {list(choices)}, got {value!r}")


def parse_float_list(text: str) -> list[float]:
    """``"0,0.01,1"`` → ``[0.0, 0.01, 1.0]``."""
    try:
        return [float(item) for item in text.split(",")]
    except ValueError as exc:
        raise ConfigError(f"expected comma-separated numbers, got {text!r}") from exc


def parse_lambda(text: str) -> float | str:
    """``"auto"``, or a number."""
    if text == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError as exc:
        raise ConfigError(f"λ must be 'auto' or a number, got {text!r}") from exc
