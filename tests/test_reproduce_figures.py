"""The figures of a reproduction run (zsac.reproduce.plots): one column wide, named, nothing covered."""

from __future__ import annotations

import struct

import matplotlib
import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer

from test_reproduce_report import make_run
from zsac.errors import ConfigError, DataError
from zsac.evaluation import random_guess_expectation
from zsac.protocols import esc50_category_folds
from zsac.reproduce import paper, plots
from zsac.reproduce.records import summary_frame

WIDTH_PX = round(plots.COLUMN_WIDTH * plots.DPI)


def png_size(path) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def drawn(fig):
    """``fig`` after a draw, so that extents and the constrained layout are final."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def paper_markers(ax) -> list:
    return [line for line in ax.get_lines() if line.get_marker() == "D"]


def cap_lines(ax) -> list:
    return [line for container in ax.containers if isinstance(container, ErrorbarContainer) for line in container[1]]


@pytest.fixture(scope="module")
def category():
    return make_run("esc50", "category", {"WLE": 0.3, "GLE": 0.2, "SLE": 0.25}, list(esc50_category_folds()), [0, 1])


@pytest.fixture(scope="module")
def many_classes():
    """AudioSet-like predictions of one spec: 40 classes, 2 folds."""
    return make_run("audioset", "train3", {"WLE": 0.4}, ["Fold0", "Fold1"], [0], n_classes=20, clips_per_class=6)


def test_headline_is_one_column_with_two_panels_chance_and_the_papers_values(category, tmp_path):
    records, _ = category
    rc = dict(matplotlib.rcParams)
    backend = matplotlib.get_backend()
    fig = drawn(plots.headline_figure(records))
    top1, mean_ap = fig.axes[:2]
    assert [tick.get_text() for tick in top1.get_yticklabels()] == ["WLE", "GLE", "SLE"]
    assert top1.get_xlabel() == "Top-1 accuracy" and "mAP" in mean_ap.get_xlabel()
    assert fig.get_suptitle().replace("\n", " ").startswith("ESC-50, classes split by category")
    # The paper's Table VIII beside WLE and GLE (SLE is not in the paper), in both panels.
    markers = paper_markers(top1)
    assert sorted(marker.get_xdata()[0] for marker in markers) == sorted(
        [paper.TABLE_VIII["category", "WLE"].top1, paper.TABLE_VIII["category", "GLE"].top1]
    )
    assert len(paper_markers(mean_ap)) == 2
    chance = [line for line in top1.get_lines() if line.get_linestyle() not in ("None", "")]
    assert any(np.allclose(line.get_xdata(), random_guess_expectation(5).top1) for line in chance)
    # Error bars with caps (10 runs per spec), and a legend below the axes that covers no bar.
    caps = cap_lines(top1)
    assert caps and all(cap.get_marker() == "|" and cap.get_markersize() > 0 for cap in caps)
    legend = fig.legends[0].get_window_extent()
    for ax in fig.axes:
        assert not overlaps(legend, ax.get_window_extent())
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "zsac, mean ± std over 10 runs (2 seeds × 5 test folds)" in labels and "paper (Table VIII)" in labels
    assert all(text.get_fontsize() <= 8 for text in [*fig.texts, *fig.legends[0].get_texts()])
    assert top1.xaxis.label.get_fontsize() == 8 and top1.get_yticklabels()[0].get_fontsize() == 7
    path = plots.save_figure(fig, tmp_path / "headline.png")
    assert png_size(path)[0] == WIDTH_PX
    assert dict(matplotlib.rcParams) == rc and matplotlib.get_backend() == backend


def test_headline_draws_the_paper_only_where_comparable(category, many_classes):
    records, _ = category
    released = [dict(r, acoustic="released") for r in records]
    assert not paper_markers(plots.headline_figure(released).axes[0])
    esc10 = [dict(r, setting="esc10") for r in records]
    assert not paper_markers(plots.headline_figure(esc10).axes[0])
    train3, _ = many_classes
    assert not paper_markers(plots.headline_figure(train3).axes[0])
    setting1 = [dict(r, setting="setting1", acoustic="vggish") for r in train3]
    fig = plots.headline_figure(setting1)
    assert [m.get_xdata()[0] for m in paper_markers(fig.axes[0])] == [paper.TABLE_IX["WLE", 1].top1]
    assert "released VGGish embeddings, compatibility trained on 3 folds" in plots.describe_setting(
        "audioset", "train3", "released"
    )


def test_headline_groups_learners_and_says_how_many_runs_when_they_differ(category):
    records, _ = category
    two = [dict(r, learner="bilinear") for r in records] + [
        dict(r, learner="warp", top1=r["top1"] / 2) for r in records if r["seed"] == 0
    ]
    fig = drawn(plots.headline_figure(two, metrics=("top1",)))
    ax = fig.axes[0]
    assert len(ax.patches) == 6  # 3 specs × 2 learners
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "learner bilinear" in labels and "learner warp" in labels
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["WLE (n=10/5)", "GLE (n=10/5)", "SLE (n=10/5)"]


def test_one_run_per_bar_draws_no_error_bar(category):
    records, _ = category
    one = [r for r in records if r["seed"] == 0 and r["test_fold"] == "Animal sounds"]
    fig = plots.headline_figure(one)
    assert not cap_lines(fig.axes[0])
    fig = drawn(plots.per_fold_figure([r for r in records if r["seed"] == 0]))
    assert not cap_lines(fig.axes[0])
    assert "1 seed, so no error bars" in fig.get_suptitle().replace("\n", " ")
    fig = drawn(plots.per_fold_figure(records))
    assert cap_lines(fig.axes[0])
    assert [tick.get_text() for tick in fig.axes[0].get_yticklabels()] == list(esc50_category_folds())
    assert len(paper_markers(fig.axes[0])) == 10  # Table VI: 5 folds × WLE, GLE
    legend = fig.legends[0].get_window_extent()
    assert not any(overlaps(legend, ax.get_window_extent()) for ax in fig.axes)


def test_per_class_names_every_class_sorted_or_the_best_and_worst(category, many_classes):
    _, predictions = category
    wle = predictions[(predictions["spec"] == "WLE")]
    long_name = "Interior/domestic sounds_class0"
    assert len(long_name) > 30
    short = {name: f"{name[:3]}{name[-1]}" for name in wle["true"].unique() if name != long_name}
    wle = wle.assign(true=wle["true"].replace(short), predicted=wle["predicted"].replace(short))
    fig = drawn(plots.per_class_figure(wle, title="ESC-50"))
    (ax,) = fig.axes
    names = [tick.get_text() for tick in ax.get_yticklabels()]
    accuracy = wle.groupby("true")["correct"].mean()
    cut = "Interior/domestic sounds_clas…"  # long names are cut to 30 characters, so the bars keep their room
    assert sorted(names) == sorted(cut if name == long_name else name for name in accuracy.index)
    assert len(names) == 25 and cut in names
    assert [accuracy[long_name if name == cut else name] for name in names] == sorted(accuracy, reverse=True)
    assert "WLE" in fig.get_suptitle() and "10 runs pooled" in fig.get_suptitle().replace("\n", " ")

    _, many = many_classes
    fig = drawn(plots.per_class_figure(many, top=5))
    best, worst = fig.axes
    assert "5 best" in best.get_title(loc="left") and "5 worst" in worst.get_title(loc="left")
    accuracy = many.groupby("true")["correct"].mean()
    shown = [tick.get_text() for ax in fig.axes for tick in ax.get_yticklabels()]
    assert len(shown) == 10 and set(shown) <= set(accuracy.index)
    assert accuracy[shown[0]] == accuracy.max() and accuracy[shown[-1]] == accuracy.min()
    assert fig.get_size_inches()[0] == plots.COLUMN_WIDTH
    with pytest.raises(ConfigError, match="top"):
        plots.per_class_figure(many, top=0)
    with pytest.raises(DataError, match="one spec"):
        plots.per_class_figure(predictions)


def test_confusions_name_the_most_frequent_pairs(category):
    _, predictions = category
    wle = predictions[predictions["spec"] == "WLE"]
    fig = drawn(plots.confusion_figure(wle, top=4))
    (ax,) = fig.axes
    wrong = wle[~wle["correct"]]
    counts = wrong.groupby(["true", "predicted"]).size().sort_values(ascending=False, kind="stable")
    pairs = [text.get_text() for text in ax.texts if "→" in text.get_text()]
    assert len(pairs) == 4
    assert pairs[0] in {f"{t} → {p}" for (t, p), n in counts.items() if n == counts.iloc[0]}
    widths = [patch.get_width() for patch in ax.patches]
    assert widths == sorted(widths, reverse=True) and widths[0] == counts.iloc[0]
    shares = [text.get_text() for text in ax.texts if text.get_text().endswith("%)")]
    assert len(shares) == 4
    assert "true → predicted" in fig.get_suptitle().replace("\n", " ")
    assert fig.get_size_inches()[0] == plots.COLUMN_WIDTH
    perfect = wle.assign(predicted=wle["true"], correct=True)
    assert "no test clip was misclassified" in [t.get_text() for t in plots.confusion_figure(perfect).axes[0].texts]


def test_a_bad_metric_is_a_config_error(category):
    records, predictions = category
    for bad in ("accuracy", "top1 "):
        with pytest.raises(ConfigError, match="metric"):
            plots.headline_figure(records, metrics=(bad,))
        with pytest.raises(ConfigError, match="metric"):
            plots.per_fold_figure(records, metrics=("top1", bad))
    with pytest.raises(ConfigError, match="metrics"):
        plots.headline_figure(records, metrics="top1")
    with pytest.raises(DataError, match="one \\(dataset, setting, acoustic\\)"):
        plots.headline_figure(records + [dict(records[0], setting="random")])
    wrong = predictions.assign(correct="maybe")
    with pytest.raises(DataError, match="correct"):
        plots.per_class_figure(wrong[wrong["spec"] == "WLE"])
    summary = summary_frame(records)
    assert set(summary["n_runs"]) == {10}


def test_seen_unseen_axes_reach_the_dots_beyond_the_curve():
    """A model that never names an unseen class: its dot at (S, U = 0) lies far right of where the curve ends."""
    curve = [0.6, *[0.0] * 100]  # U > 0 only at S = 0
    base = {"dataset": "own", "setting": "2_class_folds", "acoustic": "vggish", "spec": "WLE", "seed": 0,
            "top1": 0.5, "map": 0.7, "n_classes": 2, "n_clips": 10, "lambda": 1.0, "gzsl_curve": curve}  # fmt: skip
    gzsl = {"seen": 0.7, "unseen": 0.0, "h": 0.0, "seen_uncalibrated": 0.8, "unseen_uncalibrated": 0.0,
            "h_uncalibrated": 0.0, "ausuc": 0.01}  # fmt: skip
    fig = plots.seen_unseen_figure([{**base, "test_fold": f"Fold{k}", "gzsl": gzsl} for k in range(2)])
    assert fig.axes[0].get_xlim()[1] >= 0.8
