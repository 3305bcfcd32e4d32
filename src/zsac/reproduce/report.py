"""The report directory of a reproduction run: CSVs, Markdown tables and figures (:func:`write_report`).

The pieces live in their own modules: the record schema and frames in
:mod:`zsac.reproduce.records`, the tables in :mod:`zsac.reproduce.tables`, the figures in
:mod:`zsac.reproduce.plots`. Their former names here are re-exported.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._atomic import atomic_path
from . import plots
from .records import (
    PREDICTION_COLUMNS,
    RECORD_KEYS,
    FoldRecord,
    predictions_frame,
    records_frame,
    summary_frame,
    write_records_csv,
)
from .results import safe_name
from .tables import audioset_markdown, contingency, esc50_markdown, spec_type

__all__ = [
    "write_report",
    # Re-exported from records, tables and plots, where they now live.
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
]

logger = logging.getLogger(__name__)

#: The keys every record has: :data:`zsac.reproduce.records.RECORD_KEYS` (the one schema).
REQUIRED_KEYS = RECORD_KEYS
plot_per_fold = plots.plot_per_fold
plot_confusion = plots.plot_confusion

#: Partitions whose folds hold the same classes in every run, so that a mean per fold means something.
_FIXED_FOLDS = {("esc50", "category"), ("esc50", "random")}


def _write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    logger.debug("wrote %s", path)
    return path


def _tables(frame: pd.DataFrame, predictions: pd.DataFrame | None, notes: Sequence[str]) -> str:
    sections = ["# Zero-shot audio classification: reproduction of Xie & Virtanen (2021)", ""]
    sections.append(
        f"{len(frame)} runs. zsac's values are means ± population standard deviations (ddof=0) over the runs "
        "(seeds × test folds) each row counts; the best of each column is bold. The paper's are as printed "
        "(two decimals).\n"
    )
    if notes:
        sections += ["## Notes", "", *(f"- {note}" for note in notes), ""]
    for dataset in dict.fromkeys(sorted(frame["dataset"], key=lambda d: {"esc50": 0, "audioset": 1}.get(d, 2))):
        if dataset == "esc50":
            sections.append(esc50_markdown(frame, predictions))
        elif dataset == "audioset":
            sections.append(audioset_markdown(frame, predictions))
        else:
            logger.warning("no tables for dataset %r (only esc50 and audioset)", dataset)
    return "\n".join(sections).rstrip() + "\n"


def _best_predictions(
    group: pd.DataFrame, predictions: pd.DataFrame, *, dataset: str, setting: str, acoustic: str
) -> pd.DataFrame | None:
    """The predictions of the group's best (learner,) spec by mean Top-1 then mAP, all its runs; None if none."""
    mask = (predictions["dataset"] == dataset) & (predictions["setting"] == setting)
    if "acoustic" in predictions.columns:
        mask &= predictions["acoustic"] == acoustic
    selected = predictions[mask]
    summary = summary_frame(group).sort_values(["top1_mean", "map_mean"], ascending=False, kind="stable")
    for row in summary.to_dict("records"):
        chosen = selected[selected["spec"] == row["spec"]]
        learner = row.get("learner")
        if isinstance(learner, str) and "learner" in chosen.columns:
            chosen = chosen[chosen["learner"] == learner]
        if not chosen.empty:
            return chosen
    return None


