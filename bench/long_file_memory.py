"""Peak memory of ``zsac classify`` on long files (issue 14, cause 8).

Writes 16-kHz mono noise WAVs of the given lengths (default 1 h and 3 h) into a temporary
folder, trains a tiny classifier there (the small settings of tests/test_cli_classify.py:
its VGGish weighs a few MB, so what grows with the file is the audio path), then runs
``python -m zsac classify MODEL FILE`` under ``/usr/bin/time -v`` for each file and prints
a table of file length, peak RSS (MB) and wall time. Then the same for hand-made WAVs whose
header declares 1 Hz (4 KB and 40 KB), each classified in one batch with a good file (cause 9):
the exit status 1 there means the bad file was skipped and the good one classified.
Everything is deleted afterwards.

Which zsac runs is whatever ``PYTHONPATH`` names (the subprocesses inherit it), so the
same script measures two trees::

    PYTHONPATH=/work/main/src python bench/long_file_memory.py     # before
    PYTHONPATH=src python bench/long_file_memory.py                # after

Needs about 0.5 GB of disk per 3 hours of audio (16-bit PCM).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16_000
SMALL = {"conv_channels": (8, 16, 32, 64), "fc_units": 64, "max_epochs": 2, "patience": 2, "use_cache": False}
_TRAIN = """
import sys
from zsac.commands import run_train
run_train(data=sys.argv[1], out=sys.argv[2], progress=False, **{settings!r})
"""


def _write_noise(path: Path, seconds: int, *, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with sf.SoundFile(path, "w", samplerate=RATE, channels=1, subtype="PCM_16") as handle:
        for start in range(0, seconds, 60):  # a minute at a time, so writing stays small
            n = min(60, seconds - start) * RATE
            handle.write((0.1 * rng.standard_normal(n)).astype(np.float32))


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 2**20:.0f} MB" if size >= 2**20 else f"{size / 2**10:.0f} KB"


def _one_hertz_wav(path: Path, n_frames: int) -> None:
    """A 16-bit mono WAV written by hand, whose header declares 1 Hz."""
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 1, 2, 2, 16)
    body = b"WAVE" + fmt + struct.pack("<4sI", b"data", 2 * n_frames) + bytes(2 * n_frames)
    path.write_bytes(struct.pack("<4sI", b"RIFF", len(body)) + body)


def _train(folder: Path) -> Path:
    data = folder / "train"
    rng = np.random.default_rng(0)
    t = np.arange(2 * RATE) / RATE
    for name, wave in (("hum", np.sin(2 * np.pi * 150 * t)), ("whistle", np.sin(2 * np.pi * 3000 * t))):
        (data / name).mkdir(parents=True)
        for i in range(4):
            noisy = 0.5 * wave + 0.01 * rng.standard_normal(t.size)
            sf.write(data / name / f"{i}.wav", noisy.astype(np.float32), RATE)
    model = folder / "model"
    script = _TRAIN.format(settings=SMALL)
    subprocess.run([sys.executable, "-c", script, str(data), str(model)], check=True)
    return model


def _measure(command: list[str]) -> tuple[float, str, int]:
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    peak_kb = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", done.stderr)
    peak_mb = int(peak_kb.group(1)) / 1024 if peak_kb else float("nan")
    return peak_mb, (wall.group(1) if wall else "?"), done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="+", default=[1.0, 3.0], help="file lengths to measure")
    parser.add_argument("--tmp", default=None, help="folder for the temporary files (default: the system's)")
    args = parser.parse_args()

    import zsac  # noqa: PLC0415 - only to say which tree is measured

    print(f"# {shlex.join([sys.executable, *sys.argv])}")
    print(f"# zsac from {Path(zsac.__file__).parent}; PYTHONPATH={os.environ.get('PYTHONPATH', '')}")
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        folder = Path(tmp)
        model = _train(folder)
        rows = []
        for i, hours in enumerate(args.hours):
            path = folder / f"noise_{hours:g}h.wav"
            _write_noise(path, round(hours * 3600), seed=i)
            command = [sys.executable, "-m", "zsac", "-q", "classify", str(model), str(path), "--format", "json"]
            peak_mb, wall, rc = _measure(command)
            rows.append((f"{hours:g} h of 16-kHz noise", _size(path), f"{peak_mb:.0f}", wall, str(rc)))
            path.unlink()
            print(f"# measured: {shlex.join(command)}", flush=True)
        good = folder / "train" / "hum" / "0.wav"
        for n_frames in (2_000, 20_000):
            bad = folder / f"one_hertz_{n_frames}.wav"
            _one_hertz_wav(bad, n_frames)
            command = [sys.executable, "-m", "zsac", "-q", "classify", str(model), str(bad), str(good)]
            peak_mb, wall, rc = _measure([*command, "--format", "json"])
            rows.append((f"1-Hz header, {n_frames} frames + a good file", _size(bad), f"{peak_mb:.0f}", wall, str(rc)))
    header = ("case", "file size", "peak RSS (MB)", "wall (h:mm:ss)", "exit")
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
