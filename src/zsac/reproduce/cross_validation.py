"""Class-split cross-validation of a :class:`~zsac.ZeroShotClassifier` on a dataset: the work of ``zsac evaluate``.

The classes are dealt into K seeded random folds (:func:`~zsac.protocols.random_class_folds`).
For each fold, a seeded share of each other class's clips is held out
(:func:`~zsac.protocols.seen_class_holdout`), and a copy of the classifier is fitted on the
remaining clips of the other classes, VGGish included when the clips are audio, as ``zsac train``
fits one (:func:`evaluate_fold`). Then:

* zero-shot: the fold's clips are classified among the fold's classes only: Top-1, mAP and
  Top-1 per class;
* generalised: the held-out clips of the seen classes and the fold's clips are classified among
  all classes, from the raw compatibilities, at the classifier's own calibration γ
  (``calibration_``; 0 when it has none) and at γ = 0: per-class seen and unseen accuracy S and
  U, their harmonic mean H, and the area under the seen–unseen curve (AUSUC).

:func:`cross_validate` runs every fold into a :class:`~zsac.reproduce.ResultsFolder` (one
record per fold, a rerun skips finished folds), and writes the report with the reproduction's
own code (:func:`~zsac.reproduce.report.write_report`) and this module's tables
(:func:`evaluation_markdown`). Precomputed clip embeddings (a 2-D array) go through the same
code without any VGGish.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from tqdm.auto import tqdm

from .._atomic import atomic_path, check_replaceable
from ..classifier import ZeroShotClassifier
from ..errors import ConfigError, DataError
from ..evaluation import (
    calibrated_stacking,
    mean_average_precision,
    per_class_top1_accuracy,
    random_guess_expectation,
    top1_accuracy,
    true_class_ranks,
)
from ..inputs import input_kind
from ..protocols import SEEN_HOLDOUT_FRACTION, random_class_folds, seen_class_holdout
from ..semantic.side_info import ClassInfo
from ..semantic.tables import ClassTable
from .records import FoldRecord, summary_frame
from .report import write_report
from .results import ResultsFolder
from .tables import markdown_table
from .zero_shot import FoldOutcome, gzsl_record

__all__ = [
    "ClassifierFold",
    "EvaluationResult",
    "evaluate_fold",
    "cross_validate",
    "check_folds",
    "per_class_frame",
    "evaluation_markdown",
    "DEFAULT_FOLDS",
    "TASKS",
]

logger = logging.getLogger(__name__)

#: ``zsac evaluate --folds``: class folds by default.
DEFAULT_FOLDS = 5
#: The ``task`` of a prediction row: ranked among the fold's classes, or among all classes.
TASKS = ("zero-shot", "generalised")
#: The records' ``dataset``: a user's own (folder or ESC-50) dataset.
DATASET = "own"
#: Parameters that say how a run goes, not what it measures: kept out of the folder's configuration.
_RUN_PARAMS = ("progress", "checkpoint_dir", "feature_cache", "device")
#: What ``zsac evaluate`` writes into its results folder (anything else there is refused).
_OWN_ENTRIES = frozenset(
    {"config.json", "runs.jsonl", "folds", "acoustic", "results.json", "results.csv", "summary.csv", "tables.md",
     "plots", "predictions.csv", "per_class.csv"}
)  # fmt: skip


@dataclasses.dataclass
class ClassifierFold:
    """What :func:`evaluate_fold` returns.

    Attributes
    ----------
    outcome : FoldOutcome
        The zero-shot metrics and predictions (one row per readable clip of the fold's classes),
        and the generalised ones (``gzsl``, ``gzsl_curve``; None without held-out seen clips).
        ``lam`` and ``validation_top1`` are the classifier's λ and its class-split scores.
    generalised : pandas.DataFrame
        One row per clip ranked among all classes: ``clip``, ``true``, ``predicted`` (at the
        classifier's γ), ``predicted_uncalibrated`` (γ = 0), ``true_rank``, ``correct`` and
        ``seen`` (whether its class was a training class); empty without held-out seen clips.
    classifier : ZeroShotClassifier
        The classifier fitted for the fold.
    skipped : dict of str to str
        Clips that could not be read, with the reason.
    """

    outcome: FoldOutcome
    generalised: pd.DataFrame
    classifier: ZeroShotClassifier
    skipped: dict[str, str]

    def predictions(self) -> pd.DataFrame:
        """Both tasks' rows in one frame, with a ``task`` column (:data:`TASKS`) and ``seen``."""
        zero_shot = self.outcome.predictions.assign(seen=False)
        frames = [zero_shot.assign(task=TASKS[0])]
        if not self.generalised.empty:
            frames.append(self.generalised.assign(task=TASKS[1]))
        frame = pd.concat(frames, ignore_index=True)
        return frame[["task", *(column for column in frame.columns if column != "task")]]


def _class_infos(names: Sequence[str], class_texts: Any) -> dict[str, ClassInfo]:
    """Every class's texts by name: those given (a mapping of name to description, or ClassInfo), else the name."""
    given: dict[str, ClassInfo] = {}
    if isinstance(class_texts, Mapping):
        given = {str(k): v if isinstance(v, ClassInfo) else ClassInfo(name=str(k), description=v)
                 for k, v in class_texts.items()}  # fmt: skip
    elif class_texts is not None:
        given = {info.name: info for info in class_texts}
    return {name: given.get(name, ClassInfo(name=name)) for name in names}


def evaluate_fold(
    classifier: ZeroShotClassifier,
    X: Any,
    labels: Sequence[str],
    *,
    test_classes: Sequence[str],
    class_texts: Any = None,
    held_out: np.ndarray | None = None,
    clip_ids: Sequence[str] | None = None,
) -> ClassifierFold:
    """Fit a copy of ``classifier`` without ``test_classes`` and test it on them, zero-shot and generalised.

    Parameters
    ----------
    classifier : ZeroShotClassifier
        The settings; it is cloned (:func:`sklearn.base.clone`), never fitted itself.
    X : sequence of paths, or np.ndarray [shape=(n_clips, dim)]
        Every clip of the dataset: audio files (then VGGish is trained on the fit's clips, and
        embeds the tested ones) or precomputed clip embeddings.
    labels : sequence of str [shape=(n_clips,)]
        Each clip's class.
    test_classes : sequence of str
        The fold's classes: no clip of theirs reaches the fit.
    class_texts : mapping of name to description, sequence of ClassInfo, or None
        Descriptions of the classes (any class without one is embedded from its name).
    held_out : np.ndarray [shape=(n_clips,), dtype=bool], optional
        Clips of the other classes kept out of the fit and tested in the generalised setting.
    clip_ids : sequence of str, optional
        Names of the clips in the predictions (default: their positions).

    Returns
    -------
    ClassifierFold

    Raises
    ------
    DataError
        When a test class has no clip, the fit has fewer than 2 classes, or no clip of the fold can be read.
    """
    started = time.perf_counter()
    kind, X = input_kind(X, None)
    labels = np.asarray([str(label) for label in labels], dtype=object)
    n_clips = len(X)
    if labels.shape[0] != n_clips:
        raise DataError(f"X has {n_clips} clips but labels has {labels.shape[0]}")
    test_names = sorted({str(name) for name in test_classes})
    absent = [name for name in test_names if name not in set(labels.tolist())]
    if absent:
        raise DataError(f"the test classes {absent} have no clips")
    held = np.zeros(n_clips, dtype=bool) if held_out is None else np.array(held_out, dtype=bool)  # a copy
    if held.shape != (n_clips,):
        raise DataError(f"held_out has shape {held.shape}, expected ({n_clips},) like the clips")
    ids = [str(i) for i in range(n_clips)] if clip_ids is None else [str(c) for c in clip_ids]
    is_test = np.isin(labels, test_names)
    held &= ~is_test

    def rows(index: np.ndarray) -> Any:
        return X[index] if kind == "embeddings" else [X[i] for i in index]

    fit_rows = np.flatnonzero(~is_test & ~held)
    fit_names = sorted(set(labels[fit_rows].tolist()))
    infos = _class_infos(sorted(set(labels.tolist())), class_texts)
    clf = clone(classifier)
    clf.fit(rows(fit_rows), labels[fit_rows].tolist(), [infos[name] for name in fit_names], skip_errors=True)
    skipped = dict(clf.fit_failures_)
    seen_names = [str(name) for name in clf.classes_]

    # Embed the tested clips once with the fold's acoustic model; both tasks rank these embeddings.
    tested = np.flatnonzero(is_test | (held & np.isin(labels, seen_names)))
    if kind == "embeddings":
        embeddings, kept = np.asarray(X)[tested], tested
    else:
        batch = clf.embed_segments(rows(tested), skip_errors=True)
        skipped.update(batch.failures)
        embeddings, kept = batch.clip_embeddings(), tested[batch.index]
    zero_shot = is_test[kept]
    if not zero_shot.any():
        raise DataError(f"no clip of the test classes {test_names} could be read")

    unseen_table = clf.class_table([infos[name] for name in test_names])
    scores = clf.decision_function(embeddings[zero_shot], classes=unseen_table)
    truth = np.searchsorted(test_names, labels[kept][zero_shot])
    predicted = scores.argmax(axis=1)
    predictions = pd.DataFrame(
        {
            "clip": [ids[i] for i in kept[zero_shot]],
            "true": [test_names[k] for k in truth],
            "predicted": [test_names[k] for k in predicted],
            "true_rank": true_class_ranks(scores, truth),
            "correct": predicted == truth,
        }
    )
    gzsl = curve = None
    generalised = pd.DataFrame()
    if (~zero_shot).any():
        gzsl, curve, generalised = _generalised(clf, embeddings, labels[kept], [ids[i] for i in kept], unseen_table)
    outcome = FoldOutcome(
        lam=float(clf.lambda_),
        validation_top1={float(k): float(v) for k, v in clf.lambda_scores_.items()},
        top1=top1_accuracy(scores, truth),
        map=mean_average_precision(scores, truth),
        n_classes=len(test_names),
        n_clips=int(zero_shot.sum()),
        predictions=predictions,
        seconds=time.perf_counter() - started,
        top1_per_class=per_class_top1_accuracy(scores, truth),
        gzsl=gzsl,
        gzsl_curve=curve,
    )
    return ClassifierFold(outcome=outcome, generalised=generalised, classifier=clf, skipped=skipped)


def _generalised(
    clf: ZeroShotClassifier, embeddings: np.ndarray, labels: np.ndarray, ids: list[str], unseen_table: ClassTable
) -> tuple[dict[str, float], list[float], pd.DataFrame]:
    """S, U, H at the classifier's γ and at γ = 0, AUSUC, the sampled curve and the per-clip rows."""
    seen_table = clf.class_table(None)  # the training classes as fitted, with their descriptions
    names = [*seen_table.names, *unseen_table.names]
    table = ClassTable(
        np.concatenate([seen_table.embeddings, unseen_table.embeddings]), names=tuple(names), spec=seen_table.spec
    )
    mask = np.arange(len(names)) < len(seen_table.names)
    # decision_function gives the raw compatibilities; calibrated stacking is applied here, with the fitted γ.
    scores = clf.decision_function(embeddings, classes=table)
    truth = np.array([names.index(label) for label in labels], dtype=np.int64)
    gamma = float(getattr(clf, "calibration_", 0.0) or 0.0)
    gzsl, curve = gzsl_record(scores, truth, mask, gamma=gamma)
    stacked = calibrated_stacking(scores, mask, gamma)
    predicted, uncalibrated = stacked.argmax(axis=1), scores.argmax(axis=1)
    rows = pd.DataFrame(
        {
            "clip": ids,
            "true": [names[k] for k in truth],
            "predicted": [names[k] for k in predicted],
            "predicted_uncalibrated": [names[k] for k in uncalibrated],
            "true_rank": true_class_ranks(stacked, truth),
            "correct": predicted == truth,
            "seen": mask[truth],
        }
    )
    return gzsl, curve, rows


# --------------------------------------------------------------------------------------------------------------------
# The whole cross-validation, into a results folder
# --------------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class EvaluationResult:
    """What :func:`cross_validate` returns.

    Attributes
    ----------
    out : Path
        The results folder.
    records : list of dict
        Every finished fold's record (``results.json``).
    summary : dict
        Mean and std over the folds of each metric (a row of ``summary.csv``), with ``n_folds``.
    files : dict of str to Path
        Report files written.
    ran, skipped : int
        Folds computed now, and folds found finished from an earlier run.
    skipped_clips : dict of str to str
        Clips that could not be read in the folds computed now.
    """

    out: Path
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    files: dict[str, Path]
    ran: int
    skipped: int
    skipped_clips: dict[str, str]


def check_folds(n_folds: Any, n_classes: int) -> int:
    """``n_folds`` checked against the number of classes: each fold holds a class, and each fit 2 or more.

    Raises
    ------
    ConfigError
        When ``n_folds`` is not an int ≥ 2, or the classes are too few for it.
    """
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise ConfigError(f"--folds must be a whole number of class folds, at least 2; got {n_folds!r}")
    # The largest fold holds ceil(n / K) classes, and the fit without it needs 2 or more: with 2 folds
    # that takes 4 classes, with K >= 3 folds K classes.
    need = 4 if n_folds == 2 else int(n_folds)
    if n_classes < need:
        raise ConfigError(
            f"--folds {n_folds} needs at least {need} classes (one or more per fold, and 2 or more to train on "
            f"without each fold); the data has {n_classes}"
        )
    return int(n_folds)


def _jsonable_params(classifier: ZeroShotClassifier) -> dict[str, Any]:
    params = {key: value for key, value in classifier.get_params().items() if key not in _RUN_PARAMS}
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = {str(k): os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in value.items()}
        elif value is not None and not isinstance(value, str | int | float | bool | list):
            value = type(value).__name__  # e.g. a VGGish object given as acoustic_model
        out[key] = value
    return out


def _data_digest(kind: str, X: Any, labels: Sequence[str], clip_ids: Sequence[str]) -> str:
    """A digest of the clips (names, labels, and for embeddings their values), so that other data is not mixed in."""
    digest = hashlib.sha256(json.dumps([list(map(str, clip_ids)), list(map(str, labels))]).encode())
    if kind == "embeddings":
        digest.update(np.ascontiguousarray(np.asarray(X, dtype=np.float32)).tobytes())
    return digest.hexdigest()[:16]


def check_results_target(out: str | os.PathLike[str]) -> None:
    """Refuse a results folder that is a file, or a folder holding what ``zsac evaluate`` does not write.

    Raises
    ------
    DataError
    """
    check_replaceable(
        Path(out), lambda name: name in _OWN_ENTRIES or (name.startswith(".") and name.endswith(".tmp")),
        what="results folder",
    )  # fmt: skip


def cross_validate(
    classifier: ZeroShotClassifier,
    X: Any,
    labels: Sequence[str],
    *,
    out: str | os.PathLike[str],
    n_folds: int = DEFAULT_FOLDS,
    holdout: float = SEEN_HOLDOUT_FRACTION,
    class_texts: Any = None,
    clip_ids: Sequence[str] | None = None,
    data: str | None = None,
    notes: Sequence[str] = (),
    progress: bool = True,
) -> EvaluationResult:
    """Class-split cross-validation of ``classifier`` into the results folder ``out``; see the module docstring.

    Parameters
    ----------
    classifier : ZeroShotClassifier
        The settings to measure (cloned for each fold); its ``seed`` also seeds the class folds
        and the held-out clips.
    X : sequence of paths, or np.ndarray [shape=(n_clips, dim)]
        Every clip: audio files, or precomputed clip embeddings.
    labels : sequence of str [shape=(n_clips,)]
    out : path
        The results folder: new, empty, or one that this configuration started (its finished
        folds are skipped). Its layout is :class:`~zsac.reproduce.ResultsFolder`'s, plus
        ``predictions.csv`` (every fold's clips, both tasks) and ``per_class.csv``.
    n_folds : int
        Class folds, at least 2 (:func:`check_folds`).
    holdout : float
        Share of each seen class's clips held out of the fit for the generalised test, in [0, 1);
        0 turns that test off.
    class_texts : mapping of name to description, sequence of ClassInfo, or None
    clip_ids : sequence of str, optional
        Names of the clips in the predictions (default: their positions).
    data : str, optional
        Where the clips came from, for the configuration and the tables.
    notes : sequence of str
        Remarks listed at the top of ``tables.md``.
    progress : bool
        A bar over the folds (the classifier draws its own, when its ``progress`` is on).

    Returns
    -------
    EvaluationResult

    Raises
    ------
    ConfigError
        Bad ``n_folds`` or ``holdout``, or a folder that holds results of another configuration.
    DataError
        A folder holding other files, or clips and labels that do not match.
    """
    classifier._check_params()
    kind, X = input_kind(X, None)
    labels = [str(label) for label in labels]
    if len(labels) != len(X):
        raise DataError(f"X has {len(X)} clips but labels has {len(labels)}")
    names = sorted(set(labels))
    n_folds = check_folds(n_folds, len(names))
    if isinstance(holdout, bool) or not isinstance(holdout, int | float) or not 0 <= holdout < 1:
        raise ConfigError(f"--seen-holdout must be a number in [0, 1), got {holdout!r}")
    ids = [str(i) for i in range(len(X))] if clip_ids is None else [str(c) for c in clip_ids]
    seed = int(classifier.seed)
    infos = _class_infos(names, class_texts)
    acoustic = "embeddings" if kind == "embeddings" else "vggish"
    setting = f"{n_folds}_class_folds"
    config = {
        "command": "evaluate",
        "data": data,
        "data_digest": _data_digest(kind, X, labels, ids),
        "classes": names,
        "class_texts": {name: dataclasses.asdict(info) for name, info in infos.items()},
        "folds": n_folds,
        "seed": seed,
        "seen_holdout": float(holdout),
        "acoustic": acoustic,
        "classifier": _jsonable_params(classifier),
        "device": classifier.device,
    }
    check_results_target(out)
    folder = ResultsFolder(out, config)
    folds = random_class_folds(names, n_folds=n_folds, seed=seed)
    notes = [*notes, *(
        f"{fold_name} holds one class ({test[0]}): its zero-shot Top-1 and mAP are 1 by construction (so is chance)."
        for fold_name, test in folds.items() if len(test) == 1
    )]  # fmt: skip
    spec = str(classifier.semantic)
    ran = skipped = 0
    skipped_clips: dict[str, str] = {}
    for fold_name, test in tqdm(folds.items(), desc="folds", unit="fold", disable=not progress):
        if folder.finished(spec, seed, fold_name) is not None:
            skipped += 1
            continue
        if len(test) == 1:
            logger.warning("%s holds one class (%s): its zero-shot Top-1 and mAP are 1 by construction; "
                           "fewer --folds give every fold 2 classes or more", fold_name, test[0])  # fmt: skip
        held = seen_class_holdout(labels, [c for c in names if c not in test], fraction=holdout, seed=seed)
        work = folder.path / "acoustic" / fold_name
        fold_classifier = clone(classifier)
        if kind != "embeddings":
            fold_classifier.set_params(checkpoint_dir=work)  # an interrupted fold resumes its VGGish
        fold = evaluate_fold(fold_classifier, X, labels, test_classes=test, class_texts=infos, held_out=held,
                             clip_ids=ids)  # fmt: skip
        outcome, fitted = fold.outcome, fold.classifier
        history = getattr(fitted, "acoustic_history_", [])
        record = FoldRecord.from_mapping(
            {
                "dataset": DATASET,
                "setting": setting,
                "acoustic": acoustic,
                "spec": spec,
                "test_fold": fold_name,
                "seed": seed,
                **outcome.record_fields(),
                "n_train_classes": len(fitted.classes_),
                "test_classes": list(test),
                "vggish_val_accuracy": max((h["val_accuracy"] for h in history), default=None),
                "skipped_clips": len(fold.skipped),
            }
        )
        folder.save_fold(record, fold.predictions())
        shutil.rmtree(work, ignore_errors=True)  # the fold is finished: its VGGish checkpoints are not needed
        skipped_clips.update(fold.skipped)
        logger.info(
            "%s (%s): Top-1 %.3f, mAP %.3f%s", fold_name, ", ".join(test), outcome.top1, outcome.map,
            f", H {outcome.gzsl['h']:.3f}" if outcome.gzsl else "",
        )  # fmt: skip
        ran += 1
    with contextlib.suppress(OSError):
        (folder.path / "acoustic").rmdir()  # only when empty: every fold finished
    records = folder.write_results()
    predictions = folder.predictions()
    files = _write_tables(folder.path, records, predictions, data=data, n_folds=n_folds, holdout=holdout,
                          notes=notes, acoustic=acoustic)  # fmt: skip
    folder.log_run(ran=ran, skipped=skipped, notes=notes)
    summary = summary_frame(records).to_dict("records")[0]
    return EvaluationResult(out=folder.path, records=records, summary=summary, files=files, ran=ran,
                            skipped=skipped, skipped_clips=skipped_clips)  # fmt: skip


# --------------------------------------------------------------------------------------------------------------------
# Tables: per fold, mean ± std, per class
# --------------------------------------------------------------------------------------------------------------------


def _flag(column: pd.Series) -> np.ndarray:
    """A column of booleans, also as read back from CSV ("True"/"False")."""
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=bool)
    return column.astype(str).str.lower().isin(["true", "1"]).to_numpy()


def per_class_frame(predictions: pd.DataFrame) -> pd.DataFrame:
    """Each class's accuracy: zero-shot in its test fold, and generalised as an unseen and as a seen class.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Rows of both :data:`TASKS` (``task``, ``test_fold``, ``true``, ``correct``, ``seen``), as
        :meth:`ClassifierFold.predictions` writes them, of every fold.

    Returns
    -------
    pandas.DataFrame
        One row per class, by name: ``class``, ``test_fold``, ``clips`` (its clips tested
        zero-shot), ``zero_shot_top1``, ``generalised_unseen_top1`` (the same clips among all
        classes, at the classifier's γ), ``held_out_clips`` and ``generalised_seen_top1`` (its
        held-out clips in the folds where it was a training class, pooled); NaN where not tested.
    """
    correct = _flag(predictions["correct"])
    seen = _flag(predictions["seen"]) if "seen" in predictions.columns else np.zeros(len(predictions), dtype=bool)
    task = predictions["task"].to_numpy() if "task" in predictions.columns else np.full(len(predictions), TASKS[0])
    true = predictions["true"].astype(str).to_numpy()
    folds = predictions["test_fold"].astype(str).to_numpy()
    rows = []
    for name in sorted(set(true.tolist())):
        of_class = true == name
        zero_shot = of_class & (task == TASKS[0])
        unseen = of_class & (task == TASKS[1]) & ~seen
        as_seen = of_class & (task == TASKS[1]) & seen
        rows.append(
            {
                "class": name,
                "test_fold": ", ".join(sorted(set(folds[zero_shot].tolist()))),
                "clips": int(zero_shot.sum()),
                "zero_shot_top1": float(correct[zero_shot].mean()) if zero_shot.any() else np.nan,
                "generalised_unseen_top1": float(correct[unseen].mean()) if unseen.any() else np.nan,
                "held_out_clips": int(as_seen.sum()),
                "generalised_seen_top1": float(correct[as_seen].mean()) if as_seen.any() else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _mean_std(summary: Mapping[str, Any], metric: str) -> str:
    mean, std = summary.get(f"{metric}_mean"), summary.get(f"{metric}_std")
    if mean is None or (isinstance(mean, float) and np.isnan(mean)):
        return "–"
    return f"{mean:.3f} ± {std:.3f}"


#: The per-fold table's metric columns: heading, and the record's (flat) column.
_FOLD_COLUMNS = (
    ("Top-1", "top1"), ("mAP", "map"), ("S", "gzsl.seen"), ("U", "gzsl.unseen"), ("H", "gzsl.h"),
    ("H at γ=0", "gzsl.h_uncalibrated"), ("AUSUC", "gzsl.ausuc"),
)  # fmt: skip


def evaluation_markdown(
    frame: pd.DataFrame,
    predictions: pd.DataFrame | None,
    notes: Sequence[str],
    *,
    per_class: pd.DataFrame,
    data: str | None,
    n_folds: int,
    holdout: float,
) -> str:
    """``tables.md`` of ``zsac evaluate``: what was measured, per fold with the mean ± std, and per class.

    The signature up to ``notes`` is :func:`~zsac.reproduce.report.write_report`'s ``tables``;
    the rest is bound with :func:`functools.partial`.
    """
    frame = frame.sort_values("test_fold", key=lambda folds: folds.map(lambda f: (len(f), f)), kind="stable")
    summary = summary_frame(frame).to_dict("records")[0]
    has_gzsl = "gzsl.h" in frame.columns and frame["gzsl.h"].notna().any()
    chance_top1 = float(np.mean([random_guess_expectation(int(n)).top1 for n in frame["n_classes"]]))
    chance_map = float(np.mean([random_guess_expectation(int(n)).map for n in frame["n_classes"]]))
    lines = [f"# Zero-shot accuracy{f' on {data}' if data else ''}: `zsac evaluate`", ""]
    lines += [
        f"The classes were dealt into {n_folds} random class folds (seed {int(frame['seed'].iloc[0])}). For each "
        "fold, a classifier with the settings in `config.json` was trained as `zsac train` trains one, on the clips "
        f"of the other classes less a random {holdout:.0%} of each class's clips, then tested:",
        "",
        "- **Zero-shot** (Top-1, mAP): the fold's clips, classified among the fold's classes only.",
    ]
    if has_gzsl:
        lines.append(
            "- **Generalised** (S, U, H): the held-out clips of the training classes (S) and the fold's clips (U), "
            "classified among all classes; accuracy per class within each group, H their harmonic mean, at the "
            "classifier's calibration γ (and at γ = 0); AUSUC is the area under the seen–unseen curve over all γ."
        )
    lines += [
        "",
        f"Chance level (random guess among a fold's classes, averaged over folds): Top-1 {chance_top1:.3f}, "
        f"mAP {chance_map:.3f}.",
        "",
    ]
    if notes:
        lines += ["## Notes", "", *(f"- {note}" for note in notes), ""]
    lines += [f"## Per fold, and mean ± std over the {len(frame)} folds (population std)", ""]
    rows = []
    for record in frame.to_dict("records"):
        classes = record.get("test_classes")
        row: dict[str, Any] = {
            "Fold": record["test_fold"],
            "Test classes": ", ".join(classes) if isinstance(classes, list) else record["n_classes"],
            "Clips": int(record["n_clips"]),
        }
        for heading, column in _FOLD_COLUMNS[: None if has_gzsl else 2]:
            value = record.get(column)
            row[heading] = "–" if value is None or value != value else f"{value:.3f}"
        if has_gzsl:
            gamma = record.get("gzsl.gamma")
            row["γ"] = "–" if gamma is None or gamma != gamma else f"{gamma:g}"
        row["λ"] = f"{record['lambda']:g}"
        rows.append(row)
    mean_row: dict[str, Any] = {
        "Fold": f"**mean ± std ({len(frame)} folds)**",
        "Test classes": "",
        "Clips": int(frame["n_clips"].sum()),
    }
    for heading, column in _FOLD_COLUMNS[: None if has_gzsl else 2]:
        mean_row[heading] = _mean_std(summary, column)
    if has_gzsl:
        mean_row["γ"] = ""
    mean_row["λ"] = ""
    lines += [markdown_table([*rows, mean_row]), ""]
    lines += ["## Per class", ""]
    lines += [
        "Zero-shot: the class's clips in its test fold, among that fold's classes. Generalised as unseen: the same "
        "clips among all classes. Generalised as seen: its held-out clips in the folds that trained on it, among "
        "all classes.",
        "",
    ]
    table = per_class.rename(
        columns={
            "class": "Class", "test_fold": "Test fold", "clips": "Clips", "zero_shot_top1": "Zero-shot Top-1",
            "generalised_unseen_top1": "Generalised, as unseen", "held_out_clips": "Held-out clips",
            "generalised_seen_top1": "Generalised, as seen",
        }
    )  # fmt: skip
    if not has_gzsl:
        table = table[["Class", "Test fold", "Clips", "Zero-shot Top-1"]]
    lines += [markdown_table(table), ""]
    return "\n".join(lines)


def _write_tables(
    path: Path,
    records: list[dict[str, Any]],
    predictions: pd.DataFrame,
    *,
    data: str | None,
    n_folds: int,
    holdout: float,
    notes: Sequence[str],
    acoustic: str,
) -> dict[str, Path]:
    """``predictions.csv``, ``per_class.csv`` and the report of :func:`~zsac.reproduce.report.write_report`."""
    written: dict[str, Path] = {}
    columns = ["test_fold", "task", "clip", "true", "predicted", "predicted_uncalibrated", "true_rank", "correct",
               "seen"]  # fmt: skip
    with atomic_path(path / "predictions.csv") as tmp:
        predictions[[c for c in columns if c in predictions.columns]].to_csv(tmp, index=False)
    written["predictions.csv"] = path / "predictions.csv"
    per_class = per_class_frame(predictions)
    with atomic_path(path / "per_class.csv") as tmp:
        per_class.to_csv(tmp, index=False)
    written["per_class.csv"] = path / "per_class.csv"
    zero_shot = predictions[predictions["task"] == TASKS[0]] if "task" in predictions.columns else predictions
    how = "VGGish trained per fold" if acoustic == "vggish" else "given clip embeddings"
    name = Path(data).name if data else "the data"
    tables = functools.partial(evaluation_markdown, per_class=per_class, data=data, n_folds=n_folds, holdout=holdout)
    written |= write_report(
        path, records, zero_shot, notes=notes, tables=tables, title=f"{name}: {n_folds} class folds, {how}",
        per_fold=True,
    )  # fmt: skip
    return written
