"""Pieces the ESC-50 and AudioSet reproductions share: the class tables, VGGish per fold, the fold loop."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .._npz import load_array, store_array
from .._settings import check_lambda_grid, check_seed
from ..acoustic.config import VGGISH_CONV_CHANNELS, VGGISH_FC_UNITS, VGGishConfig
from ..acoustic.embedding import embed_clips
from ..acoustic.training import train_vggish
from ..compatibility.bilinear import Bilinear
from ..errors import ConfigError
from ..protocols import ClassSplit
from ..semantic.config import SemanticConfig
from ..semantic.side_info import ClassInfo, with_label_template
from ..semantic.specs import SemanticEmbedder, check_embeddable
from ..semantic.tables import ClassTable
from .records import FoldRecord
from .report import write_report
from .results import ResultsFolder, safe_name
from .zero_shot import evaluate_split

__all__ = [
    "ReproductionResult",
    "check_protocol_inputs",
    "class_tables",
    "protocol_semantic",
    "protocol_vggish",
    "run_folds",
    "vggish_embeddings",
]

#: The text-model settings that zsac 0.1 recorded in a results folder's configuration.
_RECORDED_SEMANTIC = ("word2vec", "glove", "bert", "sentence_model", "tables", "label_template", "normalize")

logger = logging.getLogger(__name__)


def check_protocol_inputs(
    *,
    specs: Sequence[str],
    semantic: SemanticConfig,
    estimator: Bilinear,
    grid: Sequence[float],
    seeds: Sequence[int],
    vggish: VGGishConfig | None = None,
) -> None:
    """Check every input of a reproduction before its results folder is touched.

    A results folder records its configuration on the first run and refuses another one
    later, so a run with a bad value must write nothing: otherwise its corrected rerun would be
    refused as "another configuration".

    Raises
    ------
    ConfigError, DataError
    """
    check_embeddable(semantic, specs)  # every spec parses and each part has its vectors or table
    estimator._check_params()
    check_lambda_grid(grid)
    if isinstance(seeds, (str, bytes)) or not list(seeds):
        raise ConfigError(f"give at least one seed, got {seeds!r}")
    for seed in seeds:
        check_seed(seed)
    if vggish is not None and not isinstance(vggish, VGGishConfig):
        raise ConfigError(f"vggish must be a VGGishConfig, got {type(vggish).__name__}")


def class_tables(
    semantic: SemanticConfig, classes: Sequence[ClassInfo], specs: Sequence[str], *, device: str | None, progress: bool
) -> dict[str, ClassTable]:
    """Each spec's :class:`~zsac.semantic.ClassTable` of ``classes``, with ``semantic``'s text models and options."""
    if semantic.label_template:
        classes = with_label_template(classes, semantic.label_template)
    return SemanticEmbedder.from_config(semantic, device=device, progress=progress).embed_many(specs, classes)


def protocol_semantic(semantic: SemanticConfig) -> dict[str, Any]:
    """The text-model settings as a results folder's configuration records them.

    The settings zsac 0.1 recorded, and the others only where they differ from their
    defaults: the configuration's digest then stays what it was, so a folder that zsac 0.1
    started is resumed, not refused.
    """
    defaults = SemanticConfig()
    return {
        key: value
        for key, value in semantic.as_dict().items()
        if key != "semantic" and (key in _RECORDED_SEMANTIC or value != getattr(defaults, key))
    }


def protocol_vggish(vggish: VGGishConfig) -> dict[str, Any]:
    """VGGish's settings as a results folder's configuration records them (zsac 0.1's shape, see above):
    the widths under ``model_options``, and only where they differ from VGGish's."""
    recorded = vggish.as_dict()
    widths = {"conv_channels": list(VGGISH_CONV_CHANNELS), "fc_units": VGGISH_FC_UNITS}
    values = {key: recorded.pop(key) for key in widths}
    recorded["model_options"] = {key: value for key, value in values.items() if value != widths[key]}
    return recorded


@dataclasses.dataclass
class ReproductionResult:
    """What a ``run_reproduce_*`` function returns.

    Attributes
    ----------
    out : Path
        The results folder.
    records : list of dict
        Every finished (spec, test fold, seed) record of this configuration (``results.json``).
    notes : list of str
        What the run had to adapt (a partial dataset, the released embeddings' bias, ...).
    files : dict of str to Path
        Report files written.
    ran, skipped : int
        Folds computed now, and folds found finished from an earlier run.
    """

    out: Path
    records: list[dict[str, Any]]
    notes: list[str]
    files: dict[str, Path]
    ran: int
    skipped: int


def vggish_embeddings(
    folder: ResultsFolder,
    *,
    seed: int,
    split: ClassSplit,
    clip_examples: Sequence[np.ndarray],
    clip_classes: Sequence[Hashable],
    config: VGGishConfig,
    device: str | None,
    progress: bool,
) -> np.ndarray:
    """Train VGGish on ``split.acoustic`` classes (or resume it) and embed every clip; cached in the folder.

    Returns
    -------
    np.ndarray [shape=(n_clips, 128)], float32
        Mean of each clip's segment embeddings (Section III-B).
    """
    work = folder.path / "acoustic" / f"seed{seed}" / safe_name(split.name)
    cached = load_array(work / "clip_embeddings.npz", "embeddings", what="clip embeddings")
    if cached is not None and cached.shape[0] == len(clip_examples):
        return cached
    acoustic = set(split.acoustic)
    chosen = [k for k, c in enumerate(clip_classes) if c in acoustic]
    logger.info(
        "training VGGish for %s, seed %d, on %d classes (%d clips)", split.name, seed, len(acoustic), len(chosen)
    )
    result = train_vggish(
        [clip_examples[k] for k in chosen],
        [str(clip_classes[k]) for k in chosen],
        config,
        seed=seed,
        device=device,
        checkpoint_dir=work,
        progress=progress,
    )
    embeddings = embed_clips(result.model, clip_examples, device=device)
    store_array(work / "clip_embeddings.npz", "embeddings", embeddings)
    return embeddings


def run_folds(
    folder: ResultsFolder,
    *,
    base_record: Mapping[str, Any],
    seeds: Sequence[int],
    splits_for_seed: Callable[[int], Sequence[ClassSplit]],
    acoustic_for: Callable[[int, ClassSplit], np.ndarray],
    clip_classes: Sequence[Hashable],
    clip_ids: Sequence[str],
    class_embeddings: Mapping[str, Mapping[Hashable, np.ndarray]],
    class_names: Mapping[Hashable, str],
    estimator: Bilinear,
    grid: Sequence[float],
    progress: bool,
) -> tuple[int, int]:
    """Every (seed, split, spec) fold that has not finished: evaluate it and store its record.

    The acoustic embeddings of a (seed, split) are only asked for when one of its specs still
    has to run, so a rerun of a finished configuration trains nothing.

    Returns
    -------
    (ran, skipped) : tuple of int
    """
    ran = skipped = 0
    specs = list(class_embeddings)
    work = [(seed, split) for seed in seeds for split in splits_for_seed(seed)]
    bar = tqdm(total=len(work) * len(specs), desc="folds", unit="fold", disable=not progress)
    try:
        for seed, split in work:
            todo = [spec for spec in specs if folder.finished(spec, seed, split.name) is None]
            skipped += len(specs) - len(todo)
            bar.update(len(specs) - len(todo))
            if not todo:
                continue
            acoustic = acoustic_for(seed, split)
            for spec in todo:
                outcome = evaluate_split(
                    split, acoustic, clip_classes, class_embeddings[spec],
                    clip_ids=clip_ids, class_names=class_names, estimator=estimator, grid=grid,
                )  # fmt: skip
                # base_record holds dataset, setting and acoustic; FoldRecord checks that they are there.
                record = FoldRecord.from_mapping(
                    {
                        **base_record,
                        "spec": spec,
                        "test_fold": split.name,
                        "seed": int(seed),
                        "top1": outcome.top1,
                        "map": outcome.map,
                        "n_classes": outcome.n_classes,
                        "n_clips": outcome.n_clips,
                        "lambda": outcome.lam,
                        "validation_top1": {str(k): v for k, v in outcome.validation_top1.items()},
                        "n_train_classes": len(split.seen if split.refit else split.train),
                        "seconds": outcome.seconds,
                    }
                )
                folder.save_fold(record, outcome.predictions)
                logger.info("%s seed %d %s: Top-1 %.3f, mAP %.3f (λ=%g)", spec, seed, split.name,
                            outcome.top1, outcome.map, outcome.lam)  # fmt: skip
                ran += 1
                bar.update(1)
    finally:
        bar.close()
    return ran, skipped


def finish(folder: ResultsFolder, *, notes: list[str], ran: int, skipped: int) -> ReproductionResult:
    """Write ``results.json`` and the report of every finished fold, log the run, and say what ran.

    The report covers every finished fold of the folder's configuration, whichever run
    computed it; this run's scope and counts go to ``runs.jsonl`` (:meth:`ResultsFolder.log_run`).
    """
    records = folder.write_results()
    files = write_report(folder.path, records, folder.predictions(), notes=notes)
    folder.log_run(ran=ran, skipped=skipped, notes=notes)
    return ReproductionResult(out=folder.path, records=records, notes=notes, files=files, ran=ran, skipped=skipped)
