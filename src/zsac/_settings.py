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
import math
import numbers
import re
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
    "check_settings",
    "check_seed",
    "check_device_name",
    "check_lambda_grid",
    "check_optional_count",
    "parse_device",
    "parse_seed",
    "parse_float_list",
    "parse_lambda",
    "parse_calibration",
    "check_calibration",
    "CALIBRATION_MODES",
    "MAX_SEED",
]

#: The largest seed: every random generator zsac seeds (NumPy's, torch's) takes 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1

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
    check : callable or None
        Raises :class:`~zsac.ConfigError` for a bad value (the whole value, after ``parse``);
        run on the command-line value and by the library on its parameter (:func:`check_settings`).

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
    check: Callable[[Any], None] | None = None
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
    check: Callable[[Any], None] | None = None,
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
        "check": check,
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


#: The words a calibration may be besides a number: learnt at fit time, or none (γ = 0).
CALIBRATION_MODES = ("auto", "none")


def check_calibration(value: Any) -> None:
    """Raise ConfigError unless ``value`` is ``"auto"``, ``"none"`` or a finite number (γ of calibrated stacking)."""
    if isinstance(value, str) and value in CALIBRATION_MODES:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"calibration must be auto, none or a finite number, got {value!r}")


def parse_calibration(text: str) -> float | str:
    """``"auto"``, ``"none"``, or a finite number (checked)."""
    if text in CALIBRATION_MODES:
        return text
    try:
        value = float(text)
    except ValueError as exc:
        raise ConfigError(f"calibration must be auto, none or a finite number, got {text!r}") from exc
    check_calibration(value)
    return value


def check_settings(source: Any) -> None:
    """Run the ``check`` of every setting of ``source`` (a configuration or an estimator) on its value.

    The command line runs the same checks on option values (:func:`zsac.commands._options.add_setting`),
    so a bad value is refused with the same message whether it comes from the command line or the API.

    Raises
    ------
    ConfigError
    """
    for item in settings_of(source).values():
        if item.check is not None:
            item.check(getattr(source, item.name))


def _is_whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_seed(value: Any) -> None:
    """Raise ConfigError unless ``value`` is a whole number in 0 .. :data:`MAX_SEED`."""
    if not (_is_whole(value) and 0 <= value <= MAX_SEED):
        raise ConfigError(f"a seed must be a whole number from 0 to {MAX_SEED}, got {value!r}")


def parse_seed(text: str) -> int:
    """A command-line seed, checked (:func:`check_seed`)."""
    try:
        value = int(text)
    except ValueError as exc:
        raise ConfigError(f"a seed must be a whole number from 0 to {MAX_SEED}, got {text!r}") from exc
    check_seed(value)
    return value


def check_optional_count(name: str) -> Callable[[Any], None]:
    """A check that ``name`` is ``None`` or a whole number >= 1 (``max_iter``, ``word_vector_limit``)."""

    def check(value: Any) -> None:
        if value is not None and not (_is_whole(value) and value >= 1):
            raise ConfigError(f"{name} must be a whole number >= 1, got {value!r}")

    check.__name__ = f"check_{name}"
    return check


def check_lambda_grid(values: Any) -> None:
    """Raise ConfigError unless ``values`` is a non-empty sequence of finite numbers >= 0 (λ candidates)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ConfigError(f"lambda_grid must be a list of numbers >= 0, got {values!r}")
    values = list(values)
    if not values:
        raise ConfigError("lambda_grid is empty: give at least one λ value")
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v < math.inf]
    if bad:
        raise ConfigError(f"lambda_grid values must be finite numbers >= 0, got {bad[0]!r} in {values!r}")


def _device_error(value: Any) -> ConfigError:
    return ConfigError(f"device must be auto, cpu, cuda or cuda:N (or another torch device), got {value!r}")


#: torch's device types (torch.device's list); a device string is one, optionally with ``:index``.
_DEVICE_TYPES = (
    "cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia", "xla", "lazy",
    "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone",
)  # fmt: skip
_DEVICE = re.compile(rf"(?:{'|'.join(_DEVICE_TYPES)})(?::\d+)?")


def check_device_name(value: Any) -> None:
    """Raise ConfigError unless ``value`` is ``None``, ``"auto"`` or a torch device string (``cuda:1``).

    Checked by its form, without importing torch: a saved model is checked at load, and int8
    inference never loads torch. Whether the device is there is checked where it is used (and
    by :func:`parse_device` on the command line): a saved model names the device it was trained
    on, which need not exist where it is loaded.
    """
    if value is None or value == "auto" or type(value).__name__ == "device":  # or a torch.device
        return
    if not (isinstance(value, str) and _DEVICE.fullmatch(value)):
        raise _device_error(value)


def parse_device(text: str) -> str:
    """A command-line device: a device string torch can parse, and one that this machine has."""
    check_device_name(text)
    # The CPU is always there; asking torch about it would load torch, which int8 inference never needs.
    if text not in ("auto", "cpu"):
        from ._device import resolve_device

        resolve_device(text)  # ConfigError when CUDA (or that CUDA device) is not there
    return text
