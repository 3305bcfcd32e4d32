"""``zsac classify`` and ``zsac embed``: batch inference with a saved classifier."""

from __future__ import annotations

import os
from collections.abc import Sequence

from .._atomic import atomic_path
from ..batch import (
    ClassificationRun,
    EmbeddingRun,
    classify_files,
    collect_audio_files,
    embed_files,
    format_results,
    save_embeddings,
)
from ..errors import DataError
from ._common import class_list, load_for_inference

__all__ = ["run_classify", "run_embed"]


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
    progress: bool = True,
) -> tuple[ClassificationRun, str]:
    """Classify audio files into any classes; see ``zsac classify --help``.

    ``classes_file`` may also be a class embedding table written by ``zsac embed-classes``
    under the model's spec; ``inference``, ``device`` and ``temperature`` default to the model's.

    Returns
    -------
    run : ClassificationRun
    text : str
        The results in ``output_format``; also written to ``out`` when given (atomically).
    """
    class_texts = class_list(classes, classes_file, tables=True)
    classifier = load_for_inference(model, inference=inference, device=device, temperature=temperature)
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
    inference: str | None = None,
    device: str | None = None,
    progress: bool = True,
) -> EmbeddingRun:
    """Acoustic embeddings of audio files to an ``.npz``; see ``zsac embed --help``."""
    classifier = load_for_inference(model, inference=inference, device=device)
    paths = collect_audio_files(files)
    if not paths:
        raise DataError("no audio files to embed")
    run = embed_files(classifier, paths, progress=progress)
    save_embeddings(run, out, with_segments=segments)
    return run
