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
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1] / "src"
NAMES = [f"sound {k:02d}" for k in range(8)]

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
    from zsac.semantic.tables import ClassTable

    rng = np.random.default_rng(0)
    table = ClassTable(rng.normal(size=(8, 6)).astype(np.float32), names=tuple(NAMES)).save(scratch / "wle.npz")
    X, y = rng.normal(size=(80, 16)).astype(np.float32), np.repeat(NAMES, 10)
    models = []
    for names, folder in ((NAMES[:4], "a"), (NAMES[3:], "b")):
        keep = np.isin(y, names)
        model = ZeroShotClassifier(semantic="WLE", tables={"WLE": str(table)}, lam=1.0, progress=False, max_iter=3)
        models.append(model.fit(X[keep], y[keep]))
        model.save(scratch / folder)
    target = models[0].save(scratch / "target")
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
        same = [
            np.array_equal(loaded.class_embeddings_, m.class_embeddings_)
            and np.array_equal(loaded.bilinear_.W_, m.bilinear_.W_)
            for m in models
        ]
        counts["whole" if any(same) else "mixed"] += 1
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
    trees = {"this tree": HERE}
    if args.baseline is not None:
        trees[f"baseline ({args.baseline})"] = args.baseline.resolve()
    rows = {}
    for name, source in trees.items():
        scratch = Path(tempfile.mkdtemp(prefix="zsac-race-"))
        env = {**os.environ, "PYTHONPATH": str(source)}
        done = subprocess.run(
            [sys.executable, __file__, "--worker", str(scratch), "--seconds", str(args.seconds)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        rows[name] = json.loads(done.stdout.strip().splitlines()[-1])
    sys.stdout.write(
        f"`python {' '.join(shlex.quote(a) for a in sys.argv)}`  ({platform.machine()}, {os.cpu_count()} CPUs)\n\n"
        "| tree | saves | loads | whole | mixed | failed | entries left in the folder |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n"
    )
    for name, row in rows.items():
        sys.stdout.write(
            f"| {name} | {row['saves']} | {row['loads']} | {row['whole']} | {row['mixed']} | {row['failed']} "
            f"| {row['entries left']} |\n"
        )


if __name__ == "__main__":
    main()
