"""Tables and plots of a reproduction run, with the paper's numbers beside zsac's.

A run yields *records*, one mapping per (dataset, setting, acoustic embeddings, semantic
spec, test fold, seed) with at least the keys of :data:`REQUIRED_KEYS`, and optionally
per-clip *predictions*, a :class:`pandas.DataFrame` with the columns of
:data:`PREDICTION_COLUMNS`. This module turns them into

* flat frames (:func:`records_frame`, :func:`summary_frame`);
* Markdown tables in the layout of the paper's Tables VI-VIII (:func:`esc50_markdown`) and
  IX-XI (:func:`audioset_markdown`), the published values (:mod:`zsac.reproduce.paper`)
  beside zsac's;
* bar charts per test fold (:func:`plot_per_fold`) and confusion matrices
  (:func:`plot_confusion`);
* all of these as files in one directory (:func:`write_report`).

Plots are drawn on :class:`matplotlib.figure.Figure` objects and saved with
``Figure.savefig``, which needs neither pyplot nor a GUI backend, so this module never
changes matplotlib's global backend.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_path
from ..errors import DataError
from ..evaluation import McNemarResult, mcnemar_counts, mcnemar_test, random_guess_expectation
from ..semantic.specs import SEMANTIC_PARTS, parse_spec
from . import paper
from .paper import Contingency, PaperScore
from .results import safe_name

__all__ = [
    "REQUIRED_KEYS",
    "PREDICTION_COLUMNS",
    "records_frame",
    "summary_frame",
    "spec_type",
    "contingency",
    "esc50_markdown",
    "audioset_markdown",
    "plot_per_fold",
    "plot_confusion",
    "write_report",
]

logger = logging.getLogger(__name__)

#: Keys every record must have.
REQUIRED_KEYS: tuple[str, ...] = (
    "dataset",
    "setting",
    "spec",
    "test_fold",
    "seed",
    "top1",
    "map",
    "n_classes",
    "n_clips",
    "lambda",
    "acoustic",
)
#: Columns a predictions frame must have (one row per test clip of one run).
PREDICTION_COLUMNS: tuple[str, ...] = (
    "dataset",
    "setting",
    "spec",
    "seed",
    "test_fold",
    "clip",
    "true",
    "predicted",
    "correct",
)

_STRING_KEYS = ("dataset", "setting", "spec", "test_fold", "acoustic")
_INT_KEYS = ("seed", "n_classes", "n_clips")
_FLOAT_KEYS = ("top1", "map", "lambda")
_GROUP_KEYS = ["dataset", "setting", "acoustic", "spec"]
_RUN_KEYS = ["dataset", "setting", "acoustic", "spec", "test_fold", "seed"]
_PAIR_KEYS = ["seed", "test_fold", "clip"]
_METRICS = ("top1", "map")
_PAPER_ORDER = ("map", "top1")  # the paper's tables print mAP first
_METRIC_NAMES = {"top1": "Top-1", "map": "mAP"}
_TYPES = ("label", "sentence", "hybrid")
_SETTING_ORDER = {
    "esc50": ("category", "random", "esc10", "partial"),
    "audioset": ("table4", "setting1", "setting2", "train3"),
}
#: ESC-50 settings on a partial copy: a seeded random partition of the classes present.
_ESC50_PARTIAL_SETTINGS = ("esc10", "partial")
#: zsac's AudioSet settings -> the paper's data setting (Table IV) they are compared with.
_AUDIOSET_PAPER_SETTING = {"table4": 1, "setting1": 1, "setting2": 2, "train3": 1}
_DATASET_NAMES = {"esc50": "ESC-50", "audioset": "AudioSet"}
_DASH = "–"
_NUMBER = re.compile(r"^[-+]?\.?\d")

_ESC10_CAVEAT = (
    "Setting `{setting}` is a seeded random partition of the classes present in a partial copy of ESC-50, "
    "and therefore not comparable with the paper's numbers (Tables VI-VIII); compare it with the chance level."
)
_RELEASED_NOTE = (
    "Acoustic embeddings `released`: the released VGGish, pre-trained on AudioSet, may have heard the test "
    "classes; the paper trains VGGish from scratch on the training classes only, so its values are a loose reference."
)
_TRAIN3_NOTE = (
    "zsac's `train3` trains the compatibility model on the three class folds other than validation and test; "
    "the paper's Setting 1 (Table IV) trains it on Fold2 alone, so the paper's values are a loose reference."
)


# --------------------------------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------------------------------


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def _coerce(value: Any, kind: type, *, key: str, index: int) -> Any:
    try:
        if kind is int:
            if isinstance(value, bool | np.bool_):
                raise TypeError
            if isinstance(value, float | np.floating):
                if not float(value).is_integer():
                    raise ValueError
            return int(value)
        if kind is float:
            if isinstance(value, bool | np.bool_):
                raise TypeError
            return float(value)
        if value is None:
            raise TypeError
        return str(value)
    except (TypeError, ValueError):
        raise DataError(f"record {index}: {key}={value!r} is not a valid {kind.__name__}") from None


def records_frame(records: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Validated records as a flat frame, one row per (spec, test fold, seed) run.

    Parameters
    ----------
    records : iterable of mapping, or pandas.DataFrame
        Records with at least the keys of :data:`REQUIRED_KEYS`. Nested mappings are
        flattened into dotted columns (``{"params": {"lr": 1}}`` -> ``params.lr``).

    Returns
    -------
    pandas.DataFrame
        The required columns first (strings, ints and floats as documented in the
        record format), then any others in order of first appearance.

    Raises
    ------
    DataError
        When there are no records, a record is not a mapping, lacks a required key
        (the message names the key and the record's index) or has a value of the wrong
        type, or two records describe the same run.
    """
    rows = records.to_dict("records") if isinstance(records, pd.DataFrame) else list(records)
    if not rows:
        raise DataError("no records to report")
    flat_rows = []
    for index, record in enumerate(rows):
        if not isinstance(record, Mapping):
            raise DataError(f"record {index} is a {type(record).__name__}, not a mapping")
        for key in REQUIRED_KEYS:
            if key not in record:
                raise DataError(f"record {index} lacks the required key {key!r}")
        flat = _flatten(record)
        for keys, kind in ((_STRING_KEYS, str), (_INT_KEYS, int), (_FLOAT_KEYS, float)):
            for key in keys:
                flat[key] = _coerce(flat[key], kind, key=key, index=index)
        flat_rows.append(flat)
    frame = pd.DataFrame(flat_rows)
    extra = [column for column in frame.columns if column not in REQUIRED_KEYS]
    frame = frame[list(REQUIRED_KEYS) + extra]
    duplicated = frame.duplicated(_RUN_KEYS, keep=False)
    if duplicated.any():
        indices = [int(i) for i in np.flatnonzero(duplicated.to_numpy())]
        raise DataError(f"records {indices} describe the same run ({', '.join(_RUN_KEYS)}); each run must appear once")
    return frame.reset_index(drop=True)


