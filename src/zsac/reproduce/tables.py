"""Markdown tables of a reproduction run, in the paper's layouts, with the paper's numbers beside zsac's.

* ESC-50: :func:`esc50_markdown`, Tables VI-VIII (per test fold, and averages);
* AudioSet: :func:`audioset_markdown`, Tables IX-XI (per spec, averages by type, and
  McNemar's test between the two best specs, :func:`contingency`).

Every zsac cell is a mean ± standard deviation (``ddof=0``) over runs, and every row says
over how many runs (seeds × test folds). The best zsac value of each metric column is
bold; in the per-fold table, whose columns are specs, the best spec of each fold is.

The helpers :func:`spec_type`, :func:`ordered_specs`, :func:`fold_order`,
:func:`paper_score` and :func:`paper_comparable` are shared with :mod:`zsac.reproduce.plots`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..evaluation import McNemarResult, mcnemar_counts, mcnemar_test, random_guess_expectation
from ..semantic.specs import SEMANTIC_PARTS, parse_spec
from . import paper
from .paper import Contingency, PaperScore
from .records import FoldRecord, predictions_frame, records_frame, summary_frame

__all__ = [
    "spec_type",
    "contingency",
    "esc50_markdown",
    "audioset_markdown",
    "markdown_table",
    "ordered_specs",
    "fold_order",
    "paper_score",
    "paper_comparable",
    "DATASET_NAMES",
    "METRIC_NAMES",
]

logger = logging.getLogger(__name__)

_METRICS = ("top1", "map")
_PAPER_ORDER = ("map", "top1")  # the paper's tables print mAP first
#: How the tables and figures name the metrics.
METRIC_NAMES = {"top1": "Top-1", "map": "mAP"}
#: How the tables and figures name the datasets.
DATASET_NAMES = {"esc50": "ESC-50", "audioset": "AudioSet"}
_TYPES = ("label", "sentence", "hybrid")
_SETTING_ORDER = {
    "esc50": ("category", "random", "esc10", "partial"),
    "audioset": ("table4", "setting1", "setting2", "train3"),
}
#: ESC-50 settings on a partial copy: a seeded random partition of the classes present.
_ESC50_PARTIAL_SETTINGS = ("esc10", "partial")
#: zsac's AudioSet settings -> the paper's data setting (Table IV) the tables print beside them.
_AUDIOSET_PAPER_SETTING = {"table4": 1, "setting1": 1, "setting2": 2, "train3": 1}
_DASH = "–"
_NUMBER = re.compile(r"^(\*\*)?[-+]?\.?\d")

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
_RUNS_NOTE = "Runs: the (seed, test fold) runs averaged in each zsac cell. Bold: the best zsac value of the column."

#: A group of runs in a table: (setting, acoustic embeddings, learner or None).
_Group = tuple[str, str, "str | None"]

Records = Iterable[Mapping[str, Any] | FoldRecord] | pd.DataFrame


# --------------------------------------------------------------------------------------------------------------------
# Shared helpers: order, the paper's values
# --------------------------------------------------------------------------------------------------------------------


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


def _natural_key(text: str) -> list[Any]:
    return [int(piece) if piece.isdigit() else piece for piece in re.split(r"(\d+)", str(text))]


def _ordered(present: Iterable[str], known: Sequence[str] = (), *, natural: bool = False) -> list[str]:
    """``present`` (deduplicated): those in ``known`` in its order, then the others."""
    present = list(dict.fromkeys(present))
    rest = [item for item in present if item not in known]
    if natural:
        rest = sorted(rest, key=_natural_key)
    return [item for item in known if item in present] + rest


def _audioset_specs(specs: Iterable[str]) -> list[tuple[str, str]]:
    """(type, spec) pairs grouped by type, Table IX's order first within each type."""
    ordered = _ordered(specs, paper.AUDIOSET_SPECS)
    return [(kind, spec) for kind in _TYPES for spec in ordered if spec_type(spec) == kind]


