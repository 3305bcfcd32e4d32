"""Figures of a reproduction run, sized for one column of a paper.

Each figure is :data:`COLUMN_WIDTH` inches wide with 7-8 pt text, for
:func:`save_figure` to write at :data:`DPI` (1,050 pixels wide at 300 dpi):

* :func:`headline_figure`: Top-1 and mAP per semantic spec (per learner × spec when the
  records name several learners), mean ± std over runs, with the chance level and, where
  the setting measures the same thing, the paper's values;
* :func:`per_class_figure`: Top-1 accuracy per class, pooled over runs, named and sorted
  (the best and worst classes when there are many);
* :func:`confusion_figure`: the most frequent confusions, "true class → predicted class";
* :func:`per_fold_figure`: Top-1 and mAP per test fold and spec, for partitions whose
  folds hold the same classes in every run (ESC-50's, Tables VI/VII).

Figures are :class:`matplotlib.figure.Figure` objects drawn without pyplot, and every
style is set on them (or in a local :func:`matplotlib.rc_context`), so this module changes
neither matplotlib's backend nor its global rcParams.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from .._atomic import atomic_path
from ..errors import ConfigError, DataError
from ..evaluation import random_guess_expectation
from .records import METRICS, FoldRecord, predictions_frame, records_frame, summary_frame
from .tables import DATASET_NAMES, fold_order, ordered_specs, paper_comparable, paper_score

__all__ = [
    "COLUMN_WIDTH",
    "DPI",
    "describe_setting",
    "headline_figure",
    "per_class_figure",
    "confusion_figure",
    "per_fold_figure",
    "seen_unseen_figure",
    "save_figure",
    "plot_per_fold",
    "plot_confusion",
]

logger = logging.getLogger(__name__)

#: Width of every figure, inches: one column of a two-column paper.
COLUMN_WIDTH = 3.5
#: Resolution :func:`save_figure` writes at, dots per inch.
DPI = 300
_TEXT_PT = 8  # titles and axis labels
_TICK_PT = 7  # tick labels and legends
_NOTE_PT = 6.5  # numbers written beside bars
#: Local style of every figure (never set globally).
_STYLE = {
    "font.size": _TEXT_PT,
    "axes.titlesize": _TEXT_PT,
    "axes.labelsize": _TEXT_PT,
    "xtick.labelsize": _TICK_PT,
    "ytick.labelsize": _TICK_PT,
    "legend.fontsize": _TICK_PT,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "lines.linewidth": 0.8,
    "patch.linewidth": 0.5,
}
_BAR = "#4C72B0"
_PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974")
_PAPER_STYLE = {"marker": "D", "color": "black", "markersize": 3.5, "linestyle": "none"}
_CHANCE_STYLE = {"color": "#777777", "linestyle": (0, (3, 2)), "linewidth": 0.9}
_AXIS_NAMES = {"top1": "Top-1 accuracy", "map": "mean average\nprecision (mAP)"}  # each fits half the column
_NAME_CHARS = 30  # longer class names are cut, so the bars keep half the column
_TITLE_CHARS = 54  # about 3.3 in of 8-pt text

Records = Iterable[Mapping[str, Any] | FoldRecord] | pd.DataFrame


# --------------------------------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(_STYLE):
        yield


def _new_figure(height: float, **subplots: Any) -> tuple[Figure, Any]:
    # Drawn on screen (or in tests) at 100 dpi, which is cheap; save_figure writes at DPI.
    fig = Figure(figsize=(COLUMN_WIDTH, height), dpi=100, layout="constrained")
    # wspace keeps the last tick label of a panel clear of the first of the next.
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.09, hspace=0.04)
    return fig, fig.subplots(**subplots)


def _check_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
    if isinstance(metrics, str) or not metrics:
        raise ConfigError(f"metrics must be a non-empty sequence of {METRICS}, got {metrics!r}")
    for metric in metrics:
        if metric not in METRICS:
            raise ConfigError(f"metric must be one of {METRICS}, got {metric!r}")
    return tuple(metrics)


def _check_top(top: int) -> int:
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise ConfigError(f"top must be a positive number of rows, got {top!r}")
    return int(top)


def _short(text: str, limit: int = _NAME_CHARS) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _title(fig: Figure, *lines: str | None) -> None:
    """A title of one or more lines (each wrapped to the column), empty ones left out."""
    text = "\n".join(textwrap.fill(line, _TITLE_CHARS) for line in lines if line)
    fig.suptitle(text, fontsize=_TEXT_PT)


def _style_axes(ax: Any) -> None:
    ax.tick_params(labelsize=_TICK_PT)
    ax.xaxis.label.set_size(_TEXT_PT)
    ax.yaxis.label.set_size(_TEXT_PT)
    ax.spines[["top", "right"]].set_visible(False)


def _legend_below(fig: Figure, handles: list[Any], labels: list[str], *, ncols: int = 2) -> None:
    # Outside the axes, below them: constrained layout makes room, so no bar is ever covered.
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=min(ncols, len(handles)),
        fontsize=_TICK_PT,
        frameon=False,
        handlelength=1.6,
        columnspacing=1.2,
    )


def _metric_ticks(ax: Any) -> None:
    """About four ticks on a metric axis: a half-column panel has room for no more, and wants no fewer."""
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))


def _x_limit(values: Iterable[float]) -> float:
    top = max([v for v in values if np.isfinite(v)], default=1.0)
    return 1.0 if top > 0.85 else max(0.05, top * 1.12)


def _one_group(frame: pd.DataFrame, what: str) -> tuple[str, str, str]:
    keys = frame[["dataset", "setting", "acoustic"]].drop_duplicates()
    if len(keys) != 1:
        raise DataError(f"{what} needs records of one (dataset, setting, acoustic); got {len(keys)}")
    dataset, setting, acoustic = keys.iloc[0]
    return str(dataset), str(setting), str(acoustic)


def _learners(frame: pd.DataFrame) -> list[str | None]:
    if "learner" not in frame.columns:
        return [None]
    values = list(dict.fromkeys(value if isinstance(value, str) else None for value in frame["learner"]))
    return sorted(values, key=lambda value: (value is not None, value or ""))


def _learner_mask(frame: pd.DataFrame, learner: str | None) -> pd.Series:
    if "learner" not in frame.columns:
        return pd.Series(True, index=frame.index)
    return frame["learner"].isna() if learner is None else frame["learner"] == learner


def describe_setting(dataset: str, setting: str, acoustic: str, *, learner: str | None = None) -> str:
    """A (dataset, setting, acoustic embeddings) in plain words, for figure titles.

    Example: ``describe_setting("audioset", "train3", "released")`` is "AudioSet,
    released VGGish embeddings, compatibility trained on 3 folds".
    """
    if dataset == "esc50":
        where = {
            "category": "ESC-50, classes split by category (Table I)",
            "random": "ESC-50, classes split at random (Table II)",
            "esc10": "ESC-10 copy of ESC-50, classes split at random per seed",
            "partial": "partial ESC-50 copy, classes split at random per seed",
        }.get(setting, f"ESC-50, split {setting}")
        how = "VGGish trained from scratch" if acoustic == "vggish" else f"{acoustic} acoustic embeddings"
        text = f"{where}, {how}"
    elif dataset == "audioset":
        if acoustic == "released":
            how = "released VGGish embeddings"
        elif acoustic == "vggish":
            how = {
                "setting1": "VGGish trained from scratch on 2 other folds",
                "table4": "VGGish trained from scratch on 2 other folds",
                "setting2": "VGGish trained from scratch on the training and validation folds",
            }.get(setting, "VGGish trained from scratch on the training folds")
        else:
            how = f"{acoustic} acoustic embeddings"
        if setting == "train3":
            trained = "compatibility trained on 3 folds"
        elif setting in ("setting1", "setting2", "table4"):
            trained = f"compatibility trained on 1 fold (paper's {_paper_setting(setting)})"
        else:
            trained = f"setting {setting}"
        text = f"AudioSet, {how}, {trained}"
    else:
        text = f"{DATASET_NAMES.get(dataset, dataset)}, setting {setting}, {acoustic} acoustic embeddings"
    return text + (f", learner {learner}" if learner else "")


def _runs_phrase(n_runs: int, n_seeds: int, n_folds: int) -> str:
    runs = f"{n_runs} run{'s' if n_runs != 1 else ''}"
    if n_runs == n_seeds * n_folds and n_runs > 1:
        seeds = f"{n_seeds} seed{'s' if n_seeds != 1 else ''}"
        return f"{runs} ({seeds} × {n_folds} test fold{'s' if n_folds != 1 else ''})"
    return runs


def _chance(n_classes: Iterable[int], metric: str) -> float:
    """Expected ``metric`` of random guessing, averaged over runs (their numbers of test classes may differ)."""
    return float(np.mean([getattr(random_guess_expectation(int(n)), metric) for n in n_classes]))


def save_figure(fig: Figure, path: str | os.PathLike[str], *, dpi: int = DPI) -> Path:
    """Save ``fig`` as PNG at ``dpi``, atomically (a crash never leaves half a file under ``path``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    with _style(), atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    logger.debug("wrote %s", path)
    return path


# --------------------------------------------------------------------------------------------------------------------
# The headline: mean ± std per spec
# --------------------------------------------------------------------------------------------------------------------


def headline_figure(records: Records, *, metrics: Sequence[str] = METRICS, title: str | None = None) -> Figure:
    """Mean ± std of each metric per semantic spec (per learner × spec), one panel per metric.

    Bars are means over all (seed, test fold) runs of a spec, error bars (with caps) the
    population standard deviation over those runs, drawn only where there are two or
    more. The dashed line is the chance level (random guessing among the test classes,
    averaged over runs). Black diamonds are the paper's averages (Table VIII for ESC-50,
    Table IX for AudioSet) only where :func:`~zsac.reproduce.tables.paper_comparable`
    says the setting measures the same thing. The legend sits below the panels.

    Parameters
    ----------
    records : iterable of mapping or FoldRecord, or pandas.DataFrame
        Records of one (dataset, setting, acoustic embeddings); several ``learner`` values
        make one bar per learner within each spec.
    metrics : sequence of {"top1", "map"}
        One panel per metric, side by side, sharing the spec axis.
    title : str, optional
        Default: :func:`describe_setting` of the records.

    Returns
    -------
    matplotlib.figure.Figure
        :data:`COLUMN_WIDTH` inches wide; its axes are ``fig.axes[:len(metrics)]``, the
        spec names the y tick labels of the first.

    Raises
    ------
    ConfigError
        For an unknown metric.
    DataError
        When the records are invalid or span several (dataset, setting, acoustic embeddings).
    """
    metrics = _check_metrics(metrics)
    frame = records_frame(records)
    dataset, setting, acoustic = _one_group(frame, "headline_figure")
    learners = _learners(frame)
    specs = ordered_specs(dataset, frame["spec"])
    summary = summary_frame(frame)
    if "learner" not in summary.columns:
        summary["learner"] = None
    summary["learner"] = [value if isinstance(value, str) else None for value in summary["learner"]]
    stats = {(row.learner, row.spec): row for row in summary.itertuples(index=False)}
    comparable = paper_comparable(dataset, setting, acoustic)
    paper_values = {spec: paper_score(dataset, setting, spec) for spec in specs} if comparable else {}
    paper_values = {spec: score for spec, score in paper_values.items() if score is not None}

    # At least 4 bar slots, so that few specs still get thin bars and room for the axis label.
    slots = max(len(specs), 4 / len(learners))
    counts = {int(row.n_runs) for row in stats.values()}
    uniform = len(counts) == 1
    tick_labels = []
    for spec in specs:
        runs = [int(stats[(learner, spec)].n_runs) for learner in learners if (learner, spec) in stats]
        tick_labels.append(spec if uniform else f"{spec} (n={'/'.join(map(str, runs))})")

    with _style():
        height = 1.35 + 0.16 * slots * len(learners) + 0.12 * max(0, len(learners) - 1) + (0.15 if paper_values else 0)
        fig, axes = _new_figure(height, ncols=len(metrics), sharey=True, squeeze=False)
        axes = axes[0]
        band = 0.8 / len(learners)
        for ax, metric in zip(axes, metrics, strict=True):
            limits = []
            for index, learner in enumerate(learners):
                positions, means, stds, many = [], [], [], []
                for position, spec in enumerate(specs):
                    row = stats.get((learner, spec))
                    if row is None:
                        continue
                    positions.append(position - 0.4 + band * (index + 0.5))
                    means.append(getattr(row, f"{metric}_mean"))
                    stds.append(getattr(row, f"{metric}_std"))
                    many.append(row.n_runs > 1)
                colour = _BAR if len(learners) == 1 else _PALETTE[index % len(_PALETTE)]
                ax.barh(positions, means, height=band * 0.85, color=colour, zorder=2)
                many = np.array(many, dtype=bool)
                if many.any():
                    ax.errorbar(
                        np.array(means)[many], np.array(positions)[many], xerr=np.array(stds)[many],
                        fmt="none", ecolor="black", elinewidth=0.7, capsize=2.0, capthick=0.7, zorder=3,
                    )  # fmt: skip
                limits += [m + s for m, s in zip(means, stds, strict=True)]
            chance = _chance(frame["n_classes"], metric)
            ax.axvline(chance, zorder=1, **_CHANCE_STYLE)
            limits.append(chance)
            for position, spec in enumerate(specs):
                if spec in paper_values:
                    value = getattr(paper_values[spec], metric)
                    ax.plot(value, position, zorder=4, **_PAPER_STYLE)
                    limits.append(value)
            ax.set_xlim(0, _x_limit(limits))
            _metric_ticks(ax)
            ax.set_xlabel(_AXIS_NAMES[metric])
            ax.grid(axis="x", linewidth=0.4, color="#dddddd", zorder=0)
            _style_axes(ax)
        axes[0].set_yticks(range(len(specs)), tick_labels)
        pad = (slots - len(specs)) / 2
        axes[0].set_ylim(len(specs) - 0.5 + pad, -0.5 - pad)  # the paper's order, top to bottom
        axes[0].set_ylabel("semantic embedding" if len(specs) > 3 else "semantic\nembedding")
        row = next(iter(stats.values()))
        spread = _runs_phrase(int(row.n_runs), int(row.n_seeds), int(row.n_folds)) if uniform else "runs (n per spec)"
        _title(
            fig,
            title or describe_setting(dataset, setting, acoustic, learner=learners[0] if len(learners) == 1 else None),
            None if len(learners) == 1 else f"bars: mean ± std over {spread}",
        )
        handles: list[Any] = []
        labels: list[str] = []
        if len(learners) == 1:
            handles.append(Patch(color=_BAR))
            labels.append(f"zsac, mean ± std over {spread}")
        else:
            for index, learner in enumerate(learners):
                handles.append(Patch(color=_PALETTE[index % len(_PALETTE)]))
                labels.append(f"learner {learner or '(none)'}")
        handles.append(Line2D([], [], **_CHANCE_STYLE))
        labels.append("chance (random guess)")
        if paper_values:
            handles.append(Line2D([], [], **_PAPER_STYLE))
            table = "Table VIII" if dataset == "esc50" else f"Table IX, {_paper_setting(setting)}"
            labels.append(f"paper ({table})")
        _legend_below(fig, handles, labels, ncols=1 if len(learners) == 1 else 2)
    return fig


def _paper_setting(setting: str) -> str:
    return "Setting 2" if setting == "setting2" else "Setting 1"


# --------------------------------------------------------------------------------------------------------------------
# Per class and confusions, from per-clip predictions
# --------------------------------------------------------------------------------------------------------------------


def _correct(predictions: pd.DataFrame) -> np.ndarray:
    column = predictions["correct"]
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=bool)
    # Read back from CSV by hand, or built by other code: accept the spellings of a boolean only.
    # True == 1 and False == 0 as keys, so the booleans and the integers share their entries.
    spellings = {True: True, False: False, "True": True, "False": False, "true": True, "false": False,
                 "1": True, "0": False}  # fmt: skip
    values = [spellings.get(value) if not isinstance(value, float) else spellings.get(int(value)) for value in column]
    if any(value is None for value in values):
        raise DataError("the predictions' column 'correct' holds values that are not True or False")
    return np.array(values, dtype=bool)