def summary_frame(records: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of Top-1 and mAP per (dataset, setting, acoustic, spec).

    The statistics are over all (seed, test fold) runs of a group. The standard deviation
    is the population one (``ddof=0``), i.e. the spread of the runs themselves, not an
    estimate of a larger population's. For a balanced design (every seed run on every
    fold) the mean equals the mean over seeds of the per-seed fold averages, which is
    therefore not reported separately.

    Parameters
    ----------
    records : iterable of mapping, or pandas.DataFrame
        As for :func:`records_frame`.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset, setting, acoustic, spec, top1_mean, top1_std, map_mean,
        map_std, n_runs, n_seeds, n_folds``; groups in order of first appearance within
        each (dataset, setting, acoustic).
    """
    frame = records_frame(records)
    rows = []
    for key, group in frame.groupby(_GROUP_KEYS, sort=False):
        row = dict(zip(_GROUP_KEYS, key, strict=True))
        for metric in _METRICS:
            values = group[metric].to_numpy(dtype=float)
            row[f"{metric}_mean"] = float(np.mean(values))
            row[f"{metric}_std"] = float(np.std(values, ddof=0))
        row["n_runs"] = len(group)
        row["n_seeds"] = int(group["seed"].nunique())
        row["n_folds"] = int(group["test_fold"].nunique())
        rows.append(row)
    summary = pd.DataFrame(rows)
    # Keep each (dataset, setting, acoustic) together, at the place of its first group.
    keys = list(summary[_GROUP_KEYS[:3]].itertuples(index=False, name=None))
    order: dict[tuple[str, ...], int] = {}
    for key in keys:
        order.setdefault(key, len(order))
    summary["_order"] = [order[key] for key in keys]
    return summary.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def spec_type(spec: str) -> str:
    """The type of a semantic spec as in Table V: ``"label"``, ``"sentence"`` or ``"hybrid"``.

    Parameters
    ----------
    spec : str
        A spec such as ``"WLE+GLE+BSE"`` (see :func:`zsac.semantic.parse_spec`).

    Returns
    -------
    str
        ``"label"`` if every part is a label embedding (WLE, GLE, SLE), ``"sentence"`` if
        every part is a sentence embedding (WSE, GSE, BSE, SSE), else ``"hybrid"``.
    """
    kinds = {SEMANTIC_PARTS[part].kind for part in parse_spec(spec)}
    if kinds == {"label"}:
        return "label"
    if kinds == {"sentence"}:
        return "sentence"
    return "hybrid"


def _predictions_frame(predictions: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(predictions, pd.DataFrame):
        raise DataError(f"predictions must be a pandas DataFrame, got {type(predictions).__name__}")
    for column in PREDICTION_COLUMNS:
        if column not in predictions.columns:
            raise DataError(f"the predictions lack the column {column!r}; expected {list(PREDICTION_COLUMNS)}")
    return predictions


# --------------------------------------------------------------------------------------------------------------------
# Ordering and formatting helpers
# --------------------------------------------------------------------------------------------------------------------


def _natural_key(text: str) -> list[Any]:
    return [int(piece) if piece.isdigit() else piece for piece in re.split(r"(\d+)", str(text))]


def _ordered(present: Iterable[str], known: Sequence[str] = (), *, natural: bool = False) -> list[str]:
    """``present`` (deduplicated): those in ``known`` in its order, then the others."""
    present = list(dict.fromkeys(present))
    rest = [item for item in present if item not in known]
    if natural:
        rest = sorted(rest, key=_natural_key)
    return [item for item in known if item in present] + rest


def _known_folds(dataset: str, setting: str) -> tuple[str, ...]:
    if dataset == "esc50":
        return {"category": paper.ESC50_CATEGORY_FOLDS, "random": paper.ESC50_RANDOM_FOLDS}.get(setting, ())
    return ()


def _fold_order(dataset: str, setting: str, folds: Iterable[str]) -> list[str]:
    return _ordered(folds, _known_folds(dataset, setting), natural=True)


def _setting_groups(frame: pd.DataFrame, dataset: str) -> list[tuple[str, str]]:
    settings = _ordered(frame["setting"], _SETTING_ORDER.get(dataset, ()), natural=True)
    groups = []
    for setting in settings:
        acoustics = sorted(frame.loc[frame["setting"] == setting, "acoustic"].unique())
        groups.extend((setting, acoustic) for acoustic in acoustics)
    return groups


def _paper_score(dataset: str, setting: str, spec: str, fold: str | None = None) -> PaperScore | None:
    """The paper's value for a spec (on one fold, or averaged over folds when ``fold`` is None)."""
    if dataset == "esc50":
        if fold is None:
            return paper.TABLE_VIII.get((setting, spec))
        table = paper.esc50_fold_table(setting)
        return None if table is None else table.get((fold, spec))
    if dataset == "audioset" and setting in _AUDIOSET_PAPER_SETTING:
        if fold is not None and fold != paper.AUDIOSET_TEST_FOLD:
            return None
        return paper.TABLE_IX.get((spec, _AUDIOSET_PAPER_SETTING[setting]))
    return None


