"""``zsac embed-classes``: a class embedding table of class texts under a semantic spec."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._settings import parse_device
from ..errors import ConfigError, DataError
from ..semantic.config import SemanticConfig
from ..semantic.side_info import with_label_template
from ..semantic.specs import SemanticEmbedder, classes_from_texts
from ._common import class_list, feature_cache
from ._options import add_cache_options, add_class_texts_options, add_settings, parse_word, semantic_settings

__all__ = ["run_embed_classes", "add_arguments", "report"]

logger = logging.getLogger(__name__)

#: What a class file is called (read_class_file's formats); a lone --classes of this kind names a file.
_FILE_SUFFIXES = (".csv", ".json", ".yaml", ".yml", ".txt")


def run_embed_classes(
    *,
    out: str | os.PathLike[str],
    classes: Sequence[str] | None = None,
    classes_file: str | os.PathLike[str] | None = None,
    ontology: str | os.PathLike[str] | None = None,
    device: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    progress: bool = True,
    **semantic: Any,
) -> dict[str, Any]:
    """Embed class texts under a semantic spec and save the table; see ``zsac embed-classes --help``.

    ``classes`` are class names (or descriptions) as given, ``classes_file`` a class file;
    ``semantic`` are :class:`~zsac.semantic.SemanticConfig` fields (the spec, text models).

    Returns
    -------
    dict
        Summary: spec, number of classes, sizes of the parts, their sources and the output path.
    """
    if classes and len(classes) == 1 and classes_file is None and Path(classes[0]).suffix.lower() in _FILE_SUFFIXES:
        # zsac 0.1 spelled the class file --classes; kept for one release.
        if not Path(classes[0]).is_file():
            raise DataError(f"class file {classes[0]} does not exist (class files go in --classes-file)")
        logger.warning("--classes FILE is deprecated and will mean class texts only; use --classes-file %s", classes[0])
        classes, classes_file = None, classes[0]
    config = SemanticConfig(**semantic)
    given = class_list(classes, classes_file, tables=False, ontology=ontology)
    if not given:
        raise ConfigError("give the classes to embed: --classes TEXT ... or --classes-file FILE")
    if classes_file is not None:  # a class file says what each class is; nothing stands in for a description
        class_infos = with_label_template(given, config.label_template) if config.label_template else given
    else:
        class_infos = classes_from_texts(given, spec=config.semantic, label_template=config.label_template)
    embedder = SemanticEmbedder.from_config(
        config, device=device, cache=feature_cache(cache_dir, use_cache), progress=progress
    )
    table = embedder.embed(config.semantic, class_infos)
    path = table.save(out)
    return {
        "spec": table.spec,
        "n_classes": len(table),
        "dim": table.dim,
        "part_dims": dict(zip(table.metadata["parts"], table.part_dims or (), strict=True)),
        "sources": {part: info["source"] for part, info in table.metadata["parts"].items()},
        "out": str(path),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_class_texts_options(parser, tables=False)
    parser.add_argument("-o", "--out", required=True, help="output table (.npz: embeddings, name, mid, spec)")
    parser.add_argument("--ontology", help="AudioSet ontology.json: descriptions for classes that lack one")
    add_settings(parser, semantic_settings())
    parser.add_argument(
        "--device", type=parse_word(parse_device), help="for transformer models (default: cuda when available)"
    )
    add_cache_options(parser, "text-embedding")


def report(summary: dict[str, Any], args: argparse.Namespace) -> int:
    parts = " + ".join(f"{part} ({dim})" for part, dim in summary["part_dims"].items())
    sys.stdout.write(
        f"wrote {summary['spec']} embeddings of {summary['n_classes']} classes, {summary['dim']}-d [{parts}], "
        f"to {summary['out']}\n"
    )
    return 0
