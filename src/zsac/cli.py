"""Command line: ``zsac <command>``. Parsing and dispatch only; the work is in :mod:`zsac.commands`.

Options that set a library setting are generated from the setting's one home
(:class:`~zsac.semantic.SemanticConfig`, :class:`~zsac.acoustic.VGGishConfig`, the
estimators' ``_param_settings``), with ``dest`` equal to the parameter name and the same
default, choices and help. Only the chosen command's options are built, so ``zsac --help``
imports neither torch nor scikit-learn.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm.contrib.logging import logging_redirect_tqdm

import zsac

from ._settings import Setting, settings_of
from ._version import __version__
from .errors import ZsacError

__all__ = ["main", "build_parser", "COMMANDS"]

logger = logging.getLogger(__name__)

#: Third-party loggers that chat at INFO (model loading, font caches); quiet unless -vv.
THIRD_PARTY_LOGGERS = (
    "sentence_transformers", "transformers", "huggingface_hub", "matplotlib", "PIL", "urllib3", "filelock",
    "gensim", "smart_open", "onnx", "onnxruntime",
)  # fmt: skip
_MISSING = object()


# --------------------------------------------------------------------------- options from settings


class _UsageError(Exception):
    """A command line argparse cannot parse; reported on one line, as zsac's other errors are."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise _UsageError(f"{message} (see {self.prog} --help)")


