"""Command-line options: the option of a setting (from its one home, :mod:`zsac._settings`), and groups of options
that several commands share."""

from __future__ import annotations

import argparse
import inspect
import logging
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._distributed import is_torchrun_job
from .._settings import Setting, settings_of
from ..acoustic.config import VGGishConfig
from ..errors import ZsacError
from ..semantic.config import SemanticConfig

__all__ = [
    "add_setting",
    "add_settings",
    "add_parameter",
    "add_cache_options",
    "add_class_subset_options",
    "add_class_texts_options",
    "semantic_settings",
    "vggish_settings",
    "report_failures",
]

logger = logging.getLogger("zsac.cli")

_MISSING = object()


def parse_word(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` for argparse: a ConfigError becomes argparse's error, with zsac's message."""

    def parse_one(text: str) -> Any:
        try:
            return parse(text)
        except ZsacError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse_one.__name__ = getattr(parse, "__name__", "value")
    return parse_one


class _Deprecated(argparse.Action):
    """An old spelling of an option: it still works for one release, and says what replaces it."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, replacement: str, inner: str, **kwargs: Any):
        self.replacement, self.inner = replacement, inner
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        logger.warning(
            "%s is deprecated and will be removed in the next release; use %s", option_string, self.replacement
        )
        if self.inner == "append":
            _Mapping.add(namespace, self.dest, values)
        else:
            setattr(namespace, self.dest, values)


class _Mapping(argparse.Action):
    """A repeatable ``KEY=VALUE`` option that builds a dict (e.g. ``--table WLE=file.npz``)."""

    @staticmethod
    def add(namespace: Any, dest: str, pair: tuple[str, str]) -> None:
        current = dict(getattr(namespace, dest, None) or {})
        current[pair[0]] = pair[1]
        setattr(namespace, dest, current)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        self.add(namespace, self.dest, values)


def _checked(parse: Callable[[str], Any] | None, check: Callable[[Any], None]) -> Callable[[str], Any]:
    def parse_and_check(text: str) -> Any:
        value = text if parse is None else parse(text)
        check(value)
        return value

    parse_and_check.__name__ = getattr(parse, "__name__", "value")
    return parse_and_check


def _shown(value: Any, *, separator: str) -> str:
    """A default as it is typed: numbers in their short form, a list joined as the option takes it."""
    if isinstance(value, (list, tuple)):
        return separator.join(_shown(item, separator=separator) for item in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def add_setting(parser: argparse.ArgumentParser, item: Setting, *, default: Any = _MISSING) -> None:
    """Add the option of one setting: ``--name`` (or its flag), ``dest=name``, the setting's default unless given."""
    default = item.default if default is _MISSING else default
    if isinstance(item.default, bool):  # a flag: --x turns it on, or --no-x off
        on = item.default is True
        parser.add_argument(
            item.option, dest=item.name, action="store_false" if on else "store_true", default=default,
            help=(item.off_help or f"do not {item.help}") if on else item.help,
        )  # fmt: skip
        return
    # Several words (--conv-channels 64 128 ...) or one comma-separated word (--lambda-grid 0,0.01,...).
    shown = _shown(default, separator=" " if item.nargs else ",")
    help_text = item.help if default in (None, ()) else f"{item.help} (default: {shown})"
    options: dict[str, Any] = {"dest": item.name, "default": default, "help": help_text}
    parse = item.parse
    if item.check is not None and item.nargs is None and not item.append:
        # One word is the whole value, so the setting's check runs as the word is parsed.
        parse = _checked(item.parse, item.check)
    if parse is not None:
        options["type"] = parse_word(parse)
    if item.choices is not None:
        options["choices"] = item.choices
    if item.nargs is not None:
        options["nargs"] = item.nargs
    if item.metavar is not None:
        options["metavar"] = item.metavar
    if item.append:
        options["action"] = _Mapping
    parser.add_argument(item.option, **options)
    for alias in item.aliases:
        alias_options = {k: v for k, v in options.items() if k not in ("default", "help", "action")}
        parser.add_argument(
            alias, **alias_options, default=argparse.SUPPRESS, help=argparse.SUPPRESS, action=_Deprecated,
            replacement=item.option, inner="append" if item.append else "store",
        )  # fmt: skip


def add_settings(
    parser: argparse.ArgumentParser,
    settings: Mapping[str, Setting],
    names: Iterable[str] | None = None,
    *,
    defaults: Mapping[str, Any] = {},  # noqa: B006  (read only)
) -> None:
    """Add the options of ``names`` (default: all) of ``settings``, with ``defaults`` replacing theirs."""
    for name in settings if names is None else names:
        add_setting(parser, settings[name], default=defaults.get(name, _MISSING))


def add_parameter(
    parser: argparse.ArgumentParser, function: Callable[..., Any], name: str, help: str, **options: Any
) -> None:
    """Add the option of a keyword of ``function``, with that keyword's default (its one home).

    ``options`` are :class:`~zsac._settings.Setting`'s (``parse``, ``choices``, ``nargs``, ``flag``, ...).
    """
    default = inspect.signature(function).parameters[name].default
    add_setting(parser, Setting(name=name, default=default, help=help, **options))


def semantic_settings() -> dict[str, Setting]:
    return settings_of(SemanticConfig)


def vggish_settings() -> dict[str, Setting]:
    return settings_of(VGGishConfig)


def add_cache_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--cache-dir", help=f"{what} cache folder (default: $ZSAC_CACHE_DIR, else the user cache dir)")
    parser.add_argument(
        "--no-cache", dest="use_cache", action="store_false", help=f"do not read or write the {what} cache"
    )


def add_pad_short_option(parser: argparse.ArgumentParser, run: Callable[..., Any]) -> None:
    """``--pad-short``/``--no-pad-short`` of a command that extracts log-mel (it is part of the cache key)."""
    add_parameter(
        parser, run, "pad_short", "zero-pad clips shorter than 0.96 s instead of skipping them",
        off_help="skip clips shorter than 0.96 s instead of zero-padding them",
    )  # fmt: skip


def add_class_subset_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train-classes", nargs="+", metavar="CLASS", help="train on these classes only")
    parser.add_argument(
        "--classes", dest="train_classes", nargs="+", default=argparse.SUPPRESS, help=argparse.SUPPRESS,
        action=_Deprecated, replacement="--train-classes", inner="store",
    )  # fmt: skip
    parser.add_argument(
        "--exclude-classes",
        nargs="+",
        metavar="CLASS",
        help="leave these classes out (e.g. the zero-shot test classes)",
    )


def add_class_texts_options(parser: argparse.ArgumentParser, *, tables: bool) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--classes", nargs="+", metavar="TEXT",
        help='class names or descriptions, e.g. "dog barking" "glass breaking"',
    )  # fmt: skip
    table_note = ", or a class embedding table (.npz) of zsac embed-classes" if tables else ""
    source.add_argument("--classes-file", help=f"CSV (name, description), JSON/YAML, or one name per line{table_note}")


def report_failures(failures: Mapping[str, str], what: str) -> int:
    """Summarise skipped inputs on stderr; the exit code (1 when any failed, but 0 under torchrun).

    A torchrun worker that exits non-zero fails the whole job, and with ``--max-restarts``
    starts it again, for files that will be skipped again: there the list says it all.
    """
    if not failures:
        return 0
    sys.stderr.write(f"zsac: {len(failures)} {what} skipped:\n")
    for name, reason in failures.items():
        sys.stderr.write(f"  {name}: {reason}\n")
    return 0 if is_torchrun_job() else 1
