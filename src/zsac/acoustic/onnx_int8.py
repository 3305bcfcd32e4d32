"""A fast CPU back end for the VGGish embedding network: ONNX Runtime with static int8 quantisation.

:func:`quantize_vggish_int8` exports ``VGGish.embed`` (not the classification head) to ONNX,
quantises it statically in the QDQ format (uint8 activations, int8 per-channel weights,
MinMax calibration on log-mel examples) and checks the int8 embeddings against torch fp32
before it writes the file. :class:`Int8Session` runs the written file with ONNX Runtime.

The network in the file takes log-mel examples ``examples`` [shape=(batch, 1, 96, 64)],
float32, with a dynamic batch axis, and returns ``embeddings`` [shape=(batch, embedding_size)],
float32; :meth:`Int8Session.embed` adds the channel axis itself.

On a 2-core AVX512-VNNI CPU the int8 network embeds about five times as many segments per
second as torch fp32. Weights are int8 against uint8 activations (``reduce_range=False``),
which is exact on CPUs with VNNI; older x86 CPUs without VNNI may saturate intermediate sums
and lose some accuracy, which the report's check measures only on the machine that quantises.

``onnxruntime`` and ``onnx`` are optional: they are imported only when these functions run,
and their absence raises :class:`~zsac.errors.ConfigError` with the ``pip install`` line.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

from .._atomic import atomic_path
from ..audio import EXAMPLE_FRAMES, NUM_MEL_BANDS
from ..errors import CheckpointError, ConfigError, DataError
from .embedding import segment_embeddings
from .vggish import VGGish

__all__ = ["INT8_FILE", "QuantizationReport", "quantize_vggish_int8", "Int8Session", "int8_available"]

logger = logging.getLogger(__name__)

INT8_FILE = "vggish.int8.onnx"

INPUT_NAME = "examples"
OUTPUT_NAME = "embeddings"
OPSET = 17
_CALIBRATION_BATCH = 32
_INSTALL_HINT = "pip install onnxruntime onnx"


@dataclasses.dataclass(frozen=True)
class QuantizationReport:
    """What :func:`quantize_vggish_int8` wrote and how close the int8 network is to torch fp32.

    Attributes
    ----------
    path : Path
        The written ``.onnx`` file.
    n_calibration : int
        Segments used for calibration.
    n_check : int
        Segments used for the tolerance check; disjoint from the calibration segments
        unless only one segment was given.
    min_cosine, mean_cosine : float
        Minimum and mean over the check segments of the cosine similarity between the int8
        and the fp32 embedding of a segment.
    relative_error : float
        ``||E_int8 - E_fp32||_F / ||E_fp32||_F`` over the check segments.
    passed : bool
        ``min_cosine >= tolerance``.
    calibration_indices, check_indices : tuple of int
        Which rows of ``calibration_examples`` were used for calibration and for the check.
    """

    path: Path
    n_calibration: int
    n_check: int
    min_cosine: float
    mean_cosine: float
    relative_error: float
    passed: bool
    calibration_indices: tuple[int, ...] = dataclasses.field(repr=False)
    check_indices: tuple[int, ...] = dataclasses.field(repr=False)


def int8_available() -> bool:
    """Whether ``onnxruntime`` and ``onnx`` can be imported (so the int8 back end can run)."""
    try:
        _import_onnx()
    except ConfigError:
        return False
    return True


def quantize_vggish_int8(
    model: VGGish,
    calibration_examples: np.ndarray,
    path: str | os.PathLike[str],
    *,
    max_calibration: int = 256,
    n_check: int = 128,
    tolerance: float = 0.98,
    seed: int = 0,
) -> QuantizationReport:
    """Export a VGGish embedding network to ONNX, quantise it to int8 and write it atomically.

    The calibration and check segments are drawn from ``calibration_examples`` by one
    permutation of ``np.random.default_rng(seed)``: the check takes the first
    ``min(n_check, n // 2)`` segments of it and the calibration the next
    ``min(max_calibration, n - n_check_used)``, so the two are disjoint whenever ``n >= 2``
    (one segment serves both). The file is written even when the check fails, with a
    warning logged; the caller decides what to do with ``report.passed``.

    Parameters
    ----------
    model : VGGish
        Left unchanged: weights untouched, training mode restored. Its head is not exported.
    calibration_examples : np.ndarray [shape=(n, 96, 64)]
        Log-mel examples like the ones the network will embed (for example the training segments).
    path : str or os.PathLike
        The ``.onnx`` file to write; an existing directory means ``path / INT8_FILE``.
    max_calibration : int
        At most this many segments calibrate the activation ranges.
    n_check : int
        At most this many segments compare int8 and fp32 embeddings.
    tolerance : float
        ``report.passed`` is ``min_cosine >= tolerance``.
    seed : int
        Seed of the segment choice; the same model, examples and seed give the same file.

    Returns
    -------
    QuantizationReport

    Raises
    ------
    ConfigError
        ``onnxruntime`` or ``onnx`` is missing, or a parameter is out of range.
    DataError
        ``calibration_examples`` has the wrong shape, no rows, or non-finite values.
    """
    _import_onnx()
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quant_pre_process, quantize_static

    examples = _as_examples(calibration_examples, what="calibration_examples")
    if examples.shape[0] == 0:
        raise DataError("calibration_examples holds no segments; quantisation needs at least one")
    if not np.isfinite(examples).all():
        raise DataError("calibration_examples holds non-finite values (NaN or inf)")
    if max_calibration < 1 or n_check < 1:
        raise ConfigError(f"max_calibration and n_check must be >= 1, got {max_calibration} and {n_check}")
    if not np.isfinite(tolerance):
        raise ConfigError(f"tolerance must be finite, got {tolerance}")
    if any(p.dtype != torch.float32 for p in model.parameters()):
        raise ConfigError("quantize_vggish_int8 needs a float32 model; call model.float() first")
    target = Path(path)
    if target.is_dir():
        target = target / INT8_FILE

    calibration_idx, check_idx = _split(examples.shape[0], max_calibration=max_calibration, n_check=n_check, seed=seed)
    calibration, check = examples[calibration_idx], examples[check_idx]
    device = next(model.parameters()).device

    with tempfile.TemporaryDirectory(prefix="zsac-int8-") as tmp:
        fp32_path, prep_path, int8_path = (Path(tmp) / name for name in ("fp32.onnx", "prep.onnx", "int8.onnx"))
        _export_embedding(model, fp32_path, device=device)
        quant_pre_process(str(fp32_path), str(prep_path))
        quantize_static(
            str(prep_path),
            str(int8_path),
            _calibration_reader(calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=False,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        int8 = Int8Session(int8_path).embed(check)
        fp32 = segment_embeddings(model, check, device=device, precision="fp32")
        with atomic_path(target) as tmp_target:
            shutil.copyfile(int8_path, tmp_target)

    min_cosine, mean_cosine, relative_error = _agreement(int8, fp32)
    report = QuantizationReport(
        path=target,
        n_calibration=len(calibration_idx),
        n_check=len(check_idx),
        min_cosine=min_cosine,
        mean_cosine=mean_cosine,
        relative_error=relative_error,
        passed=min_cosine >= tolerance,
        calibration_indices=tuple(int(i) for i in calibration_idx),
        check_indices=tuple(int(i) for i in check_idx),
    )
    if report.passed:
        logger.info(
            "int8 VGGish written to %s: min cosine %.4f, mean %.4f, relative error %.4f on %d segments",
            target,
            min_cosine,
            mean_cosine,
            relative_error,
            report.n_check,
        )
    else:
        logger.warning(
            "int8 VGGish written to %s misses the tolerance: min cosine %.4f < %.4f (mean %.4f, relative error %.4f "
            "on %d segments)",
            target,
            min_cosine,
            tolerance,
            mean_cosine,
            relative_error,
            report.n_check,
        )
    return report


class Int8Session:
    """An ONNX Runtime session of a quantised VGGish embedding network.

    Parameters
    ----------
    path : str, os.PathLike or bytes
        A file written by :func:`quantize_vggish_int8`; a directory means ``path / INT8_FILE``;
        bytes are the file's content.
    threads : int or None
        ONNX Runtime's intra-op threads; ``None`` keeps its default (one per physical core).

    Attributes
    ----------
    path : Path
    embedding_size : int

    Raises
    ------
    CheckpointError
        The file is missing, is not an ONNX model, or is not a VGGish embedding network.
    ConfigError
        ``onnxruntime`` is missing, or ``threads < 1``.
    """

    def __init__(self, path: str | os.PathLike[str] | bytes, *, threads: int | None = None) -> None:
        ort = _import_onnxruntime()
        if threads is not None and threads < 1:
            raise ConfigError(f"threads must be >= 1 or None, got {threads}")
        if isinstance(path, bytes):
            # A model held in memory (a classifier between fit and save).
            source: str | bytes = path
            path = Path("<in-memory int8 VGGish>")
        else:
            path = Path(path)
            if path.is_dir():
                path = path / INT8_FILE
            if not path.is_file():
                raise CheckpointError(f"no int8 VGGish model at {path}")
            source = str(path)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: ORT's own warnings go to stderr, not to logging
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])
        except _ort_errors(ort) as exc:
            raise CheckpointError(f"cannot load the int8 VGGish model {path}: {exc}") from exc
        inputs, outputs = session.get_inputs(), session.get_outputs()
        in_shape = list(inputs[0].shape) if len(inputs) == 1 else []
        out_shape = list(outputs[0].shape) if len(outputs) == 1 else []
        if (
            len(in_shape) != 4
            or in_shape[1:] != [1, EXAMPLE_FRAMES, NUM_MEL_BANDS]
            or len(out_shape) != 2
            or not isinstance(out_shape[1], int)
        ):
            raise CheckpointError(
                f"{path} is not a VGGish embedding network: inputs {[(i.name, i.shape) for i in inputs]}, "
                f"outputs {[(o.name, o.shape) for o in outputs]}; expected one input [batch, 1, "
                f"{EXAMPLE_FRAMES}, {NUM_MEL_BANDS}] and one output [batch, embedding_size]"
            )
        self.path = path
        self.embedding_size: int = out_shape[1]
        self._session = session
        self._input_name = inputs[0].name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, embedding_size={self.embedding_size})"

    def embed(self, examples: np.ndarray, *, batch_size: int = 128) -> np.ndarray:
        """Embed log-mel examples one batch at a time.

        Parameters
        ----------
        examples : np.ndarray [shape=(n, 96, 64) or (n, 1, 96, 64)]
        batch_size : int

        Returns
        -------
        np.ndarray [shape=(n, embedding_size)], float32
        """
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        examples = _as_examples(examples, what="examples")
        n = examples.shape[0]
        out = np.empty((n, self.embedding_size), dtype=np.float32)
        for start in range(0, n, batch_size):
            batch = np.ascontiguousarray(examples[start : start + batch_size, None])
            out[start : start + batch.shape[0]] = self._session.run(None, {self._input_name: batch})[0]
        return out


class _EmbeddingOnly(nn.Module):
    """``model.embed`` as a module's forward, so that the export leaves out the head."""

    def __init__(self, model: VGGish) -> None:
        super().__init__()
        self.model = model

    def forward(self, examples: torch.Tensor) -> torch.Tensor:
        return self.model.embed(examples)


def _export_embedding(model: VGGish, path: Path, *, device: torch.device) -> None:
    was_training = model.training
    model.eval()
    try:
        dummy = torch.zeros(1, 1, EXAMPLE_FRAMES, NUM_MEL_BANDS, device=device)
        # The TorchScript exporter (dynamo=False) needs only torch and onnx; the default dynamo
        # exporter would also need onnxscript. torch deprecates the TorchScript exporter with
        # DeprecationWarnings, silenced here for this call only.
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                _EmbeddingOnly(model),
                (dummy,),
                str(path),
                dynamo=False,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                opset_version=OPSET,
                do_constant_folding=True,
            )
    finally:
        model.train(was_training)