def _word(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` for argparse: a ConfigError becomes argparse's error, with zsac's message."""

    def parse_word(text: str) -> Any:
        try:
            return parse(text)
        except ZsacError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse_word.__name__ = getattr(parse, "__name__", "value")
    return parse_word


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


def _shown(value: Any) -> str:
    return (
        " ".join(map(str, value))
        if isinstance(value, (list, tuple))
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )


def add_setting(parser: argparse.ArgumentParser, item: Setting, *, default: Any = _MISSING) -> None:
    """Add the option of one setting: ``--name`` (or its flag), ``dest=name``, the setting's default unless given."""
    default = item.default if default is _MISSING else default
    if isinstance(item.default, bool):  # a flag: --x turns it on, or --no-x off
        on = item.default is True
        parser.add_argument(
            item.option, dest=item.name, action="store_false" if on else "store_true", default=default,
            help=f"do not {item.help}" if on else item.help,
        )  # fmt: skip
        return
    help_text = item.help if default in (None, ()) else f"{item.help} (default: {_shown(default)})"
    options: dict[str, Any] = {"dest": item.name, "default": default, "help": help_text}
    if item.parse is not None:
        options["type"] = _word(item.parse)
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


# --------------------------------------------------------------------------- the commands


def _semantic_settings() -> dict[str, Setting]:
    return settings_of(zsac.semantic.config.SemanticConfig)


def _vggish_settings() -> dict[str, Setting]:
    return settings_of(zsac.acoustic.config.VGGishConfig)


def _classifier_settings() -> dict[str, Setting]:
    return settings_of(zsac.classifier.ZeroShotClassifier)


def _add_cache_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--cache-dir", help=f"{what} cache folder (default: $ZSAC_CACHE_DIR, else the user cache dir)")
    parser.add_argument(
        "--no-cache", dest="use_cache", action="store_false", help=f"do not read or write the {what} cache"
    )


def _add_class_subset_options(parser: argparse.ArgumentParser) -> None:
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


def _add_class_texts_options(parser: argparse.ArgumentParser, *, tables: bool) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--classes", nargs="+", metavar="TEXT",
        help='class names or descriptions, e.g. "dog barking" "glass breaking"',
    )  # fmt: skip
    table_note = ", or a class embedding table (.npz) of zsac embed-classes" if tables else ""
    source.add_argument("--classes-file", help=f"CSV (name, description), JSON/YAML, or one name per line{table_note}")


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", required=True, help="folder with one subfolder of audio files per class (or an ESC-50 root)"
    )
    parser.add_argument("-o", "--out", required=True, help="model folder to write")
    parser.add_argument("--classes-file", help="class descriptions (default: DATA/classes.csv when present)")
    parser.add_argument("--ontology", help="AudioSet ontology.json: descriptions for the classes of an ESC-50 root")
    _add_class_subset_options(parser)
    settings = _classifier_settings()
    add_settings(parser, settings, [*_semantic_settings(), "acoustic_model", *_vggish_settings()])
    add_settings(
        parser, settings, ["lam", "lambda_grid", "solver", "max_iter", "quantize", "pad_short", "seed", "device"]
    )
    _add_cache_options(parser, "feature")


def _inference_arguments(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    # None: the model's own setting, as saved.
    add_settings(parser, _classifier_settings(), names, defaults=dict.fromkeys(names))


def _classify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model folder written by zsac train")
    parser.add_argument("files", nargs="+", help="audio files or folders (searched recursively)")
    _add_class_texts_options(parser, tables=True)
    parser.add_argument("--top-k", type=int, default=3, help="classes shown per file (default: 3)")
    parser.add_argument(
        "--timeline", type=_word(zsac.batch.check_window_seconds), metavar="SECONDS",
        help="also classify windows of about SECONDS (rounded to whole 0.96-s segments; the last reaches the end)",
    )  # fmt: skip
    parser.add_argument("--format", dest="output_format", choices=zsac.batch.OUTPUT_FORMATS, default="table",
                        help="table for people, json or csv for programs (default: table)")  # fmt: skip
    parser.add_argument("-o", "--out", help="write the results to this file instead of standard output")
    _inference_arguments(parser, ["inference", "device", "temperature"])


def _embed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model folder written by zsac train")
    parser.add_argument("files", nargs="+", help="audio files or folders (searched recursively)")
    parser.add_argument("-o", "--out", required=True, help="output .npz")
    parser.add_argument("--segments", action="store_true", help="also store every segment's embedding")
    _inference_arguments(parser, ["inference", "device"])


def _train_acoustic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="ESC-50 root or folder with one subfolder per class")
    parser.add_argument("-o", "--out", required=True, help="output folder: checkpoints, final model, summary.json")
    _add_class_subset_options(parser)
    add_settings(parser, _vggish_settings())
    parser.add_argument("--seed", type=int, default=0, help="seeds initialisation, split, shuffling (default: 0)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: cuda when available)")
    parser.add_argument(
        "--pad-short", action="store_true", help="zero-pad clips shorter than 0.96 s instead of skipping them"
    )
    _add_cache_options(parser, "feature")


def _embed_classes_arguments(parser: argparse.ArgumentParser) -> None:
    _add_class_texts_options(parser, tables=False)
    parser.add_argument("-o", "--out", required=True, help="output table (.npz: embeddings, name, mid, spec)")
    parser.add_argument("--ontology", help="AudioSet ontology.json: descriptions for classes that lack one")
    add_settings(parser, _semantic_settings())
    parser.add_argument("--device", help="for transformer models (default: cuda when available)")
    _add_cache_options(parser, "text-embedding")


def _reproduce_arguments(parser: argparse.ArgumentParser) -> None:
    audioset = zsac.reproduce.audioset
    datasets = parser.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    esc = datasets.add_parser(
        "esc50",
        help="Tables VI-VIII: ESC-50, VGGish from scratch per class fold",
        description="ESC-50 with the category (Table I) or random (Table II) partition. A copy that lacks "
        "classes (e.g. ESC-10) runs on the classes present with a seeded random partition, and says so.",
    )
    esc.add_argument("-o", "--out", default="results/esc50", help="results folder (default: results/esc50)")
    esc.add_argument("--partition", choices=("category", "random"), default="category", help="default: category")
    esc.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="VGGish (and partial-copy partition) seeds (default: 0)"
    )
    esc.add_argument("--ontology", help="AudioSet ontology.json for class descriptions (SSE, WSE, BSE)")
    _add_reproduce_options(
        esc, vggish=zsac.acoustic.config.VGGishConfig(), specs="WLE,GLE,WLE+GLE (SLE on a partial copy)"
    )
    sets = datasets.add_parser(
        "audioset",
        help="Tables IX-XI: AudioSet single-label clips, 5 class folds from 9 frequency bins",
        description="AudioSet with the released embeddings (--acoustic released) or VGGish trained from "
        "scratch on your AudioSet audio (--acoustic vggish --audio-dir DIR). Every rotation of the 5 class "
        "folds runs for each --fold-seed.",
    )
    sets.add_argument("-o", "--out", default="results/audioset", help="results folder (default: results/audioset)")
    sets.add_argument("--acoustic", choices=("released", "vggish"), default="released", help="default: released")
    sets.add_argument(
        "--fold-seed", dest="fold_seeds", type=int, nargs="+", default=[0], help="class-fold seeds (default: 0)"
    )
    sets.add_argument("--setting", choices=audioset.AUDIOSET_SETTINGS, default="train3",
                      help="train3: bilinear trained on 3 folds (default); setting1/2: Table IV")  # fmt: skip
    sets.add_argument("--audio-dir", help="AudioSet audio files named by YouTube id (for --acoustic vggish)")
    _add_reproduce_options(sets, vggish=audioset.AUDIOSET_VGGISH, specs=",".join(audioset.AUDIOSET_OFFLINE_SPECS))


def _add_reproduce_options(parser: argparse.ArgumentParser, *, vggish: Any, specs: str) -> None:
    parser.add_argument("--data", help="data root or dataset folder (default: $ZSAC_DATA_DIR, else the user cache)")
    semantic = _semantic_settings()
    add_setting(parser, dataclasses.replace(
        semantic["semantic"], default=None, help=f"comma-separated specs (default: {specs})"
    ))  # fmt: skip
    add_settings(parser, semantic, [name for name in semantic if name != "semantic"])
    bilinear = settings_of(zsac.compatibility.bilinear.Bilinear)
    add_settings(parser, bilinear, ["solver"])
    add_setting(parser, dataclasses.replace(
        bilinear["max_iter"], help="bilinear solver iterations (default: 30 for L-BFGS on AudioSet, else the solver's)"
    ))  # fmt: skip
    add_settings(parser, _classifier_settings(), ["lambda_grid"])
    add_setting(parser, dataclasses.replace(bilinear["device"], name="bilinear_device"))
    add_settings(parser, _vggish_settings(), defaults=dataclasses.asdict(vggish))
    parser.add_argument("--device", help="for VGGish and text models (default: cuda when available)")


@dataclasses.dataclass(frozen=True)
class Command:
    """One ``zsac`` command: its help, how its options are built, what runs it and how its result is reported."""

    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: str  # the zsac.commands function
    report: Callable[[Any, argparse.Namespace], int]


def _report_failures(failures: Mapping[str, str], what: str) -> int:
    """Summarise skipped inputs on stderr; the exit code (1 when any failed)."""
    if not failures:
        return 0
    sys.stderr.write(f"zsac: {len(failures)} {what} skipped:\n")
    for name, reason in failures.items():
        sys.stderr.write(f"  {name}: {reason}\n")
    return 1


def _report_train(summary: dict[str, Any], args: argparse.Namespace) -> int:
    accuracy = summary["best_val_accuracy"]
    sys.stdout.write(
        f"trained on {len(summary['classes'])} classes, {summary['n_clips']} clips"
        + (f"; VGGish validation accuracy {accuracy:.3f}" if accuracy is not None else "")
        + f"; λ={summary['lambda']:g}; model in {summary['out']}\n"
    )
    return _report_failures(summary["skipped"], "files were")


def _report_classify(result: tuple[Any, str], args: argparse.Namespace) -> int:
    run, text = result
    if args.out is None:
        sys.stdout.write(text)
    else:
        sys.stderr.write(f"zsac: {len(run.results)} files classified; results in {args.out}\n")
    return _report_failures(run.failures, "files could not be classified and were")


def _report_embed(run: Any, args: argparse.Namespace) -> int:
    sys.stdout.write(f"wrote {len(run.files)} embeddings to {args.out}\n")
    return _report_failures(run.failures, "files could not be embedded and were")


def _report_train_acoustic(summary: dict[str, Any], args: argparse.Namespace) -> int:
    sys.stdout.write(
        f"trained VGGish on {len(summary['classes'])} classes, {summary['n_clips']} clips: "
        f"best validation accuracy {summary['best_val_accuracy']:.3f} at epoch {summary['best_epoch']}; "
        f"model in {summary['model_dir']}\n"
    )
    return _report_failures(summary["skipped"], "files were")


def _report_embed_classes(summary: dict[str, Any], args: argparse.Namespace) -> int:
    parts = " + ".join(f"{part} ({dim})" for part, dim in summary["part_dims"].items())
    sys.stdout.write(
        f"wrote {summary['spec']} embeddings of {summary['n_classes']} classes, {summary['dim']}-d [{parts}], "
        f"to {summary['out']}\n"
    )
    return 0


def _report_reproduce(result: Any, args: argparse.Namespace) -> int:
    summary = zsac.reproduce.records.summary_frame(result.records)
    lines = [f"{result.ran} folds computed, {result.skipped} already finished; results in {result.out}"]
    lines += [f"note: {note}" for note in result.notes]
    for row in summary.itertuples(index=False):
        lines.append(
            f"{row.setting:>9} {row.spec:<14} Top-1 {row.top1_mean:.3f} ± {row.top1_std:.3f}   "
            f"mAP {row.map_mean:.3f} ± {row.map_std:.3f}   ({row.n_runs} runs)"
        )
    lines.append(f"tables: {Path(result.out) / 'tables.md'}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


COMMANDS: dict[str, Command] = {
    "train": Command(
        "train a zero-shot classifier on your labelled classes",
        "Train VGGish from scratch and the bilinear model on a folder dataset: one subfolder of audio files per "
        "class, and optionally DATA/classes.csv with 'name' and 'description' columns. The model folder then "
        "classifies sounds of any classes by name or description (zsac classify).",
        _train_arguments, "run_train", _report_train,
    ),
    "classify": Command(
        "classify audio files into any classes, named or described",
        "Classify each file (as a whole: the mean of its 0.96-s segment embeddings; with --timeline also per "
        "window) among the given classes, which can be any names or descriptions (default: the model's training "
        "classes). Unreadable files are reported and skipped; the exit code is then 1.",
        _classify_arguments, "run_classify", _report_classify,
    ),
    "embed": Command(
        "acoustic embeddings of audio files (.npz)",
        "Write each file's acoustic embedding (the mean of its segment embeddings) to an .npz with arrays "
        "'embeddings' and 'files' (and with --segments, 'segment_embeddings' and 'segment_counts').",
        _embed_arguments, "run_embed", _report_embed,
    ),
    "train-acoustic": Command(
        "train VGGish from scratch on training classes",
        "Train VGGish from scratch on the clips of the training classes (paper Section III-B). DATA is an ESC-50 "
        "root (meta/esc50.csv) or a folder with one subfolder per class. Rerun the same command to resume.",
        _train_acoustic_arguments, "run_train_acoustic", _report_train_acoustic,
    ),
    "embed-classes": Command(
        "semantic embeddings of classes (WLE, SSE, WLE+SSE, ...) as a table",
        "Compute a class embedding table for a semantic spec: parts WLE, GLE, WSE, GSE, BSE (paper Table V), SLE, "
        "SSE (sentence-transformers), joined by '+'. Classes are texts (--classes) or a class file "
        "(--classes-file): a CSV with 'name' (and 'description') columns, a JSON/YAML list or mapping, a text file "
        "of names, AudioSet's class_labels_indices.csv or ESC-50's meta/esc50.csv.",
        _embed_classes_arguments, "run_embed_classes", _report_embed_classes,
    ),
    "reproduce": Command(
        "one-command reproduction of the paper's experiments (ESC-50, AudioSet)",
        "Run a whole zero-shot protocol and write a results folder: config and run log, per-fold JSON/CSV, "
        "results.json, per-clip predictions, Markdown tables beside the paper's, figures. A rerun skips finished "
        "folds.",
        _reproduce_arguments, "run_reproduce", _report_reproduce,
    ),
}  # fmt: skip

_GLOBAL_DESTS = ("command", "verbose", "quiet")


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The ``zsac`` parser with the options of ``commands`` (default: all); :func:`main` builds the chosen one's."""
    chosen = set(COMMANDS if commands is None else commands)
    parser = _Parser(prog="zsac", description="Zero-shot audio classification via semantic embeddings.")
    parser.add_argument("--version", action="version", version=f"zsac {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="say more: -v what runs, -vv debug")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors and warnings; no progress bars")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, spec in COMMANDS.items():
        sub = subparsers.add_parser(name, help=spec.help, description=spec.description)
        if name in chosen:
            spec.add_arguments(sub)
    return parser


def _chosen_command(argv: Sequence[str]) -> list[str]:
    return [word for word in argv if word in COMMANDS][:1]


def configure_logging(verbose: int, quiet: bool) -> None:
    """WARNING by default, INFO with -v, DEBUG with -vv; other libraries' chatter only with -vv."""
    level = logging.WARNING if quiet or verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    form = "%(levelname)s %(name)s: %(message)s" if verbose else "%(levelname)s: %(message)s"
    logging.basicConfig(level=level, format=form)
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose >= 2 else logging.WARNING)
    if quiet or verbose < 2:
        # Hugging Face libraries draw their own bars when loading models.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(_chosen_command(argv)).parse_args(argv)
    except (_UsageError, ZsacError) as exc:
        sys.stderr.write(f"zsac: error: {exc}\n")
        return 2
    configure_logging(args.verbose, args.quiet)
    command = COMMANDS[args.command]
    options = {key: value for key, value in vars(args).items() if key not in _GLOBAL_DESTS}
    try:
        with logging_redirect_tqdm():  # log lines print above progress bars instead of tearing them
            result = getattr(zsac.commands, command.run)(**options, progress=not args.quiet)
        return command.report(result, args)
    except ZsacError as exc:
        # The message is for the user, so it goes to stderr whatever logging is set up.
        sys.stderr.write(f"zsac: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("zsac: interrupted; rerun the same command to resume\n")
        return 130
