"""Time per epoch and validation accuracy of ``zsac train-acoustic`` on 1 and 2 processes (DDP, gloo on CPU).

Every run trains VGGish from scratch on the 10 ESC-10 classes of the ESC-50 copy (no class
split), so its validation accuracy is the 10-class accuracy on the recipe's own 20% split. Each
run is one ``torchrun --standalone --nproc-per-node N -m zsac -q train-acoustic ...`` (started as
``python -m torch.distributed.run`` so this venv's torch runs it), with ``OMP_NUM_THREADS`` set
for each worker; N=1 goes through torchrun as well so both counts share the launcher, and
``--plain`` adds N=1 runs as plain ``python -m zsac`` to show what torchrun itself costs.

Features are extracted once, before any timing, into ``--cache-dir`` (one
``zsac features --data ... --cache-dir ...``), so every run reads them from the cache.
Each run's figures come from its own record: the checkpoint's history (per epoch: rank 0's
seconds for training + validation, validation accuracy, world size) and ``summary.json``.

Table: one row per launcher, process count and threads per process; s/epoch as the median over
all epochs of all seeds and as mean ± std of the per-run means; ratio = median s/epoch relative
to the first row (so ratios come from one sitting on one machine); best validation accuracy mean
± std (population std over the n runs); wall time per run (start-up, process group, cache reads
and saving included). The command that made the table is printed below it, and the machine's
CPU count and load average before and after, since the timings mean something only on a quiet
machine (on 2 cores, a second thread or process competes with anything else running).

Usage:
    ZSAC_DATA_DIR=../shared/data python bench/ddp_scaling.py [--nproc 1 2] [--seeds 0 1 2]
        [--threads-per-process 1] [--single-threads 1 2] [--plain] [--recipe zsac|paper]
        [--max-epochs 30] [--conv-channels 8 16 32 64] [--fc-units 128] [--cache-dir DIR]
        [--out-dir DIR] [--keep] [--csv runs.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safetensors import safe_open

logger = logging.getLogger("ddp_scaling")

#: The README's CPU widths.
CPU_WIDTHS = {"conv_channels": [8, 16, 32, 64], "fc_units": 128, "max_epochs": 30}

CSV_FIELDS = [
    "launcher", "nproc", "threads_per_process", "seed", "epochs_run", "best_epoch", "best_val_accuracy",
    "s_per_epoch_median", "s_per_epoch_mean", "wall_s", "epoch_seconds", "command",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="ESC-50 root (default: $ZSAC_DATA_DIR/ESC-50)")
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2], help="process counts (torchrun workers)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads-per-process", type=int, default=1, help="OMP_NUM_THREADS of each worker")
    parser.add_argument(
        "--single-threads", type=int, nargs="+",
        help="OMP_NUM_THREADS of the 1-process runs, one row each (default: --threads-per-process)",
    )  # fmt: skip
    parser.add_argument("--plain", action="store_true", help="also run N=1 as plain `python -m zsac` (no torchrun)")
    parser.add_argument("--recipe", choices=["zsac", "paper"], default="zsac")
    parser.add_argument("--max-epochs", type=int, default=CPU_WIDTHS["max_epochs"])
    parser.add_argument("--conv-channels", type=int, nargs=4, default=CPU_WIDTHS["conv_channels"])
    parser.add_argument("--fc-units", type=int, default=CPU_WIDTHS["fc_units"])
    parser.add_argument(
        "--cache-dir", help="feature cache, filled once before the timed runs (default: one in the out dir)"
    )
    parser.add_argument("--out-dir", help="folder for the runs' model folders and logs (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the runs' model folders and logs")
    parser.add_argument("--csv", help="write one row per run to this CSV")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    data = _data_root(args.data)
    work = Path(args.out_dir) if args.out_dir else Path(tempfile.mkdtemp(prefix="zsac-ddp-"))
    work.mkdir(parents=True, exist_ok=True)
    cache = Path(args.cache_dir) if args.cache_dir else work / "cache"
    made: list[Path] = [] if args.cache_dir else [cache]
    configs = _configurations(args)
    writer = _csv_writer(args.csv)
    rows: list[dict] = []
    load_start = os.getloadavg()[0]  # the timings mean something only on a quiet machine
    try:
        _fill_cache(data, cache)
        for launcher, nproc, threads in configs:
            for seed in args.seeds:
                name = f"{launcher}-n{nproc}-t{threads}-s{seed}"
                out, log = work / name, work / f"{name}.log"
                if out.exists():  # an existing folder would be resumed, not trained: its times would be wrong
                    raise SystemExit(f"{out} exists; give another --out-dir or remove it")
                made += [out, log]
                command = _command(args, launcher=launcher, nproc=nproc, data=data, out=out, cache=cache, seed=seed)
                row = _run(command, out=out, log=log, threads=threads, nproc=nproc)
                row |= {"launcher": launcher, "nproc": nproc, "threads_per_process": threads, "seed": seed}
                rows.append(row)
                logger.info(
                    "%s: %d epochs, %.2f s/epoch (median), best val acc %.4f at epoch %d, wall %.1f s",
                    name, row["epochs_run"], row["s_per_epoch_median"], row["best_val_accuracy"],
                    row["best_epoch"], row["wall_s"],
                )  # fmt: skip
                if writer is not None:
                    writer(row)
    finally:
        if args.keep:
            logger.info("runs kept in %s", work)
        else:
            for path in made:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            if not args.out_dir:
                shutil.rmtree(work, ignore_errors=True)
    _print_table(rows, configs)
    load_end = os.getloadavg()[0]
    print(f"\n{os.cpu_count()} CPUs; 1-min load average {load_start:.2f} at the start, {load_end:.2f} at the end")


def _data_root(given: str | None) -> Path:
    if given:
        root = Path(given)
    elif os.environ.get("ZSAC_DATA_DIR"):
        root = Path(os.environ["ZSAC_DATA_DIR"]) / "ESC-50"
    else:
        raise SystemExit("give --data or set ZSAC_DATA_DIR (the ESC-50 root is $ZSAC_DATA_DIR/ESC-50)")
    if not (root / "meta" / "esc50.csv").is_file():
        raise SystemExit(f"{root} is not an ESC-50 root (no meta/esc50.csv)")
    return root


def _configurations(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    """(launcher, processes, threads per process) of each table row, in the order they run."""
    configs = []
    for nproc in args.nproc:
        threads = (args.single_threads or [args.threads_per_process]) if nproc == 1 else [args.threads_per_process]
        configs += [("torchrun", nproc, t) for t in threads]
        if nproc == 1 and args.plain:
            configs += [("plain", 1, t) for t in threads]
    return configs


def _fill_cache(data: Path, cache: Path) -> None:
    """Extract every clip's features into ``cache`` once, so the timed runs only read them."""
    command = [sys.executable, "-m", "zsac", "-q", "features", "--data", str(data), "--cache-dir", str(cache)]
    logger.info("filling the feature cache: %s", shlex.join(command))
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # its one-line report would break the log
    logger.info("feature cache %s filled in %.1f s", cache, time.perf_counter() - started)


