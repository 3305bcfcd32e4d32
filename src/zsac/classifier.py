"""The user-facing zero-shot audio classifier: train on your classes, classify by name or description.

:class:`ZeroShotClassifier` is the estimator API over named parts:

- the acoustic side θ(x): VGGish trained from scratch on the training classes only
  (Section III-B; :func:`~zsac.acoustic.train_vggish`), run at prediction time by an
  :class:`~zsac.acoustic.AcousticEncoder` (fp32, bf16 or int8);
- the semantic side φ(z): a spec such as ``SLE+SSE`` over class names and descriptions
  (Section III-C, Table V; :class:`~zsac.semantic.SemanticEmbedder`);
- the bilinear compatibility F(x, z) = θ(x)ᵀ W φ(z) trained with WARP (eqs. 4-9), λ chosen
  by class-split cross-validation over the training classes
  (:func:`~zsac.compatibility.select_lambda_by_class_folds`);
- beyond the paper, a calibration γ (calibrated stacking, Chao et al. 2016) learnt by the
  same class folds (:func:`~zsac.compatibility.selection.select_calibration_by_class_folds`)
  and subtracted from the training classes' scores when they compete with new classes.

At prediction time the classes are any texts, so clips are classified into classes that
the classifier never heard (eq. 5).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from scipy.special import softmax

from ._estimator import ZsacEstimator, check_fitted
from ._settings import (
    check_calibration,
    check_choice,
    check_device_name,
    check_lambda_grid,
    check_seed,
    check_settings,
    describe,
    document_parameters,
    infos_of,
    parse_calibration,
    parse_device,
    parse_float_list,
    parse_lambda,
    parse_seed,
)
from .acoustic.config import CLASSIFIER_RECIPE, VGGishConfig
from .acoustic.encoder import INFERENCE_MODES, AcousticEncoder, fit_encoder
from .checkpoint import (
    ACOUSTIC_FOLDER,
    BILINEAR_FOLDER,
    CLASSIFIER_FILE,
    model_version,
    read_classifier_folder,
    read_training_log,
    write_classifier_folder,
)
from .compatibility.bilinear import SOLVERS, Bilinear, load_bilinear, save_bilinear
from .compatibility.selection import (
    PAPER_LAMBDA_GRID,
    class_fold_chance,
    class_folds,
    select_calibration_by_class_folds,
    select_lambda_by_class_folds,
    warn_if_degenerate,
)
from .errors import CheckpointError, ConfigError, DataError
from .features import FeatureCache
from .inputs import SegmentBatch, checked_embeddings, examples_of, file_segments, input_kind
from .ranking import Ranking
from .semantic.config import SemanticConfig
from .semantic.side_info import ClassInfo, class_name_key, label_from_name, training_class_texts
from .semantic.specs import SemanticEmbedder, check_embeddable, classes_from_texts, parse_spec, warn_on_drift
from .semantic.tables import ClassTable

__all__ = ["ZeroShotClassifier"]

logger = logging.getLogger(__name__)

#: Parameters that name files or folders. A model folder is untrusted input: what its JSON
#: says of them is kept only as a hint for error messages, never opened, read or written;
#: the caller passes them again to :meth:`ZeroShotClassifier.load` to use them.
PATH_PARAMS = ("word2vec", "glove", "tables", "feature_cache", "acoustic_model", "checkpoint_dir")
#: Text models named by a hub id or a local folder: a hub id is kept, a folder is a hint.
MODEL_NAME_PARAMS = ("sentence_model", "bert")
#: Run details, not the model: they go to the training log, so that same-seed trainings save equal bytes.
RUN_PARAMS = ("progress", "checkpoint_dir", "device")
_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?")
# Loads that fail while another process switches the model folder to a new version retry this often.
_LOAD_ATTEMPTS = 5
_LOAD_BACKOFF_S = 0.01


def _is_hub_id(value: Any) -> bool:
    """Whether a text-model setting is a hub name (kept from a model folder) and not a local path."""
    return (
        isinstance(value, str)
        and bool(_HUB_ID.fullmatch(value))
        and ".." not in value
        and not os.path.lexists(value)  # a stat only: a name that is also a local path is a path
    )


def _split_untrusted(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A saved model's parameters without the paths they name, and those paths as hints."""
    params, hints = dict(params), {}
    for name in RUN_PARAMS:
        params.pop(name, None)
    for name in PATH_PARAMS:
        value = params.get(name)
        if isinstance(value, bool) or value is None:
            continue
        hints[name] = value
        params[name] = None
    for name in MODEL_NAME_PARAMS:
        value = params.get(name)
        if value is not None and not _is_hub_id(value):
            hints[name] = value
            params[name] = None
    return params, hints


_SEMANTIC = SemanticConfig()
_VGGISH = VGGishConfig()
_BILINEAR = Bilinear()


