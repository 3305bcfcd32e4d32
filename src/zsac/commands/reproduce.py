"""``zsac reproduce esc50|audioset``: the paper's experiments in one command."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._atomic import output_lock
from .._settings import check_lambda_grid, parse_device, parse_float_list, parse_seed, settings_of
from ..acoustic.config import VGGishConfig
from ..compatibility.bilinear import Bilinear
from ..compatibility.learners import LEARNERS
from ..errors import ConfigError
from ..protocols import SEEN_HOLDOUT_FRACTION
from ..reproduce.audioset import (
    AUDIOSET_ACOUSTICS,
    AUDIOSET_OFFLINE_SPECS,
    AUDIOSET_SETTINGS,
    AUDIOSET_VGGISH,
    audioset_estimator,
    run_reproduce_audioset,
)
from ..reproduce.common import DEFAULT_LEARNERS, PAPER_GRID_NAME, ReproductionResult
from ..reproduce.esc50 import ESC50_PARTITIONS, run_reproduce_esc50
from ..reproduce.records import summary_frame
from ..semantic.config import SemanticConfig
from ._options import add_parameter, add_setting, add_settings, parse_word, semantic_settings, vggish_settings

__all__ = ["run_reproduce", "REPRODUCE_DATASETS", "add_arguments", "report"]

REPRODUCE_DATASETS = ("esc50", "audioset")
_BILINEAR = Bilinear()
_SEMANTIC_FIELDS = tuple(field.name for field in dataclasses.fields(SemanticConfig))
_VGGISH_FIELDS = tuple(field.name for field in dataclasses.fields(VGGishConfig))


def _take(options: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {name: options.pop(name) for name in names if name in options}


def parse_learners(text: str) -> list[str]:
    """``"eszsl,sae"`` → ``["eszsl", "sae"]``; ``"all"`` stays ``["all"]``; ConfigError naming an unknown one."""
    names = [word.strip() for word in text.split(",") if word.strip()]
    known = [*LEARNERS, "all"]
    unknown = [name for name in names if name not in known]
    if not names or unknown:
        raise ConfigError(f"unknown learner {unknown[0] if unknown else text!r}; choose from {', '.join(known)}")
    return names


def parse_grid(text: str) -> list[float] | str | None:
    """``--lambda-grid``: ``auto`` (each learner's own grid), ``paper``, or comma-separated numbers."""
    word = text.strip().lower()
    if word == "auto":
        return None
    if word == PAPER_GRID_NAME:
        return PAPER_GRID_NAME
    try:
        values = parse_float_list(text)
    except ConfigError:
        raise ConfigError(f"expected auto, {PAPER_GRID_NAME} or comma-separated numbers, got {text!r}") from None
    check_lambda_grid(values)
    return values


def _parse_in_range(text: str, kind: type, low: float, high: float, what: str) -> Any:
    """``text`` as a ``kind`` within [low, high), or a ConfigError naming the text and ``what`` was expected."""
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"expected {what}, got {text!r}") from None
    if not low <= value < high:
        raise ConfigError(f"expected {what}, got {text!r}")
    return value


def parse_jobs(text: str) -> int:
    return _parse_in_range(text, int, 1, 257, "a positive number of threads (at most 256)")


def parse_fraction(text: str) -> float:
    return _parse_in_range(text, float, 0, 1, "a number in [0, 1)")


