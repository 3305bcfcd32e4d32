"""The paper's published results as data (Xie & Virtanen, TASLP 2021, Tables VI-XI).

Every number is transcribed from the paper's text, two decimals as printed; nothing is
computed. Scores are :class:`PaperScore` ``(map, top1)`` pairs, in that order because the
paper's tables print mAP before Top-1.

Fold names
----------
The paper names ESC-50's category folds "Animal sounds", "Natural sounds", "Human sounds",
"Interior/domestic sounds" and "Exterior/urban noises" (Tables I and VI) and its random
folds "Fold0"-"Fold4" (Tables II and VII). Elsewhere in zsac the *classes* of these folds
are ESC-50's snake_case names (``"sea_waves"``), but the *fold* keys are the paper's names:
the keys used here are exactly those of :func:`zsac.protocols.esc50_category_folds` and
:func:`zsac.protocols.esc50_random_folds`, so these tables join on ``test_fold`` with the
records of a reproduction run. AudioSet's test fold is ``"Fold4"`` in both data settings
(Table IV).

Specs
-----
Semantic embedding specs are written as in zsac (:func:`zsac.semantic.parse_spec`), parts
upper-case and joined by ``+`` in the paper's order, e.g. ``"WLE+GLE+BSE"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "PaperScore",
    "Contingency",
    "ESC50_CATEGORY_FOLDS",
    "ESC50_RANDOM_FOLDS",
    "ESC50_SPECS",
    "TABLE_VI",
    "TABLE_VII",
    "TABLE_VIII",
    "AUDIOSET_SPECS",
    "AUDIOSET_SPEC_TYPES",
    "TABLE_IX",
    "TABLE_X",
    "TABLE_XI",
    "RANDOM_GUESS",
    "AUDIOSET_TEST_FOLD",
    "esc50_fold_table",
]


class PaperScore(NamedTuple):
    """One cell pair of the paper's tables: mAP and Top-1 accuracy."""

    map: float
    top1: float


class Contingency(NamedTuple):
    """A 2x2 contingency table of two systems' correct/incorrect predictions (Table XI).

    ``row_spec`` labels the rows and ``column_spec`` the columns, as printed in the paper.
    """

    row_spec: str
    column_spec: str
    both_correct: int
    row_correct_column_incorrect: int
    row_incorrect_column_correct: int
    both_incorrect: int
    statistic: float
    p_value: float

    @property
    def n_samples(self) -> int:
        """All paired samples (the four cells' sum)."""
        return (
            self.both_correct
            + self.row_correct_column_incorrect
            + self.row_incorrect_column_correct
            + self.both_incorrect
        )


#: Table I / VI row order; equal to ``tuple(zsac.protocols.esc50_category_folds())``.
ESC50_CATEGORY_FOLDS: tuple[str, ...] = (
    "Animal sounds",
    "Natural sounds",
    "Human sounds",
    "Interior/domestic sounds",
    "Exterior/urban noises",
)
#: Table II / VII row order; equal to ``tuple(zsac.protocols.esc50_random_folds())``.
ESC50_RANDOM_FOLDS: tuple[str, ...] = ("Fold0", "Fold1", "Fold2", "Fold3", "Fold4")
#: The label embeddings evaluated on ESC-50 (Tables VI-VIII), in column order.
ESC50_SPECS: tuple[str, ...] = ("WLE", "GLE", "WLE+GLE")


def _esc50_rows(rows: Mapping[str, tuple[float, ...]]) -> Mapping[tuple[str, str], PaperScore]:
    # Each row reads mAP, Top-1 for WLE, GLE and WLE+GLE in turn, as printed.
    table = {}
    for fold, values in rows.items():
        for index, spec in enumerate(ESC50_SPECS):
            table[fold, spec] = PaperScore(map=values[2 * index], top1=values[2 * index + 1])
    return MappingProxyType(table)


#: Table VI, "Zero-shot classification on ESC-50 with category partition strategy":
#: ``(test fold, spec) -> (mAP, Top-1)``.
TABLE_VI: Mapping[tuple[str, str], PaperScore] = _esc50_rows(
    {
        "Animal sounds": (0.43, 0.26, 0.37, 0.18, 0.38, 0.20),
        "Natural sounds": (0.52, 0.33, 0.42, 0.24, 0.42, 0.24),
        "Human sounds": (0.33, 0.18, 0.35, 0.20, 0.34, 0.18),
        "Interior/domestic sounds": (0.37, 0.21, 0.38, 0.21, 0.38, 0.21),
        "Exterior/urban noises": (0.38, 0.19, 0.40, 0.21, 0.39, 0.21),
    }
)

#: Table VII, "Zero-shot classification on ESC-50 with random partition strategy":
#: ``(test fold, spec) -> (mAP, Top-1)``.
TABLE_VII: Mapping[tuple[str, str], PaperScore] = _esc50_rows(
    {
        "Fold0": (0.47, 0.28, 0.45, 0.26, 0.46, 0.26),
        "Fold1": (0.56, 0.39, 0.61, 0.46, 0.61, 0.45),
        "Fold2": (0.50, 0.33, 0.50, 0.33, 0.52, 0.34),
        "Fold3": (0.51, 0.31, 0.50, 0.31, 0.52, 0.33),
        "Fold4": (0.50, 0.29, 0.47, 0.26, 0.46, 0.27),
    }
)

