"""Class folds and train/validation/test settings of the paper's zero-shot experiments.

Zero-shot learning splits *classes*, not clips: the test classes are never heard by the
acoustic model (VGGish) nor seen by the bilinear compatibility model. This module holds

* ESC-50's two class partitions, by sound category (Table I) and at random (Table II),
  and the 5-fold class cross-validation run over them (Section V-B1);
* the AudioSet subset's selection (single-label clips, classes under-sampled to at most
  1,500 clips; Section V-A), its count-stratified class folds (Section V-C1, Table III)
  and the two data settings of Table IV;
* :class:`ClassSplit`, one step of such a protocol, which checks the zero-shot invariants.

Everything here is a pure function; the random ones take a ``seed`` and give the same
result for the same seed.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Hashable, Iterable, Mapping, Sequence
from types import MappingProxyType

import numpy as np

from .errors import ConfigError

__all__ = [
    "ESC50_CLASSES",
    "ClassSplit",
    "esc50_category_folds",
    "esc50_random_folds",
    "cross_validation_splits",
    "esc50_splits",
    "random_class_folds",
    "single_label_clips",
    "clips_within_classes",
    "label_indicator_matrix",
    "undersample_classes",
    "seen_class_holdout",
    "SEEN_HOLDOUT_FRACTION",
    "audioset_class_folds",
    "audioset_setting_split",
    "audioset_rotation_splits",
]

# Table I: ESC-50's five high-level categories, ten classes each, in the table's order.
# Names are ESC-50's official snake_case categories (meta/esc50.csv's ``category`` column).
_ESC50_CATEGORY_FOLDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Animal sounds": (
            "dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow",
        ),
        "Natural sounds": (
            "rain", "sea_waves", "crackling_fire", "crickets", "chirping_birds", "water_drops", "wind",
            "pouring_water", "toilet_flush", "thunderstorm",
        ),
        "Human sounds": (
            "crying_baby", "sneezing", "clapping", "breathing", "coughing", "footsteps", "laughing",
            "brushing_teeth", "snoring", "drinking_sipping",
        ),
        "Interior/domestic sounds": (
            "door_wood_knock", "mouse_click", "keyboard_typing", "door_wood_creaks", "can_opening",
            "washing_machine", "vacuum_cleaner", "clock_alarm", "clock_tick", "glass_breaking",
        ),
        "Exterior/urban noises": (
            "helicopter", "chainsaw", "siren", "car_horn", "engine", "train", "church_bells", "airplane",
            "fireworks", "hand_saw",
        ),
    }
)  # fmt: skip

# Table II: the paper's random class folds, each in the table's (alphabetical) order.
_ESC50_RANDOM_FOLDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Fold0": (
            "brushing_teeth", "church_bells", "clock_tick", "cow", "drinking_sipping", "fireworks", "helicopter",
            "mouse_click", "pig", "washing_machine",
        ),
        "Fold1": (
            "clapping", "crickets", "glass_breaking", "hand_saw", "keyboard_typing", "laughing", "siren",
            "sneezing", "thunderstorm", "vacuum_cleaner",
        ),
        "Fold2": (
            "breathing", "chainsaw", "chirping_birds", "coughing", "door_wood_creaks", "door_wood_knock", "frog",
            "pouring_water", "rain", "train",
        ),
        "Fold3": (
            "airplane", "can_opening", "crying_baby", "engine", "footsteps", "hen", "insects", "rooster",
            "snoring", "toilet_flush",
        ),
        "Fold4": (
            "car_horn", "cat", "clock_alarm", "crackling_fire", "crow", "dog", "sea_waves", "sheep", "water_drops",
            "wind",
        ),
    }
)  # fmt: skip

#: ESC-50's 50 classes in the order of its ``target`` index (0 = dog ... 49 = hand_saw),
#: which is also Table I's order read category by category.
ESC50_CLASSES: tuple[str, ...] = tuple(name for fold in _ESC50_CATEGORY_FOLDS.values() for name in fold)

_ESC50_PARTITIONS = {"category": _ESC50_CATEGORY_FOLDS, "random": _ESC50_RANDOM_FOLDS}
_ROTATION_ACOUSTIC = ("disjoint", "zsl", "none")
_ROTATION_ZSL_TRAINING = ("one", "rest")
_AUDIOSET_SETTINGS = (1, 2)


# --------------------------------------------------------------------------------------------------------------------
# One step of a protocol
# --------------------------------------------------------------------------------------------------------------------


def _duplicates(items: Sequence[Hashable]) -> list[Hashable]:
    seen: set[Hashable] = set()
    repeated: list[Hashable] = []
    for item in items:
        if item in seen and item not in repeated:
            repeated.append(item)
        seen.add(item)
    return repeated


def _as_class_tuple(classes: Sequence[Hashable], *, what: str) -> tuple[Hashable, ...]:
    if isinstance(classes, (str, bytes)):
        # A bare string would silently become a tuple of its characters.
        raise ConfigError(f"{what} must be a sequence of classes, got the string {classes!r}")
    classes = tuple(classes)
    for item in classes:
        if not isinstance(item, Hashable):
            raise ConfigError(f"{what} holds the unhashable class {item!r}; classes must be hashable (str or int)")
    repeated = _duplicates(classes)
    if repeated:
        raise ConfigError(f"{what} lists the classes {repeated} more than once")
    return classes


@dataclasses.dataclass(frozen=True)
class ClassSplit:
    """Which classes each model sees in one step of a zero-shot protocol.

    Parameters
    ----------
    name : str
        Name of the step; by convention the name of its test fold (``"Fold4"``, ``"Animal sounds"``).
    acoustic : tuple of hashable
        Classes the acoustic model (VGGish) is trained and early-stopped on (Sections V-B2, V-C2).
        Never overlaps ``test``. May be empty when the acoustic model comes from elsewhere.
    train : tuple of hashable
        Classes the bilinear compatibility model is trained on while λ is chosen.
    validation : tuple of hashable
        Classes on which λ is chosen.
    test : tuple of hashable
        The unseen classes that zero-shot classification is evaluated on.
    refit : bool
        Whether, once λ is chosen, the final bilinear model is trained on ``train + validation``
        (:attr:`seen`) rather than kept as trained on ``train`` alone.

    Raises
    ------
    ConfigError
        If ``train``, ``validation`` or ``test`` is empty, a field lists a class twice, two of
        ``train``/``validation``/``test`` share classes, or ``test`` shares classes with ``acoustic``;
        the message names the classes at fault.

    Notes
    -----
    Classes are any hashable: ESC-50's snake_case names, or AudioSet class indices.
    Sequences are stored as tuples so that a split can be hashed and compared.
    """

    name: str
    acoustic: tuple[Hashable, ...]
    train: tuple[Hashable, ...]
    validation: tuple[Hashable, ...]
    test: tuple[Hashable, ...]
    refit: bool

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"ClassSplit name must be a non-empty str, got {self.name!r}")
        if not isinstance(self.refit, (bool, np.bool_)):
            raise ConfigError(f"ClassSplit {self.name!r}: refit must be a bool, got {self.refit!r}")
        # frozen: fields are normalised through object.__setattr__.
        object.__setattr__(self, "refit", bool(self.refit))
        for field in ("acoustic", "train", "validation", "test"):
            object.__setattr__(self, field, _as_class_tuple(getattr(self, field), what=f"{self.name!r} {field}"))
        for field in ("train", "validation", "test"):
            if not getattr(self, field):
                raise ConfigError(f"ClassSplit {self.name!r}: {field} classes must not be empty")
        # Zero-shot requires that the test classes are unseen by *both* models; validation must
        # also be apart from train, or choosing λ would measure seen-class accuracy.
        pairs = [("train", "validation"), ("train", "test"), ("validation", "test"), ("acoustic", "test")]
        for first, second in pairs:
            first_classes = set(getattr(self, first))
            shared = [item for item in getattr(self, second) if item in first_classes]
            if shared:
                raise ConfigError(f"ClassSplit {self.name!r}: {first} and {second} share the classes {shared}")

    @property
    def seen(self) -> tuple[Hashable, ...]:
        """``train + validation``, in that order: the classes the final bilinear model may see."""
        return self.train + self.validation


# --------------------------------------------------------------------------------------------------------------------
# Fold helpers
# --------------------------------------------------------------------------------------------------------------------


def _checked_folds(folds: Mapping[str, Sequence[Hashable]], *, minimum: int) -> list[tuple[str, tuple[Hashable, ...]]]:
    """``folds`` as (name, classes) pairs in mapping order, after checking it is a partition."""
    if not isinstance(folds, Mapping):
        raise ConfigError(f"folds must be a mapping of fold name to classes, got {type(folds).__name__}")
    if len(folds) < minimum:
        raise ConfigError(f"this protocol needs at least {minimum} folds, got {len(folds)}: {list(folds)}")
    named = [(str(name), _as_class_tuple(classes, what=f"fold {name!r}")) for name, classes in folds.items()]
    empty = [name for name, classes in named if not classes]
    if empty:
        raise ConfigError(f"the folds {empty} have no classes")
    # Class folds must be disjoint, or a test class would leak into training.
    repeated = _duplicates([item for _, classes in named for item in classes])
    if repeated:
        raise ConfigError(f"the classes {repeated} appear in more than one fold")
    return named


def _concatenate(named: list[tuple[str, tuple[Hashable, ...]]], indices: Sequence[int]) -> tuple[Hashable, ...]:
    return tuple(item for index in indices for item in named[index][1])


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"seed must be an int, got {seed!r}")
    return int(seed)


# --------------------------------------------------------------------------------------------------------------------
# ESC-50 (Section V-B)
# --------------------------------------------------------------------------------------------------------------------


def esc50_category_folds() -> dict[str, tuple[str, ...]]:
    """ESC-50's category-based class folds, Table I.

    Returns
    -------
    dict of str to tuple of str
        Keys are the paper's categories in table order ("Animal sounds", "Natural sounds",
        "Human sounds", "Interior/domestic sounds", "Exterior/urban noises"); values are the
        category's 10 classes as ESC-50 snake_case names, in the table's order. A fresh dict.
    """
    return dict(_ESC50_CATEGORY_FOLDS)


def esc50_random_folds() -> dict[str, tuple[str, ...]]:
    """ESC-50's random class folds of the paper, Table II.

    Returns
    -------
    dict of str to tuple of str
        Keys ``"Fold0"`` .. ``"Fold4"``; values the fold's 10 classes (snake_case) in the table's order.
        A fresh dict.
    """
    return dict(_ESC50_RANDOM_FOLDS)


def cross_validation_splits(folds: Mapping[str, Sequence[Hashable]], *, validation_offset: int = 1) -> list[ClassSplit]:
    """Class cross-validation over disjoint class folds (Section V-B1).

    Step ``k`` tests on fold ``k``; the other folds are the training folds. The paper trains the
    bilinear model on all of them ("Four class folds ... are used to train the bilinear
    compatibility framework") and VGGish on the same folds (Section V-B2). To choose λ, one
    training fold is held out: the paper does not say which, so we take the next fold
    cyclically, ``(k + validation_offset) mod n_folds``; the bilinear model is trained on the
    remaining folds while λ is chosen and then refit on all training folds (``refit=True``).

    Parameters
    ----------
    folds : mapping of str to sequence of hashable
        Disjoint, non-empty class folds, at least 3, in protocol order.
    validation_offset : int, keyword-only
        Position of the λ-validation fold relative to the test fold; any value that is not a
        multiple of ``n_folds``.

    Returns
    -------
    list of ClassSplit
        ``n_folds`` splits, named after their test fold. ``acoustic`` and ``seen`` hold the
        training folds' classes; ``train`` lists the remaining folds in mapping order.

    Raises
    ------
    ConfigError
        If fewer than 3 folds, overlapping or empty folds, or ``validation_offset`` picks the test fold.
    """
    named = _checked_folds(folds, minimum=3)
    n_folds = len(named)
    if isinstance(validation_offset, bool) or not isinstance(validation_offset, (int, np.integer)):
        raise ConfigError(f"validation_offset must be an int, got {validation_offset!r}")
    if validation_offset % n_folds == 0:
        raise ConfigError(
            f"validation_offset={validation_offset} makes the validation fold the test fold (n_folds={n_folds}); "
            "use an offset that is not a multiple of the number of folds, e.g. 1"
        )
    splits = []
    for test_index in range(n_folds):
        validation_index = (test_index + validation_offset) % n_folds
        training_indices = [index for index in range(n_folds) if index != test_index]
        splits.append(
            ClassSplit(
                name=named[test_index][0],
                acoustic=_concatenate(named, training_indices),  # Section V-B2: same folds as the bilinear model
                train=_concatenate(named, [index for index in training_indices if index != validation_index]),
                validation=named[validation_index][1],
                test=named[test_index][1],
                refit=True,  # Section V-B1: the final bilinear model sees all four training folds
            )
        )
    return splits


def esc50_splits(partition: str = "category", *, validation_offset: int = 1) -> list[ClassSplit]:
    """The paper's 5-fold class cross-validation on ESC-50 (Section V-B1).

    Parameters
    ----------
    partition : {"category", "random"}
        Class folds by sound category (Table I) or the paper's random folds (Table II).
    validation_offset : int, keyword-only
        See :func:`cross_validation_splits`.

    Returns
    -------
    list of ClassSplit
        Five splits of 40 training classes (``acoustic`` and ``seen``) and 10 test classes.

    Raises
    ------
    ConfigError
        For an unknown ``partition``.
    """
    if partition not in _ESC50_PARTITIONS:
        raise ConfigError(f"unknown ESC-50 partition {partition!r}; choose one of {sorted(_ESC50_PARTITIONS)}")
    return cross_validation_splits(_ESC50_PARTITIONS[partition], validation_offset=validation_offset)


def random_class_folds(classes: Sequence[Hashable], *, n_folds: int, seed: int) -> dict[str, tuple[Hashable, ...]]:
    """Seeded random partition of classes into folds of near-equal size (e.g. ESC-10: 5 folds of 2).

    Parameters
    ----------
    classes : sequence of hashable, shape [n_classes]
        Distinct classes.
    n_folds : int, keyword-only
        Number of folds, ``2 <= n_folds <= n_classes``.
    seed : int, keyword-only
        Seed of ``np.random.default_rng``.

    Returns
    -------
    dict of str to tuple of hashable
        Keys ``"Fold0"`` .. ; fold sizes differ by at most one (the first folds are the larger ones);
        each fold's classes keep their order in ``classes``.

    Raises
    ------
    ConfigError
        If ``n_folds`` is out of range or ``classes`` lists a class twice.
    """
    classes = _as_class_tuple(classes, what="classes")
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or not 2 <= n_folds <= len(classes):
        raise ConfigError(f"n_folds must be an int in [2, {len(classes)}] (the number of classes), got {n_folds!r}")
    rng = np.random.default_rng(_check_seed(seed))
    shuffled_positions = rng.permutation(len(classes))
    return {
        f"Fold{index}": tuple(classes[position] for position in np.sort(chunk))
        for index, chunk in enumerate(np.array_split(shuffled_positions, int(n_folds)))
    }


# --------------------------------------------------------------------------------------------------------------------
# AudioSet (Sections V-A and V-C1)
# --------------------------------------------------------------------------------------------------------------------


def single_label_clips(labels: Sequence[Sequence[int]]) -> np.ndarray:
    """Clips with exactly one distinct label (Section V-A: only single-label clips are used).

    Parameters
    ----------
    labels : sequence of sequence of int, shape [n_clips][n_labels_of_clip]
        Class indices of each clip; a class repeated in one clip's list counts once.

    Returns
    -------
    numpy.ndarray of int64, shape [n_single]
        Ascending indices of the single-label clips.
    """
    keep = [index for index, clip_labels in enumerate(labels) if len(set(np.ravel(clip_labels).tolist())) == 1]
    return np.asarray(keep, dtype=np.int64)


def _class_set(classes: Sequence[int], *, what: str) -> set[int]:
    """``classes`` as a set of ints, refusing a bare string and non-integer entries."""
    if isinstance(classes, (str, bytes)):
        raise ConfigError(f"{what} must be a sequence of class indices, got the string {classes!r}")
    values = np.ravel(np.asarray(classes, dtype=object)).tolist()
    bad = [value for value in values if isinstance(value, bool) or not isinstance(value, (int, np.integer))]
    if bad:
        raise ConfigError(f"{what} must hold int class indices, got {bad[:5]}")
    return {int(value) for value in values}


def clips_within_classes(
    labels: Sequence[Sequence[int]], allowed: Sequence[int], *, exclude: Sequence[int] = ()
) -> np.ndarray:
    """Clips, single- or multi-label, whose labels all belong to ``allowed`` and none to ``exclude``.

    The multi-label clips a zero-shot model may train on: a clip that carries any class outside
    the training classes is never returned, so no validation or test class can leak into a fit
    through a clip's second label. ``exclude`` (e.g. validation + test classes) is redundant
    with ``allowed`` but states the rule explicitly; a class in both is a mistake and refused.

    Parameters
    ----------
    labels : sequence of sequence of int, shape [n_clips][n_labels_of_clip]
        Class indices of each clip (e.g. :attr:`~zsac.datasets.AudioSetEmbeddings.labels`);
        a class repeated in one clip's list counts once.
    allowed : sequence of int
        The classes a returned clip may carry (the training classes).
    exclude : sequence of int, keyword-only
        Classes no returned clip may carry.

    Returns
    -------
    numpy.ndarray of int64, shape [n_kept]
        Ascending indices of the clips with at least one label, all of them in ``allowed``
        and none in ``exclude``. A clip with no labels is never returned.

    Raises
    ------
    ConfigError
        If ``allowed`` is empty, a class is not an int, or ``allowed`` and ``exclude`` share classes.
    """
    allowed_set = _class_set(allowed, what="allowed")
    excluded = _class_set(exclude, what="exclude")
    if not allowed_set:
        raise ConfigError("allowed must name at least one class")
    shared = sorted(allowed_set & excluded)
    if shared:
        raise ConfigError(f"allowed and exclude share the classes {shared[:10]}")
    # Only clips whose label sets are non-empty subsets of allowed; allowed and exclude being disjoint,
    # such a clip carries no excluded class either.
    keep = [
        index
        for index, clip_labels in enumerate(labels)
        if (classes := set(np.ravel(clip_labels).tolist())) and classes <= allowed_set
    ]
    return np.asarray(keep, dtype=np.int64)


def label_indicator_matrix(labels: Sequence[Sequence[int]], classes: Sequence[int]) -> np.ndarray:
    """Each clip's labels as one row of booleans over an ordered class list.

    Parameters
    ----------
    labels : sequence of sequence of int, shape [n_clips][n_labels_of_clip]
        Class indices of each clip; every one must be in ``classes``
        (select the clips with :func:`clips_within_classes` first).
    classes : sequence of int, shape [n_classes]
        The columns, in order (e.g. a split's training classes); no repeats.

    Returns
    -------
    numpy.ndarray of bool, shape [n_clips, n_classes]
        ``[i, j]`` is True when clip ``i`` carries ``classes[j]``; the labels argument of
        :meth:`~zsac.compatibility.Bilinear.fit` for multi-label clips.

    Raises
    ------
    ConfigError
        If ``classes`` repeats a class or a clip carries a class not in ``classes``.
    """
    column = {}
    for position, item in enumerate(_as_class_tuple(classes, what="classes")):
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            raise ConfigError(f"classes must hold int class indices, got {item!r}")
        column[int(item)] = position
    labels = list(labels)
    matrix = np.zeros((len(labels), len(column)), dtype=bool)
    for index, clip_labels in enumerate(labels):
        for label in np.ravel(clip_labels).tolist():
            if label not in column:
                raise ConfigError(
                    f"clip {index} carries the class {label}, which is not among the {len(column)} classes"
                )
            matrix[index, column[label]] = True
    return matrix


def undersample_classes(labels: np.ndarray, *, max_per_class: int = 1500, seed: int) -> np.ndarray:
    """Randomly under-sample the most populated classes (Section V-A: at most 1,500 clips per class).

    Parameters
    ----------
    labels : numpy.ndarray of int, shape [n_clips]
        The class of each (single-label) clip.
    max_per_class : int, keyword-only
        Cap on the clips kept per class; classes at or below it are kept whole.
    seed : int, keyword-only
        Seed of ``np.random.default_rng``.

    Returns
    -------
    numpy.ndarray of int64, shape [n_kept]
        Ascending indices of the clips kept.

    Raises
    ------
    ConfigError
        If ``labels`` is not a 1-D integer array or ``max_per_class < 1``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not (np.issubdtype(labels.dtype, np.integer) or labels.size == 0):
        raise ConfigError(
            f"labels must be a 1-D integer array (one class per clip), got shape {labels.shape} "
            f"and dtype {labels.dtype}"
        )
    if isinstance(max_per_class, bool) or not isinstance(max_per_class, (int, np.integer)) or max_per_class < 1:
        raise ConfigError(f"max_per_class must be a positive int, got {max_per_class!r}")
    rng = np.random.default_rng(_check_seed(seed))
    kept = []
    # Classes in ascending order, so that the random draws do not depend on the clips' order of classes.
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if members.size > max_per_class:
            members = rng.choice(members, size=int(max_per_class), replace=False)
        kept.append(members)
    return np.sort(np.concatenate(kept)).astype(np.int64) if kept else np.zeros(0, dtype=np.int64)


#: Share of each seen class's clips kept out of every fit, to test generalised zero-shot
#: classification on seen classes (Xian et al.'s GBU protocol holds out 20% likewise).
SEEN_HOLDOUT_FRACTION = 0.2


def seen_class_holdout(
    clip_classes: Sequence[Hashable], classes: Iterable[Hashable], *, fraction: float = SEEN_HOLDOUT_FRACTION, seed: int
) -> np.ndarray:
    """A seeded share of each class's clips, held out of training to test seen classes later.

    Each class of ``classes`` loses ``round(fraction × n)`` of its ``n`` clips, but always keeps at
    least one for training. The draw for a class depends only on ``seed`` and the class itself
    (not on which other classes are asked for), so a class held out in one rotation of a protocol
    loses the same clips in every other.

    Parameters
    ----------
    clip_classes : sequence of hashable [shape=(n_clips,)]
        The class of each clip (a clip of a class outside ``classes`` is never held out).
    classes : iterable of hashable
        The seen classes.
    fraction : float, keyword-only
        In [0, 1).
    seed : int, keyword-only

    Returns
    -------
    np.ndarray [shape=(n_clips,), dtype=bool]
        True for the clips held out.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
        raise ConfigError(f"the held-out fraction must be a number in [0, 1), got {fraction!r}")
    seed = _check_seed(seed)
    clip_classes = list(clip_classes)
    members: dict[Hashable, list[int]] = {}
    wanted = set(classes)
    for index, label in enumerate(clip_classes):
        if label in wanted:
            members.setdefault(label, []).append(index)
    held = np.zeros(len(clip_classes), dtype=bool)
    for label, indices in members.items():
        n_out = min(int(round(fraction * len(indices))), len(indices) - 1)
        if n_out <= 0:
            continue
        rng = np.random.default_rng([seed, zlib.crc32(repr(label).encode("utf-8"))])
        held[rng.choice(np.asarray(indices), size=n_out, replace=False)] = True
    return held


def _count_bins(
    classes: np.ndarray, counts: np.ndarray, *, n_bins: int, bin_edges: Sequence[int] | None, rng: np.random.Generator
) -> list[np.ndarray]:
    """Classes grouped into clip-count bins (classes as int64 arrays; empty bins dropped)."""
    if bin_edges is None:
        # The paper gives no bin edges (Fig. 2 only shows nine bins): equal-frequency bins, so every bin holds
        # enough classes to give each fold a share. Ties in count are ordered at random (seeded).
        tie_break = rng.permutation(classes.size)
        by_count = tie_break[np.argsort(counts[tie_break], kind="stable")]
        return [classes[chunk] for chunk in np.array_split(by_count, n_bins)]
    edges = np.asarray(bin_edges)
    if edges.ndim != 1 or edges.size == 0 or not np.issubdtype(edges.dtype, np.integer) or np.any(np.diff(edges) <= 0):
        raise ConfigError(f"bin_edges must be strictly increasing ints, got {list(bin_edges)}")
    # Bin b holds counts in [edges[b-1], edges[b]): len(edges) + 1 bins.
    bin_of_class = np.searchsorted(edges, counts, side="right")
    return [classes[bin_of_class == b] for b in range(edges.size + 1) if np.any(bin_of_class == b)]


def audioset_class_folds(
    clip_counts: Mapping[int, int],
    *,
    seed: int,
    n_folds: int = 5,
    n_bins: int = 9,
    bin_edges: Sequence[int] | None = None,
) -> dict[str, tuple[int, ...]]:
    """Class folds with similar numbers of classes and clips, stratified by clip count (Section V-C1).

    The paper arranges the classes into nine bins by their number of clips, splits each bin at
    random into five equal-size groups and builds each fold from one group of every bin, chosen at
    random without replacement (Table III). A bin whose size is not a multiple of ``n_folds`` has
    groups one class larger than the others; the larger groups go to the folds that have had the
    fewest so far (ties at random), so that fold sizes differ by at most one overall
    (521 classes -> 104, 104, 104, 104, 105 as in Table III).

    Parameters
    ----------
    clip_counts : mapping of int to int
        Number of clips of each class (class index -> count); counts must be positive.
    seed : int, keyword-only
        Seed of ``np.random.default_rng``. The result depends only on the mapping's contents, not its order.
    n_folds : int, keyword-only
        Number of class folds (the paper: 5).
    n_bins : int, keyword-only
        Number of clip-count bins (the paper: 9). The paper gives no bin edges, so the bins are
        equal-frequency: classes sorted by count (ties in random order) and cut into ``n_bins``
        contiguous near-equal chunks (``np.array_split``). Not used when ``bin_edges`` is given.
    bin_edges : sequence of int or None, keyword-only
        Explicit, strictly increasing clip-count edges instead: bin ``b`` holds the classes with
        ``bin_edges[b-1] <= count < bin_edges[b]`` (``len(bin_edges) + 1`` bins; empty bins are skipped).

    Returns
    -------
    dict of str to tuple of int
        Keys ``"Fold0"`` .. ; each fold's class indices in ascending order.

    Raises
    ------
    ConfigError
        If a count is not a positive int, ``n_folds < 2``, ``n_bins < 1``, ``bin_edges`` is not
        increasing, or a (non-empty) bin has fewer than ``n_folds`` classes, which could not give
        every fold a class of that bin.
    """
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ConfigError(f"n_folds must be an int >= 2, got {n_folds!r}")
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ConfigError(f"n_bins must be a positive int, got {n_bins!r}")
    if not isinstance(clip_counts, Mapping):
        raise ConfigError(f"clip_counts must map class index to clip count, got {type(clip_counts).__name__}")
    bad = {
        key: value
        for key, value in clip_counts.items()
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0
    }
    if bad:
        raise ConfigError(f"clip counts must be positive ints; got {bad}")
    bad_keys = [key for key in clip_counts if isinstance(key, bool) or not isinstance(key, (int, np.integer))]
    if bad_keys:
        raise ConfigError(f"classes must be int class indices; got {bad_keys}")
    if bin_edges is None and len(clip_counts) < n_folds * n_bins:
        raise ConfigError(
            f"{len(clip_counts)} classes cannot fill {n_bins} bins of at least n_folds={n_folds} classes each; "
            f"use n_bins <= {max(len(clip_counts) // n_folds, 1)}"
        )
    rng = np.random.default_rng(_check_seed(seed))
    # Sorted by class index so that the mapping's order does not change the result.
    classes = np.asarray(sorted(int(key) for key in clip_counts), dtype=np.int64)
    counts = np.asarray([int(clip_counts[key]) for key in classes.tolist()], dtype=np.int64)
    bins = _count_bins(classes, counts, n_bins=int(n_bins), bin_edges=bin_edges, rng=rng)
    small = [b for b, members in enumerate(bins) if members.size < n_folds]
    if small:
        sizes = [int(members.size) for members in bins]
        raise ConfigError(
            f"clip-count bins {small} hold fewer than n_folds={n_folds} classes (bin sizes {sizes}); "
            "use fewer bins (or merge bin_edges)"
        )
    fold_members: list[list[int]] = [[] for _ in range(n_folds)]
    larger_groups_received = np.zeros(n_folds, dtype=np.int64)
    for members in bins:
        shuffled = rng.permutation(members)
        base_size, n_larger = divmod(shuffled.size, n_folds)
        # Folds that have had the fewest larger groups get this bin's larger groups, so that the final
        # fold sizes differ by at most one; random order among equals keeps the choice random.
        fold_order = rng.permutation(n_folds)
        by_need = fold_order[np.argsort(larger_groups_received[fold_order], kind="stable")]
        group_sizes = np.full(n_folds, base_size)
        group_sizes[by_need[:n_larger]] += 1
        larger_groups_received[by_need[:n_larger]] += 1
        # Slicing a random permutation into groups = a random split into groups of these sizes.
        boundaries = np.cumsum(group_sizes)[:-1]
        for fold, group in enumerate(np.split(shuffled, boundaries)):
            fold_members[fold].extend(group.tolist())
    return {f"Fold{fold}": tuple(sorted(members)) for fold, members in enumerate(fold_members)}


def audioset_rotation_splits(
    folds: Mapping[str, Sequence[int]], *, acoustic: str = "disjoint", zsl_training: str = "one"
) -> list[ClassSplit]:
    """Table IV's data setting rotated over all folds, or its variant that trains on every remaining fold.

    Rotation ``r`` of ``n`` folds (in mapping order) tests on fold ``(r + n - 1) % n`` and chooses λ on fold
    ``(r + n - 2) % n``. With ``zsl_training="one"`` the bilinear model trains on fold ``(r + n - 3) % n``
    alone — for ``n = 5`` that is Fold4 / Fold3 / Fold2 at ``r = 0``, as in Table IV. With
    ``zsl_training="rest"`` it trains on all ``n - 2`` other folds (Fold0–Fold2 at ``r = 0``), which suits an
    acoustic model that was not trained on any fold (AudioSet's released embeddings). ``refit`` is False:
    Table IV lists ZSL training and ZSL validation as separate folds.

    Parameters
    ----------
    folds : mapping of str to sequence of int
        Disjoint class folds, e.g. from :func:`audioset_class_folds`.
    acoustic : {"disjoint", "zsl", "none"}, keyword-only
        ``"disjoint"`` (Setting 1): VGGish is trained on folds ``r`` and ``r + 1``, which the zero-shot
        model never uses (needs ``n >= 5`` and ``zsl_training="one"``). ``"zsl"`` (Setting 2): VGGish is
        trained on the zero-shot training and validation folds (needs ``n >= 3``). ``"none"``: no acoustic
        classes, for an acoustic model that comes from elsewhere.
    zsl_training : {"one", "rest"}, keyword-only
        Train the bilinear model on one fold (Table IV) or on every fold that is neither validation nor test.

    Returns
    -------
    list of ClassSplit
        ``n`` splits, named after their test fold; with ``zsl_training="one"`` the first equals
        :func:`audioset_setting_split` with setting 1 (``"disjoint"``) or 2 (``"zsl"``).

    Raises
    ------
    ConfigError
        For an unknown ``acoustic`` or ``zsl_training``, ``"disjoint"`` with ``"rest"`` (no fold would be
        left for VGGish), too few folds, or overlapping/empty folds.
    """
    if acoustic not in _ROTATION_ACOUSTIC:
        raise ConfigError(f"unknown acoustic setting {acoustic!r}; choose one of {list(_ROTATION_ACOUSTIC)}")
    if zsl_training not in _ROTATION_ZSL_TRAINING:
        raise ConfigError(f"unknown zsl_training {zsl_training!r}; choose one of {list(_ROTATION_ZSL_TRAINING)}")
    if acoustic == "disjoint" and zsl_training == "rest":
        raise ConfigError("acoustic='disjoint' needs folds apart from the zero-shot ones; use zsl_training='one'")
    named = _checked_folds(folds, minimum=5 if acoustic == "disjoint" else 3)
    n_folds = len(named)
    splits = []
    for rotation in range(n_folds):
        test_index = (rotation + n_folds - 1) % n_folds
        validation_index = (rotation + n_folds - 2) % n_folds
        if zsl_training == "one":
            train_indices = [(rotation + n_folds - 3) % n_folds]
        else:
            train_indices = [(rotation + k) % n_folds for k in range(n_folds - 2)]
        if acoustic == "disjoint":
            acoustic_indices = [rotation % n_folds, (rotation + 1) % n_folds]  # Table IV, Setting 1: Fold0, Fold1
        elif acoustic == "zsl":
            acoustic_indices = [*train_indices, validation_index]  # Table IV, Setting 2: Fold2, Fold3
        else:
            acoustic_indices = []
        splits.append(
            ClassSplit(
                name=named[test_index][0],
                acoustic=_concatenate(named, acoustic_indices),
                train=_concatenate(named, train_indices),
                validation=named[validation_index][1],
                test=named[test_index][1],
                refit=False,  # Table IV: ZSL training and ZSL validation are separate folds
            )
        )
    return splits


def audioset_setting_split(folds: Mapping[str, Sequence[int]], setting: int) -> ClassSplit:
    """One of Table IV's two data settings on the AudioSet class folds (Section V-C1).

    Both settings train the bilinear model on Fold2, choose λ on Fold3 and test on Fold4, with
    ``refit=False`` because Table IV lists ZSL training and ZSL validation separately. VGGish is trained
    on Fold0 + Fold1 in Setting 1 (classes the zero-shot model never uses) and on Fold2 + Fold3 in
    Setting 2 (the zero-shot training and validation classes).

    Parameters
    ----------
    folds : mapping of str to sequence of int
        The class folds in order Fold0 .. Fold4 (mapping order is what counts), e.g. from
        :func:`audioset_class_folds`.
    setting : {1, 2}
        Table IV's setting.

    Returns
    -------
    ClassSplit
        Named after the test fold.

    Raises
    ------
    ConfigError
        For an unknown ``setting``, too few folds, or overlapping/empty folds.
    """
    if isinstance(setting, bool) or setting not in _AUDIOSET_SETTINGS:
        raise ConfigError(f"unknown AudioSet data setting {setting!r}; choose one of {list(_AUDIOSET_SETTINGS)}")
    return audioset_rotation_splits(folds, acoustic="disjoint" if setting == 1 else "zsl")[0]
