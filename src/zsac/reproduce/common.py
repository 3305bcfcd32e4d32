"""Pieces the ESC-50 and AudioSet reproductions share: the class tables, VGGish per fold, the fold loop."""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from .._npz import load_array, store_array
from .._settings import check_lambda_grid, check_seed
from ..acoustic.config import RECIPE_FIELDS, VGGISH_CONV_CHANNELS, VGGISH_FC_UNITS, VGGishConfig
from ..compatibility.base import CompatibilityLearner
from ..compatibility.bilinear import Bilinear
from ..compatibility.learners import LEARNERS, make_learner
from ..compatibility.selection import PAPER_LAMBDA_GRID
from ..errors import ConfigError
from ..protocols import SEEN_HOLDOUT_FRACTION, ClassSplit, seen_class_holdout
from ..semantic.config import SemanticConfig
from ..semantic.side_info import ClassInfo, with_label_template
from ..semantic.specs import SemanticEmbedder, check_embeddable
from ..semantic.tables import ClassTable
from .records import FoldRecord
from .report import write_report
from .results import ResultsFolder, safe_name
from .zero_shot import FoldOutcome, evaluate_split

__all__ = [
    "LearnerRun",
    "resolve_learners",
    "protocol_learners",
    "ReproductionResult",
    "check_protocol_inputs",
    "class_tables",
    "protocol_semantic",
    "protocol_vggish",
    "run_folds",
    "held_out_clips",
    "vggish_embeddings",
]

#: The text-model settings that zsac 0.1 recorded in a results folder's configuration.
_RECORDED_SEMANTIC = ("word2vec", "glove", "bert", "sentence_model", "tables", "label_template", "normalize")

logger = logging.getLogger(__name__)


class LearnerRun(NamedTuple):
    """A learner as a reproduction runs it: its settings, and the values of ``lam`` to choose from."""

    estimator: CompatibilityLearner
    grid: tuple[float, ...]


#: Most threads a reproduction evaluates runs with: the closed-form runs are short, and beyond
#: four threads Python's own share of the work (which holds the GIL) dominates.
MAX_JOBS = 4

#: The learners a reproduction runs by default: the closed-form ones, which choose their λ from a
#: whole grid in well under a second per fold (RESULTS.md, "Learners"), so the main job stays fast.
DEFAULT_LEARNERS = ("eszsl", "sae")

#: ``lambda_grid="paper"``: the paper's λ grid, read as the paper's (absolute) λ by the bilinear model.
PAPER_GRID_NAME = "paper"


def resolve_learners(
    names: Sequence[str],
    *,
    bilinear: Bilinear | None = None,
    lambda_grid: Sequence[float] | str | None = None,
    device: str | None = None,
) -> dict[str, LearnerRun]:
    """Each learner of a reproduction with the λ grid it chooses from.

    Parameters
    ----------
    names : sequence of str
        Names of :data:`~zsac.compatibility.learners.LEARNERS` (``"all"`` for every one).
    bilinear : Bilinear, optional
        Settings of the ``"bilinear"`` learner (solver, iterations, device); by default relative λ.
    lambda_grid : sequence of float, "paper" or None
        None: each learner's own log-spaced ``default_grid``. ``"paper"``: the paper's {0, 0.01, 1, 10}
        for the bilinear model, read as the paper's absolute λ (Table IV literally); the other learners,
        which the paper does not have, keep their own grids. A sequence: these values of ``lam`` for
        every learner, in its own units (relative, unless the bilinear model is given
        ``lambda_scale="absolute"``).
    device : str, optional
        Device of the torch learners other than the bilinear model.

    Raises
    ------
    ConfigError
        For an unknown learner name or grid.
    """
    chosen = list(dict.fromkeys(LEARNERS if list(names) == ["all"] else names))
    if not chosen:
        raise ConfigError(f"give at least one learner of {sorted(LEARNERS)}")
    paper = isinstance(lambda_grid, str)
    if paper and lambda_grid != PAPER_GRID_NAME:
        raise ConfigError(f"lambda_grid must be numbers, {PAPER_GRID_NAME!r} or None, got {lambda_grid!r}")
    if not paper and lambda_grid is not None:
        check_lambda_grid(lambda_grid)
    runs = {}
    for name in chosen:
        if name == "bilinear":
            estimator = copy.deepcopy(bilinear) if bilinear is not None else make_learner(name, lambda_scale="relative")
            if paper:
                estimator.set_params(lambda_scale="absolute")
                runs[name] = LearnerRun(estimator, tuple(PAPER_LAMBDA_GRID))
                continue
        else:
            estimator = make_learner(name)
            if device is not None and "device" in estimator.get_params():
                estimator.set_params(device=device)
        grid = type(estimator).default_grid if paper or lambda_grid is None else lambda_grid
        runs[name] = LearnerRun(estimator, tuple(float(x) for x in grid))
    return runs


