"""Wall time of ``zsac reproduce audioset --acoustic released`` on the shared AudioSet release.

Runs the main job (every offline spec, the paper's λ grid, 5 rotations, fold seed 0) in a fresh
results folder, as a subprocess so imports count, once with the fits in one process and once
with one process per core; then reruns the finished folder (every fold skipped). The issue's
budget is 60 s on the 2-core development machine.

Usage: ZSAC_DATA_DIR=../shared/data python bench/reproduce_audioset.py [--jobs 1 2]
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


def timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "zsac", "-q", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    options = parser.parse_args()
    if not os.environ.get("ZSAC_DATA_DIR"):
        shared = Path(__file__).resolve().parents[2] / "shared" / "data"
        if not shared.is_dir():
            sys.exit("set ZSAC_DATA_DIR to a data root holding audioset/ (see README, Data)")
        os.environ["ZSAC_DATA_DIR"] = str(shared)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for jobs in options.jobs:
            out = Path(scratch) / f"jobs{jobs}"
            command = ["reproduce", "audioset", "--acoustic", "released", "--out", str(out), "--jobs", str(jobs)]
            seconds = timed(command)
            records = json.loads((out / "results.json").read_text())
            fit_seconds = sum(r["seconds"] for r in records)
            best = max(records, key=lambda r: r["top1"])
            rows.append((f"fresh, --jobs {jobs}", seconds, len(records), fit_seconds, best["spec"]))
            if jobs == options.jobs[-1]:
                rows.append((f"rerun, --jobs {jobs} (all folds finished)", timed(command), len(records), 0.0, "-"))
    print(f"`{shlex.join(['python', *sys.argv])}`\n")
    print(f"{platform.machine()} CPU, os.cpu_count()={os.cpu_count()}; ZSAC_DATA_DIR={os.environ['ZSAC_DATA_DIR']}\n")
    print("| run | wall s | folds | Σ fold s (per-process) | × first row |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, n, fit_seconds, _ in rows:
        print(f"| {name} | {seconds:.1f} | {n} | {fit_seconds:.1f} | {seconds / rows[0][1]:.2f} |")


if __name__ == "__main__":
    main()
