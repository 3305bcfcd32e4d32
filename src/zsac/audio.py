"""Audio loading and the VGGish log-mel front end.

The front end follows Google's VGGish input pipeline, which the paper uses
(Section III-B): 16 kHz mono; 25-ms periodic-Hann frames every 10 ms; the
magnitude of a 512-point rFFT; 64 HTK-mel bands between 125 and 7500 Hz;
``log(mel + 0.01)``; non-overlapping examples of 96 frames (0.96 s).

It runs in numpy and scipy on the CPU, once per file; features are cached on disk
(:mod:`zsac.features`). Files are read a block (60 s) at a time (:func:`iter_file_examples`),
with results identical to reading them whole, and are checked before anything is allocated
from their header: only regular files (a FIFO would block), sample rates of 1-768 kHz, no
more frames than the file can hold, finite samples. zsac 0.1 also had a torch copy of it that no code path used;
it was removed, so that reading audio never loads torch.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import stat
from collections.abc import Iterator

import numpy as np
import scipy.fft
import soundfile as sf
import soxr

from . import _files
from ._files import file_kind, os_reason
from .errors import AudioError, ConfigError

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
    "iter_file_examples",
    "ExampleFramer",
    "check_regular_file",
    "check_sample_rate",
    "check_waveform",
    "BLOCK_SECONDS",
    "MIN_SAMPLE_RATE",
    "MAX_SAMPLE_RATE",
    "MAX_CHANNELS",
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

#: Sample rates zsac reads, in Hz. Below 1 kHz (a 500-Hz band) a file holds almost none of the
#: 125-7500 Hz that VGGish hears, and upsampling it to 16 kHz would multiply its size by more
#: than 16: a 4-KB file that declared 1 Hz took 1.43 GB. 768 kHz is the highest rate that audio hardware and
#: formats in use record; a header above it is corrupt or hostile.
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 768_000
#: Most channels a waveform *array* may have. More than that is almost always a channels-first
#: array ((channels, frames) instead of soundfile's (frames, channels)) read the wrong way round.
MAX_CHANNELS = 64
#: Files are decoded, resampled and cut into examples this many seconds at a time, so memory
#: stays flat however long a file is (a 3-hour file took 6.4 GB when read whole).
BLOCK_SECONDS = 60.0
#: Most samples (frames x channels) decoded at once: 60 s of 48-kHz stereo, 23 MB as float32.
#: Bounds a block of a file with many channels (libsndfile allows up to 1024).
MAX_BLOCK_SAMPLES = 60 * 48_000 * 2
#: Samples between the starts of two examples (96 hops of 10 ms).
EXAMPLE_STEP_SAMPLES = EXAMPLE_FRAMES * STFT_HOP_LENGTH

# Bytes per sample of the uncompressed subtypes, for checking a header's frame count against
# the file's size; only in containers that store samples as they are.
_SUBTYPE_BYTES = {
    "PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8, "ULAW": 1, "ALAW": 1,
}  # fmt: skip
_UNCOMPRESSED_FORMATS = frozenset({"WAV", "WAVEX", "W64", "RF64", "AIFF", "AU", "CAF", "RAW"})


def check_regular_file(path: str | os.PathLike[str], *, what: str = "audio file") -> os.stat_result:
    """Stat ``path`` without opening it, and refuse anything but a regular file.

    Opening a FIFO blocks until a writer comes, and a device can be read forever, so both are
    refused by their ``stat`` before any ``open``.

    Raises
    ------
    AudioError
        The file is missing, cannot be stat-ed (the OS's reason), or is a FIFO, device,
        socket or folder.
    """
    return _files.check_regular_file(path, what=what, error=AudioError)


@contextlib.contextmanager
def _open_sound(path: str | os.PathLike[str]) -> Iterator[sf.SoundFile]:
    """Open an audio file for reading, after checking that it is a regular file and that its header is sane."""
    name = os.fspath(path)
    check_regular_file(name)
    try:
        # O_NONBLOCK: should the path have become a FIFO since the stat, open returns at once.
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise AudioError(f"cannot read audio file {name!r}: {os_reason(exc)}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise AudioError(f"audio file {name!r} is {file_kind(info.st_mode)}, not a regular file")
        try:
            # closefd=False: the descriptor is ours to close, whether libsndfile opens it or not.
            handle = sf.SoundFile(fd, closefd=False)
        except (sf.LibsndfileError, RuntimeError, OSError, ValueError, TypeError) as exc:
            raise AudioError(f"cannot read audio file {name!r}: {exc}") from exc
        with handle:
            _check_header(name, handle, info.st_size)
            yield handle
    finally:
        os.close(fd)


def _check_header(name: str, handle: sf.SoundFile, size: int) -> None:
    """Refuse header values that no real file has, before anything is allocated from them."""
    rate = handle.samplerate
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"audio file {name!r} declares a sample rate of {rate} Hz, outside the "
            f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz that zsac reads; its header is corrupt"
        )
    width = _SUBTYPE_BYTES.get(handle.subtype)
    if width is not None and handle.format in _UNCOMPRESSED_FORMATS:
        declared = handle.frames * handle.channels * width
        if declared > size:
            raise AudioError(
                f"audio file {name!r} declares {handle.frames} frames of {handle.channels} channel(s) "
                f"({declared} bytes) but holds only {size} bytes; its header is corrupt"
            )


def _read_block(handle: sf.SoundFile, frames: int) -> np.ndarray:
    if handle.subtype.startswith("PCM"):
        # libsndfile left-aligns integer PCM in int32, so x * 2**-31 is exactly its own
        # float scaling (x / 32768 for 16 bit), and several times faster than dtype="float32".
        block = handle.read(frames, dtype="int32", always_2d=False).astype(np.float32)
        block *= np.float32(2.0**-31)
        return block
    return handle.read(frames, dtype="float32", always_2d=False)


def file_seconds(path: str | os.PathLike[str]) -> float:
    """Duration of an audio file in seconds, from its (checked) header; nothing is decoded.

    Raises
    ------
    AudioError
        As :func:`iter_file_examples` does for a file it cannot open.
    """
    with _open_sound(path) as handle:
        return handle.frames / handle.samplerate


def load_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Read a whole audio file with soundfile.

    Long files are better streamed with :func:`iter_file_examples`, which holds one block at a time.

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
        The file is missing, not a regular file, unreadable (with the OS's reason), empty,
        declares an absurd sample rate or more frames than it holds, or holds NaN or
        infinite samples.
    """
    name = os.fspath(path)
    with _open_sound(name) as handle:
        try:
            waveform = _read_block(handle, -1)
        except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
            raise AudioError(f"cannot read audio file {name!r}: {exc}") from exc
        except MemoryError:
            raise AudioError(f"audio file {name!r} is too large to read into memory") from None
        sample_rate = handle.samplerate
    if waveform.size == 0:
        raise AudioError(f"audio file {name!r} holds no samples")
    if not np.isfinite(waveform).all():
        raise AudioError(f"audio file {name!r} holds NaN or infinite samples")
    return waveform, int(sample_rate)


def check_sample_rate(sample_rate: object) -> int:
    """A waveform's sample rate, checked: a whole number of Hz within ``MIN_SAMPLE_RATE``-``MAX_SAMPLE_RATE``.

    Raises
    ------
    ConfigError
        For NaN, infinity, a fraction, zero, a negative rate or one out of range.
    """
    bad = isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.integer, np.floating))
    if not bad and not isinstance(sample_rate, (int, np.integer)):
        # Integers skip isfinite, which converts to float: 10**400 raised OverflowError.
        bad = not math.isfinite(sample_rate) or sample_rate != int(sample_rate)
    if bad or not MIN_SAMPLE_RATE <= int(sample_rate) <= MAX_SAMPLE_RATE:
        raise ConfigError(
            f"sample_rate must be a whole number of Hz from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE}, got {sample_rate!r}"
        )
    return int(sample_rate)


