"""zsac.acoustic.onnx_int8: the ONNX Runtime int8 back end of the VGGish embedding network."""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from zsac import CheckpointError, ConfigError, DataError  # noqa: E402
from zsac.acoustic import VGGish  # noqa: E402
from zsac.acoustic.onnx_int8 import INT8_FILE, Int8Session, int8_available, quantize_vggish_int8  # noqa: E402
from zsac.audio import waveform_to_examples  # noqa: E402

SMALL = {"conv_channels": (8, 16, 32, 64), "fc_units": 128}
SR = 16_000
QUICK = {"max_calibration": 96, "n_check": 48}


def log_mel_like(n: int, seed: int) -> np.ndarray:
    """Log of rectified noise: the range and skew of log-mel examples, at no cost."""
    noise = np.random.default_rng(seed).standard_normal((n, 96, 64))
    return np.log(np.abs(noise) + 0.01).astype(np.float32)


def real_log_mel(frequencies: list[float], seed: int) -> np.ndarray:
    """One 1-s example per frequency: a tone over noise of a level that varies, through the real front end."""
    rng = np.random.default_rng(seed)
    t = np.arange(SR) / SR
    pieces = [0.5 * np.sin(2 * np.pi * f * t) + rng.uniform(0.001, 0.2) * rng.standard_normal(SR) for f in frequencies]
    return waveform_to_examples(np.concatenate(pieces).astype(np.float32), SR)


def torch_embed(model: VGGish, examples: np.ndarray) -> np.ndarray:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model.embed(torch.from_numpy(examples)).numpy()
    model.train(was_training)
    return out


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def model() -> VGGish:
    torch.manual_seed(0)
    return VGGish(**SMALL).eval()


@pytest.fixture(scope="module")
def examples() -> np.ndarray:
    tones = real_log_mel(list(np.geomspace(80, 6000, 40)), seed=0)
    return np.concatenate([tones, log_mel_like(120, seed=1)])


@pytest.fixture(scope="module")
def quantized(model, examples, tmp_path_factory):
    return quantize_vggish_int8(model, examples, tmp_path_factory.mktemp("int8") / INT8_FILE, **QUICK)


@pytest.fixture(scope="module")
def session(quantized) -> Int8Session:
    return Int8Session(quantized.path, threads=2)


# --- agreement with torch fp32 -------------------------------------------------------------------


def test_int8_embeddings_agree_with_torch_fp32_on_unseen_log_mel(model, session):
    unseen = np.concatenate([real_log_mel([110, 330, 990, 2970, 4500, 7000], seed=5), log_mel_like(10, seed=6)])
    int8 = session.embed(unseen)
    fp32 = torch_embed(model, unseen)
    assert int8.shape == fp32.shape == (16, 128) and int8.dtype == np.float32
    assert cosines(int8, fp32).min() >= 0.98
    assert np.linalg.norm(int8 - fp32) / np.linalg.norm(fp32) < 0.1


def test_the_report_passes_on_log_mel(quantized):
    assert quantized.passed
    assert 0.98 <= quantized.min_cosine <= quantized.mean_cosine <= 1.0 + 1e-9
    assert 0.0 < quantized.relative_error < 0.1  # int8 is close, not exact


# --- batching -------------------------------------------------------------------------------------


def test_batch_size_does_not_change_the_embeddings(session, examples):
    subset = examples[:40]
    together = session.embed(subset, batch_size=128)
    for batch_size in (1, 7, 40):
        np.testing.assert_allclose(session.embed(subset, batch_size=batch_size), together, rtol=0, atol=1e-6)
    np.testing.assert_allclose(session.embed(subset[:, None]), together, rtol=0, atol=1e-6)  # [n, 1, 96, 64]


# --- the report -----------------------------------------------------------------------------------


def test_report_fields_match_a_recomputation(model, examples, quantized, session):
    report = quantized
    calibration, check = set(report.calibration_indices), set(report.check_indices)
    assert report.n_calibration == len(calibration) <= QUICK["max_calibration"]
    assert report.n_check == len(check) <= QUICK["n_check"]
    assert not calibration & check and max(calibration | check) < len(examples)

    rows = examples[list(report.check_indices)]
    int8, fp32 = session.embed(rows), torch_embed(model, rows)
    assert report.relative_error == pytest.approx(np.linalg.norm(int8 - fp32) / np.linalg.norm(fp32), rel=1e-3)
    assert report.min_cosine == pytest.approx(cosines(int8, fp32).min(), abs=1e-5)
    assert report.mean_cosine == pytest.approx(cosines(int8, fp32).mean(), abs=1e-5)
    assert report.passed == (report.min_cosine >= 0.98)