def write_report(
    out_dir: str | os.PathLike[str],
    records: Iterable[Mapping[str, Any] | FoldRecord] | pd.DataFrame,
    predictions: pd.DataFrame | None = None,
    *,
    notes: Sequence[str] = (),
    tables: Callable[[pd.DataFrame, pd.DataFrame | None, Sequence[str]], str] | None = None,
    title: str | None = None,
    per_fold: bool | None = None,
) -> dict[str, Path]:
    """Write a run's results, summary, Markdown tables and figures into ``out_dir``.

    Files (each written atomically), ``<stem>`` being ``<dataset>_<setting>_<acoustic>``:

    * ``results.csv``: every record, flat columns (lists as JSON; see
      :func:`~zsac.reproduce.records.read_records_csv`);
    * ``summary.csv``: :func:`~zsac.reproduce.records.summary_frame`;
    * ``tables.md``: :func:`~zsac.reproduce.tables.esc50_markdown` and
      :func:`~zsac.reproduce.tables.audioset_markdown` for the datasets present;
    * ``plots/<stem>_headline.png``: :func:`~zsac.reproduce.plots.headline_figure`;
    * ``plots/<stem>_per_fold.png``: :func:`~zsac.reproduce.plots.per_fold_figure`, for
      ESC-50's ``category`` and ``random`` partitions only, whose folds hold the same
      classes in every seed (AudioSet's and a partial copy's are drawn anew per seed);
    * with predictions, ``plots/<stem>_per_class.png`` and ``plots/<stem>_confusions.png``:
      :func:`~zsac.reproduce.plots.per_class_figure` and
      :func:`~zsac.reproduce.plots.confusion_figure` of the best spec (mean Top-1, then
      mAP), pooled over all its runs.

    Parameters
    ----------
    out_dir : str or os.PathLike
        The report directory, created if missing.
    records : iterable of mapping or FoldRecord, or pandas.DataFrame
        As for :func:`~zsac.reproduce.records.records_frame`.
    predictions : pandas.DataFrame, optional
        Per-clip predictions (:data:`~zsac.reproduce.records.PREDICTION_COLUMNS`), for Table
        XI and the per-class and confusion figures. An empty frame without columns counts as none.
    notes : sequence of str
        Remarks on the run (e.g. a partial dataset copy), listed at the top of ``tables.md``.
    tables : callable, optional
        ``tables(frame, predictions, notes)``, the text of ``tables.md`` from the records'
        frame, the checked predictions (or None) and ``notes``; default: the reproduction's
        tables beside the paper's. ``zsac evaluate`` passes its own.
    title : str, optional
        The first line of every figure's title (default:
        :func:`~zsac.reproduce.plots.describe_setting`).
    per_fold : bool, optional
        Whether to draw the per-fold figure; default: only for the partitions whose folds hold the
        same classes in every run (see above).

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
        predictions = predictions_frame(predictions)
    written: dict[str, Path] = {}

    def record(path: Path) -> None:
        written[path.relative_to(out_dir).as_posix()] = path

    record(write_records_csv(out_dir / "results.csv", frame))
    record(write_records_csv(out_dir / "summary.csv", summary_frame(frame)))
    record(_write_text(out_dir / "tables.md", (tables or _tables)(frame, predictions, notes)))

    figures = out_dir / "plots"
    for (dataset, setting, acoustic), group in frame.groupby(["dataset", "setting", "acoustic"], sort=False):
        stem = f"{safe_name(dataset)}_{safe_name(setting)}_{safe_name(acoustic)}"
        description = title or plots.describe_setting(dataset, setting, acoustic)
        record(plots.save_figure(plots.headline_figure(group, title=title), figures / f"{stem}_headline.png"))
        seen_unseen = plots.seen_unseen_figure(group, title=title)
        if seen_unseen is not None:
            record(plots.save_figure(seen_unseen, figures / f"{stem}_seen_unseen.png"))
        if (dataset, setting) in _FIXED_FOLDS if per_fold is None else per_fold:
            # One figure per learner: a fold's bars already stand for the specs.
            by_learner = [(None, group)]
            if "learner" in group.columns:
                by_learner = list(group.groupby("learner", dropna=False, sort=True))
            for learner, runs in by_learner:
                suffix = f"_{safe_name(learner)}" if isinstance(learner, str) and len(by_learner) > 1 else ""
                figure = plots.per_fold_figure(runs, title=title)
                record(plots.save_figure(figure, figures / f"{stem}{suffix}_per_fold.png"))
        if predictions is None:
            continue
        if frame.loc[frame["setting"] == setting, "acoustic"].nunique() > 1 and "acoustic" not in predictions.columns:
            logger.warning(
                "%s/%s ran with several acoustic embeddings but the predictions have no acoustic column; "
                "no per-class or confusion figures",
                dataset,
                setting,
            )
            continue
        best = _best_predictions(group, predictions, dataset=dataset, setting=setting, acoustic=acoustic)
        if best is None:
            continue
        learner = best["learner"].iloc[0] if "learner" in best.columns else None
        name = best["spec"].iloc[0] if not isinstance(learner, str) else f"{learner} {best['spec'].iloc[0]}"
        label = f"{name} (best mean Top-1)"
        figure = plots.per_class_figure(best, title=description, spec_label=label)
        record(plots.save_figure(figure, figures / f"{stem}_per_class.png"))
        figure = plots.confusion_figure(best, title=description, spec_label=label)
        record(plots.save_figure(figure, figures / f"{stem}_confusions.png"))
    return written
