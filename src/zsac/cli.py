"""Command line: ``zsac <command>``. Parsing and dispatch only; each command is a module of :mod:`zsac.commands`.

A command module holds the command's options (``add_*arguments``), the keyword-only
function that does the work (``run_*``) and the printing of its result (``report*``).
Options that set a library setting are generated from the setting's one home
(:class:`~zsac.semantic.SemanticConfig`, :class:`~zsac.acoustic.VGGishConfig`, the
estimators' ``param_settings``), with ``dest`` equal to the parameter name and the same
default, choices and help. Only the chosen command's module is loaded, so ``zsac --help``
imports neither torch nor scikit-learn.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tqdm.contrib.logging import logging_redirect_tqdm

from . import commands
from ._distributed import is_secondary_rank, is_torchrun_job
from ._version import __version__
from .errors import ZsacError

__all__ = ["main", "build_parser", "COMMANDS"]

logger = logging.getLogger(__name__)

#: The commands that share their work among the processes of a torchrun job.
TORCHRUN_COMMANDS = ("train-acoustic", "features")
#: Third-party loggers that chat at INFO (model loading, font caches); quiet unless -vv.
THIRD_PARTY_LOGGERS = (
    "sentence_transformers", "transformers", "huggingface_hub", "matplotlib", "PIL", "urllib3", "filelock",
    "gensim", "smart_open", "onnx", "onnxruntime",
)  # fmt: skip


class _UsageError(Exception):
    """A command line argparse cannot parse; reported on one line, as zsac's other errors are."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise _UsageError(f"{message} (see {self.prog} --help)")


@dataclasses.dataclass(frozen=True)
class Command:
    """One ``zsac`` command: its help, and the names of its option builder, run function and report in its module."""

    help: str
    description: str
    module: str  # of zsac.commands
    arguments: str = "add_arguments"
    run: str = ""
    report: str = "report"

    def function(self, name: str) -> Callable[..., Any]:
        """A function of the command's module, which is loaded now (see :mod:`zsac`)."""
        return getattr(getattr(commands, self.module), name)