def ordered_specs(dataset: str, specs: Iterable[str]) -> list[str]:
    """``specs`` (deduplicated) in the paper's order: Tables VI-VIII's for ESC-50, Table IX's by type for AudioSet."""
    if dataset == "audioset":
        return [spec for _, spec in _audioset_specs(specs)]
    return _ordered(specs, paper.ESC50_SPECS)


def fold_order(dataset: str, setting: str, folds: Iterable[str]) -> list[str]:
    """``folds`` (deduplicated) in the paper's order (Tables I/II) where it has one, else in natural order."""
    known: tuple[str, ...] = ()
    if dataset == "esc50":
        known = {"category": paper.ESC50_CATEGORY_FOLDS, "random": paper.ESC50_RANDOM_FOLDS}.get(setting, ())
    return _ordered(folds, known, natural=True)


def paper_score(dataset: str, setting: str, spec: str, fold: str | None = None) -> PaperScore | None:
    """The paper's value beside a spec in the tables (on one fold, or averaged when ``fold`` is None), or None.

    ESC-50 ``category``/``random``: Tables VI/VII per fold, Table VIII averaged. AudioSet:
    Table IX (the paper tests on Fold4 only), Setting 2 for ``setting2``, else Setting 1.
    """
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


def paper_comparable(dataset: str, setting: str, acoustic: str) -> bool:
    """Whether a run's numbers measure what the paper's do, so that a figure may draw them side by side.

    True for ESC-50's ``category`` and ``random`` partitions of all 50 classes, and
    AudioSet's Table IV settings (``setting1``, ``setting2``), with VGGish trained from
    scratch (``acoustic == "vggish"``). Not for the released VGGish embeddings (pre-trained
    on all of AudioSet, test classes included), zsac's ``train3`` (three training folds, not
    one), nor a partial ESC-50 copy (another partition of other classes). The tables print
    the paper's values beside these too, with a note; a figure would suggest a comparison.
    """
    if acoustic != "vggish":
        return False
    if dataset == "esc50":
        return setting in ("category", "random")
    return dataset == "audioset" and setting in ("table4", "setting1", "setting2")


def _groups(frame: pd.DataFrame, dataset: str) -> list[_Group]:
    """(setting, acoustic, learner) groups of ``frame``, settings in the paper's order."""
    settings = _ordered(frame["setting"], _SETTING_ORDER.get(dataset, ()), natural=True)
    groups: list[_Group] = []
    for setting in settings:
        of_setting = frame[frame["setting"] == setting]
        for acoustic in sorted(of_setting["acoustic"].unique()):
            learners: list[str | None] = [None]
            if "learner" in frame.columns:
                present = of_setting.loc[of_setting["acoustic"] == acoustic, "learner"]
                learners = sorted({value for value in present if isinstance(value, str)})
                if present.isna().any() or not learners:
                    learners = [None, *learners]
            groups.extend((setting, acoustic, learner) for learner in learners)
    return groups


def _in_group(frame: pd.DataFrame, group: _Group) -> pd.Series:
    setting, acoustic, learner = group
    mask = (frame["setting"] == setting) & (frame["acoustic"] == acoustic)
    if "learner" in frame.columns:
        mask &= frame["learner"].isna() if learner is None else frame["learner"] == learner
    return mask


def _stats(frame: pd.DataFrame) -> dict[tuple[str, str, str | None, str], pd.Series]:
    """:func:`summary_frame` rows by (setting, acoustic, learner, spec)."""
    summary = summary_frame(frame)
    rows = {}
    for _, row in summary.iterrows():
        learner = row["learner"] if "learner" in summary.columns and isinstance(row["learner"], str) else None
        rows[(row["setting"], row["acoustic"], learner, row["spec"])] = row
    return rows


