"""Generalised zero-shot on the ESC-10 copy: 8 training classes and 2 new ones offered together, with and without γ.

The 10 classes are dealt into 5 seeded folds of 2 (``zsac.protocols.random_class_folds``). For each
fold, a classifier is trained on ESC-50 folds 1-3 of the other 8 classes (VGGish from scratch with the
README's CPU settings, then the bilinear model and its calibration γ, learnt by class-split
cross-validation over the 8). The test clips are ESC-50 fold 4 of the 8 training classes (never heard
in training) and every clip of the 2 held-out classes; each is classified among all 10 class names.
The table gives per-class seen (S) and unseen (U) accuracy and their harmonic mean H, with
``calibration="none"`` and with the learnt γ (``"auto"``), and the cross-validation's own H.

Usage:
    ZSAC_DATA_DIR=../shared/data python bench/calibration_esc10.py [--folds 0 1 2 3 4] [--seed 0]
        [--conv-channels 8 16 32 64 --fc-units 128 --max-epochs 30] [--semantic SLE+SSE] [--split-unit clip]
        [--recipe paper|zsac]
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from zsac import ZeroShotClassifier
from zsac.datasets import esc50_clips, esc50_dir
from zsac.evaluation import generalized_zero_shot_accuracy
from zsac.protocols import random_class_folds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="ESC-50 root (default: $ZSAC_DATA_DIR/ESC-50)")
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--seed", type=int, default=0, help="class folds and training seed")
    parser.add_argument("--semantic", default="SLE+SSE")
    parser.add_argument("--conv-channels", type=int, nargs=4, default=[8, 16, 32, 64])
    parser.add_argument("--fc-units", type=int, default=128)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument(
        "--split-unit",
        default="segment",
        help="VGGish's validation split (clip: γ is learnt on clips VGGish never trained on)",
    )
    parser.add_argument("--recipe", default="zsac", choices=["paper", "zsac"], help="VGGish's training recipe")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    root = Path(args.data) if args.data else esc50_dir()
    clips = esc50_clips(root, esc10=True)
    fold_of = {str(clip.path): int(clip.path.name.split("-")[0]) for clip in clips}
    classes = sorted({clip.label for clip in clips})
    folds = random_class_folds(classes, n_folds=len(classes) // 2, seed=args.seed)
    rows = []
    for index in args.folds:
        held_out = list(folds[f"Fold{index}"])
        train = [c for c in clips if c.label not in held_out and fold_of[str(c.path)] <= 3]
        test = [c for c in clips if c.label in held_out or fold_of[str(c.path)] == 4]
        started = time.perf_counter()
        model = ZeroShotClassifier(
            semantic=args.semantic, conv_channels=tuple(args.conv_channels), fc_units=args.fc_units,
            max_epochs=args.max_epochs, split_unit=args.split_unit, seed=args.seed, recipe=args.recipe, progress=False,
        ).fit([c.path for c in train], [c.label for c in train])  # fmt: skip
        trained = time.perf_counter() - started
        embeddings = model.transform([c.path for c in test])
        labels = np.searchsorted(classes, [c.label for c in test])
        seen = ~np.isin(classes, held_out)
        result = {}
        for calibration in ("none", "auto"):
            ranking = model.set_params(calibration=calibration).rank(embeddings, classes=classes)
            assert ranking.classes == classes
            result[calibration] = generalized_zero_shot_accuracy(ranking.calibrated_scores, labels, seen)
        cv = model.calibration_scores_
        rows.append((index, " / ".join(held_out), result["none"], result["auto"], model.calibration_,
                     cv.get("harmonic_mean", float("nan")), len(train), trained))  # fmt: skip

    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    print(f"`{command}`\n")
    print("| fold | new classes | S, U, H without γ | S, U, H with the learnt γ | γ | cross-validated H | "
          "training clips | train s |")  # fmt: skip
    print("|---:|---|---|---|---:|---:|---:|---:|")
    for index, names, none, auto, gamma, cv_h, n_train, seconds in rows:
        print(f"| {index} | {names} | {none.seen:.3f}, {none.unseen:.3f}, {none.harmonic_mean:.3f} "
              f"| {auto.seen:.3f}, {auto.unseen:.3f}, {auto.harmonic_mean:.3f} | {gamma:.3g} | {cv_h:.3f} "
              f"| {n_train} | {seconds:.0f} |")  # fmt: skip
    mean = {key: np.mean([[getattr(row[k], f) for f in ("seen", "unseen", "harmonic_mean")] for row in rows], axis=0)
            for key, k in (("none", 2), ("auto", 3))}  # fmt: skip
    print(
        f"| mean | | {', '.join(f'{v:.3f}' for v in mean['none'])} | {', '.join(f'{v:.3f}' for v in mean['auto'])} "
        "| | | | |"
    )


if __name__ == "__main__":
    main()
