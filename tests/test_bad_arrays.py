"""Bad audio input is refused by name before it costs memory or time (issue 14: causes 6, 9, 11).

Arrays: non-finite samples, channels-first shapes, bad ``sample_rate`` and ``X``. Files: headers
with absurd values, FIFOs and devices, non-finite float WAVs, permission errors with the OS's
reason, and a file that runs out of memory while the rest of its batch goes on.
"""

from __future__ import annotations

import errno
import math
import os
import signal
import struct
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import tone
from zsac import AudioError, ConfigError, DataError, ZeroShotClassifier
from zsac import audio as zaudio
from zsac import inputs as zinputs
from zsac.batch import collect_audio_files
from zsac.datasets.folder import folder_clips
from zsac.features import FeatureCache, extract_examples, file_to_examples

RATE = 16_000


def wav_bytes(rate: int, n_frames: int, *, channels: int = 1, bits: int = 16) -> bytes:
    """A PCM WAV written by hand, so that its header can say anything."""
    block = channels * bits // 8
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, channels, rate, rate * block, block, bits)
    data = struct.pack("<4sI", b"data", n_frames * block) + bytes(n_frames * block)
    body = b"WAVE" + fmt + data
    return struct.pack("<4sI", b"RIFF", len(body)) + body


@pytest.fixture
def no_hang():
    """Fail, rather than hang for ever, should something open a FIFO and wait for a writer."""

    def alarm(signum, frame):
        raise TimeoutError("blocked opening a FIFO")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def mean_embed(examples: np.ndarray) -> np.ndarray:
    """A stand-in for VGGish: one 2-d embedding per example."""
    return np.stack([examples.mean(axis=(1, 2)), examples.std(axis=(1, 2))], axis=1).astype(np.float32)


# ------------------------------------------------------------------------------------------------ arrays


class TestWaveforms:
    def test_nan_waveform_is_refused_by_index(self) -> None:
        good = tone(440, 1.5)
        bad = good.copy()
        bad[100] = np.nan
        with pytest.raises(AudioError, match=r"X\[1\]: .*non-finite samples"):
            zinputs.examples_of([good, bad], "waveforms", sample_rate=RATE)
        inf = good.copy()
        inf[-1] = np.inf
        with pytest.raises(AudioError, match=r"X\[0\]: .*non-finite"):
            zinputs.examples_of([inf], "waveforms", sample_rate=RATE)

    def test_skip_errors_skips_the_nan_waveform(self) -> None:
        good, bad = tone(440, 1.5), np.full(RATE * 2, np.nan, dtype=np.float32)
        found = zinputs.examples_of([good, bad, good], "waveforms", sample_rate=RATE, skip_errors=True)
        assert found.kept == [0, 2]
        assert list(found.failures) == ["#1"] and "non-finite" in found.failures["#1"]

    def test_channels_first_array_is_refused(self) -> None:
        stereo = np.stack([tone(440, 5.0), tone(880, 5.0)])  # (2, 80000): channels first
        with pytest.raises(AudioError, match=r"X\[0\]: .*\(2, 80000\) looks channels-first.*waveform\.T"):
            zinputs.examples_of([stereo], "waveforms", sample_rate=RATE)
        assert zinputs.examples_of([stereo.T], "waveforms", sample_rate=RATE).examples[0].shape == (5, 96, 64)
        with pytest.raises(AudioError, match="channels-first"):  # more channels than frames
            zaudio.check_waveform(np.zeros((50, 100), dtype=np.float32))

    def test_too_many_channels_frames_first_is_not_called_channels_first(self) -> None:
        # Before: "(100000, 65) looks channels-first ... e.g. waveform.T", wrong for a frames-first array.
        with pytest.raises(AudioError, match=r"\(100000, 65\) has 65 channels, more than the 64 zsac reads") as err:
            zaudio.check_waveform(np.zeros((100_000, 65), dtype=np.float32))
        assert "channels-first" not in str(err.value) and "waveform.T" not in str(err.value)

    @pytest.mark.parametrize("pad_short", [True, False])
    def test_one_frames_channels_clip_as_x_is_not_read_as_thousands_of_clips(self, pad_short) -> None:
        stereo = np.zeros((48_000, 2), dtype=np.float32)
        # Before: 48,000 clips with pad_short, else "X[0]: clip of 0.000 s is shorter...".
        with pytest.raises(
            DataError, match=r"\(48000, 2\) looks like one clip of shape \(frames, channels\).*\[waveform\]"
        ):
            zinputs.examples_of(stereo, "waveforms", sample_rate=RATE, pad_short=pad_short)
        assert len(zinputs.examples_of([stereo], "waveforms", sample_rate=RATE).examples) == 1
        # A real (n_clips, n_samples) batch still reads as clips.
        assert len(zinputs.examples_of(np.zeros((3, 16_000), np.float32), "waveforms", sample_rate=RATE).kept) == 3

    @pytest.mark.parametrize(
        "rate", [math.nan, math.inf, -math.inf, 0, -16_000, 1.5, 500, 10**7, 10**400, -(10**400), True, "16000"]
    )
    def test_bad_sample_rate_is_a_config_error(self, rate) -> None:
        with pytest.raises(ConfigError, match="sample_rate"):
            zinputs.input_kind([tone(440, 1.0)], rate)

    def test_huge_integer_rate_is_a_config_error_not_an_overflow(self) -> None:
        # Before: OverflowError: int too large to convert to float, from math.isfinite.
        with pytest.raises(ConfigError, match="sample_rate"):
            zaudio.check_sample_rate(10**400)

    def test_x_none_is_a_data_error(self) -> None:
        for X in (None, 3):
            with pytest.raises(DataError, match="X must be"):
                zinputs.input_kind(X, None)

    def test_fit_skips_a_nan_waveform_and_lists_it(self) -> None:
        clips = [tone(f, 2.0) for f in (200, 220, 3000, 3200)]
        clips.insert(2, np.full(2 * RATE, np.nan, dtype=np.float32))
        labels = ["hum", "hum", "hum", "whistle", "whistle"]
        settings = {"conv_channels": (4, 8, 8, 8), "fc_units": 8, "max_epochs": 1, "quantize": False}
        model = ZeroShotClassifier(**settings, progress=False, feature_cache=False, lam=1.0, semantic="SLE")
        model.fit(clips, labels, sample_rate=RATE, skip_errors=True)
        assert list(model.fit_failures_) == ["#2"] and "non-finite" in model.fit_failures_["#2"]
        # The API refuses a NaN waveform whatever the inference (it gave [0.5, 0.5] with int8).
        with pytest.raises(AudioError, match=r"X\[0\]: .*non-finite"):
            model.predict_proba([np.full(2 * RATE, np.nan, dtype=np.float32)], sample_rate=RATE)
        with pytest.raises(ConfigError, match="sample_rate"):
            model.predict_proba([clips[0]], sample_rate=math.nan)
        with pytest.raises(DataError, match="X must be"):
            model.predict_proba(None)