def _calibration_reader(examples: np.ndarray) -> Any:
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._starts = iter(range(0, examples.shape[0], _CALIBRATION_BATCH))

        def get_next(self) -> dict[str, np.ndarray] | None:
            start = next(self._starts, None)
            if start is None:
                return None
            return {INPUT_NAME: np.ascontiguousarray(examples[start : start + _CALIBRATION_BATCH, None])}

    return _Reader()


def _split(n: int, *, max_calibration: int, n_check: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    if n == 1:
        return order, order
    check = order[: min(n_check, n // 2)]
    calibration = order[len(check) : len(check) + min(max_calibration, n - len(check))]
    return np.sort(calibration), np.sort(check)


def _agreement(int8: np.ndarray, fp32: np.ndarray) -> tuple[float, float, float]:
    """Min and mean row cosine, and the relative Frobenius error, computed in float64."""
    a, b = int8.astype(np.float64), fp32.astype(np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cosine = np.einsum("ij,ij->i", a, b) / np.maximum(norms, np.finfo(np.float64).tiny)
    relative_error = np.linalg.norm(a - b) / max(np.linalg.norm(b), np.finfo(np.float64).tiny)
    return float(cosine.min()), float(cosine.mean()), float(relative_error)


def _as_examples(examples: np.ndarray, *, what: str) -> np.ndarray:
    array = np.asarray(examples, dtype=np.float32)
    if array.size == 0 and array.ndim < 3:  # an empty list or array: no segments
        array = array.reshape(0, EXAMPLE_FRAMES, NUM_MEL_BANDS)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3 or array.shape[1:] != (EXAMPLE_FRAMES, NUM_MEL_BANDS):
        raise DataError(f"{what} must have shape (n, {EXAMPLE_FRAMES}, {NUM_MEL_BANDS}), got {array.shape}")
    return array


def _import_onnxruntime() -> ModuleType:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ConfigError(f"the int8 VGGish back end needs onnxruntime: {_INSTALL_HINT}") from exc
    return onnxruntime


def _import_onnx() -> tuple[ModuleType, ModuleType]:
    ort = _import_onnxruntime()
    try:
        import onnx
    except ImportError as exc:
        raise ConfigError(f"quantising VGGish to int8 needs onnx: {_INSTALL_HINT}") from exc
    return ort, onnx


def _ort_errors(ort: ModuleType) -> tuple[type[BaseException], ...]:
    # ONNX Runtime's errors derive from Exception directly, one class per status code.
    state = ort.capi.onnxruntime_pybind11_state
    names = ("Fail", "InvalidArgument", "NoSuchFile", "NoModel", "InvalidProtobuf", "InvalidGraph", "RuntimeException")
    found = tuple(getattr(state, name) for name in names if isinstance(getattr(state, name, None), type))
    return (*found, OSError, RuntimeError, ValueError)
