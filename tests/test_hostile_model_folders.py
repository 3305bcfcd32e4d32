"""Hostile and damaged model folders: a model folder is untrusted input.

- the int8 ONNX copy may not refer to external data, and must be the copy its model was saved with;
- paths in a model's JSON are never opened, read or written by a loaded model;
- non-finite weights are refused at load;
- FIFOs and devices named as model files are refused without being opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from onnx import TensorProto, helper
from safetensors.numpy import save_file

from conftest import tone
from zsac import CheckpointError, ConfigError, DataError, ZeroShotClassifier
from zsac.acoustic import VGGish
from zsac.acoustic.encoder import AcousticEncoder
from zsac.acoustic.int8_session import INT8_FILE, Int8Session, check_no_external_data
from zsac.checkpoint import model_version
from zsac.semantic.tables import ClassTable

SMALL = {"fc_units": 32, "conv_channels": (4, 8, 8, 16)}
SECRET = "-----BEGIN PRIVATE KEY----- TOPSECRET-do-not-leak"


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (opening a FIFO blocks until a writer comes)."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: something opened a FIFO")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


_OPENED: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@contextlib.contextmanager
def opened_files():
    """Record the paths that Python opens meanwhile (audit hook events)."""
    global _OPENED
    _OPENED = []
    try:
        yield _OPENED
    finally:
        _OPENED = None


# ------------------------------------------------------------------------------------------------ int8 copies


def onnx_bytes(*, external: str | None = None, width: int = 4) -> bytes:
    """A small ONNX network of VGGish's input and output shapes; ``external`` stores its weight outside."""
    weight = helper.make_tensor("W", TensorProto.FLOAT, [96 * 64, width], np.ones(96 * 64 * width, np.float32))
    if external is not None:
        weight.ClearField("float_data")
        weight.data_location = TensorProto.EXTERNAL
        for key, value in (("location", external), ("offset", "0"), ("length", str(96 * 64 * width * 4))):
            entry = weight.external_data.add()
            entry.key, entry.value = key, value
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["examples"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "W"], ["embeddings"]),
        ],
        "g",
        [helper.make_tensor_value_info("examples", TensorProto.FLOAT, ["batch", 1, 96, 64])],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", width])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def subgraph_external_bytes() -> bytes:
    """External data hidden in an If node's branch (a subgraph attribute)."""
    inner = helper.make_tensor("C", TensorProto.FLOAT, [1], [0.0])
    inner.ClearField("float_data")
    inner.data_location = TensorProto.EXTERNAL
    entry = inner.external_data.add()
    entry.key, entry.value = "location", "secret.bin"
    branch = helper.make_graph(
        [helper.make_node("Identity", ["C"], ["out"])], "b", [],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1])], initializer=[inner],
    )  # fmt: skip
    node = helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@pytest.fixture
def vggish_folder(tmp_path):
    """A saved VGGish folder (random tiny weights) whose int8 copy passed its check."""
    import torch

    torch.manual_seed(0)
    encoder = AcousticEncoder.from_model(VGGish(**SMALL))
    encoder.int8, encoder.quantization = onnx_bytes(), {"passed": True}
    return encoder.save(tmp_path / "vggish")


def swap_int8(folder: Path, data: bytes, *, record: bool) -> Path:
    version = model_version(folder)
    (version / INT8_FILE).write_bytes(data)
    if record:  # a crafted folder can record any sha256 it likes
        config = json.loads((version / "config.json").read_text())
        config["metadata"]["int8_sha256"] = hashlib.sha256(data).hexdigest()
        (version / "config.json").write_text(json.dumps(config))
    return version / INT8_FILE


def test_external_data_is_refused_before_a_session(vggish_folder, tmp_path, monkeypatch):
    (tmp_path / "secret.bin").write_bytes(np.full(96 * 64 * 4, 7.0, np.float32).tobytes())
    monkeypatch.chdir(tmp_path)  # where ONNX Runtime resolves external data of a model given as bytes
    path = swap_int8(vggish_folder, onnx_bytes(external="secret.bin"), record=True)
    encoder = AcousticEncoder.load(vggish_folder)
    assert encoder.has_int8
    with pytest.raises(CheckpointError, match="external data") as caught:
        encoder.embed(np.zeros((2, 96, 64), np.float32), inference="int8")
    assert str(path) in str(caught.value)
    with pytest.raises(CheckpointError, match="external data"):
        Int8Session(path)


