"""The user-facing zero-shot audio classifier: train on your classes, classify by name or description.

:class:`ZeroShotClassifier` joins the three parts of the paper:

- the acoustic side θ(x): VGGish trained from scratch on the training classes only
  (Section III-B), a clip being the mean of its 0.96-s segment embeddings;
- the semantic side φ(z): a spec such as ``SLE+SSE`` over class names and descriptions
  (Section III-C, Table V);
- the bilinear compatibility F(x, z) = θ(x)ᵀ W φ(z) trained with WARP (eqs. 4-9), λ chosen
  by zero-shot accuracy on held-out training classes.

At prediction time the classes are any texts, so clips are classified into classes that
the classifier never heard (eq. 5).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from ._atomic import default_permissions, write_json_atomic
from ._params import EstimatorParams
from .errors import CheckpointError, ConfigError, DataError

__all__ = ["ZeroShotClassifier", "SegmentBatch", "as_class_infos", "MODEL_FILE"]

logger = logging.getLogger(__name__)

MODEL_FILE = "classifier.json"
CLASS_EMBEDDINGS_FILE = "class_embeddings.safetensors"
ACOUSTIC_DIR = "acoustic"
BILINEAR_DIR = "bilinear"
FORMAT = "zsac-zero-shot-classifier"
FORMAT_VERSION = 1
INFERENCE_MODES = ("auto", "fp32", "bf16", "int8")
# Encoders are deterministic, so a saved table and a recomputed one differ only by float
# rounding across machines; more than this means another model or another text.
_ENCODER_TOLERANCE = 1e-3


@dataclasses.dataclass
class SegmentBatch:
    """Segment embeddings of a batch of inputs; what :meth:`ZeroShotClassifier.embed_segments` returns.

    Attributes
    ----------
    segments : list of np.ndarray [shape=(n_segments_i, acoustic_dim)], float32
        One array per input that succeeded, in input order.
    index : np.ndarray [shape=(n_ok,)], int64
        Position in the input of each entry of ``segments``.
    names : list of str
        A name per successful input: the path, or ``"#<position>"`` for waveforms.
    failures : dict of str to str
        Input name to error message, for inputs that were skipped.
    """

    segments: list[np.ndarray]
    index: np.ndarray
    names: list[str]
    failures: dict[str, str]

    def clip_embeddings(self) -> np.ndarray:
        """Each input's clip embedding, the mean of its segments [shape=(n_ok, acoustic_dim)]."""
        from .acoustic.embedding import clip_means

        if not self.segments:
            return np.empty((0, 0), dtype=np.float32)
        return clip_means(np.concatenate(self.segments), [len(s) for s in self.segments])


def _normalised_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def as_class_infos(classes: Any, *, what: str = "classes") -> list:
    """Class texts as a list of :class:`~zsac.semantic.ClassInfo`.

    Parameters
    ----------
    classes : sequence of str, mapping of str to str or None, or sequence of ClassInfo
        A plain string is the class's name; its label (the name with underscores read as
        spaces) also stands in for its description, so that sentence parts (SSE, BSE, ...)
        work on names alone. A mapping gives each name its description.
    what : str
        How errors name the list.

    Raises
    ------
    DataError
        An empty list, a name given twice (ignoring case and spacing), or a text with no words.
    """
    from .semantic import ClassInfo

    if isinstance(classes, (str, bytes)):
        raise DataError(f"{what} must be a list of class texts, not the single string {classes!r}")
    if isinstance(classes, Mapping):
        items = [
            ClassInfo(name=str(name).strip(), description=None if text is None else str(text))
            for name, text in classes.items()
        ]
    elif classes is None:
        raise DataError(f"{what}: no classes given")
    else:
        items = []
        for entry in classes:
            if isinstance(entry, ClassInfo):
                items.append(entry)
            elif isinstance(entry, str):
                # The description, when a spec needs one, is the label (see _with_fallback_descriptions),
                # exactly as for a training class given by name only.
                items.append(ClassInfo(name=entry.strip()))
            else:
                raise DataError(
                    f"{what}: expected class texts (str) or ClassInfo, got {type(entry).__name__} {entry!r}"
                )
    if not items:
        raise DataError(f"{what} is empty: give at least one class name or description")
    seen: dict[str, str] = {}
    for item in items:
        for text in (item.label, item.description):
            if text is not None and not re.search(r"\w", text):
                raise DataError(f"{what}: the class text {text!r} (class {item.name!r}) has no words")
        key = _normalised_text(item.name)
        if key in seen:
            raise DataError(f"{what} names the class {item.name!r} twice (as {seen[key]!r} and {item.name!r})")
        seen[key] = item.name
    return items


