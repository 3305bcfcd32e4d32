"""Model folders: a JSON file that describes the model, and safetensors files that hold its arrays.

Every saved model of zsac is such a folder, and this module holds all three formats:

- VGGish: ``config.json`` (architecture, front end, metadata) + ``model.safetensors``;
- the bilinear model: ``bilinear.json`` (parameters) + ``bilinear.safetensors`` (W);
- the classifier: ``classifier.json`` + ``class_embeddings.safetensors``, with a
  ``bilinear/`` and an ``acoustic/`` (VGGish) folder inside.

They are written and read in one way:

- :func:`write_model_folder` builds the whole folder in a staging folder beside its
  target and swaps it into place (:func:`zsac._atomic.staged_directory`), so a reader or a
  crash never sees half a model;
- :func:`read_json` and :func:`read_arrays` raise :class:`~zsac.CheckpointError` naming the
  file for anything missing, malformed or of the wrong shape.

The formats are plain data here (JSON objects and numpy arrays); the models build themselves
from them. Arrays are numpy's on both sides (``safetensors.numpy``), so reading a model needs
no torch; nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file

from ._atomic import atomic_path, staged_directory, write_json_atomic
from ._version import __version__
from .audio import FRONTEND_PARAMS
from .errors import CheckpointError

__all__ = [
    "write_model_folder",
    "write_arrays",
    "read_json",
    "read_arrays",
    "array_shapes",
    "ArraySpec",
    "VGGISH_WEIGHTS_FILE",
    "VGGISH_CONFIG_FILE",
    "write_vggish_folder",
    "read_vggish_description",
    "read_vggish_weights",
    "BILINEAR_WEIGHTS_FILE",
    "BILINEAR_CONFIG_FILE",
    "write_bilinear_folder",
    "read_bilinear_folder",
    "CLASSIFIER_FILE",
    "write_classifier_folder",
    "read_classifier_folder",
]

#: Expected arrays of a safetensors file: name -> (shape, dtype); a shape entry of None matches any length.
ArraySpec = Mapping[str, tuple[tuple[int | None, ...], Any]]


def write_arrays(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """Write arrays to one safetensors file, atomically, tagged with zsac's version."""
    tensors = {name: np.ascontiguousarray(array) for name, array in arrays.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata={"format": "np", "zsac_version": __version__})


def write_model_folder(
    directory: str | os.PathLike[str],
    *,
    json_files: Mapping[str, Any],
    array_files: Mapping[str, Mapping[str, np.ndarray]] = {},  # noqa: B006  (read only)
    byte_files: Mapping[str, bytes] = {},  # noqa: B006
    subfolders: Mapping[str, Callable[[Path], object]] = {},  # noqa: B006
    other_files: Collection[str] = (),
) -> Path:
    """Write a whole model folder, replacing any old one in one step.

    Parameters
    ----------
    directory : path
    json_files : mapping of file name to a JSON-ready object
    array_files : mapping of file name to a mapping of array name to np.ndarray
        Each becomes one safetensors file.
    byte_files : mapping of file name to bytes
        Opaque files written as given (e.g. an ONNX model).
    subfolders : mapping of folder name to a writer
        ``writer(path)`` fills the folder ``path`` (e.g. another model's :func:`write_model_folder`).
    other_files : collection of str
        Further names that this kind of model folder may hold (an optional file). An existing
        ``directory`` that holds anything else is not replaced: :class:`~zsac.DataError`
        names it (see :func:`zsac._atomic.replace_directory`), so nothing is ever lost.

    Returns
    -------
    Path
        ``directory``.
    """
    directory = Path(directory)
    own = {*json_files, *array_files, *byte_files, *subfolders, *other_files}

    def ours(name: str) -> bool:
        # Also the temporary names of an interrupted write (".name.XXXX.tmp"), which a rewrite clears.
        return name in own or (name.startswith(".") and name.endswith(".tmp"))

    with staged_directory(directory, own=ours) as staging:
        for name, write in subfolders.items():
            write(staging / name)
        for name, arrays in array_files.items():
            write_arrays(staging / name, arrays)
        for name, data in byte_files.items():
            with atomic_path(staging / name) as tmp:
                tmp.write_bytes(data)
        # The description last: its presence is what says "this is a model folder".
        for name, obj in json_files.items():
            write_json_atomic(staging / name, obj)
    return directory


