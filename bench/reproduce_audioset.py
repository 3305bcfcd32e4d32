"""Wall time of the main job, ``zsac reproduce audioset --acoustic released``, with its defaults.

Each row runs the command as a subprocess (imports count) into a fresh results folder:

- ``baseline``: the main job of another zsac source tree (``--baseline SRC``, e.g. a checkout of
  the last commit before this change), with that tree's defaults;
- ``cold``: this tree's defaults with an empty cache (``ZSAC_CACHE_DIR``): the release's
  TFRecords are parsed and the class texts encoded;
- ``warm``: the same with the caches a first run leaves (the usual case), with the default number
  of threads and with ``--jobs 1``;
- ``rerun``: the finished folder again (every fold skipped).

The ratios compare rows of one run of this script. Run it on a quiet machine.

Usage: ZSAC_DATA_DIR=../shared/data python bench/reproduce_audioset.py [--baseline /tmp/old/src] [--repeat 2]
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

SOURCE = Path(__file__).resolve().parents[1] / "src"


def timed(args: list[str], *, source: Path, cache: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(source), "ZSAC_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "zsac", "-q", *args], check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def best(records: list[dict]) -> str:
    frame = pd.DataFrame(records)
    keys = ["learner", "spec"] if "learner" in frame.columns else ["spec"]
    mean = frame.groupby(keys)["top1"].mean()
    name = " ".join(mean.idxmax()) if isinstance(mean.idxmax(), tuple) else mean.idxmax()
    return f"{name} {mean.max():.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="src folder of the zsac to compare with (its own defaults)")
    parser.add_argument("--repeat", type=int, default=2, help="times each row runs (the table shows each)")
    options = parser.parse_args()
    if not os.environ.get("ZSAC_DATA_DIR"):
        shared = Path(__file__).resolve().parents[2] / "shared" / "data"
        if not shared.is_dir():
            sys.exit("set ZSAC_DATA_DIR to a data root holding audioset/ (see README, Data)")
        os.environ["ZSAC_DATA_DIR"] = str(shared)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        warm_cache = scratch / "cache-warm"
        # Fill the warm cache: the class texts' embeddings, and this tree's parsed release.
        for index, source in enumerate([SOURCE] + ([options.baseline] if options.baseline is not None else [])):
            warmup = scratch / f"warmup-{index}"
            timed(["reproduce", "audioset", "--acoustic", "released", "--out", str(warmup)], source=source,
                  cache=warm_cache)  # fmt: skip
        for repeat in range(options.repeat):
            runs = []
            if options.baseline is not None:
                runs.append(("baseline (its defaults, warm caches)", options.baseline, warm_cache, []))
            runs += [
                ("cold: empty caches", SOURCE, scratch / f"cache-cold{repeat}", []),
                ("warm caches", SOURCE, warm_cache, []),
                ("warm caches, --jobs 1", SOURCE, warm_cache, ["--jobs", "1"]),
            ]
            for name, source, cache, extra in runs:
                out = scratch / f"out-{len(rows)}"
                args = ["reproduce", "audioset", "--acoustic", "released", "--out", str(out), *extra]
                seconds = timed(args, source=source, cache=cache)
                records = json.loads((out / "results.json").read_text())
                rows.append((name, seconds, len(records), best(records)))
                if name == "warm caches" and repeat == 0:
                    rows.append(("rerun (every fold finished)", timed(args, source=source, cache=cache),
                                 len(records), "-"))  # fmt: skip
    print(f"`{shlex.join(['python', *sys.argv])}`\n")
    print(f"{platform.machine()} CPU, os.cpu_count()={os.cpu_count()}; ZSAC_DATA_DIR={os.environ['ZSAC_DATA_DIR']}\n")
    reference = next((seconds for name, seconds, *_ in rows if name.startswith("baseline")), None)
    print("| run | wall s | runs (learner × spec × fold) | × baseline | best learner spec, mean Top-1 |")
    print("|---|---:|---:|---:|---|")
    for name, seconds, n, top in rows:
        ratio = "-" if reference is None else f"{seconds / reference:.2f}"
        print(f"| {name} | {seconds:.1f} | {n} | {ratio} | {top} |")


if __name__ == "__main__":
    main()
