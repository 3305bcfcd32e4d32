"""Wall time of ``zsac reproduce audioset --acoustic released`` on the shared AudioSet release.

Runs the main job (every offline spec, the paper's λ grid, 5 rotations, fold seed 0) in a fresh
results folder, as a subprocess so imports count, with L-BFGS capped at 30 iterations (the
command's default) and at the library's 100; then reruns the finished folder (every fold
skipped). The issue's budget is 60 s on the 2-core development machine.

Usage: ZSAC_DATA_DIR=../shared/data python bench/reproduce_audioset.py [--max-iter 30 100]
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

import pandas as pd


def timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "zsac", "-q", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, nargs="+", default=[30, 100])
    options = parser.parse_args()
    if not os.environ.get("ZSAC_DATA_DIR"):
        shared = Path(__file__).resolve().parents[2] / "shared" / "data"
        if not shared.is_dir():
            sys.exit("set ZSAC_DATA_DIR to a data root holding audioset/ (see README, Data)")
        os.environ["ZSAC_DATA_DIR"] = str(shared)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for max_iter in options.max_iter:
            out = Path(scratch) / f"max_iter{max_iter}"
            command = [
                "reproduce",
                "audioset",
                "--acoustic",
                "released",
                "--out",
                str(out),
                "--max-iter",
                str(max_iter),
            ]
            seconds = timed(command)
            records = json.loads((out / "results.json").read_text())
            fit_seconds = sum(r["seconds"] for r in records)
            mean_top1 = pd.DataFrame(records).groupby("spec")["top1"].mean()
            best = f"{mean_top1.idxmax()} {mean_top1.max():.3f}"
            rows.append((f"fresh, --max-iter {max_iter}", seconds, len(records), fit_seconds, best))
            if max_iter == options.max_iter[0]:
                rows.append(
                    (f"rerun, --max-iter {max_iter} (all folds finished)", timed(command), len(records), 0.0, "-")
                )
    print(f"`{shlex.join(['python', *sys.argv])}`\n")
    print(f"{platform.machine()} CPU, os.cpu_count()={os.cpu_count()}; ZSAC_DATA_DIR={os.environ['ZSAC_DATA_DIR']}\n")
    print("| run | wall s | folds | Σ fold s | × first row | best spec, mean Top-1 |")
    print("|---|---:|---:|---:|---:|---|")
    for name, seconds, n, fit_seconds, best in rows:
        print(f"| {name} | {seconds:.1f} | {n} | {fit_seconds:.1f} | {seconds / rows[0][1]:.2f} | {best} |")


if __name__ == "__main__":
    main()
