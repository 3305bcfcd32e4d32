"""Output paths of classify, embed and reproduce: refused on one line (exit 2) before the work, no files left behind.

The classifier and the batch functions are replaced by stubs, so these tests exercise only the
commands' handling of their outputs. We run as root, for whom a read-only folder is still
writable, so a read-only folder and a full disk are simulated by making the file system calls
raise what they raise then.
"""

from __future__ import annotations

import errno
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import zsac.commands.classify as classify_command
from zsac import DataError
from zsac.batch import ClassificationRun, EmbeddingRun
from zsac.cli import main
from zsac.commands import run_classify, run_embed
from zsac.reproduce.esc50 import run_reproduce_esc50
from zsac.reproduce.results import ResultsFolder


@pytest.fixture
def stub_model(monkeypatch, tmp_path):
    """classify and embed without a model: the load, the file search and the work are stubs."""
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"")
    calls = []
    monkeypatch.setattr(classify_command, "load_for_inference", lambda model, **kw: calls.append("load") or object())
    monkeypatch.setattr(classify_command, "collect_audio_files", lambda files: [audio])
    monkeypatch.setattr(
        classify_command, "classify_files", lambda *a, **kw: ClassificationRun(classes=[], results=[], failures={})
    )
    monkeypatch.setattr(classify_command, "format_results", lambda run, fmt: "file,class\n")
    monkeypatch.setattr(
        classify_command,
        "embed_files",
        lambda *a, **kw: EmbeddingRun(
            files=[str(audio)], embeddings=np.zeros((1, 4), np.float32), segments=[np.zeros((1, 4))], failures={}
        ),
    )
    return calls


def one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("zsac: error:"), err
    return err[0]


@pytest.mark.parametrize("command", ["classify", "embed"])
def test_output_that_is_a_folder(capsys, tmp_path, stub_model, command):
    folder = tmp_path / "out"
    folder.mkdir()
    # Before: IsADirectoryError from os.replace, as a traceback, after all the work.
    line = one_line_error(capsys, [command, "model", str(tmp_path / "a.wav"), "-o", str(folder)])
    assert str(folder) in line and "is a folder" in line
    assert stub_model == []  # refused before the model was loaded
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("command", ["classify", "embed"])
def test_output_whose_parent_is_a_file(capsys, tmp_path, stub_model, command):
    parent = tmp_path / "file"
    parent.write_text("x")
    line = one_line_error(capsys, [command, "model", str(tmp_path / "a.wav"), "-o", str(parent / "out.csv")])
    assert "not a folder" in line and stub_model == []


def _deny(*args, **kwargs):
    raise PermissionError(errno.EACCES, "Permission denied")


@pytest.mark.parametrize("command", ["classify", "embed"])
def test_output_in_a_read_only_folder(capsys, tmp_path, stub_model, monkeypatch, command):
    out = tmp_path / "ro" / "out.bin"
    out.parent.mkdir()
    # As root nothing is read-only, so creating a file there fails as it does for a user.
    monkeypatch.setattr(tempfile, "mkstemp", _deny)
    line = one_line_error(capsys, [command, "model", str(tmp_path / "a.wav"), "-o", str(out)])
    assert line == f"zsac: error: cannot write {out}: Permission denied"
    assert stub_model == []  # before the work, not after it
    assert list(out.parent.iterdir()) == []


def test_output_in_a_read_only_folder_as_the_user_sees_it(capsys, tmp_path, stub_model):
    # Not simulated: a folder that really is read-only for this user (root: skipped).
    import os

    if os.geteuid() == 0:
        pytest.skip("root can write into a read-only folder; see test_output_in_a_read_only_folder")
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    line = one_line_error(capsys, ["classify", "model", str(tmp_path / "a.wav"), "-o", str(folder / "out.csv")])
    assert "Permission denied" in line


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize(
    ("command", "name", "writer"), [("classify", "out.csv", (Path, "write_text")), ("embed", "out.npz", (np, "savez"))]
)
def test_full_disk_while_a_command_writes(capsys, tmp_path, stub_model, monkeypatch, command, name, writer):
    out = tmp_path / "results" / name
    out.parent.mkdir()
    monkeypatch.setattr(*writer, _disk_full)
    # Before: OSError [Errno 28] as a traceback (the temporary file was removed even then).
    line = one_line_error(capsys, [command, "model", str(tmp_path / "a.wav"), "-o", str(out)])
    assert line == f"zsac: error: cannot write {out}: No space left on device"
    assert list(out.parent.iterdir()) == []


