"""How many clips of the AudioSet release a zero-shot model may train on, multi-label clips included.

For every rotation of one fold seed (the folds of ``zsac reproduce audioset --acoustic released``: built
from the single-label clips, the bilinear model trained on three folds), counts the clips of the release
(bal_train + eval) whose labels all lie in the training classes (:func:`zsac.protocols.clips_within_classes`),
and how many of those carry two or more classes, against the single-label clips of the training classes.
The last column relaxes the rule to clips with a training class and no validation or test class, whose other
labels are classes outside every fold (the classes with no single-label clip, which no split tests on).

Usage: ZSAC_DATA_DIR=../shared/data python bench/audioset_multilabel_clips.py [--fold-seed 0]
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys

import numpy as np

from zsac.datasets import audioset_dir, read_audioset_embeddings
from zsac.protocols import audioset_class_folds, audioset_rotation_splits, clips_within_classes, single_label_clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold-seed", type=int, default=0)
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    release = read_audioset_embeddings(audioset_dir(), progress=False)
    distinct = [set(labels) for labels in release.labels]
    single = single_label_clips(release.labels)
    single_classes = np.array([release.labels[i][0] for i in single])
    classes, counts = np.unique(single_classes, return_counts=True)
    folds = audioset_class_folds(dict(zip(classes.tolist(), counts.tolist(), strict=True)), seed=options.fold_seed)
    splits = audioset_rotation_splits(folds, acoustic="none", zsl_training="rest")
    in_folds = set(classes.tolist())
    n_multi = sum(len(labels) > 1 for labels in distinct)
    print(f"release: {len(release)} clips, {len(single)} single-label, {n_multi} with 2+ classes; "
          f"{len(in_folds)} classes in the folds")  # fmt: skip
    outside = sorted({label for labels in distinct for label in labels} - in_folds)
    print("| test fold | train classes | single-label train clips | all-in-train clips | of them 2+ classes "
          "| train + outside-fold clips |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for split in splits:
        kept = clips_within_classes(release.labels, split.train, exclude=split.validation + split.test)
        held_out = set(split.validation) | set(split.test)
        assert not any(distinct[i] & held_out for i in kept)
        train = set(split.train)
        n_single = int(np.isin(single_classes, list(train)).sum())
        n_kept_multi = sum(len(distinct[i]) > 1 for i in kept)
        relaxed = clips_within_classes(release.labels, [*split.train, *outside], exclude=[*held_out])
        n_relaxed = sum(bool(distinct[i] & train) for i in relaxed)
        print(f"| {split.name} | {len(train)} | {n_single} | {len(kept)} | {n_kept_multi} | {n_relaxed} |")
    print(f"\ncommand: ZSAC_DATA_DIR=... python {shlex.join(sys.argv)}")


if __name__ == "__main__":
    main()
