"""zsac.features: the on-disk log-mel cache and batch extraction."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from conftest import tone
from zsac import AudioError, audio
from zsac.features import FeatureCache, extract_examples


def test_cache_hit_equals_fresh_computation(tmp_path, write_wav):
    path = write_wav("a.wav", tone(440, 2.0))
    cache = FeatureCache(tmp_path / "cache")
    first = cache.examples(path)
    np.testing.assert_array_equal(first, audio.file_to_examples(path))
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 1
    np.testing.assert_array_equal(cache.examples(path), first)


def test_key_follows_content_and_settings(tmp_path, write_wav):
    cache = FeatureCache(tmp_path / "cache")
    path = write_wav("a.wav", tone(440, 2.0))
    key = cache.key(path)
    assert cache.key(path, pad_short=True) != key
    write_wav("a.wav", tone(880, 2.0))  # same name, new content
    assert cache.key(path) != key
    copy = write_wav("copy.wav", tone(880, 2.0))
    assert cache.key(copy) == cache.key(path)  # content, not name


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_entry_is_detected_and_recomputed(tmp_path, write_wav, caplog, damage):
    path = write_wav("a.wav", tone(440, 2.0))
    cache = FeatureCache(tmp_path / "cache")
    good = cache.examples(path)
    (entry,) = (tmp_path / "cache").rglob("*.npz")
    raw = bytearray(entry.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:  # a bit flip inside the stored float data leaves the file loadable
        raw[len(raw) // 2] ^= 0x40
    entry.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="zsac.features"):
        again = cache.examples(path)
    assert "corrupt" in caplog.text
    np.testing.assert_array_equal(again, good)
    assert cache.load(cache.key(path)) is not None  # rewritten


def test_extract_skips_bad_files_and_reports_them(tmp_path, write_wav):
    good = [write_wav(f"g{i}.wav", tone(300 + 100 * i, 1.5)) for i in range(3)]
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFFnonsense")
    paths = [good[0], bad, good[1], good[2]]
    result = extract_examples(paths, skip_errors=True, progress=False, n_workers=2)
    assert result.paths == [good[0], good[1], good[2]]
    assert list(result.failures) == [str(bad)] and "broken.wav" in result.failures[str(bad)]
    assert all(x.shape == (1, 96, 64) for x in result.examples)
    with pytest.raises(AudioError, match="broken.wav"):
        extract_examples(paths, progress=False)
    missing = extract_examples([tmp_path / "gone.wav"], cache=FeatureCache(tmp_path / "c"), skip_errors=True,
                               progress=False)  # fmt: skip
    assert "gone.wav" in next(iter(missing.failures.values()))