def protocol_learners(learners: Mapping[str, LearnerRun]) -> dict[str, Any]:
    """The learners as a results folder's configuration records them: parameters and λ grid of each."""
    return {name: {"params": run.estimator.get_params(), "grid": list(run.grid)} for name, run in learners.items()}


def check_protocol_inputs(
    *,
    specs: Sequence[str],
    semantic: SemanticConfig,
    learners: Mapping[str, LearnerRun],
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
    if not learners:
        raise ConfigError("give at least one learner")
    for run in learners.values():
        run.estimator._check_params()
        check_lambda_grid(list(run.grid))
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
    recorded = vggish.resolved().as_dict()
    # The recipe and its levers are recorded only when they leave the paper's recipe, so that
    # folders written before recipes existed keep their configuration (and their finished folds).
    levers = vggish.levers()
    for name in ("recipe", *RECIPE_FIELDS):
        if name not in ("learning_rate", "batch_size"):  # recorded before recipes existed
            recorded.pop(name)
    if vggish.recipe != "paper" or levers:
        recorded |= {"recipe": vggish.recipe, "levers": levers}
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
    held_out: np.ndarray | None = None,
) -> np.ndarray:
    """Train VGGish on ``split.acoustic`` classes (or resume it) and embed every clip; cached in the folder.

    Clips that ``held_out`` marks are kept out of VGGish's training too, so the seen classes of the
    generalised zero-shot test are tested on clips no model has fit.

    Returns
    -------
    np.ndarray [shape=(n_clips, 128)], float32
        Mean of each clip's segment embeddings (Section III-B).
    """
    # Here, not at import: they load torch, which a run on the released embeddings never needs.
    from ..acoustic.embedding import embed_clips
    from ..acoustic.training import train_vggish

    work = folder.path / "acoustic" / f"seed{seed}" / safe_name(split.name)
    cached = load_array(work / "clip_embeddings.npz", "embeddings", what="clip embeddings")
    if cached is not None and cached.shape[0] == len(clip_examples):
        return cached
    acoustic = set(split.acoustic)
    chosen = [k for k, c in enumerate(clip_classes) if c in acoustic and not (held_out is not None and held_out[k])]
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


def held_out_clips(split: ClassSplit, clip_classes: Sequence[Hashable], *, seed: int, fraction: float) -> np.ndarray:
    """The seen-class clips of ``split`` that every fit leaves out (:func:`~zsac.protocols.seen_class_holdout`).

    Seen: the classes the final compatibility model fits (training, and validation too when
    ``split.refit``). The draw depends on the seed and the class only, so it is the same for
    every spec and learner of a run, which keeps their results paired.
    """
    return seen_class_holdout(clip_classes, split.seen if split.refit else split.train, fraction=fraction, seed=seed)


