"""Zero-shot check on the ESC-10 copy: ``zsac train`` on 8 classes, ``zsac classify`` the 2 held out by name.

The 10 classes are dealt into 5 seeded folds of 2 (``zsac.protocols.random_class_folds``). For
each fold, a classifier is trained on the clips of the other 8 classes (VGGish from scratch,
then the bilinear model), and every clip of the 2 held-out classes is classified among those
2 class names, given as plain text (``--classes dog rooster``). Chance is 0.5. The clips
are classified with the default arithmetic (int8 ONNX Runtime on the CPU) and again in fp32.

Usage:
    ZSAC_DATA_DIR=../shared/data python bench/esc10_zero_shot.py [--folds 0 1 2 3 4] [--seed 0]
        [--conv-channels 8 16 32 64 --fc-units 128 --max-epochs 30] [--semantic SLE+SSE] [--out DIR]
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import tempfile
import time
from pathlib import Path

from zsac.commands import run_classify, run_train
from zsac.datasets import esc50_clips, esc50_dir
from zsac.protocols import random_class_folds
from zsac.semantic import label_from_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="ESC-50 root (default: $ZSAC_DATA_DIR/ESC-50)")
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--seed", type=int, default=0, help="class folds and training seed")
    parser.add_argument("--semantic", default="SLE+SSE")
    parser.add_argument("--conv-channels", type=int, nargs=4, default=[8, 16, 32, 64])
    parser.add_argument("--fc-units", type=int, default=128)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--label-template", help="e.g. 'the sound of {label}'")
    parser.add_argument("--recipe", default="zsac", choices=["paper", "zsac"], help="VGGish's training recipe")
    parser.add_argument("--out", help="keep the models here (default: a temporary folder)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    root = Path(args.data) if args.data else esc50_dir()
    clips = esc50_clips(root, esc10=True)
    classes = sorted({clip.label for clip in clips})
    folds = random_class_folds(classes, n_folds=len(classes) // 2, seed=args.seed)
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="zsac-esc10-"))
    rows = []
    for index in args.folds:
        held_out = list(folds[f"Fold{index}"])
        started = time.perf_counter()
        summary = run_train(
            data=root,
            out=work / f"fold{index}",
            exclude_classes=held_out,
            progress=False,
            semantic=args.semantic,
            conv_channels=tuple(args.conv_channels),
            fc_units=args.fc_units,
            max_epochs=args.max_epochs,
            patience=args.patience,
            label_template=args.label_template,
            recipe=args.recipe,
            seed=args.seed,
        )
        trained = time.perf_counter() - started
        test = [clip for clip in clips if clip.label in held_out]
        names = [label_from_name(name) for name in held_out]
        run, _ = run_classify(
            model=work / f"fold{index}", files=[clip.path for clip in test], classes=names, top_k=1, progress=False
        )
        # The same clips with VGGish in fp32, the reference for the default int8 arithmetic.
        reference, _ = run_classify(
            model=work / f"fold{index}", files=[clip.path for clip in test], classes=names, top_k=1,
            inference="fp32", progress=False,
        )  # fmt: skip
        truth = {str(clip.path): label_from_name(clip.label) for clip in test}
        correct = sum(result.top[0][0] == truth[result.file] for result in run.results)
        correct_fp32 = sum(result.top[0][0] == truth[result.file] for result in reference.results)
        agree = sum(a.top[0][0] == b.top[0][0] for a, b in zip(run.results, reference.results, strict=True))
        int8 = summary["int8"] or {}
        rows.append(
            (index, " / ".join(names), correct / len(run.results), correct_fp32 / len(reference.results),
             agree / len(run.results), int8.get("min_cosine", float("nan")), summary["best_val_accuracy"],
             summary["lambda"], trained)
        )  # fmt: skip

    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    print(f"`{command}`  (models in {work})\n")
    print(
        "| fold | held-out classes | zero-shot Top-1 (chance 0.5) | Top-1 with fp32 VGGish | int8 = fp32 top class "
        "| int8 min. cosine | VGGish val. acc. (8 classes) | λ | train s |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for index, names, top1, top1_fp32, agree, cosine, val, lam, seconds in rows:
        print(f"| {index} | {names} | {top1:.3f} | {top1_fp32:.3f} | {agree:.3f} | {cosine:.4f} | {val:.3f} "
              f"| {lam:g} | {seconds:.0f} |")  # fmt: skip
    means = [sum(row[k] for row in rows) / len(rows) for k in (2, 3, 4)]
    print(f"| mean | | {means[0]:.3f} | {means[1]:.3f} | {means[2]:.3f} | | | | |")


if __name__ == "__main__":
    main()
