"""Audio loading and the VGGish log-mel front end.

The front end follows Google's VGGish input pipeline, which the paper uses
(Section III-B): 16 kHz mono; 25-ms periodic-Hann frames every 10 ms; the
magnitude of a 512-point rFFT; 64 HTK-mel bands between 125 and 7500 Hz;
``log(mel + 0.01)``; non-overlapping examples of 96 frames (0.96 s).

It runs in numpy and scipy on the CPU, once per file; features are cached on disk
(:mod:`zsac.features`). zsac 0.1 also had a torch copy of it that no code path used;
it was removed, so that reading audio never loads torch.
"""

from __future__ import annotations

import functools
import logging
import os

import numpy as np
import scipy.fft
import soundfile as sf
import soxr

from .errors import AudioError

__all__ = [
    "SAMPLE_RATE",
    "NUM_MEL_BANDS",
    "EXAMPLE_FRAMES",
    "MIN_EXAMPLE_SAMPLES",
    "FRONTEND_PARAMS",
    "load_audio",
    "to_mono",
    "resample",
    "hertz_to_mel",
    "mel_filterbank",
    "periodic_hann",
    "log_mel_spectrogram",
    "waveform_to_examples",
    "file_to_examples",
]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
STFT_WINDOW_LENGTH = 400  # 25 ms at 16 kHz
STFT_HOP_LENGTH = 160  # 10 ms at 16 kHz
FFT_LENGTH = 512  # next power of two above the window; the frame is zero-padded at the end
NUM_FFT_BINS = FFT_LENGTH // 2 + 1
NUM_MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01  # keeps log() finite on silence
EXAMPLE_FRAMES = 96  # 0.96 s of 10-ms frames; examples do not overlap
#: Fewest 16-kHz samples that give one whole example: 96 frames of 400 samples, hop 160.
MIN_EXAMPLE_SAMPLES = STFT_WINDOW_LENGTH + (EXAMPLE_FRAMES - 1) * STFT_HOP_LENGTH

#: Everything that determines the front end's output; part of the feature-cache key.
FRONTEND_PARAMS = {
    "sample_rate": SAMPLE_RATE,
    "window": STFT_WINDOW_LENGTH,
    "hop": STFT_HOP_LENGTH,
    "fft": FFT_LENGTH,
    "mel_bands": NUM_MEL_BANDS,
    "fmin": MEL_MIN_HZ,
    "fmax": MEL_MAX_HZ,
    "log_offset": LOG_OFFSET,
    "example_frames": EXAMPLE_FRAMES,
    "resampler": f"soxr-{soxr.__version__}-HQ",
}


# --------------------------------------------------------------------------- I/O


