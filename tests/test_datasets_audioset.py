"""Reading AudioSet's embedding release, on small TFRecords that the tests write; data roots."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest

from tfrecord_files import Record, random_record, write_release, write_tfrecord
from zsac import ConfigError, DataError
from zsac.datasets import AudioSetEmbeddings, audioset_dir, data_root, esc50_dir, read_audioset_embeddings
from zsac.protocols import single_label_clips


def small_release(tmp_path):
    rng = np.random.default_rng(0)
    bal = [
        [random_record(rng, "bal0", n_frames=10, labels=(3, 7)), random_record(rng, "bal1", n_frames=3)],
        [random_record(rng, "bal2", n_frames=1, labels=(5,))],
    ]
    ev = [[random_record(rng, "ev0", n_frames=2, labels=(1, 1)), random_record(rng, "ev1", n_frames=4, labels=(2,))]]
    write_release(tmp_path / "audioset", {"bal_train": bal, "eval": ev})
    return [r for f in bal for r in f], [r for f in ev for r in f]


def test_dequantised_values_and_round_trip(tmp_path):
    frames = np.zeros((3, 128), dtype=np.uint8)
    frames[0, :3] = [0, 255, 51]
    frames[1] = 255
    record = Record("vid-x_1", 30.0, 40.0, (4, 0, 526), frames)
    write_tfrecord(tmp_path / "audioset_v1_embeddings" / "eval" / "a.tfrecord", [record])
    data = read_audioset_embeddings(tmp_path, splits=("eval",), progress=False)
    assert len(data) == 1 and data.frames.dtype == np.float32 and data.frames.shape == (3, 128)
    np.testing.assert_allclose(data.frames[0, :3], [-2.0, 2.0, -1.2], atol=1e-6)
    assert data.frames[0, 0] == np.float32(-2.0) and data.frames[0, 1] == np.float32(2.0)
    assert np.all(data.frames[1] == np.float32(2.0)) and np.all(data.frames[2] == np.float32(-2.0))
    assert data.video_id.dtype.kind == "U" and data.video_id.tolist() == ["vid-x_1"]
    assert data.split.dtype.kind == "U" and data.split.tolist() == ["eval"]
    assert data.start_time.dtype == np.float32 and data.start_time.tolist() == [30.0]
    assert data.end_time.tolist() == [40.0]
    assert data.labels == ((4, 0, 526),)
    assert data.frame_offsets.dtype == np.int64 and data.frame_offsets.tolist() == [0, 3]


def test_offsets_means_splits_and_subset(tmp_path):
    bal, ev = small_release(tmp_path)
    # The AudioSet folder, its embeddings folder and the data root all resolve to the same data.
    for root in (tmp_path, tmp_path / "audioset", tmp_path / "audioset" / "audioset_v1_embeddings"):
        assert len(read_audioset_embeddings(root, progress=False)) == 5
    data = read_audioset_embeddings(tmp_path, splits=("eval", "bal_train"), progress=False)
    records = ev + bal  # splits in the order given, files sorted within a split
    assert data.video_id.tolist() == [r.video_id for r in records]
    assert data.split.tolist() == ["eval"] * 2 + ["bal_train"] * 3
    assert data.labels == tuple(r.labels for r in records)
    assert data.n_frames.tolist() == [len(r.frames) for r in records]
    assert data.frame_offsets.tolist() == [0, *np.cumsum([len(r.frames) for r in records]).tolist()]
    expected_means = []
    for i, record in enumerate(records):
        clip = np.asarray(record.frames, dtype=np.float64) / 255 * 4 - 2
        np.testing.assert_allclose(data.clip_frames(i), clip, atol=1e-6)
        expected_means.append(clip.mean(axis=0))
    means = data.clip_means()
    assert means.dtype == np.float32 and means.shape == (5, 128)
    np.testing.assert_allclose(means, np.array(expected_means), atol=1e-6)
    np.testing.assert_array_equal(data.clip_frames(-1), data.clip_frames(4))

    picked = data.subset([4, 0, 4])
    assert isinstance(picked, AudioSetEmbeddings) and len(picked) == 3
    assert picked.video_id.tolist() == ["bal2", "ev0", "bal2"]
    assert picked.labels == (records[4].labels, records[0].labels, records[4].labels)
    np.testing.assert_array_equal(picked.clip_frames(1), data.clip_frames(0))
    np.testing.assert_allclose(picked.clip_means(), means[[4, 0, 4]], atol=0)
    assert len(data.subset(data.split == "eval")) == 2 and len(data.subset([])) == 0
    assert data.subset([]).clip_means().shape == (0, 128)
    with pytest.raises(DataError, match="subset"):
        data.subset([5])
    assert single_label_clips(data.labels).tolist() == [0, 1, 3, 4]


def test_zero_frame_clip_is_skipped_with_one_warning(tmp_path, caplog):
    rng = np.random.default_rng(1)
    empty = Record("empty", 0.0, 10.0, (1,), np.zeros((0, 128), dtype=np.uint8))
    write_tfrecord(tmp_path / "bal_train" / "a.tfrecord", [empty, random_record(rng, "ok", n_frames=2), empty])
    write_tfrecord(tmp_path / "bal_train" / "b.tfrecord", [empty])
    with caplog.at_level(logging.WARNING, logger="zsac.datasets.audioset"):
        data = read_audioset_embeddings(tmp_path, splits=["bal_train"], progress=False)
    assert data.video_id.tolist() == ["ok"] and data.frame_offsets.tolist() == [0, 2]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 3 " in warnings[0].getMessage()


def test_duplicate_clips_are_kept(tmp_path):
    rng = np.random.default_rng(2)
    clip = random_record(rng, "same", n_frames=2)
    write_tfrecord(tmp_path / "eval" / "a.tfrecord", [clip])
    write_tfrecord(tmp_path / "eval" / "b.tfrecord", [clip])
    data = read_audioset_embeddings(tmp_path, splits="eval", progress=False)
    assert data.video_id.tolist() == ["same", "same"]


def test_bad_files_and_folders_are_named(tmp_path):
    rng = np.random.default_rng(3)
    bad = write_tfrecord(
        tmp_path / "eval" / "bad.tfrecord", [Record("short1", 0.0, 10.0, (1,), [bytes(128), bytes(100)])]
    )
    with pytest.raises(DataError, match=r"bad\.tfrecord.*short1.*228 embedding bytes"):
        read_audioset_embeddings(tmp_path, splits=("eval",), progress=False)
    bad.unlink()

    good = write_tfrecord(tmp_path / "eval" / "cut.tfrecord", [random_record(rng, f"v{i}") for i in range(3)])
    good.write_bytes(good.read_bytes()[:-700])
    with pytest.raises(DataError, match=r"cut\.tfrecord"):
        read_audioset_embeddings(tmp_path, splits=("eval",), progress=False)
    good.write_bytes(b"\x05" * 40)  # a length field that asks for far more than the file holds
    with pytest.raises(DataError, match=r"cut\.tfrecord"):
        read_audioset_embeddings(tmp_path, splits=("eval",), progress=False)

    with pytest.raises(DataError, match=r"bal_train does not exist"):
        read_audioset_embeddings(tmp_path, splits=("eval", "bal_train"), progress=False)
    (tmp_path / "unbal_train").mkdir()
    with pytest.raises(DataError, match=r"unbal_train holds no \.tfrecord"):
        read_audioset_embeddings(tmp_path, splits=("unbal_train",), progress=False)
    with pytest.raises(ConfigError, match="train"):
        read_audioset_embeddings(tmp_path, splits=("train",), progress=False)
    with pytest.raises(DataError, match="ZSAC_DATA_DIR.*download_audioset_embeddings"):
        read_audioset_embeddings(tmp_path / "nowhere", progress=False)


def test_data_root_and_dataset_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSAC_DATA_DIR", str(tmp_path / "data"))
    assert data_root() == tmp_path / "data"
    monkeypatch.setenv("ZSAC_DATA_DIR", "")
    assert data_root().name == "data" and "zsac" in str(data_root())
    monkeypatch.setenv("ZSAC_DATA_DIR", str(tmp_path / "data"))

    with pytest.raises(DataError, match=r"ZSAC_DATA_DIR.*download_audioset_embeddings"):
        audioset_dir()
    with pytest.raises(DataError, match=r"ESC-50.*ZSAC_DATA_DIR.*download_esc50"):
        esc50_dir(tmp_path)
    assert audioset_dir(must_exist=False) == tmp_path / "data" / "audioset"
    assert esc50_dir(tmp_path, must_exist=False) == tmp_path / "ESC-50"

    (tmp_path / "data" / "audioset").mkdir(parents=True)
    (tmp_path / "data" / "audioset" / "class_labels_indices.csv").write_text("index,mid,display_name\n")
    (tmp_path / "e" / "meta").mkdir(parents=True)
    (tmp_path / "e" / "meta" / "esc50.csv").write_text("filename\n")
    assert audioset_dir() == audioset_dir(tmp_path / "data") == tmp_path / "data" / "audioset"
    assert audioset_dir(tmp_path / "data" / "audioset") == tmp_path / "data" / "audioset"
    assert esc50_dir(tmp_path / "e") == tmp_path / "e"


@pytest.mark.shared_data
def test_real_balanced_train_split(audioset_root):
    started = time.perf_counter()
    data = read_audioset_embeddings(audioset_root, splits=("bal_train",), progress=False)
    assert len(data) == 22_160 and set(data.split.tolist()) == {"bal_train"}
    assert data.frames.min() >= -2.0 and data.frames.max() <= 2.0
    assert len(single_label_clips(data.labels)) == 5_498
    assert data.clip_means().shape == (22_160, 128)
    assert time.perf_counter() - started < 10


# --- the cache of the parsed release --------------------------------------------------------------


def _same_release(a, b):
    assert a.video_id.tolist() == b.video_id.tolist() and a.split.tolist() == b.split.tolist()
    assert a.labels == b.labels and np.array_equal(a.frame_offsets, b.frame_offsets)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.start_time, b.start_time)
    assert a.frames.dtype == b.frames.dtype == np.float32


def test_a_cached_read_equals_a_parsed_one_and_never_parses(tmp_path, monkeypatch):
    small_release(tmp_path)
    parsed = read_audioset_embeddings(tmp_path, progress=False, cache=False)
    first = read_audioset_embeddings(tmp_path, progress=False)  # parses and writes the cache
    import zsac.datasets.audioset as module

    def no_parsing(*args, **kwargs):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(module, "_read_file", no_parsing)
    cached = read_audioset_embeddings(tmp_path, progress=False)
    _same_release(parsed, first)
    _same_release(parsed, cached)


def test_a_changed_file_misses_the_cache(tmp_path):
    small_release(tmp_path)
    read_audioset_embeddings(tmp_path, progress=False)
    rng = np.random.default_rng(1)
    write_tfrecord(tmp_path / "audioset" / "audioset_v1_embeddings" / "eval" / "zz.tfrecord",
                   [random_record(rng, "new0", n_frames=2, labels=(9,))])  # fmt: skip
    assert "new0" in read_audioset_embeddings(tmp_path, progress=False).video_id.tolist()


def test_a_corrupt_or_inconsistent_cache_entry_is_read_again_and_replaced(tmp_path, caplog):
    small_release(tmp_path)
    expected = read_audioset_embeddings(tmp_path, progress=False, cache=False)
    read_audioset_embeddings(tmp_path, progress=False)
    (entry,) = (Path(os.environ["ZSAC_CACHE_DIR"]) / "audioset").glob("*.npz")
    entry.write_bytes(b"not a zip file")
    with caplog.at_level(logging.WARNING):
        _same_release(expected, read_audioset_embeddings(tmp_path, progress=False))
    assert "unreadable AudioSet cache" in caplog.text
    _same_release(expected, read_audioset_embeddings(tmp_path, progress=False))  # rewritten, valid again
    arrays = dict(np.load(entry, allow_pickle=False))
    arrays["frame_offsets"] = arrays["frame_offsets"][:-1]  # inconsistent with the frames
    with open(entry, "wb") as handle:
        np.savez(handle, **arrays)
    _same_release(expected, read_audioset_embeddings(tmp_path, progress=False))


def test_a_cache_that_cannot_be_written_warns_and_the_read_goes_on(tmp_path, monkeypatch, caplog):
    small_release(tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("ZSAC_CACHE_DIR", str(blocker))
    with caplog.at_level(logging.WARNING):
        data = read_audioset_embeddings(tmp_path, progress=False)
    assert len(data) == 5 and "cannot write the AudioSet cache" in caplog.text


def test_a_write_left_by_a_killed_run_is_removed_when_old(tmp_path):
    small_release(tmp_path)
    folder = Path(os.environ["ZSAC_CACHE_DIR"]) / "audioset"
    folder.mkdir(parents=True)
    old, fresh = folder / ".release-abc.npz.x1.tmp", folder / ".release-abc.npz.x2.tmp"
    old.write_bytes(b"half a file")
    fresh.write_bytes(b"another run is writing this one")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    read_audioset_embeddings(tmp_path, progress=False)
    assert not old.exists() and fresh.exists()


def test_keep_returns_the_subset_of_a_whole_read(tmp_path):
    small_release(tmp_path)
    whole = read_audioset_embeddings(tmp_path, progress=False)
    kept = read_audioset_embeddings(tmp_path, progress=False, keep=single_label_clips)
    _same_release(whole.subset(single_label_clips(whole.labels)), kept)
    assert len(kept) == len(single_label_clips(whole.labels)) < len(whole)
    np.testing.assert_array_equal(kept.clip_means(), whole.clip_means()[single_label_clips(whole.labels)])
