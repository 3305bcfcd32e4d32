"""``zsac features --shard i/N`` and the segment-shards folder (:mod:`zsac.shards`), grouped by property:
the parts cover the dataset once, the part follows torchrun's rank, shards read back what was
computed, the reader holds memory maps, and every hostile folder is a one-line error naming the file.
"""

from __future__ import annotations

import json
import os
import pickle
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from conftest import tone
from zsac.cli import main
from zsac.commands.features import choose_part, run_features
from zsac.datasets.folder import dataset_clips
from zsac.errors import ConfigError, DataError
from zsac.features import extract_examples
from zsac.shards import SegmentPartWriter, SegmentShards, part_stem, write_segment_part

TORCHRUN = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@pytest.fixture(autouse=True)
def _outside_torchrun(monkeypatch):
    for name in TORCHRUN:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def dataset(write_wav, tmp_path) -> Path:
    """Three classes of tones, 1 to 3 segments a clip, and one file that is not audio."""
    for k, (label, frequency) in enumerate((("bell", 2500), ("dog", 500), ("hum", 90))):
        for j in range(3):
            write_wav(f"data/{label}/{j}.wav", tone(frequency + 40 * j, 1.0 + (j + k) % 3))
    (tmp_path / "data" / "dog" / "broken.wav").write_bytes(b"not audio at all")
    return tmp_path / "data"


def _cache_entries(directory: Path) -> set[str]:
    return {path.name for path in directory.rglob("*.npz")}


def _synthetic(directory: Path, *, parts: int = 2, dtype: str = "float32", n_clips: int = 6, seed: int = 0):
    """A shards folder of random examples (clip c has c % 3 + 1 segments, label c % 2); returns them by clip."""
    rng = np.random.default_rng(seed)
    by_clip = {c: rng.standard_normal((c % 3 + 1, 96, 64)).astype(np.float32) for c in range(n_clips)}
    for part in range(parts):
        with SegmentPartWriter(
            directory, part=part, parts=parts, class_names=["a", "b"], total_clips=n_clips, dtype=dtype
        ) as writer:
            for c in range(part, n_clips, parts):
                writer.add_clip(clip_index=c, label="ab"[c % 2], path=f"clip{c}.wav", examples=by_clip[c])
            writer.finish(failures={})
    return by_clip


def _file(directory: Path, part: int, parts: int, suffix: str) -> Path:
    return directory / f"{part_stem(part, parts)}.{suffix}"


# --------------------------------------------------------------------------- parts cover the dataset once


def test_n_parts_cover_every_clip_once_and_fill_the_cache_as_one_run(dataset, tmp_path):
    clips, _ = dataset_clips(dataset)
    summaries = [
        run_features(data=dataset, shard=f"{i}/3", cache_dir=tmp_path / "parts", shards_out=tmp_path / "shards",
                     progress=False)
        for i in range(3)
    ]  # fmt: skip
    whole = run_features(data=dataset, cache_dir=tmp_path / "whole", progress=False)
    assert (whole["part"], whole["parts"]) == (0, 1)
    assert _cache_entries(tmp_path / "parts") == _cache_entries(tmp_path / "whole")
    assert len(_cache_entries(tmp_path / "whole")) == len(clips) - 1  # all but the broken file
    # The clips of the parts: each good clip in exactly one part, part i holding clips[i::3].
    shards = SegmentShards(tmp_path / "shards")
    per_part = [json.loads(_file(tmp_path / "shards", i, 3, "json").read_text())["paths"] for i in range(3)]
    good = [str(clip.path) for clip in clips if clip.path.name != "broken.wav"]
    assert sorted(sum(per_part, [])) == sorted(good)
    for i in range(3):
        assert per_part[i] == [str(c.path) for c in clips[i::3] if c.path.name != "broken.wav"]
    assert sorted(set(shards.clip_of_segment.tolist())) == [k for k, c in enumerate(clips) if str(c.path) in good]
    assert sum(s["n_clips"] for s in summaries) == whole["n_clips"] == len(good)
    assert sum(s["n_segments"] for s in summaries) == whole["n_segments"] == len(shards)
    assert sum(len(s["skipped"]) for s in summaries) == 1 and "broken.wav" in str(shards.skipped)