def read_json(path: str | os.PathLike[str], *, what: str) -> dict[str, Any]:
    """A model folder's JSON description, which must be an object.

    Raises
    ------
    CheckpointError
        Naming ``path`` when it is missing, unreadable or not a JSON object.
    """
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path.parent} is not a {what}: {path.name} is missing") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"malformed {what} description {path}: {exc}") from exc
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} is not a {what} description (expected a JSON object)")
    return obj


def array_shapes(path: str | os.PathLike[str]) -> dict[str, tuple[int, ...]]:
    """The names and shapes of the arrays in a safetensors file, from its header alone (no data is read).

    Raises
    ------
    CheckpointError
        Naming ``path`` when it is missing or not a safetensors file.
    """
    path = Path(path)
    try:
        with safe_open(str(path), framework="numpy") as handle:
            return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}  # noqa: SIM118
    except (FileNotFoundError, SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc


def read_arrays(path: str | os.PathLike[str], *, expected: ArraySpec | None = None) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file, checked against ``expected`` when given.

    Parameters
    ----------
    path : path
    expected : mapping of name to (shape, dtype), or None
        With it, the file must hold exactly these names with these shapes (None in a
        shape matches any length) and dtypes.

    Raises
    ------
    CheckpointError
        Naming ``path`` when it is missing, unreadable, or holds other arrays than expected.
    """
    path = Path(path)
    try:
        arrays = load_file(path)
    except (FileNotFoundError, SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    if expected is not None:
        problems = []
        if set(arrays) != set(expected):
            problems.append(f"arrays {sorted(arrays)}, expected {sorted(expected)}")
        for name, (shape, dtype) in expected.items():
            array = arrays.get(name)
            if array is None:
                continue
            shape_ok = len(array.shape) == len(shape) and all(
                want is None or want == got for want, got in zip(shape, array.shape, strict=True)
            )
            if not shape_ok or array.dtype != np.dtype(dtype):
                problems.append(f"{name} is {array.dtype} {array.shape}, expected {np.dtype(dtype)} {shape}")
        if problems:
            raise CheckpointError(f"{path} does not hold what its description says: {'; '.join(problems)}")
    return arrays


# --------------------------------------------------------------------------- VGGish

VGGISH_WEIGHTS_FILE = "model.safetensors"
VGGISH_CONFIG_FILE = "config.json"
#: The int8 copy that a classifier's VGGish folder may hold (zsac.acoustic.int8_session.INT8_FILE).
OPTIONAL_VGGISH_FILES = ("vggish.int8.onnx",)


def vggish_description(model_config: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON that describes a saved VGGish: its constructor arguments, front end and ``metadata``."""
    return {
        "architecture": "vggish",
        "model": dict(model_config),
        "frontend": FRONTEND_PARAMS,
        "zsac_version": __version__,
        "metadata": dict(metadata or {}),
    }


def write_vggish_folder(
    directory: str | os.PathLike[str],
    *,
    model_config: Mapping[str, Any],
    weights: Mapping[str, np.ndarray],
    metadata: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, bytes] = {},  # noqa: B006  (read only)
) -> Path:
    """Write a VGGish folder (weights as float32 safetensors), replacing any old one whole."""
    return write_model_folder(
        directory,
        json_files={VGGISH_CONFIG_FILE: vggish_description(model_config, metadata)},
        array_files={VGGISH_WEIGHTS_FILE: dict(weights)},
        byte_files=extra_files,
        other_files=OPTIONAL_VGGISH_FILES,
    )