def _finite_number(value: Any, what: str, *, optional: bool = False) -> float | None:
    """A number from a model folder's JSON, which is untrusted: finite, and not a bool."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _load_calibration(model: Any, config: dict[str, Any], params: dict[str, Any]) -> None:
    """The calibration of a saved model (ValueError when malformed); a folder of zsac before it has none: γ = 0."""
    if "calibration" in params:
        try:
            check_calibration(params["calibration"])
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
    gamma = _finite_number(config.get("calibration", 0.0), "calibration")
    scores = config.get("calibration_scores") or {}
    if not isinstance(scores, dict):
        raise ValueError("'calibration_scores' is not a JSON object")
    scores = {str(key): _finite_number(value, f"calibration_scores[{key!r}]") for key, value in scores.items()}
    if "n_folds" in scores:
        scores["n_folds"] = int(scores["n_folds"])
    model.calibration_scores_ = {**scores, "gamma": gamma} if scores or gamma else {}
    folds = config.get("class_folds") or {}
    if not isinstance(folds, dict):
        raise ValueError("'class_folds' is not a JSON object")
    model.class_fold_top1_ = _finite_number(folds.get("top1"), "class_folds['top1']", optional=True)
    model.class_fold_chance_ = _finite_number(folds.get("chance"), "class_folds['chance']", optional=True)
    model.degenerate_ = config.get("degenerate", False)
    if not isinstance(model.degenerate_, bool):
        raise ValueError(f"'degenerate' must be true or false, got {model.degenerate_!r}")


@document_parameters
class ZeroShotClassifier(ZsacEstimator):
    """Zero-shot audio classifier: VGGish + semantic class embeddings + bilinear WARP model.

    ``fit`` learns from clips of training classes; ``predict`` and friends take
    ``classes=``, any class names or descriptions, seen in training or not. The parameters
    (listed below from their one home: :class:`~zsac.semantic.SemanticConfig`,
    :class:`~zsac.acoustic.VGGishConfig` and this class's ``param_settings``) are the
    ``zsac train`` options of the same names.

    Attributes
    ----------
    classes_ : np.ndarray [shape=(n_classes,)], str
        Training class names.
    class_info_ : list of ClassInfo
        Training classes with the texts they were embedded from.
    class_embeddings_ : np.ndarray [shape=(n_classes, semantic_dim)], float32
    acoustic_encoder_ : AcousticEncoder or None
        ``None`` when fitted on precomputed embeddings.
    acoustic_model_ : VGGish or None
        The encoder's torch network (built on first access).
    bilinear_ : Bilinear
    lambda_ : float
    lambda_scores_ : dict of float to float
        Mean held-out Top-1 of each λ (empty when λ was given).
    class_fold_top1_ : float or None
        Zero-shot Top-1 of held-out training classes, classified among themselves, by
        class-split cross-validation: the chosen λ's mean over the folds of λ selection, or
        with λ given, that of the calibration's fold models (trained on 80% of the other
        classes' clips). None with fewer than 4 training classes.
    class_fold_chance_ : float or None
        Chance of ``class_fold_top1_``: the mean over the folds of 1 / (classes held out).
    calibration_ : float
        The γ that prediction subtracts from the training classes' scores when they compete
        with new classes: the learnt one (``calibration="auto"``), 0 (``"none"``) or the number given.
    calibration_scores_ : dict
        The calibration's cross-validation: ``gamma`` (the γ learnt), the mean over the folds
        of per-class ``seen`` and ``unseen`` accuracy and their harmonic mean ``harmonic_mean``
        at it, the same at γ = 0 (``seen_at_0``, ...), and ``n_folds``. Empty when it could
        not run (fewer than 4 training classes, or classes of fewer than 3 clips).
    degenerate_ : bool
        Whether the fitted model's scores are nearly the same for every class
        (:func:`~zsac.compatibility.selection.warn_if_degenerate`).
    acoustic_dim_, semantic_dim_ : int
    quantization_ : dict or None
        The int8 copy's tolerance report.
    acoustic_history_ : list of dict
        VGGish's training record per epoch (empty when no VGGish was trained).
    fit_failures_ : dict of str to str
        Inputs that ``fit(..., skip_errors=True)`` skipped, with the reason.
    """

    param_settings: ClassVar[dict[str, dict[str, Any]]] = {
        **infos_of(SemanticConfig),
        "acoustic_model": describe(
            "a trained VGGish (folder or object) to use as is instead of training one on the training classes"
        ),
        **infos_of(VGGishConfig),
        "checkpoint_dir": describe("where VGGish training checkpoints go, so that an interrupted fit resumes"),
        "lam": describe(
            "bilinear λ, or auto (chosen on held-out training classes)", flag="--lambda", parse=parse_lambda
        ),
        "lambda_grid": describe(
            "comma-separated λ values that auto chooses from (the paper's grid)",
            parse=parse_float_list,
            check=check_lambda_grid,
        ),
        "solver": Bilinear.param_settings["solver"],
        "max_iter": Bilinear.param_settings["max_iter"],
        "temperature": describe("softmax temperature of the probabilities", parse=float),
        "calibration": describe(
            "γ subtracted from the training classes' scores when new classes are offered with them "
            "(calibrated stacking): auto (learnt on held-out training classes), none, or a number",
            metavar="auto|none|GAMMA",
            parse=parse_calibration,
            check=check_calibration,
        ),
        "inference": describe("VGGish arithmetic (auto: int8 on a CPU if the model has it)", choices=INFERENCE_MODES),
        "quantize": describe(
            "make an int8 copy of VGGish after training, for fast CPU inference",
            off_help="make no int8 copy of VGGish (CPU inference then runs in fp32 or bf16)",
        ),
        "pad_short": describe(
            "zero-pad clips shorter than 0.96 s instead of rejecting them",
            off_help="reject clips shorter than 0.96 s instead of zero-padding them",
        ),
        "feature_cache": describe("cache log-mel features of files (True: the user cache dir), or a cache folder"),
        "device": describe(
            "cpu, cuda, cuda:1, ... (default: cuda when available)", parse=parse_device, check=check_device_name
        ),
        "seed": describe(
            "seeds VGGish training, the class folds of λ selection and int8 calibration",
            parse=parse_seed,
            check=check_seed,
        ),
        "progress": describe("show progress bars"),
    }

    def __init__(
        self,
        *,
        semantic: str = _SEMANTIC.semantic,
        sentence_model: str | None = _SEMANTIC.sentence_model,
        word2vec: str | None = _SEMANTIC.word2vec,
        glove: str | None = _SEMANTIC.glove,
        bert: str | None = _SEMANTIC.bert,
        bert_pooling: str = _SEMANTIC.bert_pooling,
        bert_layer: int = _SEMANTIC.bert_layer,
        bert_max_length: int = _SEMANTIC.bert_max_length,
        stop_words: str = _SEMANTIC.stop_words,
        word_vector_limit: int | None = _SEMANTIC.word_vector_limit,
        tables: Any = _SEMANTIC.tables,
        label_template: str | None = _SEMANTIC.label_template,
        normalize: bool = _SEMANTIC.normalize,
        acoustic_model: Any = None,
        conv_channels: Sequence[int] = _VGGISH.conv_channels,
        fc_units: int = _VGGISH.fc_units,
        max_epochs: int = _VGGISH.max_epochs,
        patience: int = _VGGISH.patience,
        batch_size: int | None = _VGGISH.batch_size,
        learning_rate: float | None = _VGGISH.learning_rate,
        validation_fraction: float = _VGGISH.validation_fraction,
        split_unit: str = _VGGISH.split_unit,
        recipe: str = CLASSIFIER_RECIPE,  # not VGGishConfig's default, the paper's: see CLASSIFIER_RECIPE
        backbone: str | None = _VGGISH.backbone,
        batch_norm: bool | None = _VGGISH.batch_norm,
        time_mask: int | None = _VGGISH.time_mask,
        freq_mask: int | None = _VGGISH.freq_mask,
        mixup: float | None = _VGGISH.mixup,
        gain_db: float | None = _VGGISH.gain_db,
        time_shift: int | None = _VGGISH.time_shift,
        optimizer: str | None = _VGGISH.optimizer,
        weight_decay: float | None = _VGGISH.weight_decay,
        warmup_epochs: int | None = _VGGISH.warmup_epochs,
        lr_schedule: str | None = _VGGISH.lr_schedule,
        label_smoothing: float | None = _VGGISH.label_smoothing,
        min_epochs: int | None = _VGGISH.min_epochs,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        lam: float | str = "auto",
        lambda_grid: Sequence[float] = PAPER_LAMBDA_GRID,
        solver: str = _BILINEAR.solver,
        max_iter: int | None = _BILINEAR.max_iter,
        temperature: float = 1.0,
        calibration: float | str = "auto",
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
        self.bert_pooling = bert_pooling
        self.bert_layer = bert_layer
        self.bert_max_length = bert_max_length
        self.stop_words = stop_words
        self.word_vector_limit = word_vector_limit
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
        self.split_unit = split_unit
        self.recipe = recipe
        self.backbone = backbone
        self.batch_norm = batch_norm
        self.time_mask = time_mask
        self.freq_mask = freq_mask
        self.mixup = mixup
        self.gain_db = gain_db
        self.time_shift = time_shift
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.warmup_epochs = warmup_epochs
        self.lr_schedule = lr_schedule
        self.label_smoothing = label_smoothing
        self.min_epochs = min_epochs
        self.checkpoint_dir = checkpoint_dir
        self.lam = lam
        self.lambda_grid = lambda_grid
        self.solver = solver
        self.max_iter = max_iter
        self.temperature = temperature
        self.calibration = calibration
        self.inference = inference
        self.quantize = quantize
        self.pad_short = pad_short
        self.feature_cache = feature_cache
        self.device = device
        self.seed = seed
        self.progress = progress

    # -- the parts, as configured ------------------------------------------------------------

    def _config(self, config_class: type) -> Any:
        return config_class(**{f.name: getattr(self, f.name) for f in dataclasses.fields(config_class)})

    def _check_params(self) -> None:
        # Everything that can be checked before hours of feature extraction and training.
        check_settings(self)  # the checks the command line runs on the same options
        semantic = self._config(SemanticConfig)
        parse_spec(self.semantic)
        classes_from_texts(["x"], spec=self.semantic, label_template=self.label_template)  # the template
        SemanticEmbedder.from_config(semantic)  # the tables' parts; no model loads here
        self._config(VGGishConfig)
        check_choice(type(self).__name__, "inference", self.inference, INFERENCE_MODES)
        check_choice(type(self).__name__, "solver", self.solver, SOLVERS)
        if not (isinstance(self.temperature, (int, float)) and 0 < self.temperature < math.inf):
            raise ConfigError(f"temperature must be a positive number, got {self.temperature!r}")
        if self.lam != "auto" and not (isinstance(self.lam, (int, float)) and 0 <= self.lam < math.inf):
            raise ConfigError(f"lam must be 'auto' or a number >= 0, got {self.lam!r}")

    def _embedder(self) -> SemanticEmbedder:
        if getattr(self, "_semantic_embedder", None) is None:
            self._semantic_embedder = SemanticEmbedder.from_config(
                self._config(SemanticConfig), device=self.device, progress=self.progress
            )
        return self._semantic_embedder

    def _bilinear(self, lam: float) -> Bilinear:
        return Bilinear(lam=lam, solver=self.solver, max_iter=self.max_iter, seed=self.seed)

    def _feature_cache(self) -> FeatureCache | None:
        return FeatureCache.of_setting(self.feature_cache)

    # -- the semantic side ---------------------------------------------------------------------

    def class_table(self, classes: Any = None) -> ClassTable:
        """The class embeddings φ(z) of class texts under the fitted spec.

        Parameters
        ----------
        classes : class texts, ClassTable or None
            Any names or descriptions (a list of str, a mapping of name to description, or
            ClassInfo); a table written by ``zsac embed-classes`` under the same spec; or
            ``None``, the training classes.

        Returns
        -------
        ClassTable
            ``names`` and ``embeddings`` [shape=(n_classes, semantic_dim)], float32.
        """
        check_fitted(self, "bilinear_")
        if classes is None:
            return ClassTable(embeddings=self.class_embeddings_, names=tuple(self.classes_), spec=self.semantic)
        if isinstance(classes, ClassTable):
            return self._checked_table(classes)
        items = classes_from_texts(classes, spec=self.semantic, label_template=self.label_template)
        try:
            if getattr(self, "_check_text_models", False):
                self._check_text_models = False
                warn_on_drift(self._embedder(), self.semantic, self.class_info_, self.class_embeddings_)
            return self._embedder().embed(self.semantic, items)
        except (ConfigError, DataError) as exc:
            hints = getattr(self, "source_hints_", None)
            if not hints:
                raise
            # Name where the saved model's text sources came from (never their content).
            told = "; ".join(f"{name}={value!r}" for name, value in sorted(hints.items()))
            raise type(exc)(
                f"{exc} (this model was trained with {told}; a loaded model does not open paths named in "
                "its folder: pass them again, e.g. zsac classify --word2vec/--glove/--table or "
                "ZeroShotClassifier.load(..., word2vec=...))"
            ) from exc

    def _checked_table(self, table: ClassTable) -> ClassTable:
        if table.spec is None or parse_spec(table.spec) != parse_spec(self.semantic) or table.dim != self.semantic_dim_:
            raise DataError(
                f"the class table holds {table.spec} embeddings ({table.dim}-d); this model uses {self.semantic} "
                f"({self.semantic_dim_}-d): embed the classes with --semantic {self.semantic}"
            )
        return table

    def embed_classes(self, classes: Any) -> np.ndarray:
        """Semantic embeddings φ(z) of class texts [shape=(n_classes, semantic_dim)], float32 (:meth:`class_table`)."""
        return self.class_table(classes).embeddings

    # -- the acoustic side ---------------------------------------------------------------------

    @property
    def acoustic_model_(self) -> Any:
        """The trained VGGish (torch), or ``None`` when fitted on precomputed embeddings."""
        encoder = self.acoustic_encoder_
        return None if encoder is None else encoder.model

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
        check_fitted(self, "bilinear_")
        kind, X = input_kind(X, sample_rate)
        if kind == "embeddings":
            raise DataError("embed_segments needs audio, not precomputed embeddings")
        if self.acoustic_encoder_ is None:
            raise ConfigError(
                "this classifier was fitted on precomputed acoustic embeddings and has no acoustic model; "
                "pass embeddings of the same kind instead of audio"
            )
        if kind == "paths":
            # Streamed a block at a time, so a 3-hour file costs no more memory than a short one.
            def embed(examples: np.ndarray) -> np.ndarray:
                return self.acoustic_encoder_.embed(examples, inference=self.inference, device=self.device)

            return file_segments(
                X, embed,
                pad_short=self.pad_short, cache=self._feature_cache(), skip_errors=skip_errors, progress=self.progress,
            )  # fmt: skip
        found = examples_of(
            X, kind, sample_rate=sample_rate, pad_short=self.pad_short, cache=self._feature_cache(),
            skip_errors=skip_errors, progress=self.progress,
        )  # fmt: skip
        segments = []
        if found.examples:
            flat = self.acoustic_encoder_.embed(
                np.concatenate(found.examples), inference=self.inference, device=self.device
            )
            segments = np.split(flat, np.cumsum([len(e) for e in found.examples])[:-1])
        return SegmentBatch(segments, np.asarray(found.kept, dtype=np.int64), found.names, found.failures)

    def transform(self, X: Any, *, sample_rate: int | None = None) -> np.ndarray:
        """Acoustic clip embeddings θ(x), each the mean of the clip's segment embeddings.

        Returns
        -------
        np.ndarray [shape=(n_clips, acoustic_dim)], float32
        """
        check_fitted(self, "bilinear_")
        kind, X = input_kind(X, sample_rate)
        if kind != "embeddings":
            batch = self.embed_segments(X, sample_rate=sample_rate)
            return batch.clip_embeddings() if batch.segments else np.empty((0, self.acoustic_dim_), np.float32)
        return checked_embeddings(X, dim=self.acoustic_dim_, allow_empty=True)

    # -- fitting -------------------------------------------------------------------------------

    def fit(
        self, X: Any, y: Sequence[str], class_texts: Any = None, *, sample_rate: int | None = None,
        skip_errors: bool = False,
    ) -> ZeroShotClassifier:  # fmt: skip
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

        Notes
        -----
        After λ, the calibration γ is learnt by the same class folds
        (:func:`~zsac.compatibility.selection.select_calibration_by_class_folds`): this costs
        one more bilinear fit per fold (at most 5), on the embeddings already computed, whatever
        ``calibration`` says, so that ``calibration_scores_`` always tells how the model
        fares when training and new classes are offered together.
        """
        self._check_params()
        if isinstance(y, (str, bytes)):
            raise DataError(f"y must hold one class name per clip, not the single string {y!r}")
        labels = [str(label) for label in y]
        kind, X = input_kind(X, sample_rate)
        self._semantic_embedder = None  # text-model parameters may have changed since the last fit
        n_inputs = np.asarray(X).shape[0] if kind == "embeddings" else len(X)
        if n_inputs != len(labels):
            raise DataError(f"X has {n_inputs} clips but y has {len(labels)} labels")
        training_class_texts(class_texts, sorted(set(labels)))  # fail on bad texts before any audio work
        check_embeddable(self._config(SemanticConfig))  # and on a part without its vectors or table

        self.acoustic_history_, self.fit_failures_, self.acoustic_encoder_ = [], {}, None
        if kind == "embeddings":
            acoustic = checked_embeddings(X)
        else:
            found = examples_of(
                X, kind, sample_rate=sample_rate, pad_short=self.pad_short, cache=self._feature_cache(),
                skip_errors=skip_errors, progress=self.progress,
            )  # fmt: skip
            labels, self.fit_failures_ = [labels[i] for i in found.kept], found.failures
        class_names = sorted(set(labels))
        if len(class_names) < 2:
            raise DataError(f"training needs clips of at least 2 classes, got {class_names}")
        texts = training_class_texts(class_texts, class_names, allow_absent=True)
        classes = classes_from_texts(
            [texts.get(name, ClassInfo(name=name)) for name in class_names],
            spec=self.semantic, label_template=self.label_template, what="y",
        )  # fmt: skip
        if kind != "embeddings":
            self.acoustic_encoder_, self.acoustic_history_, acoustic = fit_encoder(
                found.examples, labels, acoustic_model=self.acoustic_model, config=self._config(VGGishConfig),
                quantize=self.quantize and self.inference in ("auto", "int8"), seed=self.seed, device=self.device,
                checkpoint_dir=self.checkpoint_dir, progress=self.progress,
            )  # fmt: skip
        self.quantization_ = None if self.acoustic_encoder_ is None else self.acoustic_encoder_.quantization
        self.acoustic_dim_ = int(acoustic.shape[1])

        table = self._embedder().embed(self.semantic, classes)
        self.class_info_, self.classes_ = classes, np.array(class_names)
        self.class_embeddings_, self.semantic_dim_ = table.embeddings, int(table.dim)
        self.semantic_sources_ = {part: info["source"] for part, info in table.metadata["parts"].items()}
        label_index = np.searchsorted(self.classes_, np.array(labels))
        if self.lam == "auto":
            chosen = select_lambda_by_class_folds(
                acoustic, label_index, self.class_embeddings_, estimator=self._bilinear(0.0),
                grid=self.lambda_grid, seed=self.seed,
            )  # fmt: skip
            self.lambda_, self.lambda_scores_ = chosen.lam, chosen.scores
        else:
            self.lambda_, self.lambda_scores_ = float(self.lam), {}
        self.bilinear_ = self._bilinear(self.lambda_).fit(acoustic, label_index, self.class_embeddings_)
        self.degenerate_ = warn_if_degenerate(self.bilinear_, acoustic, self.class_embeddings_)
        unheard = None
        if self.acoustic_history_ and self.split_unit == "clip":
            from .acoustic.training import stratified_split  # torch is loaded already: VGGish was trained

            # VGGish's validation clips: it never trained on them, so (unlike the clips it trained on)
            # their seen-class scores are as high as a new recording's, not inflated.
            unheard = stratified_split(label_index, validation_fraction=self.validation_fraction, seed=self.seed)
        self._fit_calibration(acoustic, label_index, chosen.folds if self.lam == "auto" else None, unheard)
        self._check_text_models = False
        self._training_keys = None
        return self

    def _fit_calibration(
        self, acoustic: np.ndarray, label_index: np.ndarray, folds: list | None, kept_out: np.ndarray | None
    ) -> None:
        """γ by class-split cross-validation, and the held-out-class figures the ``zsac train`` report prints."""
        folds = class_folds(len(self.classes_), seed=self.seed) if folds is None else folds
        selection = None
        if folds:
            selection = select_calibration_by_class_folds(
                acoustic, label_index, self.class_embeddings_, estimator=self._bilinear(self.lambda_), folds=folds,
                seed=self.seed, kept_out=kept_out,
            )  # fmt: skip
        if selection is None:
            self.calibration_scores_ = {}
            if self.calibration == "auto":
                logger.warning(
                    "learning the calibration needs at least 4 training classes with 3 or more clips each; "
                    "γ=0, so training classes may win over new classes offered with them"
                )
        else:
            self.calibration_scores_ = {
                "gamma": selection.gamma, "seen": selection.seen, "unseen": selection.unseen,
                "harmonic_mean": selection.harmonic_mean, "seen_at_0": selection.seen_at_0,
                "unseen_at_0": selection.unseen_at_0, "harmonic_mean_at_0": selection.harmonic_mean_at_0,
                "n_folds": selection.n_folds,
            }  # fmt: skip
        if self.lambda_scores_:
            self.class_fold_top1_ = float(self.lambda_scores_[self.lambda_])
        else:
            self.class_fold_top1_ = None if selection is None else selection.zero_shot_top1
        self.class_fold_chance_ = None if self.class_fold_top1_ is None else class_fold_chance(folds)

    @property
    def calibration_(self) -> float:
        """The γ that prediction subtracts from training classes' scores when new classes compete with them."""
        check_fitted(self, "bilinear_")
        if self.calibration == "auto":
            return float(self.calibration_scores_.get("gamma", 0.0))
        return 0.0 if self.calibration == "none" else float(self.calibration)

    def _is_training_class(self, names: Sequence[str]) -> np.ndarray:
        """Which of ``names`` are training classes: compared ignoring case, spacing and underscores."""
        if getattr(self, "_training_keys", None) is None:
            self._training_keys = {class_name_key(label_from_name(str(name))) for name in self.classes_}
        return np.array([class_name_key(label_from_name(str(name))) in self._training_keys for name in names], bool)

    # -- prediction ----------------------------------------------------------------------------

    def rank(self, acoustic_embeddings: np.ndarray, *, classes: Any = None) -> Ranking:
        """Compatibilities and probabilities of acoustic embeddings with classes.

        When ``classes`` holds both training classes (by name, ignoring case, spacing and
        underscores) and new ones, ``calibration_`` is subtracted from the training classes'
        scores before they are ranked and turned into probabilities (calibrated stacking):
        a model scores the classes it was trained on too high.

        Parameters
        ----------
        acoustic_embeddings : np.ndarray [shape=(n_clips, acoustic_dim)]
            θ(x), e.g. from :meth:`transform` or :meth:`embed_segments`.
        classes : class texts, ClassTable or None
            See :meth:`class_table`; pass a table to rank many batches against the same classes.

        Returns
        -------
        Ranking
        """
        table = self.class_table(classes)
        scores = self.bilinear_.decision_function(acoustic_embeddings, table.embeddings)
        seen = self._is_training_class(table.names)
        gamma = self.calibration_ if 0 < np.count_nonzero(seen) < seen.size else 0.0
        calibrated = scores - gamma * seen
        probabilities = softmax(calibrated / self.temperature, axis=1)
        return Ranking(list(table.names), scores, probabilities, seen=seen, calibration=gamma)

    def decision_function(self, X: Any, *, classes: Any = None, sample_rate: int | None = None) -> np.ndarray:
        """Compatibility F(x, z) = θ(x)ᵀ W φ(z) of every clip with every class (eq. 4).

        The raw compatibility: no calibration is subtracted (see :meth:`rank`).

        Returns
        -------
        np.ndarray [shape=(n_clips, n_classes)], float64
        """
        return self.rank(self.transform(X, sample_rate=sample_rate), classes=classes).scores

    def predict_proba(self, X: Any, *, classes: Any = None, sample_rate: int | None = None) -> np.ndarray:
        """Softmax over the (calibrated, see :meth:`rank`) compatibilities divided by ``temperature``.

        Returns
        -------
        np.ndarray [shape=(n_clips, n_classes)], float64; rows sum to 1
        """
        return self.rank(self.transform(X, sample_rate=sample_rate), classes=classes).probabilities

    def predict(self, X: Any, *, classes: Any = None, sample_rate: int | None = None) -> np.ndarray:
        """The best class of each clip (eq. 5, calibrated as :meth:`rank` says), by name.

        Returns
        -------
        np.ndarray [shape=(n_clips,)], str
        """
        ranking = self.rank(self.transform(X, sample_rate=sample_rate), classes=classes)
        return np.asarray(ranking.classes)[ranking.best()]

    def score(self, X: Any, y: Sequence[str], *, classes: Any = None, sample_rate: int | None = None) -> float:
        """Top-1 accuracy against the class names ``y``: the mean of ``predict(X, classes=classes) == y``.

        ``classes=None`` classifies among the distinct classes of ``y``: with the texts they
        were fitted with when all are training classes, else named by themselves.

        Raises
        ------
        DataError
            When ``classes`` is given and ``y`` holds a label that is not one of its names.
        """
        check_fitted(self, "bilinear_")
        if isinstance(y, (str, bytes)):
            raise DataError(f"y must hold one class name per clip, not the single string {y!r}")
        labels = np.asarray([str(label) for label in y])
        names = sorted(set(labels.tolist()))
        if classes is None and set(names) <= set(self.classes_.tolist()):
            # Training classes keep the texts (descriptions) they were fitted with.
            classes = ClassTable(embeddings=self.class_embeddings_[np.searchsorted(self.classes_, names)],
                                 names=tuple(names), spec=self.semantic)  # fmt: skip
        table = self.class_table(names if classes is None else classes)
        # Before any audio work: a label outside the classes could only ever count as a miss.
        offered = set(table.names)
        unknown = [name for name in names if name not in offered]
        if unknown:
            shown = ", ".join(map(repr, unknown[:5])) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise DataError(
                f"y holds labels that are not among the classes: {shown} (the classes: {list(table.names)})"
            )
        ranking = self.rank(self.transform(X, sample_rate=sample_rate), classes=table)
        if ranking.scores.shape[0] != len(labels):
            raise DataError(f"X has {ranking.scores.shape[0]} clips but y has {len(labels)} labels")
        return float(np.mean(np.asarray(ranking.classes)[ranking.best()] == labels))

    # -- persistence ---------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write the fitted classifier to a folder, replacing it whole (see :mod:`zsac.checkpoint`).

        The folder holds ``classifier.json`` (parameters, spec and text-model identities,
        training classes, λ, the learnt calibration γ and its cross-validation figures),
        ``class_embeddings.safetensors``, ``bilinear/`` and, when
        there is an acoustic model, ``acoustic/`` (safetensors weights and, if made, the
        int8 ONNX copy). No pickle anywhere.
        """
        check_fitted(self, "bilinear_")
        params = self.get_params()
        if not isinstance(params["acoustic_model"], (str, os.PathLike, type(None))):
            params["acoustic_model"] = None  # a VGGish object: its weights are saved in acoustic/
        params = {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in params.items()}
        params |= {
            "conv_channels": list(params["conv_channels"]),
            "lambda_grid": list(map(float, params["lambda_grid"])),
        }
        params["tables"] = {k: os.fspath(v) for k, v in (params["tables"] or {}).items()} or None
        run = {name: params[name] for name in RUN_PARAMS}
        # Paths are kept as hints only (see PATH_PARAMS); run details go to the training log.
        params, hints = _split_untrusted(params)
        int8_sha256 = None if self.acoustic_encoder_ is None else self.acoustic_encoder_.int8_sha256
        description = {
            "params": params, "source_hints": hints, "semantic_sources": self.semantic_sources_,
            "classes": [dataclasses.asdict(c) for c in self.class_info_],
            "acoustic_dim": self.acoustic_dim_, "semantic_dim": self.semantic_dim_,
            "has_acoustic_model": self.acoustic_encoder_ is not None, "lambda": self.lambda_,
            "lambda_scores": {str(k): v for k, v in self.lambda_scores_.items()}, "quantization": self.quantization_,
            "int8_sha256": int8_sha256, "calibration": float(self.calibration_scores_.get("gamma", 0.0)),
            "calibration_scores": self.calibration_scores_,
            "class_folds": {"top1": self.class_fold_top1_, "chance": self.class_fold_chance_},
            "degenerate": bool(self.degenerate_),
        }  # fmt: skip
        subfolders = {BILINEAR_FOLDER: lambda path: save_bilinear(self.bilinear_, path)}
        if self.acoustic_encoder_ is not None:
            subfolders[ACOUSTIC_FOLDER] = lambda path: self.acoustic_encoder_.save(
                path, metadata={"classes": list(self.classes_)}
            )
        log = {"acoustic_history": self.acoustic_history_, "run": run}
        return write_classifier_folder(
            directory, description=description, class_embeddings=self.class_embeddings_, subfolders=subfolders,
            training_log=log,
        )  # fmt: skip

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
        cls.check_param_names(overrides)
        directory = Path(directory)
        for attempt in range(_LOAD_ATTEMPTS):
            version = model_version(directory)
            try:
                return cls._load_version(directory, version, overrides)
            except (CheckpointError, OSError):
                # Another process switched the folder to a new version (and deleted this one)
                # while it was read: read the new one. A folder that stays put fails for real.
                if attempt == _LOAD_ATTEMPTS - 1 or model_version(directory) == version:
                    raise
                # A writer that switches versions back to back: let it finish one before reading.
                time.sleep(_LOAD_BACKOFF_S * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    def _load_version(cls, directory: Path, version: Path, overrides: dict[str, Any]) -> ZeroShotClassifier:
        config, class_embeddings = read_classifier_folder(version)
        config_path = version / CLASSIFIER_FILE
        try:
            saved_hints = config.get("source_hints") or {}
            for key, value in (*((k, config[k]) for k in ("params", "semantic_sources", "lambda_scores")),
                               ("source_hints", saved_hints)):  # fmt: skip
                if not isinstance(value, dict):
                    raise TypeError(f"{key!r} is not a JSON object")
            params, hints = _split_untrusted(config["params"])
            params.setdefault("recipe", "paper")  # folders from before recipes were trained with the paper's
            hints |= {k: v for k, v in saved_hints.items() if k in (*PATH_PARAMS, *MODEL_NAME_PARAMS)}
            model = cls(**{**params, **overrides})
            # Hints for error messages of what the caller did not pass again.
            model.source_hints_ = {k: v for k, v in hints.items() if k not in overrides}
            model.class_info_ = [ClassInfo(**c) for c in config["classes"]]
            model.classes_ = np.array([c.name for c in model.class_info_])
            model.acoustic_dim_, model.semantic_dim_ = int(config["acoustic_dim"]), int(config["semantic_dim"])
            model.lambda_ = float(config["lambda"])
            model.lambda_scores_ = {float(k): float(v) for k, v in config["lambda_scores"].items()}
            model.semantic_sources_ = dict(config["semantic_sources"])
            model.quantization_ = config.get("quantization")
            _load_calibration(model, config, config.get("params", {}))
            int8_sha256 = config.get("int8_sha256")
            has_acoustic = bool(config["has_acoustic_model"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"malformed classifier file {config_path}: {exc}") from exc
        # Timings of the VGGish epochs: from the training log (zsac 0.1 kept them in classifier.json).
        history = read_training_log(directory, version).get("acoustic_history", config.get("acoustic_history", []))
        model.acoustic_history_ = list(history) if isinstance(history, list) else []
        model._check_params()
        model._training_keys = None
        model.class_embeddings_ = class_embeddings
        model.bilinear_, _ = load_bilinear(version / BILINEAR_FOLDER)
        if model.bilinear_.W_.shape != (model.acoustic_dim_, model.semantic_dim_):
            raise CheckpointError(f"{version / BILINEAR_FOLDER} does not fit {config_path}")
        model.acoustic_encoder_ = None
        if has_acoustic:
            model.acoustic_encoder_ = AcousticEncoder.load(
                version / ACOUSTIC_FOLDER, quantization=model.quantization_, int8_sha256=int8_sha256,
                int8_required=model.inference == "int8",
            )  # fmt: skip
        model._check_text_models = True  # on the first new class list, see warn_on_drift
        return model
