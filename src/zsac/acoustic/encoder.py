"""The acoustic encoder θ(x) at inference: VGGish's embedding network with its fp32, bf16 and int8 back ends.

:class:`AcousticEncoder` holds a trained VGGish as its architecture and weights (numpy), and
optionally an int8 ONNX copy with the report of its tolerance check. It picks the back end:

- ``int8``: ONNX Runtime on the CPU (:class:`~zsac.acoustic.int8_session.Int8Session`),
  when the copy passed its check; about five times as fast as fp32 on a 2-core CPU;
- ``bf16``: torch autocast, on CUDA or a CPU with bf16 support;
- ``fp32``: torch, the reference.

The torch network is built from the weights on first use, so a classifier that runs in int8
never loads torch: the torch-bound modules (``vggish``, ``embedding``, ``training``,
``onnx_int8``) are reached through the package's lazy attributes (see :mod:`zsac`).
Likewise the int8 session starts on first use.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from .. import acoustic
from .._atomic import open_regular_file, read_regular_bytes
from ..checkpoint import (
    VGGISH_WEIGHTS_FILE,
    array_shapes,
    arrays_from_bytes,
    model_version,
    read_vggish_description,
    read_vggish_weights,
    write_vggish_folder,
)
from ..errors import CheckpointError, ConfigError
from .config import VGGishConfig
from .int8_session import INSTALL_HINT, INT8_FILE, Int8Session, int8_available, runtime_available
from .pooling import clip_means

if TYPE_CHECKING:
    from torch import nn

__all__ = ["AcousticEncoder", "INFERENCE_MODES", "fit_encoder"]

logger = logging.getLogger(__name__)

#: How VGGish embeds: ``auto`` is int8 on a CPU when the model has a checked int8 copy, else bf16
#: where the device supports it, else fp32.
INFERENCE_MODES = ("auto", "fp32", "bf16", "int8")


def _device_kind(device: str | None) -> str:
    """``"cpu"`` or ``"cuda"``: where ``device`` (``None``/``"auto"``: CUDA when available) runs.

    Answers without loading torch when it can: on Linux without NVIDIA's driver
    (``/proc/driver/nvidia``) CUDA cannot be available. That keeps int8 inference on a CPU
    free of torch's start-up time.
    """
    text = "auto" if device is None else str(device)
    if text == "auto" and sys.platform.startswith("linux") and not os.path.exists("/proc/driver/nvidia"):
        return "cpu"
    if text.split(":")[0] == "cpu":
        return "cpu"
    return acoustic.embedding.device_type(device)


class AcousticEncoder:
    """A trained VGGish embedding network for inference, with its back ends.

    Parameters
    ----------
    model_config : mapping
        The network's constructor arguments, with its ``architecture`` unless VGGish
        (:func:`~zsac.acoustic.networks.build_network`): a :class:`~zsac.acoustic.VGGish` or a
        :class:`~zsac.acoustic.mobilenet.MobileNet`.
    weights : mapping of str to np.ndarray, or None
        The network's weights; ``None`` reads them from ``source`` when first needed.
    source : path or None
        The VGGish folder the weights come from.
    int8 : bytes or None
        An int8 ONNX copy (see :func:`~zsac.acoustic.onnx_int8.quantize_vggish_int8`).
    int8_source : path or None
        The file the int8 copy was read from, named in errors.
    quantization : mapping or None
        The copy's tolerance report; the copy is used only when ``quantization["passed"]``.
    """

    def __init__(
        self,
        *,
        model_config: Mapping[str, Any],
        weights: Mapping[str, np.ndarray] | None = None,
        source: str | os.PathLike[str] | None = None,
        int8: bytes | None = None,
        quantization: Mapping[str, Any] | None = None,
        int8_source: str | os.PathLike[str] | None = None,
    ) -> None:
        if weights is None and source is None:
            raise ConfigError("an AcousticEncoder needs its weights or the folder that holds them")
        self.model_config = dict(model_config)
        self._weights = None if weights is None else dict(weights)
        self.source = None if source is None else Path(source)
        self.int8 = int8
        self.int8_source = None if int8_source is None else Path(int8_source)
        self.quantization = None if quantization is None else dict(quantization)
        self._model: nn.Module | None = None
        self._session: Int8Session | None = None
        self._held_weights: BinaryIO | None = None  # see load

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_model(cls, model: nn.Module) -> AcousticEncoder:
        """The encoder of a torch VGGish or MobileNet (used as is: no copy of its weights is made)."""
        encoder = cls(model_config=model.config, weights={})
        encoder._weights = None
        encoder._model = model.eval()
        return encoder

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        *,
        quantization: Mapping[str, Any] | None = None,
        int8_sha256: str | None = None,
        int8_required: bool = False,
    ) -> AcousticEncoder:
        """The encoder of a VGGish folder (``zsac train-acoustic``'s ``final/`` or a classifier's ``acoustic/``).

        Reads the description and, when present, the int8 copy; the weights are read on first
        need (their file's header is checked now, so a missing or garbled file fails here).
        ``quantization`` overrides the int8 copy's report stored in the folder (classifier
        folders of zsac 0.1 keep it in ``classifier.json`` only).

        The int8 copy is used only when its sha256 is the one recorded at save
        (``int8_sha256``, from ``classifier.json``, else the folder's description) and
        ``onnx`` is installed to check it for external data (see
        :class:`~zsac.acoustic.int8_session.Int8Session`); otherwise it is left out with a
        warning, and VGGish runs in fp32 or bf16.

        Raises
        ------
        CheckpointError
            A file is missing or malformed; or ``int8_required`` and the int8 copy cannot be used.
        """
        directory = model_version(directory)
        description = read_vggish_description(directory)
        array_shapes(directory / VGGISH_WEIGHTS_FILE)
        metadata = description.get("metadata") if isinstance(description.get("metadata"), dict) else {}
        if quantization is None:
            quantization = metadata.get("quantization")
        int8_path = directory / INT8_FILE
        int8 = None
        if os.path.lexists(int8_path):
            expected = int8_sha256 if int8_sha256 is not None else metadata.get("int8_sha256")
            int8 = _checked_int8(int8_path, expected, required=int8_required)
        encoder = cls(
            model_config=description["model"], source=directory, int8=int8, quantization=quantization,
            int8_source=int8_path if int8 is not None else None,
        )  # fmt: skip
        # Held open until the weights are read: a save into the model folder meanwhile deletes this
        # version, and the weights must still be this version's. Opened last, after every check
        # that can raise, so that a failed load leaves no open file.
        encoder._held_weights = _hold_open(directory / VGGISH_WEIGHTS_FILE)
        return encoder

    # -- the networks --------------------------------------------------------------------

    @property
    def embedding_size(self) -> int:
        return int(self.model_config.get("embedding_size", 128))

    @property
    def has_int8(self) -> bool:
        """Whether an int8 copy that passed its tolerance check is available."""
        return self.int8 is not None and bool((self.quantization or {}).get("passed"))

    def weights(self) -> dict[str, np.ndarray]:
        """The network's weights as numpy arrays (read from the folder, or taken from the torch model)."""
        if self._model is not None:
            return {k: v.detach().to("cpu").contiguous().numpy() for k, v in self._model.state_dict().items()}
        if self._weights is None:
            held, self._held_weights = self._held_weights, None
            if held is not None:
                try:  # the file of the version loaded, even if a save has deleted it since
                    held.seek(0)
                    data = held.read()
                except OSError as exc:
                    raise CheckpointError(f"cannot read {self.source / VGGISH_WEIGHTS_FILE}: {exc}") from exc
                finally:
                    held.close()
                self._weights = arrays_from_bytes(data, name=self.source / VGGISH_WEIGHTS_FILE)
            else:
                self._weights = read_vggish_weights(self.source)
        return self._weights

    def __getstate__(self) -> dict[str, Any]:
        """A copy (deepcopy, pickle) gets the weights in memory, never the open file, which stays this one's."""
        if self._model is None:
            self.weights()
        state = dict(self.__dict__)
        state["_held_weights"] = None
        state["_session"] = None  # an ONNX Runtime session is rebuilt from the int8 bytes on first use
        return state

    def __del__(self) -> None:
        held = getattr(self, "_held_weights", None)
        if held is not None:
            held.close()

    @property
    def model(self) -> nn.Module:
        """The torch network (VGGish or MobileNet), built from the weights on first use (on the CPU, in eval mode)."""
        if self._model is None:
            source = self.source / VGGISH_WEIGHTS_FILE if self.source is not None else "the weights"
            self._model = acoustic.vggish.vggish_from_weights(self.model_config, self.weights(), source=source)
            self._weights = None  # the model holds them now
        return self._model

    @property
    def int8_sha256(self) -> str | None:
        """The sha256 of the int8 copy (recorded at save, checked at load), or ``None`` without one."""
        return None if self.int8 is None else hashlib.sha256(self.int8).hexdigest()

    def _int8_session(self) -> Int8Session:
        if self._session is None:
            self._session = Int8Session(self.int8, name=self.int8_source)
        return self._session

    # -- inference -------------------------------------------------------------------------

    def backend(self, inference: str = "auto", device: str | None = None) -> str:
        """The back end that ``inference`` means on ``device``: ``"int8"``, ``"bf16"`` or ``"fp32"``.

        Raises
        ------
        ConfigError
            For an unknown mode, or ``"int8"`` without a checked int8 copy.
        """
        if inference not in INFERENCE_MODES:
            raise ConfigError(f"inference must be one of {list(INFERENCE_MODES)}, got {inference!r}")
        if inference == "int8" and not self.has_int8:
            raise ConfigError("inference='int8' needs the model's int8 copy, which this model does not have")
        if inference != "auto":
            return inference
        if self.has_int8 and runtime_available() and _device_kind(device) == "cpu":
            return "int8"
        return acoustic.embedding.torch_precision(device)

    def embed(self, examples: np.ndarray, *, inference: str = "auto", device: str | None = None) -> np.ndarray:
        """Segment embeddings of log-mel examples.

        Parameters
        ----------
        examples : np.ndarray [shape=(n_segments, 96, 64)]
        inference : {"auto", "fp32", "bf16", "int8"}
        device : str or None
            For the torch back ends; ``None`` picks CUDA when available.

        Returns
        -------
        np.ndarray [shape=(n_segments, embedding_size)], float32
        """
        mode = self.backend(inference, device)
        if mode == "int8":
            return self._int8_session().embed(examples)
        return acoustic.embedding.segment_embeddings(self.model, examples, device=device, precision=mode)

    # -- int8 ------------------------------------------------------------------------------

    def quantize(self, calibration_examples: np.ndarray, *, seed: int) -> dict[str, Any] | None:
        """Make the int8 copy, calibrated on ``calibration_examples`` and checked against fp32.

        Returns
        -------
        dict or None
            The tolerance report (also kept in ``quantization``); ``None`` when ONNX Runtime or
            onnx is not installed, which is logged.
        """
        if not int8_available():
            logger.info("onnxruntime or onnx is not installed: no int8 copy of VGGish (pip install onnxruntime onnx)")
            return None
        with tempfile.TemporaryDirectory(prefix="zsac-int8-") as tmp:
            report = acoustic.onnx_int8.quantize_vggish_int8(
                self.model, calibration_examples, Path(tmp) / INT8_FILE, seed=seed
            )
            self.int8 = report.path.read_bytes()
        self._session = None
        self.quantization = {
            "n_calibration": report.n_calibration,
            "n_check": report.n_check,
            "min_cosine": report.min_cosine,
            "mean_cosine": report.mean_cosine,
            "relative_error": report.relative_error,
            "passed": report.passed,
        }
        return self.quantization

    # -- saving ----------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str], *, metadata: Mapping[str, Any] | None = None) -> Path:
        """Write a VGGish folder (weights, description, and the int8 copy with its report), replaced whole."""
        metadata = {**(metadata or {}), "quantization": self.quantization, "int8_sha256": self.int8_sha256}
        return write_vggish_folder(
            directory,
            model_config=self.model_config,
            weights=self.weights(),
            metadata=metadata,
            extra_files={INT8_FILE: self.int8} if self.int8 is not None else {},
        )


def _hold_open(path: Path) -> BinaryIO:
    """``path`` opened for reading, a regular file (checked on the open file, so a FIFO never blocks).

    Raises
    ------
    CheckpointError
        ``path`` cannot be opened (e.g. a save deleted it meanwhile: the classifier's load
        then retries on the new version) or is not a regular file.
    """
    try:
        return open_regular_file(path)
    except OSError as exc:
        raise CheckpointError(f"cannot open {path}: {exc.strerror or exc}") from exc


def _checked_int8(path: Path, expected: Any, *, required: bool) -> bytes | None:
    """The int8 copy at ``path`` when it is the model's own (its sha256 is ``expected``) and can be checked.

    A copy that is not tied to its model (no sha256 recorded, or another one) or that cannot
    be checked for external data (``onnx`` missing) is left out with a warning, or refused
    with CheckpointError when int8 inference was asked for explicitly.
    """

    def refuse(reason: str) -> None:
        if required:
            raise CheckpointError(f"{path}: {reason}; refusing the int8 copy")
        logger.warning("%s: %s; the int8 copy is not used (VGGish runs in fp32/bf16)", path, reason)

    if not int8_available():
        refuse(f"onnx is not installed, so the int8 copy cannot be checked for external data ({INSTALL_HINT})")
        return None
    if not isinstance(expected, str):
        refuse("the model records no sha256 for its int8 copy")
        return None
    try:
        data = read_regular_bytes(path, what="int8 ONNX file")
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != expected:
        refuse("this is not the int8 copy the model was saved with (its sha256 differs)")
        return None
    return data


def fit_encoder(
    clip_examples: Sequence[np.ndarray],
    clip_labels: Sequence[str],
    *,
    acoustic_model: Any = None,
    config: VGGishConfig | None = None,
    quantize: bool = True,
    seed: int = 0,
    device: str | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> tuple[AcousticEncoder, list[dict[str, float]], np.ndarray]:
    """The acoustic encoder of a classifier, and its training clips' embeddings.

    Trains VGGish from scratch on the clips (paper Section III-B; ``config``), or takes
    ``acoustic_model`` (a VGGish or a VGGish folder) as it is; then, with ``quantize``,
    makes the int8 copy calibrated on the training segments.

    Parameters
    ----------
    clip_examples : sequence of np.ndarray [shape=(n_segments_i, 96, 64)]
    clip_labels : sequence of str [shape=(n_clips,)]

    Returns
    -------
    encoder : AcousticEncoder
    history : list of dict
        VGGish's training record per epoch (empty when ``acoustic_model`` was given).
    embeddings : np.ndarray [shape=(n_clips, embedding_size)], float32
        The clips' embeddings in fp32 (the reference), the mean of their segments'.
    """
    history: list[dict[str, float]] = []
    if acoustic_model is None:
        result = acoustic.training.train_vggish(
            clip_examples, clip_labels, config, seed=seed, device=device, checkpoint_dir=checkpoint_dir,
            progress=progress,
        )  # fmt: skip
        model, history = result.model.to("cpu"), result.history
    elif isinstance(acoustic_model, (str, os.PathLike)):
        model = acoustic.vggish.load_vggish(acoustic_model, device="cpu")[0]
    else:
        model = acoustic_model.eval()
    encoder = AcousticEncoder.from_model(model)
    segments = np.concatenate(list(clip_examples))
    if quantize:
        encoder.quantize(segments, seed=seed)
    embeddings = clip_means(encoder.embed(segments, inference="fp32", device=device), [len(e) for e in clip_examples])
    return encoder, history, embeddings
