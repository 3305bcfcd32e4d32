"""What each lever does on the AudioSet main job: Top-1 / mAP of one spec over the 5 rotations.

The protocol is ``zsac reproduce audioset --acoustic released`` (fold seed 0, the bilinear model
trained on three folds, λ chosen on the fourth, tested on the fifth); each row changes one thing:
the solver, its iterations, the λ grid, the margin, or a transform of the acoustic embeddings
fitted on the training clips. Rows run in sequence on the same data.

Usage: ZSAC_DATA_DIR=../shared/data python bench/audioset_levers.py [--spec WLE+SLE+SSE] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time

import numpy as np

from zsac.compatibility import PAPER_LAMBDA_GRID, Bilinear
from zsac.datasets import audioset_dir, read_audioset_embeddings
from zsac.protocols import audioset_class_folds, audioset_rotation_splits, single_label_clips
from zsac.reproduce import evaluate_split
from zsac.semantic import SemanticEmbedder, audioset_class_info

FINE_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)


def standardise(train, clips):
    return (clips - train.mean(0)) / train.std(0)


def centre_l2(train, clips):
    centred = clips - train.mean(0)
    return centred / np.linalg.norm(centred, axis=1, keepdims=True)


def with_bias(train, clips):
    return np.hstack([clips, np.ones((len(clips), 1), clips.dtype)])


# name -> (Bilinear settings, λ grid, acoustic transform)
LEVERS = {
    "default (L-BFGS, paper grid)": ({}, PAPER_LAMBDA_GRID, None),
    "L-BFGS max_iter=20": ({"max_iter": 20}, PAPER_LAMBDA_GRID, None),
    "L-BFGS max_iter=40": ({"max_iter": 40}, PAPER_LAMBDA_GRID, None),
    "grid 0.01,0.03,0.1,0.3,1": ({}, FINE_GRID, None),
    "margin Δ=0.1": ({"delta": 0.1}, PAPER_LAMBDA_GRID, None),
    "SGD 10 epochs": ({"solver": "sgd", "max_iter": 10}, PAPER_LAMBDA_GRID, None),
    "SGD 20 epochs (default)": ({"solver": "sgd"}, PAPER_LAMBDA_GRID, None),
    "SGD 40 epochs": ({"solver": "sgd", "max_iter": 40}, PAPER_LAMBDA_GRID, None),
    "Adam": ({"solver": "adam"}, PAPER_LAMBDA_GRID, None),
    "standardised acoustic": ({}, PAPER_LAMBDA_GRID, standardise),
    "centred + L2 acoustic": ({}, PAPER_LAMBDA_GRID, centre_l2),
    "bias-augmented acoustic": ({}, PAPER_LAMBDA_GRID, with_bias),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="WLE+SLE+SSE")
    parser.add_argument("--only", nargs="+", choices=list(LEVERS), help="run only these rows")
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    root = audioset_dir()
    release = read_audioset_embeddings(root, progress=False)
    chosen = single_label_clips(release.labels)
    clips = release.subset(chosen)
    acoustic = clips.clip_means()
    clip_classes = np.array([labels[0] for labels in clips.labels])
    classes, counts = np.unique(clip_classes, return_counts=True)
    folds = audioset_class_folds(dict(zip(classes.tolist(), counts.tolist(), strict=True)), seed=0)
    splits = audioset_rotation_splits(folds, acoustic="none", zsl_training="rest")
    info = audioset_class_info(root / "class_labels_indices.csv", ontology=root / "ontology.json")
    table = SemanticEmbedder(tables={"WLE": root / "word2vec_label_embeddings.npz"}).embed(options.spec, info)
    embeddings = dict(enumerate(table.embeddings))

    rows = []
    for name in options.only or LEVERS:
        settings, grid, transform = LEVERS[name]
        started = time.perf_counter()
        results = []
        for split in splits:
            features = acoustic
            if transform is not None:
                train = acoustic[np.isin(clip_classes, split.train)]
                features = transform(train, acoustic).astype(np.float32)
            outcome = evaluate_split(split, features, clip_classes.tolist(), embeddings,
                                     estimator=Bilinear(**settings), grid=grid)  # fmt: skip
            results.append((outcome.top1, outcome.map, outcome.lam))
        top1, mean_ap, lams = (np.array(column) for column in zip(*results, strict=True))
        rows.append((name, top1, mean_ap, lams, time.perf_counter() - started))
        print(f"{name}: done", file=sys.stderr)
    print(f"`{shlex.join(['python', *sys.argv])}`\n")
    print(f"spec {options.spec}, fold seed 0, 5 rotations; mean ± population std over rotations\n")
    print("| lever | Top-1 | mAP | chosen λ per rotation | seconds |")
    print("|---|---:|---:|---|---:|")
    for name, top1, mean_ap, lams, seconds in rows:
        print(f"| {name} | {top1.mean():.3f} ± {top1.std():.3f} | {mean_ap.mean():.3f} ± {mean_ap.std():.3f} | "
              f"{', '.join(f'{x:g}' for x in lams)} | {seconds:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
