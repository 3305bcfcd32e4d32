"""Benchmark of the audio front end: decode + resample + log-mel, clip to [n, 96, 64] examples.

Four methods run over the same clips in one process, so their ratios are comparable on a
noisy machine:

* ``reference``: Google's VGGish input pipeline as it is usually run, in plain numpy
  float64: soundfile int16 read, ``resampy.resample`` (kaiser_best) to 16 kHz, and a
  straightforward log-mel (numpy rFFT, HTK mel matrix built band by band). This is the
  baseline the issue measured at ~7.6 clips/s on a 2-core machine; the target for zsac
  is at least 30x that.
* ``zsac serial``: ``zsac.audio.file_to_examples`` in a loop (soxr, scipy FFT, float32).
* ``zsac threads``: ``zsac.features.extract_examples`` with one thread per core.
* ``zsac warm cache``: ``extract_examples`` reading a feature cache filled beforehand.

Each method gets an untimed warm-up on a few clips (this JIT-compiles resampy's numba
kernels) and is timed with ``time.perf_counter``; the best of ``--repeats`` passes counts.
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import resampy
import soundfile as sf

from zsac.audio import file_to_examples
from zsac.features import FeatureCache, extract_examples

logger = logging.getLogger("bench.frontend")

REPO_ROOT = Path(__file__).resolve().parent.parent
WARMUP_CLIPS = 3


def hz_to_mel(hz):
    return 1127.0 * np.log(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def reference_mel_matrix(num_bands=64, num_bins=257, sample_rate=16000, low_hz=125.0, high_hz=7500.0):
    """HTK mel weights [num_bins, num_bands], one band at a time as VGGish's mel_features.py does."""
    bin_mels = hz_to_mel(np.linspace(0.0, sample_rate / 2.0, num_bins))
    edges = np.linspace(hz_to_mel(low_hz), hz_to_mel(high_hz), num_bands + 2)
    weights = np.empty((num_bins, num_bands))
    for band in range(num_bands):
        lower, centre, upper = edges[band : band + 3]
        rising = (bin_mels - lower) / (centre - lower)
        falling = (upper - bin_mels) / (upper - centre)
        weights[:, band] = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def reference_examples(path, mel_matrix):
    """VGGish pipeline in numpy float64 with resampy: [n_examples, 96, 64]."""
    data, sample_rate = sf.read(path, dtype="int16")
    samples = data / 32768.0
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    samples = resampy.resample(samples, sample_rate, 16000)
    window_length, hop = 400, 160
    n_frames = 1 + (len(samples) - window_length) // hop
    frames = np.lib.stride_tricks.as_strided(
        samples, shape=(n_frames, window_length), strides=(samples.strides[0] * hop, samples.strides[0])
    )
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(window_length) / window_length)
    magnitude = np.abs(np.fft.rfft(frames * window, 512))
    log_mel = np.log(magnitude @ mel_matrix + 0.01)
    n_examples = n_frames // 96
    return log_mel[: n_examples * 96].reshape(n_examples, 96, 64)


def find_clips(data_dir):
    if data_dir is None:
        env = os.environ.get("ZSAC_DATA_DIR")
        data_dir = Path(env) / "ESC-50" / "audio" if env else REPO_ROOT.parent / "shared" / "data" / "ESC-50" / "audio"
    return sorted(glob.glob(os.path.join(data_dir, "*.wav")))


def best_time(run, paths, repeats):
    run(paths[:WARMUP_CLIPS])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run(paths)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", help="directory of .wav clips (default: ESC-50/audio under $ZSAC_DATA_DIR or ../shared/data)"
    )
    parser.add_argument("--limit", type=int, help="use only the first N clips (sorted)")
    parser.add_argument("--repeats", type=int, default=1, help="timed passes per method; the best counts")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    paths = find_clips(args.data)
    if args.limit is not None:
        paths = paths[: args.limit]
    if not paths:
        logger.error("no .wav clips found (use --data DIR or set ZSAC_DATA_DIR)")
        return 1

    mel_matrix = reference_mel_matrix()
    n_workers = os.cpu_count() or 1

    def run_reference(clips):
        return [reference_examples(p, mel_matrix) for p in clips]

    def run_serial(clips):
        return [file_to_examples(p) for p in clips]

    def run_threads(clips):
        return extract_examples(clips, n_workers=n_workers, progress=False)

    timings = {}
    timings["reference"] = best_time(run_reference, paths, args.repeats)
    timings["zsac serial"] = best_time(run_serial, paths, args.repeats)
    timings["zsac threads"] = best_time(run_threads, paths, args.repeats)
    with tempfile.TemporaryDirectory() as cache_dir:
        cache = FeatureCache(cache_dir)

        def run_cached(clips):
            return extract_examples(clips, cache=cache, progress=False, n_workers=1)

        run_cached(paths)  # fill the cache, untimed
        timings["zsac warm cache"] = best_time(run_cached, paths, args.repeats)

    reference = reference_examples(paths[0], mel_matrix)
    zsac = file_to_examples(paths[0])
    n_common = min(len(reference), len(zsac))
    max_diff = float(np.max(np.abs(reference[:n_common] - zsac[:n_common].astype(np.float64))))

    command = shlex.join(["python", sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    print(f"`{command}`\n")
    print(
        f"machine: {n_workers} CPUs, {platform.processor() or platform.machine()}; "
        f"clips: {len(paths)}; best of {args.repeats}\n"
    )
    print("| method | clips | seconds | clips/s | speed-up vs reference |")
    print("|---|---:|---:|---:|---:|")
    for method, seconds in timings.items():
        speedup = timings["reference"] / seconds
        print(f"| {method} | {len(paths)} | {seconds:.2f} | {len(paths) / seconds:.1f} | {speedup:.1f}x |")
    print(f"\nmax |reference - zsac serial| on {Path(paths[0]).name} ({reference.shape[0]} examples): {max_diff:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
