"""Memory and speed of reading a segment-shards folder (:class:`zsac.shards.SegmentShards`), issue 17.

Writes ``--segments`` random log-mel examples in ``--parts`` parts (float16 by default) into a
temporary folder with :class:`~zsac.shards.SegmentPartWriter`, then, in a fresh process, opens
the folder and reads one epoch in shuffled batches of ``--batch`` with ``gather``, as training
would. Prints the write time, the size on disk, and the reader's anonymous memory (RssAnon:
what the process itself holds) and file-backed memory (RssFile: page cache of the memory maps,
which the kernel reclaims under pressure) after opening and after the epoch, and segments/s.
Everything is deleted afterwards.

    PYTHONPATH=src python bench/segment_shards.py [--segments 20000] [--parts 4] [--dtype float16]
"""

from __future__ import annotations

import argparse
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_READ = """
import sys, time
import numpy as np
from zsac.shards import SegmentShards

def status():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {k: int(fields[k].split()[0]) / 1024 for k in ("RssAnon", "RssFile")}

before = status()
start = time.perf_counter()
shards = SegmentShards(sys.argv[1])
opened = status()
open_s = time.perf_counter() - start
order = np.random.default_rng(0).permutation(len(shards))
batch = int(sys.argv[2])
start = time.perf_counter()
total = 0.0
for i in range(0, len(order), batch):
    total += float(shards.gather(order[i : i + batch])[:, 0, 0].sum())
epoch_s = time.perf_counter() - start
after = status()
print(len(shards), open_s, epoch_s, before["RssAnon"], opened["RssAnon"], after["RssAnon"], after["RssFile"])
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=20_000)
    parser.add_argument("--parts", type=int, default=4)
    parser.add_argument("--dtype", default="float16", choices=("float16", "float32"))
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    from zsac.shards import SegmentPartWriter

    rng = np.random.default_rng(0)
    per_clip = 10  # segments a clip, as a 10-s AudioSet clip has
    n_clips = args.segments // per_clip
    with tempfile.TemporaryDirectory(prefix="zsac-shards-bench-") as scratch:
        start = time.perf_counter()
        for part in range(args.parts):
            with SegmentPartWriter(
                scratch, part=part, parts=args.parts, class_names=[f"c{k}" for k in range(10)],
                total_clips=n_clips, dtype=args.dtype,
            ) as writer:  # fmt: skip
                for clip in range(part, n_clips, args.parts):
                    examples = rng.standard_normal((per_clip, 96, 64), dtype=np.float32)
                    writer.add_clip(clip_index=clip, label=f"c{clip % 10}", path=f"{clip}.wav", examples=examples)
                writer.finish()
        write_s = time.perf_counter() - start
        disk_mb = sum(path.stat().st_size for path in Path(scratch).iterdir()) / 2**20
        done = subprocess.run(
            [sys.executable, "-c", _READ, scratch, str(args.batch)], capture_output=True, text=True, check=True
        )
    n, open_s, epoch_s, anon0, anon_open, anon_after, file_after = map(float, done.stdout.split())
    print(f"# {' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}")
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print("| segments | parts | dtype | on disk MB | write s | open s | RssAnon MB start / open / after epoch "
          "| RssFile MB after epoch | epoch s | segments/s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {n:.0f} | {args.parts} | {args.dtype} | {disk_mb:.0f} | {write_s:.1f} | {open_s:.2f} | "
          f"{anon0:.0f} / {anon_open:.0f} / {anon_after:.0f} | {file_after:.0f} | {epoch_s:.1f} | "
          f"{n / epoch_s:,.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
