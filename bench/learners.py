"""The learners of zsac.compatibility on the AudioSet main job: Top-1 / mAP over the 5 rotations.

Protocol of ``zsac reproduce audioset --acoustic released`` (one fold seed, single-label clips,
training on three folds): ``lam`` is chosen by Top-1 on the validation classes with the model
trained on the training classes, the chosen value is refitted on training + validation
classes, and the test clips are ranked among the test classes. "edge" marks a chosen λ at
an end of the learner's default grid.

Usage: ZSAC_DATA_DIR=../shared/data python bench/learners.py [--spec WLE+SLE+SSE] [--fold-seed 0] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time

import numpy as np

from zsac.compatibility import make_learner
from zsac.compatibility.learners import LEARNERS
from zsac.datasets import audioset_dir, read_audioset_embeddings
from zsac.evaluation import mean_average_precision, top1_accuracy
from zsac.protocols import audioset_class_folds, audioset_rotation_splits, single_label_clips
from zsac.semantic import SemanticEmbedder, audioset_class_info

# row name -> (learner name, parameters)
ROWS = {
    "eszsl": ("eszsl", {}),
    "eszsl (gamma_ratio=1)": ("eszsl", {"gamma_ratio": 1.0}),
    "sae (direction=acoustic, the default)": ("sae", {"direction": "acoustic"}),
    "sae (direction=semantic)": ("sae", {"direction": "semantic"}),
    "generative": ("generative", {}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="WLE+SLE+SSE")
    parser.add_argument("--fold-seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=list(ROWS), help="run only these rows")
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    root = audioset_dir()
    release = read_audioset_embeddings(root, progress=False)
    clips = release.subset(single_label_clips(release.labels))
    acoustic = clips.clip_means().astype(np.float64)
    clip_classes = np.array([labels[0] for labels in clips.labels])
    classes, counts = np.unique(clip_classes, return_counts=True)
    folds = audioset_class_folds(dict(zip(classes.tolist(), counts.tolist(), strict=True)), seed=options.fold_seed)
    splits = audioset_rotation_splits(folds, acoustic="none", zsl_training="rest")
    info = audioset_class_info(root / "class_labels_indices.csv", ontology=root / "ontology.json")
    table = SemanticEmbedder(tables={"WLE": root / "word2vec_label_embeddings.npz"}).embed(options.spec, info)

    def data(split_classes):
        split_classes = np.asarray(split_classes)
        rows = np.flatnonzero(np.isin(clip_classes, split_classes))
        index = {c: i for i, c in enumerate(split_classes.tolist())}
        labels = np.array([index[c] for c in clip_classes[rows].tolist()])
        return acoustic[rows], labels, table.embeddings[split_classes]

    rows = []
    for row in options.only or ROWS:
        name, params = ROWS[row]
        grid = LEARNERS[name].default_grid
        results, fit_seconds = [], 0.0
        for split in splits:
            train, validation, test = data(split.train), data(split.validation), data(split.test)
            accuracy = []
            for lam in grid:
                started = time.perf_counter()
                model = make_learner(name, **params, lam=lam).fit(*train)
                fit_seconds += time.perf_counter() - started
                accuracy.append(model.score(*validation))
            lam = grid[int(np.argmax(accuracy))]
            both = (np.vstack([train[0], validation[0]]), np.concatenate([train[1], validation[1] + len(train[2])]),
                    np.vstack([train[2], validation[2]]))  # fmt: skip
            started = time.perf_counter()
            model = make_learner(name, **params, lam=lam).fit(*both)
            fit_seconds += time.perf_counter() - started
            scores = model.decision_function(test[0], test[2])
            edge = " (edge)" if lam in (grid[0], grid[-1]) else ""
            results.append((top1_accuracy(scores, test[1]), mean_average_precision(scores, test[1]), f"{lam:g}{edge}"))
        top1, mean_ap = (np.array(column) for column in list(zip(*results, strict=True))[:2])
        rows.append((row, top1, mean_ap, [r[2] for r in results], fit_seconds))
        print(f"{row}: done", file=sys.stderr)
    print(f"`{shlex.join(['python', *sys.argv])}`\n")
    print(f"spec {options.spec}, fold seed {options.fold_seed}, 5 rotations, refit on train + validation;", end=" ")
    print("mean ± population std over rotations\n")
    print("| learner | Top-1 | mAP | chosen λ per rotation | fit seconds (grid + refit, 5 rotations) |")
    print("|---|---:|---:|---|---:|")
    for row, top1, mean_ap, lams, seconds in rows:
        print(f"| {row} | {top1.mean():.3f} ± {top1.std():.3f} | {mean_ap.mean():.3f} ± {mean_ap.std():.3f} | "
              f"{', '.join(lams)} | {seconds:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