#: Table VIII, "Averaged performance on ESC-50 with different partition strategies":
#: ``(strategy, spec) -> (mAP, Top-1)``, strategy ``"category"`` (category-based) or
#: ``"random"`` (random-based), zsac's names of the two partitions.
TABLE_VIII: Mapping[tuple[str, str], PaperScore] = MappingProxyType(
    {
        ("category", "WLE"): PaperScore(0.41, 0.23),
        ("category", "GLE"): PaperScore(0.38, 0.21),
        ("category", "WLE+GLE"): PaperScore(0.38, 0.21),
        ("random", "WLE"): PaperScore(0.51, 0.32),
        ("random", "GLE"): PaperScore(0.51, 0.32),
        ("random", "WLE+GLE"): PaperScore(0.52, 0.33),
    }
)


def esc50_fold_table(strategy: str) -> Mapping[tuple[str, str], PaperScore] | None:
    """Table VI for ``"category"``, Table VII for ``"random"``, else ``None`` (not in the paper)."""
    return {"category": TABLE_VI, "random": TABLE_VII}.get(strategy)


#: The 15 semantic embeddings of Tables V and IX, in the tables' row order.
AUDIOSET_SPECS: tuple[str, ...] = (
    "WLE",
    "GLE",
    "WLE+GLE",
    "WSE",
    "GSE",
    "BSE",
    "WSE+GSE",
    "WSE+BSE",
    "GSE+BSE",
    "WSE+GSE+BSE",
    "WLE+WSE",
    "GLE+GSE",
    "WLE+BSE",
    "GLE+BSE",
    "WLE+GLE+BSE",
)

#: Table V's "Type" column: ``spec -> "label" | "sentence" | "hybrid"``.
AUDIOSET_SPEC_TYPES: Mapping[str, str] = MappingProxyType(
    {spec: "label" for spec in AUDIOSET_SPECS[:3]}
    | {spec: "sentence" for spec in AUDIOSET_SPECS[3:10]}
    | {spec: "hybrid" for spec in AUDIOSET_SPECS[10:]}
)

#: The test class fold of both AudioSet data settings (Table IV).
AUDIOSET_TEST_FOLD = "Fold4"

_TABLE_IX_ROWS: dict[str, tuple[float, float, float, float]] = {
    # spec: Setting 1 mAP, Top-1, Setting 2 mAP, Top-1
    "WLE": (0.15, 0.06, 0.15, 0.06),
    "GLE": (0.14, 0.06, 0.14, 0.06),
    "WLE+GLE": (0.17, 0.08, 0.19, 0.08),
    "WSE": (0.16, 0.07, 0.16, 0.07),
    "GSE": (0.15, 0.06, 0.15, 0.06),
    "BSE": (0.17, 0.08, 0.14, 0.07),
    "WSE+GSE": (0.16, 0.08, 0.17, 0.09),
    "WSE+BSE": (0.14, 0.08, 0.17, 0.08),
    "GSE+BSE": (0.18, 0.08, 0.17, 0.09),
    "WSE+GSE+BSE": (0.16, 0.08, 0.18, 0.09),
    "WLE+WSE": (0.18, 0.07, 0.18, 0.07),
    "GLE+GSE": (0.17, 0.07, 0.21, 0.11),
    "WLE+BSE": (0.21, 0.10, 0.19, 0.10),
    "GLE+BSE": (0.20, 0.11, 0.20, 0.11),
    "WLE+GLE+BSE": (0.20, 0.12, 0.20, 0.11),
}

#: Table IX, "Zero-shot classification on the extracted subset of AudioSet via different
#: semantic embeddings with two data settings": ``(spec, setting) -> (mAP, Top-1)``, setting
#: 1 or 2 of Table IV (VGGish trained on Fold0+Fold1 or on Fold2+Fold3; the compatibility
#: trained on Fold2, validated on Fold3, tested on Fold4 in both).
TABLE_IX: Mapping[tuple[str, int], PaperScore] = MappingProxyType(
    {
        (spec, setting): PaperScore(map=values[2 * setting - 2], top1=values[2 * setting - 1])
        for spec, values in _TABLE_IX_ROWS.items()
        for setting in (1, 2)
    }
)

#: Table X, "Averaged performance across semantic embeddings on two data settings of the
#: extracted subset of AudioSet": ``(type, setting) -> (mAP, Top-1)``, type ``"label"``,
#: ``"sentence"`` or ``"hybrid"`` (averages over the specs of that type in Table IX).
TABLE_X: Mapping[tuple[str, int], PaperScore] = MappingProxyType(
    {
        ("label", 1): PaperScore(0.15, 0.07),
        ("label", 2): PaperScore(0.16, 0.07),
        ("sentence", 1): PaperScore(0.16, 0.08),
        ("sentence", 2): PaperScore(0.16, 0.08),
        ("hybrid", 1): PaperScore(0.19, 0.09),
        ("hybrid", 2): PaperScore(0.20, 0.10),
    }
)

#: Table XI, "Contingency table for semantic embeddings WLE+GLE+BSE and GLE+BSE in AudioSet"
#: (Setting 1, test fold Fold4: 21,377 clips, Table III): rows GLE+BSE, columns WLE+GLE+BSE,
#: with the McNemar statistic (52.05) and p-value (5.41e-13) quoted in Section VI-B.
TABLE_XI = Contingency(
    row_spec="GLE+BSE",
    column_spec="WLE+GLE+BSE",
    both_correct=1854,
    row_correct_column_incorrect=381,
    row_incorrect_column_correct=609,
    both_incorrect=18533,
    statistic=52.05,
    p_value=5.41e-13,
)

#: The random-guess levels the paper quotes, ``dataset -> (mAP, Top-1)``: ESC-50 folds of
#: 10 classes (Section VI-A) and AudioSet's test fold of 105 classes (Section VI-B).
RANDOM_GUESS: Mapping[str, PaperScore] = MappingProxyType(
    {"esc50": PaperScore(0.29, 0.10), "audioset": PaperScore(0.05, 0.01)}
)