def check_waveform(waveform: object) -> np.ndarray:
    """A waveform array, checked: real numbers, [frames] or [frames, channels], non-empty, finite.

    Raises
    ------
    AudioError
        For another type or shape, a channels-first array (more channels than frames), more
        than ``MAX_CHANNELS`` channels, no samples, or NaN or infinite samples.
    """
    try:
        array = np.asarray(waveform)
    except (ValueError, TypeError) as exc:  # e.g. ragged nested lists
        raise AudioError(f"a waveform must be an array of samples: {exc}") from None
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise AudioError(f"a waveform must hold real numbers, got dtype {array.dtype}")
    if array.ndim not in (1, 2):
        raise AudioError(f"waveform must be [samples] or [samples, channels], got shape {array.shape}")
    if array.size == 0:
        raise AudioError("waveform holds no samples")
    if array.ndim == 2 and MAX_CHANNELS < array.shape[1] <= array.shape[0]:
        raise AudioError(
            f"waveform of shape {array.shape} has {array.shape[1]} channels, more than the {MAX_CHANNELS} zsac reads"
        )
    if array.ndim == 2 and array.shape[1] > array.shape[0]:
        raise AudioError(
            f"waveform of shape {array.shape} looks channels-first: read as (frames, channels) it has "
            f"{array.shape[1]} channels of {array.shape[0]} samples; pass it as (frames, channels), e.g. waveform.T"
        )
    if not np.isfinite(array).all():
        raise AudioError(f"waveform holds {int((~np.isfinite(array)).sum())} non-finite samples (NaN or infinite)")
    return array


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
    if not sample_rate > 0:  # also NaN
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


