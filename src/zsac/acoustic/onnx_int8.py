"""A fast CPU back end for the VGGish embedding network: ONNX Runtime with static int8 quantisation.

:func:`quantize_vggish_int8` exports the network's ``embed`` (VGGish's or MobileNet's; not the
classification head) to ONNX,
quantises it statically in the QDQ format (uint8 activations, int8 per-channel weights,
MinMax calibration on log-mel examples) and checks the int8 embeddings against torch fp32
before it writes the file. :class:`~zsac.acoustic.int8_session.Int8Session` runs the written
file with ONNX Runtime (it lives in its own module, which needs neither torch nor onnx).

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
import importlib
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
from ..errors import ConfigError, DataError
from .embedding import segment_embeddings
from .int8_session import (
    INPUT_NAME,
    INSTALL_HINT,
    INT8_FILE,
    OUTPUT_NAME,
    Int8Session,
    as_examples,
    import_onnxruntime,
    int8_available,  # noqa: F401  (re-exported: the int8 back end's public names live here too)
)

__all__ = ["INT8_FILE", "QuantizationReport", "quantize_vggish_int8", "Int8Session", "int8_available"]

logger = logging.getLogger(__name__)

OPSET = 17
_CALIBRATION_BATCH = 32


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


def quantize_vggish_int8(
    model: nn.Module,
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
    model : nn.Module
        A :class:`~zsac.acoustic.VGGish` or :class:`~zsac.acoustic.mobilenet.MobileNet` (any
        network with ``embed``), in float32. Left unchanged: weights untouched, training mode
        restored. Its head is not exported.
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
    quantization = _import_quantization()
    examples = as_examples(calibration_examples, what="calibration_examples")
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
        quantization.quant_pre_process(str(fp32_path), str(prep_path))
        quantization.quantize_static(
            str(prep_path),
            str(int8_path),
            _calibration_reader(calibration, quantization),
            quant_format=quantization.QuantFormat.QDQ,
            per_channel=True,
            reduce_range=False,
            activation_type=quantization.QuantType.QUInt8,
            weight_type=quantization.QuantType.QInt8,
            calibrate_method=quantization.CalibrationMethod.MinMax,
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
    # The file may be a temporary one (a classifier keeps the bytes until it is saved), so the
    # messages are about the network's agreement with fp32; the path goes to the debug log.
    name = type(model).__name__
    logger.debug("wrote the int8 %s to %s", name, target)
    if report.passed:
        logger.info(
            "int8 %s agrees with fp32: min cosine %.4f, mean %.4f, relative error %.4f on %d segments",
            name,
            min_cosine,
            mean_cosine,
            relative_error,
            report.n_check,
        )
    else:
        logger.warning(
            "the int8 %s misses the tolerance: min cosine %.4f < %.4f (mean %.4f, relative error %.4f on %d segments)",
            name,
            min_cosine,
            tolerance,
            mean_cosine,
            relative_error,
            report.n_check,
        )
    return report


class _EmbeddingOnly(nn.Module):
    """``model.embed`` as a module's forward, so that the export leaves out the head."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, examples: torch.Tensor) -> torch.Tensor:
        return self.model.embed(examples)


def _export_embedding(model: nn.Module, path: Path, *, device: torch.device) -> None:
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


def _calibration_reader(examples: np.ndarray, quantization: ModuleType) -> Any:
    class _Reader(quantization.CalibrationDataReader):
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


def _import_quantization() -> ModuleType:
    """ONNX Runtime's quantisation tools (which need onnx), or a ConfigError with the install line."""
    import_onnxruntime()
    try:
        return importlib.import_module("onnxruntime.quantization")
    except ImportError as exc:
        raise ConfigError(f"quantising VGGish to int8 needs onnx: {INSTALL_HINT}") from exc
