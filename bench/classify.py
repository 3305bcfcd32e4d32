"""Batch classification speed of 10-s clips on the CPU: ``zsac classify``'s code path per VGGish arithmetic.

A classifier with the full-size VGGish (72M parameters; random weights, as speed does not
depend on them) is fitted on a few synthetic clips, which also calibrates its int8 copy,
and saved. Loaded back with each ``inference`` mode, ``zsac.batch.classify_files`` (what
``zsac classify`` runs) classifies N synthetic 10-s WAV files among 5 class names, after
one warm-up call that loads the text model and embeds the class names. Reported:

- clips/s of the batch: reading, resampling, log-mel, VGGish, scoring;
- the front end alone (``zsac.audio.file_to_examples``) in clips/s;
- the whole ``zsac classify`` command once, start-up and model loading included.

Agreement with fp32 is not measured here: random weights make every clip look alike.
``bench/esc10_zero_shot.py`` measures it on trained models.

Usage: python bench/classify.py [--clips 64] [--seconds 10] [--rate 44100] [--threads 2]
"""

from __future__ import annotations

import argparse
import logging
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from zsac import ZeroShotClassifier
from zsac.acoustic import VGGish
from zsac.audio import file_to_examples
from zsac.batch import classify_files

CLASSES = ["dog barking", "rain on a roof", "a car engine", "church bells ringing", "glass breaking"]


def write_clips(folder: Path, n: int, seconds: float, rate: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    t = np.arange(int(seconds * rate)) / rate
    for i in range(n):
        tone = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 4000) * t)
        wave = (tone + 0.1 * rng.standard_normal(t.size)).astype(np.float32)
        path = folder / f"clip{i:03d}.wav"
        sf.write(path, wave, rate, subtype="PCM_16")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=44_100, help="sample rate of the test files")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (ONNX Runtime: one per core)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="zsac-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "train").mkdir()
        (tmp / "test").mkdir()
        train = write_clips(tmp / "train", 8, 3.0, 16_000, seed=1)
        files = write_clips(tmp / "test", args.clips, args.seconds, args.rate)
        torch.manual_seed(0)
        classifier = ZeroShotClassifier(acoustic_model=VGGish(), progress=False, feature_cache=False, lam=0.01)
        started = time.perf_counter()
        classifier.fit(train, ["a", "b", "c", "d"] * 2)
        fit_seconds = time.perf_counter() - started
        classifier.save(tmp / "model")

        started = time.perf_counter()
        for path in files:
            file_to_examples(path)
        frontend = len(files) / (time.perf_counter() - started)

        rows = []
        for mode in ("fp32", "bf16", "int8"):
            loaded = ZeroShotClassifier.load(tmp / "model", inference=mode, feature_cache=False, progress=False)
            classify_files(loaded, files[:2], classes=CLASSES, progress=False)  # warm-up: text model, class table
            started = time.perf_counter()
            classify_files(loaded, files, classes=CLASSES, progress=False)
            seconds = time.perf_counter() - started
            rows.append((mode, len(files) / seconds, seconds))

        # The whole command once, as a user runs it: interpreter start, imports, model loading.
        command = [sys.executable, "-m", "zsac", "-q", "classify", str(tmp / "model"), *map(str, files),
                   "--classes", *CLASSES, "--format", "csv", "-o", str(tmp / "out.csv")]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        whole = time.perf_counter() - started

    print(f"`python {' '.join(shlex.quote(a) for a in sys.argv)}`")
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {args.threads} threads; "
          f"{args.clips} clips of {args.seconds:g} s at {args.rate} Hz; fit (incl. int8 calibration) "
          f"{fit_seconds:.1f} s\n")  # fmt: skip
    print(f"front end alone (read, resample, log-mel): {frontend:.1f} clips/s")
    print(f"whole `zsac classify` command (int8 by default, start-up included): {whole:.1f} s, "
          f"{len(files) / whole:.1f} clips/s\n")  # fmt: skip
    print("| inference | clips/s | seconds | × fp32 |")
    print("|---|---:|---:|---:|")
    for mode, rate, seconds in rows:
        print(f"| {mode} | {rate:.1f} | {seconds:.2f} | {rate / rows[0][1]:.2f} |")


if __name__ == "__main__":
    main()
