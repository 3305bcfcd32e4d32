"""Running the int8 VGGish embedding network with ONNX Runtime; needs neither torch nor onnx.

:func:`~zsac.acoustic.onnx_int8.quantize_vggish_int8` writes the network; :class:`Int8Session`
runs it. The network takes log-mel examples ``examples`` [shape=(batch, 1, 96, 64)], float32,
with a dynamic batch axis, and returns ``embeddings`` [shape=(batch, embedding_size)], float32;
:meth:`Int8Session.embed` adds the channel axis itself.

``onnxruntime`` (and, to quantise, ``onnx``) are imported through :func:`import_onnxruntime`
only when a session starts, and their absence raises :class:`~zsac.ConfigError` with the
``pip install`` line.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from .._atomic import read_regular_bytes
from ..audio import EXAMPLE_FRAMES, NUM_MEL_BANDS
from ..errors import CheckpointError, ConfigError, DataError

__all__ = ["INT8_FILE", "Int8Session", "int8_available", "runtime_available", "import_onnxruntime"]

INT8_FILE = "vggish.int8.onnx"
INPUT_NAME = "examples"
OUTPUT_NAME = "embeddings"
INSTALL_HINT = "pip install onnxruntime onnx"


def int8_available() -> bool:
    """Whether ``onnxruntime`` and ``onnx`` are installed (so a model can be quantised and run in int8).

    Looks the packages up without importing them, which costs about a second.
    """
    for name in ("onnxruntime", "onnx"):
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):  # ValueError: sys.modules holds None for it
            return False
    return True


def runtime_available() -> bool:
    """Whether ``onnxruntime`` is installed (so an int8 copy can run), looked up without importing it."""
    try:
        return importlib.util.find_spec("onnxruntime") is not None
    except (ImportError, ValueError):
        return False


def import_onnxruntime() -> ModuleType:
    """ONNX Runtime, or a ConfigError with the install line (it is the int8 back end's optional engine)."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ConfigError(f"the int8 VGGish back end needs onnxruntime: {INSTALL_HINT}") from exc
    return onnxruntime


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

    def __init__(
        self,
        path: str | os.PathLike[str] | bytes,
        *,
        threads: int | None = None,
        name: str | os.PathLike[str] | None = None,
    ) -> None:
        ort = import_onnxruntime()
        if threads is not None and threads < 1:
            raise ConfigError(f"threads must be >= 1 or None, got {threads}")
        if isinstance(path, bytes):
            # A model held in memory: read from a model folder (``name`` is its file), or made by fit.
            source = path
            path = Path(name) if name is not None else Path("<in-memory int8 VGGish>")
        else:
            path = Path(path)
            if path.is_dir():
                path = path / INT8_FILE
            try:
                source = read_regular_bytes(path, what="int8 ONNX file")
            except FileNotFoundError as exc:
                raise CheckpointError(f"no int8 VGGish model at {path}") from exc
            except OSError as exc:
                raise CheckpointError(f"cannot read {path}: {exc}") from exc
        # Before any session: ONNX Runtime would resolve external data against the current folder.
        check_no_external_data(source, path=path)
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
        examples = as_examples(examples, what="examples")
        n = examples.shape[0]
        out = np.empty((n, self.embedding_size), dtype=np.float32)
        for start in range(0, n, batch_size):
            batch = np.ascontiguousarray(examples[start : start + batch_size, None])
            out[start : start + batch.shape[0]] = self._session.run(None, {self._input_name: batch})[0]
        return out


_SCHEMA: ModuleType | None = None


def _onnx_schema(path: str | os.PathLike[str]) -> ModuleType:
    """onnx's protobuf classes (ModelProto, TensorProto), parsed by protobuf with onnx's own schema.

    ``import onnx`` takes about a second, most of it for what a parse does not need; its
    generated ``onnx_ml_pb2`` module alone takes some 30 ms, so that is loaded when onnx is not
    imported yet (it registers the same schema that ``import onnx`` does later).
    """
    global _SCHEMA
    if "onnx" in sys.modules:
        return sys.modules["onnx"]
    if _SCHEMA is None:
        try:
            spec = importlib.util.find_spec("onnx")
        except (ImportError, ValueError):
            spec = None
        if spec is None or spec.origin is None:
            raise ConfigError(f"checking the int8 VGGish model {path} needs onnx: {INSTALL_HINT}")
        generated = Path(spec.origin).with_name("onnx_ml_pb2.py")
        if not generated.is_file():  # another layout of the package: the whole of it
            import onnx

            return onnx
        schema_spec = importlib.util.spec_from_file_location("zsac_onnx_ml_pb2", generated)
        module = importlib.util.module_from_spec(schema_spec)
        schema_spec.loader.exec_module(module)
        _SCHEMA = module
    return _SCHEMA


def check_no_external_data(data: bytes, *, path: str | os.PathLike[str]) -> None:
    """Refuse an ONNX model whose tensors refer to external data, anywhere in its graphs.

    A tensor stored as external data names a file that ONNX Runtime opens (relative to the
    current folder for a model given as bytes): a crafted model folder could so read any
    file into the embeddings. zsac's int8 copies hold all their data inline.

    Raises
    ------
    CheckpointError
        ``data`` is not an ONNX model, or holds external data (naming ``path``).
    ConfigError
        ``onnx`` is not installed, so the model cannot be checked.
    """
    onnx = _onnx_schema(path)
    try:
        model = onnx.ModelProto.FromString(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise CheckpointError(f"cannot load the int8 VGGish model {path}: not an ONNX model ({exc})") from exc

    def tensors_of(nodes, graph=None):  # every TensorProto of a graph, its nodes' attributes and subgraphs
        if graph is not None:
            yield from graph.initializer
            for sparse in graph.sparse_initializer:
                yield from (sparse.values, sparse.indices)
        for node in nodes:
            for attribute in node.attribute:
                if attribute.HasField("t"):
                    yield attribute.t
                yield from attribute.tensors
                sparse_tensors = [*attribute.sparse_tensors]
                if attribute.HasField("sparse_tensor"):
                    sparse_tensors.append(attribute.sparse_tensor)
                for sparse in sparse_tensors:
                    yield from (sparse.values, sparse.indices)
                for subgraph in [attribute.g] if attribute.HasField("g") else []:
                    yield from tensors_of(subgraph.node, subgraph)
                for subgraph in attribute.graphs:
                    yield from tensors_of(subgraph.node, subgraph)

    every = [tensors_of(model.graph.node, model.graph), *(tensors_of(function.node) for function in model.functions)]
    for tensors in every:
        for tensor in tensors:
            if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data) > 0:
                raise CheckpointError(
                    f"{path} refers to external data (tensor {tensor.name!r}); zsac's int8 models hold "
                    "all their data, so this file is refused"
                )


def as_examples(examples: np.ndarray, *, what: str) -> np.ndarray:
    """``examples`` as float32 [shape=(n, 96, 64)]; a channel axis of 1 is dropped; DataError otherwise."""
    array = np.asarray(examples, dtype=np.float32)
    if array.size == 0 and array.ndim < 3:  # an empty list or array: no segments
        array = array.reshape(0, EXAMPLE_FRAMES, NUM_MEL_BANDS)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 3 or array.shape[1:] != (EXAMPLE_FRAMES, NUM_MEL_BANDS):
        raise DataError(f"{what} must have shape (n, {EXAMPLE_FRAMES}, {NUM_MEL_BANDS}), got {array.shape}")
    return array


def _ort_errors(ort: ModuleType) -> tuple[type[BaseException], ...]:
    # ONNX Runtime's errors derive from Exception directly, one class per status code.
    state = ort.capi.onnxruntime_pybind11_state
    names = ("Fail", "InvalidArgument", "NoSuchFile", "NoModel", "InvalidProtobuf", "InvalidGraph", "RuntimeException")
    found = tuple(getattr(state, name) for name in names if isinstance(getattr(state, name, None), type))
    return (*found, OSError, RuntimeError, ValueError)
