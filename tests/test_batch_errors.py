"""Batch work says what went wrong, where, once, and leaves no misleading output (issue 14).

- every input failing is an error (exit 2) and writes no output file;
- a feature cache that cannot be written or read is one warning naming it, not every clip's fault;
- folders that cannot be listed and empty class folders are named, not skipped in silence;
- CSV cells that a spreadsheet would run as formulas are neutralised.

A stand-in classifier (the real front end with a toy embedding) keeps this module fast.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import logging
import os
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import tone
from zsac import DataError
from zsac import features as zfeatures
from zsac.batch import ClassificationRun, FileResult, classify_files, collect_audio_files, embed_files, format_results
from zsac.cli import main
from zsac.datasets.folder import folder_clips
from zsac.features import FeatureCache, extract_examples
from zsac.inputs import SegmentBatch, examples_of

RATE = 16_000


def mean_embed(examples: np.ndarray) -> np.ndarray:
    return np.stack([examples.mean(axis=(1, 2)), examples.std(axis=(1, 2))], axis=1).astype(np.float32)


class ToyClassifier:
    """Just what classify_files and embed_files use, with the real front end and a toy embedding."""

    acoustic_dim_ = 2

    def class_table(self, classes=None):
        return types.SimpleNamespace(names=("a", "b"))

    def embed_segments(self, X, *, sample_rate=None, skip_errors=False):
        found = examples_of(X, "paths", skip_errors=skip_errors)
        segments = [mean_embed(examples) for examples in found.examples]
        return SegmentBatch(segments, np.asarray(found.kept), found.names, found.failures)


@pytest.fixture
def bad_files(tmp_path: Path) -> list[Path]:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt garbage")
    return [broken, tmp_path / "missing.wav"]


@pytest.fixture
def good_files(tmp_path: Path) -> list[Path]:
    paths = []
    for i, frequency in enumerate((300, 2000)):
        path = tmp_path / f"good{i}.wav"
        sf.write(path, tone(frequency, 2.0), RATE)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------------------------ all fail


class TestNothingDone:
    def test_api_raises_when_every_file_fails(self, bad_files: list[Path]) -> None:
        with pytest.raises(DataError, match=r"none of the 2 files could be embedded: .*broken\.wav"):
            embed_files(ToyClassifier(), bad_files, progress=False)
        with pytest.raises(DataError, match=r"none of the 2 files could be classified: .*missing\.wav.*does not exist"):
            classify_files(ToyClassifier(), bad_files, progress=False)

    @pytest.mark.parametrize("command", ["embed", "classify"])
    def test_cli_exits_2_and_writes_nothing(self, command, bad_files, tmp_path, monkeypatch, capsys) -> None:
        monkeypatch.setattr("zsac.commands.classify.load_for_inference", lambda model, **kw: ToyClassifier())
        out = tmp_path / ("out.npz" if command == "embed" else "out.csv")
        args = ["-q", command, str(tmp_path / "model"), *map(str, bad_files), "-o", str(out)]
        code = main(args if command == "embed" else [*args, "--format", "csv"])
        err = capsys.readouterr().err
        assert code == 2, err
        # Each file's reason was logged as it failed; the error itself is one line.
        assert err.strip().splitlines()[-1].startswith("zsac: error: none of the 2 files could be")
        assert not out.exists()


# ------------------------------------------------------------------------------------------------ cache


class TestCacheErrors:
    @pytest.mark.parametrize(
        "error",
        [OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), PermissionError(errno.EACCES, os.strerror(errno.EACCES))],
        ids=["full", "read-only"],
    )
    def test_unwritable_cache_is_one_warning_not_bad_audio(self, error, good_files, tmp_path, monkeypatch, caplog):
        def store(*args, **kwargs):
            raise error

        monkeypatch.setattr(zfeatures, "store_array", store)  # we run as root: no real read-only folder
        cache = FeatureCache(tmp_path / "cache")
        with caplog.at_level(logging.WARNING, logger="zsac"):
            extracted = extract_examples(good_files, cache=cache, skip_errors=True, progress=False)
        assert extracted.failures == {} and [len(e) for e in extracted.examples] == [2, 2]
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1, warnings
        assert str(tmp_path / "cache") in warnings[0] and error.strerror in warnings[0]

    def test_unreadable_cache_entry_falls_back(self, good_files, tmp_path, monkeypatch, caplog) -> None:
        def load(*args, **kwargs):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

        monkeypatch.setattr(zfeatures, "load_array", load)
        with caplog.at_level(logging.WARNING, logger="zsac"):
            extracted = extract_examples(
                good_files, cache=FeatureCache(tmp_path / "c"), skip_errors=True, progress=False
            )
        assert extracted.failures == {} and len(extracted.examples) == 2
        assert sum("feature cache" in r.getMessage() for r in caplog.records) == 1

    def test_cache_dir_that_is_a_file(self, good_files, tmp_path, caplog) -> None:
        # Warning and fallback, as for a full disk: the cache only saves time, and the results are the same.
        not_a_dir = tmp_path / "cache-file"
        not_a_dir.write_text("x")
        with caplog.at_level(logging.WARNING, logger="zsac"):
            extracted = extract_examples(good_files, cache=FeatureCache(not_a_dir), skip_errors=True, progress=False)
        assert extracted.failures == {} and len(extracted.examples) == 2
        assert [str(not_a_dir) in r.getMessage() for r in caplog.records] == [True]


# ------------------------------------------------------------------------------------------------ folders


class TestFoldersNamed:
    def test_unreadable_subfolder_is_named(self, good_files, tmp_path, monkeypatch, caplog) -> None:
        root = tmp_path / "in"
        (root / "locked").mkdir(parents=True)
        sf.write(root / "ok.wav", tone(440, 1.0), RATE)
        sf.write(root / "locked" / "hidden.wav", tone(440, 1.0), RATE)
        real = os.scandir

        def scandir(path="."):
            if os.fspath(path).endswith("locked"):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
            return real(path)

        monkeypatch.setattr(os, "scandir", scandir)  # mode 000 does not stop root
        with caplog.at_level(logging.WARNING, logger="zsac"):
            found = collect_audio_files([root])
        assert found == [root / "ok.wav"]
        assert any("locked" in r.getMessage() and "Permission denied" in r.getMessage() for r in caplog.records)

    def test_empty_class_folder_is_named(self, tmp_path, caplog) -> None:
        for name in ("a", "b", "empty"):
            (tmp_path / name).mkdir()
        for name in ("a", "b"):
            sf.write(tmp_path / name / "x.wav", tone(440, 1.0), RATE)
        (tmp_path / "empty" / "notes.txt").write_text("no audio here")
        with caplog.at_level(logging.WARNING, logger="zsac"):
            clips = folder_clips(tmp_path)
        assert sorted({c.label for c in clips}) == ["a", "b"]
        assert any(str(tmp_path / "empty") in r.getMessage() for r in caplog.records)

    def test_unlistable_class_folder_is_a_data_error(self, tmp_path, monkeypatch) -> None:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            sf.write(tmp_path / name / "x.wav", tone(440, 1.0), RATE)
        real = Path.iterdir

        def iterdir(self):
            if self.name == "b":
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
            return real(self)

        monkeypatch.setattr(Path, "iterdir", iterdir)
        with pytest.raises(DataError, match=r"cannot list class folder .*b: Permission denied"):
            folder_clips(tmp_path)


# ------------------------------------------------------------------------------------------------ CSV


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    hostile = '=HYPERLINK("http://evil","x").wav'
    top = [("+cmd", 0.5, -0.25), ("-minus", 0.3, -1.5), ("@at", 0.2, 0.0), ("plain", 0.1, 0.1)]
    run = ClassificationRun(classes=[n for n, _, _ in top], results=[FileResult(hostile, 2.0, 2, top, [])], failures={})
    rows = list(csv.DictReader(io.StringIO(format_results(run, "csv"))))
    assert {row["file"] for row in rows} == {"'" + hostile}
    assert [row["class"] for row in rows] == ["'+cmd", "'-minus", "'@at", "plain"]
    assert [row["score"] for row in rows] == ["-0.25", "-1.5", "0.0", "0.1"]  # numbers stay numbers
    # Only CSV is meant for spreadsheets; JSON keeps the names as they are.
    assert json.loads(format_results(run, "json"))["files"][0]["file"] == hostile


def test_nothing_done_gives_the_first_three_reasons_and_counts_the_rest():
    """As batch._nothing_done's docstring says (it once said "the first named")."""
    from zsac.batch import _nothing_done

    failures = {f"{i}.wav": f"reason {i}" for i in range(5)}
    message = str(_nothing_done(failures, "classified"))
    assert message == "none of the 5 files could be classified: reason 0; reason 1; reason 2 (and 2 more)"
    assert str(_nothing_done({"a.wav": "gone"}, "embedded")) == "none of the 1 files could be embedded: gone"