def _with_fallback_descriptions(classes: list, parts: Sequence[str]) -> list:
    """Classes without a description take their label as one, when the spec has sentence parts."""
    from .semantic import SEMANTIC_PARTS

    if not any(SEMANTIC_PARTS[part].text == "description" for part in parts):
        return classes
    lacking = [c.name for c in classes if c.description is None]
    if lacking:
        logger.info("%d classes have no description; their label stands in for it: %s", len(lacking), lacking[:5])
    return [c if c.description is not None else dataclasses.replace(c, description=c.label) for c in classes]


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    from scipy.special import softmax

    return softmax(scores / temperature, axis=1)


def _cpu_supports_bf16() -> bool:
    import torch

    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


class ZeroShotClassifier(EstimatorParams):
    """Zero-shot audio classifier: VGGish + semantic class embeddings + bilinear WARP model.

    ``fit`` learns from clips of training classes; ``predict`` and friends take
    ``classes=``, any class names or descriptions, seen in training or not.

    Parameters
    ----------
    semantic : str
        Semantic spec (paper Table V plus SLE/SSE), e.g. ``"SLE+SSE"`` (default, offline
        with the bundled all-MiniLM-L6-v2), ``"WLE+SSE"``, ``"BSE"``.
    sentence_model, word2vec, glove, bert : str or None
        Text models for the spec's parts: a sentence-transformers name or folder; a
        word2vec ``.bin``; a GloVe ``.txt``; a BERT name or folder (see
        :class:`~zsac.semantic.SemanticEmbedder`).
    tables : mapping of str to path, or None
        Precomputed part tables, e.g. ``{"WLE": "word2vec_label_embeddings.npz"}``.
    label_template : str or None
        Embed labels inside a template, e.g. ``"the sound of {label}"``.
    normalize : bool
        L2-normalise each semantic part per class.
    acoustic_model : path, VGGish or None
        A trained VGGish (a folder written by ``zsac train-acoustic``'s ``final/`` or
        :func:`~zsac.acoustic.save_vggish`) to use as is; ``None`` trains one from scratch on
        the training classes when ``fit`` gets audio.
    conv_channels, fc_units : sequence of 4 int, int
        VGGish widths for training from scratch (VGGish's are 64, 128, 256, 512 and 4096).
    max_epochs, patience, batch_size, learning_rate, validation_fraction
        VGGish training (see :func:`~zsac.acoustic.train_vggish`).
    checkpoint_dir : path or None
        Where VGGish training checkpoints go, so that an interrupted ``fit`` resumes.
    lam : float or "auto"
        λ of the bilinear model; ``"auto"`` chooses from ``lambda_grid`` by zero-shot Top-1
        on held-out training classes (class-split cross-validation).
    lambda_grid : sequence of float
        The paper's {0, 0.01, 1, 10} by default.
    solver, max_iter
        Bilinear solver (``"lbfgs"``, ``"adam"`` or ``"sgd"``) and its iterations.
    temperature : float
        Softmax temperature of :meth:`predict_proba`.
    inference : {"auto", "fp32", "bf16", "int8"}
        How VGGish embeds at prediction time. ``"auto"``: int8 ONNX Runtime on the CPU when
        the model has a quantised copy that passed its tolerance check, else bf16 where
        the CPU or GPU supports it, else fp32.
    quantize : bool
        After training VGGish, make an int8 ONNX copy calibrated on the training segments.
    pad_short : bool
        Zero-pad clips shorter than one 0.96-s segment instead of rejecting them.
    feature_cache : bool or path
        Cache log-mel features of files (``True``: the user cache dir).
    device : str or None
        For VGGish and text models; ``None`` picks CUDA when available.
    seed : int
        Seeds VGGish training, the class folds of λ selection and the calibration subset.
    progress : bool
        Show progress bars.

    Attributes
    ----------
    classes_ : np.ndarray [shape=(n_classes,)], str
        Training class names.
    class_info_ : list of ClassInfo
        Training classes with the texts they were embedded from.
    class_embeddings_ : np.ndarray [shape=(n_classes, semantic_dim)], float32
    acoustic_model_ : VGGish or None
        ``None`` when fitted on precomputed embeddings.
    bilinear_ : Bilinear
    lambda_ : float
    lambda_scores_ : dict of float to float
        Mean held-out Top-1 of each λ (empty when λ was given).
    acoustic_dim_, semantic_dim_ : int
    quantization_ : dict or None
        The int8 copy's tolerance report.
    fit_failures_ : dict of str to str
        Inputs that ``fit(..., skip_errors=True)`` skipped, with the reason.
    """

    def __init__(
        self,
        *,
        semantic: str = "SLE+SSE",
        sentence_model: str | None = None,
        word2vec: str | None = None,
        glove: str | None = None,
        bert: str | None = None,
        tables: Mapping[str, str] | None = None,
        label_template: str | None = None,
        normalize: bool = True,
        acoustic_model: Any = None,
        conv_channels: Sequence[int] = (64, 128, 256, 512),
        fc_units: int = 4096,
        max_epochs: int = 100,
        patience: int = 5,
        batch_size: int = 64,
        learning_rate: float = 1e-4,
        validation_fraction: float = 0.2,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        lam: float | str = "auto",
        lambda_grid: Sequence[float] = (0.0, 0.01, 1.0, 10.0),
        solver: str = "lbfgs",
        max_iter: int | None = None,
        temperature: float = 1.0,
        inference: str = "auto",
        quantize: bool = True,
        pad_short: bool = True,
        feature_cache: bool | str | os.PathLike[str] = True,
        device: str | None = None,
        seed: int = 0,
        progress: bool = True,
    ) -> None:
        self.semantic = semantic
        self.sentence_model = sentence_model
        self.word2vec = word2vec
        self.glove = glove
        self.bert = bert
        self.tables = tables
        self.label_template = label_template
        self.normalize = normalize
        self.acoustic_model = acoustic_model
        self.conv_channels = conv_channels
        self.fc_units = fc_units
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.checkpoint_dir = checkpoint_dir
        self.lam = lam
        self.lambda_grid = lambda_grid
        self.solver = solver
        self.max_iter = max_iter
        self.temperature = temperature
        self.inference = inference
        self.quantize = quantize
        self.pad_short = pad_short
        self.feature_cache = feature_cache
        self.device = device
        self.seed = seed
        self.progress = progress

    def _check_params(self) -> tuple[str, ...]:
        from .compatibility import SOLVERS
        from .semantic import parse_spec

        parts = parse_spec(self.semantic)
        if self.inference not in INFERENCE_MODES:
            raise ConfigError(f"inference must be one of {INFERENCE_MODES}, got {self.inference!r}")
        if self.solver not in SOLVERS:
            raise ConfigError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        if not (isinstance(self.temperature, (int, float)) and 0 < self.temperature < math.inf):
            raise ConfigError(f"temperature must be a positive number, got {self.temperature!r}")
        if self.lam != "auto" and not (isinstance(self.lam, (int, float)) and 0 <= self.lam < math.inf):
            raise ConfigError(f"lam must be 'auto' or a number >= 0, got {self.lam!r}")
        return parts

    def _check_fitted(self) -> None:
        if not hasattr(self, "bilinear_"):
            raise ConfigError("this ZeroShotClassifier is not fitted yet: call fit() or ZeroShotClassifier.load()")

    # -- the semantic side -----------------------------------------------------------------

    def _embedder(self):
        if getattr(self, "_semantic_embedder", None) is None:
            from .semantic import DEFAULT_BERT_MODEL, SemanticEmbedder

            self._semantic_embedder = SemanticEmbedder(
                word2vec=self.word2vec,
                glove=self.glove,
                bert=self.bert or DEFAULT_BERT_MODEL,
                sentence_model=self.sentence_model,
                tables=dict(self.tables or {}),
                normalize=self.normalize,
                device=self.device,
            )
        return self._semantic_embedder

    def _prepare_classes(self, classes: Any, *, what: str) -> list:
        from .semantic import parse_spec, with_label_template

        items = as_class_infos(classes, what=what)
        if self.label_template:
            items = with_label_template(items, self.label_template)
        return _with_fallback_descriptions(items, parse_spec(self.semantic))

    def embed_classes(self, classes: Any) -> np.ndarray:
        """Semantic embeddings φ(z) of class texts under the fitted spec.

        Parameters
        ----------
        classes : sequence of str, mapping of name to description, or sequence of ClassInfo
            See :func:`as_class_infos`.

        Returns
        -------
        np.ndarray [shape=(n_classes, semantic_dim)], float32
        """
        return self._class_matrix(classes)[1]

    def _class_matrix(self, classes: Any) -> tuple[list[str], np.ndarray]:
        if classes is None:
            self._check_fitted()
            return list(self.classes_), self.class_embeddings_
        items = self._prepare_classes(classes, what="classes")
        self._check_encoder()
        table = self._embedder().embed(self.semantic, items)
        return [item.name for item in items], table.embeddings

    def _check_encoder(self) -> None:
        """After load(): the text models must give the training classes the embeddings they had."""
        if not getattr(self, "_encoder_unchecked", False):
            return
        self._encoder_unchecked = False
        recomputed = self._embedder().embed(self.semantic, self.class_info_).embeddings
        gap = float(np.max(np.abs(recomputed - self.class_embeddings_)))
        if gap > _ENCODER_TOLERANCE:
            logger.warning(
                "the text models now give the training classes other %s embeddings than at training time "
                "(largest difference %.3g): another model version or path? Predictions may suffer.",
                self.semantic,
                gap,
            )

    # -- the acoustic side -----------------------------------------------------------------

    @staticmethod
    def _input_kind(X: Any, sample_rate: int | None) -> tuple[str, Any]:
        """What ``X`` holds, and ``X`` itself with any iterator turned into a list."""
        if isinstance(X, (str, os.PathLike)):
            raise DataError(f"X must be a list of audio files, not the single path {os.fspath(X)!r}")
        if not hasattr(X, "ndim"):
            X = list(X)
        if sample_rate is not None:
            return "waveforms", X
        if hasattr(X, "ndim") and X.ndim == 2 and np.issubdtype(np.asarray(X).dtype, np.number):
            return "embeddings", X
        items = [X] if hasattr(X, "ndim") else X
        if items and all(isinstance(item, (str, os.PathLike)) for item in items):
            return "paths", X
        if items and all(isinstance(item, np.ndarray) for item in items):
            raise DataError("X looks like waveforms: pass their sample_rate= as well")
        raise DataError(
            "X must be audio file paths, waveforms (with sample_rate=) or a 2-D array of acoustic embeddings"
        )

    def _feature_cache(self):
        from .features import FeatureCache

        if self.feature_cache is False or self.feature_cache is None:
            return None
        return FeatureCache(None if self.feature_cache is True else self.feature_cache)

    def _examples(
        self, X: Any, kind: str, sample_rate: int | None, *, skip_errors: bool
    ) -> tuple[list[np.ndarray], list[int], list[str], dict[str, str]]:
        """Log-mel examples of audio inputs: (examples, kept positions, names, failures)."""
        from .audio import waveform_to_examples
        from .errors import AudioError
        from .features import extract_examples

        if kind == "paths":
            paths = [Path(p) for p in X]
            extracted = extract_examples(
                paths,
                cache=self._feature_cache(),
                pad_short=self.pad_short,
                skip_errors=skip_errors,
                progress=self.progress and len(paths) > 1,
            )
            # Successes come back in input order; a failed path fails at each of its positions.
            kept = [i for i, path in enumerate(paths) if os.fspath(path) not in extracted.failures]
            return extracted.examples, kept, [os.fspath(p) for p in extracted.paths], extracted.failures
        if isinstance(X, np.ndarray) and X.ndim <= 2:
            waveforms = [X] if X.ndim == 1 else list(X)
        else:
            waveforms = list(X)
        examples, kept, names, failures = [], [], [], {}
        for i, waveform in enumerate(waveforms):
            try:
                examples.append(waveform_to_examples(np.asarray(waveform), int(sample_rate), pad_short=self.pad_short))
            except AudioError as exc:
                if not skip_errors:
                    raise AudioError(f"waveform #{i}: {exc}") from exc
                logger.warning("skipping waveform #%d: %s", i, exc)
                failures[f"#{i}"] = str(exc)
                continue
            kept.append(i)
            names.append(f"#{i}")
        return examples, kept, names, failures

    def _inference_mode(self) -> str:
        from ._device import resolve_device

        device = resolve_device(self.device)
        mode = self.inference
        if mode == "int8" and getattr(self, "_int8_session", None) is None:
            raise ConfigError("inference='int8' needs the model's int8 copy, which this classifier does not have")
        if mode == "auto":
            if device.type == "cpu" and getattr(self, "_int8_session", None) is not None:
                return "int8"
            if device.type == "cuda" or _cpu_supports_bf16():
                return "bf16"
            return "fp32"
        return mode

    def _segment_embeddings(self, examples: np.ndarray, *, mode: str | None = None) -> np.ndarray:
        from .acoustic.embedding import segment_embeddings

        mode = mode or self._inference_mode()
        if mode == "int8":
            return self._int8_session.embed(examples)
        return segment_embeddings(self.acoustic_model_, examples, device=self.device, precision=mode)

    def embed_segments(self, X: Any, *, sample_rate: int | None = None, skip_errors: bool = False) -> SegmentBatch:
        """Segment embeddings of audio inputs, one 0.96-s segment per row.

        Parameters
        ----------
        X : sequence of paths, or waveforms with ``sample_rate``
            Waveforms: a sequence of arrays [shape=(n_samples,) or (n_samples, n_channels)],
            or one array [shape=(n_clips, n_samples)].
        sample_rate : int or None
        skip_errors : bool
            Log and skip unreadable inputs (recorded in ``failures``) instead of raising.

        Returns
        -------
        SegmentBatch
        """
        self._check_fitted()
        kind, X = self._input_kind(X, sample_rate)
        if kind == "embeddings":
            raise DataError("embed_segments needs audio, not precomputed embeddings")
        if self.acoustic_model_ is None:
            raise ConfigError(
                "this classifier was fitted on precomputed acoustic embeddings and has no acoustic model; "
                "pass embeddings of the same kind instead of audio"
            )
        examples, kept, names, failures = self._examples(X, kind, sample_rate, skip_errors=skip_errors)
        if examples:
            flat = self._segment_embeddings(np.concatenate(examples))
            bounds = np.cumsum([len(e) for e in examples])[:-1]
            segments = np.split(flat, bounds)
        else:
            segments = []
        return SegmentBatch(segments=segments, index=np.asarray(kept, dtype=np.int64), names=names, failures=failures)

    def transform(self, X: Any, *, sample_rate: int | None = None) -> np.ndarray:
        """Acoustic clip embeddings θ(x), each the mean of the clip's segment embeddings.

        Returns
        -------
        np.ndarray [shape=(n_clips, acoustic_dim)], float32
        """
        self._check_fitted()
        kind, X = self._input_kind(X, sample_rate)
        if kind == "embeddings":
            return self._check_embeddings(X)
        batch = self.embed_segments(X, sample_rate=sample_rate)
        if not batch.segments:
            return np.empty((0, self.acoustic_dim_), dtype=np.float32)
        return batch.clip_embeddings()

    def _check_embeddings(self, X: Any) -> np.ndarray:
        embeddings = np.asarray(X, dtype=np.float32)
        if embeddings.shape[1] != self.acoustic_dim_:
            raise DataError(
                f"acoustic embeddings have {embeddings.shape[1]} dimensions; this classifier expects "
                f"{self.acoustic_dim_}"
            )
        if not np.isfinite(embeddings).all():
            raise DataError("acoustic embeddings contain NaN or infinite values")
        return embeddings

    # -- fitting ---------------------------------------------------------------------------

    def fit(
        self,
        X: Any,
        y: Sequence[str],
        class_texts: Any = None,
        *,
        sample_rate: int | None = None,
        skip_errors: bool = False,
    ) -> ZeroShotClassifier:
        """Train on clips of the training classes.

        Parameters
        ----------
        X : sequence of paths, waveforms (with ``sample_rate``), or np.ndarray [shape=(n_clips, dim)]
            Audio, or precomputed acoustic embeddings (then no acoustic model is trained, and
            prediction takes embeddings of the same kind).
        y : sequence of str [shape=(n_clips,)]
            Each clip's class name.
        class_texts : mapping of name to description, sequence of ClassInfo, or None
            Descriptions of the training classes; a class without one is embedded from its name.
        sample_rate : int or None
            Sample rate of waveform inputs.
        skip_errors : bool
            Log and skip unreadable audio (listed in ``fit_failures_``) instead of raising.

        Returns
        -------
        self
        """
        from .semantic import ClassInfo

        self._check_params()
        if isinstance(y, (str, bytes)):
            raise DataError(f"y must hold one class name per clip, not the single string {y!r}")
        labels = [str(label) for label in y]
        kind, X = self._input_kind(X, sample_rate)
        self._semantic_embedder = None  # text-model parameters may have changed since the last fit
        n_inputs = len(X) if kind != "embeddings" else np.asarray(X).shape[0]
        if n_inputs != len(labels):
            raise DataError(f"X has {n_inputs} clips but y has {len(labels)} labels")
        _class_texts(class_texts, sorted(set(labels)))  # fail on bad texts before any audio work

        self.quantization_ = None
        self._int8_session = None
        self._int8_bytes = None
        self.acoustic_history_ = []
        self.fit_failures_ = {}
        examples = None
        if kind == "embeddings":
            acoustic = np.asarray(X, dtype=np.float32)
            if acoustic.shape[0] == 0 or not np.isfinite(acoustic).all():
                raise DataError("acoustic embeddings must be a non-empty array of finite values")
        else:
            examples, kept, _, self.fit_failures_ = self._examples(X, kind, sample_rate, skip_errors=skip_errors)
            labels = [labels[i] for i in kept]
        class_names = sorted(set(labels))
        if len(class_names) < 2:
            raise DataError(f"training needs clips of at least 2 classes, got {class_names}")
        texts = _class_texts(class_texts, class_names, allow_absent=True)
        classes = self._prepare_classes([texts.get(name, ClassInfo(name=name)) for name in class_names], what="y")
        if examples is None:
            self.acoustic_model_ = None
        else:
            self.acoustic_model_ = self._fit_acoustic(examples, labels)
            acoustic = self._training_embeddings(examples)
        self.acoustic_dim_ = int(acoustic.shape[1])

        table = self._embedder().embed(self.semantic, classes)
        self.class_info_ = classes
        self.classes_ = np.array(class_names)
        self.class_embeddings_ = table.embeddings
        self.semantic_dim_ = int(table.dim)
        self.semantic_sources_ = {part: info["source"] for part, info in table.metadata["parts"].items()}
        label_index = np.searchsorted(self.classes_, np.array(labels))
        self.lambda_, self.lambda_scores_ = self._choose_lambda(acoustic, label_index)
        self.bilinear_ = self._bilinear(self.lambda_).fit(acoustic, label_index, self.class_embeddings_)
        self._encoder_unchecked = False
        return self

    def _fit_acoustic(self, examples: list[np.ndarray], labels: list[str]):
        from .acoustic import VGGish, load_vggish, train_vggish

        if isinstance(self.acoustic_model, VGGish):
            return self.acoustic_model.eval()
        if self.acoustic_model is not None:
            return load_vggish(self.acoustic_model, device="cpu")[0]
        result = train_vggish(
            examples,
            labels,
            validation_fraction=self.validation_fraction,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            max_epochs=self.max_epochs,
            patience=self.patience,
            seed=self.seed,
            device=self.device,
            model_options={"conv_channels": tuple(self.conv_channels), "fc_units": self.fc_units},
            checkpoint_dir=self.checkpoint_dir,
            progress=self.progress,
        )
        self.acoustic_history_ = result.history
        return result.model.to("cpu")

    def _training_embeddings(self, examples: list[np.ndarray]) -> np.ndarray:
        """Training clips' embeddings in fp32 (the reference), and the int8 copy calibrated on them."""
        from .acoustic.embedding import clip_means

        flat = np.concatenate(examples)
        if self.quantize and self.inference in ("auto", "int8"):
            self._make_int8_copy(flat)
        segments = self._segment_embeddings(flat, mode="fp32")
        return clip_means(segments, [len(e) for e in examples])

    def _make_int8_copy(self, segments: np.ndarray) -> None:
        from .acoustic.onnx_int8 import Int8Session, int8_available, quantize_vggish_int8

        if not int8_available():
            logger.info("onnxruntime is not installed: no int8 copy of VGGish (pip install onnxruntime onnx)")
            return
        with tempfile.TemporaryDirectory(prefix="zsac-int8-") as tmp:
            report = quantize_vggish_int8(
                self.acoustic_model_, segments, Path(tmp) / "vggish.int8.onnx", seed=self.seed
            )
            self._int8_bytes = report.path.read_bytes()
        self.quantization_ = {
            "n_calibration": report.n_calibration,
            "n_check": report.n_check,
            "min_cosine": report.min_cosine,
            "mean_cosine": report.mean_cosine,
            "relative_error": report.relative_error,
            "passed": report.passed,
        }
        self._int8_session = Int8Session(self._int8_bytes) if report.passed else None

    def _bilinear(self, lam: float):
        from .compatibility import Bilinear

        return Bilinear(lam=lam, solver=self.solver, max_iter=self.max_iter, seed=self.seed)

    def _choose_lambda(self, acoustic: np.ndarray, labels: np.ndarray) -> tuple[float, dict[float, float]]:
        """λ by class-split cross-validation: each fold's classes are held out and classified zero-shot."""
        from .compatibility import select_lambda
        from .protocols import random_class_folds

        if self.lam != "auto":
            return float(self.lam), {}
        n_classes = len(self.classes_)
        grid = [float(lam) for lam in self.lambda_grid]
        if n_classes < 4:
            fallback = 0.01 if 0.01 in grid else grid[0]
            logger.warning(
                "choosing λ needs at least 4 training classes (2 held out per fold); with %d, λ=%g", n_classes, fallback
            )
            return fallback, {}
        folds = random_class_folds(range(n_classes), n_folds=min(5, n_classes // 2), seed=self.seed)
        totals = dict.fromkeys(grid, 0.0)
        for held_out in folds.values():
            held = np.isin(labels, held_out)
            train_classes = np.setdiff1d(np.arange(n_classes), held_out)
            selection = select_lambda(
                acoustic[~held],
                np.searchsorted(train_classes, labels[~held]),
                self.class_embeddings_[train_classes],
                acoustic[held],
                np.searchsorted(np.asarray(held_out), labels[held]),
                self.class_embeddings_[list(held_out)],
                estimator=self._bilinear(grid[0]),
                grid=grid,
                warn_on_ties=False,
            )
            for lam, top1 in selection.validation_top1.items():
                totals[lam] += top1 / len(folds)
        best = max(grid, key=lambda lam: (totals[lam], lam))
        if len(grid) > 1 and len(set(totals.values())) == 1:
            logger.warning(
                "every λ in %s gave the same held-out-class Top-1 (%.4f), so λ=%g is an arbitrary choice; "
                "more training classes or clips would tell them apart",
                grid,
                totals[best],
                best,
            )
        logger.info("λ=%g chosen by held-out-class Top-1 %s", best, {k: round(v, 4) for k, v in totals.items()})
        return best, totals

    # -- prediction ------------------------------------------------------------------------

    def decision_function(self, X: Any, *, classes: Any = None, sample_rate: int | None = None) -> np.ndarray:
        """Compatibility F(x, z) = θ(x)ᵀ W φ(z) of every clip with every class (eq. 4).

        Parameters
        ----------
        X : paths, waveforms (with ``sample_rate``) or acoustic embeddings [shape=(n_clips, dim)]
        classes : class texts or None
            Any names or descriptions (see :func:`as_class_infos`); ``None`` is the training classes.

        Returns
        -------
        np.ndarray [shape=(n_clips, n_classes)], float64
        """
        self._check_fitted()
        _, phi = self._class_matrix(classes)
        return self.bilinear_.decision_function(self.transform(X, sample_rate=sample_rate), phi)

    def predict_proba(self, X: Any, *, classes: Any = None, sample_rate: int | None = None) -> np.ndarray:
        """Softmax over the compatibilities divided by ``temperature``.

        Returns
        -------
        np.ndarray [shape=(n_clips, n_classes)], float64; rows sum to 1
        """
        return _softmax(self.decision_function(X, classes=classes, sample_rate=sample_rate), self.temperature)

    def predict(self, X: Any, *, classes: Any = None, sample_rate: int | None = None) -> np.ndarray:
        """The best class of each clip (eq. 5), by name.

        Returns
        -------
        np.ndarray [shape=(n_clips,)], str
        """
        self._check_fitted()
        names, phi = self._class_matrix(classes)
        scores = self.bilinear_.decision_function(self.transform(X, sample_rate=sample_rate), phi)
        return np.asarray(names)[np.argmax(scores, axis=1)]

    def score(self, X: Any, y: Sequence[str], *, classes: Any = None, sample_rate: int | None = None) -> float:
        """Top-1 accuracy against the class names ``y``.

        ``classes=None`` classifies among the distinct classes of ``y``: with the texts they
        were fitted with when all are training classes, else named by themselves.
        """
        self._check_fitted()
        if isinstance(y, (str, bytes)):
            raise DataError(f"y must hold one class name per clip, not the single string {y!r}")
        labels = np.asarray([str(label) for label in y])
        if classes is None and set(labels.tolist()) <= set(self.classes_.tolist()):
            # Training classes keep the texts (descriptions) they were fitted with.
            names = sorted(set(labels.tolist()))
            phi = self.class_embeddings_[np.searchsorted(self.classes_, names)]
        else:
            names, phi = self._class_matrix(classes if classes is not None else sorted(set(labels.tolist())))
        scores = self.bilinear_.decision_function(self.transform(X, sample_rate=sample_rate), phi)
        if scores.shape[0] != len(labels):
            raise DataError(f"X has {scores.shape[0]} clips but y has {len(labels)} labels")
        return float(np.mean(np.asarray(names)[np.argmax(scores, axis=1)] == labels))

    # -- persistence -----------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the fitted classifier to a folder, replacing it whole (never half-written).

        The folder holds ``classifier.json`` (parameters, spec and text-model identities,
        training classes, λ), ``class_embeddings.safetensors``, ``bilinear/`` and, when
        there is an acoustic model, ``acoustic/`` (safetensors weights and, if made, the
        int8 ONNX copy). No pickle anywhere.
        """
        from safetensors.numpy import save_file

        from .acoustic import save_vggish
        from .compatibility import save_bilinear

        self._check_fitted()
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        default_permissions(staging, directory=True)
        try:
            save_bilinear(self.bilinear_, staging / BILINEAR_DIR)
            if self.acoustic_model_ is not None:
                save_vggish(self.acoustic_model_, staging / ACOUSTIC_DIR, metadata={"classes": list(self.classes_)})
                if getattr(self, "_int8_bytes", None) is not None:
                    from .acoustic.onnx_int8 import INT8_FILE

                    (staging / ACOUSTIC_DIR / INT8_FILE).write_bytes(self._int8_bytes)
            save_file({"embeddings": np.ascontiguousarray(self.class_embeddings_)}, staging / CLASS_EMBEDDINGS_FILE)
            params = self.get_params()
            if params["acoustic_model"] is not None and not isinstance(params["acoustic_model"], (str, os.PathLike)):
                params["acoustic_model"] = None  # the weights are saved in acoustic/
            params = {k: (os.fspath(v) if isinstance(v, os.PathLike) else v) for k, v in params.items()}
            params["conv_channels"] = list(params["conv_channels"])
            params["lambda_grid"] = [float(v) for v in params["lambda_grid"]]
            params["tables"] = {k: os.fspath(v) for k, v in (params["tables"] or {}).items()} or None
            write_json_atomic(
                staging / MODEL_FILE,
                {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "zsac_version": __version__,
                    "params": params,
                    "semantic_sources": self.semantic_sources_,
                    "classes": [dataclasses.asdict(c) for c in self.class_info_],
                    "acoustic_dim": self.acoustic_dim_,
                    "semantic_dim": self.semantic_dim_,
                    "has_acoustic_model": self.acoustic_model_ is not None,
                    "lambda": self.lambda_,
                    "lambda_scores": {str(k): v for k, v in self.lambda_scores_.items()},
                    "quantization": self.quantization_,
                    "acoustic_history": self.acoustic_history_,
                },
            )
            _replace_directory(staging, directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike[str], **overrides: Any) -> ZeroShotClassifier:
        """Load a classifier written by :meth:`save`.

        Parameters
        ----------
        directory : path
        **overrides
            Parameters to change for prediction, e.g. ``device="cpu"``, ``inference="fp32"``,
            ``temperature=0.5``.
        """
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        from .acoustic import load_vggish
        from .compatibility import load_bilinear
        from .semantic import ClassInfo

        cls.check_param_names(overrides)
        directory = Path(directory)
        config_path = directory / MODEL_FILE
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise CheckpointError(f"{directory} is not a zsac classifier: {config_path} is missing") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"cannot read {config_path}: {exc}") from exc
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise CheckpointError(f"{config_path} is not a zsac classifier file")
        if config.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(
                f"{config_path} has format version {config.get('format_version')}; this zsac reads {FORMAT_VERSION}"
            )
        try:
            params = {**config["params"], **overrides}
            model = cls(**params)
            model.class_info_ = [ClassInfo(**c) for c in config["classes"]]
            model.classes_ = np.array([c.name for c in model.class_info_])
            model.acoustic_dim_ = int(config["acoustic_dim"])
            model.semantic_dim_ = int(config["semantic_dim"])
            model.lambda_ = float(config["lambda"])
            model.lambda_scores_ = {float(k): float(v) for k, v in config["lambda_scores"].items()}
            model.semantic_sources_ = dict(config["semantic_sources"])
            model.quantization_ = config.get("quantization")
            model.acoustic_history_ = list(config.get("acoustic_history", []))
            has_acoustic = bool(config["has_acoustic_model"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"malformed classifier file {config_path}: {exc}") from exc
        model._check_params()
        try:
            embeddings = load_file(directory / CLASS_EMBEDDINGS_FILE)["embeddings"]
        except (FileNotFoundError, SafetensorError, OSError, KeyError) as exc:
            raise CheckpointError(f"cannot read {directory / CLASS_EMBEDDINGS_FILE}: {exc}") from exc
        if embeddings.shape != (len(model.class_info_), model.semantic_dim_):
            raise CheckpointError(
                f"{directory / CLASS_EMBEDDINGS_FILE} holds {embeddings.shape}, expected "
                f"({len(model.class_info_)}, {model.semantic_dim_})"
            )
        model.class_embeddings_ = embeddings
        model.bilinear_, _ = load_bilinear(directory / BILINEAR_DIR)
        if model.bilinear_.W_.shape != (model.acoustic_dim_, model.semantic_dim_):
            raise CheckpointError(f"{directory / BILINEAR_DIR} does not fit {config_path}")
        model.acoustic_model_ = None
        model._int8_session = None
        model._int8_bytes = None
        if has_acoustic:
            model.acoustic_model_, _ = load_vggish(directory / ACOUSTIC_DIR, device="cpu")
            from .acoustic.onnx_int8 import INT8_FILE

            int8_path = directory / ACOUSTIC_DIR / INT8_FILE
            if int8_path.is_file() and (model.quantization_ or {}).get("passed"):
                model._int8_bytes = int8_path.read_bytes()
                if model.inference in ("auto", "int8"):
                    model._int8_session = _int8_session_or_none(model._int8_bytes, int8_path)
        model._encoder_unchecked = True
        return model


def _int8_session_or_none(data: bytes, path: Path):
    from .acoustic.onnx_int8 import Int8Session, int8_available

    if not int8_available():
        logger.info("onnxruntime is not installed, so %s is not used", path)
        return None
    return Int8Session(data)


def _class_texts(class_texts: Any, class_names: Sequence[str], *, allow_absent: bool = False) -> dict[str, Any]:
    """Training-class texts by name; names absent from ``y`` are refused (unless ``allow_absent``:
    after bad files were skipped, a class may have lost all its clips)."""
    from .semantic import ClassInfo

    if class_texts is None:
        return {}
    if isinstance(class_texts, Mapping):
        items = [ClassInfo(name=str(name), description=text) for name, text in class_texts.items()]
    else:
        items = list(class_texts)
        if not all(isinstance(item, ClassInfo) for item in items):
            raise DataError("class_texts must map class names to descriptions, or be a list of ClassInfo")
    texts = {item.name: item for item in items}
    unknown = sorted(set(texts) - set(class_names))
    if unknown and not allow_absent:
        raise DataError(f"class_texts describes classes that no clip has: {unknown}; the classes are {class_names}")
    return texts


def _replace_directory(staging: Path, target: Path) -> None:
    """Move a finished folder into place; an existing one is swapped out, then removed."""
    if target.exists():
        if not (target / MODEL_FILE).is_file() and any(target.iterdir()):
            raise DataError(f"{target} exists and is not a zsac classifier; refusing to overwrite it")
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        try:
            os.replace(staging, target)
        except OSError:
            os.replace(old, target)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)
