"""Dataset listings and the CLI, on small data written by the tests."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

from conftest import tone
from zsac import DataError, __version__
from zsac.checkpoint import model_version
from zsac.cli import main
from zsac.commands import run_train_acoustic
from zsac.datasets import ESC50_COLUMNS, esc50_clips, folder_clips

SMALL = {"fc_units": 32, "conv_channels": (4, 8, 8, 16)}


def make_esc50(root, write_wav, categories=("dog", "rain"), per_class=2, drop=None):
    rows = []
    for target, category in enumerate(categories):
        for take in range(per_class):
            name = f"{take + 1}-{100 + target}-A-{target}.wav"
            rows.append({"filename": name, "fold": take + 1, "target": target, "category": category,
                         "esc10": "True", "src_file": 100 + target, "take": "A"})  # fmt: skip
            if name != drop:
                write_wav(f"{root.name}/audio/{name}", tone(200 + 300 * target, 1.2), 44_100)
    (root / "meta").mkdir(parents=True, exist_ok=True)
    with open(root / "meta" / "esc50.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ESC50_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def test_esc50_listing_filters_and_errors(tmp_path, write_wav):
    root = tmp_path / "esc"
    make_esc50(root, write_wav)
    assert {c.label for c in esc50_clips(root)} == {"dog", "rain"}
    assert [c.label for c in esc50_clips(root, classes=["rain"])] == ["rain", "rain"]
    assert len(esc50_clips(root, folds=[1])) == 2
    with pytest.raises(DataError, match="siren"):
        esc50_clips(root, classes=["siren"])
    (root / "audio" / "2-101-A-1.wav").unlink()
    with pytest.raises(DataError, match="1 ESC-50 audio files .* missing: .*2-101-A-1.wav"):
        esc50_clips(root)
    with pytest.raises(DataError, match="no ESC-50 metadata"):
        esc50_clips(tmp_path / "nowhere")


def test_folder_listing(tmp_path, write_wav):
    write_wav("data/low/a.wav", tone(200, 1.0))
    write_wav("data/high/b.flac", tone(2000, 1.0))
    (tmp_path / "data" / "high" / "notes.txt").write_text("ignored")
    assert [(c.path.name, c.label) for c in folder_clips(tmp_path / "data")] == [("b.flac", "high"), ("a.wav", "low")]
    with pytest.raises(DataError):
        folder_clips(tmp_path / "empty-or-missing")


def test_run_train_acoustic_on_a_folder_dataset(tmp_path, write_wav):
    for k, freq in enumerate((300, 1200, 4000)):
        for i in range(4):
            noise = np.random.default_rng(10 * k + i).standard_normal(32_000).astype(np.float32) * 0.05
            write_wav(f"data/c{k}/{i}.wav", tone(freq, 2.0) + noise)
    (tmp_path / "data" / "c0" / "broken.wav").write_bytes(b"RIFF-broken")
    summary = run_train_acoustic(
        data=tmp_path / "data", out=tmp_path / "out", exclude_classes=["c2"], max_epochs=2,
        learning_rate=1e-3, batch_size=4, **SMALL, progress=False,
    )  # fmt: skip
    assert summary["classes"] == ["c0", "c1"] and summary["n_clips"] == 8
    assert list(summary["skipped"]) == [str(tmp_path / "data" / "c0" / "broken.wav")]
    assert (model_version(tmp_path / "out" / "final") / "model.safetensors").is_file()
    assert (tmp_path / "out" / "summary.json").is_file()


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    assert main(["-q", "train-acoustic", "--data", str(tmp_path / "missing"), "-o", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_module_entry_point_prints_version():
    done = subprocess.run([sys.executable, "-m", "zsac", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"zsac {__version__}"