def _select_predictions(
    predictions: pd.DataFrame,
    *,
    dataset: str | None,
    setting: str | None,
    acoustic: str | None,
    learner: str | None = None,
) -> pd.DataFrame:
    mask = pd.Series(True, index=predictions.index)
    if dataset is not None:
        mask &= predictions["dataset"] == dataset
    if setting is not None:
        mask &= predictions["setting"] == setting
    if acoustic is not None and "acoustic" in predictions.columns:
        mask &= predictions["acoustic"] == acoustic
    if learner is not None and "learner" in predictions.columns:
        mask &= predictions["learner"] == learner
    return predictions[mask]


# --------------------------------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Score:
    """A zsac cell: a mean, with the spread of its runs when there are several; printed by :func:`_render`."""

    mean: float
    std: float | None = None
    bold: bool = False

    def text(self) -> str:
        body = f"{self.mean:.3f}" if self.std is None else f"{self.mean:.3f} ± {self.std:.3f}"
        return f"**{body}**" if self.bold else body


def _score(values: Sequence[float] | np.ndarray, *, always_std: bool = False) -> _Score | None:
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return None
    if values.size == 1 and not always_std:
        return _Score(float(values[0]))
    return _Score(float(np.mean(values)), float(np.std(values, ddof=0)))


def _bolden(cells: list[Any]) -> list[Any]:
    """``cells`` with the best :class:`_Score` (highest mean as printed, ties included) bold, if two or more compete."""
    scores = [cell for cell in cells if isinstance(cell, _Score)]
    if len(scores) < 2:
        return cells
    best = max(round(score.mean, 3) for score in scores)
    return [
        dataclasses.replace(cell, bold=True) if isinstance(cell, _Score) and round(cell.mean, 3) == best else cell
        for cell in cells
    ]


def _bold_columns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bold the best score of every column of ``rows``."""
    columns = list(dict.fromkeys(column for row in rows for column in row))
    for column in columns:
        marked = _bolden([row.get(column) for row in rows])
        for row, cell in zip(rows, marked, strict=True):
            if column in row:
                row[column] = cell
    return rows


def _runs_cell(counts: Sequence[int], names: Sequence[str] = ()) -> str:
    """The number of runs of a row: one number, or each spec's when they differ."""
    counts = [int(count) for count in counts]
    if not counts:
        return _DASH
    if len(set(counts)) == 1:
        return str(counts[0])
    if names:
        return ", ".join(f"{name} {count}" for name, count in zip(names, counts, strict=True))
    return "/".join(str(count) for count in counts)


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
    if isinstance(value, _Score):
        return value.text()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _DASH
    if isinstance(value, float | np.floating):
        return f"{value:.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame | Sequence[Mapping[str, Any]]) -> str:
    """A GitHub pipe table of ``frame`` (index dropped), numeric columns right-aligned.

    Parameters
    ----------
    frame : pandas.DataFrame or sequence of mapping
        The rows; a cell that is None or NaN prints as "–", a float with three decimals.

    Returns
    -------
    str
        The table's lines, without a trailing newline.
    """
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(list(frame))
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


def _heading(group: _Group) -> str:
    setting, acoustic, learner = group
    return f"Setting `{setting}`, acoustic embeddings `{acoustic}`" + (f", learner `{learner}`" if learner else "")


# --------------------------------------------------------------------------------------------------------------------
# ESC-50 (Tables VI-VIII)
# --------------------------------------------------------------------------------------------------------------------


