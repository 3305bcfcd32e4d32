"""``zsac reproduce esc50``: zero-shot classification on ESC-50 (Section V-B, Tables VI–VIII).

For each class fold of the partition (Table I by category, Table II at random): VGGish is
trained from scratch on the other four folds' classes, every clip is embedded as the mean of
its segment embeddings, λ is chosen on the fold after the test fold with the bilinear model
trained on the remaining three, the chosen λ is refit on all four, and the test clips are
ranked among the test fold's classes (Top-1 and mAP).

A copy that lacks some of the 50 classes (such as the ESC-10 copy in ``../shared/data``)
cannot use the paper's partitions; the same pipeline then runs on the classes present, with
a seeded random partition into (at most) 5 folds of at least 2 classes per seed, and the
results say so.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from ..acoustic.config import VGGishConfig
from ..compatibility.bilinear import Bilinear
from ..datasets.esc50 import esc50_clips
from ..datasets.root import audioset_dir, esc50_dir
from ..errors import ConfigError, DataError
from ..features import FeatureCache, extract_examples
from ..protocols import ESC50_CLASSES, SEEN_HOLDOUT_FRACTION, cross_validation_splits, esc50_splits, random_class_folds
from ..semantic.config import SemanticConfig
from ..semantic.side_info import esc50_class_info
from .common import (
    DEFAULT_LEARNERS,
    ReproductionResult,
    check_protocol_inputs,
    class_tables,
    finish,
    protocol_learners,
    protocol_semantic,
    protocol_vggish,
    resolve_learners,
    run_folds,
    vggish_embeddings,
)
from .results import ResultsFolder

__all__ = ["ESC10_CLASSES", "ESC50_PAPER_SPECS", "ESC50_PARTITIONS", "run_reproduce_esc50"]

logger = logging.getLogger(__name__)

ESC10_CLASSES = frozenset(
    {"dog", "rooster", "rain", "sea_waves", "crackling_fire", "crying_baby", "sneezing", "clock_tick",
     "helicopter", "chainsaw"}
)  # fmt: skip
#: The specs of Tables VI–VIII (they need word2vec and GloVe files).
ESC50_PAPER_SPECS = ("WLE", "GLE", "WLE+GLE")
#: Table I (by category) and Table II (at random).
ESC50_PARTITIONS = ("category", "random")
#: Specs that need no model download (MiniLM is bundled).
ESC50_OFFLINE_SPECS = ("SLE",)


def _default_ontology(root: Path) -> Path | None:
    for candidate in (root.parent / "audioset", audioset_dir(None, must_exist=False)):
        if (candidate / "ontology.json").is_file():
            return candidate / "ontology.json"
    return None


def run_reproduce_esc50(
    *,
    out: str | os.PathLike[str],
    data: str | os.PathLike[str] | None = None,
    partition: str = "category",
    specs: Sequence[str] | None = None,
    seeds: Sequence[int] = (0,),
    semantic: SemanticConfig | None = None,
    ontology: str | os.PathLike[str] | None = None,
    estimator: Bilinear | None = None,
    grid: Sequence[float] | str | None = None,
    learners: Sequence[str] = DEFAULT_LEARNERS,
    refit: bool = True,
    holdout: float = SEEN_HOLDOUT_FRACTION,
    jobs: int | None = None,
    vggish: VGGishConfig | None = None,
    device: str | None = None,
    progress: bool = True,
) -> ReproductionResult:
    """Reproduce Tables VI–VIII on ESC-50, or the same pipeline on a partial copy.

    Parameters
    ----------
    out : path
        Results folder (see :mod:`zsac.reproduce.results`); finished folds are skipped on a rerun,
        and an interrupted VGGish training resumes from its checkpoint.
    data : path, optional
        Data root or ESC-50 folder (default: :func:`zsac.datasets.data_root`).
    partition : {"category", "random"}
        Table I or Table II; ignored (with a note) for a partial copy.
    specs : sequence of str, optional
        Semantic specs. Default: WLE, GLE, WLE+GLE on the full dataset, SLE on a partial copy.
    seeds : sequence of int
        Seeds of VGGish training (and of the class partition on a partial copy).
    semantic : SemanticConfig, optional
        Text models and options of the semantic side (its ``semantic`` field is not used:
        ``specs`` says which specs run).
    ontology : path, optional
        AudioSet's ``ontology.json``, whose descriptions stand in for ESC-50's (for SSE, WSE, BSE);
        default: the one in the data root's ``audioset`` folder, when present.
    estimator : Bilinear, optional
        Settings of the ``"bilinear"`` learner (default: ``Bilinear(lambda_scale='relative')``).
    grid : sequence of float, "paper" or None
        Values of each learner's ``lam``; None (default): each learner's own log-spaced grid;
        ``"paper"``: the paper's λ grid {0, 0.01, 1, 10}, absolute, for the bilinear model
        (see :func:`~zsac.reproduce.common.resolve_learners`).
    learners : sequence of str
        Compatibility learners to run, each on every spec (default :data:`~zsac.reproduce.common.DEFAULT_LEARNERS`;
        ``["all"]`` for every one).
    refit : bool
        Refit the chosen λ on training + validation classes (default). ``False`` keeps the model
        trained on the training classes (the paper refits on ESC-50).
    holdout : float
        Share of each seen class's clips held out of every fit and tested in the generalised
        zero-shot setting (0 turns that test off).
    jobs : int, optional
        Threads that evaluate the runs of a fold (default: one per core, at most 4); results do
        not depend on it.
    vggish : VGGishConfig, optional
        Default: the paper's recipe, ``VGGishConfig()`` (Adam 1e-4, batch 64, 80/20 segment split, early stopping).
    device : str, optional
    progress : bool

    Returns
    -------
    ReproductionResult
    """
    if partition not in ESC50_PARTITIONS:
        raise ConfigError(f"partition must be one of {list(ESC50_PARTITIONS)}, got {partition!r}")
    root = esc50_dir(data)
    clips = esc50_clips(root)
    present = sorted({clip.label for clip in clips}, key=lambda c: (ESC50_CLASSES + (c,)).index(c))
    complete = set(present) >= set(ESC50_CLASSES)
    notes: list[str] = []
    if complete:
        setting = partition
        paper_splits = esc50_splits(partition)
    else:
        if len(present) < 6:
            raise DataError(
                f"the ESC-50 copy at {root} has only {len(present)} classes; zero-shot folds need 6 or more"
            )
        setting = "esc10" if set(present) == ESC10_CLASSES else "partial"
        n_folds = min(5, len(present) // 2)
        notes.append(
            f"The ESC-50 copy at {root} holds {len(present)} of the 50 classes ({', '.join(present)}), so the "
            f"paper's partitions (Tables I/II) cannot be used: each seed draws a random partition of these classes "
            f"into {n_folds} folds (zsac.protocols.random_class_folds), and the numbers are not comparable with "
            f"the paper's (chance Top-1 is {n_folds / len(present):.2f} with {len(present) // n_folds} test classes)."
        )
        if partition != "category":
            notes.append(f"--partition {partition} was ignored: it names a partition of all 50 classes.")
    if specs is None:
        specs = ESC50_PAPER_SPECS if complete else ESC50_OFFLINE_SPECS
    specs = list(dict.fromkeys(specs))
    semantic = semantic or SemanticConfig()
    runs = resolve_learners(learners, bilinear=estimator, lambda_grid=grid)
    vggish = vggish or VGGishConfig()
    check_protocol_inputs(specs=specs, semantic=semantic, learners=runs, seeds=seeds, vggish=vggish)
    ontology = Path(ontology) if ontology is not None else _default_ontology(root)
    config = {
        "command": "reproduce esc50",
        "data": str(root),
        "classes": present,
        "setting": setting,
        "specs": specs,
        "seeds": [int(s) for s in seeds],
        "semantic": protocol_semantic(semantic),
        "ontology": None if ontology is None else str(ontology),
        "learners": protocol_learners(runs),
        "refit": bool(refit),
        "seen_holdout": float(holdout),
        "vggish": protocol_vggish(vggish),
        "device": device,
    }
    folder = ResultsFolder(out, config)

    extracted = extract_examples([clip.path for clip in clips], cache=FeatureCache(), skip_errors=True,
                                 progress=progress)  # fmt: skip
    if extracted.failures:
        notes.append(f"{len(extracted.failures)} audio files could not be read and were left out: "
                     f"{', '.join(sorted(Path(p).name for p in extracted.failures)[:10])}")  # fmt: skip
    label_of = {clip.path: clip.label for clip in clips}
    clip_classes = [label_of[path] for path in extracted.paths]
    clip_ids = [path.name for path in extracted.paths]

    info = esc50_class_info(present, ontology=ontology)
    tables = class_tables(semantic, info, specs, device=device, progress=progress)
    class_embeddings = {spec: dict(zip(present, tables[spec].embeddings, strict=True)) for spec in specs}

    def splits_for_seed(seed: int):
        if complete:
            splits = paper_splits
        else:
            splits = cross_validation_splits(random_class_folds(present, n_folds=min(5, len(present) // 2), seed=seed))
        return [dataclasses.replace(split, refit=bool(refit)) for split in splits]

    def acoustic_for(seed: int, split, held_out):
        return vggish_embeddings(
            folder,
            seed=seed,
            split=split,
            clip_examples=extracted.examples,
            clip_classes=clip_classes,
            config=vggish,
            device=device,
            progress=progress,
            held_out=held_out,
        )

    ran, skipped = run_folds(
        folder,
        base_record={"dataset": "esc50", "setting": setting, "acoustic": "vggish"},
        seeds=seeds,
        splits_for_seed=splits_for_seed,
        acoustic_for=acoustic_for,
        clip_classes=clip_classes,
        clip_ids=clip_ids,
        class_embeddings=class_embeddings,
        class_names={c: c for c in present},
        learners=runs,
        progress=progress,
        holdout=holdout,
        jobs=jobs,
    )
    return finish(folder, notes=notes, ran=ran, skipped=skipped)
