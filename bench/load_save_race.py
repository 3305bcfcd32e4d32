"""Loads of a model folder while another process saves two models into it in turn: how many loads mix them.

A load is *whole* when its class embeddings and its W are those of one model, *mixed* when they
come from the two models, and *failed* when it raised (files missing in the middle of a swap).
Each source tree runs as its own processes through ``PYTHONPATH``; ``--baseline SRC`` adds
another tree (e.g. ``git worktree add /tmp/old <commit>`` and ``--baseline /tmp/old/src``).

Usage: python bench/load_save_race.py [--seconds 30] [--baseline SRC]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _two_models import command_line, is_whole, run_workers, two_models

SAVER = """
import sys, time
from zsac import ZeroShotClassifier
a, b, target, table, seconds = sys.argv[1:6]
models = [ZeroShotClassifier.load(p, tables={"WLE": table}) for p in (a, b)]
print("ready", flush=True)
end, n = time.monotonic() + float(seconds), 0
while time.monotonic() < end:
    models[n % 2].save(target)
    n += 1
print(n, flush=True)
"""


def worker(scratch: Path, seconds: float) -> dict[str, int]:
    """One race in this process's zsac (``PYTHONPATH``): the counts of whole, mixed and failed loads."""
    from zsac import ZeroShotClassifier

    table, models, target = two_models(scratch)
    saver = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(scratch / "a"), str(scratch / "b"), str(target), str(table), str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert saver.stdout.readline().strip() == "ready"
    counts = {"loads": 0, "whole": 0, "mixed": 0, "failed": 0}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        counts["loads"] += 1
        try:
            loaded = ZeroShotClassifier.load(target, tables={"WLE": str(table)})
        except Exception:  # noqa: BLE001  (any failure of a load is what is counted)
            counts["failed"] += 1
            continue
        counts["whole" if is_whole(loaded, models) else "mixed"] += 1
    counts["saves"] = int(saver.stdout.readline())
    saver.wait()
    counts["entries left"] = len(list(target.iterdir()))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--baseline", type=Path, help="another zsac source tree (its src folder) to compare")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        sys.stdout.write(json.dumps(worker(args.worker, args.seconds)) + "\n")
        return
    rows = run_workers(__file__, ["--seconds", str(args.seconds)], baseline=args.baseline, prefix="zsac-race-")
    sys.stdout.write(
        command_line() + "| tree | saves | loads | whole | mixed | failed | entries left in the folder |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n"
    )
    for name, row in rows.items():
        sys.stdout.write(
            f"| {name} | {row['saves']} | {row['loads']} | {row['whole']} | {row['mixed']} | {row['failed']} "
            f"| {row['entries left']} |\n"
        )


if __name__ == "__main__":
    main()
