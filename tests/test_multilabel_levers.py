"""Levers beyond the paper: multi-label training clips, WARP with several positives, frame
pooling beyond the mean and ontology-aware class texts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from zsac.acoustic.pooling import clip_means, clip_statistics
from zsac.compatibility import Bilinear, rank_weight_table, warp_gradient, warp_objective, warp_score_gradient
from zsac.compatibility.warp import positive_pairs
from zsac.datasets.audioset import AudioSetEmbeddings
from zsac.errors import ConfigError, DataError
from zsac.protocols import clips_within_classes, label_indicator_matrix
from zsac.semantic.side_info import ClassInfo, with_ontology_context

# --- multi-label training clips -------------------------------------------------------------------------------------


def test_clips_within_classes_hand_case():
    labels = [[1], [1, 2], [3], [], [2, 2], np.array([1, 4]), (0,)]
    assert clips_within_classes(labels, [1, 2], exclude=[3, 4]).tolist() == [0, 1, 4]
    assert clips_within_classes(labels, [0, 1, 2, 3, 4]).tolist() == [0, 1, 2, 4, 5, 6]  # never the empty clip
    assert clips_within_classes([], [1]).dtype == np.int64


@pytest.mark.parametrize("seed", range(3))
def test_no_returned_clip_carries_a_validation_or_test_class(seed):
    rng = np.random.default_rng(seed)
    train, validation, test = list(range(0, 12)), list(range(12, 16)), list(range(16, 20))
    labels = [rng.choice(20, size=rng.integers(1, 5), replace=True).tolist() for _ in range(500)]
    kept = clips_within_classes(labels, train, exclude=validation + test)
    held_out = set(validation + test)
    expected = [i for i, clip in enumerate(labels) if not held_out & set(clip)]  # every class is in one fold
    assert kept.tolist() == expected
    assert all(not held_out & set(labels[i]) for i in kept)
    assert any(len(set(labels[i])) > 1 for i in kept)  # multi-label clips are kept, not only single-label ones
    # a clip with one training class and one held-out class is the case that must never leak
    assert not any(set(labels[i]) & set(train) and set(labels[i]) & held_out for i in kept)


@pytest.mark.parametrize(
    "allowed, exclude, message",
    [([], (), "at least one class"), ([1, 2], [2], "share the classes"), ("12", (), "string"), ([1.5], (), "int")],
)
def test_clips_within_classes_rejects_bad_class_lists(allowed, exclude, message):
    with pytest.raises(ConfigError, match=message):
        clips_within_classes([[1]], allowed, exclude=exclude)


def test_label_indicator_matrix_follows_the_class_order():
    matrix = label_indicator_matrix([[7], [7, 3], [3, 3]], [3, 7])
    assert matrix.dtype == bool
    assert matrix.tolist() == [[False, True], [True, True], [True, False]]
    with pytest.raises(ConfigError, match="clip 1 carries the class 9"):
        label_indicator_matrix([[7], [9]], [3, 7])
    with pytest.raises(ConfigError, match="more than once"):
        label_indicator_matrix([[7]], [7, 7])


# --- WARP with several positives ------------------------------------------------------------------------------------


def multi_label_problem(seed=0, n=15, acoustic_dim=5, semantic_dim=7, n_classes=6, scale=0.7):
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=(n, acoustic_dim))
    W = rng.normal(scale=scale, size=(acoustic_dim, semantic_dim))
    phi = rng.normal(size=(n_classes, semantic_dim))
    positives = np.zeros((n, n_classes), dtype=bool)
    for row in positives:
        row[rng.choice(n_classes, size=rng.integers(1, 4), replace=False)] = True
    assert (positives.sum(axis=1) > 1).any() and (positives.sum(axis=1) == 1).any()
    return theta, W, phi, positives


def reference_multi_warp(theta, W, phi, positives, lam, delta=1.0):
    """The multi-positive objective sample by sample, positive by positive, negative by negative."""
    total = 0.0
    for x, row in zip(theta, positives, strict=True):
        score = [float(x @ W @ z) for z in phi]
        terms = []
        for p in np.flatnonzero(row):
            hinges = [delta + score[y] - score[p] for y in np.flatnonzero(~row)]
            violated = [h for h in hinges if h > 0]
            rank = len(violated)
            beta = sum(1.0 / i for i in range(1, rank + 1))
            terms.append(beta / rank * sum(violated) if rank else 0.0)
        total += np.mean(terms)
    return total / len(theta) + lam * float(np.sum(W * W))


@pytest.mark.parametrize("seed", range(3))
def test_multi_positive_objective_matches_the_loop_reference(seed):
    theta, W, phi, positives = multi_label_problem(seed)
    assert warp_objective(theta, W, phi, positives, 0.2) == pytest.approx(
        reference_multi_warp(theta, W, phi, positives, 0.2), rel=1e-12
    )
    # 0/1 integers are an indicator matrix too
    assert warp_objective(theta, W, phi, positives.astype(int), 0.2) == warp_objective(theta, W, phi, positives, 0.2)


def test_single_positive_rows_of_a_mixed_matrix_are_their_eq9_terms():
    theta, W, phi, positives = multi_label_problem(4)
    n = len(theta)
    for i in np.flatnonzero(positives.sum(axis=1) == 1):
        others = np.delete(np.arange(n), i)
        # the objective's sum minus all other samples' contribution is sample i's own term
        term_i = n * warp_objective(theta, W, phi, positives, 0.0) - (n - 1) * warp_objective(
            theta[others], W, phi, positives[others], 0.0
        )
        eq9 = warp_objective(theta[i : i + 1], W, phi, np.flatnonzero(positives[i]), 0.0)
        assert term_i == pytest.approx(eq9, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_multi_positive_gradient_matches_finite_differences(seed):
    theta, W, phi, positives = multi_label_problem(seed)
    gradient = warp_gradient(theta, W, phi, positives, 0.3)
    rng = np.random.default_rng(seed + 10)
    for _ in range(5):
        direction = rng.normal(size=W.shape)
        step = 1e-6
        numeric = (
            warp_objective(theta, W + step * direction, phi, positives, 0.3)
            - warp_objective(theta, W - step * direction, phi, positives, 0.3)
        ) / (2 * step)
        assert numeric == pytest.approx(float(np.sum(gradient * direction)), rel=1e-6)


@pytest.mark.parametrize("scale", [0.05, 0.7, 3.0])
def test_torch_multi_positive_kernel_matches_numpy_definition(scale):
    theta, W, phi, positives = multi_label_problem(1, n=40, scale=scale)
    scores = torch.as_tensor(theta @ W @ phi.T)
    table = torch.as_tensor(rank_weight_table(len(phi)))
    loss, score_gradient = warp_score_gradient(scores.clone(), torch.as_tensor(positives), table)
    assert float(loss) == pytest.approx(warp_objective(theta, W, phi, positives, 0.0), rel=1e-12)
    gradient = theta.T @ score_gradient.numpy() @ phi
    np.testing.assert_allclose(gradient, warp_gradient(theta, W, phi, positives, 0.0), rtol=1e-10, atol=1e-13)
    # the layout computed once per fit gives the same numbers
    pairs = positive_pairs(torch.as_tensor(positives), torch.float64)
    same_loss, same_gradient = warp_score_gradient(scores.clone(), pairs, table)
    assert float(same_loss) == float(loss)
    torch.testing.assert_close(same_gradient, score_gradient, rtol=0, atol=0)


def test_a_positive_is_never_a_violator_of_another_positive():
    # scores (a, b, c) = (2, 0, -5) with positives {a, b}: were b compared with a, the hinge 1 + 2 - 0 = 3
    # would push a down; over the negative c alone every margin is met, so the loss and its gradient are zero.
    phi = np.eye(3)
    theta = np.ones((1, 1))
    W = np.array([[2.0, 0.0, -5.0]])
    positives = np.array([[True, True, False]])
    assert warp_objective(theta, W, phi, positives, 0.0) == 0.0
    np.testing.assert_array_equal(warp_gradient(theta, W, phi, positives, 0.0), 0.0)
    # the same scores with b's other positive a treated as a negative would not be zero: a real difference
    assert warp_objective(theta, W, phi, np.array([1]), 0.0) > 0.0
    loss, score_gradient = warp_score_gradient(
        torch.as_tensor(theta @ W @ phi.T), torch.as_tensor(positives), torch.as_tensor(rank_weight_table(3))
    )
    assert float(loss) == 0.0 and not score_gradient.any()


@pytest.mark.parametrize("seed", range(3))
def test_descent_never_lowers_a_positive_score(seed):
    # ∂loss/∂F(x, p) ≤ 0 at every positive p: a gradient step only raises positive scores.
    theta, W, phi, positives = multi_label_problem(seed, n=60, scale=2.0)
    loss, score_gradient = warp_score_gradient(
        torch.as_tensor(theta @ W @ phi.T), torch.as_tensor(positives), torch.as_tensor(rank_weight_table(len(phi)))
    )
    assert float(loss) > 0
    assert (score_gradient.numpy()[positives] <= 0).all()
    assert (score_gradient.numpy()[~positives] >= 0).all()


def clip_problem(seed=0, n=300, n_classes=8, two_positive_share=0.5):
    """Clips that sound like the sum of their classes, a share of them with two classes."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_classes, 6))
    phi = latent @ rng.normal(size=(6, 12))
    positives = np.zeros((n, n_classes), dtype=bool)
    for row in positives:
        row[rng.choice(n_classes, size=2 if rng.random() < two_positive_share else 1, replace=False)] = True
    theta = positives @ latent @ rng.normal(size=(6, 10)) + 0.2 * rng.normal(size=(n, 10))
    return theta, positives, phi


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_one_positive_indicator_is_bit_identical_to_integer_labels(solver):
    theta, positives, phi = clip_problem(two_positive_share=0.0)
    labels = np.argmax(positives, axis=1)
    W = np.random.default_rng(0).normal(size=(theta.shape[1], phi.shape[1]))
    assert warp_objective(theta, W, phi, positives, 0.1) == warp_objective(theta, W, phi, labels, 0.1)
    np.testing.assert_array_equal(
        warp_gradient(theta, W, phi, positives, 0.1), warp_gradient(theta, W, phi, labels, 0.1)
    )
    by_matrix = Bilinear(lam=0.01, solver=solver, max_iter=5).fit(theta, positives, phi)
    by_labels = Bilinear(lam=0.01, solver=solver, max_iter=5).fit(theta, labels, phi)
    np.testing.assert_array_equal(by_matrix.W_, by_labels.W_)
    assert by_matrix.objective_ == by_labels.objective_


