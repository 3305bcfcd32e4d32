"""``zsac classify`` and ``zsac embed``: batch inference with a saved classifier."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from typing import Any

from .._atomic import atomic_path
from .._settings import settings_of
from ..batch import (
    OUTPUT_FORMATS,
    ClassificationRun,
    EmbeddingRun,
    check_window_seconds,
    classify_files,
    collect_audio_files,
    embed_files,
    format_results,
    save_embeddings,
)
from ..classifier import ZeroShotClassifier
from ..errors import ConfigError, DataError
from ..semantic.tables import ClassTable
from ._common import check_output_file, class_list, load_for_inference, output_errors
from ._options import add_class_texts_options, add_parameter, add_setting, add_settings, parse_word, report_failures

__all__ = [
    "run_classify",
    "run_embed",
    "add_classify_arguments",
    "add_embed_arguments",
    "report_classify",
    "report_embed",
]


def run_classify(
    *,
    model: str | os.PathLike[str],
    files: Sequence[str | os.PathLike[str]],
    classes: Sequence[str] | None = None,
    classes_file: str | os.PathLike[str] | None = None,
    top_k: int = 3,
    timeline: float | None = None,
    output_format: str = "table",
    out: str | os.PathLike[str] | None = None,
    inference: str | None = None,
    device: str | None = None,
    temperature: float | None = None,
    calibration: float | str | None = None,
    label_template: str | None = None,
    progress: bool = True,
    word2vec: str | None = None,
    glove: str | None = None,
    sentence_model: str | None = None,
    bert: str | None = None,
    tables: Any = None,
) -> tuple[ClassificationRun, str]:
    """Classify audio files into any classes; see ``zsac classify --help``.

    ``classes_file`` may also be a class embedding table written by ``zsac embed-classes``
    under the model's spec; ``inference``, ``device``, ``temperature`` and ``calibration`` default
    to the model's. ``label_template`` puts the class names given inside a template before they
    are embedded (None: the model's own template), like the ``hypothesis_template`` of
    transformers' zero-shot pipeline; the training classes' embeddings and a class table are
    already made, so it needs ``classes`` or a class file.
    ``word2vec``, ``glove``, ``sentence_model``, ``bert`` and ``tables`` embed new class
    names (None: the model's own, when it is not a local path): a loaded model never opens a
    path named in its own folder, so a model trained on local word vectors needs them given again.

    Returns
    -------
    run : ClassificationRun
    text : str
        The results in ``output_format``; also written to ``out`` when given (atomically).
    """
    if out is not None:
        check_output_file(out)  # before hours of work, not after
    class_texts = class_list(classes, classes_file, tables=True)
    if label_template is not None and (class_texts is None or isinstance(class_texts, ClassTable)):
        what = "a class table is already embedded" if class_texts is not None else "no --classes were given"
        raise ConfigError(f"--label-template applies to class names given with --classes or --classes-file; {what}")
    classifier = load_for_inference(
        model, inference=inference, device=device, temperature=temperature, calibration=calibration,
        label_template=label_template, word2vec=word2vec, glove=glove, sentence_model=sentence_model, bert=bert,
        tables=tables or None,
    )  # fmt: skip
    paths = collect_audio_files(files)
    if not paths:
        raise DataError("no audio files to classify")
    run = classify_files(classifier, paths, classes=class_texts, top_k=top_k, timeline=timeline, progress=progress)
    text = format_results(run, output_format)
    if out is not None:
        with output_errors(out), atomic_path(out) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return run, text


def run_embed(
    *,
    model: str | os.PathLike[str],
    files: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    segments: bool = False,
    inference: str | None = None,
    device: str | None = None,
    progress: bool = True,
) -> EmbeddingRun:
    """Acoustic embeddings of audio files to an ``.npz``; see ``zsac embed --help``."""
    check_output_file(out)  # before the work, not after
    classifier = load_for_inference(model, inference=inference, device=device)
    paths = collect_audio_files(files)
    if not paths:
        raise DataError("no audio files to embed")
    run = embed_files(classifier, paths, progress=progress)
    with output_errors(out):
        save_embeddings(run, out, with_segments=segments)
    return run


#: Where new class names get their embeddings: given again at classification time, because a
#: loaded model never opens a path named in its folder (a model folder is untrusted input).
TEXT_SOURCES = ("word2vec", "glove", "sentence_model", "bert", "tables")


def _inference_arguments(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    # None: the model's own setting, as saved.
    add_settings(parser, settings_of(ZeroShotClassifier), names, defaults=dict.fromkeys(names))


def add_classify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model folder written by zsac train")
    parser.add_argument("files", nargs="+", help="audio files or folders (searched recursively)")
    add_class_texts_options(parser, tables=True)
    add_parameter(parser, run_classify, "top_k", "classes shown per file", parse=int)
    parser.add_argument(
        "--timeline", type=parse_word(check_window_seconds), metavar="SECONDS",
        help="also classify windows of about SECONDS (rounded to whole 0.96-s segments; the last reaches the end)",
    )  # fmt: skip
    add_parameter(
        parser, run_classify, "output_format", "table for people, json or csv for programs", choices=OUTPUT_FORMATS,
        flag="--format",
    )  # fmt: skip
    parser.add_argument("-o", "--out", help="write the results to this file instead of standard output")
    _inference_arguments(parser, ["inference", "device", "temperature", "calibration"])
    template = settings_of(ZeroShotClassifier)["label_template"]
    add_setting(
        parser,
        dataclasses.replace(
            template, metavar="TEMPLATE",
            help="put the names of --classes/--classes-file inside a template before embedding them, e.g. "
            "'the sound of {label}' (default: the model's own template)",
        ),
        default=None,
    )  # fmt: skip
    group = parser.add_argument_group("text sources of new class names (as given to zsac train)")
    _inference_arguments(group, list(TEXT_SOURCES))


def add_embed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model folder written by zsac train")
    parser.add_argument("files", nargs="+", help="audio files or folders (searched recursively)")
    parser.add_argument("-o", "--out", required=True, help="output .npz")
    add_parameter(parser, run_embed, "segments", "also store every segment's embedding")
    _inference_arguments(parser, ["inference", "device"])


def report_classify(result: tuple[Any, str], args: argparse.Namespace) -> int:
    run, text = result
    if args.out is None:
        sys.stdout.write(text)
    else:
        sys.stderr.write(f"zsac: {len(run.results)} files classified; results in {args.out}\n")
    return report_failures(run.failures, "files could not be classified and were")


def report_embed(run: Any, args: argparse.Namespace) -> int:
    sys.stdout.write(f"wrote {len(run.files)} embeddings to {args.out}\n")
    return report_failures(run.failures, "files could not be embedded and were")