def _mean_std(values: Sequence[float] | np.ndarray) -> str:
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return _DASH
    if values.size == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=0):.3f}"


def _paper_cell(score: PaperScore | None, metric: str) -> str:
    return _DASH if score is None else f"{getattr(score, metric):.2f}"


def _values(series: pd.Series) -> str:
    return "/".join(str(value) for value in sorted(pd.unique(series)))


def _chance_line(n_classes: Iterable[int], dataset: str) -> str:
    levels = []
    for n in sorted({int(n) for n in n_classes}):
        chance = random_guess_expectation(n)
        levels.append(f"{n} test classes: mAP {chance.map:.3f} / Top-1 {chance.top1:.3f}")
    quoted = paper.RANDOM_GUESS.get(dataset)
    paper_text = f" (the paper quotes {quoted.map:.2f} / {quoted.top1:.2f})" if quoted else ""
    return f"Chance level (random guess) with {'; '.join(levels)}{paper_text}."


def _markdown_cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _DASH
    if isinstance(value, float | np.floating):
        return f"{value:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub pipe table of ``frame`` (index dropped), numeric columns right-aligned."""
    # DataFrame.to_markdown would do this, but pandas needs the optional `tabulate` package for it,
    # which is not installed (nor a dependency of zsac); a pipe table is simple enough to write here.
    header = [_markdown_cell(column) for column in frame.columns]
    cells = [[_markdown_cell(value) for value in row] for row in frame.itertuples(index=False, name=None)]
    rules = []
    for position in range(len(header)):
        column = [row[position] for row in cells if row[position] not in (_DASH, "")]
        numeric = pd.api.types.is_numeric_dtype(frame.iloc[:, position]) or (
            bool(column) and all(_NUMBER.match(cell) for cell in column)
        )
        rules.append("---:" if numeric else "---")
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rules) + " |"]
    lines.extend("| " + " | ".join(row) + " |" for row in cells)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------------
# ESC-50 (Tables VI-VIII)
# --------------------------------------------------------------------------------------------------------------------