@pytest.mark.parametrize("solver, max_iter", [("lbfgs", 60), ("adam", 30), ("sgd", 5)])
def test_bilinear_fits_multi_label_clips(solver, max_iter):
    theta, positives, phi = clip_problem(n=150)
    model = Bilinear(lam=0.001, solver=solver, max_iter=max_iter).fit(theta, positives, phi)
    assert model.objective_ == pytest.approx(warp_objective(theta, model.W_, phi, positives, 0.001), rel=1e-12)
    assert model.objective_ < 0.7 * warp_objective(theta, np.zeros_like(model.W_), phi, positives, 0.001)


def both_positives_on_top(model, theta, positives, phi):
    """Share of the two-class clips whose two positives both score above all their negatives."""
    scores = model.decision_function(theta, phi)
    two = positives.sum(axis=1) == 2
    lowest_positive = np.where(positives, scores, np.inf).min(axis=1)
    highest_negative = np.where(positives, -np.inf, scores).max(axis=1)
    return float(np.mean(lowest_positive[two] > highest_negative[two]))


@pytest.mark.parametrize("seed", range(2))
def test_several_positives_rank_both_classes_of_a_clip_on_top(seed):
    # Against the naive alternative of one single-label copy per (clip, class), which makes each copy push the
    # clip's other class down as a violator, the multi-positive loss keeps both classes above the negatives.
    theta, positives, phi = clip_problem(seed=seed, n=150)
    rows, cols = np.nonzero(positives)
    multi = Bilinear(lam=0.001).fit(theta, positives, phi)
    copies = Bilinear(lam=0.001).fit(theta[rows], cols, phi)
    assert (
        both_positives_on_top(multi, theta, positives, phi) > both_positives_on_top(copies, theta, positives, phi) + 0.1
    )


