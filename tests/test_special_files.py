"""Special files given as data files: a FIFO or a device is refused by its stat, never opened.

Opening a FIFO blocks until a writer comes, so before the fix these cases hung; every test
runs under an alarm, so that a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from zsac import AudioError, DataError
from zsac._files import check_regular_file
from zsac.cli import main
from zsac.datasets.esc50 import read_esc50_metadata
from zsac.semantic.side_info import read_audioset_ontology, read_class_file
from zsac.semantic.tables import load_class_table

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")

SECONDS = 10


@pytest.fixture(autouse=True)
def alarm():
    """Fail, rather than hang, when something opens a FIFO."""

    def hung(signum, frame):
        raise TimeoutError(f"still blocked after {SECONDS} s: a FIFO was opened")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def fifo(tmp_path):
    def make(name: str):
        path = tmp_path / name
        os.mkfifo(path)
        return path

    return make


def one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("zsac: error:")]
    assert len(errors) == 1, err
    return errors[0]


def test_the_helper_names_the_kind_and_raises_the_callers_error(fifo):
    path = fifo("x.csv")
    with pytest.raises(DataError, match=r"class file '.*x\.csv' is a FIFO, not a regular file"):
        check_regular_file(path, what="class file")
    with pytest.raises(AudioError, match="a FIFO"):
        check_regular_file(path, error=AudioError)
    with pytest.raises(DataError, match="is a character device"):
        check_regular_file("/dev/null")


def test_class_table_fifo_is_refused(fifo):
    path = fifo("table.npz")
    # Before: hung in open().
    with pytest.raises(DataError, match=r"class table .*table\.npz' is a FIFO"):
        load_class_table(path)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".yaml", ".txt"])
def test_class_file_fifo_is_refused(fifo, suffix):
    path = fifo(f"classes{suffix}")
    # Before: ".csv" said "class file ... does not exist" (is_file() is False for a FIFO).
    with pytest.raises(DataError, match=r"class file .* is a FIFO"):
        read_class_file(path)


def test_ontology_and_esc50_metadata_fifos_are_refused(fifo, tmp_path):
    with pytest.raises(DataError, match="ontology .* is a FIFO"):
        read_audioset_ontology(fifo("ontology.json"))
    (tmp_path / "esc" / "meta").mkdir(parents=True)
    os.mkfifo(tmp_path / "esc" / "meta" / "esc50.csv")
    with pytest.raises(DataError, match="ESC-50 metadata .* is a FIFO"):
        read_esc50_metadata(tmp_path / "esc")


@pytest.mark.parametrize("fmt", ["auto", "glove", "word2vec-text", "word2vec-binary"])
def test_word_vector_fifo_is_refused(fifo, fmt):
    from zsac.semantic.word_vector_files import read_word_vectors

    path = fifo("vectors.txt")
    # Before: gensim opened the FIFO and blocked.
    with pytest.raises(DataError, match=r"word-vector file .* is a FIFO"):
        read_word_vectors(path, format=fmt, limit=None)


def test_word_vector_device_is_refused():
    # /dev/null, not /dev/zero: before the fix the reader read /dev/zero until memory ran out.
    from zsac.semantic.word_vector_files import read_word_vectors

    with pytest.raises(DataError, match="is a character device"):
        read_word_vectors("/dev/null", format="glove", limit=None)


@pytest.mark.parametrize("suffix", [".npz", ".csv", ".json"])
def test_classify_refuses_a_fifo_class_file_on_one_line(capsys, fifo, suffix):
    path = fifo(f"classes{suffix}")
    # Before: ".npz" hung; ".csv" said "class file ... does not exist" (the wrong reason).
    line = one_line_error(capsys, ["classify", "no-model", "x.wav", "--classes-file", str(path)])
    assert f"{path}' is a FIFO" in line


@pytest.mark.parametrize(
    "settings",
    [
        {"semantic": "WLE", "tables": {"WLE": "{fifo}"}},
        {"semantic": "WLE", "word2vec": "{fifo}"},
        {"semantic": "GLE", "glove": "{fifo}"},
    ],
)
def test_text_sources_that_are_fifos_are_refused(fifo, settings):
    """What classify does with --table, --word2vec and --glove once the model is loaded."""
    from zsac.semantic import SemanticConfig
    from zsac.semantic.side_info import ClassInfo
    from zsac.semantic.specs import SemanticEmbedder, check_embeddable

    path = str(fifo("source.npz" if "tables" in settings else "vectors.txt"))
    fill = {key: ({"WLE": path} if key == "tables" else path) if key != "semantic" else value
            for key, value in settings.items()}  # fmt: skip
    config = SemanticConfig(**fill)
    # Before: the table hung in check_embeddable (it said "does not exist" had it not been opened);
    # word2vec and GloVe files hung when gensim opened them.
    if "tables" in settings:
        with pytest.raises(DataError, match="is a FIFO"):
            check_embeddable(config)
    embedder = SemanticEmbedder.from_config(config, cache=False)
    with pytest.raises(DataError, match=r"is a FIFO"):
        embedder.embed(settings["semantic"], [ClassInfo(name="dog"), ClassInfo(name="cat")])


def test_classify_command_with_a_fifo_exits_at_once(tmp_path):
    """The real command line, in a subprocess with a timeout (the alarm cannot stop a child)."""
    path = tmp_path / "table.npz"
    os.mkfifo(path)
    argv = [sys.executable, "-m", "zsac", "classify", "no-model", "x.wav", "--classes-file", str(path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "is a FIFO" in done.stderr and "Traceback" not in done.stderr