def run_reproduce(
    *,
    dataset: str,
    semantic: str | None = None,
    solver: str = _BILINEAR.solver,
    max_iter: int | None = _BILINEAR.max_iter,
    lambda_grid: Sequence[float] | str | None = None,
    bilinear_device: str = _BILINEAR.device,
    learners: Sequence[str] = DEFAULT_LEARNERS,
    progress: bool = True,
    **options: Any,
) -> ReproductionResult:
    """Run ``zsac reproduce esc50|audioset``; see ``zsac reproduce DATASET --help``.

    Parameters
    ----------
    dataset : {"esc50", "audioset"}
    semantic : str or None
        Comma-separated specs, e.g. ``"WLE,SLE+SSE"``; ``None`` is the dataset's default.
    solver, max_iter, bilinear_device
        The bilinear model's solver, iterations and device.
    lambda_grid : sequence of float, "paper" or None
        See :func:`~zsac.reproduce.common.resolve_learners`.
    learners : sequence of str
        Compatibility learners (``["all"]`` for every one).
    **options
        :class:`~zsac.semantic.SemanticConfig` text-model fields,
        :class:`~zsac.acoustic.VGGishConfig` fields (over the dataset's recipe), and the
        keywords of :func:`~zsac.reproduce.run_reproduce_esc50` or
        :func:`~zsac.reproduce.run_reproduce_audioset` (``out``, ``data``, ``seeds``, ...).
    """
    if dataset not in REPRODUCE_DATASETS:
        raise ConfigError(f"dataset must be one of {list(REPRODUCE_DATASETS)}, got {dataset!r}")
    if options.get("out") is not None:
        with output_lock(options["out"]):  # one zsac run at a time writes a results folder
            return _run_reproduce(dataset=dataset, semantic=semantic, solver=solver, max_iter=max_iter,
                                  lambda_grid=lambda_grid, bilinear_device=bilinear_device, learners=learners,
                                  progress=progress, **options)  # fmt: skip
    return _run_reproduce(dataset=dataset, semantic=semantic, solver=solver, max_iter=max_iter,
                          lambda_grid=lambda_grid, bilinear_device=bilinear_device, learners=learners,
                          progress=progress, **options)  # fmt: skip


def _run_reproduce(
    *,
    dataset: str,
    semantic: str | None,
    solver: str,
    max_iter: int | None,
    lambda_grid: Sequence[float] | str | None,
    bilinear_device: str,
    learners: Sequence[str],
    progress: bool,
    **options: Any,
) -> ReproductionResult:
    text_models = SemanticConfig(**_take(options, _SEMANTIC_FIELDS))
    specs = SemanticConfig(semantic=semantic).specs() if semantic else None
    vggish = _take(options, _VGGISH_FIELDS)
    common = {
        "specs": specs, "semantic": text_models, "grid": lambda_grid, "learners": learners, "progress": progress,
        **options,
    }  # fmt: skip
    if dataset == "audioset":
        estimator = audioset_estimator(
            solver=solver, max_iter=max_iter, device=bilinear_device, lambda_scale="relative"
        )
        return run_reproduce_audioset(
            **common, estimator=estimator, vggish=dataclasses.replace(AUDIOSET_VGGISH, **vggish)
        )
    estimator = Bilinear(solver=solver, max_iter=max_iter, device=bilinear_device, lambda_scale="relative")
    return run_reproduce_esc50(**common, estimator=estimator, vggish=VGGishConfig(**vggish))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    datasets = parser.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    esc = datasets.add_parser(
        "esc50",
        help="Tables VI-VIII: ESC-50, VGGish from scratch per class fold",
        description="ESC-50 with the category (Table I) or random (Table II) partition. A copy that lacks "
        "classes (e.g. ESC-10) runs on the classes present with a seeded random partition, and says so.",
    )
    esc.add_argument("-o", "--out", default="results/esc50", help="results folder (default: results/esc50)")
    add_parameter(
        esc, run_reproduce_esc50, "partition", "Table I (category) or Table II (random)", choices=ESC50_PARTITIONS
    )
    add_parameter(
        esc, run_reproduce_esc50, "seeds", "VGGish (and partial-copy partition) seeds", parse=parse_seed, nargs="+"
    )
    esc.add_argument("--ontology", help="AudioSet ontology.json for class descriptions (SSE, WSE, BSE)")
    _add_reproduce_options(esc, vggish=VGGishConfig(), specs="WLE,GLE,WLE+GLE (SLE on a partial copy)")
    sets = datasets.add_parser(
        "audioset",
        help="Tables IX-XI: AudioSet single-label clips, 5 class folds from 9 frequency bins",
        description="AudioSet with the released embeddings (--acoustic released) or VGGish trained from "
        "scratch on your AudioSet audio (--acoustic vggish --audio-dir DIR). Every rotation of the 5 class "
        "folds runs for each --fold-seed.",
    )
    sets.add_argument("-o", "--out", default="results/audioset", help="results folder (default: results/audioset)")
    add_parameter(sets, run_reproduce_audioset, "acoustic", "acoustic embeddings", choices=AUDIOSET_ACOUSTICS)
    add_parameter(
        sets, run_reproduce_audioset, "fold_seeds", "class-fold seeds", parse=parse_seed, nargs="+", flag="--fold-seed"
    )
    add_parameter(
        sets, run_reproduce_audioset, "setting", "train3: bilinear trained on 3 folds; setting1/2: Table IV",
        choices=AUDIOSET_SETTINGS,
    )  # fmt: skip
    sets.add_argument("--audio-dir", help="AudioSet audio files named by YouTube id (for --acoustic vggish)")
    _add_reproduce_options(sets, vggish=AUDIOSET_VGGISH, specs=",".join(AUDIOSET_OFFLINE_SPECS))


