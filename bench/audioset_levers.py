"""Levers beyond the paper on the AudioSet main job: one row per lever, paired with its baseline over 15 runs.

The protocol is ``zsac reproduce audioset --acoustic released`` (single-label clips of bal_train + eval,
under-sampled per fold seed, 5 class folds, train3: the learner trains on three folds, λ is chosen on
the fourth from the learner's own default grid and refit on train + validation, tested on the fifth;
20% of each seen class's clips held out of every fit), over fold seeds 0 1 2 × 5 rotations. The spec
is WLE+SLE+SSE unless a row says otherwise. Each row changes one or more of:

- **learner**: ``eszsl``, ``sae``, ``generative`` (closed form), as they are;
- **multi-label clips** (``strict``): the release's clips with two or more classes, all of them
  training classes of the rotation (:func:`zsac.protocols.clips_within_classes`), join every fit as
  rows of a label indicator matrix (``evaluate_split(extra_training=...)``), λ selection and refit;
- **multi-label clips** (``relaxed``): also clips with at least one training class and no validation
  or test class whose other labels are classes outside every fold (the ~150 classes that never occur
  as a clip's only label, so no split trains, validates or tests on them); those other labels are
  dropped and the clip trains on its training classes only. No held-out class is ever used;
- **ontology-aware class texts**: SLE/SSE embed the class name / description with its parents' names
  (``names``) or descriptions (``descriptions``) from ontology.json appended
  (:func:`zsac.semantic.with_ontology_context`); WLE is the authors' word2vec table keyed by mid, unchanged;
- **pooling**: clip embedding = mean and max (or mean and std) of the release's frames, concatenated
  (256 dimensions) instead of the mean;
- **score ensembles**: each member (a learner on a spec) is run alone, choosing its own λ on the
  validation classes; then the members, each at its chosen λ, are fit together and their test scores
  are standardised per clip (z-score across the classes ranked) and averaged.

Each row is reported as Top-1 and mAP, mean ± std over the 15 runs; the paired difference from the
row's baseline (mean ± std of the 15 per-run differences); and its means on fold seed 0 (the one
levers were chosen on) and on seeds 1–2 (never looked at while choosing). H is the generalised
zero-shot harmonic mean (calibrated on the validation fold). Seconds are the wall time of a row's
folds with one BLAS thread; the machine is shared, so they are only indicative.

Usage: ZSAC_DATA_DIR=../shared/data OMP_NUM_THREADS=1 python bench/audioset_levers.py [--seeds 0 1 2] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import logging
import shlex
import sys
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from zsac.compatibility.base import CompatibilityLearner, check_fit_inputs
from zsac.compatibility.learners import make_learner
from zsac.datasets import audioset_dir, read_audioset_embeddings
from zsac.protocols import (
    audioset_class_folds,
    audioset_rotation_splits,
    clips_within_classes,
    single_label_clips,
    undersample_classes,
)
from zsac.reproduce.common import held_out_clips
from zsac.reproduce.zero_shot import evaluate_split
from zsac.semantic import SemanticEmbedder, audioset_class_info, with_ontology_context

SPECS = ("WLE", "SLE", "SSE", "WLE+SLE+SSE")
MAIN = "WLE+SLE+SSE"
LEARNER_NAMES = ("eszsl", "sae", "generative")


@dataclasses.dataclass(frozen=True)
class Lever:
    """One row: its members (learner, spec), acoustic pooling, class texts, extra clips and baseline row."""

    members: tuple[tuple[str, str], ...]
    baseline: str
    pooling: tuple[str, ...] = ("mean",)
    texts: str = "plain"  # plain | names | descriptions, ":2" for two generations of ancestors
    extra: str = "none"  # none | strict | relaxed


def _rows() -> dict[str, Lever]:
    rows: dict[str, Lever] = {}
    for learner in LEARNER_NAMES:
        base = f"{learner}"
        rows[base] = Lever(((learner, MAIN),), baseline=base)
    for learner in LEARNER_NAMES:
        base = learner
        rows[f"{learner} + multi-label clips (strict)"] = Lever(((learner, MAIN),), base, extra="strict")
        rows[f"{learner} + multi-label clips (relaxed)"] = Lever(((learner, MAIN),), base, extra="relaxed")
        rows[f"{learner} + parent names"] = Lever(((learner, MAIN),), base, texts="names")
        rows[f"{learner} + parent descriptions"] = Lever(((learner, MAIN),), base, texts="descriptions")
        rows[f"{learner} + pooling mean+max"] = Lever(((learner, MAIN),), base, pooling=("mean", "max"))
        rows[f"{learner} + pooling mean+std"] = Lever(((learner, MAIN),), base, pooling=("mean", "std"))
        rows[f"{learner} + spec ensemble"] = Lever(tuple((learner, spec) for spec in SPECS), base)
    # Ensembles are paired with the best single learner on fold seed 0 (sae), not the weakest.
    ens = tuple((n, MAIN) for n in LEARNER_NAMES)
    every = tuple((n, s) for n in LEARNER_NAMES for s in SPECS)
    rows["learner ensemble (eszsl+sae+generative)"] = Lever(ens, "sae")
    rows["learner × spec ensemble (3 learners × 4 specs)"] = Lever(every, "sae")
    # Combinations, chosen on fold seed 0 only: parent names helped every learner and the learner
    # ensemble helped most; pooling and multi-label clips did not (seed-0 rows of this table).
    rows["best: learner ensemble + parent names"] = Lever(ens, "sae", texts="names")
    rows["learner × spec ensemble + parent names"] = Lever(every, "sae", texts="names")
    rows["learner ensemble + parent names + multi-label (relaxed)"] = Lever(ens, "sae", texts="names", extra="relaxed")
    return rows


LEVERS = _rows()


def zscore(scores: np.ndarray) -> np.ndarray:
    """Scores standardised per clip: minus the clip's mean over the classes, over their std (1 if 0)."""
    centred = scores - scores.mean(axis=1, keepdims=True)
    spread = centred.std(axis=1, keepdims=True)
    return centred / np.where(spread > 0, spread, 1.0)