# ------------------------------------------------------------------------------------------------ files


class TestHeaders:
    def test_absurd_sample_rate_is_refused_before_reading(self, tmp_path: Path) -> None:
        path = tmp_path / "one_hertz.wav"
        path.write_bytes(wav_bytes(1, 2000))  # 4 KB; once 1.43 GB, resampled to 16 kHz
        for read in (zaudio.load_audio, file_to_examples):
            with pytest.raises(AudioError, match=r"one_hertz\.wav.*sample rate of 1 Hz"):
                read(path)
        (tmp_path / "fast.wav").write_bytes(wav_bytes(5_000_000, 100))
        with pytest.raises(AudioError, match="5000000 Hz"):
            zaudio.load_audio(tmp_path / "fast.wav")

    def test_frames_the_file_cannot_hold_are_refused(self) -> None:
        """The guard in _check_header, checked on header values alone.

        libsndfile clamps the frame count of a WAV, an AIFF (COMM and SSND sizes both inflated)
        and an AU file to what the file holds (see the next test), so no real file of these
        formats reaches the guard; it stays for containers or libsndfile versions that do not clamp.
        """
        handle = types.SimpleNamespace(samplerate=RATE, frames=10**9, channels=2, subtype="PCM_16", format="WAV")
        with pytest.raises(AudioError, match=r"declares 1000000000 frames.*holds only 4096 bytes"):
            zaudio._check_header("big.wav", handle, 4096)
        compressed = types.SimpleNamespace(samplerate=RATE, frames=10**9, channels=2, subtype="PCM_16", format="FLAC")
        zaudio._check_header("big.flac", compressed, 4096)  # compressed: no byte count to compare

    @pytest.mark.parametrize("kind", ["au", "aiff"])
    def test_real_headers_declaring_more_frames_allocate_nothing_for_them(self, tmp_path: Path, kind) -> None:
        """An AU or AIFF header declaring 10**8 frames over 100 real ones: libsndfile clamps it to 100."""
        frames, declared = 100, 10**8
        samples = b"\0\1" * frames
        if kind == "au":  # .snd header: data offset, data size, 3 = 16-bit PCM, rate, channels
            data = struct.pack(">4sIIIII", b".snd", 24, 2 * declared, 3, RATE, 1) + samples
        else:  # FORM/AIFF with COMM (channels, frames, bits, 80-bit rate) and an SSND that claims it all
            rate = struct.pack(">HQ", 16383 + 13, int(RATE / 2**13 * 2**63))  # 16000 = 1.953125 * 2**13
            comm = struct.pack(">hIh", 1, declared, 16) + rate
            ssnd = struct.pack(">II", 0, 0) + samples
            body = b"AIFF" + b"COMM" + struct.pack(">I", len(comm)) + comm
            body += b"SSND" + struct.pack(">I", 8 + 2 * declared) + ssnd
            data = b"FORM" + struct.pack(">I", 4 + len(body) + 2 * declared) + body
        path = tmp_path / f"big.{kind}"
        path.write_bytes(data)
        with sf.SoundFile(path) as handle:  # should this fail, real files reach the guard: test them with it
            assert handle.samplerate == RATE and handle.frames == frames  # clamped by libsndfile
        assert zaudio.load_audio(path)[0].shape == (frames,)

    def test_a_memory_error_fails_only_its_file(self, tmp_path: Path, monkeypatch) -> None:
        good, bad = tmp_path / "good.wav", tmp_path / "huge.wav"
        for path in (good, bad):
            sf.write(path, tone(440, 2.0), RATE)
        real_open = zaudio._open_sound

        def exhausted(path):
            if Path(path).name == "huge.wav":
                raise MemoryError
            return real_open(path)

        monkeypatch.setattr(zaudio, "_open_sound", exhausted)
        batch = zinputs.file_segments([bad, good], mean_embed, skip_errors=True)
        assert batch.names == [str(good)] and len(batch.segments[0]) == 2
        assert "too large" in batch.failures[str(bad)] and "huge.wav" in batch.failures[str(bad)]
        extracted = extract_examples([bad, good], skip_errors=True, progress=False)
        assert extracted.paths == [good] and "huge.wav" in extracted.failures[str(bad)]
        with pytest.raises(AudioError, match="huge.wav"):
            zinputs.file_segments([bad, good], mean_embed)

    def test_one_bad_header_does_not_take_the_batch_down(self, tmp_path: Path) -> None:
        bad, good = tmp_path / "bad.wav", tmp_path / "good.wav"
        bad.write_bytes(wav_bytes(1, 20_000))
        sf.write(good, tone(440, 3.0), RATE)
        batch = zinputs.file_segments([bad, good], mean_embed, skip_errors=True)
        assert batch.names == [str(good)] and list(batch.failures) == [str(bad)]

    def test_non_finite_float_wav_names_the_file(self, tmp_path: Path) -> None:
        samples = tone(440, 2.0)
        samples[5000] = np.nan
        path = tmp_path / "nan.wav"
        sf.write(path, samples, RATE, subtype="FLOAT")
        for read in (zaudio.load_audio, file_to_examples):
            with pytest.raises(AudioError, match=r"nan\.wav.*NaN or infinite"):
                read(path)
        with pytest.raises(AudioError, match=r"nan\.wav"):
            zinputs.file_segments([path], mean_embed)