def read_vggish_description(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """``config.json`` of a VGGish folder, checked to describe a VGGish.

    Raises
    ------
    CheckpointError
        Naming the file when it is missing, malformed or describes something else.
    """
    path = Path(directory) / VGGISH_CONFIG_FILE
    description = read_json(path, what="VGGish model folder")
    if not isinstance(description.get("model"), dict):
        raise CheckpointError(f"malformed VGGish config {path}: no 'model' object with the architecture")
    if description.get("architecture", "vggish") != "vggish":
        raise CheckpointError(f"{path} describes a {description.get('architecture')!r}, not a VGGish")
    return description


def read_vggish_weights(directory: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The weights of a VGGish folder; :func:`zsac.acoustic.vggish.vggish_from_weights` checks they fit."""
    return read_arrays(Path(directory) / VGGISH_WEIGHTS_FILE)


# --------------------------------------------------------------------------- the bilinear model

BILINEAR_WEIGHTS_FILE = "bilinear.safetensors"
BILINEAR_CONFIG_FILE = "bilinear.json"


def write_bilinear_folder(directory: str | os.PathLike[str], *, description: Mapping[str, Any], W: np.ndarray) -> Path:
    """Write a bilinear model's folder: ``description`` (params, dims, ...) and W (float64), replaced whole."""
    return write_model_folder(
        directory,
        json_files={BILINEAR_CONFIG_FILE: {**description, "zsac_version": __version__}},
        array_files={BILINEAR_WEIGHTS_FILE: {"W": np.asarray(W, dtype=np.float64)}},
    )


def read_bilinear_folder(directory: str | os.PathLike[str]) -> tuple[dict[str, Any], np.ndarray]:
    """The description and W of a bilinear model's folder; W must have the described shape, in float64."""
    directory = Path(directory)
    path = directory / BILINEAR_CONFIG_FILE
    description = read_json(path, what="bilinear model folder")
    try:
        shape = (int(description["acoustic_dim"]), int(description["semantic_dim"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"malformed bilinear model config {path}: {exc}") from exc
    if not isinstance(description.get("params"), dict):
        raise CheckpointError(f"malformed bilinear model config {path}: no 'params' object")
    W = read_arrays(directory / BILINEAR_WEIGHTS_FILE, expected={"W": (shape, np.float64)})["W"]
    return description, W


# --------------------------------------------------------------------------- the classifier

CLASSIFIER_FILE = "classifier.json"
CLASS_EMBEDDINGS_FILE = "class_embeddings.safetensors"
ACOUSTIC_FOLDER = "acoustic"
BILINEAR_FOLDER = "bilinear"
CLASSIFIER_FORMAT = "zsac-zero-shot-classifier"
CLASSIFIER_FORMAT_VERSION = 1


def write_classifier_folder(
    directory: str | os.PathLike[str],
    *,
    description: Mapping[str, Any],
    class_embeddings: np.ndarray,
    subfolders: Mapping[str, Callable[[Path], object]],
) -> Path:
    """Write a classifier's folder, replacing it whole; an existing folder that is not a classifier is refused."""
    description = {
        "format": CLASSIFIER_FORMAT,
        "format_version": CLASSIFIER_FORMAT_VERSION,
        "zsac_version": __version__,
        **description,
    }
    return write_model_folder(
        directory,
        json_files={CLASSIFIER_FILE: description},
        array_files={CLASS_EMBEDDINGS_FILE: {"embeddings": class_embeddings}},
        subfolders=subfolders,
        other_files=(ACOUSTIC_FOLDER, BILINEAR_FOLDER),
    )


def read_classifier_folder(directory: str | os.PathLike[str]) -> tuple[dict[str, Any], np.ndarray]:
    """A classifier folder's description and class embeddings, checked against each other.

    Raises
    ------
    CheckpointError
        The folder is not a classifier, has another format version, or its files disagree.
    """
    directory = Path(directory)
    path = directory / CLASSIFIER_FILE
    description = read_json(path, what="zsac classifier")
    if description.get("format") != CLASSIFIER_FORMAT:
        raise CheckpointError(f"{path} is not a zsac classifier file")
    if description.get("format_version") != CLASSIFIER_FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has format version {description.get('format_version')}; "
            f"this zsac reads {CLASSIFIER_FORMAT_VERSION}"
        )
    try:
        shape = (len(description["classes"]), int(description["semantic_dim"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"malformed classifier file {path}: {exc}") from exc
    embeddings = read_arrays(directory / CLASS_EMBEDDINGS_FILE, expected={"embeddings": (shape, np.float32)})
    return description, embeddings["embeddings"]