def test_external_data_in_a_subgraph_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="external data"):
        check_no_external_data(subgraph_external_bytes(), path=tmp_path / "x.onnx")
    check_no_external_data(onnx_bytes(), path=tmp_path / "ok.onnx")


def test_the_check_parses_with_onnx_schema_without_importing_onnx(tmp_path):
    """``import onnx`` costs about a second of start-up; the check loads only onnx's protobuf schema."""
    import subprocess

    (tmp_path / "external.onnx").write_bytes(subgraph_external_bytes())
    (tmp_path / "plain.onnx").write_bytes(onnx_bytes())
    code = (
        "import sys; from pathlib import Path; from zsac import CheckpointError\n"
        "from zsac.acoustic.int8_session import check_no_external_data\n"
        "check_no_external_data(Path(sys.argv[1], 'plain.onnx').read_bytes(), path='plain')\n"
        "try:\n    check_no_external_data(Path(sys.argv[1], 'external.onnx').read_bytes(), path='external')\n"
        "except CheckpointError as exc:\n    print('refused', exc)\n"
        "print('onnx imported' if 'onnx' in sys.modules else 'onnx not imported')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "refused external refers to external data" in done.stdout and "onnx not imported" in done.stdout


@pytest.mark.parametrize("swapped", ["another network", "bytes appended"])
def test_a_swapped_int8_copy_falls_back_to_fp32_or_is_refused(vggish_folder, caplog, swapped):
    data = onnx_bytes(width=8) if swapped == "another network" else onnx_bytes() + b"\x00"
    assert data != onnx_bytes()
    path = swap_int8(vggish_folder, data, record=False)  # the recorded sha256 kept
    with caplog.at_level(logging.WARNING):
        encoder = AcousticEncoder.load(vggish_folder)
    assert not encoder.has_int8 and encoder.int8 is None
    assert str(path) in caplog.text and "sha256 differs" in caplog.text
    with pytest.raises(CheckpointError, match="sha256 differs"):
        AcousticEncoder.load(vggish_folder, int8_required=True)


def test_the_int8_sha256_goes_into_the_descriptions(vggish_folder):
    config = json.loads((model_version(vggish_folder) / "config.json").read_text())
    assert config["metadata"]["int8_sha256"] == hashlib.sha256(onnx_bytes()).hexdigest()


def test_a_corrupt_int8_copy_is_named_by_its_path(vggish_folder):
    path = swap_int8(vggish_folder, b"\x08garbage, not protobuf" * 10, record=True)
    encoder = AcousticEncoder.load(vggish_folder)
    with pytest.raises(CheckpointError) as caught:
        encoder.embed(np.zeros((1, 96, 64), np.float32), inference="int8")
    assert str(path) in str(caught.value) and "in-memory" not in str(caught.value)


def test_without_onnx_the_int8_copy_is_not_loaded(vggish_folder, monkeypatch, caplog):
    monkeypatch.setattr("zsac.acoustic.encoder.int8_available", lambda: False)
    with caplog.at_level(logging.WARNING):
        encoder = AcousticEncoder.load(vggish_folder)
    assert encoder.int8 is None and "onnx is not installed" in caplog.text
    assert encoder.backend("auto", "cpu") in ("fp32", "bf16")


def open_descriptors() -> int:
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc/self/fd to count open descriptors")
    return len(os.listdir("/proc/self/fd"))


def test_failed_loads_leave_no_open_file(vggish_folder):
    swap_int8(vggish_folder, onnx_bytes(width=8), record=False)  # refused when int8 is required
    before = open_descriptors()
    for _ in range(50):
        with pytest.raises(CheckpointError, match="sha256 differs"):
            AcousticEncoder.load(vggish_folder, int8_required=True)
    assert open_descriptors() == before


def test_a_copy_reads_its_own_weights_after_the_version_is_deleted(vggish_folder, tmp_path):
    import copy
    import pickle

    import torch

    encoder = AcousticEncoder.load(vggish_folder)
    copies = [copy.deepcopy(encoder), pickle.loads(pickle.dumps(encoder))]
    old_version = model_version(vggish_folder)
    torch.manual_seed(1)
    AcousticEncoder.from_model(VGGish(**SMALL)).save(vggish_folder)  # deletes the version loaded
    assert not old_version.exists()
    first = copies[0].weights()
    # A file opened now may get a descriptor number that a copy once held: no one else closes it.
    with open(tmp_path / "bystander", "wb") as bystander:
        for other in (encoder, copies[1]):
            assert sorted(other.weights()) == sorted(first)
            for name, array in first.items():
                np.testing.assert_array_equal(other.weights()[name], array)
        os.fstat(bystander.fileno())
        del encoder, copies


def test_weights_that_cannot_be_opened_fail_the_load(vggish_folder, monkeypatch):
    import errno

    real_open = os.open

    def refusing_open(path, *args, **kwargs):
        if os.fspath(path).endswith("model.safetensors"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(CheckpointError, match="model.safetensors"):
        AcousticEncoder.load(vggish_folder)


# ------------------------------------------------------------------------------------------------ classifiers


def write_clips(root: Path) -> tuple[list[Path], list[str]]:
    paths, labels = [], []
    for label, frequency in (("hum", 150.0), ("whistle", 3000.0)):
        for i in range(3):
            path = root / f"{label}{i}.wav"
            sf.write(path, tone(frequency * (1 + 0.05 * i), 1.5), 16_000)
            paths.append(path)
            labels.append(label)
    return paths, labels


@pytest.fixture
def audio_folder(tmp_path):
    """A classifier with an (untrained, tiny) VGGish, saved: fast to make, reads audio like any other."""
    import torch

    torch.manual_seed(0)
    table = ClassTable(np.eye(2, 4, dtype=np.float32) + 0.1, names=("hum", "whistle")).save(tmp_path / "wle.npz")
    paths, labels = write_clips(tmp_path)
    model = ZeroShotClassifier(
        semantic="WLE", tables={"WLE": str(table)}, acoustic_model=VGGish(**SMALL), quantize=False,
        feature_cache=False, progress=False, lam=1.0,
    ).fit(paths, labels)  # fmt: skip
    return model.save(tmp_path / "model"), paths, model


def edit_classifier_json(folder: Path, change) -> None:
    path = model_version(folder) / "classifier.json"
    config = json.loads(path.read_text())
    change(config)
    path.write_text(json.dumps(config))


def test_paths_in_the_json_are_never_read_or_written(audio_folder, tmp_path):
    folder, paths, model = audio_folder
    secret = tmp_path / "secret-key"
    secret.write_text(SECRET + "\nmore\n")
    cache = tmp_path / "victim-cache"
    cache.mkdir()

    def hostile(config):
        config["params"] |= {"word2vec": str(secret), "glove": str(secret), "feature_cache": str(cache),
                             "tables": {"WLE": str(secret)}, "checkpoint_dir": str(cache),
                             "acoustic_model": str(secret), "sentence_model": str(secret),
                             "bert": str(cache)}  # fmt: skip

    edit_classifier_json(folder, hostile)
    with opened_files() as opened:
        loaded = ZeroShotClassifier.load(folder)
        np.testing.assert_array_equal(loaded.predict(paths), model.predict(paths))  # training classes: no text model
        with pytest.raises((ConfigError, DataError)) as caught:
            loaded.predict(paths, classes=["a dog barking", "rain"])
    message = str(caught.value)
    assert "TOPSECRET" not in message and "PRIVATE KEY" not in message
    assert str(secret) in message  # named as a hint, so the user knows what to pass again
    assert not [p for p in opened if Path(p).resolve() == secret.resolve()]
    assert list(cache.iterdir()) == []
    # Passed again by the caller, a path is used.
    names = ("hum", "whistle", "a dog barking", "rain")
    table = ClassTable(np.eye(4, 4, dtype=np.float32) + 0.1, names=names).save(tmp_path / "new.npz")
    again = ZeroShotClassifier.load(folder, tables={"WLE": str(table)})
    assert set(again.predict(paths, classes=["a dog barking", "rain"])) <= {"a dog barking", "rain"}


def test_saved_paths_are_hints_not_parameters(audio_folder):
    folder, _, _ = audio_folder
    config = json.loads((model_version(folder) / "classifier.json").read_text())
    assert config["params"]["tables"] is None and config["source_hints"]["tables"]["WLE"].endswith("wle.npz")
    assert "progress" not in config["params"] and "checkpoint_dir" not in config["params"]
    assert "acoustic_history" not in config


def rewrite_arrays(path: Path, name: str, change) -> None:
    from safetensors.numpy import load_file

    arrays = load_file(path)
    arrays[name] = change(arrays[name].copy())
    save_file(arrays, path)


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize(
    ("relative", "array"),
    [("bilinear/bilinear.safetensors", "W"), ("class_embeddings.safetensors", "embeddings")],
)
def test_non_finite_weights_are_refused_at_load(audio_folder, relative, array, value):
    folder, _, _ = audio_folder
    path = model_version(folder) / relative

    def poison(a):
        a.flat[3] = value
        return a

    rewrite_arrays(path, array, poison)
    with pytest.raises(CheckpointError, match="non-finite") as caught:
        ZeroShotClassifier.load(folder)
    assert str(path) in str(caught.value)


def test_non_finite_vggish_weights_are_refused(audio_folder):
    folder, paths, _ = audio_folder
    path = model_version(folder) / "acoustic" / "model.safetensors"
    from safetensors.numpy import load_file

    name = sorted(load_file(path))[0]
    rewrite_arrays(path, name, lambda a: a * np.nan)
    with pytest.raises(CheckpointError, match="non-finite") as caught:
        ZeroShotClassifier.load(folder, inference="fp32").predict(paths)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    "relative", ["classifier.json", "class_embeddings.safetensors", "bilinear/bilinear.safetensors",
                 "bilinear/bilinear.json", "acoustic/config.json", "acoustic/model.safetensors"],
)  # fmt: skip
def test_a_fifo_is_refused_without_opening_it(audio_folder, relative):
    folder, _, _ = audio_folder
    path = model_version(folder) / relative
    path.unlink()
    os.mkfifo(path)
    with deadline(20), pytest.raises(CheckpointError, match="FIFO") as caught:
        ZeroShotClassifier.load(folder)
    assert str(path) in str(caught.value)


def test_a_fifo_as_pointer_or_int8_copy_is_refused(vggish_folder):
    path = model_version(vggish_folder) / INT8_FILE
    path.unlink()
    os.mkfifo(path)
    with deadline(20), pytest.raises(CheckpointError, match="FIFO"):
        AcousticEncoder.load(vggish_folder)
    pointer = vggish_folder / "CURRENT"
    pointer.unlink()
    os.mkfifo(pointer)
    with deadline(20), pytest.raises(CheckpointError, match="FIFO"):
        AcousticEncoder.load(vggish_folder)


def test_a_pointer_to_elsewhere_is_refused(vggish_folder):
    (vggish_folder / "CURRENT").write_text("../../etc\n")
    with pytest.raises(CheckpointError, match="does not name a model version"):
        AcousticEncoder.load(vggish_folder)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("source_hints", ["x"]),
        ("lambda_scores", []),
        ("semantic_sources", "WLE"),
        ("params", [1]),
        ("classes", [[1], [2]]),
    ],
)
def test_a_classifier_json_of_wrong_types_is_one_error(audio_folder, key, value):
    folder, _, _ = audio_folder
    edit_classifier_json(folder, lambda config: config.__setitem__(key, value))
    with pytest.raises(CheckpointError, match="malformed classifier file") as caught:
        ZeroShotClassifier.load(folder)
    assert str(model_version(folder) / "classifier.json") in str(caught.value)


def test_a_deeply_nested_training_log_is_ignored(audio_folder):
    folder, paths, model = audio_folder
    (folder / "training-log.json").write_text("[" * 100_000 + "]" * 100_000)
    loaded = ZeroShotClassifier.load(folder)
    assert loaded.acoustic_history_ == []
    np.testing.assert_array_equal(loaded.class_embeddings_, model.class_embeddings_)


def test_the_device_is_a_run_detail_not_a_model_parameter(audio_folder, tmp_path):
    folder, paths, model = audio_folder
    expected = model.predict(paths)
    # A folder that recorded device="cuda" in its parameters (zsac 0.1, or trained on a GPU).
    edit_classifier_json(folder, lambda config: config["params"].__setitem__("device", "cuda"))
    loaded = ZeroShotClassifier.load(folder, inference="fp32")
    assert loaded.device is None
    np.testing.assert_array_equal(loaded.predict(paths), expected)
    model.device = "cpu"
    on_cpu = model.save(tmp_path / "cpu")
    model.device = None
    default = model.save(tmp_path / "default")
    assert model_version(on_cpu).name == model_version(default).name
    assert json.loads((on_cpu / "training-log.json").read_text())["run"]["device"] == "cpu"