def _pooled(predictions: pd.DataFrame, what: str) -> pd.DataFrame:
    predictions = predictions_frame(predictions, columns=("true", "predicted", "correct"))
    if predictions.empty:
        raise DataError(f"no predictions for {what}")
    for column in ("dataset", "setting", "acoustic", "learner", "spec"):
        if column in predictions.columns and predictions[column].nunique(dropna=False) > 1:
            raise DataError(
                f"{what} pools the runs of one spec; the predictions span several {column} values "
                f"({', '.join(map(str, predictions[column].unique()[:5]))})"
            )
    return pd.DataFrame(
        {
            "true": predictions["true"].astype(str).to_numpy(),
            "predicted": predictions["predicted"].astype(str).to_numpy(),
            "correct": _correct(predictions),
        }
    )


def _n_runs(predictions: pd.DataFrame) -> int | None:
    keys = [key for key in ("seed", "test_fold") if key in predictions.columns]
    return len(predictions[keys].drop_duplicates()) if keys else None


def _spec_name(predictions: pd.DataFrame, spec_label: str | None) -> str:
    """``spec_label``, else the predictions' spec, else "the predictions"."""
    if spec_label:
        return spec_label
    return str(predictions["spec"].iloc[0]) if "spec" in predictions.columns else "the predictions"