def _too_short(n_samples: int) -> AudioError:
    return AudioError(
        f"clip of {n_samples / SAMPLE_RATE:.3f} s is shorter than one VGGish example "
        f"({MIN_EXAMPLE_SAMPLES / SAMPLE_RATE:.3f} s); pass pad_short=True to zero-pad it"
    )


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

    Raises
    ------
    AudioError
        See :func:`check_waveform`; also for a clip too short without ``pad_short``.
    """
    dtype = np.dtype(dtype)
    mono = to_mono(check_waveform(waveform)).astype(dtype, copy=False)
    mono = resample(mono, sample_rate)
    if mono.shape[0] < MIN_EXAMPLE_SAMPLES:
        if not pad_short:
            raise _too_short(mono.shape[0])
        mono = np.pad(mono, (0, MIN_EXAMPLE_SAMPLES - mono.shape[0]))
    log_mel = log_mel_spectrogram(mono, dtype=dtype)
    n_examples = log_mel.shape[0] // EXAMPLE_FRAMES
    return log_mel[: n_examples * EXAMPLE_FRAMES].reshape(n_examples, EXAMPLE_FRAMES, NUM_MEL_BANDS)


class ExampleFramer:
    """Cuts a stream of 16-kHz mono samples into the examples the whole signal would give.

    Examples do not overlap: example ``e`` is frames ``96e .. 96e+95``, i.e. samples
    ``15360e .. 15360e+15599``. Each :meth:`push` turns every example that lies wholly in
    the samples so far into log-mel, and carries the rest (the samples from the next
    example's start on, which the last frames of a block share with the next) into the
    next push, so the frames and examples are exactly those of :func:`waveform_to_examples`.

    Parameters
    ----------
    dtype : np.float32 or np.float64
    """

    def __init__(self, *, dtype: np.dtype | type = np.float32) -> None:
        self.dtype = np.dtype(dtype)
        self._carry = np.empty(0, dtype=self.dtype)
        self.n_samples = 0
        self.n_examples = 0

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Examples [shape=(k, 96, 64)] completed by ``samples`` (k may be 0)."""
        samples = np.asarray(samples, dtype=self.dtype)
        self.n_samples += samples.shape[0]
        signal = np.concatenate([self._carry, samples]) if self._carry.size else samples
        if signal.shape[0] < MIN_EXAMPLE_SAMPLES:
            self._carry = signal.copy()
            return np.empty((0, EXAMPLE_FRAMES, NUM_MEL_BANDS), dtype=self.dtype)
        n = 1 + (signal.shape[0] - MIN_EXAMPLE_SAMPLES) // EXAMPLE_STEP_SAMPLES
        used = (n - 1) * EXAMPLE_STEP_SAMPLES + MIN_EXAMPLE_SAMPLES  # exactly n * 96 frames
        log_mel = log_mel_spectrogram(signal[:used], dtype=self.dtype)
        self._carry = signal[n * EXAMPLE_STEP_SAMPLES :].copy()
        self.n_examples += n
        return log_mel.reshape(n, EXAMPLE_FRAMES, NUM_MEL_BANDS)

    def finish(self, *, pad_short: bool = False) -> np.ndarray:
        """The padded example of a stream shorter than one example, when ``pad_short``; else none.

        Raises
        ------
        AudioError
            The stream held no samples, or was shorter than one example without ``pad_short``.
        """
        empty = np.empty((0, EXAMPLE_FRAMES, NUM_MEL_BANDS), dtype=self.dtype)
        if self.n_examples:
            return empty
        if self.n_samples == 0:
            raise AudioError("holds no samples")
        if not pad_short:
            raise _too_short(self.n_samples)
        return self.push(np.zeros(MIN_EXAMPLE_SAMPLES - self._carry.shape[0], dtype=self.dtype))


def iter_file_examples(
    path: str | os.PathLike[str],
    *,
    dtype: np.dtype | type = np.float32,
    pad_short: bool = False,
    block_seconds: float | None = None,
) -> Iterator[np.ndarray]:
    """Log-mel examples of a file, a block of audio at a time, so that memory stays flat.

    Each block of ``block_seconds`` of the file is decoded, checked, averaged to mono,
    resampled by one :class:`soxr.ResampleStream` (whose state carries across blocks) and cut
    by an :class:`ExampleFramer`; together the blocks give the examples of
    :func:`file_to_examples` on the whole file.

    Parameters
    ----------
    path : str or path-like
    dtype : np.float32 or np.float64
    pad_short : bool
        See :func:`waveform_to_examples`.
    block_seconds : float or None
        Audio per block; None is ``BLOCK_SECONDS`` (60 s).

    Yields
    ------
    np.ndarray [shape=(k, 96, 64)]
        Consecutive examples, k >= 1.

    Raises
    ------
    AudioError
        Naming the file: see :func:`load_audio`, and a clip too short without ``pad_short``.
    """
    name = os.fspath(path)
    dtype = np.dtype(dtype)
    seconds = BLOCK_SECONDS if block_seconds is None else block_seconds
    framer = ExampleFramer(dtype=dtype)
    with _open_sound(name) as handle:
        rate = handle.samplerate
        frames = max(1, min(int(seconds * rate), MAX_BLOCK_SAMPLES // handle.channels))
        stream = None
        if rate != SAMPLE_RATE:
            stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype=dtype.name, quality="HQ")
        while True:
            try:
                block = _read_block(handle, frames)
            except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
                raise AudioError(f"cannot read audio file {name!r}: {exc}") from exc
            last = block.shape[0] < frames
            if not np.isfinite(block).all():
                raise AudioError(f"audio file {name!r} holds NaN or infinite samples")
            mono = to_mono(block).astype(dtype, copy=False)
            if stream is not None:
                mono = stream.resample_chunk(mono, last=last)
            examples = framer.push(mono)
            if examples.shape[0]:
                yield examples
            if last:
                break
    try:
        padded = framer.finish(pad_short=pad_short)
    except AudioError as exc:
        message = str(exc)
        raise AudioError(
            f"audio file {name!r} {message}" if message == "holds no samples" else f"{name!r}: {message}"
        ) from exc
    if padded.shape[0]:
        yield padded


def file_to_examples(
    path: str | os.PathLike[str], *, dtype: np.dtype | type = np.float32, pad_short: bool = False
) -> np.ndarray:
    """All log-mel examples of a file (:func:`iter_file_examples`, joined); errors name the file.

    Returns
    -------
    np.ndarray [shape=(n_examples, 96, 64)]
    """
    return np.concatenate(list(iter_file_examples(path, dtype=dtype, pad_short=pad_short)))