def _add_reproduce_options(parser: argparse.ArgumentParser, *, vggish: Any, specs: str) -> None:
    parser.add_argument("--data", help="data root or dataset folder (default: $ZSAC_DATA_DIR, else the user cache)")
    semantic = semantic_settings()
    add_setting(parser, dataclasses.replace(
        semantic["semantic"], default=None, help=f"comma-separated specs (default: {specs})"
    ))  # fmt: skip
    add_settings(parser, semantic, [name for name in semantic if name != "semantic"])
    bilinear = settings_of(Bilinear)
    add_settings(parser, bilinear, ["solver"])
    add_setting(parser, dataclasses.replace(
        bilinear["max_iter"], help="bilinear solver iterations (default: 30 for L-BFGS on AudioSet, else the solver's)"
    ))  # fmt: skip
    parser.add_argument(
        "--learner", dest="learners", type=parse_word(parse_learners), default=list(DEFAULT_LEARNERS),
        metavar="NAMES", help=f"comma-separated compatibility learners, or all ({', '.join(LEARNERS)}; "
        f"default: {','.join(DEFAULT_LEARNERS)})",
    )  # fmt: skip
    parser.add_argument(
        "--lambda-grid", type=parse_word(parse_grid), default=None, metavar="GRID",
        help="auto: each learner's own log-spaced grid of relative λ (default); paper: {0, 0.01, 1, 10} as the "
        "paper's absolute λ for the bilinear model; or comma-separated values",
    )  # fmt: skip
    parser.add_argument(
        "--jobs", type=parse_word(parse_jobs), default=None, metavar="N",
        help="threads that evaluate the runs of a fold (default: one per core, at most 4)",
    )  # fmt: skip
    parser.add_argument(
        "--no-refit", dest="refit", action="store_false", default=True,
        help="keep the model trained on the training classes instead of refitting the chosen λ on training + "
        "validation classes (the paper's Table IV)",
    )  # fmt: skip
    parser.add_argument(
        "--seen-holdout", dest="holdout", type=parse_word(parse_fraction), default=SEEN_HOLDOUT_FRACTION,
        metavar="FRACTION", help="share of each seen class's clips held out of every fit for the generalised "
        f"zero-shot test; 0 turns it off (default: {SEEN_HOLDOUT_FRACTION})",
    )  # fmt: skip
    add_setting(parser, dataclasses.replace(bilinear["device"], name="bilinear_device"))
    add_settings(parser, vggish_settings(), defaults=dataclasses.asdict(vggish))
    parser.add_argument(
        "--device", type=parse_word(parse_device), help="for VGGish and text models (default: cuda when available)"
    )


def report(result: Any, args: argparse.Namespace) -> int:
    summary = summary_frame(result.records)
    lines = [f"{result.ran} folds computed, {result.skipped} already finished; results in {result.out}"]
    lines += [f"note: {note}" for note in result.notes]
    for row in summary.to_dict("records"):
        learner = row.get("learner")
        gzsl = row.get("gzsl.h_mean")
        lines.append(
            f"{row['setting']:>9} {learner if isinstance(learner, str) else '':<10} {row['spec']:<14} "
            f"Top-1 {row['top1_mean']:.3f} ± {row['top1_std']:.3f}   mAP {row['map_mean']:.3f} ± {row['map_std']:.3f}"
            + ("" if gzsl is None or gzsl != gzsl else f"   H {gzsl:.3f}")
            + f"   ({row['n_runs']} runs)"
        )
    lines.append(f"tables: {Path(result.out) / 'tables.md'}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