class ZScoreEnsemble(CompatibilityLearner):
    """Members fit on their slices of φ; scores: the mean of each member's per-clip z-scored scores.

    Each member keeps the λ it was given (chosen alone on the validation classes); ``lam`` is unused.
    """

    name = "ensemble"
    default_grid: ClassVar[tuple[float, ...]] = (1.0,)
    fitted_attribute = "members_"

    def __init__(self, *, lam: float = 1.0, members: Sequence[tuple[Any, int, int]] = ()) -> None:
        self.lam = lam
        self.members = members

    def fit(self, acoustic_embeddings, labels, class_embeddings):
        theta, indicator, phi = check_fit_inputs(acoustic_embeddings, labels, class_embeddings)
        self.members_ = [(copy.deepcopy(m).fit(theta, indicator, phi[:, a:b]), a, b) for m, a, b in self.members]
        self.acoustic_dim_, self.semantic_dim_ = theta.shape[1], phi.shape[1]
        return self

    def _scores(self, theta, phi):
        return np.mean([zscore(m.decision_function(theta, phi[:, a:b])) for m, a, b in self.members_], axis=0)


class Data:
    """The release, its single-label clips, pooled embeddings and class tables, computed once each."""

    def __init__(self) -> None:
        self.root = audioset_dir()
        self.release = read_audioset_embeddings(self.root, splits=("bal_train", "eval"), progress=False)
        self.single = single_label_clips(self.release.labels)
        self.clip_classes = np.array([self.release.labels[i][0] for i in self.single], dtype=np.int64)
        is_single = np.zeros(len(self.release), dtype=bool)
        is_single[self.single] = True
        self.multi = np.flatnonzero(~is_single)
        self.multi_labels = [tuple(sorted(set(self.release.labels[i]))) for i in self.multi]
        self.fold_classes = set(np.unique(self.clip_classes).tolist())
        self.info = audioset_class_info(self.root / "class_labels_indices.csv", ontology=self.root / "ontology.json")
        self._pooled: dict[tuple[str, ...], np.ndarray] = {}
        self._tables: dict[str, dict[str, np.ndarray]] = {}
        self._seeds: dict[int, Any] = {}

    def pooled(self, stats: tuple[str, ...]) -> np.ndarray:
        if stats not in self._pooled:
            self._pooled[stats] = self.release.clip_statistics(stats).astype(np.float32)
        return self._pooled[stats]

    def tables(self, texts: str) -> dict[str, np.ndarray]:
        if texts not in self._tables:
            what, _, generations = texts.partition(":")
            info = (
                self.info
                if texts == "plain"
                else with_ontology_context(
                    self.info, self.root / "ontology.json", what=what, parents=int(generations or 1)
                )
            )
            embedder = SemanticEmbedder(tables={"WLE": self.root / "word2vec_label_embeddings.npz"})
            made = embedder.embed_many(SPECS, info)
            self._tables[texts] = {spec: np.asarray(made[spec].embeddings, dtype=np.float32) for spec in SPECS}
        return self._tables[texts]

    def seed(self, seed: int):
        """(clip classes with under-sampled clips as -1, the 5 refit splits) of a fold seed."""
        if seed not in self._seeds:
            kept = undersample_classes(self.clip_classes, max_per_class=1500, seed=seed)
            classes, counts = np.unique(self.clip_classes[kept], return_counts=True)
            folds = audioset_class_folds(dict(zip(classes.tolist(), counts.tolist(), strict=True)), seed=seed)
            rotations = audioset_rotation_splits(folds, acoustic="none", zsl_training="rest")
            splits = [dataclasses.replace(split, refit=True) for split in rotations]
            masked = np.full(len(self.clip_classes), -1, dtype=np.int64)
            masked[kept] = self.clip_classes[kept]
            self._seeds[seed] = (masked, splits)
        return self._seeds[seed]

    def extra(self, split, rule: str) -> tuple[np.ndarray, list[tuple[int, ...]]]:
        """Indices into the release and labels of the multi-label clips a rotation may train on."""
        unseen = [*split.validation, *split.test]
        if rule == "strict":
            chosen = clips_within_classes(self.multi_labels, split.train, exclude=unseen)
            return self.multi[chosen], [self.multi_labels[k] for k in chosen]
        train, banned = set(split.train), set(unseen)
        indices, labels = [], []
        for k, clip in enumerate(self.multi_labels):
            if banned.isdisjoint(clip) and not train.isdisjoint(clip):
                # Every label is a training class or a class outside every fold; keep the training ones.
                assert all(c in train or c not in self.fold_classes for c in clip)
                indices.append(self.multi[k])
                labels.append(tuple(c for c in clip if c in train))
        return np.array(indices, dtype=np.int64), labels