def load_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read an audio file with soundfile.

    Parameters
    ----------
    path : str or path-like
        Any format that libsndfile reads: WAV (8/16/24/32-bit int, float), FLAC, OGG, ...

    Returns
    -------
    waveform : np.ndarray [shape=(n_samples,) or (n_samples, n_channels)], float32
        Samples scaled to [-1, 1]; mono files come back one-dimensional.
    sample_rate : int

    Raises
    ------
    AudioError
        The file is missing, unreadable, empty, or holds NaN or infinite samples.
    """
    if not os.path.isfile(path):
        # libsndfile would only say "System error".
        raise AudioError(f"audio file {os.fspath(path)!r} does not exist" if not os.path.exists(path)
                         else f"{os.fspath(path)!r} is not a file")  # fmt: skip
    try:
        with sf.SoundFile(os.fspath(path)) as handle:
            sample_rate = handle.samplerate
            if handle.subtype.startswith("PCM"):
                # libsndfile left-aligns integer PCM in int32, so x * 2**-31 is exactly its own
                # float scaling (x / 32768 for 16 bit), and several times faster than dtype="float32".
                waveform = handle.read(dtype="int32", always_2d=False).astype(np.float32)
                waveform *= np.float32(2.0**-31)
            else:
                waveform = handle.read(dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioError(f"cannot read audio file {os.fspath(path)!r}: {exc}") from exc
    if waveform.size == 0:
        raise AudioError(f"audio file {os.fspath(path)!r} holds no samples")
    if not np.isfinite(waveform).all():
        raise AudioError(f"audio file {os.fspath(path)!r} holds NaN or infinite samples")
    return waveform, int(sample_rate)


def to_mono(waveform: np.ndarray) -> np.ndarray:
    """Average channels: [n_samples, n_channels] (soundfile's layout) -> [n_samples]."""
    waveform = np.asarray(waveform)
    if waveform.ndim == 1:
        return waveform
    if waveform.ndim == 2:
        return waveform.mean(axis=1, dtype=waveform.dtype)
    raise AudioError(f"waveform must be [samples] or [samples, channels], got shape {waveform.shape}")


def resample(waveform: np.ndarray, sample_rate: int, *, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a mono waveform with soxr (high quality); a no-op at the target rate."""
    if sample_rate <= 0:
        raise AudioError(f"sample rate must be positive, got {sample_rate}")
    if sample_rate == target_rate:
        return waveform
    return soxr.resample(waveform, sample_rate, target_rate, quality="HQ")


# --------------------------------------------------------------------------- maths


def hertz_to_mel(frequency_hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale, ``1127 ln(1 + f / 700)``."""
    return 1127.0 * np.log1p(np.asarray(frequency_hz, dtype=np.float64) / 700.0)


@functools.lru_cache(maxsize=8)
def mel_filterbank(
    *,
    num_bands: int = NUM_MEL_BANDS,
    num_fft_bins: int = NUM_FFT_BINS,
    sample_rate: int = SAMPLE_RATE,
    fmin: float = MEL_MIN_HZ,
    fmax: float = MEL_MAX_HZ,
) -> np.ndarray:
    """VGGish's mel weights.

    ``num_bands + 2`` edges evenly spaced in mel between ``fmin`` and ``fmax``;
    triangles linear in mel, unnormalised (peak 1); the DC bin gets weight 0.

    Returns
    -------
    np.ndarray [shape=(num_fft_bins, num_bands)], float64, read-only
    """
    bin_mel = hertz_to_mel(np.linspace(0.0, sample_rate / 2.0, num_fft_bins))
    edges = np.linspace(hertz_to_mel(fmin), hertz_to_mel(fmax), num_bands + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bin_mel[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0  # VGGish zeroes the DC bin
    weights.setflags(write=False)
    return weights


def periodic_hann(length: int) -> np.ndarray:
    """Periodic Hann window, ``0.5 - 0.5 cos(2 pi n / length)`` (float64)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi / length * np.arange(length))


@functools.lru_cache(maxsize=4)
def _mel_matrix(dtype: np.dtype) -> np.ndarray:
    weights = mel_filterbank().astype(dtype)
    weights.setflags(write=False)
    return weights


@functools.lru_cache(maxsize=4)
def _hann(dtype: np.dtype) -> np.ndarray:
    window = periodic_hann(STFT_WINDOW_LENGTH).astype(dtype)
    window.setflags(write=False)
    return window


def log_mel_spectrogram(waveform_16k: np.ndarray, *, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """VGGish log-mel spectrogram of a 16-kHz mono waveform.

    Frames of 400 samples every 160, with no padding or centring; a tail shorter than
    one frame is dropped.

    Parameters
    ----------
    waveform_16k : np.ndarray [shape=(n_samples,)]
    dtype : np.float32 or np.float64
        The whole computation runs in this precision.

    Returns
    -------
    np.ndarray [shape=(n_frames, 64)]
        ``n_frames = 1 + (n_samples - 400) // 160``, or 0 when the input is shorter than a frame.
    """
    dtype = np.dtype(dtype)
    signal = np.asarray(waveform_16k, dtype=dtype)
    if signal.ndim != 1:
        raise AudioError(f"log_mel_spectrogram expects a mono waveform [samples], got shape {signal.shape}")
    if signal.shape[0] < STFT_WINDOW_LENGTH:
        return np.empty((0, NUM_MEL_BANDS), dtype=dtype)
    frames = np.lib.stride_tricks.sliding_window_view(signal, STFT_WINDOW_LENGTH)[::STFT_HOP_LENGTH]
    # Window straight into a zero-padded FFT buffer: one pass, no extra copy for the padding.
    padded = np.zeros((frames.shape[0], FFT_LENGTH), dtype=dtype)
    np.multiply(frames, _hann(dtype), out=padded[:, :STFT_WINDOW_LENGTH])
    # scipy's pocketfft vectorises over frames: about 5x numpy's rfft on float32 frames.
    magnitude = np.abs(scipy.fft.rfft(padded, axis=1, overwrite_x=True))
    mel = magnitude @ _mel_matrix(dtype)
    return np.log(mel + dtype.type(LOG_OFFSET))


def waveform_to_examples(
    waveform: np.ndarray,
    sample_rate: int,
    *,
    dtype: np.dtype | type = np.float32,
    pad_short: bool = False,
) -> np.ndarray:
    """Cut a waveform into VGGish log-mel examples.

    Stereo becomes mono by the mean over channels; other rates are resampled to
    16 kHz with soxr. Leftover frames after the last whole example are dropped, so
    a 5-s clip gives 5 examples.

    Parameters
    ----------
    waveform : np.ndarray [shape=(n_samples,) or (n_samples, n_channels)]
    sample_rate : int
    dtype : np.float32 or np.float64
    pad_short : bool
        A clip shorter than one example (``MIN_EXAMPLE_SAMPLES`` = 15,600 samples at
        16 kHz, 0.975 s) raises :class:`AudioError` by default; with ``pad_short=True``
        it is zero-padded at the end to exactly one example.

    Returns
    -------
    np.ndarray [shape=(n_examples, 96, 64)]
    """
    dtype = np.dtype(dtype)
    mono = to_mono(np.asarray(waveform)).astype(dtype, copy=False)
    if mono.shape[0] == 0:
        raise AudioError("waveform holds no samples")
    mono = resample(mono, sample_rate)
    if mono.shape[0] < MIN_EXAMPLE_SAMPLES:
        if not pad_short:
            raise AudioError(
                f"clip of {mono.shape[0] / SAMPLE_RATE:.3f} s is shorter than one VGGish example "
                f"({MIN_EXAMPLE_SAMPLES / SAMPLE_RATE:.3f} s); pass pad_short=True to zero-pad it"
            )
        mono = np.pad(mono, (0, MIN_EXAMPLE_SAMPLES - mono.shape[0]))
    log_mel = log_mel_spectrogram(mono, dtype=dtype)
    n_examples = log_mel.shape[0] // EXAMPLE_FRAMES
    return log_mel[: n_examples * EXAMPLE_FRAMES].reshape(n_examples, EXAMPLE_FRAMES, NUM_MEL_BANDS)


def file_to_examples(
    path: str | os.PathLike[str], *, dtype: np.dtype | type = np.float32, pad_short: bool = False
) -> np.ndarray:
    """:func:`load_audio` then :func:`waveform_to_examples`; errors name the file.

    Returns
    -------
    np.ndarray [shape=(n_examples, 96, 64)]
    """
    waveform, sample_rate = load_audio(path)
    try:
        return waveform_to_examples(waveform, sample_rate, dtype=dtype, pad_short=pad_short)
    except AudioError as exc:
        raise AudioError(f"{os.fspath(path)!r}: {exc}") from exc
