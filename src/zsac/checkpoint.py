"""Model folders: a JSON file that describes the model, and safetensors files that hold its arrays.

Every saved model of zsac is such a folder, and this module holds all three formats:

- VGGish: ``config.json`` (architecture, front end, metadata) + ``model.safetensors``;
- the bilinear model: ``bilinear.json`` (parameters) + ``bilinear.safetensors`` (W);
- the classifier: ``classifier.json`` + ``class_embeddings.safetensors``, with a
  ``bilinear/`` and an ``acoustic/`` (VGGish) folder inside.

They are written and read in one way:

- a model folder is a real folder holding a pointer file ``CURRENT`` and one version
  folder ``v-<hash>`` named by a hash of its content (two identical models give identical
  folders). :func:`write_model_folder` builds the new version in a staging folder inside the
  model folder, renames it to its hash name, switches ``CURRENT`` atomically, then deletes
  the other versions; a reader resolves ``CURRENT`` once (:func:`model_version`) and reads
  every file from that one version, so it sees the whole old model or the whole new one,
  and a crash at any step leaves one complete model (a rerun clears what was left).
  ``training-log.json`` beside the version holds what is not the model (epoch timings, run
  details), so the versions of two same-seed trainings are byte-identical;
- a folder without ``CURRENT`` (zsac 0.1, or the ``bilinear/`` and ``acoustic/`` folders
  inside a version) is read flat;
- :func:`read_json` and :func:`read_arrays` raise :class:`~zsac.CheckpointError` naming the
  file for anything missing, malformed, non-finite, not a regular file or of the wrong shape.

The formats are plain data here (JSON objects and numpy arrays); the models build themselves
from them. Arrays are numpy's on both sides (``safetensors.numpy``), so reading a model needs
no torch; nothing is ever unpickled.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load as load_bytes
from safetensors.numpy import load_file, save

from ._atomic import (
    atomic_path,
    check_regular_file,
    check_replaceable,
    default_permissions,
    fsync_path,
    read_regular_bytes,
    write_json_atomic,
)
from ._version import __version__
from .audio import FRONTEND_PARAMS
from .errors import CheckpointError, DataError

__all__ = [
    "POINTER_FILE",
    "TRAINING_LOG_FILE",
    "model_version",
    "read_training_log",
    "check_model_target",
    "write_model_folder",
    "write_arrays",
    "read_json",
    "read_arrays",
    "arrays_from_bytes",
    "array_shapes",
    "ArraySpec",
    "VGGISH_WEIGHTS_FILE",
    "VGGISH_CONFIG_FILE",
    "ACOUSTIC_ARCHITECTURES",
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


#: The pointer file of a model folder: it names the version folder that holds the model.
POINTER_FILE = "CURRENT"
#: What a model folder holds beside its version: epoch timings and run details, not the model.
TRAINING_LOG_FILE = "training-log.json"
VERSION_PREFIX = "v-"
_VERSION_NAME = re.compile(r"v-[0-9a-f]{16}")
logger = logging.getLogger(__name__)
# Set while a version is being built: nested model folders (bilinear/, acoustic/) are then
# written flat into the staging folder, which is renamed into place whole.
_BUILDING = contextvars.ContextVar("zsac_building_model_version", default=False)


def _sorted_safetensors(tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> tuple[bytes, memoryview]:
    """A safetensors file as (length + header, data), its header keys sorted so equal arrays give equal bytes.

    safetensors writes its metadata from a hash map, whose order changes from process to
    process; the header is rewritten here with sorted keys (the data and offsets stay). The
    data is a view of the one serialised buffer, so no second copy of the arrays is made.
    """
    raw = save(dict(tensors), metadata=dict(metadata))
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.dumps(json.loads(raw[8 : 8 + n]), sort_keys=True, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)  # the format's 8-byte alignment of the data
    return struct.pack("<Q", len(header)) + header, memoryview(raw)[8 + n :]


def write_arrays(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> None:
    """Write arrays to one safetensors file, atomically, tagged with zsac's version (byte-reproducible)."""
    tensors = {name: np.ascontiguousarray(array) for name, array in arrays.items()}
    head, data = _sorted_safetensors(tensors, {"format": "np", "zsac_version": __version__})
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(head)
            handle.write(data)