def run_member(data: Data, lever: Lever, learner: str, spec: str, seed: int, split, memo: dict) -> Any:
    """One learner on one spec for one run: its FoldOutcome (memoised; rows share members)."""
    key = (learner, spec, lever.pooling, lever.texts, lever.extra, seed, split.name)
    if key not in memo:
        masked, _ = data.seed(seed)
        pooled = data.pooled(lever.pooling)
        acoustic = pooled[data.single]
        held = held_out_clips(split, masked, seed=seed, fraction=0.2)
        extra = None
        if lever.extra != "none":
            indices, labels = data.extra(split, lever.extra)
            extra = (pooled[indices], labels)
        table = data.tables(lever.texts)[spec]
        memo[key] = evaluate_split(split, acoustic, masked, dict(enumerate(table)), estimator=make_learner(learner),
                                   grid=None, held_out=held, extra_training=extra)  # fmt: skip
    return memo[key]


def run_lever(data: Data, lever: Lever, seed: int, split, memo: dict) -> Any:
    outcomes = [run_member(data, lever, learner, spec, seed, split, memo) for learner, spec in lever.members]
    if len(outcomes) == 1:
        return outcomes[0]
    tables = data.tables(lever.texts)
    specs = list(dict.fromkeys(spec for _, spec in lever.members))
    starts = np.cumsum([0] + [tables[s].shape[1] for s in specs])
    members = [(make_learner(learner, lam=outcome.lam), int(starts[specs.index(spec)]),
                int(starts[specs.index(spec) + 1])) for (learner, spec), outcome in zip(lever.members, outcomes,
                                                                                     strict=True)]  # fmt: skip
    joined = np.hstack([tables[s] for s in specs])
    masked, _ = data.seed(seed)
    pooled = data.pooled(lever.pooling)
    extra = None
    if lever.extra != "none":
        indices, labels = data.extra(split, lever.extra)
        extra = (pooled[indices], labels)
    return evaluate_split(split, pooled[data.single], masked, dict(enumerate(joined)),
                          estimator=ZScoreEnsemble(members=members), grid=(1.0,),
                          held_out=held_out_clips(split, masked, seed=seed, fraction=0.2),
                          extra_training=extra)  # fmt: skip


