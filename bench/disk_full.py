"""A full disk under ``zsac train``, ``embed`` and ``classify -o``: exit status, traceback or not, files left.

Mounts a small tmpfs (needs root: ``mount -t tmpfs -o size=1m tmpfs DIR``), so that writing the
output really fails with ENOSPC, and runs each command with its output there. A tiny
classifier trained on tones (in a normal folder) serves ``embed`` and ``classify``. ``--baseline
SRC`` adds another source tree (e.g. a ``git worktree`` of an older commit's ``src``).

Usage: sudo python bench/disk_full.py [--size 1m] [--baseline SRC]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parents[1] / "src"


def make_data(root: Path) -> Path:
    """Two classes of tones (embedded by the default, bundled text model: no path to pass again)."""
    rate = 16_000
    t = np.arange(3 * rate) / rate
    for label, frequency in (("hum", 150.0), ("whistle", 3000.0)):
        (root / "data" / label).mkdir(parents=True)
        for i in range(3):
            wave = 0.5 * np.sin(2 * np.pi * frequency * (1 + 0.05 * i) * t)
            sf.write(root / "data" / label / f"{i}.wav", wave.astype(np.float32), rate)
    return root / "data"


def run(command: list[str], source: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(source)}
    return subprocess.run([sys.executable, "-m", "zsac", "-q", *command], env=env, capture_output=True, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m", help="tmpfs size (default: 1m)")
    parser.add_argument("--baseline", type=Path, help="another zsac source tree (its src folder) to compare")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="zsac-disk-full-"))
    data = make_data(scratch)
    # Wide enough that the model (~2 MB of VGGish weights) cannot fit the tmpfs.
    fast = ["--conv-channels", "8", "16", "32", "64", "--fc-units", "256", "--max-epochs", "1", "--no-quantize",
            "--no-cache", "--lambda", "1"]  # fmt: skip
    trees = {"this tree": HERE}
    if args.baseline is not None:
        trees[f"baseline ({args.baseline})"] = args.baseline.resolve()
    rows = []
    for tree, source in trees.items():
        model = scratch / f"model-{len(rows)}"
        made = run(["train", "--data", str(data), "-o", str(model), *fast], source)
        if made.returncode != 0:
            raise SystemExit(f"training the model in a normal folder failed:\n{made.stderr}")
        # Many rows (each file's 3 segments with --segments), so that the outputs outgrow the tmpfs.
        files = sorted(str(p) for p in data.rglob("*.wav")) * 500
        full = scratch / f"full-{len(rows)}"
        full.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={args.size}", "tmpfs", str(full)], check=True)
        try:
            commands = {
                "train -o": ["train", "--data", str(data), "-o", str(full / "model"), *fast],
                "embed -o": ["embed", str(model), *files, "-o", str(full / "embeddings.npz"), "--segments"],
                "classify -o": ["classify", str(model), *files, "--classes", "hum", "whistle", "--format", "csv",
                                "--timeline", "1", "-o", str(full / "results.csv")],
            }  # fmt: skip
            for name, command in commands.items():
                done = run(command, source)
                left = sorted(p.name for p in full.iterdir())
                rows.append((tree, name, done.returncode, "Traceback" in done.stderr, left, done.stderr.strip()))
                for entry in full.iterdir():
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        finally:
            subprocess.run(["umount", str(full)], check=False)
    sys.stdout.write(
        f"`python {' '.join(shlex.quote(a) for a in sys.argv)}`  ({platform.machine()}, tmpfs of {args.size})\n\n"
        "| tree | command | exit | traceback | left on the full disk | last line of stderr |\n"
        "|---|---|---:|---|---|---|\n"
    )
    for tree, name, code, traceback, left, err in rows:
        last = err.splitlines()[-1][:120] if err else ""
        sys.stdout.write(f"| {tree} | {name} | {code} | {'yes' if traceback else 'no'} | {left or '-'} | {last} |\n")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