def _command(
    args: argparse.Namespace, *, launcher: str, nproc: int, data: Path, out: Path, cache: Path, seed: int
) -> list[str]:
    if launcher == "plain":
        start = [sys.executable, "-m", "zsac"]
    else:  # torchrun of this venv; -m zsac runs the package as the worker
        start = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
                 "-m", "zsac"]  # fmt: skip
    return start + [
        "-q", "train-acoustic", "--data", str(data), "-o", str(out), "--seed", str(seed),
        "--recipe", args.recipe, "--max-epochs", str(args.max_epochs),
        "--conv-channels", *map(str, args.conv_channels), "--fc-units", str(args.fc_units),
        "--cache-dir", str(cache),
    ]  # fmt: skip


def _run(command: list[str], *, out: Path, log: Path, threads: int, nproc: int) -> dict:
    """Run one training; its wall time and the figures of its record."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    logger.info("OMP_NUM_THREADS=%d %s", threads, shlex.join(command))
    started = time.perf_counter()
    with open(log, "w") as handle:
        done = subprocess.run(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        raise SystemExit(f"run failed (exit {done.returncode}); the end of {log}:\n" + "\n".join(tail))
    with safe_open(out / "checkpoint.safetensors", "pt") as handle:
        history = json.loads(handle.metadata()["state"])["history"]
    summary = json.loads((out / "summary.json").read_text())
    sizes = {record["world_size"] for record in history} | {summary["world_size"]}
    if sizes != {nproc}:  # a resumed or misconfigured run would mix world sizes
        raise SystemExit(f"{out}: world sizes {sorted(sizes)} in the record, expected {nproc}")
    seconds = [float(record["seconds"]) for record in history]
    return {
        "epochs_run": int(summary["epochs_run"]),
        "best_epoch": int(summary["best_epoch"]),
        "best_val_accuracy": float(summary["best_val_accuracy"]),
        "s_per_epoch_median": statistics.median(seconds),
        "s_per_epoch_mean": statistics.fmean(seconds),
        "wall_s": wall,
        "epoch_seconds": " ".join(f"{s:.3f}" for s in seconds),
        "command": f"OMP_NUM_THREADS={threads} {shlex.join(command)}",
    }


def _csv_writer(path: str | None):
    """A function that appends one row to ``path`` (written fresh, a row as each run ends), or None."""
    if not path:
        return None
    with open(path, "w", newline="") as handle:
        csv.DictWriter(handle, fieldnames=CSV_FIELDS).writeheader()

    def write(row: dict) -> None:
        with open(path, "a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=CSV_FIELDS).writerow({k: row[k] for k in CSV_FIELDS})

    return write


def _mean_std(values: list[float], digits: int) -> str:
    return f"{statistics.fmean(values):.{digits}f} ± {statistics.pstdev(values):.{digits}f}"


def _print_table(rows: list[dict], configs: list[tuple[str, int, int]]) -> None:
    """One line per (launcher, processes, threads per process), then the command."""
    print("| launcher | processes | threads/process (all) | runs | s/epoch median | ratio | s/epoch mean ± std "
          "| epochs run | best val. acc. (10 classes) | wall s/run |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    first = None
    for launcher, nproc, threads in configs:
        runs = [r for r in rows if (r["launcher"], r["nproc"], r["threads_per_process"]) == (launcher, nproc, threads)]
        if not runs:
            continue
        epochs = [float(s) for r in runs for s in r["epoch_seconds"].split()]
        median = statistics.median(epochs)
        first = first or median
        cells = [
            "torchrun" if launcher == "torchrun" else "python -m zsac",
            str(nproc),
            f"{threads} ({threads * nproc})",
            str(len(runs)),
            f"{median:.2f}",
            f"{median / first:.2f}",
            _mean_std([r["s_per_epoch_mean"] for r in runs], 2),
            _mean_std([r["epochs_run"] for r in runs], 1),
            _mean_std([r["best_val_accuracy"] for r in runs], 3) + f" (n={len(runs)})",
            _mean_std([r["wall_s"] for r in runs], 1),
        ]
        print("| " + " | ".join(cells) + " |")
    env = " ".join(f"{k}={shlex.quote(os.environ[k])}" for k in ("ZSAC_DATA_DIR", "PYTHONPATH") if k in os.environ)
    print(f"\n`{(env + ' ') if env else ''}python {shlex.join(sys.argv)}`")


if __name__ == "__main__":
    main()