def esc50_markdown(records: Iterable[Mapping[str, Any]] | pd.DataFrame) -> str:
    """Markdown tables of the ESC-50 records in the layout of Tables VI-VIII.

    For each (setting, acoustic embeddings) present: a table per test fold (as Tables
    VI/VII), with for each spec zsac's Top-1 and mAP (mean ± std over seeds, ``ddof=0``)
    and the paper's; then a table of averages over seeds × folds (as Table VIII). The
    paper's columns appear for the settings the paper has (``category``, ``random``) and
    read "–" for specs it does not have. Setting ``esc10`` is preceded by a line saying it
    is not comparable with the paper. Every section states the chance level.

    Parameters
    ----------
    records : iterable of mapping, or pandas.DataFrame
        As for :func:`records_frame`; records of other datasets are ignored.

    Returns
    -------
    str
        Markdown, starting with a ``## ESC-50`` heading.
    """
    frame = records_frame(records)
    frame = frame[frame["dataset"] == "esc50"]
    lines = ["## ESC-50", ""]
    if frame.empty:
        return "\n".join([*lines, "No ESC-50 records.", ""])
    summary = summary_frame(frame).set_index(["setting", "acoustic", "spec"])
    for setting, acoustic in _setting_groups(frame, "esc50"):
        group = frame[(frame["setting"] == setting) & (frame["acoustic"] == acoustic)]
        in_paper = paper.esc50_fold_table(setting) is not None
        specs = _ordered(group["spec"], paper.ESC50_SPECS)
        folds = _fold_order("esc50", setting, group["test_fold"])
        lines += [f"### Setting `{setting}`, acoustic embeddings `{acoustic}`", ""]
        if setting in _ESC50_PARTIAL_SETTINGS:
            lines += [_ESC10_CAVEAT.format(setting=setting), ""]
        elif not in_paper:
            lines += [f"Setting `{setting}` is not in the paper; no published values to compare with.", ""]
        if acoustic == "released" and in_paper:
            lines += [_RELEASED_NOTE, ""]
        lines += [_chance_line(group["n_classes"], "esc50"), ""]

        table_name = {"category": "Table VI", "random": "Table VII"}.get(setting)
        lines += [f"Per test fold{f' ({table_name})' if table_name else ''}; zsac: mean ± std over seeds.", ""]
        rows = []
        for fold in folds:
            at_fold = group[group["test_fold"] == fold]
            row: dict[str, Any] = {
                "Test fold": fold,
                "Classes": _values(at_fold["n_classes"]),
                "Clips": _values(at_fold["n_clips"]),
            }
            for spec in specs:
                runs = at_fold[at_fold["spec"] == spec]
                score = _paper_score("esc50", setting, spec, fold)
                for metric in _METRICS:
                    name = _METRIC_NAMES[metric]
                    row[f"{spec} {name} zsac"] = _mean_std(runs[metric])
                    if in_paper:
                        row[f"{spec} {name} paper"] = _paper_cell(score, metric)
            rows.append(row)
        lines += [_markdown_table(pd.DataFrame(rows)), ""]

        lines += [f"Averages{' (Table VIII)' if in_paper else ''}; zsac: mean ± std over seeds × folds.", ""]
        rows = []
        for spec in specs:
            stats = summary.loc[(setting, acoustic, spec)]
            score = _paper_score("esc50", setting, spec)
            row = {"Spec": spec}
            for metric in _METRICS:
                name = _METRIC_NAMES[metric]
                row[f"{name} zsac"] = f"{stats[f'{metric}_mean']:.3f} ± {stats[f'{metric}_std']:.3f}"
                if in_paper:
                    row[f"{name} paper"] = _paper_cell(score, metric)
            row["Seeds"] = int(stats["n_seeds"])
            row["Folds"] = int(stats["n_folds"])
            rows.append(row)
        lines += [_markdown_table(pd.DataFrame(rows)), ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------------
# AudioSet (Tables IX-XI)
# --------------------------------------------------------------------------------------------------------------------


def _audioset_specs(specs: Iterable[str]) -> list[tuple[str, str]]:
    """(type, spec) pairs grouped by type, Table IX's order first within each type."""
    ordered = _ordered(specs, paper.AUDIOSET_SPECS)
    return [(kind, spec) for kind in _TYPES for spec in ordered if spec_type(spec) == kind]


def _select_predictions(
    predictions: pd.DataFrame, *, dataset: str | None, setting: str | None, acoustic: str | None
) -> pd.DataFrame:
    mask = pd.Series(True, index=predictions.index)
    if dataset is not None:
        mask &= predictions["dataset"] == dataset
    if setting is not None:
        mask &= predictions["setting"] == setting
    if acoustic is not None and "acoustic" in predictions.columns:
        mask &= predictions["acoustic"] == acoustic
    return predictions[mask]


def contingency(
    predictions: pd.DataFrame,
    *,
    row_spec: str,
    column_spec: str,
    dataset: str | None = None,
    setting: str | None = None,
    acoustic: str | None = None,
) -> Contingency:
    """The 2x2 contingency table and McNemar's test of two specs' predictions (Table XI).

    Predictions are paired by (seed, test fold, clip); clips only one spec has are left
    out. The test is :func:`zsac.evaluation.mcnemar_test` (chi-square with continuity
    correction, as in the paper).

    Parameters
    ----------
    predictions : pandas.DataFrame
        Per-clip predictions with the columns of :data:`PREDICTION_COLUMNS`.
    row_spec, column_spec : str
        The specs of the rows and of the columns (the paper: GLE+BSE and WLE+GLE+BSE).
    dataset, setting, acoustic : str, optional
        Use only these predictions (``acoustic`` only if the frame has that column).

    Returns
    -------
    Contingency
        Cell counts, statistic and p-value.

    Raises
    ------
    DataError
        When columns are missing, a spec has a (seed, test fold, clip) twice, the two
        specs disagree on a clip's true class, or no clip is paired.
    """
    selected = _select_predictions(_predictions_frame(predictions), dataset=dataset, setting=setting, acoustic=acoustic)
    sides = []
    for spec in (row_spec, column_spec):
        rows = selected.loc[selected["spec"] == spec, [*_PAIR_KEYS, "true", "predicted"]]
        if rows.duplicated(_PAIR_KEYS).any():
            raise DataError(
                f"the predictions of {spec!r} have a (seed, test_fold, clip) more than once; "
                "select one dataset, setting and acoustic embeddings"
            )
        sides.append(rows.astype({"true": str, "predicted": str, "clip": str, "test_fold": str}))
    paired = sides[0].merge(sides[1], on=_PAIR_KEYS, suffixes=("_row", "_column"), how="inner")
    if paired.empty:
        raise DataError(f"no clip has predictions of both {row_spec!r} and {column_spec!r}")
    if (paired["true_row"] != paired["true_column"]).any():
        raise DataError(f"{row_spec!r} and {column_spec!r} disagree on the true class of some clips")
    unpaired = len(sides[0]) + len(sides[1]) - 2 * len(paired)
    if unpaired:
        logger.warning(
            "McNemar %s vs %s: %d predictions have no pair and are left out", row_spec, column_spec, unpaired
        )
    classes = pd.Index(sorted(set(paired["true_row"]) | set(paired["predicted_row"]) | set(paired["predicted_column"])))
    labels = classes.get_indexer(paired["true_row"])
    predicted_row = classes.get_indexer(paired["predicted_row"])
    predicted_column = classes.get_indexer(paired["predicted_column"])
    only_row, only_column = mcnemar_counts(predicted_row, predicted_column, labels)
    result: McNemarResult = mcnemar_test(predicted_row, predicted_column, labels)
    both_correct = int(np.count_nonzero((predicted_row == labels) & (predicted_column == labels)))
    return Contingency(
        row_spec=row_spec,
        column_spec=column_spec,
        both_correct=both_correct,
        row_correct_column_incorrect=only_row,
        row_incorrect_column_correct=only_column,
        both_incorrect=len(paired) - both_correct - only_row - only_column,
        statistic=result.statistic,
        p_value=result.p_value,
    )


def _contingency_markdown(table: Contingency) -> list[str]:
    frame = pd.DataFrame(
        {
            "Correct / incorrect predictions": [f"{table.row_spec} correct", f"{table.row_spec} incorrect"],
            f"{table.column_spec} correct": [table.both_correct, table.row_incorrect_column_correct],
            f"{table.column_spec} incorrect": [table.row_correct_column_incorrect, table.both_incorrect],
        }
    )
    return [
        _markdown_table(frame),
        "",
        f"McNemar's test (chi-square with continuity correction, 1 degree of freedom) on {table.n_samples} paired "
        f"clips: statistic {table.statistic:.2f}, p = {table.p_value:.3g}.",
        "",
    ]


def audioset_markdown(
    records: Iterable[Mapping[str, Any]] | pd.DataFrame, predictions: pd.DataFrame | None = None
) -> str:
    """Markdown tables of the AudioSet records in the layout of Tables IX-XI.

    Table IX: one row per spec, grouped by type (label, sentence, hybrid); for each
    (setting, acoustic embeddings) present zsac's mAP and Top-1 (mean ± std over seeds ×
    folds), and the paper's values beside: Settings ``table4`` and ``setting1`` are the
    paper's Setting 1 (Table IV), ``setting2`` its Setting 2; ``train3`` is also compared
    with Setting 1, with a note that zsac trains on three folds. Table X: mean over the
    specs of each type of their mean scores.
    Table XI: McNemar's test between the two specs with the best mean Top-1 of each
    (setting, acoustic embeddings), predictions paired by (seed, test fold, clip).

    Parameters
    ----------
    records : iterable of mapping, or pandas.DataFrame
        As for :func:`records_frame`; records of other datasets are ignored.
    predictions : pandas.DataFrame, optional
        Per-clip predictions (:data:`PREDICTION_COLUMNS`, optionally ``acoustic``). Without
        them, or with fewer than two specs, the text says so instead of Table XI.

    Returns
    -------
    str
        Markdown, starting with a ``## AudioSet`` heading.
    """
    frame = records_frame(records)
    frame = frame[frame["dataset"] == "audioset"]
    lines = ["## AudioSet", ""]
    if frame.empty:
        return "\n".join([*lines, "No AudioSet records.", ""])
    if predictions is not None:
        predictions = _predictions_frame(predictions)
    summary = summary_frame(frame).set_index(["setting", "acoustic", "spec"])
    groups = _setting_groups(frame, "audioset")
    labels = {group: f"{group[0]}/{group[1]}{' (a)' if group[0] == 'train3' else ''}" for group in groups}
    typed_specs = _audioset_specs(frame["spec"])
    paper_settings = sorted({_AUDIOSET_PAPER_SETTING[s] for s, _ in groups if s in _AUDIOSET_PAPER_SETTING})

    lines += [_chance_line(frame["n_classes"], "audioset"), ""]
    lines += ["### Per semantic embedding (Table IX); zsac: mean ± std over seeds × folds", ""]
    rows = []
    for kind, spec in typed_specs:
        row: dict[str, Any] = {"Type": kind.capitalize(), "Spec": spec}
        for group in groups:
            key = (*group, spec)
            for metric in _PAPER_ORDER:
                column = f"{_METRIC_NAMES[metric]} {labels[group]}"
                if key in summary.index:
                    stats = summary.loc[key]
                    row[column] = f"{stats[f'{metric}_mean']:.3f} ± {stats[f'{metric}_std']:.3f}"
                else:
                    row[column] = _DASH
        for number in paper_settings:
            for metric in _PAPER_ORDER:
                score = paper.TABLE_IX.get((spec, number))
                row[f"{_METRIC_NAMES[metric]} paper (Setting {number})"] = _paper_cell(score, metric)
        rows.append(row)
    lines += [_markdown_table(pd.DataFrame(rows)), ""]
    notes = []
    if any(setting == "train3" for setting, _ in groups):
        notes.append(f"(a) {_TRAIN3_NOTE}")
    if any(acoustic == "released" for _, acoustic in groups):
        notes.append(_RELEASED_NOTE)
    if paper_settings:
        notes.append(
            f"The paper tests on {paper.AUDIOSET_TEST_FOLD} only; zsac's means are over every test fold run. "
            "Both of the paper's settings are in `zsac.reproduce.paper.TABLE_IX`."
        )
    lines += [*(f"{note}\n" for note in notes)]

    lines += ["### Averages by type (Table X); zsac: mean over the specs present of their mean scores", ""]
    rows = []
    for kind in _TYPES:
        specs = [spec for spec_kind, spec in typed_specs if spec_kind == kind]
        if not specs:
            continue
        row = {"Type": kind.capitalize()}
        for group in groups:
            present = [(*group, spec) for spec in specs if (*group, spec) in summary.index]
            for metric in _PAPER_ORDER:
                column = f"{_METRIC_NAMES[metric]} {labels[group]}"
                values = [summary.loc[key, f"{metric}_mean"] for key in present]
                row[column] = f"{np.mean(values):.3f}" if values else _DASH
            row[f"Specs {labels[group]}"] = len(present)
        for number in paper_settings:
            for metric in _PAPER_ORDER:
                score = paper.TABLE_X.get((kind, number))
                row[f"{_METRIC_NAMES[metric]} paper (Setting {number})"] = _paper_cell(score, metric)
        rows.append(row)
    lines += [_markdown_table(pd.DataFrame(rows)), ""]
    lines += [
        "The paper averages over all its specs of a type (3 label, 7 sentence, 5 hybrid); zsac over those run.",
        "",
    ]

    lines += ["### McNemar's test of the two best specs (Table XI)", ""]
    xi = paper.TABLE_XI
    lines += [
        f"The paper (Setting 1): rows {xi.row_spec}, columns {xi.column_spec}: {xi.both_correct} / "
        f"{xi.row_correct_column_incorrect} / {xi.row_incorrect_column_correct} / {xi.both_incorrect} "
        f"(both correct / row only / column only / neither), statistic {xi.statistic:.2f}, p = {xi.p_value:.3g}.",
        "",
    ]
    for setting, acoustic in groups:
        lines += [f"#### Setting `{setting}`, acoustic embeddings `{acoustic}`", ""]
        ranked = (
            summary.loc[(setting, acoustic)]
            .reset_index()
            .sort_values(["top1_mean", "map_mean"], ascending=False, kind="stable")["spec"]
            .tolist()
        )
        if predictions is None:
            lines += ["No per-clip predictions were given, so McNemar's test is not computed.", ""]
            continue
        if len(ranked) < 2:
            lines += [f"Only one spec ({ranked[0]}) was run; McNemar's test needs two.", ""]
            continue
        multiple_acoustics = frame.loc[frame["setting"] == setting, "acoustic"].nunique() > 1
        if multiple_acoustics and "acoustic" not in predictions.columns:
            lines += ["The predictions have no `acoustic` column to tell these runs from the others'.", ""]
            continue
        best, second = ranked[0], ranked[1]
        try:
            table = contingency(
                predictions, row_spec=second, column_spec=best, dataset="audioset", setting=setting, acoustic=acoustic
            )
        except DataError as error:
            lines += [f"McNemar's test between {best} and {second} is not computed: {error}.", ""]
            continue
        lines += [f"Best mean Top-1: {best} (columns); second: {second} (rows).", ""]
        lines += _contingency_markdown(table)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------------------------------


def _save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    logger.info("wrote %s", path)
    return path


def plot_per_fold(
    records: Iterable[Mapping[str, Any]] | pd.DataFrame, path: str | os.PathLike[str], *, metric: str = "top1"
) -> Path:
    """Grouped bar chart of one metric per test fold and spec, saved as PNG.

    Bars are the mean over seeds, error bars the standard deviation over seeds
    (``ddof=0``); a dashed line per fold marks the chance level, and black diamonds the
    paper's values where it has them. The figure is drawn without pyplot, so the global
    matplotlib backend is left alone.

    Parameters
    ----------
    records : iterable of mapping, or pandas.DataFrame
        Records of exactly one (dataset, setting, acoustic embeddings).
    path : str or os.PathLike
        The PNG file to write (atomically).
    metric : {"top1", "map"}
        The metric to plot.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    DataError
        When the records span more than one (dataset, setting, acoustic embeddings).
    ValueError
        For an unknown ``metric``.
    """
    from matplotlib.figure import Figure

    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")
    frame = records_frame(records)
    keys = frame[["dataset", "setting", "acoustic"]].drop_duplicates()
    if len(keys) != 1:
        raise DataError(f"plot_per_fold needs records of one (dataset, setting, acoustic); got {len(keys)}")
    dataset, setting, acoustic = keys.iloc[0]
    folds = _fold_order(dataset, setting, frame["test_fold"])
    specs = (
        [spec for _, spec in _audioset_specs(frame["spec"])]
        if dataset == "audioset"
        else _ordered(frame["spec"], paper.ESC50_SPECS)
    )
    stats = frame.groupby(["spec", "test_fold"])[metric].agg(
        mean="mean", std=lambda values: float(np.std(values, ddof=0))
    )
    n_classes = frame.groupby("test_fold")["n_classes"].agg(lambda values: int(values.mode().iloc[0]))

    fig = Figure(figsize=(max(6.0, 1.2 * len(folds) + 0.25 * len(folds) * len(specs)), 4.5), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(folds))
    width = 0.8 / len(specs)
    paper_label = "paper"
    for position, spec in enumerate(specs):
        offsets = x - 0.4 + width * (position + 0.5)
        means = [stats["mean"].get((spec, fold), np.nan) for fold in folds]
        stds = [stats["std"].get((spec, fold), np.nan) for fold in folds]
        ax.bar(offsets, means, width, yerr=stds, capsize=3, label=spec)
        for offset, fold in zip(offsets, folds, strict=True):
            score = _paper_score(dataset, setting, spec, fold)
            if score is not None:
                ax.plot(offset, getattr(score, metric), "D", color="black", markersize=5, label=paper_label)
                paper_label = "_nolegend_"
    chance = [getattr(random_guess_expectation(int(n_classes[fold])), metric) for fold in folds]
    ax.hlines(chance, x - 0.45, x + 0.45, colors="grey", linestyles="dashed", label="chance")
    if max(len(fold) for fold in folds) > 8:
        ax.set_xticks(x, folds, rotation=20, ha="right")
    else:
        ax.set_xticks(x, folds)
    ax.set_xlabel("test fold")
    ax.set_ylabel(_METRIC_NAMES[metric])
    ax.set_ylim(bottom=0)
    ax.set_title(f"{_DATASET_NAMES.get(dataset, dataset)}, setting {setting}, {acoustic}: {_METRIC_NAMES[metric]}")
    ax.legend(fontsize="small")
    return _save_figure(fig, path)


def plot_confusion(predictions: pd.DataFrame, path: str | os.PathLike[str], *, title: str) -> Path:
    """Row-normalised confusion matrix of one fold's predictions, saved as PNG.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Predictions of one run (one spec, seed and test fold), with columns ``true`` and
        ``predicted`` at least.
    path : str or os.PathLike
        The PNG file to write (atomically).
    title : str
        The figure's title.

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    The classes are the true classes of the clips, sorted; a predicted class that is no
    clip's true class is appended (sorted) so that no prediction is dropped. Each row is
    divided by its number of clips. Class names label the axes for at most 30 classes.
    """
    import sklearn.metrics
    from matplotlib.figure import Figure

    if not isinstance(predictions, pd.DataFrame):
        raise DataError(f"predictions must be a pandas DataFrame, got {type(predictions).__name__}")
    for column in ("true", "predicted"):
        if column not in predictions.columns:
            raise DataError(f"the predictions lack the column {column!r}")
    if predictions.empty:
        raise DataError("no predictions to plot")
    for column in ("spec", "seed", "test_fold"):
        if column in predictions.columns and predictions[column].nunique() > 1:
            raise DataError(f"plot_confusion needs the predictions of one run; they span several {column} values")
    true = predictions["true"].astype(str).to_numpy()
    predicted = predictions["predicted"].astype(str).to_numpy()
    classes = sorted(set(true))
    classes += sorted(set(predicted) - set(classes))
    counts = sklearn.metrics.confusion_matrix(true, predicted, labels=classes).astype(float)
    totals = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)

    size = min(14.0, max(5.0, 0.3 * len(classes) + 2.5))
    fig = Figure(figsize=(size + 1.0, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="fraction of the true class's clips")
    if len(classes) <= 30:
        ticks = np.arange(len(classes))
        ax.set_xticks(ticks, classes, rotation=90, fontsize="small")
        ax.set_yticks(ticks, classes, fontsize="small")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return _save_figure(fig, path)


# --------------------------------------------------------------------------------------------------------------------
# The report directory
# --------------------------------------------------------------------------------------------------------------------


def _write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    logger.info("wrote %s", path)
    return path


def _write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = [
                json.dumps(value) if isinstance(value, list | tuple | set) else value for value in frame[column]
            ]
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    logger.info("wrote %s", path)
    return path


def _confusion_run(
    frame: pd.DataFrame, predictions: pd.DataFrame, *, dataset: str, setting: str, acoustic: str
) -> tuple[str, int, str, pd.DataFrame] | None:
    """(spec, seed, fold, predictions) of the best spec's first test fold of its smallest seed."""
    selected = _select_predictions(predictions, dataset=dataset, setting=setting, acoustic=acoustic)
    if selected.empty:
        return None
    runs = frame[(frame["dataset"] == dataset) & (frame["setting"] == setting) & (frame["acoustic"] == acoustic)]
    ranking = summary_frame(runs).sort_values(["top1_mean", "map_mean"], ascending=False, kind="stable")["spec"]
    for spec in ranking:
        of_spec = selected[selected["spec"] == spec]
        if of_spec.empty:
            continue
        seed = of_spec["seed"].min()
        of_seed = of_spec[of_spec["seed"] == seed]
        fold = _fold_order(dataset, setting, of_seed["test_fold"].astype(str))[0]
        return spec, int(seed), fold, of_seed[of_seed["test_fold"].astype(str) == fold]
    return None


def write_report(
    out_dir: str | os.PathLike[str],
    records: Iterable[Mapping[str, Any]] | pd.DataFrame,
    predictions: pd.DataFrame | None = None,
    *,
    notes: Sequence[str] = (),
) -> dict[str, Path]:
    """Write a run's results, summary, Markdown tables and plots into ``out_dir``.

    Files (each written atomically):

    * ``results.csv``: every record, flat columns (lists as JSON);
    * ``summary.csv``: :func:`summary_frame`;
    * ``tables.md``: :func:`esc50_markdown` and :func:`audioset_markdown` for the datasets
      present;
    * ``plots/<dataset>_<setting>_<acoustic>_top1.png`` and ``..._map.png``:
      :func:`plot_per_fold` per (dataset, setting, acoustic embeddings);
    * with predictions, ``plots/confusion_<dataset>_<setting>_<spec>_<fold>.png``:
      :func:`plot_confusion` of the best spec's (mean Top-1) first test fold of its
      smallest seed, per (dataset, setting) (``_<acoustic>`` is appended when a setting
      was run with several acoustic embeddings).

    Parameters
    ----------
    out_dir : str or os.PathLike
        The report directory, created if missing.
    records : iterable of mapping, or pandas.DataFrame
        As for :func:`records_frame`.
    predictions : pandas.DataFrame, optional
        Per-clip predictions (:data:`PREDICTION_COLUMNS`), for Table XI and the
        confusion matrices. An empty frame without columns counts as none.
    notes : sequence of str
        Remarks on the run (e.g. a partial dataset copy), listed at the top of ``tables.md``.

    Returns
    -------
    dict[str, pathlib.Path]
        Each written file by its path relative to ``out_dir`` (``"plots/..."`` with ``/``).
    """
    out_dir = Path(out_dir)
    frame = records_frame(records)
    if predictions is not None and predictions.empty and len(predictions.columns) == 0:
        predictions = None
    if predictions is not None:
        predictions = _predictions_frame(predictions)
    written: dict[str, Path] = {}

    def record(path: Path) -> None:
        written[path.relative_to(out_dir).as_posix()] = path

    record(_write_csv(out_dir / "results.csv", frame))
    record(_write_csv(out_dir / "summary.csv", summary_frame(frame)))

    datasets = _ordered(frame["dataset"], ("esc50", "audioset"))
    sections = ["# Zero-shot audio classification: reproduction of Xie & Virtanen (2021)", ""]
    sections.append(
        f"{len(frame)} runs. zsac's values are means ± population standard deviations (ddof=0); "
        "the paper's are as printed (two decimals).\n"
    )
    if notes:
        sections += ["## Notes", "", *(f"- {note}" for note in notes), ""]
    for dataset in datasets:
        if dataset == "esc50":
            sections.append(esc50_markdown(frame))
        elif dataset == "audioset":
            sections.append(audioset_markdown(frame, predictions))
        else:
            logger.warning("no tables for dataset %r (only esc50 and audioset)", dataset)
    record(_write_text(out_dir / "tables.md", "\n".join(sections).rstrip() + "\n"))

    plots = out_dir / "plots"
    for (dataset, setting, acoustic), group in frame.groupby(["dataset", "setting", "acoustic"], sort=False):
        stem = f"{safe_name(dataset)}_{safe_name(setting)}_{safe_name(acoustic)}"
        for metric in _METRICS:
            record(plot_per_fold(group, plots / f"{stem}_{metric}.png", metric=metric))

    if predictions is not None:
        for (dataset, setting), group in frame.groupby(["dataset", "setting"], sort=False):
            acoustics = sorted(group["acoustic"].unique())
            if len(acoustics) > 1 and "acoustic" not in predictions.columns:
                logger.warning(
                    "%s/%s ran with acoustic embeddings %s but the predictions have no acoustic column; "
                    "no confusion matrix",
                    dataset,
                    setting,
                    acoustics,
                )
                continue
            for acoustic in acoustics:
                chosen = _confusion_run(frame, predictions, dataset=dataset, setting=setting, acoustic=acoustic)
                if chosen is None:
                    continue
                spec, seed, fold, run = chosen
                suffix = f"_{safe_name(acoustic)}" if len(acoustics) > 1 else ""
                parts = "_".join(safe_name(part) for part in (dataset, setting, spec, fold))
                name = f"confusion_{parts}{suffix}.png"
                title = f"{_DATASET_NAMES.get(dataset, dataset)} {setting} {spec}: test fold {fold}, seed {seed}"
                record(plot_confusion(run, plots / name, title=title))
    return written
