"""``kill -9`` of a process in the middle of saving a model: does one complete model survive, and does a rerun clean up?

A child process saves two models into one folder in turn, without pause; it is killed with
SIGKILL after a random delay, so the kill lands at a random step of some save. After each kill
the folder is loaded: the load is *whole* when its class embeddings and W are those of one of
the two models, *mixed* when they come from both, and *failed* when it raised. Leftovers are
entries other than what a finished save leaves. After all the kills, one more save runs to
completion and the leftovers are counted again. ``--baseline SRC`` adds another source tree
(e.g. ``git worktree add /tmp/old <commit>`` and ``--baseline /tmp/old/src``).

Usage: python bench/kill_during_save.py [--kills 100] [--seed 0] [--baseline SRC]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _two_models import command_line, is_whole, run_workers, two_models

SAVER = """
import sys
from zsac import ZeroShotClassifier
a, b, target, table = sys.argv[1:5]
models = [ZeroShotClassifier.load(p, tables={"WLE": table}) for p in (a, b)]
print("ready", flush=True)
n = 0
while True:
    models[n % 2].save(target)
    n += 1
"""


def worker(scratch: Path, kills: int, seed: int) -> dict[str, int]:
    """The kills in this process's zsac (``PYTHONPATH``): counts of whole, mixed and failed loads, and leftovers."""
    from zsac import ZeroShotClassifier

    table, models, target = two_models(scratch)
    finished = {entry.name for entry in target.iterdir()}  # what one finished save leaves
    delays = np.random.default_rng(seed).uniform(0.0, 0.4, size=kills)
    counts = {"kills": kills, "whole": 0, "mixed": 0, "failed": 0, "lost": 0, "most leftovers": 0}
    for delay in delays:
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(scratch / "a"), str(scratch / "b"), str(target), str(table)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert saver.stdout.readline().strip() == "ready"
        time.sleep(float(delay))
        os.kill(saver.pid, signal.SIGKILL)
        saver.wait()
        if not target.exists():  # the folder itself is gone: the model is lost
            counts["lost"] += 1
            continue
        try:
            loaded = ZeroShotClassifier.load(target, tables={"WLE": str(table)})
        except Exception:  # noqa: BLE001  (any failure of a load is what is counted)
            counts["failed"] += 1
        else:
            counts["whole" if is_whole(loaded, models) else "mixed"] += 1
        left = [p for p in target.parent.iterdir() if p.name.startswith((".target", "target")) and p.name != "target"]
        left += [p for p in target.iterdir() if not p.name.startswith("v-") and p.name not in finished]
        counts["most leftovers"] = max(counts["most leftovers"], len(left))
    try:
        models[1].save(target)
        counts["rerun saved"] = 1
    except Exception:  # noqa: BLE001
        counts["rerun saved"] = 0
    left = [p for p in target.parent.iterdir() if p.name.startswith((".target", "target")) and p.name != "target"]
    if target.exists():
        left += [p for p in target.iterdir() if p.name not in finished and not p.name.startswith("v-")]
        left += [p for p in target.iterdir() if p.name.startswith("v-")][1:]  # more than one version
    counts["leftovers after rerun"] = len(left)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="seeds the delays before each kill")
    parser.add_argument("--baseline", type=Path, help="another zsac source tree (its src folder) to compare")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        sys.stdout.write(json.dumps(worker(args.worker, args.kills, args.seed)) + "\n")
        return
    rows = run_workers(__file__, ["--kills", str(args.kills), "--seed", str(args.seed)], baseline=args.baseline,
                       prefix="zsac-kill-")  # fmt: skip
    sys.stdout.write(
        command_line()
        + "| tree | kills | loads whole | mixed | failed | folder lost | most leftovers after a kill | rerun saved | "
        "leftovers after the rerun |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    for name, row in rows.items():
        sys.stdout.write(
            f"| {name} | {row['kills']} | {row['whole']} | {row['mixed']} | {row['failed']} | {row['lost']} "
            f"| {row['most leftovers']} "
            f"| {row['rerun saved']} | {row['leftovers after rerun']} |\n"
        )


if __name__ == "__main__":
    main()
