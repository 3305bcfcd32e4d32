"""zsac.audio: loading, and the VGGish front end against an independent reference."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from conftest import tone
from reference_frontend import mel_weights, reference_examples, reference_log_mel
from zsac import AudioError, ZsacError, audio

RNG = np.random.default_rng(1234)


# ----------------------------------------------------------------- load_audio


@pytest.mark.parametrize(
    ("name", "subtype", "tolerance"),
    [
        ("u8.wav", "PCM_U8", 1 / 64),
        ("s16.wav", "PCM_16", 1 / 16000),
        ("s24.wav", "PCM_24", 1e-6),
        ("s32.wav", "PCM_32", 1e-6),
        ("f32.wav", "FLOAT", 0.0),
        ("f64.wav", "DOUBLE", 1e-7),
        ("pcm16.flac", "PCM_16", 1 / 16000),
        ("pcm24.flac", "PCM_24", 1e-6),
        ("vorbis.ogg", "VORBIS", 0.1),
    ],
)
def test_load_audio_reads_every_format_as_float32(write_wav, name, subtype, tolerance):
    original = tone(440.0, 0.5, 22_050)
    path = write_wav(name, original, 22_050, subtype)
    waveform, rate = audio.load_audio(path)
    assert rate == 22_050 and waveform.dtype == np.float32 and waveform.shape == original.shape
    assert np.abs(waveform - original).max() <= tolerance + 1e-12
    # Same samples as soundfile's own float conversion.
    np.testing.assert_array_equal(waveform, sf.read(path, dtype="float32")[0])


def test_load_audio_keeps_channels_last(write_wav):
    stereo = np.stack([tone(440, 0.2), tone(880, 0.2)], axis=1)
    waveform, _ = audio.load_audio(write_wav("stereo.wav", stereo, subtype="FLOAT"))
    assert waveform.shape == (stereo.shape[0], 2)


def test_load_audio_errors_name_the_file(tmp_path, write_wav):
    missing = tmp_path / "nope.wav"
    with pytest.raises(AudioError, match="nope.wav"):
        audio.load_audio(missing)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF" + bytes(RNG.integers(0, 255, 200, dtype=np.uint8)))
    with pytest.raises(AudioError, match="garbage.wav"):
        audio.load_audio(garbage)
    empty = write_wav("empty.wav", np.zeros(0, np.float32))
    with pytest.raises(AudioError, match="empty.wav.*no samples"):
        audio.load_audio(empty)
    bad = tone(440, 0.1)
    bad[10] = np.nan
    with pytest.raises(AudioError, match="nan.wav.*NaN"):
        audio.load_audio(write_wav("nan.wav", bad, subtype="FLOAT"))
    assert issubclass(AudioError, ZsacError)


# ----------------------------------------------------------------- front end vs reference


def test_mel_filterbank_matches_reference_and_vggish_conventions():
    weights = audio.mel_filterbank()
    assert weights.shape == (257, 64)
    np.testing.assert_allclose(weights, mel_weights(), atol=1e-12)
    assert (weights[0] == 0).all()  # DC bin
    assert weights.min() >= 0 and weights.max() <= 1  # no area normalisation: peaks at most 1
    assert (weights.sum(axis=0) > 0).all()  # every band covers some bin


def test_float64_log_mel_matches_independent_reference():
    signal = RNG.standard_normal(16_000 * 2) * 0.1 + tone(1000.0, 2.0)
    ours = audio.log_mel_spectrogram(signal, dtype=np.float64)
    reference = reference_log_mel(signal)
    assert ours.dtype == np.float64 and ours.shape == reference.shape == (1 + (32_000 - 400) // 160, 64)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-9)


def test_float64_examples_match_reference_for_16k_input():
    signal = RNG.standard_normal(16_000 * 3)
    ours = audio.waveform_to_examples(signal, 16_000, dtype=np.float64)
    np.testing.assert_allclose(ours, reference_examples(signal), rtol=0, atol=1e-9)


def test_float32_path_is_close_to_reference():
    signal = (RNG.standard_normal(16_000 * 2) * 0.2).astype(np.float32)
    ours = audio.waveform_to_examples(signal, 16_000)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference_examples(signal), rtol=0, atol=2e-4)


def test_frame_and_example_counts():
    assert audio.log_mel_spectrogram(np.zeros(399)).shape == (0, 64)
    assert audio.log_mel_spectrogram(np.zeros(400)).shape == (1, 64)
    assert audio.log_mel_spectrogram(np.zeros(560)).shape == (2, 64)
    five_seconds = audio.waveform_to_examples(np.zeros(80_000, np.float32), 16_000)
    assert five_seconds.shape == (5, 96, 64)  # 498 frames; leftover 18 dropped
    np.testing.assert_allclose(five_seconds, np.log(0.01), rtol=1e-6)  # silence is log(offset)


def test_tone_peaks_in_the_right_band():
    log_mel = audio.log_mel_spectrogram(tone(1000.0, 1.0), dtype=np.float64)
    centres_hz = 700.0 * np.expm1(np.linspace(audio.hertz_to_mel(125.0), audio.hertz_to_mel(7500.0), 66)[1:-1] / 1127.0)
    assert np.argmax(log_mel.mean(axis=0)) == np.argmin(np.abs(centres_hz - 1000.0))


def test_stereo_is_the_mean_of_channels_and_other_rates_are_resampled_with_soxr():
    left, right = tone(300, 2.0, 44_100), (RNG.standard_normal(88_200) * 0.1).astype(np.float32)
    stereo = np.stack([left, right], axis=1)
    ours = audio.waveform_to_examples(stereo, 44_100)
    mono16 = soxr.resample((left + right) / 2, 44_100, 16_000, quality="HQ")
    np.testing.assert_allclose(ours, audio.waveform_to_examples(mono16, 16_000), atol=1e-5)
    assert ours.shape == (2, 96, 64)


def test_short_clip_errors_or_pads_when_asked():
    just_enough = np.ones(audio.MIN_EXAMPLE_SAMPLES, np.float32) * 0.1
    assert audio.waveform_to_examples(just_enough, 16_000).shape == (1, 96, 64)
    short = just_enough[:-1]
    with pytest.raises(AudioError, match="shorter than one VGGish example"):
        audio.waveform_to_examples(short, 16_000)
    padded = audio.waveform_to_examples(short, 16_000, pad_short=True)
    manual = audio.waveform_to_examples(np.concatenate([short, [0.0]]).astype(np.float32), 16_000)
    np.testing.assert_array_equal(padded, manual)
    with pytest.raises(AudioError, match="no samples"):
        audio.waveform_to_examples(np.zeros(0, np.float32), 16_000)


def test_file_to_examples_names_the_short_file(write_wav):
    path = write_wav("blip.wav", tone(440, 0.3))
    with pytest.raises(AudioError, match="blip.wav"):
        audio.file_to_examples(path)
    assert audio.file_to_examples(path, pad_short=True).shape == (1, 96, 64)