def test_an_unreachable_tolerance_fails_with_a_warning_but_writes_the_file(model, examples, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="zsac.acoustic.onnx_int8"):
        report = quantize_vggish_int8(model, examples, tmp_path, tolerance=1.0 + 1e-9, **QUICK)
    assert not report.passed
    assert report.path == tmp_path / INT8_FILE and report.path.is_file()  # a folder means folder / INT8_FILE
    assert any("misses the tolerance" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_few_examples_are_split_disjointly_and_one_serves_both(model, tmp_path):
    few = quantize_vggish_int8(model, log_mel_like(6, seed=2), tmp_path / "few.onnx")
    assert few.n_check == 3 and few.n_calibration == 3
    assert not set(few.check_indices) & set(few.calibration_indices)
    one = quantize_vggish_int8(model, log_mel_like(1, seed=2), tmp_path / "one.onnx")
    assert one.n_check == one.n_calibration == 1
    assert one.min_cosine >= 0.98


# --- determinism ----------------------------------------------------------------------------------


def test_same_seed_gives_the_same_file_and_embeddings(model, examples, tmp_path):
    a = quantize_vggish_int8(model, examples, tmp_path / "a.onnx", seed=3, **QUICK)
    b = quantize_vggish_int8(model, examples, tmp_path / "b.onnx", seed=3, **QUICK)
    assert a.check_indices == b.check_indices and a.calibration_indices == b.calibration_indices
    probe = examples[:20]
    np.testing.assert_array_equal(Int8Session(a.path).embed(probe), Int8Session(b.path).embed(probe))
    assert a.path.read_bytes() == b.path.read_bytes()
    c = quantize_vggish_int8(model, examples, tmp_path / "c.onnx", seed=4, **QUICK)
    assert c.check_indices != a.check_indices  # the seed does pick the segments


# --- the model is left alone ----------------------------------------------------------------------


def test_the_model_is_left_unchanged(examples, tmp_path):
    torch.manual_seed(1)
    model = VGGish(n_classes=5, dropout=0.5, **SMALL).train()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    report = quantize_vggish_int8(model, examples, tmp_path / "m.onnx", **QUICK)
    assert model.training and all(module.training for module in model.modules())
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[name], before[name]) for name in before)
    # Exported in eval mode (dropout off) and without the head: the int8 network matches model.embed.
    assert report.passed
    assert Int8Session(report.path).embedding_size == 128


# --- errors and edge cases ------------------------------------------------------------------------


def test_missing_or_garbage_files_raise_checkpoint_error_naming_the_path(tmp_path):
    missing = tmp_path / "nowhere" / INT8_FILE
    with pytest.raises(CheckpointError, match="nowhere"):
        Int8Session(missing)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"this is not a protobuf" * 10)
    with pytest.raises(CheckpointError, match="garbage.onnx"):
        Int8Session(garbage)


def test_an_onnx_model_that_is_not_vggish_is_refused(tmp_path):
    from onnx import TensorProto, helper, save

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
    path = tmp_path / "relu.onnx"
    # IR version 8 is what every supported onnxruntime reads (the newest onnx writes a newer one by default).
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    with pytest.raises(CheckpointError, match="relu.onnx is not a VGGish embedding network"):
        Int8Session(path)


def test_empty_and_malformed_input(session, model, tmp_path):
    for empty in (np.empty((0, 96, 64), np.float32), np.empty((0, 1, 96, 64)), []):
        out = session.embed(empty)
        assert out.shape == (0, 128) and out.dtype == np.float32
    with pytest.raises(DataError, match=r"\(n, 96, 64\)"):
        session.embed(np.zeros((2, 64, 96), np.float32))
    with pytest.raises(ConfigError, match="batch_size"):
        session.embed(np.zeros((2, 96, 64), np.float32), batch_size=0)
    with pytest.raises(DataError, match="no segments"):
        quantize_vggish_int8(model, np.empty((0, 96, 64), np.float32), tmp_path / "x.onnx")
    bad = log_mel_like(4, seed=0)
    bad[1, 2, 3] = np.nan
    with pytest.raises(DataError, match="non-finite"):
        quantize_vggish_int8(model, bad, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_missing_onnxruntime_is_a_config_error_with_the_install_line(monkeypatch, tmp_path):
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` raise ImportError
        assert not int8_available()
        with pytest.raises(ConfigError, match="pip install onnxruntime onnx"):
            Int8Session(tmp_path / INT8_FILE)
        with pytest.raises(ConfigError, match="pip install onnxruntime onnx"):
            quantize_vggish_int8(VGGish(**SMALL), log_mel_like(1, seed=0), tmp_path / INT8_FILE)
    assert int8_available()


def test_importing_zsac_does_not_import_onnx():
    code = (
        "import sys, zsac, zsac.acoustic, zsac.acoustic.onnx_int8; "
        "print(sorted(m for m in ('onnx', 'onnxruntime') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- atomic writes --------------------------------------------------------------------------------


def test_the_file_is_written_atomically(model, examples, tmp_path, monkeypatch):
    folder, scratch = tmp_path / "out", tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the intermediate files go
    report = quantize_vggish_int8(model, examples, folder / INT8_FILE, **QUICK)
    assert sorted(p.name for p in folder.iterdir()) == [INT8_FILE]
    assert list(scratch.iterdir()) == []
    written = report.path.read_bytes()

    # A failure half-way leaves the previous file as it was, and no temporary file beside it.
    import onnxruntime.quantization

    def broken(*args, **kwargs):
        raise RuntimeError("calibration failed")

    monkeypatch.setattr(onnxruntime.quantization, "quantize_static", broken)
    with pytest.raises(RuntimeError, match="calibration failed"):
        quantize_vggish_int8(model, examples, folder / INT8_FILE, **QUICK)
    assert sorted(p.name for p in folder.iterdir()) == [INT8_FILE]
    assert report.path.read_bytes() == written
    assert list(scratch.iterdir()) == []