def esc50_markdown(records: Records, predictions: pd.DataFrame | None = None) -> str:
    """Markdown tables of the ESC-50 records in the layout of Tables VI-VIII.

    For each (setting, acoustic embeddings[, learner]) present: a table per test fold (as
    Tables VI/VII), with for each spec zsac's Top-1 and mAP (mean ± std over seeds,
    ``ddof=0``) and the paper's, the number of runs of the row, and the best spec of the
    fold in bold; then a table of averages over seeds × folds (as Table VIII), the best
    spec of each column in bold. The paper's columns appear for the settings the paper
    has (``category``, ``random``) and read "–" for specs it does not have. Setting
    ``esc10`` is preceded by a line saying it is not comparable with the paper. Every
    section states the chance level.

    Parameters
    ----------
    records : iterable of mapping or FoldRecord, or pandas.DataFrame
        As for :func:`~zsac.reproduce.records.records_frame`; records of other datasets are ignored.

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
    stats = _stats(frame)
    for group in _groups(frame, "esc50"):
        setting, acoustic, learner = group
        runs = frame[_in_group(frame, group)]
        in_paper = paper.esc50_fold_table(setting) is not None
        specs = _ordered(runs["spec"], paper.ESC50_SPECS)
        folds = fold_order("esc50", setting, runs["test_fold"])
        lines += [f"### {_heading(group)}", ""]
        if setting in _ESC50_PARTIAL_SETTINGS:
            lines += [_ESC10_CAVEAT.format(setting=setting), ""]
        elif not in_paper:
            lines += [f"Setting `{setting}` is not in the paper; no published values to compare with.", ""]
        if acoustic == "released" and in_paper:
            lines += [_RELEASED_NOTE, ""]
        lines += [_chance_line(runs["n_classes"], "esc50"), ""]

        table_name = {"category": "Table VI", "random": "Table VII"}.get(setting)
        lines += [
            f"Per test fold{f' ({table_name})' if table_name else ''}; zsac: mean ± std over seeds. "
            "Runs: seeds at the fold (per spec where they differ). Bold: the best spec of the fold.",
            "",
        ]
        rows = []
        for fold in folds:
            at_fold = runs[runs["test_fold"] == fold]
            row: dict[str, Any] = {
                "Test fold": fold,
                "Classes": _values(at_fold["n_classes"]),
                "Clips": _values(at_fold["n_clips"]),
                "Runs": _runs_cell([int((at_fold["spec"] == spec).sum()) for spec in specs], specs),
            }
            for spec in specs:
                of_spec = at_fold[at_fold["spec"] == spec]
                score = paper_score("esc50", setting, spec, fold)
                for metric in _METRICS:
                    name = METRIC_NAMES[metric]
                    row[f"{spec} {name} zsac"] = _score(of_spec[metric])
                    if in_paper:
                        row[f"{spec} {name} paper"] = _paper_cell(score, metric)
            for metric in _METRICS:
                columns = [f"{spec} {METRIC_NAMES[metric]} zsac" for spec in specs]
                for column, cell in zip(columns, _bolden([row[column] for column in columns]), strict=True):
                    row[column] = cell
            rows.append(row)
        lines += [markdown_table(rows), ""]

        averages = f"Averages{' (Table VIII)' if in_paper else ''}; zsac: mean ± std over seeds × folds."
        lines += [f"{averages} {_RUNS_NOTE}", ""]
        rows = []
        for spec in specs:
            row_stats = stats[(setting, acoustic, learner, spec)]
            score = paper_score("esc50", setting, spec)
            row = {"Spec": spec}
            for metric in _METRICS:
                name = METRIC_NAMES[metric]
                row[f"{name} zsac"] = _Score(row_stats[f"{metric}_mean"], row_stats[f"{metric}_std"])
                if in_paper:
                    row[f"{name} paper"] = _paper_cell(score, metric)
            row["Seeds"] = int(row_stats["n_seeds"])
            row["Folds"] = int(row_stats["n_folds"])
            row["Runs"] = int(row_stats["n_runs"])
            rows.append(row)
        lines += [markdown_table(_bold_columns(rows)), ""]
    lines += _learner_sections(frame, None if predictions is None else predictions_frame(predictions), "esc50")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------------
# AudioSet (Tables IX-XI)
# --------------------------------------------------------------------------------------------------------------------


def contingency(
    predictions: pd.DataFrame,
    *,
    row_spec: str,
    column_spec: str,
    dataset: str | None = None,
    setting: str | None = None,
    acoustic: str | None = None,
    learner: str | None = None,
    row_learner: str | None = None,
    column_learner: str | None = None,
) -> Contingency:
    """The 2x2 contingency table and McNemar's test of two specs' predictions (Table XI).

    Predictions are paired by (seed, test fold, clip); clips only one spec has are left
    out. The test is :func:`zsac.evaluation.mcnemar_test` (chi-square with continuity
    correction, as in the paper).

    Parameters
    ----------
    predictions : pandas.DataFrame [shape=(n_predictions, n_columns)]
        Per-clip predictions with the columns of :data:`~zsac.reproduce.records.PREDICTION_COLUMNS`.
    row_spec, column_spec : str
        The specs of the rows and of the columns (the paper: GLE+BSE and WLE+GLE+BSE).
    dataset, setting, acoustic, learner : str, optional
        Use only these predictions (``acoustic`` and ``learner`` only if the frame has that column).
    row_learner, column_learner : str, optional
        Compare two (learner, spec) pairs: the rows' and the columns' learner (the frame needs a
        ``learner`` column); then the two specs may be the same. The table names each side
        ``"learner spec"``.

    Returns
    -------
    Contingency
        Cell counts, statistic and p-value.

    Raises
    ------
    ConfigError
        When ``row_spec`` and ``column_spec`` are the same spec.
    DataError
        When columns are missing, a spec has a (seed, test fold, clip) twice, the two
        specs disagree on a clip's true class, or no clip is paired.
    """
    sides_of = [(row_learner, row_spec), (column_learner, column_spec)]
    if sides_of[0] == sides_of[1]:
        raise ConfigError(f"McNemar's test compares two specs; row_spec and column_spec are both {row_spec!r}")
    paired_learners = row_learner is not None or column_learner is not None
    if paired_learners and "learner" not in predictions.columns:
        raise DataError("the predictions have no learner column to compare learners by")
    pair_keys = ["seed", "test_fold", "clip"]
    selected = _select_predictions(
        predictions_frame(predictions), dataset=dataset, setting=setting, acoustic=acoustic, learner=learner
    )
    sides = []
    for side_learner, spec in sides_of:
        chosen = selected["spec"] == spec
        if side_learner is not None:
            chosen &= selected["learner"] == side_learner
        rows = selected.loc[chosen, [*pair_keys, "true", "predicted"]]
        if rows.duplicated(pair_keys).any():
            raise DataError(
                f"the predictions of {spec!r} have a (seed, test_fold, clip) more than once; "
                "select one dataset, setting and acoustic embeddings"
            )
        sides.append(rows.astype({"true": str, "predicted": str, "clip": str, "test_fold": str}))
    paired = sides[0].merge(sides[1], on=pair_keys, suffixes=("_row", "_column"), how="inner")
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
        row_spec=row_spec if row_learner is None else f"{row_learner} {row_spec}",
        column_spec=column_spec if column_learner is None else f"{column_learner} {column_spec}",
        both_correct=both_correct,
        row_correct_column_incorrect=only_row,
        row_incorrect_column_correct=only_column,
        both_incorrect=len(paired) - both_correct - only_row - only_column,
        statistic=result.statistic,
        p_value=result.p_value,
    )


def _contingency_markdown(table: Contingency, *, n_runs: int) -> list[str]:
    rows = [
        {
            "Correct / incorrect predictions": f"{table.row_spec} correct",
            f"{table.column_spec} correct": table.both_correct,
            f"{table.column_spec} incorrect": table.row_correct_column_incorrect,
        },
        {
            "Correct / incorrect predictions": f"{table.row_spec} incorrect",
            f"{table.column_spec} correct": table.row_incorrect_column_correct,
            f"{table.column_spec} incorrect": table.both_incorrect,
        },
    ]
    return [
        markdown_table(rows),
        "",
        f"McNemar's test (chi-square with continuity correction, 1 degree of freedom) on {table.n_samples} paired "
        f"clips: statistic {table.statistic:.2f}, p = {table.p_value:.3g}; the clips of {n_runs} runs "
        "(seeds × test folds) pooled.",
        "",
    ]


def _learner_sections(frame: pd.DataFrame, predictions: pd.DataFrame | None, dataset: str) -> list[str]:
    """Learner × spec (Top-1, mAP), generalised zero-shot, and McNemar between the two best (learner, spec) pairs.

    One set of tables per (setting, acoustic embeddings) whose records name a learner.
    """
    if "learner" not in frame.columns or frame["learner"].isna().all():
        return []
    lines: list[str] = []
    summary = summary_frame(frame[frame["learner"].notna()])
    for (setting, acoustic), of_group in summary.groupby(["setting", "acoustic"], sort=False):
        learners = list(dict.fromkeys(of_group["learner"]))
        specs = ordered_specs(dataset, of_group["spec"])
        lines += [f"### Learners × specs: setting `{setting}`, acoustic embeddings `{acoustic}`", ""]
        lines += [
            "Test clips ranked among the test classes; mean ± std over seeds × folds. Bold: the best of the column.",
            "",
        ]
        stats = {(row["learner"], row["spec"]): row for row in of_group.to_dict("records")}
        for metric in _METRICS:
            rows = []
            for learner in learners:
                row: dict[str, Any] = {"Learner": learner}
                for spec in specs:
                    cell = stats.get((learner, spec))
                    row[spec] = _DASH if cell is None else _Score(cell[f"{metric}_mean"], cell[f"{metric}_std"])
                row["Runs"] = _runs_cell(
                    [stats[(learner, spec)]["n_runs"] for spec in specs if (learner, spec) in stats]
                )
                rows.append(row)
            lines += [f"{METRIC_NAMES[metric]}:", "", markdown_table(_bold_columns(rows)), ""]
        if "gzsl.h_mean" in of_group.columns and of_group["gzsl.h_mean"].notna().any():
            lines += [
                "Generalised zero-shot (held-out clips of the seen classes and the test clips, ranked among seen and "
                "test classes together): per-class accuracy on seen (S) and unseen (U) classes and their harmonic "
                "mean H, with calibrated stacking whose γ is chosen on the validation fold; H at γ = 0; AUSUC, the "
                "area under the seen–unseen curve; and the zero-shot Top-1 averaged per class. Mean ± std over "
                "seeds × folds.",
                "",
            ]
            rows = []
            for learner in learners:
                for spec in specs:
                    cell = stats.get((learner, spec))
                    if cell is None or not _present(cell.get("gzsl.h_mean")):
                        continue
                    row = {"Learner": learner, "Spec": spec}
                    for name, metric in (
                        ("S", "gzsl.seen"), ("U", "gzsl.unseen"), ("H", "gzsl.h"), ("H (γ = 0)", "gzsl.h_uncalibrated"),
                        ("AUSUC", "gzsl.ausuc"), ("Top-1 per class", "top1_per_class"),
                    ):  # fmt: skip
                        mean = cell.get(f"{metric}_mean")
                        row[name] = _Score(mean, cell.get(f"{metric}_std")) if _present(mean) else _DASH
                    row["Runs"] = int(cell["n_runs"])
                    rows.append(row)
            lines += [markdown_table(_bold_columns(rows)), ""]
        lines += _best_pairs_mcnemar(of_group, predictions, dataset=dataset, setting=setting, acoustic=acoustic)
    return lines


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _best_pairs_mcnemar(
    summary: pd.DataFrame, predictions: pd.DataFrame | None, *, dataset: str, setting: str, acoustic: str
) -> list[str]:
    """McNemar's test between the two (learner, spec) pairs with the best mean Top-1 (then mAP)."""
    ranked = summary.sort_values(["top1_mean", "map_mean"], ascending=False, kind="stable").to_dict("records")
    if len(ranked) < 2:
        return []
    best, second = ranked[0], ranked[1]
    title = f"McNemar's test of the two best (learner, spec) pairs: {best['learner']} {best['spec']} (columns) "
    title += f"and {second['learner']} {second['spec']} (rows)"
    lines = [f"{title}.", ""]
    if predictions is None or "learner" not in predictions.columns:
        return [*lines, "No per-clip predictions with a learner column, so the test is not computed.", ""]
    try:
        table = contingency(
            predictions, row_spec=second["spec"], column_spec=best["spec"], dataset=dataset, setting=setting,
            acoustic=acoustic, row_learner=second["learner"], column_learner=best["learner"],
        )  # fmt: skip
    except DataError as error:
        return [*lines, f"Not computed: {error}.", ""]
    return [*lines, *_contingency_markdown(table, n_runs=int(min(best["n_runs"], second["n_runs"])))]


