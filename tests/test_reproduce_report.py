"""The paper's published numbers (zsac.reproduce.paper) and the report built from records (zsac.reproduce.report)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from zsac.errors import ConfigError, DataError
from zsac.evaluation import mcnemar, mcnemar_counts, mcnemar_test, random_guess_expectation
from zsac.protocols import esc50_category_folds, esc50_random_folds
from zsac.reproduce import paper
from zsac.reproduce.plots import plot_confusion, plot_per_fold
from zsac.reproduce.records import RECORD_KEYS as REQUIRED_KEYS
from zsac.reproduce.records import FoldRecord, read_records_csv, records_frame, summary_frame
from zsac.reproduce.report import write_report
from zsac.reproduce.results import ResultsFolder
from zsac.reproduce.tables import audioset_markdown, contingency, esc50_markdown, spec_type
from zsac.reproduce.tables import markdown_table as _markdown_table

PAPER_TEXT = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "paper"
    / ("xie-virtanen-2021-zero-shot-audio-classification.txt")
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------------------------------
# Synthetic runs
# --------------------------------------------------------------------------------------------------------------------


def make_run(
    dataset: str,
    setting: str,
    specs: dict[str, float],
    folds: list[str],
    seeds: list[int],
    *,
    acoustic: str = "vggish",
    n_classes: int = 5,
    clips_per_class: int = 4,
    seed: int = 0,
) -> tuple[list[dict], pd.DataFrame]:
    """Records and matching per-clip predictions; ``specs`` maps a spec to its chance of a correct prediction."""
    rng = np.random.default_rng(seed)
    records, frames = [], []
    for spec_index, (spec, accuracy) in enumerate(specs.items()):
        for run_seed in seeds:
            for fold_index, fold in enumerate(folds):
                classes = [f"{fold}_class{k}" for k in range(n_classes)]
                true = np.repeat(classes, clips_per_class)
                correct = rng.random(true.size) < accuracy
                wrong = [classes[(classes.index(t) + 1) % n_classes] for t in true]
                predicted = np.where(correct, true, wrong)
                frames.append(
                    pd.DataFrame(
                        {
                            "dataset": dataset,
                            "setting": setting,
                            "spec": spec,
                            "seed": run_seed,
                            "test_fold": fold,
                            "clip": [f"{fold}-clip{i}" for i in range(true.size)],
                            "true": true,
                            "predicted": predicted,
                            "correct": correct,
                        }
                    )
                )
                records.append(
                    {
                        "dataset": dataset,
                        "setting": setting,
                        "spec": spec,
                        "test_fold": fold,
                        "seed": run_seed,
                        "top1": float(correct.mean()),
                        "map": float(min(1.0, correct.mean() + 0.1 + 0.01 * fold_index + 0.001 * spec_index)),
                        "n_classes": n_classes,
                        "n_clips": int(true.size),
                        "lambda": 0.1,
                        "acoustic": acoustic,
                        "params": {"epochs": 3},
                    }
                )
    return records, pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def esc50_run() -> tuple[list[dict], pd.DataFrame]:
    category, category_predictions = make_run(
        "esc50", "category", {"WLE": 0.3, "GLE": 0.2, "SLE": 0.25}, list(esc50_category_folds()), [0, 1, 2]
    )
    esc10, esc10_predictions = make_run("esc50", "esc10", {"WLE": 0.5}, ["Fold0", "Fold1"], [0, 1], n_classes=2)
    return category + esc10, pd.concat([category_predictions, esc10_predictions], ignore_index=True)


@pytest.fixture(scope="module")
def audioset_run() -> tuple[list[dict], pd.DataFrame]:
    return make_run(
        "audioset",
        "train3",
        {"WLE+GLE+BSE": 0.6, "GLE+BSE": 0.45, "WLE": 0.2, "SSE": 0.3},
        ["Fold3", "Fold4"],
        [0, 1],
        n_classes=6,
        clips_per_class=10,
        seed=1,
    )


def plain(cell: str) -> str:
    """A Markdown cell without its bold markers."""
    return cell.removeprefix("**").removesuffix("**")


def table_row(markdown: str, cell: str, column: int = 0) -> list[str]:
    """The cells of the first Markdown table row whose ``column``-th cell is ``cell``."""
    for line in markdown.splitlines():
        cells = [text.strip() for text in line.strip().strip("|").split(" | ")]
        if line.startswith("|") and len(cells) > column and cells[column] == cell:
            return cells
    raise AssertionError(f"no table row has {cell!r} in column {column}")


# --------------------------------------------------------------------------------------------------------------------
# The paper's numbers
# --------------------------------------------------------------------------------------------------------------------


def test_paper_values_spot_checked():
    assert paper.TABLE_VI["Animal sounds", "WLE"] == (0.43, 0.26)
    assert paper.TABLE_VI["Exterior/urban noises", "WLE+GLE"] == paper.PaperScore(map=0.39, top1=0.21)
    assert paper.TABLE_VII["Fold1", "GLE"] == (0.61, 0.46)
    assert paper.TABLE_VIII["random", "WLE+GLE"] == (0.52, 0.33)
    assert paper.TABLE_VIII["category", "WLE"] == (0.41, 0.23)
    assert paper.TABLE_IX["GLE+BSE", 2] == (0.20, 0.11)
    assert paper.TABLE_IX["WLE+GLE+BSE", 1] == (0.20, 0.12)
    assert paper.TABLE_X["hybrid", 2] == (0.20, 0.10)
    assert paper.RANDOM_GUESS["esc50"] == (0.29, 0.10)
    assert paper.RANDOM_GUESS["audioset"] == (0.05, 0.01)
    xi = paper.TABLE_XI
    assert (xi.both_correct, xi.row_correct_column_incorrect, xi.row_incorrect_column_correct, xi.both_incorrect) == (
        1854,
        381,
        609,
        18533,
    )
    assert xi.n_samples == 21377  # Fold4's clips, Table III
    assert (xi.row_spec, xi.column_spec) == ("GLE+BSE", "WLE+GLE+BSE")
    result = mcnemar(xi.row_correct_column_incorrect, xi.row_incorrect_column_correct)
    assert round(result.statistic, 2) == xi.statistic
    assert result.p_value == pytest.approx(xi.p_value, rel=1e-2)
    assert len(paper.TABLE_VI) == len(paper.TABLE_VII) == 15
    assert len(paper.TABLE_IX) == 30


def test_paper_fold_and_spec_names_join_with_zsac():
    assert paper.ESC50_CATEGORY_FOLDS == tuple(esc50_category_folds())
    assert paper.ESC50_RANDOM_FOLDS == tuple(esc50_random_folds())
    assert {fold for fold, _ in paper.TABLE_VI} == set(esc50_category_folds())
    assert {fold for fold, _ in paper.TABLE_VII} == set(esc50_random_folds())
    for spec, kind in paper.AUDIOSET_SPEC_TYPES.items():
        assert spec_type(spec) == kind


def _table_section(text: str, name: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index(name)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("TABLE ")), len(lines))
    return lines[start + 1 : end]


def _numeric_rows(section: list[str], n_values: int) -> dict[str, tuple[float, ...]]:
    pattern = re.compile(r"^(\S.*?) ((?:\d\.\d\d ?){%d})$" % n_values)
    rows = {}
    for line in section:
        match = pattern.match(line.strip())
        if match:
            rows[match.group(1)] = tuple(float(value) for value in match.group(2).split())
    return rows


@pytest.mark.skipif(not PAPER_TEXT.is_file(), reason=f"the paper's text is not at {PAPER_TEXT}")
def test_paper_tables_match_the_papers_text():
    text = PAPER_TEXT.read_text(encoding="utf-8")
    for name, table, folds in (
        ("TABLE VI", paper.TABLE_VI, paper.ESC50_CATEGORY_FOLDS),
        ("TABLE VII", paper.TABLE_VII, paper.ESC50_RANDOM_FOLDS),
    ):
        rows = _numeric_rows(_table_section(text, name), 6)
        assert list(rows) == list(folds), name
        for fold, values in rows.items():
            for index, spec in enumerate(paper.ESC50_SPECS):
                assert table[fold, spec] == values[2 * index : 2 * index + 2], (name, fold, spec)
    rows = _numeric_rows(_table_section(text, "TABLE VIII"), 4)
    assert list(rows) == list(paper.ESC50_SPECS)
    for spec, values in rows.items():
        assert (paper.TABLE_VIII["category", spec], paper.TABLE_VIII["random", spec]) == (values[:2], values[2:])
    rows = _numeric_rows(_table_section(text, "TABLE IX"), 4)
    assert list(rows) == list(paper.AUDIOSET_SPECS)
    for spec, values in rows.items():
        assert (paper.TABLE_IX[spec, 1], paper.TABLE_IX[spec, 2]) == (values[:2], values[2:])
    rows = _numeric_rows(_table_section(text, "TABLE X"), 4)
    assert list(rows) == ["Label", "Sentence", "Hybrid"]
    for kind, values in rows.items():
        assert (paper.TABLE_X[kind.lower(), 1], paper.TABLE_X[kind.lower(), 2]) == (values[:2], values[2:])
    xi = " ".join(_table_section(text, "TABLE XI"))
    assert "correct 1854 381" in xi and "incorrect 609 18533" in xi
    assert "mAP / Top-1 of 0.29 / 0.10" in re.sub(r"\s+", " ", text)
    assert "mAP / Top-1 of 0.05 / 0.01" in re.sub(r"\s+", " ", text)


# --------------------------------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------------------------------


def test_missing_key_is_a_data_error_naming_key_and_index(esc50_run):
    records = [dict(record) for record in esc50_run[0][:3]]
    del records[2]["lambda"]
    with pytest.raises(DataError, match=r"record 2 .*'lambda'"):
        records_frame(records)
    with pytest.raises(DataError, match="no records"):
        records_frame([])
    bad = [dict(esc50_run[0][0], seed="one")]
    with pytest.raises(DataError, match="record 0: seed"):
        records_frame(bad)
    with pytest.raises(DataError, match="same run"):
        records_frame([esc50_run[0][0], dict(esc50_run[0][0])])


def test_records_frame_is_flat_with_required_columns_first(esc50_run):
    frame = records_frame(esc50_run[0])
    assert list(frame.columns[: len(REQUIRED_KEYS)]) == list(REQUIRED_KEYS)
    assert "params.epochs" in frame.columns
    assert len(frame) == len(esc50_run[0])


def test_summary_mean_and_std_match_numpy(esc50_run):
    records = esc50_run[0]
    summary = summary_frame(records)
    assert list(summary[["setting", "spec"]].itertuples(index=False, name=None)) == [
        ("category", "WLE"),
        ("category", "GLE"),
        ("category", "SLE"),
        ("esc10", "WLE"),
    ]
    for row in summary.itertuples(index=False):
        runs = [r for r in records if (r["setting"], r["spec"]) == (row.setting, row.spec)]
        for metric in ("top1", "map"):
            values = np.array([r[metric] for r in runs])
            assert getattr(row, f"{metric}_mean") == pytest.approx(values.mean())
            assert getattr(row, f"{metric}_std") == pytest.approx(values.std(ddof=0))
        assert row.n_runs == len(runs)
        assert row.n_seeds == len({r["seed"] for r in runs})
        assert row.n_folds == len({r["test_fold"] for r in runs})
    # The same from a frame as from records.
    pd.testing.assert_frame_equal(summary_frame(records_frame(records)), summary)


def test_spec_type():
    assert spec_type("WLE") == "label"
    assert spec_type("WLE+GLE+SLE") == "label"
    assert spec_type("BSE") == "sentence"
    assert spec_type("WSE+GSE+SSE") == "sentence"
    assert spec_type("WLE+SSE") == "hybrid"
    assert spec_type("gle+bse") == "hybrid"


def test_markdown_table_right_aligns_numbers():
    text = _markdown_table(pd.DataFrame({"name": ["a|b", "c"], "n": [1, 2], "score": ["0.100 ± 0.010", "–"]}))
    lines = text.splitlines()
    assert lines[0] == "| name | n | score |"
    assert lines[1] == "| --- | ---: | ---: |"
    assert lines[2] == "| a\\|b | 1 | 0.100 ± 0.010 |"


# --------------------------------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------------------------------


def test_esc50_markdown_puts_the_papers_values_beside_zsacs(esc50_run):
    records = esc50_run[0]
    text = esc50_markdown(records)
    category = text.split("### Setting `esc10`")[0]
    header = table_row(category, "Test fold")
    row = table_row(category, "Animal sounds")
    cells = dict(zip(header, row, strict=True))
    runs = [r for r in records if (r["setting"], r["spec"], r["test_fold"]) == ("category", "WLE", "Animal sounds")]
    top1 = np.array([r["top1"] for r in runs])
    assert plain(cells["WLE Top-1 zsac"]) == f"{top1.mean():.3f} ± {top1.std():.3f}"
    assert cells["WLE Top-1 paper"] == "0.26"
    assert cells["WLE mAP paper"] == "0.43"
    assert cells["GLE Top-1 paper"] == "0.18"
    assert cells["SLE Top-1 paper"] == "–"  # not in the paper
    averages = dict(zip(table_row(category, "Spec"), table_row(category, "WLE"), strict=True))
    assert averages["Top-1 paper"] == "0.23" and averages["mAP paper"] == "0.41"
    chance = random_guess_expectation(5)
    assert f"Chance level (random guess) with 5 test classes: mAP {chance.map:.3f} / Top-1 0.200" in category
    assert "(the paper quotes 0.29 / 0.10)" in category

    esc10 = text.split("### Setting `esc10`")[1]
    assert "seeded random partition of the classes present in a partial copy" in esc10
    assert "not comparable with the paper's numbers" in esc10
    chance = random_guess_expectation(2)
    assert f"2 test classes: mAP {chance.map:.3f} / Top-1 {chance.top1:.3f}" in esc10
    assert all("paper" not in cell for cell in table_row(esc10, "Test fold"))


def test_audioset_markdown_tables_ix_x_xi(audioset_run):
    records, predictions = audioset_run
    text = audioset_markdown(records, predictions)
    header = table_row(text, "Type")
    row = dict(zip(header, table_row(text, "WLE+GLE+BSE", column=1), strict=True))
    assert row["Type"] == "Hybrid"
    assert row["Top-1 paper (Setting 1)"] == "0.12" and row["mAP paper (Setting 1)"] == "0.20"
    top1 = np.array([r["top1"] for r in records if r["spec"] == "WLE+GLE+BSE"])
    assert row["Top-1 train3/vggish (a)"] == f"**{top1.mean():.3f} ± {top1.std():.3f}**"  # the best spec: bold
    sse = dict(zip(header, table_row(text, "SSE", column=1), strict=True))
    assert sse["Type"] == "Sentence" and sse["Top-1 paper (Setting 1)"] == "–"
    assert [line.split(" | ")[1] for line in text.split("### Averages")[0].splitlines() if "| " in line][2:] == [
        "WLE",
        "SSE",
        "GLE+BSE",
        "WLE+GLE+BSE",
    ]  # grouped by type, Table IX's order within a type
    assert "(a) zsac's `train3` trains the compatibility model on the three class folds" in text

    # Table X: label type's paper values.
    x_section = text.split("### Averages by type")[1].split("### McNemar")[0]
    label = dict(zip(table_row(x_section, "Type"), table_row(x_section, "Label"), strict=True))
    assert label["Top-1 paper (Setting 1)"] == "0.07"
    wle = np.array([r["top1"] for r in records if r["spec"] == "WLE"])
    assert plain(label["Top-1 train3/vggish (a)"]) == f"{wle.mean():.3f}"

    # Table XI: the two best specs by mean Top-1, paired by (seed, fold, clip).
    xi_section = text.split("### McNemar")[1]
    best = predictions[predictions["spec"] == "WLE+GLE+BSE"].sort_values(["seed", "test_fold", "clip"])
    second = predictions[predictions["spec"] == "GLE+BSE"].sort_values(["seed", "test_fold", "clip"])
    assert (best["clip"].to_numpy() == second["clip"].to_numpy()).all()
    classes = sorted(set(best["true"]) | set(best["predicted"]) | set(second["predicted"]))
    codes = {name: i for i, name in enumerate(classes)}
    labels = best["true"].map(codes).to_numpy()
    a, b = second["predicted"].map(codes).to_numpy(), best["predicted"].map(codes).to_numpy()
    only_second, only_best = mcnemar_counts(a, b, labels)
    both = int(((a == labels) & (b == labels)).sum())
    neither = len(labels) - both - only_second - only_best
    result = mcnemar_test(a, b, labels)
    header = table_row(xi_section, "Correct / incorrect predictions")
    assert header[1:] == ["WLE+GLE+BSE correct", "WLE+GLE+BSE incorrect"]
    assert table_row(xi_section, "GLE+BSE correct")[1:] == [str(both), str(only_second)]
    assert table_row(xi_section, "GLE+BSE incorrect")[1:] == [str(only_best), str(neither)]
    assert f"on {len(labels)} paired clips: statistic {result.statistic:.2f}, p = {result.p_value:.3g}" in xi_section
    table = contingency(predictions, row_spec="GLE+BSE", column_spec="WLE+GLE+BSE")
    assert (table.statistic, table.p_value) == (result.statistic, result.p_value)
    assert "1854 / 381 / 609 / 18533" in xi_section  # the paper's, for reference


def test_audioset_markdown_without_predictions_or_second_spec(audioset_run):
    records, predictions = audioset_run
    assert "No per-clip predictions were given" in audioset_markdown(records)
    only_wle = [r for r in records if r["spec"] == "WLE"]
    assert "McNemar's test needs two" in audioset_markdown(only_wle, predictions)
    esc50_only = [dict(records[0], dataset="esc50", setting="category", test_fold="Animal sounds")]
    assert "No AudioSet records." in audioset_markdown(esc50_only)


# --------------------------------------------------------------------------------------------------------------------
# Plots and the report directory
# --------------------------------------------------------------------------------------------------------------------


def test_plots_are_png_and_leave_the_backend_alone(esc50_run, tmp_path):
    records, predictions = esc50_run
    backend = matplotlib.get_backend()
    category = [r for r in records if r["setting"] == "category"]
    path = plot_per_fold(category, tmp_path / "bars.png", metric="map")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    one_fold = predictions[
        (predictions["setting"] == "category")
        & (predictions["spec"] == "WLE")
        & (predictions["seed"] == 0)
        & (predictions["test_fold"] == "Natural sounds")
    ]
    path = plot_confusion(one_fold, tmp_path / "confusion.png", title="WLE, Natural sounds")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert matplotlib.get_backend() == backend
    with pytest.raises(DataError, match="one"):
        plot_per_fold(records, tmp_path / "mixed.png")
    with pytest.raises(DataError, match="one spec"):  # it pools the runs (seeds, folds) of one spec
        plot_confusion(predictions, tmp_path / "mixed.png", title="all")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.png", "confusion.png"]


def test_write_report_writes_every_file_atomically(esc50_run, audioset_run, tmp_path):
    records = esc50_run[0] + audioset_run[0]
    predictions = pd.concat([esc50_run[1], audioset_run[1]], ignore_index=True)
    written = write_report(tmp_path / "report", records, predictions, notes=["A partial copy."])
    out = tmp_path / "report"
    summary = summary_frame(records)
    # A headline per (dataset, setting, acoustic); per-fold bars only where folds are the same classes in
    # every seed (ESC-50's paper partitions); per-class and confusion figures of the best spec with predictions.
    expected = {
        "results.csv",
        "summary.csv",
        "tables.md",
        "plots/esc50_category_vggish_headline.png",
        "plots/esc50_category_vggish_per_fold.png",
        "plots/esc50_category_vggish_per_class.png",
        "plots/esc50_category_vggish_confusions.png",
        "plots/esc50_esc10_vggish_headline.png",
        "plots/esc50_esc10_vggish_per_class.png",
        "plots/esc50_esc10_vggish_confusions.png",
        "plots/audioset_train3_vggish_headline.png",
        "plots/audioset_train3_vggish_per_class.png",
        "plots/audioset_train3_vggish_confusions.png",
    }
    assert set(written) == expected
    assert {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} == expected
    assert not [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    for name, path in written.items():
        assert path == out / name
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == PNG_SIGNATURE
    results = pd.read_csv(out / "results.csv")
    assert len(results) == len(records) and "params.epochs" in results.columns
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), summary, check_dtype=False)
    tables = (out / "tables.md").read_text(encoding="utf-8")
    assert tables.startswith("# ")
    assert "- A partial copy." in tables
    assert "## ESC-50" in tables and "## AudioSet" in tables
    # An empty predictions frame (as a results folder gives with no finished folds) counts as none.
    written = write_report(tmp_path / "bare", esc50_run[0][:3], pd.DataFrame())
    assert not [name for name in written if "confusion" in name or "per_class" in name]


# --------------------------------------------------------------------------------------------------------------------
# One record schema, the results folder's run log, runs and bold in the tables
# --------------------------------------------------------------------------------------------------------------------


def _fold_record(**changes) -> FoldRecord:
    values = dict(
        dataset="audioset", setting="train3", acoustic="released", spec="WLE+SSE", test_fold="Fold1", seed=3,
        top1=0.125, map=0.25, n_classes=75, n_clips=2030, lam=0.01, validation_top1={"0.0": 0.05, "0.01": 0.125},
        n_train_classes=226, seconds=1.5, extra={"params": {"epochs": 3}, "note": "x"},
    )  # fmt: skip
    return FoldRecord(**{**values, **changes})


def test_fold_record_round_trips_through_results_json_and_csv(tmp_path):
    record = _fold_record()
    assert tuple(record.to_dict())[: len(REQUIRED_KEYS)] == REQUIRED_KEYS and "lambda" in REQUIRED_KEYS
    assert FoldRecord.from_mapping(json.loads(json.dumps(record.to_dict()))) == record
    folder = ResultsFolder(tmp_path / "out", {"setting": "train3", "specs": ["WLE+SSE"], "seeds": [3]})
    predictions = pd.DataFrame({"clip": ["a", "b"], "true": ["Dog", "Cat"], "predicted": ["Dog", "Dog"],
                                "correct": [True, False]})  # fmt: skip
    folder.save_fold(record, predictions)
    stored = json.loads((tmp_path / "out" / "folds" / "WLE+SSE" / "seed3" / "Fold1.json").read_text())
    assert stored["lambda"] == 0.01 and stored["config_digest"] == folder.digest
    written = folder.write_results()
    expected = dataclasses.replace(record, config_digest=folder.digest)
    assert [FoldRecord.from_mapping(r) for r in json.loads((tmp_path / "out" / "results.json").read_text())] == [
        expected
    ]
    # A second record without the optional keys, a test fold named by digits: the CSV keeps both as they were.
    other = FoldRecord(
        dataset="esc50", setting="esc10", acoustic="vggish", spec="SLE", test_fold="01", seed=0,
        top1=0.5, map=0.75, n_classes=2, n_clips=64, lam=10.0,
    )  # fmt: skip
    write_report(tmp_path / "report", [*written, other])
    assert read_records_csv(tmp_path / "report" / "results.csv") == [expected, other]
    with pytest.raises(DataError, match="n_classes"):
        FoldRecord.from_mapping(dict(other.to_dict(), n_classes=0))
    with pytest.raises(DataError, match="seed='one' is not a valid int"):
        _fold_record(seed="one")  # built directly, a record is checked as one read from a file
    with pytest.raises(DataError, match="dataset=None"):
        _fold_record(dataset=None)
    assert _fold_record(seed="3", top1=np.float32(0.5)).seed == 3


def test_a_rerun_with_a_subset_appends_to_the_run_log_and_leaves_config_json(tmp_path):
    out = tmp_path / "out"
    protocol = {"command": "reproduce audioset", "setting": "train3", "lambda_grid": [0.0, 1.0]}
    first = ResultsFolder(out, {**protocol, "specs": ["WLE", "SSE"], "seeds": [0, 1], "device": None})
    first.log_run(ran=20, skipped=0, notes=["released"])
    config = (out / "config.json").read_bytes()
    assert json.loads(config)["config"] == protocol  # the protocol only: no specs, no seeds
    second = ResultsFolder(out, {**protocol, "specs": ["WLE"], "seeds": [1], "device": "cpu"})
    assert second.digest == first.digest
    second.log_run(ran=0, skipped=5)
    assert (out / "config.json").read_bytes() == config
    lines = (out / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 2
    entries = [json.loads(line) for line in lines]
    assert entries == second.runs()
    assert [e["scope"] for e in entries] == [
        {"specs": ["WLE", "SSE"], "seeds": [0, 1], "device": None},
        {"specs": ["WLE"], "seeds": [1], "device": "cpu"},
    ]
    assert [(e["ran"], e["skipped"]) for e in entries] == [(20, 0), (0, 5)] and entries[0]["notes"] == ["released"]
    assert entries[1]["versions"]["numpy"] == np.__version__ and entries[1]["digest"] == first.digest
    assert entries[0]["started"] <= entries[0]["finished"]
    # A hand-edited log whose last line lost its newline: the next entry goes on a line of its own.
    (out / "runs.jsonl").write_text("\n".join(lines))
    second.log_run(ran=1, skipped=0)
    assert (out / "runs.jsonl").read_text().splitlines()[:2] == lines and len(second.runs()) == 3
    with pytest.raises(ConfigError, match="another configuration.*lambda_grid"):
        ResultsFolder(out, {**protocol, "lambda_grid": [0.5]})
    with pytest.raises(ConfigError, match="ran"):
        second.log_run(ran=-1, skipped=0)
    # A config.json of an earlier zsac, which kept the last run's scope, is reduced to the protocol.
    old = tmp_path / "old"
    old.mkdir()
    digest = ResultsFolder(tmp_path / "probe", protocol).digest
    scoped = {**protocol, "specs": ["WLE"], "seeds": [1]}
    (old / "config.json").write_text(json.dumps({"digest": digest, "config": scoped, "versions": {}}))
    ResultsFolder(old, {**protocol, "specs": ["SSE"], "seeds": [0]})
    assert json.loads((old / "config.json").read_text()) == {"digest": digest, "config": protocol, "versions": {}}


@pytest.fixture(scope="module")
def unbalanced_run() -> list[dict]:
    """ESC-50 category runs where WLE has 3 seeds and GLE 2, so rows average different numbers of runs."""
    folds = list(esc50_category_folds())
    wle, _ = make_run("esc50", "category", {"WLE": 0.45}, folds, [0, 1, 2], seed=3)
    gle, _ = make_run("esc50", "category", {"GLE": 0.15}, folds, [0, 1], seed=4)
    return wle + gle


def test_tables_state_the_runs_of_each_row_and_bold_the_best(unbalanced_run, audioset_run):
    text = esc50_markdown(unbalanced_run)
    header = table_row(text, "Test fold")
    animal = dict(zip(header, table_row(text, "Animal sounds"), strict=True))
    assert animal["Runs"] == "WLE 3, GLE 2"
    averages = text.split("Averages")[1]
    columns = table_row(averages, "Spec")
    rows = {spec: dict(zip(columns, table_row(averages, spec), strict=True)) for spec in ("WLE", "GLE")}
    assert (rows["WLE"]["Runs"], rows["GLE"]["Runs"]) == ("15", "10")
    summary = summary_frame(unbalanced_run).set_index("spec")
    best = summary["top1_mean"].idxmax()
    worst = summary["top1_mean"].idxmin()
    assert rows[best]["Top-1 zsac"].startswith("**") and rows[best]["Top-1 zsac"].endswith("**")
    assert "**" not in rows[worst]["Top-1 zsac"]
    assert "**" not in rows[best]["Top-1 paper"]  # only zsac's columns are marked
    expected = f"{summary.loc[best, 'top1_mean']:.3f} ± {summary.loc[best, 'top1_std']:.3f}"
    assert plain(rows[best]["Top-1 zsac"]) == expected
    # In the per-fold table the best spec of each fold is bold, once per metric.
    for fold in esc50_category_folds():
        cells = dict(zip(header, table_row(text, fold), strict=True))
        for metric in ("Top-1", "mAP"):
            marked = [spec for spec in ("WLE", "GLE") if cells[f"{spec} {metric} zsac"].startswith("**")]
            assert len(marked) >= 1
    # A table where one spec was run: nothing competes, nothing is bold.
    single = esc50_markdown([r for r in unbalanced_run if r["spec"] == "WLE"])
    assert "**" not in single

    records = audioset_run[0]
    text = audioset_markdown(records)
    ix = text.split("### Averages")[0]
    header = table_row(ix, "Type")
    for spec in ("WLE", "SSE", "GLE+BSE", "WLE+GLE+BSE"):
        row = dict(zip(header, table_row(ix, spec, column=1), strict=True))
        assert row["Runs train3/vggish (a)"] == "4"  # 2 seeds × 2 folds
    bold = [line.split(" | ")[1] for line in ix.splitlines() if line.startswith("|") and "**" in line]
    assert bold == ["WLE+GLE+BSE"]
    x_section = text.split("### Averages by type")[1].split("### McNemar")[0]
    hybrid = dict(zip(table_row(x_section, "Type"), table_row(x_section, "Hybrid"), strict=True))
    assert hybrid["Runs train3/vggish (a)"] == "4" and hybrid["Top-1 train3/vggish (a)"].startswith("**")
    assert "the clips of 4 runs (seeds × test folds) pooled" in audioset_markdown(*audioset_run).split("### McNemar")[1]


def test_a_learner_key_splits_the_tables_and_the_summary(audioset_run):
    records = []
    for learner, shift in (("bilinear", 0.0), ("warp", 0.1)):
        records += [dict(r, learner=learner, top1=r["top1"] + shift) for r in audioset_run[0]]
    summary = summary_frame(records)
    assert list(summary.columns[:5]) == ["dataset", "setting", "acoustic", "learner", "spec"]
    assert len(summary) == 8 and set(summary["n_runs"]) == {4}
    text = audioset_markdown(records)
    assert "Top-1 train3/vggish/warp (a)" in table_row(text, "Type")
    with pytest.raises(DataError, match="same run"):
        records_frame([records[0], dict(records[0])])
    assert len(records_frame([records[0], dict(records[0], learner="other")])) == 2


def test_a_bad_argument_is_a_config_error_and_bad_content_a_data_error(esc50_run, tmp_path):
    records, predictions = esc50_run
    category = [r for r in records if r["setting"] == "category"]
    with pytest.raises(ConfigError, match="metric"):
        plot_per_fold(category, tmp_path / "bad.png", metric="accuracy")
    with pytest.raises(ConfigError, match="two specs"):
        contingency(predictions, row_spec="WLE", column_spec="WLE")
    with pytest.raises(DataError, match="not a valid float"):
        records_frame([dict(category[0], top1="high")])
    with pytest.raises(DataError, match="not a mapping"):
        records_frame([category[0], ["not", "a", "record"]])
    assert not list(tmp_path.iterdir())