def test_run_functions_write_their_outputs(tmp_path, stub_model):
    # The checks refuse nothing that works: a new file in an existing or a new folder.
    _, text = run_classify(model="m", files=["a.wav"], out=tmp_path / "c.csv", progress=False)
    assert (tmp_path / "c.csv").read_text() == text
    run_embed(model="m", files=["a.wav"], out=tmp_path / "new" / "e.npz", progress=False)
    assert np.load(tmp_path / "new" / "e.npz")["embeddings"].shape == (1, 4)
    run_classify(model="m", files=["a.wav"], out=tmp_path / "c.csv", progress=False)  # replaces its own output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# --------------------------------------------------------------------------- reproduce


def test_results_folder_that_is_a_file(tmp_path):
    out = tmp_path / "results"
    out.write_text("not a folder")
    # Before: FileExistsError from mkdir, as a traceback.
    with pytest.raises(DataError, match="is a file"):
        ResultsFolder(out, {"command": "test"})
    assert out.read_text() == "not a folder"


@pytest.fixture
def tiny_esc50(tmp_path):
    """An ESC-50 layout of 6 classes, 2 clips each (empty files: nothing here reads them)."""
    root = tmp_path / "ESC-50"
    (root / "meta").mkdir(parents=True)
    (root / "audio").mkdir()
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for target, category in enumerate(["dog", "rooster", "rain", "sea_waves", "crying_baby", "clock_tick"]):
        for i in range(2):
            name = f"{i + 1}-{target}-A-0.wav"
            (root / "audio" / name).write_bytes(b"")
            rows.append(f"{name},{i + 1},{target},{category},False,{target},A")
    (root / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.mark.parametrize(
    "argv",
    [
        ["--semantic", "BOGUS"],
        ["--lambda-grid", "nan"],
        ["--max-iter", "-5"],
        ["--semantic", "WLE"],  # no word2vec vectors
        ["--table", "SLE=missing.npz", "--semantic", "SLE"],
    ],
)
def test_reproduce_writes_nothing_before_its_inputs_are_valid(capsys, tmp_path, tiny_esc50, argv):
    out = tmp_path / "results"
    one_line_error(capsys, ["reproduce", "esc50", "--data", str(tiny_esc50), "-o", str(out), *argv])
    # Before: config.json was written, and the corrected rerun was refused as "another configuration".
    assert not out.exists()


def test_reproduce_api_checks_before_the_folder(tmp_path, tiny_esc50):
    out = tmp_path / "results"
    with pytest.raises(Exception) as caught:
        run_reproduce_esc50(out=out, data=tiny_esc50, specs=["SLE"], grid=[], progress=False)
    assert "lambda_grid" in str(caught.value)
    with pytest.raises(Exception, match="seed"):
        run_reproduce_esc50(out=out, data=tiny_esc50, specs=["SLE"], seeds=[-1], progress=False)
    assert not out.exists()


def _fold(spec="SLE", seed=0, test_fold="fold1") -> dict:
    return {
        "dataset": "esc50", "setting": "esc10", "acoustic": "vggish", "spec": spec, "seed": seed,
        "test_fold": test_fold, "top1": 0.5, "map": 0.5, "lambda": 0.01, "n_classes": 2, "n_clips": 2,
    }  # fmt: skip


def test_a_fold_without_its_csv_runs_again(tmp_path):
    folder = ResultsFolder(tmp_path / "results", {"command": "test"})
    predictions = pd.DataFrame({"clip": ["x", "y"], "true": ["c", "d"], "predicted": ["c", "c"], "correct": [1, 0]})
    folder.save_fold(_fold(), predictions)
    base = tmp_path / "results" / "folds" / "SLE" / "seed0" / "fold1"
    assert folder.finished("SLE", 0, "fold1") is not None
    base.with_suffix(".csv").unlink()
    # Before: finished() said done and the report crashed reading the missing CSV.
    assert folder.finished("SLE", 0, "fold1") is None
    assert folder.records() == []
    assert folder.predictions().empty
    assert json.loads(base.with_suffix(".json").read_text())["spec"] == "SLE"