COMMANDS: dict[str, Command] = {
    "train": Command(
        "train a zero-shot classifier on your labelled classes",
        "Train VGGish from scratch and the bilinear model on a folder dataset: one subfolder of audio files per "
        "class, and optionally DATA/classes.csv with 'name' and 'description' columns. The model folder then "
        "classifies sounds of any classes by name or description (zsac classify).",
        module="train", run="run_train",
    ),
    "evaluate": Command(
        "measure zero-shot accuracy on your own labelled classes",
        "Class-split cross-validation of the classifier that zsac train would give: the classes are dealt into K "
        "random folds, and for each fold a classifier trained on the other classes (less a held-out share of their "
        "clips) classifies the fold's clips zero-shot (Top-1, mAP, per class) and, among all classes, the "
        "generalised way (seen and unseen accuracy, their harmonic mean H, AUSUC). Writes a results folder with "
        "tables and figures; a rerun skips finished folds.",
        module="evaluate", run="run_evaluate",
    ),
    "classify": Command(
        "classify audio files into any classes, named or described",
        "Classify each file (as a whole: the mean of its 0.96-s segment embeddings; with --timeline also per "
        "window) among the given classes, which can be any names or descriptions (default: the model's training "
        "classes). Unreadable files are reported and skipped; the exit code is then 1.",
        module="classify", arguments="add_classify_arguments", run="run_classify", report="report_classify",
    ),
    "embed": Command(
        "acoustic embeddings of audio files (.npz)",
        "Write each file's acoustic embedding (the mean of its segment embeddings) to an .npz with arrays "
        "'embeddings' and 'files' (and with --segments, 'segment_embeddings' and 'segment_counts').",
        module="classify", arguments="add_embed_arguments", run="run_embed", report="report_embed",
    ),
    "train-acoustic": Command(
        "train VGGish from scratch on training classes",
        "Train VGGish from scratch on the clips of the training classes (paper Section III-B). DATA is an ESC-50 "
        "root (meta/esc50.csv) or a folder with one subfolder per class. Rerun the same command to resume.",
        module="train_acoustic", run="run_train_acoustic",
    ),
    "features": Command(
        "log-mel features of a dataset into the cache, one part of N per process",
        "Compute the log-mel examples of a dataset's clips (listed as zsac train-acoustic lists them) into the "
        "feature cache. --shard i/N takes part i of N (clips[i::N]), so N processes, or the ranks of a torchrun job "
        "(each takes part RANK of WORLD_SIZE), fill one cache in parallel. With --shards-out DIR each also writes "
        "its part of a segment-shards folder that training reads with bounded memory.",
        module="features", run="run_features",
    ),
    "embed-classes": Command(
        "semantic embeddings of classes (WLE, SSE, WLE+SSE, ...) as a table",
        "Compute a class embedding table for a semantic spec: parts WLE, GLE, WSE, GSE, BSE (paper Table V), SLE, "
        "SSE (sentence-transformers), joined by '+'. Classes are texts (--classes) or a class file "
        "(--classes-file): a CSV with 'name' (and 'description') columns, a JSON/YAML list or mapping, a text file "
        "of names, AudioSet's class_labels_indices.csv or ESC-50's meta/esc50.csv.",
        module="embed_classes", run="run_embed_classes",
    ),
    "reproduce": Command(
        "one-command reproduction of the paper's experiments (ESC-50, AudioSet)",
        "Run a whole zero-shot protocol and write a results folder: config and run log, per-fold JSON/CSV, "
        "results.json, per-clip predictions, Markdown tables beside the paper's, figures. A rerun skips finished "
        "folds.",
        module="reproduce", run="run_reproduce",
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
            spec.function(spec.arguments)(sub)
    return parser


def _chosen_command(argv: Sequence[str]) -> list[str]:
    return [word for word in argv if word in COMMANDS][:1]


def _verbosity(argv: Sequence[str], chosen: Sequence[str]) -> tuple[int, bool]:
    """``-v``/``-q`` read before the command's options are built, so that building and parsing them can log."""
    before = list(argv[: argv.index(chosen[0])]) if chosen else list(argv)
    early = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    early.add_argument("-v", "--verbose", action="count", default=0)
    early.add_argument("-q", "--quiet", action="store_true")
    known, _ = early.parse_known_args(before)
    return known.verbose, known.quiet


def configure_logging(verbose: int, quiet: bool) -> None:
    """WARNING by default, INFO with -v, DEBUG with -vv; other libraries' chatter only with -vv.

    Under torchrun, ranks other than 0 log errors only.
    """
    level = logging.WARNING if quiet or verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    if is_secondary_rank():  # under torchrun rank 0 alone logs; the others say only what went wrong
        level = logging.ERROR
    form = "%(levelname)s %(name)s: %(message)s" if verbose else "%(levelname)s: %(message)s"
    logging.basicConfig(level=level, format=form)
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose >= 2 else logging.WARNING)
    if quiet or verbose < 2:
        # Hugging Face libraries draw their own bars when loading models.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = _chosen_command(argv)
    # Before the parser: an old option spelling warns while it is parsed, and the Hugging Face
    # libraries, which the options' modules import, read their progress-bar setting at import.
    configure_logging(*_verbosity(argv, chosen))
    try:
        args = build_parser(chosen).parse_args(argv)
    except (_UsageError, ZsacError) as exc:
        sys.stderr.write(f"zsac: error: {exc}\n")
        return 2
    command = COMMANDS[args.command]
    if args.command not in TORCHRUN_COMMANDS and is_torchrun_job():
        # Every worker would do the whole job and write the same output.
        sys.stderr.write(
            f"zsac: error: zsac {args.command} runs as one process; under torchrun only "
            f"{' and '.join(TORCHRUN_COMMANDS)} share their work (start it without torchrun)\n"
        )
        return 2
    options = {key: value for key, value in vars(args).items() if key not in _GLOBAL_DESTS}
    try:
        with logging_redirect_tqdm():  # log lines print above progress bars instead of tearing them
            result = command.function(command.run)(**options, progress=not args.quiet)
        return command.function(command.report)(result, args)
    except ZsacError as exc:
        # The message is for the user, so it goes to stderr whatever logging is set up.
        sys.stderr.write(f"zsac: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("zsac: interrupted; rerun the same command to resume\n")
        return 130
