"""Long files are streamed in blocks, and the results are those of the whole file (issue 14, cause 8).

Blocks are made tiny here (fractions of a second) so that a few seconds of audio cross many block
edges: with and without resampling, stereo, and lengths that are a multiple of nothing. The memory
itself is measured by bench/long_file_memory.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from zsac import ZeroShotClassifier
from zsac import audio as zaudio
from zsac import inputs as zinputs
from zsac.audio import load_audio, waveform_to_examples

# (rate, channels, frames): 16 kHz as is; 44.1-kHz stereo and 22.05 kHz resampled; odd lengths.
FILES = [(16_000, 1, 16_000 * 7 + 123), (44_100, 2, 44_100 * 5 + 77), (22_050, 1, 22_050 * 3 + 5), (8_000, 1, 7_001)]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("streaming")
    rng = np.random.default_rng(0)
    paths = []
    for rate, channels, frames in FILES:
        path = folder / f"noise_{rate}_{channels}.wav"
        shape = (frames, channels) if channels > 1 else (frames,)
        sf.write(path, (0.3 * rng.standard_normal(shape)).astype(np.float32), rate, subtype="PCM_16")
        paths.append(path)
    return paths


def whole_file_examples(path: Path) -> np.ndarray:
    """The non-streamed path: the whole file decoded, resampled and cut at once."""
    waveform, rate = load_audio(path)
    return waveform_to_examples(waveform, rate, pad_short=True)


def mean_embed(examples: np.ndarray) -> np.ndarray:
    return np.stack([examples.mean(axis=(1, 2)), examples.std(axis=(1, 2))], axis=1).astype(np.float32)


@pytest.mark.parametrize("block_seconds", [0.05, 0.37, 1.0, 2.5])
def test_streamed_examples_equal_the_whole_file(files: list[Path], block_seconds: float) -> None:
    for path in files:
        blocks = list(zaudio.iter_file_examples(path, pad_short=True, block_seconds=block_seconds))
        streamed = np.concatenate(blocks)
        expected = whole_file_examples(path)
        assert streamed.shape == expected.shape, path.name  # the same segment boundaries
        np.testing.assert_array_equal(streamed, expected, err_msg=path.name)


def test_files_are_read_a_block_at_a_time(files: list[Path], monkeypatch) -> None:
    reads = []
    real = sf.SoundFile.read

    def read(self, frames=-1, *args, **kwargs):
        reads.append(frames)
        return real(self, frames, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "read", read)
    path = files[1]  # 5 s at 44.1 kHz
    zaudio.file_to_examples(path, pad_short=True)
    assert reads and -1 not in reads and max(reads) <= zaudio.BLOCK_SECONDS * 44_100
    reads.clear()
    list(zaudio.iter_file_examples(path, block_seconds=0.5))
    assert len(reads) >= 10 and max(reads) == 22_050


def test_framer_cuts_any_chunking_like_the_whole(files: list[Path]) -> None:
    rng = np.random.default_rng(1)
    signal = (0.3 * rng.standard_normal(16_000 * 4 + 4321)).astype(np.float32)
    expected = waveform_to_examples(signal, 16_000)
    framer = zaudio.ExampleFramer()
    cuts = np.sort(rng.integers(0, signal.size, 40))
    parts = [framer.push(chunk) for chunk in np.split(signal, cuts)]
    parts.append(framer.finish())
    np.testing.assert_array_equal(np.concatenate(parts), expected)


def test_streamed_segments_equal_the_whole_file(files: list[Path]) -> None:
    batch = zinputs.file_segments(files, mean_embed, pad_short=True, block_seconds=0.3, batch_examples=3)
    assert batch.names == [str(p) for p in files] and batch.failures == {}
    for path, segments in zip(files, batch.segments, strict=True):
        np.testing.assert_allclose(segments, mean_embed(whole_file_examples(path)), rtol=1e-6, atol=1e-6)


def test_classifier_streams_and_keeps_its_results(files: list[Path], monkeypatch) -> None:
    """Clip embeddings (means of segments) and per-segment outputs of a fitted model, streamed or not."""
    clips = [np.sin(2 * np.pi * f * np.arange(32_000) / 16_000).astype(np.float32) for f in (200, 230, 3000, 3300)]
    # fp32 on both sides: "auto" is bf16 on a CPU with native bf16, which this test does not compare.
    settings = {"conv_channels": (4, 8, 8, 8), "fc_units": 8, "max_epochs": 1, "quantize": False, "inference": "fp32"}
    model = ZeroShotClassifier(**settings, progress=False, feature_cache=False, lam=1.0, semantic="SLE", pad_short=True)
    model.fit(clips, ["hum", "hum", "whistle", "whistle"], sample_rate=16_000)
    monkeypatch.setattr(zaudio, "BLOCK_SECONDS", 0.4)
    batch = model.embed_segments(files)
    for path, segments in zip(files, batch.segments, strict=True):
        expected = model.acoustic_encoder_.embed(whole_file_examples(path), inference="fp32", device="cpu")
        np.testing.assert_allclose(segments, expected, rtol=1e-5, atol=1e-6)
    whole = np.stack([model.transform([load_audio(p)[0]], sample_rate=load_audio(p)[1])[0] for p in files])
    np.testing.assert_allclose(model.transform(files), whole, rtol=1e-5, atol=1e-6)


def test_long_files_bypass_the_cache_and_are_streamed(files: list[Path], tmp_path, monkeypatch) -> None:
    """A cache miss computes a whole file's log-mel at once, so files over the limit are streamed instead."""
    from zsac.features import FeatureCache

    cache = FeatureCache(tmp_path / "cache")
    asked: list[str] = []
    whole = cache.examples

    def spy(path, **kwargs):
        asked.append(str(path))
        return whole(path, **kwargs)

    monkeypatch.setattr(cache, "examples", spy)
    monkeypatch.setattr(zinputs, "CACHE_MAX_SECONDS", 4.0)  # 7 s and 5 s files are "long"; 3 s and 0.9 s not
    kwargs = {"pad_short": True, "block_seconds": 0.3, "batch_examples": 3}
    cached = zinputs.file_segments(files, mean_embed, cache=cache, **kwargs)
    streamed = zinputs.file_segments(files, mean_embed, **kwargs)
    assert asked == [str(p) for p in files[2:]]  # before: every file, the long ones whole
    for with_cache, without in zip(cached.segments, streamed.segments, strict=True):
        np.testing.assert_allclose(with_cache, without, rtol=1e-6, atol=1e-6)
