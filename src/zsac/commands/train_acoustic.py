"""``zsac train-acoustic``: VGGish trained from scratch on a dataset's training classes."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._atomic import output_lock, write_json_atomic
from .._distributed import Rank, process_group, torchrun_rank
from .._settings import check_device_name, check_seed, parse_device, parse_seed
from ..acoustic.config import VGGishConfig
from ..acoustic.training import VGGishTrainingResult, train_vggish
from ..datasets.folder import dataset_clips
from ..errors import ConfigError, DataError
from ..features import FeatureCache, extract_examples
from ..shards import SegmentShards
from ._options import (
    add_cache_options,
    add_class_subset_options,
    add_pad_short_option,
    add_parameter,
    add_settings,
    report_failures,
    vggish_settings,
)

__all__ = ["run_train_acoustic", "add_arguments", "report"]


def run_train_acoustic(
    *,
    data: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str],
    shards: str | os.PathLike[str] | None = None,
    train_classes: Sequence[str] | None = None,
    exclude_classes: Sequence[str] | None = None,
    seed: int = 0,
    device: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    pad_short: bool = True,
    progress: bool = True,
    **vggish: Any,
) -> dict[str, Any]:
    """Train VGGish from scratch on a dataset's training classes; see ``zsac train-acoustic --help``.

    ``data`` is an ESC-50 root (``meta/esc50.csv``) or a folder with one subfolder per class;
    or ``shards`` is a folder of segment shards (``zsac features --shards-out``), which are
    read from disk a batch at a time instead of held in memory. ``vggish`` are
    :class:`~zsac.acoustic.VGGishConfig` fields. The model, checkpoints and a summary go to
    ``out``; an interrupted run resumes.

    Under torchrun (``torchrun --nproc-per-node N -m zsac train-acoustic ...``) each of the N
    processes extracts its share of the clips into the feature cache, then all train one model
    with DistributedDataParallel (gloo on CPU, NCCL on CUDA, one GPU per process); rank 0 alone
    writes ``out``, which only it needs to see.

    Returns
    -------
    dict
        Summary: classes, clip counts, skipped files, best epoch and validation accuracy.
    """
    config = VGGishConfig(**vggish)
    if (data is None) == (shards is None):
        raise ConfigError("give the training data as one of --data (a dataset) or --shards (segment shards)")
    if shards is not None and (train_classes or exclude_classes):
        raise ConfigError(
            "--train-classes and --exclude-classes choose clips for zsac features; shards hold the classes "
            "chosen when they were written"
        )
    check_seed(seed)
    check_device_name(device)
    rank = torchrun_rank()
    if rank.is_main and Path(out).exists() and not Path(out).is_dir():
        raise DataError(f"{out} is a file, not an output folder; refusing to write into it")
    # One zsac run at a time writes a folder, held until the summary is written; under torchrun
    # rank 0 is the one that writes.
    lock = output_lock(out) if rank.is_main else contextlib.nullcontext()
    with lock, process_group(rank, device_type=_device_type(device)):
        return _train_acoustic(
            data=data, shards=shards, out=out, config=config, train_classes=train_classes,
            exclude_classes=exclude_classes, seed=seed, device=device, cache_dir=cache_dir, use_cache=use_cache,
            pad_short=pad_short, progress=progress, rank=rank,
        )  # fmt: skip


def _device_type(device: str | None) -> str:
    """cuda or cpu: which backend the process group needs (NCCL or gloo) for ``--device``."""
    if device is None or device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device.split(":")[0]


def _train_acoustic(
    *,
    data: str | os.PathLike[str] | None,
    shards: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    config: VGGishConfig,
    train_classes: Sequence[str] | None,
    exclude_classes: Sequence[str] | None,
    seed: int,
    device: str | None,
    cache_dir: str | os.PathLike[str] | None,
    use_cache: bool,
    pad_short: bool,
    progress: bool,
    rank: Rank,
) -> dict[str, Any]:
    progress = progress and rank.is_main
    if shards is not None:
        result = train_vggish(
            SegmentShards(shards), None, config, seed=seed, device=device, checkpoint_dir=out, progress=progress
        )
        return _summary(result, out=out, rank=rank, n_clips=None, skipped={})
    clips, _ = dataset_clips(Path(data), classes=train_classes, exclude_classes=exclude_classes)
    paths = [clip.path for clip in clips]
    cache = FeatureCache(cache_dir) if use_cache else None
    if rank.distributed and cache is not None:
        # Each rank fills the cache with its share of the clips; then every rank reads them all back.
        extract_examples(paths[rank.rank :: rank.world_size], cache=cache, pad_short=pad_short, skip_errors=True,
                         progress=progress)  # fmt: skip
        import torch.distributed as dist

        dist.barrier()
    extracted = extract_examples(paths, cache=cache, pad_short=pad_short, skip_errors=True, progress=progress)
    label_of = {clip.path: clip.label for clip in clips}
    result = train_vggish(
        extracted.examples, [label_of[path] for path in extracted.paths], config, seed=seed, device=device,
        checkpoint_dir=out, progress=progress,
    )  # fmt: skip
    return _summary(result, out=out, rank=rank, n_clips=len(extracted.paths), skipped=extracted.failures)


def _summary(
    result: VGGishTrainingResult, *, out: str | os.PathLike[str], rank: Rank, n_clips: int | None,
    skipped: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    summary = {
        "classes": result.class_names,
        "n_clips": n_clips,
        "skipped": skipped,
        "best_epoch": result.best_epoch,
        "best_val_accuracy": result.best_val_accuracy,
        "epochs_run": len(result.history),
        "model_dir": str(Path(out) / "final"),
        "world_size": rank.world_size,
    }
    if rank.is_main:
        write_json_atomic(Path(out) / "summary.json", summary)
    return {**summary, "rank": rank.rank}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="ESC-50 root or folder with one subfolder per class")
    source.add_argument(
        "--shards", help="folder of segment shards (zsac features --shards-out), read from disk a batch at a time"
    )
    parser.add_argument("-o", "--out", required=True, help="output folder: checkpoints, final model, summary.json")
    add_class_subset_options(parser)
    add_settings(parser, vggish_settings())
    add_parameter(
        parser, run_train_acoustic, "seed", "seeds initialisation, split, shuffling and dropout", parse=parse_seed
    )
    add_parameter(
        parser, run_train_acoustic, "device", "cpu, cuda, cuda:1, ... (default: cuda when available)",
        parse=parse_device,
    )  # fmt: skip
    add_pad_short_option(parser, run_train_acoustic)
    add_cache_options(parser, "feature")


def report(summary: dict[str, Any], args: argparse.Namespace) -> int:
    if summary.get("rank", 0) != 0:  # under torchrun rank 0 reports for all
        return 0
    clips = "segment shards" if summary["n_clips"] is None else f"{summary['n_clips']} clips"
    sys.stdout.write(
        f"trained VGGish on {len(summary['classes'])} classes, {clips}: "
        f"best validation accuracy {summary['best_val_accuracy']:.3f} at epoch {summary['best_epoch']}; "
        f"model in {summary['model_dir']}\n"
    )
    return report_failures(summary["skipped"], "files were")
