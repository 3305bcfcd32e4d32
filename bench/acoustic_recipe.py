"""Ablation of the acoustic training recipe on the ESC-10 copy: each lever's effect on VGGish and on zero-shot.

For every variant, clip budget, seed and class fold: the 10 ESC-10 classes are dealt into 5
seeded folds of 2 (``zsac.protocols.random_class_folds``); the network trains from scratch
on the clips of the other 8 classes (``--clips-per-class`` of each, a seeded draw) with
``zsac.acoustic.train_vggish``; its best 8-class validation accuracy is recorded (the
recipe's own 80/20 split of segments); then, as ``zsac train`` does, λ of the bilinear
model is chosen by class-split cross-validation over the 8 classes and the model is fitted
on their clip embeddings, and every clip of the 2 held-out classes is classified among those
2 class names (chance 0.5). SLE+SSE class embeddings (the bundled MiniLM) of the class names
and of their AudioSet ontology descriptions (``--ontology``, as ``zsac train --ontology`` takes
them for an ESC-50 root; ``--ontology ''`` for names alone).

Variants: the paper's recipe, zsac's, zsac's with the MobileNet backbone, and the ablation's:
zsac's recipe in batches of 64 (as it was before its batch-size rule) without each lever, or with
one more (``zsac64-...``, ``zsac64+...``).

Usage:
    ZSAC_DATA_DIR=../shared/data python bench/acoustic_recipe.py [--variants paper zsac ...]
        [--clips-per-class 16 32] [--seeds 0 1 2] [--folds 0 1 2 3 4] [--csv runs.csv]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import logging
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from zsac.acoustic import train_vggish
from zsac.acoustic.config import VGGishConfig
from zsac.acoustic.embedding import embed_clips
from zsac.compatibility import Bilinear
from zsac.compatibility.selection import PAPER_LAMBDA_GRID, select_lambda_by_class_folds
from zsac.datasets import esc50_clips, esc50_dir
from zsac.features import FeatureCache
from zsac.inputs import examples_of
from zsac.protocols import random_class_folds
from zsac.semantic import SemanticConfig, esc50_class_info, label_from_name
from zsac.semantic.side_info import ClassInfo
from zsac.semantic.specs import SemanticEmbedder, classes_from_texts

# The README's CPU widths.
CPU_WIDTHS = {"conv_channels": (8, 16, 32, 64), "fc_units": 128, "max_epochs": 30}

#: Each variant: a recipe and the settings that change it. The ablation's rows take one lever
#: out of (or add one to) the recipe as it was before its batch-size rule: batches of 64.
_BASE = {"recipe": "zsac", "batch_size": 64}
VARIANTS: dict[str, dict] = {
    "paper": {"recipe": "paper"},
    "zsac": {"recipe": "zsac"},
    "zsac-mobilenet": {"recipe": "zsac", "backbone": "mobilenet"},
    "zsac64": _BASE,
    "zsac64-bn": {**_BASE, "batch_norm": False},
    "zsac64-specaugment": {**_BASE, "time_mask": 0, "freq_mask": 0},
    "zsac64-gain-shift": {**_BASE, "gain_db": 0.0, "time_shift": 0},
    "zsac64-label_smoothing": {**_BASE, "label_smoothing": 0.0},
    "zsac64-min_epochs": {**_BASE, "min_epochs": 0},
    "zsac64-adamw-cosine": {
        **_BASE,
        "optimizer": "adam",
        "weight_decay": 0.0,
        "warmup_epochs": 0,
        "lr_schedule": "constant",
    },  # fmt: skip
    "zsac64+mixup": {**_BASE, "mixup": 0.2},
    "zsac64+batch32": {**_BASE, "batch_size": 32},
    "zsac64+60epochs": {**_BASE, "max_epochs": 60},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="ESC-50 root (default: $ZSAC_DATA_DIR/ESC-50)")
    parser.add_argument("--variants", nargs="+", default=["paper", "zsac"], choices=list(VARIANTS))
    parser.add_argument("--clips-per-class", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--max-epochs", type=int, default=CPU_WIDTHS["max_epochs"])
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--csv", help="append one row per run to this CSV")
    parser.add_argument(
        "--ontology",
        default=_default_ontology(),
        help="AudioSet ontology.json: class descriptions ('' for names)",
    )
    parser.add_argument("--save-embeddings", help="keep each run's clip embeddings here (npz), for the semantic side")
    parser.add_argument("--table-from", nargs="+", metavar="CSV", help="only print the table of these runs' CSVs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.table_from:
        rows = [row for path in args.table_from for row in csv.DictReader(open(path, newline=""))]
        _print_table(rows, by_seed=True)
        return
    torch.set_num_threads(args.threads)

    root = Path(args.data) if args.data else esc50_dir()
    clips = esc50_clips(root, esc10=True)
    found = examples_of([clip.path for clip in clips], "paths", pad_short=True, cache=FeatureCache.of_setting(True))
    examples = [found.examples[i] for i in range(len(clips))]
    labels = np.array([clip.label for clip in clips])
    classes = sorted(set(labels.tolist()))
    embedder = SemanticEmbedder.from_config(SemanticConfig(semantic="SLE+SSE"), progress=False)
    if args.ontology:  # as zsac train --ontology describes an ESC-50 root's classes
        infos = [ClassInfo(name=label_from_name(i.name), description=i.description)
                 for i in esc50_class_info(classes, ontology=args.ontology)]  # fmt: skip
    else:
        infos = [ClassInfo(name=label_from_name(c)) for c in classes]
    texts = classes_from_texts(infos, spec="SLE+SSE")
    class_embeddings = embedder.embed("SLE+SSE", texts).embeddings

    rows = []
    for variant in args.variants:
        config = VGGishConfig(**{**CPU_WIDTHS, "max_epochs": args.max_epochs, **VARIANTS[variant]})
        for n_clips in args.clips_per_class:
            for seed in args.seeds:
                chosen = _clip_budget(labels, n_clips, seed=seed)
                folds = random_class_folds(classes, n_folds=len(classes) // 2, seed=seed)
                for fold in args.folds:
                    row = _run(config, examples, labels, chosen, classes, class_embeddings,
                               held_out=list(folds[f"Fold{fold}"]), seed=seed)  # fmt: skip
                    row |= {"variant": variant, "clips_per_class": n_clips, "seed": seed, "fold": fold}
                    if args.save_embeddings:
                        folder = Path(args.save_embeddings)
                        folder.mkdir(parents=True, exist_ok=True)
                        np.savez(folder / f"{variant}_n{n_clips}_s{seed}_f{fold}.npz", embeddings=row.pop("embeddings"),
                                 labels=labels, train=chosen & ~np.isin(labels, folds[f"Fold{fold}"]))  # fmt: skip
                    row.pop("embeddings", None)
                    rows.append(row)
                    print(
                        f"{variant:>22} n={n_clips} seed={seed} fold={fold}: val {row['val_accuracy']:.3f} "
                        f"zs {row['zero_shot_top1']:.3f} epochs {row['epochs']} {row['seconds']:.1f} s",
                        file=sys.stderr, flush=True,
                    )  # fmt: skip
                    if args.csv:
                        _append_csv(args.csv, row)
    _print_table(rows, by_seed=False)


def _print_table(rows: list[dict], *, by_seed: bool) -> None:
    """Mean ± std (population) over the runs of each variant and clip budget; with ``by_seed``, also seed 0 apart."""
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    print(f"`{command}`\n")
    seeds = " | val. seed 0 / other seeds | zero-shot seed 0 / other seeds" if by_seed else ""
    print(
        f"| variant | clips/class | runs | val. acc. (8 classes) | 2-way zero-shot Top-1{seeds} | epochs | s / model |"
    )
    print("|---|---:|---:|---:|---:|" + ("---:|---:|" if by_seed else "") + "---:|---:|")
    keys = list(dict.fromkeys((str(r["variant"]), int(r["clips_per_class"])) for r in rows))
    for variant, n_clips in keys:
        chosen = [r for r in rows if str(r["variant"]) == variant and int(r["clips_per_class"]) == n_clips]

        def stat(name: str, subset: list[dict] = chosen) -> np.ndarray:
            return np.array([float(r[name]) for r in subset])

        val, zs = stat("val_accuracy"), stat("zero_shot_top1")
        cells = [variant, str(n_clips), str(len(chosen)), f"{val.mean():.3f} ± {val.std():.3f}",
                 f"{zs.mean():.3f} ± {zs.std():.3f}"]  # fmt: skip
        if by_seed:
            tuned = [r for r in chosen if int(r["seed"]) == 0]
            other = [r for r in chosen if int(r["seed"]) != 0]
            for name in ("val_accuracy", "zero_shot_top1"):
                halves = [f"{stat(name, part).mean():.3f} ({len(part)})" if part else "–" for part in (tuned, other)]
                cells.append(" / ".join(halves))
        cells += [f"{stat('epochs').mean():.1f}", f"{stat('seconds').mean():.1f}"]
        print("| " + " | ".join(cells) + " |")


def _default_ontology() -> str:
    path = Path(os.environ.get("ZSAC_DATA_DIR", "")) / "audioset" / "ontology.json"
    return str(path) if os.environ.get("ZSAC_DATA_DIR") and path.is_file() else ""


def _clip_budget(labels: np.ndarray, n_clips: int, *, seed: int) -> np.ndarray:
    """A seeded draw of ``n_clips`` clips of every class (all of them when a class has fewer)."""
    rng = np.random.default_rng([seed, n_clips])
    keep = np.zeros(labels.size, dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        keep[rng.permutation(members)[:n_clips]] = True
    return keep


def _run(config, examples, labels, chosen, classes, class_embeddings, *, held_out, seed) -> dict:
    train = chosen & ~np.isin(labels, held_out)
    test = np.isin(labels, held_out)  # every clip of the held-out classes
    started = time.perf_counter()
    result = train_vggish([examples[i] for i in np.flatnonzero(train)], labels[train].tolist(), config,
                          seed=seed, device="cpu", progress=False)  # fmt: skip
    seconds = time.perf_counter() - started
    embeddings = embed_clips(result.model, examples, device="cpu")
    train_classes = [c for c in classes if c not in held_out]
    train_index = np.searchsorted(train_classes, labels[train])
    train_rows = [classes.index(c) for c in train_classes]
    selection = select_lambda_by_class_folds(
        embeddings[train], train_index, class_embeddings[train_rows], estimator=Bilinear(seed=seed),
        grid=PAPER_LAMBDA_GRID, seed=seed,
    )  # fmt: skip
    model = Bilinear(lam=selection.lam, seed=seed).fit(embeddings[train], train_index, class_embeddings[train_rows])
    test_rows = [classes.index(c) for c in held_out]
    scores = model.decision_function(embeddings[test], class_embeddings[test_rows])
    truth = np.array([held_out.index(label) for label in labels[test]])
    return {
        "val_accuracy": result.best_val_accuracy,
        "zero_shot_top1": float(np.mean(scores.argmax(1) == truth)),
        "epochs": len(result.history),
        "best_epoch": result.best_epoch,
        "seconds": seconds,
        "lambda": selection.lam,
        "config": {k: v for k, v in dataclasses.asdict(config).items()},
        "embeddings": embeddings,
    }


def _append_csv(path: str, row: dict) -> None:
    fields = ["variant", "clips_per_class", "seed", "fold", "val_accuracy", "zero_shot_top1", "epochs",
              "best_epoch", "seconds", "lambda"]  # fmt: skip
    new = not os.path.exists(path)
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)


if __name__ == "__main__":
    main()
