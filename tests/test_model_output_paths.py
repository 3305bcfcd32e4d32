"""``zsac train -o``: a bad output path is a one-line error (exit 2) before any training starts."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import tone
from zsac import ZeroShotClassifier
from zsac.checkpoint import POINTER_FILE, model_version
from zsac.cli import main

FAST = ["--conv-channels", "4", "4", "4", "4", "--fc-units", "8", "--max-epochs", "1", "--no-quantize", "--no-cache",
        "--semantic", "WLE", "--lambda", "1"]  # fmt: skip


@pytest.fixture
def data(tmp_path) -> Path:
    """Two classes of three tones each, and a WLE table for them."""
    from zsac.semantic.tables import ClassTable

    root = tmp_path / "data"
    for label, frequency in (("hum", 150.0), ("whistle", 3000.0)):
        (root / label).mkdir(parents=True)
        for i in range(3):
            sf.write(root / label / f"{i}.wav", tone(frequency * (1 + 0.05 * i), 3.0), 16_000)
    ClassTable(np.eye(2, 3, dtype=np.float32) + 0.1, names=("hum", "whistle")).save(tmp_path / "wle.npz")
    return root


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if training starts: every refusal must come before it."""

    def fit(self, *args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(ZeroShotClassifier, "fit", fit)


def train(data: Path, out: str | Path) -> list[str]:
    return ["-q", "train", "--data", str(data), "-o", str(out), "--table", f"WLE={data.parent / 'wle.npz'}", *FAST]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("zsac: error:") and len(err.splitlines()) == 1, err
    return err


def test_output_is_a_regular_file(data, tmp_path, capsys, no_training):
    out = tmp_path / "model.txt"
    out.write_text("precious")
    assert main(train(data, out)) == 2
    assert str(out) in one_line_error(capsys) and out.read_text() == "precious"


def test_output_is_a_folder_that_is_not_a_model(data, tmp_path, capsys, no_training):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "cat.jpg").write_bytes(b"jpeg")
    assert main(train(data, out)) == 2
    err = one_line_error(capsys)
    assert str(out) in err and "cat.jpg" in err and (out / "cat.jpg").read_bytes() == b"jpeg"


def test_output_is_the_current_folder(data, tmp_path, capsys, no_training, monkeypatch):
    monkeypatch.chdir(data.parent)  # holds data/ and wle.npz
    assert main(train(data, ".")) == 2
    assert "refusing to write a model folder into it" in one_line_error(capsys)


def test_output_in_a_read_only_folder(data, tmp_path, capsys, no_training, monkeypatch):
    # Root ignores file modes, so the refusal of the file system is simulated where zsac first writes.
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if str(path).startswith(str(tmp_path / "ro")) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(os, "open", read_only)
    assert main(train(data, tmp_path / "ro" / "model")) == 2
    err = one_line_error(capsys)
    assert "Permission denied" in err and str(tmp_path / "ro") in err


def test_output_in_a_read_only_folder_as_the_user_we_are(data, tmp_path, capsys):
    """Unsimulated: as root a mode-0555 folder is writable, as another user it is refused; one line either way."""
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        code = main(train(data, parent / "model"))
    finally:
        parent.chmod(0o755)
    if os.geteuid() == 0:
        assert code == 0 and (parent / "model" / POINTER_FILE).is_file()
    else:  # pragma: no cover  (CI as a user)
        assert code == 2 and "Permission denied" in one_line_error(capsys)


def test_output_through_a_symbolic_link_keeps_the_link(data, tmp_path):
    real = tmp_path / "real-model"
    real.mkdir()
    link = tmp_path / "model"
    link.symlink_to(real)
    assert main(train(data, link)) == 0
    assert link.is_symlink() and (model_version(real) / "classifier.json").is_file()
    assert not (tmp_path / "model.partial").exists()