def test_a_second_run_reads_the_cache_the_parts_filled(dataset, tmp_path):
    first = run_features(data=dataset, shard="1/2", cache_dir=tmp_path / "c", progress=False)
    assert (first["computed"], first["cached"]) == (first["n_clips"], 0)
    again = run_features(data=dataset, shard="1/2", cache_dir=tmp_path / "c", progress=False)
    assert (again["computed"], again["cached"]) == (0, first["n_clips"])
    whole = run_features(data=dataset, cache_dir=tmp_path / "c", progress=False)
    assert whole["cached"] == first["n_clips"] and whole["computed"] == whole["n_clips"] - first["n_clips"]


def test_more_parts_than_clips_give_empty_parts_that_still_read(dataset, tmp_path):
    clips, _ = dataset_clips(dataset)
    parts = len(clips) + 2
    for i in range(parts):
        run_features(data=dataset, shard=(i, parts), shards_out=tmp_path / "s", use_cache=False, progress=False)
    shards = SegmentShards(tmp_path / "s")
    assert shards.n_parts == parts and len(shards) == sum(s.shape[0] for s in _expected(dataset).values())


def test_the_report_is_one_line_and_skipped_files_set_the_exit_status(dataset, tmp_path, capsys):
    status = main(["-q", "features", "--data", str(dataset), "--shard", "0/2", "--cache-dir", str(tmp_path / "c")])
    out, err = capsys.readouterr()
    clips, _ = dataset_clips(dataset)
    n_good = sum(1 for c in clips[0::2] if c.path.name != "broken.wav")
    broken_in_part = n_good < len(clips[0::2])
    assert out.startswith(f"part 0 of 2: {n_good} clips, ") and out.count("\n") == 1
    assert f"({n_good} computed, 0 from the cache); {int(broken_in_part)} files skipped" in out
    assert status == (1 if broken_in_part else 0) and ("broken.wav" in err) == broken_in_part


def test_under_torchrun_skipped_files_are_listed_but_do_not_fail_the_job(dataset, tmp_path, capsys, monkeypatch):
    # A worker's non-zero exit fails the torchrun job (and restarts it with --max-restarts).
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "0")
    args = ["-q", "features", "--data", str(dataset), "--cache-dir", str(tmp_path / "c")]
    assert main(args) == 1  # a job of one process is not shared work: the usual status
    capsys.readouterr()
    monkeypatch.setenv("WORLD_SIZE", "2")
    listed = []
    for rank in ("0", "1"):
        monkeypatch.setenv("RANK", rank)
        status = main(args)
        out, err = capsys.readouterr()
        listed.append("broken.wav" in err)
        assert status == 0 and listed[-1] == ("; 1 files skipped" in out)
    assert listed.count(True) == 1  # the rank whose part holds it lists it


def test_nothing_to_keep_and_a_bad_dtype_are_refused(dataset):
    with pytest.raises(ConfigError, match="keep nothing"):
        run_features(data=dataset, use_cache=False, progress=False)
    with pytest.raises(ConfigError, match="float64"):
        run_features(data=dataset, shards_out="x", shard_dtype="float64", progress=False)


# --------------------------------------------------------------------------- the part: --shard, or torchrun's rank


