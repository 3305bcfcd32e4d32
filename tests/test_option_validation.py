"""Option validation: every bad value is refused on one line (exit 2) before any work, and sizes before allocation.

The command line runs in-process (``cli.main``); a bad value must give ``zsac: error: ...``
naming the value or the option, exit status 2 and no traceback, and must fail before any
audio is read (the training functions are patched to fail the test if they are reached).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

import zsac.classifier
from word_vector_files import DIM, make_vectors, write_word2vec_binary
from zsac import ConfigError, DataError, ZeroShotClassifier
from zsac._settings import MAX_SEED, check_device_name
from zsac.acoustic.config import MAX_VGGISH_PARAMETERS, VGGishConfig, vggish_parameter_count
from zsac.acoustic.vggish import VGGish, load_vggish, save_vggish
from zsac.checkpoint import model_version
from zsac.cli import main
from zsac.commands import run_classify, run_train
from zsac.compatibility import Bilinear
from zsac.errors import CheckpointError
from zsac.semantic import SemanticConfig
from zsac.semantic.side_info import read_class_file
from zsac.semantic.word_vectors import load_word_vectors

RATE = 16_000
TINY = ["--conv-channels", "2", "2", "2", "2", "--fc-units", "4", "--max-epochs", "1", "--no-cache"]


@pytest.fixture
def data(tmp_path):
    """A folder dataset of two classes, two 1-s clips each."""
    root = tmp_path / "data"
    rng = np.random.default_rng(0)
    for name in ("hum", "hiss"):
        (root / name).mkdir(parents=True)
        for i in range(2):
            sf.write(root / name / f"{i}.wav", (0.1 * rng.standard_normal(RATE)).astype(np.float32), RATE)
    return root


@pytest.fixture
def no_audio_work(monkeypatch):
    """Fail the test if training reads any audio: every check must come before."""

    def reached(*args, **kwargs):
        raise AssertionError("audio was read before the options were checked")

    monkeypatch.setattr(zsac.classifier, "examples_of", reached)
    monkeypatch.setattr(zsac.classifier, "fit_encoder", reached)


def one_line_error(capsys, argv) -> str:
    """Run ``zsac argv`` in-process; assert exit 2 with one ``zsac: error:`` line; return that line."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("zsac: error:")]
    assert len(errors) == 1, err
    assert not any("Traceback" in line for line in err)
    return errors[0]


# --------------------------------------------------------------------------- values, on the command line


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--seed", "-1"], "seed"),
        (["--seed", str(2**70)], "seed"),
        (["--seed", str(MAX_SEED + 1)], "seed"),
        (["--device", "bogus"], "device"),
        (["--lambda-grid", "nan"], "lambda_grid"),
        (["--lambda-grid", "0,-1"], "lambda_grid"),
        (["--lambda-grid", "inf"], "lambda_grid"),
        (["--word-vector-limit", "-1"], "word_vector_limit"),
        (["--word-vector-limit", "0"], "word_vector_limit"),
        (["--max-iter", "-5"], "max_iter"),
        (["--fc-units", "1000000000"], "fc_units"),
        (["--conv-channels", "10000000", "2", "2", "2"], "conv_channels"),
        (["--lr", "nan"], "learning_rate"),
    ],
)
def test_train_refuses_bad_values_before_audio(capsys, data, tmp_path, no_audio_work, options, expected):
    out = tmp_path / "model"
    line = one_line_error(capsys, ["train", "--data", str(data), "-o", str(out), *TINY, *options])
    assert expected in line
    assert not out.exists() and not out.with_name("model.partial").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["classify", "no-model", "x.wav", "--device", "bogus"],
        ["embed", "no-model", "x.wav", "-o", "e.npz", "--device", "bogus"],
        ["train-acoustic", "--data", "d", "-o", "o", "--device", "bogus"],
        ["embed-classes", "--classes", "dog", "cat", "-o", "t.npz", "--device", "bogus"],
        ["reproduce", "esc50", "--bilinear-device", "bogus"],
        ["reproduce", "esc50", "--device", "bogus"],
    ],
)
def test_device_strings_are_checked_as_options(capsys, argv):
    # Before: torch's RuntimeError ("Expected one of cpu, cuda, ...") as a traceback, after the model loaded.
    line = one_line_error(capsys, argv)
    assert "device" in line and "bogus" in line


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_without_cuda_is_refused_at_once(capsys):
    line = one_line_error(capsys, ["classify", "no-model", "x.wav", "--device", "cuda"])
    assert "CUDA is not available" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["reproduce", "audioset", "--fold-seed", "-1"],
        ["reproduce", "esc50", "--seeds", "0", str(2**70)],
        ["train-acoustic", "--data", "d", "-o", "o", "--seed", "-1"],
    ],
)
def test_seeds_are_checked_as_options(capsys, argv):
    assert "seed" in one_line_error(capsys, argv)