def _runs_pooled(predictions: pd.DataFrame) -> str:
    n_runs = _n_runs(predictions)
    return "" if n_runs is None else f"{n_runs} run{'s' if n_runs != 1 else ''} pooled"


def per_class_figure(
    predictions: pd.DataFrame,
    *,
    top: int = 12,
    min_clips: int = 5,
    title: str | None = None,
    spec_label: str | None = None,
) -> Figure:
    """Top-1 accuracy of each true class, pooled over the runs of one spec, sorted, with class names.

    Each bar is the share of a class's test clips (over all runs given) that were
    predicted correctly, labelled "correct/clips". With at most ``2 * top + 5`` classes
    every class is shown; with more, the ``top`` best and the ``top`` worst of the classes
    with at least ``min_clips`` test clips (a class of one clip is 0 or 1 by chance), in
    two panels whose titles say so. The dashed line is the accuracy of all clips pooled.

    Parameters
    ----------
    predictions : pandas.DataFrame [shape=(n_predictions, n_columns)]
        Per-clip predictions of one spec (any number of seeds and test folds), with the
        columns ``true``, ``predicted`` and ``correct`` (and ``seed``, ``test_fold``,
        ``spec`` for the caption, when present).
    top : int
        Classes shown at each end when there are many.
    min_clips : int
        Fewest test clips of a class ranked among the best and worst (when there are many).
    title : str, optional
        The title's first line (e.g. :func:`describe_setting`).
    spec_label : str, optional
        How the caption names the spec (default: the ``spec`` column's value).

    Returns
    -------
    matplotlib.figure.Figure
        :data:`COLUMN_WIDTH` inches wide; one or two axes whose y tick labels are class names.

    Raises
    ------
    ConfigError
        When ``top`` or ``min_clips`` is not a positive int.
    DataError
        When a column is missing, there are no predictions, or they span several specs.
    """
    top = _check_top(top)
    if isinstance(min_clips, bool) or not isinstance(min_clips, int | np.integer) or min_clips < 1:
        raise ConfigError(f"min_clips must be a positive number of clips, got {min_clips!r}")
    pooled = _pooled(predictions, "per_class_figure")
    per_class = pooled.groupby("true", sort=True)["correct"].agg(correct="sum", clips="size").reset_index()
    per_class["accuracy"] = per_class["correct"] / per_class["clips"]
    n_classes = len(per_class)
    overall = float(pooled["correct"].mean())
    if n_classes <= 2 * top + 5:
        best = per_class.sort_values(["accuracy", "clips", "true"], ascending=[False, False, True], kind="stable")
        parts = [(best, "")]
        among = f"all {n_classes} classes"
    else:
        ranked = per_class[per_class["clips"] >= min_clips]
        among = f"{len(ranked)} of {n_classes} classes have {min_clips}+ test clips"
        if len(ranked) < 2 * top:
            ranked, among = per_class, f"{n_classes} classes"
        # More clips first among equal accuracies: 0 of 30 says more than 0 of 5.
        best = ranked.sort_values(["accuracy", "clips", "true"], ascending=[False, False, True], kind="stable")
        worst = ranked.sort_values(["accuracy", "clips", "true"], ascending=[True, False, True], kind="stable")
        parts = [(best.head(top), f"the {top} best of them"), (worst.head(top).iloc[::-1], f"the {top} worst")]

    with _style():
        rows = sum(len(part) for part, _ in parts)
        height = 1.05 + 0.125 * rows + 0.22 * len(parts)
        ratios = [len(part) for part, _ in parts]
        grid = {"height_ratios": ratios}
        fig, axes = _new_figure(height, nrows=len(parts), sharex=True, squeeze=False, gridspec_kw=grid)
        for ax, (part, caption) in zip(axes[:, 0], parts, strict=True):
            positions = np.arange(len(part))
            ax.barh(positions, part["accuracy"], height=0.72, color=_BAR, zorder=2)
            for position, row in zip(positions, part.itertuples(index=False), strict=True):
                ax.text(
                    row.accuracy + 0.015, position, f"{int(row.correct)}/{int(row.clips)}", va="center", ha="left",
                    fontsize=_NOTE_PT, color="#333333", zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.4},  # readable over the dashed line
                )  # fmt: skip
            ax.axvline(overall, zorder=1, **_CHANCE_STYLE)
            ax.set_yticks(positions, [_short(name) for name in part["true"]])
            ax.set_ylim(len(part) - 0.5, -0.5)
            if caption:
                ax.set_title(caption, fontsize=_TICK_PT, loc="left")
            ax.grid(axis="x", linewidth=0.4, color="#dddddd", zorder=0)
            _style_axes(ax)
        axes[-1, 0].set_xlim(0, 1.2)  # room for "correct/clips" beside a full bar
        axes[-1, 0].set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        axes[-1, 0].set_xlabel("Top-1 accuracy of the class")
        _title(
            fig,
            title,
            f"Top-1 accuracy per class of {_spec_name(predictions, spec_label)}",
            "; ".join(part for part in (_runs_pooled(predictions), among) if part),
        )
        _legend_below(
            fig,
            [Line2D([], [], **_CHANCE_STYLE)],
            [f"all {len(pooled)} test clips: {overall:.3f}  (beside a bar: correct/clips)"],
            ncols=1,
        )
    return fig