def audioset_markdown(records: Records, predictions: pd.DataFrame | None = None) -> str:
    """Markdown tables of the AudioSet records in the layout of Tables IX-XI.

    Table IX: one row per spec, grouped by type (label, sentence, hybrid); for each
    (setting, acoustic embeddings[, learner]) present zsac's mAP and Top-1 (mean ± std
    over seeds × folds, the best of each column bold) and its number of runs, and the
    paper's values beside: Settings ``table4`` and ``setting1`` are the paper's Setting 1
    (Table IV), ``setting2`` its Setting 2; ``train3`` is also compared with Setting 1,
    with a note that zsac trains on three folds. Table X: mean over the specs of each type
    of their mean scores, with the runs per spec. Table XI: McNemar's test between the
    two specs with the best mean Top-1 of each group, predictions paired by (seed, test
    fold, clip).

    Parameters
    ----------
    records : iterable of mapping or FoldRecord, or pandas.DataFrame
        As for :func:`~zsac.reproduce.records.records_frame`; records of other datasets are ignored.
    predictions : pandas.DataFrame, optional
        Per-clip predictions (:data:`~zsac.reproduce.records.PREDICTION_COLUMNS`, optionally
        ``acoustic`` and ``learner``). Without them, or with fewer than two specs, the text
        says so instead of Table XI.

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
        predictions = predictions_frame(predictions)
    stats = _stats(frame)
    groups = _groups(frame, "audioset")
    labels = {
        group: "/".join(part for part in group if part) + (" (a)" if group[0] == "train3" else "") for group in groups
    }
    typed_specs = _audioset_specs(frame["spec"])
    paper_settings = sorted({_AUDIOSET_PAPER_SETTING[s] for s, _, _ in groups if s in _AUDIOSET_PAPER_SETTING})

    lines += [_chance_line(frame["n_classes"], "audioset"), ""]
    lines += ["### Per semantic embedding (Table IX); zsac: mean ± std over seeds × folds", "", _RUNS_NOTE, ""]
    rows = []
    for kind, spec in typed_specs:
        row: dict[str, Any] = {"Type": kind.capitalize(), "Spec": spec}
        for group in groups:
            row_stats = stats.get((*group, spec))
            for metric in _PAPER_ORDER:
                column = f"{METRIC_NAMES[metric]} {labels[group]}"
                row[column] = (
                    _DASH if row_stats is None else _Score(row_stats[f"{metric}_mean"], row_stats[f"{metric}_std"])
                )
            row[f"Runs {labels[group]}"] = _DASH if row_stats is None else str(int(row_stats["n_runs"]))
        for number in paper_settings:
            for metric in _PAPER_ORDER:
                score = paper.TABLE_IX.get((spec, number))
                row[f"{METRIC_NAMES[metric]} paper (Setting {number})"] = _paper_cell(score, metric)
        rows.append(row)
    lines += [markdown_table(_bold_columns(rows)), ""]
    notes = []
    if any(setting == "train3" for setting, _, _ in groups):
        notes.append(f"(a) {_TRAIN3_NOTE}")
    if any(acoustic == "released" for _, acoustic, _ in groups):
        notes.append(_RELEASED_NOTE)
    if paper_settings:
        notes.append(
            f"The paper tests on {paper.AUDIOSET_TEST_FOLD} only; zsac's means are over every test fold run. "
            "Both of the paper's settings are in `zsac.reproduce.paper.TABLE_IX`."
        )
    lines += [*(f"{note}\n" for note in notes)]

    lines += [
        "### Averages by type (Table X); zsac: mean over the specs present of their mean scores",
        "",
        "Runs: the runs of each spec averaged (per spec where they differ). Bold: the best type of the column.",
        "",
    ]
    rows = []
    for kind in _TYPES:
        specs = [spec for spec_kind, spec in typed_specs if spec_kind == kind]
        if not specs:
            continue
        row = {"Type": kind.capitalize()}
        for group in groups:
            present = [spec for spec in specs if (*group, spec) in stats]
            for metric in _PAPER_ORDER:
                column = f"{METRIC_NAMES[metric]} {labels[group]}"
                values = [stats[(*group, spec)][f"{metric}_mean"] for spec in present]
                row[column] = _Score(float(np.mean(values))) if values else _DASH
            row[f"Specs {labels[group]}"] = len(present)
            row[f"Runs {labels[group]}"] = _runs_cell([stats[(*group, spec)]["n_runs"] for spec in present], present)
        for number in paper_settings:
            for metric in _PAPER_ORDER:
                score = paper.TABLE_X.get((kind, number))
                row[f"{METRIC_NAMES[metric]} paper (Setting {number})"] = _paper_cell(score, metric)
        rows.append(row)
    lines += [markdown_table(_bold_columns(rows)), ""]
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
    for group in groups:
        setting, acoustic, learner = group
        lines += [f"#### {_heading(group)}", ""]
        ranked = sorted(
            (spec for (s, a, le, spec) in stats if (s, a, le) == group),
            key=lambda spec: (-stats[(*group, spec)]["top1_mean"], -stats[(*group, spec)]["map_mean"]),
        )
        if predictions is None:
            lines += ["No per-clip predictions were given, so McNemar's test is not computed.", ""]
            continue
        if len(ranked) < 2:
            lines += [f"Only one spec ({ranked[0]}) was run; McNemar's test needs two.", ""]
            continue
        of_setting = frame[frame["setting"] == setting]
        if of_setting["acoustic"].nunique() > 1 and "acoustic" not in predictions.columns:
            lines += ["The predictions have no `acoustic` column to tell these runs from the others'.", ""]
            continue
        if learner is not None and "learner" not in predictions.columns:
            lines += ["The predictions have no `learner` column to tell these runs from the others'.", ""]
            continue
        best, second = ranked[0], ranked[1]
        try:
            table = contingency(
                predictions,
                row_spec=second,
                column_spec=best,
                dataset="audioset",
                setting=setting,
                acoustic=acoustic,
                learner=learner,
            )
        except DataError as error:
            lines += [f"McNemar's test between {best} and {second} is not computed: {error}.", ""]
            continue
        selected = _select_predictions(
            predictions, dataset="audioset", setting=setting, acoustic=acoustic, learner=learner
        )
        n_runs = len(selected.loc[selected["spec"].isin([best, second]), ["seed", "test_fold"]].drop_duplicates())
        lines += [f"Best mean Top-1: {best} (columns); second: {second} (rows).", ""]
        lines += _contingency_markdown(table, n_runs=n_runs)
    lines += _learner_sections(frame, predictions, "audioset")
    return "\n".join(lines)