class TestSpecialFiles:
    def test_fifo_is_refused_without_opening_it(self, tmp_path: Path, no_hang) -> None:
        fifo = tmp_path / "stream.wav"
        os.mkfifo(fifo)
        for read in (zaudio.load_audio, file_to_examples, FeatureCache(tmp_path / "cache").examples):
            with pytest.raises(AudioError, match=r"stream\.wav.* is a FIFO, not a regular file"):
                read(fifo)
        # With a cache, hashing the file used to open it and wait for a writer for ever.
        extracted = extract_examples([fifo], cache=FeatureCache(tmp_path / "cache"), skip_errors=True, progress=False)
        assert "FIFO" in extracted.failures[str(fifo)]

    def test_device_is_refused(self) -> None:
        with pytest.raises(AudioError, match="character device"):
            zaudio.load_audio("/dev/zero")  # would be read for ever

    def test_fifo_in_folders_is_named_not_dropped(self, tmp_path: Path, no_hang) -> None:
        for name in ("a", "b"):
            (tmp_path / "data" / name).mkdir(parents=True)
            sf.write(tmp_path / "data" / name / "clip.wav", tone(440, 1.0), RATE)
        fifo = tmp_path / "data" / "a" / "pipe.wav"
        os.mkfifo(fifo)
        assert fifo in [clip.path for clip in folder_clips(tmp_path / "data")]
        assert fifo in collect_audio_files([tmp_path / "data"])
        batch = zinputs.file_segments(collect_audio_files([tmp_path / "data"]), mean_embed, skip_errors=True)
        assert "FIFO" in batch.failures[str(fifo)] and len(batch.names) == 2


class TestPermissions:
    def test_permission_denied_says_so(self, tmp_path: Path, monkeypatch) -> None:
        path = tmp_path / "locked.wav"
        sf.write(path, tone(440, 1.0), RATE)
        real_open = os.open

        def denied(name, *args, **kwargs):
            if os.fspath(name) == str(path):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_open(name, *args, **kwargs)

        monkeypatch.setattr(os, "open", denied)  # we run as root, who is never denied
        with pytest.raises(AudioError, match=r"locked\.wav.*Permission denied") as caught:
            file_to_examples(path)
        assert "System error" not in str(caught.value)

    @pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads mode-000 files")
    def test_mode_000_file_says_permission_denied(self, tmp_path: Path) -> None:
        path = tmp_path / "locked.wav"
        sf.write(path, tone(440, 1.0), RATE)
        path.chmod(0)
        with pytest.raises(AudioError, match="Permission denied"):
            zaudio.load_audio(path)