def confusion_figure(
    predictions: pd.DataFrame, *, top: int = 12, title: str | None = None, spec_label: str | None = None
) -> Figure:
    """The ``top`` most frequent confusions "true class → predicted class", pooled over the runs of one spec.

    Each pair is written in full above its bar; the bar counts the test clips of the true
    class predicted as the other class, and the text beside it repeats the count with its
    share of the true class's test clips. Pairs are sorted by count, then share.

    Parameters
    ----------
    predictions : pandas.DataFrame [shape=(n_predictions, n_columns)]
        As for :func:`per_class_figure`.
    top : int
        Pairs shown.
    title : str, optional
        The title's first line.
    spec_label : str, optional
        How the caption names the spec (default: the ``spec`` column's value).

    Returns
    -------
    matplotlib.figure.Figure
        :data:`COLUMN_WIDTH` inches wide; one axes whose texts (``ax.texts``) name the pairs
        "true → predicted".

    Raises
    ------
    ConfigError
        When ``top`` is not a positive int.
    DataError
        When a column is missing, there are no predictions, or they span several specs.
    """
    top = _check_top(top)
    pooled = _pooled(predictions, "confusion_figure")
    clips = pooled.groupby("true").size()
    wrong = pooled[~pooled["correct"] & (pooled["true"] != pooled["predicted"])]
    pairs = wrong.groupby(["true", "predicted"]).size().rename("count").reset_index()
    pairs["share"] = pairs["count"] / clips.reindex(pairs["true"]).to_numpy()
    pairs = pairs.sort_values(["count", "share", "true", "predicted"], ascending=[False, False, True, True])
    pairs = pairs.head(top)
    caption = f"Most frequent errors of {_spec_name(predictions, spec_label)}"
    pooled_runs = _runs_pooled(predictions)

    with _style():
        fig, ax = _new_figure(max(1.5, 1.2 + 0.25 * max(len(pairs), 1)))
        _style_axes(ax)
        if pairs.empty:
            ax.text(0.5, 0.5, "no test clip was misclassified", ha="center", va="center", transform=ax.transAxes,
                    fontsize=_TICK_PT)  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            _title(fig, title, caption, pooled_runs)
            return fig
        # The pair's names go above its bar, across the whole width, so that long AudioSet names need no cutting.
        positions = np.arange(len(pairs))
        biggest = int(pairs["count"].max())
        ax.barh(positions + 0.24, pairs["count"], height=0.38, color="#C44E52", zorder=2)
        for position, row in zip(positions, pairs.itertuples(index=False), strict=True):
            ax.text(0, position - 0.17, f"{_short(row.true, 40)} → {_short(row.predicted, 40)}",
                    ha="left", va="center", fontsize=_TICK_PT)  # fmt: skip
            ax.text(row.count + biggest * 0.015, position + 0.24, f"{row.count} ({row.share:.0%})",
                    ha="left", va="center", fontsize=_NOTE_PT, color="#333333")  # fmt: skip
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_ylim(len(pairs) - 0.45, -0.5)
        ax.set_xlim(0, biggest * 1.25)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel(
            "test clips of the true class predicted as the other\n(beside a bar: clips, share of the true class)"
        )
        ax.grid(axis="x", linewidth=0.4, color="#eeeeee", zorder=0)
        errors = f"{len(pairs)} of {len(wrong):,} errors (true → predicted)"
        _title(fig, title, caption, f"{pooled_runs}: {errors}" if pooled_runs else errors)
    return fig