def test_a_good_device_string_passes(capsys):
    # cpu is everywhere; the parse must not refuse it (the missing model is the error here).
    line = one_line_error(capsys, ["classify", "no-model", "x.wav", "--device", "cpu"])
    assert "device" not in line


# --------------------------------------------------------------------------- values, in the API


@pytest.mark.parametrize(
    "params",
    [
        {"lambda_grid": []},
        {"lambda_grid": [0.0, math.nan]},
        {"lambda_grid": [-1.0]},
        {"seed": -1},
        {"seed": 2**70},
        {"device": "bogus"},
        {"max_iter": -5},
        {"word_vector_limit": -1},
        {"fc_units": 60_000},
    ],
)
def test_classifier_refuses_bad_params_in_fit(data, no_audio_work, params):
    # Before: lambda_grid, seed and device failed only after VGGish had trained (or with a traceback).
    clips = sorted(data.glob("*/*.wav"))
    with pytest.raises(ConfigError):
        ZeroShotClassifier(**params, semantic="SLE").fit(clips, [clip.parent.name for clip in clips])


def test_shared_checks_give_the_same_message(capsys, data, tmp_path):
    with pytest.raises(ConfigError) as api:
        ZeroShotClassifier(lambda_grid=[])._check_params()
    assert "lambda_grid is empty" in str(api.value)
    with pytest.raises(ConfigError, match="seed"):
        Bilinear(seed=-1)._check_params()
    with pytest.raises(ConfigError, match="device"):
        Bilinear(device="bogus")._check_params()
    with pytest.raises(ConfigError, match="word_vector_limit"):
        SemanticConfig(word_vector_limit=-1)


# --------------------------------------------------------------------------- options checked too late


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--semantic", "WLE"], "word2vec"),
        (["--semantic", "GLE+SSE"], "glove"),
        (["--semantic", "WLE", "--word2vec", "missing/GoogleNews.bin"], "does not exist"),
        (["--semantic", "WLE", "--table", "WLE=missing_table.npz"], "WLE table missing_table.npz does not exist"),
    ],
)
def test_train_checks_the_spec_before_audio(capsys, data, tmp_path, no_audio_work, options, expected):
    # Before: these failed only once VGGish had trained, leaving -o.partial behind.
    out = tmp_path / "model"
    line = one_line_error(capsys, ["train", "--data", str(data), "-o", str(out), *TINY, *options])
    assert expected in line
    assert not out.exists() and not out.with_name("model.partial").exists()


def test_fit_checks_the_spec_before_audio(data, no_audio_work):
    clips = sorted(data.glob("*/*.wav"))
    with pytest.raises(ConfigError, match="word2vec"):
        ZeroShotClassifier(semantic="WLE+SSE").fit(clips, [clip.parent.name for clip in clips])


# --------------------------------------------------------------------------- sizes, before allocating


def forbid_layers(monkeypatch) -> None:
    """Fail the test if a VGGish layer is built: the sizes must be refused before any allocation."""

    def built(*args, **kwargs):
        raise AssertionError("a layer was allocated before its size was checked")

    monkeypatch.setattr(torch.nn, "Conv2d", built)
    monkeypatch.setattr(torch.nn, "Linear", built)


@pytest.fixture
def no_layers(monkeypatch):
    forbid_layers(monkeypatch)


def test_parameter_count_is_vggish_s():
    for sizes in [{"conv_channels": (64, 128, 256, 512), "fc_units": 4096}, {"conv_channels": (3, 4, 5, 6),
                  "fc_units": 10, "embedding_size": 7, "n_classes": 3}]:  # fmt: skip
        model = VGGish(**sizes)
        assert vggish_parameter_count(**sizes) == sum(p.numel() for p in model.parameters())
    assert vggish_parameter_count(conv_channels=(64, 128, 256, 512), fc_units=4096) * 4 < MAX_VGGISH_PARAMETERS


@pytest.mark.parametrize(
    "sizes",
    [
        {"fc_units": 60_000},  # before: 14.7 GB and 115 s, then a failure
        {"conv_channels": (10**7, 64, 64, 64)},  # before: 11.5 GB, then a traceback
        {"fc_units": 10**9},
        {"embedding_size": 10**6},
        {"n_classes": 10**6},
    ],
)
def test_absurd_vggish_sizes_are_refused_before_allocating(no_layers, sizes):
    with pytest.raises(ConfigError):
        VGGish(**sizes)


def test_vggish_config_bounds():
    with pytest.raises(ConfigError, match="fc_units"):
        VGGishConfig(fc_units=60_000)
    with pytest.raises(ConfigError, match="conv_channels"):
        VGGishConfig(conv_channels=(10**7, 2, 2, 2))
    VGGishConfig(conv_channels=(128, 256, 512, 1024), fc_units=8192)  # twice VGGish's widths still fit


