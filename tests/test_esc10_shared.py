"""On the real ESC-10 clips in ../shared/data (skipped, with the reason, when absent)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from zsac.acoustic import embed_clips, train_vggish
from zsac.datasets import esc50_clips
from zsac.features import extract_examples

pytestmark = pytest.mark.slow  # reads the shared ESC-10 copy and trains VGGish

HELD_OUT = ("helicopter", "rooster")  # the two zero-shot classes of this check


def test_every_clip_gives_five_finite_examples(esc10_root):
    clips = esc50_clips(esc10_root)
    assert len(clips) == 320 and len({c.label for c in clips}) == 10
    extracted = extract_examples([c.path for c in clips], progress=False)
    assert not extracted.failures
    assert all(x.shape == (5, 96, 64) and np.isfinite(x).all() for x in extracted.examples)


def test_vggish_from_scratch_on_eight_classes_beats_chance(esc10_root):
    clips = [c for c in esc50_clips(esc10_root) if c.label not in HELD_OUT]
    by_class: dict[str, list] = {}
    for clip in clips:
        by_class.setdefault(clip.label, []).append(clip)
    # 10 clips a class keeps this CPU run to well under a minute: 400 segments, 80/20 split.
    chosen = [clip for label in sorted(by_class) for clip in by_class[label][:10]]
    extracted = extract_examples([c.path for c in chosen], progress=False)
    result = train_vggish(
        extracted.examples, [c.label for c in chosen],
        split_unit="segment", validation_fraction=0.2, batch_size=32, max_epochs=2, patience=2,
        seed=0, device="cpu", progress=False,
    )  # fmt: skip
    n_val = int(result.validation_mask.sum())
    assert len(result.class_names) == 8 and n_val == 80
    correct = round(result.best_val_accuracy * n_val)
    # One-sided binomial test against guessing among 8 classes.
    assert binomtest(correct, n_val, 1 / 8, alternative="greater").pvalue < 1e-3, result.history
    embeddings = embed_clips(result.model, extracted.examples[:4], device="cpu")
    assert embeddings.shape == (4, 128) and np.isfinite(embeddings).all()
