"""The README's classifier examples run as written, on sounds the test makes in the layout they name.

Code blocks marked ``<!-- readme-test: NAME -->`` are taken from README.md verbatim; only
the ``.venv/bin/zsac`` prefix becomes ``python -m zsac`` of the interpreter running the tests.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from zsac.checkpoint import model_version

pytestmark = pytest.mark.slow  # runs the README's commands, training included

README = Path(__file__).resolve().parents[1] / "README.md"
RATE = 16_000


def readme_block(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"<!-- readme-test: {name} -->\s*```\w*\n(.*?)```", text, re.S)
    assert match, f"README.md has no block marked readme-test: {name}"
    return match.group(1)


def shell_commands(block: str) -> list[list[str]]:
    joined = block.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words = shlex.split(line)
            assert words[0] == ".venv/bin/zsac", line
            commands.append([sys.executable, "-m", "zsac", *words[1:]])
    return commands


def sound(kind: str, seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    if kind == "dog":  # bursts of a harmonic tone
        wave = np.sin(2 * np.pi * 500 * t) * (np.sin(2 * np.pi * 2 * t) > 0.5)
    elif kind == "rain":  # broadband noise
        wave = rng.standard_normal(t.size) * 0.5
    elif kind == "engine":  # low hum with a harmonic
        wave = np.sin(2 * np.pi * 90 * t) + 0.5 * np.sin(2 * np.pi * 180 * t)
    else:  # bell: a high decaying tone every half second
        wave = np.sin(2 * np.pi * 2500 * t) * np.exp(-8 * (t % 0.5))
    return (0.4 * wave / np.abs(wave).max() + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture
def user_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """my_sounds/<class>/{1,2,3}.wav with classes.csv, new_recordings/, long_recording.wav, classes.csv."""
    rng = np.random.default_rng(0)
    for kind in ("dog", "rain", "engine", "bell"):
        folder = tmp_path / "my_sounds" / kind
        folder.mkdir(parents=True)
        for i in (1, 2, 3):
            sf.write(folder / f"{i}.wav", sound(kind, 2.0, rng), RATE)
    with open(tmp_path / "my_sounds" / "classes.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "description"])
        writer.writerow(["dog", "a dog barks"])
        writer.writerow(["rain", "rain falls on a roof"])
    (tmp_path / "new_recordings").mkdir()
    sf.write(tmp_path / "new_recordings" / "a.wav", sound("dog", 3.0, rng), RATE)
    sf.write(tmp_path / "new_recordings" / "b.wav", sound("rain", 1.5, rng), RATE)
    long_wave = np.concatenate([sound(kind, 4.0, rng) for kind in ("engine", "bell", "rain")])
    sf.write(tmp_path / "long_recording.wav", long_wave, RATE)
    (tmp_path / "classes.csv").write_text(
        "name,description\nengine,an engine hums\nbell,a bell rings\nrain,rain falls\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_block_runs_as_written(user_files: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    outputs = []
    for command in shell_commands(readme_block("cli")):
        done = subprocess.run(command, cwd=user_files, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{shlex.join(command[2:])} failed:\n{done.stderr}"
        outputs.append(done.stdout)

    model = user_files / "my_model"
    config = json.loads((model_version(model) / "classifier.json").read_text())
    assert [c["name"] for c in config["classes"]] == ["bell", "dog", "engine", "rain"]
    described = {c["name"]: c["description"] for c in config["classes"]}
    assert described["dog"] == "a dog barks" and described["bell"] == "bell"  # classes.csv, else the name
    assert not (user_files / "my_model.partial").exists()

    table = outputs[1]
    for name in ("new_recordings/a.wav", "new_recordings/b.wav"):
        assert name in table
    assert table.count("dog barking") + table.count("glass breaking") + table.count("a siren wailing") == 4

    with open(user_files / "timeline.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    windows = [row for row in rows if row["level"] == "window"]
    # 12 s give 12 segments; windows of round(5 / 0.96) = 5 segments: 0-4.8, 4.8-9.6, and the last
    # window reaches the end of the file: 9.6-12.0.
    assert sorted({(row["start_s"], row["end_s"]) for row in windows}) == [
        ("0.0", "4.8"),
        ("4.8", "9.6"),
        ("9.6", "12.0"),
    ]
    assert {row["class"] for row in rows} <= {"engine", "bell", "rain"}

    with np.load(user_files / "embeddings.npz", allow_pickle=False) as saved:
        assert saved["embeddings"].shape == (2, 128)
        assert [Path(f).name for f in saved["files"]] == ["a.wav", "b.wav"]


def test_python_block_runs_as_written(user_files: Path) -> None:
    namespace: dict[str, object] = {}
    exec(compile(readme_block("python"), str(README), "exec"), namespace)  # noqa: S102
    clf = namespace["clf"]
    assert clf.temperature == 0.5
    proba = clf.predict_proba(["new_recordings/a.wav"], classes=namespace["new_classes"])
    assert proba.shape == (1, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(clf.classes_) == ["bell", "dog", "engine", "rain"]
