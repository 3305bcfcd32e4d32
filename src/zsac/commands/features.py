"""``zsac features``: fill the feature cache with a dataset's log-mel examples, one part of N per process.

The clips are listed as ``zsac train-acoustic`` lists them and dealt round-robin: part ``i``
of ``N`` is ``clips[i::N]``. N processes (``--shard i/N``, or one per rank under torchrun)
fill one content-addressed cache in parallel, since its entries are written atomically, and
need no communication. With ``--shards-out`` each also writes its part of a segment-shards
folder (:mod:`zsac.shards`), which training reads with bounded memory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .._distributed import parse_shard, torchrun_rank
from ..datasets.folder import dataset_clips
from ..datasets.types import Clip
from ..errors import ConfigError
from ..features import FeatureCache, extract_examples
from ..shards import SHARD_DTYPES, SegmentPartWriter
from ._options import (
    add_cache_options,
    add_class_subset_options,
    add_pad_short_option,
    add_parameter,
    report_failures,
)

__all__ = ["run_features", "add_arguments", "report", "choose_part"]

logger = logging.getLogger(__name__)

# Clips extracted at a time: memory holds one chunk's examples, never the whole part's.
_CHUNK_CLIPS = 16


class _CountingCache(FeatureCache):
    """The feature cache, counting the clips it served (the report says computed vs. cached)."""

    hits = 0

    def load(self, key: str) -> np.ndarray | None:
        found = super().load(key)
        if found is not None:
            self.hits += 1
        return found


def choose_part(shard: str | tuple[int, int] | None, *, environ: dict[str, str] | None = None) -> tuple[int, int]:
    """The part ``(i, N)`` this process extracts: ``--shard``'s, else its torchrun rank's, else ``(0, 1)``.

    Raises
    ------
    ConfigError
        ``shard`` is not ``i/N``, or it is given under torchrun with more than one rank (which
        part would each rank take?).
    """
    rank = torchrun_rank(environ)
    if shard is None:
        return rank.rank, rank.world_size
    if rank.distributed:
        raise ConfigError(
            f"--shard {shard if isinstance(shard, str) else '/'.join(map(str, shard))} under torchrun with "
            f"WORLD_SIZE={rank.world_size} is ambiguous: leave --shard out (each rank takes part RANK of "
            "WORLD_SIZE), or run one process per --shard without torchrun"
        )
    return parse_shard(shard if isinstance(shard, str) else "/".join(map(str, shard)))


def _clip_list_digest(clips: Sequence[Clip], data: Path) -> str:
    # By paths relative to the dataset, so that parts run on machines that mount it elsewhere agree.
    def relative(path: Path) -> str:
        try:
            return path.relative_to(data).as_posix()
        except ValueError:
            return path.as_posix()

    listing = json.dumps([[relative(Path(clip.path)), clip.label] for clip in clips])
    return hashlib.sha256(listing.encode()).hexdigest()


def run_features(
    *,
    data: str | os.PathLike[str],
    train_classes: Sequence[str] | None = None,
    exclude_classes: Sequence[str] | None = None,
    shard: str | tuple[int, int] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    pad_short: bool = True,
    shards_out: str | os.PathLike[str] | None = None,
    shard_dtype: str = "float16",
    progress: bool = True,
) -> dict[str, Any]:
    """Compute the log-mel examples of one part of a dataset's clips; see ``zsac features --help``.

    Parameters
    ----------
    data : path
        An ESC-50 root or a folder with one subfolder per class, as for ``zsac train-acoustic``.
    train_classes, exclude_classes : sequence of str or None
        The class subset, as for ``zsac train-acoustic`` (the same options give the same clips).
    shard : "i/N", (i, N) or None
        Take part ``i`` of ``N``, ``clips[i::N]``; None takes the torchrun rank's part (RANK of
        WORLD_SIZE), or everything outside torchrun.
    cache_dir, use_cache : see ``zsac train-acoustic``
    pad_short : bool
        As for ``zsac train-acoustic`` (the default is the same, so its cache entries are the ones
        that training reads).
    shards_out : path or None
        Also write this part of a segment-shards folder there (:class:`zsac.shards.SegmentShards`).
    shard_dtype : {"float16", "float32"}
        How the shards store the examples.

    Returns
    -------
    dict
        Summary: part, parts, clips and segments done, how many were computed or read from the
        cache, the files skipped, and the shards part written.

    Raises
    ------
    ConfigError
        A bad ``shard`` or ``shard_dtype``, ``--shard`` under a multi-rank torchrun, or neither a
        cache nor a shards folder to write.
    DataError
        The dataset cannot be listed, or another run is writing the same shards part.
    """
    part, parts = choose_part(shard)
    if shard_dtype not in SHARD_DTYPES:
        raise ConfigError(f"--shard-dtype must be one of {', '.join(SHARD_DTYPES)}, got {shard_dtype!r}")
    if not use_cache and shards_out is None:
        raise ConfigError("zsac features with --no-cache and no --shards-out would keep nothing; give one")
    clips, _ = dataset_clips(Path(data), classes=train_classes, exclude_classes=exclude_classes)
    mine = list(range(part, len(clips), parts))
    logger.info("part %d of %d: %d of %d clips", part, parts, len(mine), len(clips))
    cache = _CountingCache(cache_dir) if use_cache else None
    writer = (
        SegmentPartWriter(
            shards_out,
            part=part,
            parts=parts,
            class_names=sorted({clip.label for clip in clips}),
            total_clips=len(clips),
            dtype=shard_dtype,
            pad_short=pad_short,
            clip_list_digest=_clip_list_digest(clips, Path(data)),
        )  # fmt: skip
        if shards_out is not None
        else None
    )
    failures: dict[str, str] = {}
    n_clips = n_segments = 0
    # The writer takes its lock before any work, so a second run of the same part stops at once.
    with writer if writer is not None else nullcontext():
        for index, examples in _examples_of(clips, mine, cache, pad_short, failures, progress):
            n_clips += 1
            n_segments += examples.shape[0]
            if writer is not None:
                writer.add_clip(clip_index=index, label=clips[index].label, path=clips[index].path, examples=examples)
        part_file = str(writer.finish(failures=failures)) if writer is not None else None
    cached = cache.hits if cache is not None else 0
    return {
        "part": part, "parts": parts, "n_clips": n_clips, "n_segments": n_segments, "computed": n_clips - cached,
        "cached": cached, "skipped": failures, "cache_dir": str(cache.directory) if cache is not None else None,
        "cache_broken": cache.broken if cache is not None else None, "shards_part": part_file,
    }  # fmt: skip


def _examples_of(
    clips: Sequence[Clip],
    mine: Sequence[int],
    cache: FeatureCache | None,
    pad_short: bool,
    failures: dict[str, str],
    progress: bool,
) -> Iterator[tuple[int, np.ndarray]]:
    """``(clip index, examples)`` of each readable clip of ``mine``, in order; bad files go to ``failures``."""
    with tqdm(total=len(mine), desc="log-mel", unit="clip", disable=not progress) as bar:
        for start in range(0, len(mine), _CHUNK_CLIPS):
            chunk = mine[start : start + _CHUNK_CLIPS]
            extracted = extract_examples(
                [clips[i].path for i in chunk], cache=cache, pad_short=pad_short, skip_errors=True, progress=False
            )
            failures.update(extracted.failures)
            index_of = {Path(clips[i].path): i for i in chunk}
            for path, examples in zip(extracted.paths, extracted.examples, strict=True):
                yield index_of[path], examples
            bar.update(len(chunk))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="ESC-50 root or folder with one subfolder per class")
    add_class_subset_options(parser)
    add_parameter(
        parser, run_features, "shard",
        "take part i of N of the clips, clips[i::N] (default: the torchrun rank's part, RANK/WORLD_SIZE, "
        "else all)", parse=parse_shard, metavar="i/N",
    )  # fmt: skip
    add_pad_short_option(parser, run_features)
    add_cache_options(parser, "feature")
    add_parameter(
        parser, run_features, "shards_out", "also write this part of a segment-shards folder for training there",
        metavar="DIR",
    )  # fmt: skip
    add_parameter(parser, run_features, "shard_dtype", "how the shards store the examples", choices=SHARD_DTYPES)


def report(summary: dict[str, Any], args: argparse.Namespace) -> int:
    shards = f"; shards part {summary['shards_part']}" if summary["shards_part"] else ""
    sys.stdout.write(
        f"part {summary['part']} of {summary['parts']}: {summary['n_clips']} clips, {summary['n_segments']} segments "
        f"({summary['computed']} computed, {summary['cached']} from the cache); {len(summary['skipped'])} files "
        f"skipped{shards}\n"
    )
    return report_failures(summary["skipped"], "files were")