# --------------------------------------------------------------------------------------------------------------------
# Per test fold
# --------------------------------------------------------------------------------------------------------------------


def per_fold_figure(records: Records, *, metrics: Sequence[str] = METRICS, title: str | None = None) -> Figure:
    """Each metric per test fold and spec, one panel per metric; meaningful where folds are fixed.

    Bars are means over seeds; error bars (with caps) the standard deviation over seeds
    (``ddof=0``), drawn only where a fold has two or more seeds. The dashed segment in each
    fold's band is its chance level, and black diamonds the paper's per-fold values
    (Tables VI/VII) where :func:`~zsac.reproduce.tables.paper_comparable` allows.

    Parameters
    ----------
    records : iterable of mapping or FoldRecord, or pandas.DataFrame
        Records of one (dataset, setting, acoustic embeddings).
    metrics : sequence of {"top1", "map"}
    title : str, optional
        Default: :func:`describe_setting` of the records.

    Returns
    -------
    matplotlib.figure.Figure
        :data:`COLUMN_WIDTH` inches wide; fold names are the y tick labels of its first axes.

    Raises
    ------
    ConfigError
        For an unknown metric.
    DataError
        When the records span more than one (dataset, setting, acoustic embeddings).
    """
    metrics = _check_metrics(metrics)
    frame = records_frame(records)
    dataset, setting, acoustic = _one_group(frame, "per_fold_figure")
    if len(_learners(frame)) > 1:
        raise DataError("per_fold_figure needs the records of one learner")
    folds = fold_order(dataset, setting, frame["test_fold"])
    specs = ordered_specs(dataset, frame["spec"])
    grouped = frame.groupby(["spec", "test_fold"])
    stats = grouped[list(metrics)].agg(["mean", lambda values: float(np.std(values, ddof=0))])
    seeds = grouped["seed"].nunique()
    n_classes = frame.groupby("test_fold")["n_classes"].agg(lambda values: int(values.mode().iloc[0]))
    comparable = paper_comparable(dataset, setting, acoustic)
    band = 0.8 / len(specs)

    with _style():
        height = 1.2 + 0.11 * len(folds) * len(specs) + 0.12 * len(folds) + 0.12 * ((len(specs) + 2) // 3)
        fig, axes = _new_figure(max(2.0, height), ncols=len(metrics), sharey=True, squeeze=False)
        axes = axes[0]
        any_paper = False
        for ax, metric in zip(axes, metrics, strict=True):
            limits = []
            for index, spec in enumerate(specs):
                colour = _PALETTE[index % len(_PALETTE)]
                for position, fold in enumerate(folds):
                    if (spec, fold) not in stats.index:
                        continue
                    y = position - 0.4 + band * (index + 0.5)
                    mean, std = stats.loc[(spec, fold), metric].to_numpy(dtype=float)
                    ax.barh(y, mean, height=band * 0.85, color=colour, zorder=2)
                    if seeds[(spec, fold)] > 1:
                        ax.errorbar(mean, y, xerr=std, fmt="none", ecolor="black", elinewidth=0.7, capsize=1.8,
                                    capthick=0.7, zorder=3)  # fmt: skip
                    limits.append(mean + std)
                    score = paper_score(dataset, setting, spec, fold) if comparable else None
                    if score is not None:
                        ax.plot(getattr(score, metric), y, zorder=4, **_PAPER_STYLE)
                        limits.append(getattr(score, metric))
                        any_paper = True
            for position, fold in enumerate(folds):
                chance = getattr(random_guess_expectation(int(n_classes[fold])), metric)
                ax.vlines(chance, position - 0.45, position + 0.45, zorder=3, **_CHANCE_STYLE)
                limits.append(chance)
            ax.set_xlim(0, _x_limit(limits))
            _metric_ticks(ax)
            ax.set_xlabel(_AXIS_NAMES[metric])
            ax.grid(axis="x", linewidth=0.4, color="#dddddd", zorder=0)
            _style_axes(ax)
        axes[0].set_yticks(range(len(folds)), [_short(fold, 24) for fold in folds])
        axes[0].set_ylim(len(folds) - 0.5, -0.5)
        axes[0].set_ylabel("test fold")
        n_seeds = int(frame["seed"].nunique())
        spread = f"mean ± std over {n_seeds} seeds" if n_seeds > 1 else "1 seed, so no error bars"
        _title(fig, title or describe_setting(dataset, setting, acoustic), f"per test fold, {spread}")
        handles: list[Any] = [Patch(color=_PALETTE[i % len(_PALETTE)]) for i in range(len(specs))]
        labels = list(specs)
        handles.append(Line2D([], [], **_CHANCE_STYLE))
        labels.append("chance")
        if any_paper:
            handles.append(Line2D([], [], **_PAPER_STYLE))
            labels.append(
                f"paper ({'Table VI' if setting == 'category' else 'Table VII'})"
                if dataset == "esc50"
                else f"paper (Table IX, {_paper_setting(setting)})"
            )
        _legend_below(fig, handles, labels, ncols=3)
    return fig


# --------------------------------------------------------------------------------------------------------------------
# Build and save in one call
# --------------------------------------------------------------------------------------------------------------------


def plot_per_fold(records: Records, path: str | os.PathLike[str], *, metric: str = "top1") -> Path:
    """:func:`per_fold_figure` of one metric, saved as PNG by :func:`save_figure`.

    Raises
    ------
    ConfigError
        For an unknown ``metric``.
    DataError
        When the records span more than one (dataset, setting, acoustic embeddings).
    """
    return save_figure(per_fold_figure(records, metrics=(metric,)), path)


def plot_confusion(predictions: pd.DataFrame, path: str | os.PathLike[str], *, title: str, top: int = 12) -> Path:
    """:func:`confusion_figure`, saved as PNG by :func:`save_figure`.

    Raises
    ------
    DataError
        When the predictions lack a column, are empty, or span several specs.
    """
    return save_figure(confusion_figure(predictions, top=top, title=title), path)


# --------------------------------------------------------------------------------------------------------------------
# Generalised zero-shot: the seen–unseen curve
# --------------------------------------------------------------------------------------------------------------------


def _curve_of(value: Any) -> np.ndarray | None:
    if isinstance(value, str):  # results.csv keeps lists as JSON
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    if not isinstance(value, list | tuple | np.ndarray) or len(value) < 2:
        return None
    return np.asarray(value, dtype=np.float64)


def seen_unseen_figure(records: Records, *, title: str | None = None) -> Figure | None:
    """The seen–unseen accuracy curve of each learner's best spec (by mean H), averaged over runs.

    Calibrated stacking trades seen accuracy S for unseen accuracy U as γ grows (Chao et al. 2016);
    each run's curve is its unseen accuracy at 101 fixed seen accuracies (``gzsl_curve``), and the
    line is their mean. A filled dot marks the mean (S, U) at the γ chosen on the validation fold,
    a hollow one γ = 0, where a model trained on the seen classes favours them.

    Parameters
    ----------
    records : iterable of mapping or FoldRecord, or pandas.DataFrame
        Records of one (dataset, setting, acoustic embeddings) with ``gzsl`` results and curves.
    title : str, optional

    Returns
    -------
    Figure or None
        None when no record has a seen–unseen curve.
    """
    frame = records_frame(records)
    if "gzsl_curve" not in frame.columns or "gzsl.h" not in frame.columns:
        return None
    frame = frame[frame["gzsl.h"].notna()].copy()
    frame["_curve"] = [_curve_of(value) for value in frame["gzsl_curve"]]
    frame = frame[frame["_curve"].notna()]
    if frame.empty:
        return None
    dataset, setting, acoustic = _one_group(frame, "a seen–unseen figure")
    if "learner" not in frame.columns:
        frame["learner"] = None
    frame["learner"] = [value if isinstance(value, str) else "(none)" for value in frame["learner"]]
    lines = []
    for learner, of_learner in frame.groupby("learner", sort=False):
        best_spec = of_learner.groupby("spec", sort=False)["gzsl.h"].mean().idxmax()
        runs = of_learner[of_learner["spec"] == best_spec]
        curves = np.stack(runs["_curve"].to_list())
        lines.append((learner, best_spec, runs, curves.mean(axis=0)))
    with _style():
        fig, ax = _new_figure(COLUMN_WIDTH * 0.95)
        handles, labels = [], []
        for index, (learner, spec, runs, curve) in enumerate(lines):
            colour = _PALETTE[index % len(_PALETTE)]
            seen_axis = np.linspace(0.0, 1.0, curve.size)
            reached = curve > 0
            last = int(np.flatnonzero(reached)[-1]) + 1 if reached.any() else 1
            xs, ys = seen_axis[:last], curve[:last]
            if last < curve.size:  # beyond the highest seen accuracy any γ reaches, U is 0: one step down
                xs, ys = np.append(xs, seen_axis[last]), np.append(ys, 0.0)
            (line,) = ax.plot(xs, ys, color=colour)
            ax.plot(runs["gzsl.seen"].mean(), runs["gzsl.unseen"].mean(), "o", color=colour, markersize=3.5)
            ax.plot(
                runs["gzsl.seen_uncalibrated"].mean(), runs["gzsl.unseen_uncalibrated"].mean(), "o",
                markerfacecolor="white", markeredgecolor=colour, markersize=3.5,
            )  # fmt: skip
            handles.append(line)
            named = spec if learner == "(none)" else f"{learner} {spec}"  # records without a learner name none
            labels.append(f"{named}: H {runs['gzsl.h'].mean():.3f}, AUSUC {runs['gzsl.ausuc'].mean():.3f}")
        handles += [
            Line2D([], [], marker="o", color="#555555", linestyle="none", markersize=3.5),
            Line2D([], [], marker="o", markerfacecolor="white", markeredgecolor="#555555", linestyle="none",
                   markersize=3.5),
        ]  # fmt: skip
        labels += ["mean (S, U) at the γ chosen on validation classes", "mean (S, U) at γ = 0 (no calibration)"]
        ax.set_xlabel("seen-class accuracy S (per class)")
        ax.set_ylabel("unseen-class accuracy U (per class)")
        # The axes reach the curves and the dots: a dot at U = 0 lies beyond where its curve ends.
        dots = [(runs[f"gzsl.seen{kind}"].mean(), runs[f"gzsl.unseen{kind}"].mean())
                for *_, runs, _ in lines for kind in ("", "_uncalibrated")]  # fmt: skip
        top_u = max(*(float(curve.max()) for *_, curve in lines), *(float(u) for _, u in dots))
        top_s = max(
            *(float(np.linspace(0, 1, curve.size)[curve > 0].max(initial=0.05)) for *_, curve in lines),
            *(float(s) for s, _ in dots),
        )
        ax.set_xlim(0, min(1.0, max(0.1, top_s * 1.1 + 0.025)))
        ax.set_ylim(0, min(1.0, max(0.05, top_u * 1.15)))
        _style_axes(ax)
        n_runs = int(lines[0][2].shape[0])
        _title(
            fig,
            title or describe_setting(dataset, setting, acoustic),
            f"generalised zero-shot, mean over {n_runs} runs per line",
        )
        _legend_below(fig, handles, labels, ncols=1)
    return fig