def model_version(directory: str | os.PathLike[str]) -> Path:
    """The folder that holds a model's files: the version that ``CURRENT`` names, else ``directory`` itself.

    A folder without ``CURRENT`` (zsac 0.1, or a model folder nested in a version) is read
    flat. Resolve once per load and read every file from the result, so that one load never
    mixes two versions.

    Raises
    ------
    CheckpointError
        ``CURRENT`` is not a regular file or does not name a version.
    """
    directory = Path(directory)
    pointer = directory / POINTER_FILE
    try:
        text = read_regular_bytes(pointer, what="model pointer file")
    except (FileNotFoundError, NotADirectoryError):
        return directory
    except OSError as exc:
        raise CheckpointError(f"cannot read {pointer}: {exc}") from exc
    name = text.decode("ascii", errors="replace").strip()
    if not _VERSION_NAME.fullmatch(name):
        raise CheckpointError(f"{pointer} does not name a model version (expected v- and 16 hex digits)")
    return directory / name


def _content_hash(root: Path) -> str:
    """sha256 over the sorted relative paths and bytes of every file under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(struct.pack("<Q", path.stat().st_size))
        with open(path, "rb") as handle:  # in blocks: a VGGish's weights need not be in memory twice
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        fsync_path(path)
    fsync_path(root)


def _fill_folder(
    directory: Path,
    *,
    json_files: Mapping[str, Any],
    array_files: Mapping[str, Mapping[str, np.ndarray]],
    byte_files: Mapping[str, bytes],
    subfolders: Mapping[str, Callable[[Path], object]],
) -> None:
    for name, write in subfolders.items():
        write(directory / name)
    for name, arrays in array_files.items():
        write_arrays(directory / name, arrays)
    for name, data in byte_files.items():
        with atomic_path(directory / name) as tmp:
            tmp.write_bytes(data)
    # The description last: its presence is what says "this is a model folder".
    for name, obj in json_files.items():
        write_json_atomic(directory / name, obj)


def check_model_target(directory: str | os.PathLike[str]) -> Path:
    """Refuse, before any work, a classifier folder to write that is a file or holds what zsac does not write.

    Used by ``zsac train -o``. Returns the folder that will be written (a link's target).

    Raises
    ------
    DataError
        ``directory`` is a file, or a folder that is neither empty nor a classifier.
    """
    names = (CLASSIFIER_FILE, CLASS_EMBEDDINGS_FILE, ACOUSTIC_FOLDER, BILINEAR_FOLDER)
    return _model_target(Path(directory), lambda name: name in names or _versioned_entry(name, names.__contains__))


def _versioned_entry(name: str, flat: Callable[[str], bool] = lambda name: False) -> bool:
    """Whether ``name`` is an entry of a versioned model folder (``flat``: the model's own file names)."""
    if name in (POINTER_FILE, TRAINING_LOG_FILE) or _VERSION_NAME.fullmatch(name):
        return True
    return _own_temporary(name, flat)


# mkdtemp's and mkstemp's random part: 8 characters of tempfile's alphabet.
_RANDOM = r"[a-z0-9_]{8}"
# What an interrupted save leaves in a model folder: a staging folder, a damaged version moved
# aside, or the temporary file of an atomic write (``.NAME.<random>.tmp``; NAME is checked apart).
_TEMPORARY = re.compile(rf"\.(?:stage-|damaged-|(?P<file>.+)\.){_RANDOM}\.tmp")


def _own_temporary(name: str, flat: Callable[[str], bool]) -> bool:
    """Whether ``name`` is a temporary entry that zsac makes in a model folder (not any hidden ``*.tmp``)."""
    match = _TEMPORARY.fullmatch(name)
    if match is None:
        return False
    file = match.group("file")
    return file is None or file in (POINTER_FILE, TRAINING_LOG_FILE) or flat(file)


def _model_target(directory: Path, own: Callable[[str], bool]) -> Path:
    """The real folder to write a model into: a link is written through, a file or a foreign folder refused."""
    if directory.is_symlink():
        directory = Path(os.path.realpath(directory))  # write to the link's target, keep the link
    check_replaceable(directory, own, what="model folder")
    return directory


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _clean_model_folder(directory: Path, *, keep: str | None, flat: Callable[[str], bool]) -> None:
    """Delete what a model folder holds besides ``CURRENT``, the version ``keep`` and the log.

    Only what zsac writes goes: other versions, staging and temporary entries of an
    interrupted save, the files of a flat (zsac 0.1) model that a version replaced, and the
    ``.NAME.old-<random or pid>``/``.NAME.<random>.tmp`` folders that zsac 0.1's folder swap
    left beside the folder (exactly these names: ``.NAME.x.<random>.tmp`` is a sibling's).
    """
    # What CURRENT names now is never deleted, even if another writer switched it meanwhile.
    try:
        live = model_version(directory).name
    except CheckpointError:
        live = None
    for entry in directory.iterdir():
        name = entry.name
        if name in (POINTER_FILE, TRAINING_LOG_FILE, keep, live):
            continue
        if _VERSION_NAME.fullmatch(name) or _own_temporary(name, flat) or flat(name):
            _remove(entry)
    # Only this folder's own: a sibling named NAME.x has staging folders .NAME.x.<random>.tmp.
    beside = re.compile(re.escape(f".{directory.name}.") + rf"(?:old-(?:{_RANDOM}|[0-9]+)|{_RANDOM}\.tmp)")
    for entry in directory.parent.iterdir():
        if beside.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink():
            _remove(entry)


def write_model_folder(
    directory: str | os.PathLike[str],
    *,
    json_files: Mapping[str, Any],
    array_files: Mapping[str, Mapping[str, np.ndarray]] = {},  # noqa: B006  (read only)
    byte_files: Mapping[str, bytes] = {},  # noqa: B006
    subfolders: Mapping[str, Callable[[Path], object]] = {},  # noqa: B006
    other_files: Collection[str] = (),
    training_log: Mapping[str, Any] | None = None,
) -> Path:
    """Write a model as a new version of the model folder ``directory``, switched to in one step.

    Parameters
    ----------
    directory : path
        The model folder; created when absent. A symbolic link is written through (its
        target gets the model).
    json_files : mapping of file name to a JSON-ready object
    array_files : mapping of file name to a mapping of array name to np.ndarray
        Each becomes one safetensors file.
    byte_files : mapping of file name to bytes
        Opaque files written as given (e.g. an ONNX model).
    subfolders : mapping of folder name to a writer
        ``writer(path)`` fills the folder ``path`` (e.g. another model's :func:`write_model_folder`,
        which inside a version writes its files flat).
    other_files : collection of str
        Further names that this kind of model folder may hold (an optional file). An existing
        ``directory`` that holds anything zsac does not write is refused with
        :class:`~zsac.DataError` naming it, so nothing is ever lost.
    training_log : mapping or None
        Written as ``training-log.json`` beside the version (not part of the model's bytes).

    Returns
    -------
    Path
        ``directory``.
    """
    directory = Path(directory)
    parts = {"json_files": json_files, "array_files": array_files, "byte_files": byte_files, "subfolders": subfolders}
    if _BUILDING.get():
        # Inside a version being built: the staging folder is renamed into place whole.
        directory.mkdir(parents=True, exist_ok=False)
        default_permissions(directory, directory=True)
        _fill_folder(directory, **parts)
        return directory
    flat_names = {*json_files, *array_files, *byte_files, *subfolders, *other_files}

    def flat(name: str) -> bool:
        return name in flat_names

    def ours(name: str) -> bool:
        return flat(name) or _versioned_entry(name, flat)

    target = _model_target(directory, ours)
    try:
        target.mkdir(parents=True, exist_ok=True)
        with _folder_lock(target):
            return _write_version(target, directory, parts, flat=flat, training_log=training_log)
    except OSError as exc:
        # A full disk, a read-only folder, ...: one line; the staging folder is gone already.
        raise DataError(f"cannot write the model folder {directory}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def _folder_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the model folder itself while a save writes, switches and cleans up.

    Without it, two saves into one folder by the library (the CLI also takes
    :func:`~zsac._atomic.output_lock`) interleave: one switches ``CURRENT`` to a version the
    other has deleted, then deletes the other's. A second save waits for the first. Where
    ``fcntl`` does not exist (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover  (Windows)
        yield
        return
    fd = os.open(target, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_version(
    target: Path,
    directory: Path,
    parts: Mapping[str, Any],
    *,
    flat: Callable[[str], bool],
    training_log: Mapping[str, Any] | None,
) -> Path:
    staging = Path(tempfile.mkdtemp(prefix=".stage-", suffix=".tmp", dir=target))
    try:
        default_permissions(staging, directory=True)
        token = _BUILDING.set(True)
        try:
            _fill_folder(staging, **parts)
        finally:
            _BUILDING.reset(token)
        name = VERSION_PREFIX + _content_hash(staging)[:16]
        _fsync_tree(staging)
        version = target / name
        if version.is_dir() and _content_hash(version).startswith(name[len(VERSION_PREFIX) :]):
            _remove(staging)  # the same model is there already, byte for byte
        else:
            if os.path.lexists(version):  # a damaged copy under the name: moved aside, cleared below
                os.rename(version, tempfile.mkdtemp(prefix=".damaged-", suffix=".tmp", dir=target))
            os.rename(staging, version)
        fsync_path(target)
        with atomic_path(target / POINTER_FILE) as tmp:
            with open(tmp, "w", encoding="ascii") as handle:
                handle.write(name + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        fsync_path(target)
    finally:
        if staging.exists():
            _remove(staging)
    # The new model is live now: what follows is best effort, and its failure is not a failed save.
    if training_log is not None:
        try:
            write_json_atomic(target / TRAINING_LOG_FILE, {"version": name, **training_log})
        except OSError as exc:
            logger.warning("the model in %s is saved, but not its training log: %s", directory, exc.strerror or exc)
    try:
        _clean_model_folder(target, keep=name, flat=flat)
    except OSError as exc:
        logger.warning("the model in %s is saved, but its old versions are left: %s", directory, exc.strerror or exc)
    return directory


def read_training_log(directory: str | os.PathLike[str], version: Path) -> dict[str, Any]:
    """``training-log.json`` of a model folder when it belongs to ``version``; else an empty dict."""
    path = Path(directory) / TRAINING_LOG_FILE
    try:
        log = json.loads(read_regular_bytes(path, what="training log"))
    except (OSError, ValueError, RecursionError, CheckpointError):
        return {}  # the log is optional: a model loads without it
    return log if isinstance(log, dict) and log.get("version") == version.name else {}


def read_json(path: str | os.PathLike[str], *, what: str) -> dict[str, Any]:
    """A model folder's JSON description, which must be an object.

    Raises
    ------
    CheckpointError
        Naming ``path`` when it is missing, unreadable or not a JSON object.
    """
    path = Path(path)
    try:
        obj = json.loads(read_regular_bytes(path, what=f"{what} file").decode("utf-8"))
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise CheckpointError(f"{path.parent} is not a {what}: {path.name} is missing") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
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
        check_regular_file(path)
        with safe_open(str(path), framework="numpy") as handle:
            return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}  # noqa: SIM118
    except CheckpointError:
        raise
    except (FileNotFoundError, SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc


def read_arrays(
    path: str | os.PathLike[str],
    *,
    expected: ArraySpec | None = None,
    finite: bool = True,
) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file, checked against ``expected`` when given.

    Parameters
    ----------
    path : path
    expected : mapping of name to (shape, dtype), or None
        With it, the file must hold exactly these names with these shapes (None in a
        shape matches any length) and dtypes.
    finite : bool
        Refuse floating-point arrays that hold NaN or infinity (a model with them gives
        ``nan`` probabilities).

    Raises
    ------
    CheckpointError
        Naming ``path`` when it is missing, not a regular file, unreadable, holds other
        arrays than expected, or non-finite values.
    """
    path = Path(path)
    try:
        check_regular_file(path)
        arrays = load_file(path)
    except CheckpointError:
        raise
    except (FileNotFoundError, SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    return _checked_arrays(arrays, path, expected=expected, finite=finite)


def arrays_from_bytes(
    data: bytes, *, name: str | os.PathLike[str], expected: ArraySpec | None = None, finite: bool = True
) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file's bytes (read by the caller), checked as by :func:`read_arrays`.

    ``name`` is the file named in errors.

    Raises
    ------
    CheckpointError
        Naming ``name`` when the bytes are not a safetensors file, or as :func:`read_arrays`.
    """
    path = Path(name)
    try:
        arrays = load_bytes(bytes(data))
    except (SafetensorError, ValueError) as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    return _checked_arrays(arrays, path, expected=expected, finite=finite)


def _checked_arrays(
    arrays: dict[str, np.ndarray], path: Path, *, expected: ArraySpec | None, finite: bool
) -> dict[str, np.ndarray]:
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
    if finite:
        bad = sorted(
            name
            for name, array in arrays.items()
            if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all()
        )
        if bad:
            raise CheckpointError(f"{path} holds non-finite values (NaN or infinity) in {', '.join(bad)}")
    return arrays


# --------------------------------------------------------------------------- VGGish

VGGISH_WEIGHTS_FILE = "model.safetensors"
VGGISH_CONFIG_FILE = "config.json"
#: The acoustic networks a VGGish-format folder may describe (its ``architecture``). The folder
#: format is below the networks, so their names live here; :data:`zsac.acoustic.config.BACKBONES`
#: is this tuple.
ACOUSTIC_ARCHITECTURES = ("vggish", "mobilenet")
#: The int8 copy that a classifier's VGGish folder may hold (zsac.acoustic.int8_session.INT8_FILE).
OPTIONAL_VGGISH_FILES = ("vggish.int8.onnx",)


def vggish_description(model_config: Mapping[str, Any], metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON that describes a saved acoustic network: its constructor arguments, front end and ``metadata``.

    ``architecture`` names the network (``model_config``'s, VGGish when it names none), so that a
    zsac that knows only VGGish refuses a MobileNet folder by name.
    """
    return {
        "architecture": model_config.get("architecture", "vggish"),
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
    """``config.json`` of a VGGish folder, checked to describe an acoustic network zsac knows.

    The folder format is VGGish's for every acoustic network: the top-level ``architecture``
    (absent in zsac 0.1: VGGish) must be one of :data:`ACOUSTIC_ARCHITECTURES` and
    agree with the ``architecture`` of the ``model`` object (absent: VGGish).

    ``directory`` holds the files: :func:`model_version` of a model folder (resolved once
    by the caller, which reads the weights from the same version).

    Raises
    ------
    CheckpointError
        Naming the file when it is missing, malformed or describes something else.
    """
    path = Path(directory) / VGGISH_CONFIG_FILE
    description = read_json(path, what="VGGish model folder")
    if not isinstance(description.get("model"), dict):
        raise CheckpointError(f"malformed VGGish config {path}: no 'model' object with the architecture")
    architecture = description.get("architecture", "vggish")
    if architecture not in ACOUSTIC_ARCHITECTURES:
        raise CheckpointError(
            f"{path} describes a {architecture!r}, not an acoustic network {list(ACOUSTIC_ARCHITECTURES)}"
        )
    if description["model"].get("architecture", "vggish") != architecture:
        raise CheckpointError(
            f"{path} describes a {architecture!r} whose model is a {description['model'].get('architecture')!r}"
        )
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
    directory = model_version(directory)
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
    training_log: Mapping[str, Any] | None = None,
) -> Path:
    """Write a classifier's folder as a new version; an existing folder that is not a classifier is refused."""
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
        training_log=training_log,
    )


def read_classifier_folder(directory: str | os.PathLike[str]) -> tuple[dict[str, Any], np.ndarray]:
    """A classifier version's description and class embeddings, checked against each other.

    ``directory`` is the folder that holds the files: :func:`model_version` of a model folder.

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