def _pm(values: np.ndarray) -> str:
    return f"{values.mean():.3f} ± {values.std():.3f}"


def _diff(values: np.ndarray) -> str:
    return f"{values.mean():+.3f} ± {values.std():.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", choices=list(LEVERS), help="run only these rows (and their baselines)")
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    names = list(options.only or LEVERS)
    names = list(dict.fromkeys([*(LEVERS[n].baseline for n in names), *names]))
    data = Data()
    memo: dict = {}
    results: dict[str, dict[tuple[int, str], tuple[float, float, float]]] = {}
    seconds: dict[str, float] = {}
    with threadpool_limits(1):
        for name in names:
            started = time.perf_counter()
            results[name] = {}
            for seed in options.seeds:
                for split in data.seed(seed)[1]:
                    outcome = run_lever(data, LEVERS[name], seed, split, memo)
                    results[name][seed, split.name] = (outcome.top1, outcome.map, (outcome.gzsl or {}).get("h", np.nan))
            seconds[name] = time.perf_counter() - started
            print(f"{name}: {seconds[name]:.0f} s", file=sys.stderr, flush=True)
    runs = list(results[names[0]])
    tuned = np.array([seed == options.seeds[0] for seed, _ in runs])
    print(f"`{shlex.join(['python', *sys.argv])}`\n")
    print(f"released embeddings, train3, refit, 20% seen hold-out, λ from each learner's default grid; fold seeds "
          f"{' '.join(map(str, options.seeds))} × 5 rotations = {len(runs)} runs; spec {MAIN} unless the row says; "
          f"mean ± std over runs; Δ: paired per-run difference from the baseline row; seed {options.seeds[0]} is "
          f"the one levers were chosen on; seconds: one BLAS thread, shared 2-core machine, indicative\n")  # fmt: skip
    print(
        "| lever | baseline | Top-1 | mAP | ΔTop-1 | ΔmAP | Top-1 seed 0 / 1–2 | mAP seed 0 / 1–2 | "
        "ΔTop-1 seed 0 / 1–2 | ΔmAP seed 0 / 1–2 | H | seconds |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        values = np.array([results[name][run] for run in runs])
        base = np.array([results[LEVERS[name].baseline][run] for run in runs])
        diff = values - base
        top1, mean_ap, h = values.T

        def split_means(column: np.ndarray) -> str:
            if tuned.all():
                return f"{column.mean():.3f}"
            return f"{column[tuned].mean():.3f} / {column[~tuned].mean():.3f}"

        def split_diffs(column: np.ndarray) -> str:
            if tuned.all():
                return f"{column.mean():+.3f}"
            return f"{column[tuned].mean():+.3f} / {column[~tuned].mean():+.3f}"

        baseline = "—" if LEVERS[name].baseline == name else LEVERS[name].baseline
        print(f"| {name} | {baseline} | {_pm(top1)} | {_pm(mean_ap)} | {_diff(diff[:, 0])} | {_diff(diff[:, 1])} | "
              f"{split_means(top1)} | {split_means(mean_ap)} | {split_diffs(diff[:, 0])} | {split_diffs(diff[:, 1])} | "
              f"{np.nanmean(h):.3f} | {seconds[name]:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
