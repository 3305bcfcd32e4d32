"""An independent float64 VGGish front end, written for the tests only.

It shares no code with ``zsac.audio``: the window comes from ``np.hanning``, the DFT
is an explicit complex-exponential matrix, the mel weights are built bin by bin with
``math.log``, and frames are cut in a Python loop.
"""

from __future__ import annotations

import math

import numpy as np


def hann_periodic(n: int) -> np.ndarray:
    return np.hanning(n + 1)[:-1]  # the periodic window is the symmetric one of length n + 1, truncated


def mel(f: float) -> float:
    return 1127.0 * math.log(1.0 + f / 700.0)


def mel_weights(n_bins: int = 257, n_bands: int = 64, rate: float = 16000.0, lo: float = 125.0, hi: float = 7500.0):
    lo_mel, hi_mel = mel(lo), mel(hi)
    step = (hi_mel - lo_mel) / (n_bands + 1)
    edges = [lo_mel + i * step for i in range(n_bands + 2)]
    weights = np.zeros((n_bins, n_bands))
    for k in range(1, n_bins):  # DC bin stays 0
        m = mel(k * (rate / 2.0) / (n_bins - 1))
        for b in range(n_bands):
            left, centre, right = edges[b], edges[b + 1], edges[b + 2]
            if left < m <= centre:
                weights[k, b] = (m - left) / (centre - left)
            elif centre < m < right:
                weights[k, b] = (right - m) / (right - centre)
    return weights


def dft_magnitude_matrix(window_length: int = 400, fft_length: int = 512) -> np.ndarray:
    n = np.arange(window_length)[:, None]
    k = np.arange(fft_length // 2 + 1)[None, :]
    return np.exp(-2j * np.pi * n * k / fft_length)  # rows past the window would multiply zero padding


def reference_log_mel(signal: np.ndarray) -> np.ndarray:
    signal = np.asarray(signal, dtype=np.float64)
    window, dft, weights = hann_periodic(400), dft_magnitude_matrix(), mel_weights()
    n_frames = 1 + (len(signal) - 400) // 160
    rows = []
    for t in range(n_frames):
        frame = signal[t * 160 : t * 160 + 400] * window
        rows.append(np.log(np.abs(frame @ dft) @ weights + 0.01))
    return np.array(rows).reshape(n_frames, 64)


def reference_examples(signal_16k: np.ndarray) -> np.ndarray:
    log_mel = reference_log_mel(signal_16k)
    n = log_mel.shape[0] // 96
    return np.stack([log_mel[i * 96 : (i + 1) * 96] for i in range(n)])