def test_indicator_labels_are_checked():
    theta, positives, phi = clip_problem(n=20)
    empty = positives.copy()
    empty[3] = False
    for labels, message in [
        (empty, "no positive"),
        (positives[:, :5], "indicator matrix"),
        (positives * 2, "only 0 and 1"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Bilinear().fit(theta, labels, phi)


# --- frame pooling beyond the mean ----------------------------------------------------------------------------------


def release_of(n_frames, seed=0):
    """An in-memory release: clips of the given frame counts, frames dequantised from random bytes."""
    rng = np.random.default_rng(seed)
    offsets = np.concatenate([[0], np.cumsum(n_frames)]).astype(np.int64)
    frames = (rng.integers(0, 256, size=(offsets[-1], 128)) / 255 * 4 - 2).astype(np.float32)
    n = len(n_frames)
    return AudioSetEmbeddings(
        video_id=np.array([f"v{i}" for i in range(n)]),
        start_time=np.zeros(n, np.float32),
        end_time=np.full(n, 10.0, np.float32),
        labels=tuple((i,) for i in range(n)),
        split=np.array(["bal_train"] * n),
        frames=frames,
        frame_offsets=offsets,
    )


def test_batched_statistics_equal_a_loop_over_clips():
    release = release_of([10, 1, 3, 10, 7])
    pooled = release.clip_statistics(("max", "mean", "std"))
    assert pooled.dtype == np.float32 and pooled.shape == (5, 3 * 128)
    for i in range(len(release)):
        frames = release.clip_frames(i).astype(np.float64)
        np.testing.assert_array_equal(pooled[i, :128], frames.max(axis=0).astype(np.float32))
        np.testing.assert_allclose(pooled[i, 128:256], frames.mean(axis=0), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(pooled[i, 256:], frames.std(axis=0), rtol=1e-5, atol=1e-6)
    assert (pooled[1, 256:] == 0).all()  # one frame: no spread


def test_mean_statistic_is_clip_means_bit_for_bit():
    release = release_of([10, 1, 3, 10, 7], seed=3)
    np.testing.assert_array_equal(release.clip_statistics(("mean",)), release.clip_means())
    np.testing.assert_array_equal(release.clip_statistics("mean"), release.clip_means())
    np.testing.assert_array_equal(
        clip_statistics(release.frames, release.n_frames, ("mean",)), clip_means(release.frames, release.n_frames)
    )
    assert release.subset([]).clip_statistics(("mean", "max")).shape == (0, 256)


def test_std_is_accurate_for_frames_far_from_zero():
    # E[x²] - E[x]² in float32 would lose every digit here; the two-pass deviation keeps them.
    segments = np.array([[1000.0], [1000.5], [1001.0]], dtype=np.float32)
    assert clip_statistics(segments, [3], ("std",))[0, 0] == pytest.approx(np.std([1000.0, 1000.5, 1001.0]), rel=1e-6)


@pytest.mark.parametrize("stats", [(), ("median",), ("mean", "mean"), ["max", "min"]])
def test_unknown_statistics_are_refused(stats):
    with pytest.raises(ConfigError, match="pooling statistics"):
        release_of([2]).clip_statistics(stats)


# --- ontology-aware class texts -------------------------------------------------------------------------------------


def tiny_ontology():
    """animal > pet > dog, with dog also under noise; a cycle a > b > a; an orphan."""
    return [
        {"id": "/m/animal", "name": "Animal", "description": "Sounds of animals.", "child_ids": ["/m/pet"]},
        {"id": "/m/pet", "name": "Domestic animals, pets", "description": "Kept animals.", "child_ids": ["/m/dog"]},
        {"id": "/m/noise", "name": "Noise", "description": "", "child_ids": ["/m/dog"]},
        {"id": "/m/dog", "name": "Dog", "description": "A canid.", "child_ids": []},
        {"id": "/m/a", "name": "A", "description": "First.", "child_ids": ["/m/b"]},
        {"id": "/m/b", "name": "B", "description": "Second.", "child_ids": ["/m/a"]},
        {"id": "/m/orphan", "name": "Orphan", "description": "Alone.", "child_ids": []},
    ]


@pytest.fixture
def ontology_file(tmp_path):
    path = tmp_path / "ontology.json"
    path.write_text(json.dumps(tiny_ontology()), encoding="utf-8")
    return path


def test_parent_names_go_into_label_and_description(ontology_file):
    dog = ClassInfo(name="Dog", description="A canid.", mid="/m/dog")
    (one,) = with_ontology_context([dog], ontology_file)
    assert one.label == "Dog (Domestic animals, pets; Noise)"  # both parents, in the ontology's order
    assert one.description == "A canid. (Domestic animals, pets; Noise)"
    assert (one.name, one.mid) == ("Dog", "/m/dog")
    (two,) = with_ontology_context([dog], ontology_file, parents=2)
    assert two.label == "Dog (Domestic animals, pets; Noise; Animal)"  # nearest first
    (deep,) = with_ontology_context([dog], ontology_file, parents=50)
    assert deep.label == two.label


def test_parent_descriptions_and_targets(ontology_file):
    dog = ClassInfo(name="Dog", description="A canid.", mid="/m/dog")
    (only_description,) = with_ontology_context([dog], ontology_file, what="descriptions", into=["description"])
    assert only_description.label == "Dog"
    assert only_description.description == "A canid. Kept animals."  # Noise's empty description is skipped
    (both,) = with_ontology_context([dog], ontology_file, what="descriptions", parents=2)
    assert both.label == "Dog Kept animals. Sounds of animals."
    (labels_only,) = with_ontology_context([dog], ontology_file.parent / "ontology.json", into="label")
    assert labels_only.description == "A canid."


def test_classes_without_parents_or_entries_are_unchanged():
    classes = [
        ClassInfo(name="Orphan", description="Alone.", mid="/m/orphan"),
        ClassInfo(name="Animal", description="Sounds of animals."),  # matched by name, no parent
        ClassInfo(name="not in the ontology", description="x"),
    ]
    entries = {entry["id"]: entry for entry in tiny_ontology()}
    assert with_ontology_context(classes, entries) == classes
    # matched by name when there is no mid, ignoring case; a class without a description keeps none
    (dog,) = with_ontology_context([ClassInfo(name="dog")], entries)
    assert (dog.label, dog.description) == ("dog (Domestic animals, pets; Noise)", None)


def test_an_ontology_cycle_ends(ontology_file):
    (a,) = with_ontology_context([ClassInfo(name="A", mid="/m/a")], ontology_file, parents=1000)
    assert a.label == "A (B)"  # B's parent is A itself, which is never its own context


@pytest.mark.parametrize(
    "options, message",
    [
        ({"parents": 0}, "parents"),
        ({"parents": True}, "parents"),
        ({"what": "ids"}, "what"),
        ({"into": ()}, "into"),
        ({"into": ["name"]}, "into"),
    ],
)
def test_ontology_context_options_are_checked(ontology_file, options, message):
    with pytest.raises(ConfigError, match=message):
        with_ontology_context([ClassInfo(name="Dog")], ontology_file, **options)


def test_a_bad_ontology_is_named(tmp_path):
    entries = {"/m/x": {"id": "/m/x", "name": "X", "child_ids": "/m/y"}}
    with pytest.raises(DataError, match="child_ids"):
        with_ontology_context([ClassInfo(name="X")], entries)
    with pytest.raises(DataError, match="ontology"):
        with_ontology_context([ClassInfo(name="X")], tmp_path / "missing.json")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_several_positives_on_cuda_match_cpu(solver):
    theta, positives, phi = clip_problem(n=150)
    cpu = Bilinear(solver=solver, dtype="float64", max_iter=30).fit(theta, positives, phi).W_
    cuda = Bilinear(solver=solver, dtype="float64", max_iter=30, device="cuda").fit(theta, positives, phi).W_
    np.testing.assert_allclose(cuda, cpu, rtol=1e-6, atol=1e-9)
