"""Start-up time of the command line: ``zsac --help``, and ``zsac classify`` on one file with a saved model.

Each command runs as a fresh process, as a user types it; the runs of the trees compared are
interleaved (A, B, A, B, ...) so that a busy machine slows both alike. ``--baseline SRC`` adds
another source tree (e.g. a ``git worktree`` of an older commit's ``src``), run with the same
interpreter through ``PYTHONPATH``, so both are measured in one run.

Without ``--model``, a classifier with a tiny VGGish is trained on synthetic tones and saved first
(its text embeddings are then cached, as they are for a user's second classification).

Usage: python bench/startup.py [--model DIR] [--file WAV] [--repeat 7] [--baseline SRC]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

CLASSES = ["dog barking", "rain on a roof", "a siren"]


def make_model(folder: Path) -> tuple[Path, Path]:
    """A tiny classifier trained on tones, and a 5-s file to classify."""
    from zsac import ZeroShotClassifier

    rate, rng = 16_000, np.random.default_rng(0)
    t = np.arange(2 * rate) / rate
    waves = [np.sin(2 * np.pi * f * t) + 0.05 * rng.standard_normal(t.size) for f in (200, 800, 3000, 6000)]
    labels = ["low", "mid", "high", "hiss"]
    clf = ZeroShotClassifier(conv_channels=(8, 16, 32, 64), fc_units=64, max_epochs=3, progress=False, seed=0)
    clf.fit([w.astype(np.float32) for w in waves for _ in range(3)], [n for n in labels for _ in range(3)],
            sample_rate=rate)  # fmt: skip
    model = clf.save(folder / "model")
    audio = folder / "clip.wav"
    sf.write(audio, (0.3 * np.sin(2 * np.pi * 440 * np.arange(5 * rate) / rate)).astype(np.float32), rate)
    return model, audio


def seconds(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a saved classifier (default: train a tiny one)")
    parser.add_argument("--file", type=Path, help="the audio file to classify (default: a 5-s tone)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="another zsac source tree (its src folder) to compare")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="zsac-startup-"))
    model, audio = args.model, args.file
    if model is None or audio is None:
        made_model, made_audio = make_model(scratch)
        model, audio = model or made_model, audio or made_audio
    trees = {"this tree": None}
    if args.baseline is not None:
        trees[f"baseline ({args.baseline})"] = args.baseline.resolve()
    commands = {
        "zsac --help": ["--help"],
        "zsac classify (1 file)": ["-q", "classify", str(model), str(audio), "--classes", *CLASSES],
    }
    times: dict[tuple[str, str], list[float]] = {}
    for source in trees.values():
        env = dict(os.environ)
        if source is not None:
            env["PYTHONPATH"] = str(source)
        for words in commands.values():
            seconds([sys.executable, "-m", "zsac", *words], env)  # warm-up: caches, page cache
    for _ in range(args.repeat):
        for tree, source in trees.items():
            env = dict(os.environ)
            if source is not None:
                env["PYTHONPATH"] = str(source)
            for name, words in commands.items():
                times.setdefault((name, tree), []).append(seconds([sys.executable, "-m", "zsac", *words], env))

    print(f"`python {' '.join(shlex.quote(a) for a in sys.argv)}`  ({platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, {args.repeat} runs each, interleaved)\n")  # fmt: skip
    print("| command | tree | median s | min s | median vs this tree |")
    print("|---|---|---:|---:|---:|")
    for name in commands:
        ours = statistics.median(times[(name, "this tree")])
        for tree in trees:
            runs = times[(name, tree)]
            print(f"| {name} | {tree} | {statistics.median(runs):.2f} | {min(runs):.2f} "
                  f"| {statistics.median(runs) / ours:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