def test_model_folder_with_absurd_widths_is_refused_before_allocating(tmp_path, monkeypatch):
    folder = save_vggish(VGGish(conv_channels=(2, 2, 2, 2), fc_units=4), tmp_path / "vggish")
    config_file = model_version(folder) / "config.json"
    config = json.loads(config_file.read_text())
    config["model"]["fc_units"] = 60_000
    config_file.write_text(json.dumps(config))
    forbid_layers(monkeypatch)
    with pytest.raises(CheckpointError, match="fc_units"):
        load_vggish(folder)


# --------------------------------------------------------------------------- word-vector files


def test_word2vec_header_beyond_the_file_is_refused(tmp_path):
    good = write_word2vec_binary(tmp_path / "v.bin", make_vectors())
    body = good.read_bytes().split(b"\n", 1)[1]
    (tmp_path / "huge.bin").write_bytes(f"3000000000 {DIM}\n".encode() + body)
    (tmp_path / "huge.txt").write_bytes(f"3000000000 {DIM}\nfoo {' 1' * DIM}\n".encode())
    for name in ("huge.bin", "huge.txt"):
        # Before: gensim allocated for the header's 3e9 words (23.5 GB) before reading any.
        with pytest.raises(DataError, match="header declares 3,000,000,000 words"):
            load_word_vectors(tmp_path / name)
    with pytest.raises(DataError, match="header declares"):
        load_word_vectors(tmp_path / "huge.bin", limit=100)
    assert len(load_word_vectors(good).key_to_index) == len(make_vectors())
    assert len(load_word_vectors(tmp_path / "huge.bin", limit=3).key_to_index) == 3  # the limit reads only 3


@pytest.mark.parametrize(
    "secret",
    [
        "root:$6$SECRETSALT$hash:19000:0:99999:7:::\n",
        "2 3\nSECRETWORD abc def ghi\n",
        "-----BEGIN OPENSSH PRIVATE KEY----- SECRETKEY\nb3BlbnNzaC1rZXktdjEAAAAA\n",
    ],
)
def test_word_vector_errors_do_not_quote_the_file(tmp_path, secret):
    path = tmp_path / "not_vectors"
    path.write_text(secret)
    with pytest.raises(DataError) as caught:
        load_word_vectors(path)
    assert str(path) in str(caught.value)
    assert "SECRET" not in str(caught.value)


def test_word_vector_limit_is_the_options_fault(tmp_path):
    path = write_word2vec_binary(tmp_path / "v.bin", make_vectors())
    with pytest.raises(ConfigError, match="word_vector_limit"):
        load_word_vectors(path, limit=-1)


# --------------------------------------------------------------------------- class files


@pytest.fixture
def ragged(tmp_path):
    path = tmp_path / "classes.csv"
    path.write_text("name,description\nhum,a low hum,extra\nhiss,hissing\n")
    return path


def test_ragged_class_csv_names_file_and_line(ragged):
    with pytest.raises(DataError, match=r"classes\.csv, line 2: 3 fields"):
        read_class_file(ragged)


def test_short_rows_still_read(tmp_path):
    path = tmp_path / "classes.csv"
    path.write_text("name,description\nhum\nhiss,hissing\n")
    assert [c.name for c in read_class_file(path)] == ["hum", "hiss"]


def test_ragged_class_csv_in_classify_and_train(capsys, ragged, data, tmp_path, no_audio_work):
    # Before: AttributeError: 'list' object has no attribute 'strip', as a traceback.
    line = one_line_error(capsys, ["classify", "no-model", "x.wav", "--classes-file", str(ragged)])
    assert f"{ragged}, line 2" in line
    argv = ["train", "--data", str(data), "-o", str(tmp_path / "m"), "--classes-file", str(ragged), *TINY]
    assert f"{ragged}, line 2" in one_line_error(capsys, argv)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_deep_class_file_is_refused(tmp_path, suffix):
    path = tmp_path / f"classes{suffix}"
    path.write_text("[" * 100_000 + "]" * 100_000)
    # Before: RecursionError, as a traceback.
    with pytest.raises(DataError, match="nested too deeply"):
        read_class_file(path)
    with pytest.raises(DataError, match="nested too deeply"):
        run_classify(model="no-model", files=["x.wav"], classes_file=path)


def test_train_run_function_checks_before_audio(data, tmp_path, no_audio_work):
    with pytest.raises(ConfigError, match="lambda_grid"):
        run_train(data=data, out=tmp_path / "m", lambda_grid=[math.nan], progress=False)


def test_device_check_does_not_load_torch():
    # A saved model's device is checked at load; int8 inference must not pay torch's import for it.
    code = (
        "import sys; from zsac._settings import check_device_name; check_device_name('cuda:1'); "
        "check_device_name('cpu'); assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(ConfigError, match="device"):
        check_device_name("cuda:x")


@pytest.mark.parametrize("window", ["inf", "nan", "0", "-1"])
def test_timeline_window_is_checked_as_an_option(capsys, window):
    assert "timeline" in one_line_error(capsys, ["classify", "no-model", "x.wav", "--timeline", window])