def test_under_torchrun_the_part_is_the_ranks(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("LOCAL_RANK", "0")
    summary = run_features(data=dataset, shards_out=tmp_path / "s", use_cache=False, progress=False)
    assert (summary["part"], summary["parts"]) == (2, 3)
    clips, _ = dataset_clips(dataset)
    paths = json.loads(_file(tmp_path / "s", 2, 3, "json").read_text())["paths"]
    assert paths == [str(c.path) for c in clips[2::3] if c.path.name != "broken.wav"]


def test_choose_part():
    assert choose_part(None, environ={}) == (0, 1)
    assert choose_part("3/8", environ={}) == (3, 8)
    assert choose_part((1, 2), environ={}) == (1, 2)
    assert choose_part(None, environ={"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == (1, 4)
    # One rank under torchrun: --shard is unambiguous, and wins.
    assert choose_part("1/2", environ={"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}) == (1, 2)
    with pytest.raises(ConfigError, match="ambiguous"):
        choose_part("1/2", environ={"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})


def test_shard_under_a_multi_rank_torchrun_is_refused(dataset, monkeypatch, capsys):
    for name, value in zip(TORCHRUN, ("0", "2", "0"), strict=True):
        monkeypatch.setenv(name, value)
    assert main(["features", "--data", str(dataset), "--shard", "0/2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zsac: error: --shard 0/2 under torchrun") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("text", ["2/2", "x", "1/0", "-1/3", "1", "1/2/3"])
def test_bad_shard_text_is_a_one_line_usage_error(dataset, text, capsys):
    assert main(["features", "--data", str(dataset), f"--shard={text}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zsac: error: argument --shard:") and repr(text) in err
    assert len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- shards read back what was computed


def _expected(dataset: Path) -> dict[int, np.ndarray]:
    clips, _ = dataset_clips(dataset)
    extracted = extract_examples([c.path for c in clips], pad_short=True, skip_errors=True, progress=False)
    index = {c.path: k for k, c in enumerate(clips)}
    return {index[path]: examples for path, examples in zip(extracted.paths, extracted.examples, strict=True)}


@pytest.mark.parametrize(("dtype", "tolerance"), [("float16", 2e-3), ("float32", 0.0)])
def test_gather_returns_the_examples_of_extract_examples(dataset, tmp_path, dtype, tolerance):
    for i in range(2):
        run_features(data=dataset, shard=f"{i}/2", shards_out=tmp_path / "s", shard_dtype=dtype, progress=False)
    shards = SegmentShards(tmp_path / "s")
    expected = _expected(dataset)
    clips, _ = dataset_clips(dataset)
    assert shards.class_names == ["bell", "dog", "hum"] and shards.dtype == dtype
    assert len(shards) == sum(e.shape[0] for e in expected.values())
    assert set(shards.clip_of_segment.tolist()) == set(expected)
    for clip, examples in expected.items():
        rows = np.flatnonzero(shards.clip_of_segment == clip)
        assert rows.size == examples.shape[0]
        assert (shards.labels[rows] == shards.class_names.index(clips[clip].label)).all()
        got = shards.gather(rows)
        assert got.dtype == np.float32 and got.shape == examples.shape
        if tolerance:
            np.testing.assert_allclose(got, examples, rtol=tolerance, atol=tolerance)
            assert not np.array_equal(got, examples)  # float16 really was stored
        else:
            np.testing.assert_array_equal(got, examples)
    # Part 0's segments, then part 1's, each in the order of its clips (clips[i::2]).
    runs = np.split(shards.clip_of_segment, np.flatnonzero(np.diff(shards.clip_of_segment) < 0) + 1)
    assert [set((run % 2).tolist()) for run in runs] == [{0}, {1}]
    assert all((np.diff(run) >= 0).all() for run in runs)


def test_gather_keeps_the_order_of_the_indices_and_allows_repeats(tmp_path):
    by_clip = _synthetic(tmp_path, parts=3, n_clips=7)
    shards = SegmentShards(tmp_path)
    whole = np.concatenate([by_clip[c] for p in range(3) for c in range(p, 7, 3)])
    assert len(shards) == whole.shape[0]
    indices = [len(shards) - 1, 0, 5, 5, 2, len(shards) - 1, 1]
    np.testing.assert_array_equal(shards.gather(indices), whole[indices])
    np.testing.assert_array_equal(shards.gather(np.arange(len(shards))), whole)
    assert shards.gather([]).shape == (0, 96, 64)
    expected_labels = np.concatenate([np.full(by_clip[c].shape[0], c % 2) for p in range(3) for c in range(p, 7, 3)])
    np.testing.assert_array_equal(shards.labels, expected_labels)
    assert shards.labels.dtype == shards.clip_of_segment.dtype == np.int64
    with pytest.raises(IndexError):
        shards.gather([len(shards)])
    with pytest.raises(IndexError):
        shards.gather([-1])


def test_write_segment_part_from_lists_reads_back(tmp_path):
    rng = np.random.default_rng(3)
    examples = [rng.standard_normal((k + 1, 96, 64)).astype(np.float32) for k in range(4)]
    for part in range(2):
        write_segment_part(
            tmp_path, part=part, parts=2, class_names=["x", "y"], total_clips=4, clip_indices=[part, part + 2],
            clip_labels=["x", "y"], clip_examples=(examples[c] for c in (part, part + 2)), dtype="float32",
        )  # fmt: skip
    shards = SegmentShards(tmp_path)
    np.testing.assert_array_equal(shards.clip_of_segment, [0, 2, 2, 2, 1, 1, 3, 3, 3, 3])
    np.testing.assert_array_equal(shards.labels, [0, 1, 1, 1, 0, 0, 1, 1, 1, 1])
    np.testing.assert_array_equal(shards.gather(np.arange(10)), np.concatenate([examples[c] for c in (0, 2, 1, 3)]))
    assert shards.paths == {0: "clip0", 1: "clip1", 2: "clip2", 3: "clip3"}
    with pytest.raises(ConfigError, match="one entry per clip"):  # one label short
        write_segment_part(
            tmp_path, part=0, parts=2, class_names=["x"], total_clips=1, clip_indices=[0], clip_labels=[],
            clip_examples=[],
        )  # fmt: skip


def test_a_pickled_reader_reopens_the_folder_instead_of_carrying_the_data(tmp_path):
    # DataLoader workers started by "spawn" get the dataset pickled: a memmap would pickle whole.
    _synthetic(tmp_path, parts=2, n_clips=30)
    shards = SegmentShards(tmp_path)
    data = pickle.dumps(shards)
    assert len(data) < 1000
    copy = pickle.loads(data)
    assert all(isinstance(m, np.memmap) for m in copy.part_examples())
    np.testing.assert_array_equal(copy.gather([5, 1]), shards.gather([5, 1]))
    np.testing.assert_array_equal(copy.labels, shards.labels)


def test_rewriting_a_part_replaces_it(tmp_path):
    _synthetic(tmp_path, parts=2, seed=0)
    again = _synthetic(tmp_path, parts=2, seed=1)
    shards = SegmentShards(tmp_path)
    np.testing.assert_array_equal(shards.gather([0]), again[0][:1])


# --------------------------------------------------------------------------- bounded memory


def test_the_reader_holds_memory_maps_and_gather_reads_only_the_rows_asked_for(tmp_path):
    n = 400  # 9.8 MB of float32 examples in one part
    rng = np.random.default_rng(0)
    part = rng.standard_normal((n, 96, 64)).astype(np.float32)
    with SegmentPartWriter(tmp_path, part=0, parts=1, class_names=["a", "b"], total_clips=n) as writer:
        for c in range(n):
            writer.add_clip(clip_index=c, label="ab"[c % 2], path=f"{c}.wav", examples=part[c : c + 1])
        writer.finish()
    tracemalloc.start()
    try:
        shards = SegmentShards(tmp_path)
        opened = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        got = shards.gather([399, 3, 3])
        gathered = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    maps = list(shards.part_examples())
    assert all(isinstance(m, np.memmap) for m in maps)
    np.testing.assert_allclose(got, part[[399, 3, 3]], rtol=1e-3, atol=1e-3)
    # A whole part in RAM would be 4.9 MB (float16) or 9.8 MB (float32 copy); 3 rows are 74 kB.
    assert opened < 500_000, opened
    assert gathered < 500_000, gathered
    assert all(isinstance(m, np.memmap) for m in shards.part_examples())


def test_the_writer_streams_and_a_failed_write_leaves_no_part(tmp_path):
    with pytest.raises(RuntimeError, match="killed"):
        with SegmentPartWriter(tmp_path, part=0, parts=1, class_names=["a"], total_clips=2) as writer:
            writer.add_clip(clip_index=0, label="a", path="0.wav", examples=np.zeros((2, 96, 64), np.float32))
            raise RuntimeError("killed")
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file, no JSON, no lock
    with pytest.raises(DataError, match="holds no parts"):
        SegmentShards(tmp_path)


def test_a_rerun_removes_what_a_killed_writer_left(tmp_path):
    # kill -9 mid-write leaves the examples' temporary file (and no JSON); the reader ignores it
    # and the next writer of that part removes it.
    leftover = tmp_path / f".{part_stem(0, 1)}.examples.npy.abc123.tmp"
    tmp_path.mkdir(exist_ok=True)
    leftover.write_bytes(b"half an array")
    other = tmp_path / f".{part_stem(1, 2)}.examples.npy.abc123.tmp"  # another part's: not ours to remove
    other.write_bytes(b"x")
    _synthetic(tmp_path, parts=1)
    assert not leftover.exists() and other.exists()
    assert len(SegmentShards(tmp_path)) > 0


# --------------------------------------------------------------------------- one writer per part


def test_a_second_writer_of_the_same_part_is_refused(tmp_path, dataset):
    with SegmentPartWriter(tmp_path / "s", part=0, parts=2, class_names=["a"], total_clips=1):
        with pytest.raises(DataError, match="being written by another zsac run"):
            SegmentPartWriter(tmp_path / "s", part=0, parts=2, class_names=["a"], total_clips=1).__enter__()
        with pytest.raises(DataError, match="being written by another zsac run"):
            run_features(data=dataset, shard="0/2", shards_out=tmp_path / "s", progress=False)
        # Another part is free.
        run_features(data=dataset, shard="1/2", shards_out=tmp_path / "s", use_cache=False, progress=False)


# --------------------------------------------------------------------------- hostile folders


def test_an_empty_or_absent_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="holds no parts.*zsac features --shard i/N --shards-out"):
        SegmentShards(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        SegmentShards(tmp_path / "absent")


def test_missing_parts_are_named_with_the_command_that_makes_them(tmp_path):
    _synthetic(tmp_path, parts=4)
    _file(tmp_path, 1, 4, "json").unlink()
    for suffix in ("json", "examples.npy", "labels.npy", "clips.npy"):
        _file(tmp_path, 3, 4, suffix).unlink()
    with pytest.raises(DataError) as caught:
        SegmentShards(tmp_path)
    message = str(caught.value)
    assert "lacks part(s) 1, 3 of 4" in message and f"zsac features --shard 1/4 --shards-out {tmp_path}" in message
    assert "\n" not in message


def test_a_killed_writer_counts_as_a_missing_part(tmp_path):
    # Killed between the arrays and the JSON: the .npy files are there, the JSON is not.
    _synthetic(tmp_path, parts=2)
    _file(tmp_path, 0, 2, "json").unlink()
    with pytest.raises(DataError, match=r"lacks part\(s\) 0 of 2"):
        SegmentShards(tmp_path)
    # Only arrays, no JSON at all: still named as missing, not "no parts".
    _file(tmp_path, 1, 2, "json").unlink()
    with pytest.raises(DataError, match=r"lacks part\(s\) 0, 1 of 2"):
        SegmentShards(tmp_path)


def test_parts_of_different_counts_are_refused(tmp_path):
    _synthetic(tmp_path, parts=2)
    _synthetic(tmp_path, parts=3)
    with pytest.raises(DataError, match="mixes parts of 2 and 3"):
        SegmentShards(tmp_path)


def _edit_json(path: Path, **changes) -> None:
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("class_names", ["a", "c"], "disagrees with part 0 on 'class_names'"),
        ("dtype", "float16", "disagrees with part 0 on 'dtype'"),
        ("frontend", {"sample_rate": 8000}, "disagrees with part 0 on 'frontend'"),
        ("total_clips", 99, "disagrees with part 0 on 'total_clips'"),
        ("format", "something-else", "is not a zsac-segment-shards part"),
        ("version", 2, "format version 2"),
        ("part", 0, "bad 'part'"),
        ("n_segments", -1, "bad 'n_segments'"),
        ("dtype", "object", "bad 'dtype'"),
        ("class_names", ["b", "a"], "bad 'class_names'"),
        ("paths", "x", "bad 'paths'"),
    ],
)
def test_a_json_that_disagrees_or_is_malformed_is_named(tmp_path, field, value, match):
    _synthetic(tmp_path, parts=2)
    target = _file(tmp_path, 1, 2, "json")
    _edit_json(target, **{field: value})
    with pytest.raises(DataError, match=match) as caught:
        SegmentShards(tmp_path)
    assert str(target) in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("content", [b"{", b"[1, 2]", b"\xff\xfe"])
def test_a_json_that_does_not_parse_is_named(tmp_path, content):
    _synthetic(tmp_path, parts=2)
    target = _file(tmp_path, 0, 2, "json")
    target.write_bytes(content)
    with pytest.raises(DataError, match="JSON") as caught:
        SegmentShards(tmp_path)
    assert str(target) in str(caught.value)


def test_an_array_that_disagrees_with_its_json_is_named(tmp_path):
    _synthetic(tmp_path, parts=2)
    target = _file(tmp_path, 1, 2, "json")
    meta = json.loads(target.read_text())
    _edit_json(target, n_segments=meta["n_segments"] + 1)
    with pytest.raises(DataError, match="its JSON says") as caught:
        SegmentShards(tmp_path)
    assert str(_file(tmp_path, 1, 2, "examples.npy")) in str(caught.value)


def test_an_array_of_another_dtype_or_shape_is_named(tmp_path):
    _synthetic(tmp_path, parts=2, dtype="float16")
    target = _file(tmp_path, 0, 2, "examples.npy")
    np.save(target, np.load(target).astype(np.float32))
    with pytest.raises(DataError, match="float32.*its JSON says float16") as caught:
        SegmentShards(tmp_path)
    assert str(target) in str(caught.value)
    target = _file(tmp_path, 1, 2, "labels.npy")
    np.save(target, np.load(target)[:, None])
    np.save(_file(tmp_path, 0, 2, "examples.npy"), np.load(_file(tmp_path, 0, 2, "examples.npy")).astype(np.float16))
    with pytest.raises(DataError, match="labels.npy holds int64 \\(") as caught:
        SegmentShards(tmp_path)


def test_a_truncated_array_is_named(tmp_path):
    _synthetic(tmp_path, parts=2)
    target = _file(tmp_path, 1, 2, "examples.npy")
    os.truncate(target, target.stat().st_size - 100)
    with pytest.raises(DataError, match="truncated") as caught:
        SegmentShards(tmp_path)
    assert str(target) in str(caught.value)
    os.truncate(target, 50)  # inside the header
    with pytest.raises(DataError, match="not a readable .npy") as caught:
        SegmentShards(tmp_path)
    assert str(target) in str(caught.value)


_UNPICKLED: list[str] = []


def _record_unpickling() -> str:
    _UNPICKLED.append("ran")
    return "payload"


class _Payload:
    def __reduce__(self):
        return (_record_unpickling, ())


def test_a_pickle_bearing_array_is_refused_unread(tmp_path):
    _synthetic(tmp_path, parts=2)
    target = _file(tmp_path, 1, 2, "labels.npy")
    np.save(target, np.array([_Payload()] * 3, dtype=object), allow_pickle=True)
    _UNPICKLED.clear()
    with pytest.raises(DataError, match="Python objects \\(a pickle\\)") as caught:
        SegmentShards(tmp_path)
    assert str(target) in str(caught.value)
    assert _UNPICKLED == []


@pytest.mark.parametrize("suffix", ["json", "examples.npy", "clips.npy"])
def test_a_symlink_in_place_of_a_file_is_refused(tmp_path, suffix):
    shards = tmp_path / "s"
    _synthetic(shards, parts=2)
    target = _file(shards, 1, 2, suffix)
    real = tmp_path / f"elsewhere.{suffix}"
    target.rename(real)
    target.symlink_to(real)
    with pytest.raises(DataError, match="symbolic link") as caught:
        SegmentShards(shards)
    assert str(target) in str(caught.value)


@pytest.mark.parametrize("suffix", ["json", "labels.npy"])
def test_a_fifo_in_place_of_a_file_is_refused_unopened(tmp_path, suffix):
    _synthetic(tmp_path, parts=2)
    target = _file(tmp_path, 0, 2, suffix)
    target.unlink()
    os.mkfifo(target)  # opening it for reading would block for ever
    with pytest.raises(DataError, match="is a FIFO") as caught:
        SegmentShards(tmp_path)
    assert str(target) in str(caught.value)


def test_labels_out_of_range_and_negative_clip_indices_are_named(tmp_path):
    _synthetic(tmp_path, parts=2)
    target = _file(tmp_path, 1, 2, "labels.npy")
    labels = np.load(target)
    np.save(target, np.full_like(labels, 2))  # two classes: 0 and 1
    with pytest.raises(DataError, match="labels outside 0..1") as caught:
        SegmentShards(tmp_path)
    assert str(target) in str(caught.value)
    np.save(target, labels)
    target = _file(tmp_path, 0, 2, "clips.npy")
    np.save(target, -np.load(target) - 1)
    with pytest.raises(DataError, match="clip indices outside") as caught:
        SegmentShards(tmp_path)
    assert str(target) in str(caught.value)


# --------------------------------------------------------------------------- training reads shards

TINY_NET = {"conv_channels": (4, 8, 8, 8), "fc_units": 16, "max_epochs": 2, "batch_size": 4, "progress": False}


@pytest.mark.parametrize("recipe", ["paper", "zsac"])
def test_training_on_float32_shards_equals_training_on_the_same_examples_in_memory(tmp_path, recipe):
    from zsac.acoustic import train_vggish

    by_clip = _synthetic(tmp_path / "shards", parts=1, n_clips=8)  # one part: the segments in clip order
    in_memory = train_vggish(
        [by_clip[c] for c in range(8)], ["ab"[c % 2] for c in range(8)], recipe=recipe, seed=1, **TINY_NET
    )
    from_disk = train_vggish(SegmentShards(tmp_path / "shards"), None, recipe=recipe, seed=1, **TINY_NET)
    assert from_disk.class_names == in_memory.class_names == ["a", "b"]
    assert from_disk.history[-1]["train_loss"] == in_memory.history[-1]["train_loss"]
    for key, value in in_memory.model.state_dict().items():
        assert np.array_equal(from_disk.model.state_dict()[key].numpy(), value.numpy()), key


def test_training_leaves_out_a_class_whose_files_were_all_skipped(tmp_path):
    from zsac.acoustic import train_vggish

    rng = np.random.default_rng(0)
    with SegmentPartWriter(tmp_path, part=0, parts=1, class_names=["a", "b", "c"], total_clips=6) as writer:
        for c in range(6):  # no clip of "b"
            writer.add_clip(clip_index=c, label="ac"[c % 2], path=f"{c}.wav", examples=rng.standard_normal((2, 96, 64)))
        writer.finish(failures={"b/0.wav": "unreadable"})
    result = train_vggish(SegmentShards(tmp_path), None, **TINY_NET)
    assert result.class_names == ["a", "c"]
    assert result.model.state_dict()["classifier.weight"].shape[0] == 2


def test_shards_with_clip_labels_are_refused(tmp_path):
    from zsac.acoustic import train_vggish

    _synthetic(tmp_path, parts=1)
    with pytest.raises(ConfigError, match="carry their labels"):
        train_vggish(SegmentShards(tmp_path), ["a"], **TINY_NET)


def test_train_acoustic_takes_data_or_shards_and_no_class_subset_of_shards(dataset, tmp_path, capsys):
    _synthetic(tmp_path / "shards", parts=1)
    both = ["train-acoustic", "--data", str(dataset), "--shards", str(tmp_path / "shards"), "-o", str(tmp_path / "m")]
    assert main(both) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    subset = ["train-acoustic", "--shards", str(tmp_path / "shards"), "-o", str(tmp_path / "m"), "--train-classes", "a"]
    assert main(subset) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "chosen when they were written" in error