def run_folds(
    folder: ResultsFolder,
    *,
    base_record: Mapping[str, Any],
    seeds: Sequence[int],
    splits_for_seed: Callable[[int], Sequence[ClassSplit]],
    acoustic_for: Callable[[int, ClassSplit, np.ndarray], np.ndarray],
    clip_classes: Sequence[Hashable],
    clip_ids: Sequence[str],
    class_embeddings: Mapping[str, Mapping[Hashable, np.ndarray]],
    class_names: Mapping[Hashable, str],
    learners: Mapping[str, LearnerRun],
    progress: bool,
    holdout: float = SEEN_HOLDOUT_FRACTION,
    jobs: int | None = None,
) -> tuple[int, int]:
    """Every (seed, split, learner, spec) fold that has not finished: evaluate it and store its record.

    The acoustic embeddings of a (seed, split) are only asked for when one of its runs still
    has to, so a rerun of a finished configuration trains nothing. ``acoustic_for`` gets the
    clips held out of every fit (``holdout`` of each seen class's clips, for the generalised
    zero-shot test), so that an acoustic model trained per split leaves them out too.

    The runs of a (seed, split) are evaluated by ``jobs`` threads (default :func:`default_jobs`),
    each with one BLAS thread: numpy's linear algebra releases the GIL, and on a small CPU two
    runs side by side beat one run on two BLAS threads (RESULTS.md, "Speed of the main job").
    Every run is computed as it would be alone (the same bits for any ``jobs``), and records are
    stored in the same order.

    Returns
    -------
    (ran, skipped) : tuple of int
    """
    ran = skipped = 0
    specs = list(class_embeddings)
    runs = [(name, spec) for name in learners for spec in specs]
    work = [(seed, split) for seed in seeds for split in splits_for_seed(seed)]
    bar = tqdm(total=len(work) * len(runs), desc="folds", unit="fold", disable=not progress)
    try:
        for seed, split in work:
            todo = [(name, spec) for name, spec in runs if folder.finished(spec, seed, split.name, name) is None]
            skipped += len(runs) - len(todo)
            bar.update(len(runs) - len(todo))
            if not todo:
                continue
            held = held_out_clips(split, clip_classes, seed=seed, fraction=holdout)
            acoustic = acoustic_for(seed, split, held)

            def evaluate(run: tuple[str, str], split: ClassSplit = split, acoustic: np.ndarray = acoustic,
                         held: np.ndarray = held) -> FoldOutcome:  # fmt: skip
                name, spec = run
                return evaluate_split(
                    split, acoustic, clip_classes, class_embeddings[spec],
                    clip_ids=clip_ids, class_names=class_names, estimator=learners[name].estimator,
                    grid=learners[name].grid, held_out=held,
                )  # fmt: skip

            for (name, spec), outcome in zip(todo, _in_threads(evaluate, todo, jobs), strict=True):
                # base_record holds dataset, setting and acoustic; FoldRecord checks that they are there.
                record = FoldRecord.from_mapping(
                    {
                        **base_record,
                        "learner": name,
                        "spec": spec,
                        "test_fold": split.name,
                        "seed": int(seed),
                        **outcome.record_fields(),
                        "n_train_classes": len(split.seen if split.refit else split.train),
                    }
                )
                folder.save_fold(record, outcome.predictions)
                logger.info("%s %s seed %d %s: Top-1 %.3f, mAP %.3f (λ=%g)", name, spec, seed, split.name,
                            outcome.top1, outcome.map, outcome.lam)  # fmt: skip
                ran += 1
                bar.update(1)
    finally:
        bar.close()
    return ran, skipped


def default_jobs() -> int:
    """Threads for the runs of a fold: one per core, at most :data:`MAX_JOBS`."""
    return max(
        1, min(MAX_JOBS, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    )


def _in_threads(function: Callable[[Any], Any], items: Sequence[Any], jobs: int | None) -> Iterator[Any]:
    """``map(function, items)``, by ``jobs`` threads with one BLAS thread each, results in order."""
    jobs = default_jobs() if jobs is None else jobs
    # One BLAS thread per run even with jobs=1: the runs' matrices are small, and a multi-threaded
    # BLAS on a busy 2-core machine spent 6x longer in the same main job (RESULTS.md). It also makes
    # every result the same bits whatever the number of jobs.
    with threadpool_limits(limits=1):
        if jobs <= 1 or len(items) <= 1:
            yield from map(function, items)
            return
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            yield from pool.map(function, items)


def finish(folder: ResultsFolder, *, notes: list[str], ran: int, skipped: int) -> ReproductionResult:
    """Write ``results.json`` and the report of every finished fold, log the run, and say what ran.

    The report covers every finished fold of the folder's configuration, whichever run
    computed it; this run's scope and counts go to ``runs.jsonl`` (:meth:`ResultsFolder.log_run`).
    """
    records = folder.write_results()
    files = write_report(folder.path, records, folder.predictions(), notes=notes)
    folder.log_run(ran=ran, skipped=skipped, notes=notes)
    return ReproductionResult(out=folder.path, records=records, notes=notes, files=files, ran=ran, skipped=skipped)
