"""Specs, the embedder, class tables, the text-embedding cache and ``zsac embed-classes``."""

from __future__ import annotations

import numpy as np
import pytest

from word_vector_files import make_vectors, write_glove, write_word2vec_binary
from zsac.cli import main
from zsac.commands import run_embed_classes
from zsac.errors import ConfigError, DataError, VocabularyError
from zsac.semantic import (
    ClassInfo,
    ClassTable,
    EmbeddingCache,
    SemanticEmbedder,
    load_class_table,
    parse_spec,
)

CLASSES = [
    ClassInfo("dog", description="The dog barks at the door.", mid="/m/dog"),
    ClassInfo("police_car", label="Police car (siren)", description="A loud siren of a police car.", mid="/m/pc"),
    ClassInfo("Chicken, rooster", description="A chicken or rooster.", mid="/m/ch"),
]


class CountingEncoder:
    """A deterministic fake encoder that records what it was asked to encode."""

    def __init__(self, identity="fake/v1", dim=4):
        self.identity = identity
        self.dim = dim
        self.calls: list[list[str]] = []

    def encode(self, texts, *, kind):
        self.calls.append(list(texts))
        return np.stack([np.full(self.dim, float(len(t) + (kind == "sentence")), np.float32) for t in texts])


@pytest.fixture
def word_files(tmp_path):
    vectors = make_vectors()
    return vectors, write_word2vec_binary(tmp_path / "w2v.bin", vectors), write_glove(tmp_path / "glove.txt", vectors)


def test_parse_spec():
    assert parse_spec("WLE+GLE+BSE") == ("WLE", "GLE", "BSE")
    assert parse_spec(" wle + sse ") == ("WLE", "SSE")
    assert parse_spec(["SLE"]) == ("SLE",)
    with pytest.raises(ConfigError, match=r"unknown part\(s\) \['XLE'\]"):
        parse_spec("WLE+XLE")
    with pytest.raises(ConfigError, match="repeats"):
        parse_spec("WLE+WLE")
    with pytest.raises(ConfigError, match="empty part"):
        parse_spec("WLE+")


def test_parts_concatenate_in_order_each_l2_normalised(word_files):
    vectors, w2v, glove = word_files
    embedder = SemanticEmbedder(word2vec=w2v, glove=glove, cache=False)
    raw_wle = embedder.embed_part("WLE", CLASSES)
    raw_gse = embedder.embed_part("GSE", CLASSES)
    table = embedder.embed("GSE+WLE", CLASSES)
    assert table.spec == "GSE+WLE" and table.part_dims == (6, 6) and table.embeddings.shape == (3, 12)
    gse, wle = table.embeddings[:, :6], table.embeddings[:, 6:]
    np.testing.assert_allclose(np.linalg.norm(gse, axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(wle, raw_wle / np.linalg.norm(raw_wle, axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(gse, raw_gse / np.linalg.norm(raw_gse, axis=1, keepdims=True), rtol=1e-6)
    # The label of "police_car" is "Police car (siren)": phrase first.
    expected = (vectors["police_car"] + vectors["siren"]) / 2
    np.testing.assert_allclose(raw_wle[1], expected, rtol=1e-6)
    assert table.names == ("dog", "police_car", "Chicken, rooster")
    assert table.mids == ("/m/dog", "/m/pc", "/m/ch")


def test_normalize_false_keeps_raw_parts(word_files):
    _, w2v, glove = word_files
    embedder = SemanticEmbedder(word2vec=w2v, glove=glove, normalize=False, cache=False)
    table = embedder.embed("WLE+GSE", CLASSES)
    np.testing.assert_array_equal(table.embeddings[:, :6], embedder.embed_part("WLE", CLASSES))
    np.testing.assert_array_equal(table.embeddings[:, 6:], embedder.embed_part("GSE", CLASSES))


def test_embed_many_computes_each_part_once():
    fake = CountingEncoder()
    embedder = SemanticEmbedder(sentence_model=fake, cache=False)
    embedder._encoders["sentence_transformer"] = fake
    tables = embedder.embed_many(["SLE", "SSE", "SLE+SSE"], CLASSES)
    assert len(fake.calls) == 2
    np.testing.assert_array_equal(tables["SLE+SSE"].embeddings,
                                  np.hstack([tables["SLE"].embeddings, tables["SSE"].embeddings]))  # fmt: skip


def test_precomputed_tables_match_by_mid_when_both_sides_have_mids(tmp_path):
    table = ClassTable(
        embeddings=np.arange(12, dtype=np.float32).reshape(4, 3),
        names=("Dog", "Police car (siren)", "chicken, rooster", "unused"),
        mids=("/m/dog", "/m/other", "/m/ch", "/m/unused"),
    )
    path = table.save(tmp_path / "wle.npz")
    embedder = SemanticEmbedder(tables={"wle": path}, normalize=False, cache=False)
    # police_car's mid is not in the table; its name is not tried, because mids disagree.
    with pytest.raises(DataError, match=r"no row for the classes \['police_car \(/m/pc\)'\]"):
        embedder.embed("WLE", CLASSES)
    rows = embedder.embed_part("WLE", [CLASSES[2], CLASSES[0]])
    np.testing.assert_array_equal(rows, table.embeddings[[2, 0]])
    # Classes without mids match by name: exactly, else ignoring case.
    by_name = embedder.embed_part("WLE", [ClassInfo("unused"), ClassInfo("DOG")])
    np.testing.assert_array_equal(by_name, table.embeddings[[3, 0]])
    with pytest.raises(DataError, match=r"several classes match the same rows \['Dog'\]"):
        embedder.embed_part("WLE", [ClassInfo("Dog"), ClassInfo("DOG")])


def test_a_table_of_another_spec_is_refused_as_a_part(tmp_path, word_files):
    _, w2v, _ = word_files
    SemanticEmbedder(word2vec=w2v, cache=False).embed("WSE", CLASSES).save(tmp_path / "wse.npz")
    with pytest.raises(ConfigError, match=r"holds WSE embeddings, not WLE"):
        SemanticEmbedder(tables={"WLE": tmp_path / "wse.npz"}, cache=False).embed("WLE", CLASSES)


def test_sentence_parts_need_descriptions(word_files):
    _, w2v, _ = word_files
    embedder = SemanticEmbedder(word2vec=w2v, cache=False)
    with pytest.raises(DataError, match=r"WSE needs class descriptions, but \['siren'\] have none"):
        embedder.embed("WSE", [CLASSES[0], ClassInfo("siren")])


def test_missing_models_are_explained():
    with pytest.raises(ConfigError, match="word2vec-google-news-300"):
        SemanticEmbedder(cache=False).embed("WLE", CLASSES)
    with pytest.raises(ConfigError, match="GloVe"):
        SemanticEmbedder(cache=False).embed("GLE", CLASSES)
    with pytest.raises(ConfigError, match="unknown parts"):
        SemanticEmbedder(tables={"XYZ": "t.npz"})


def test_class_without_known_words_is_named(word_files):
    _, w2v, _ = word_files
    classes = [CLASSES[0], ClassInfo("zzyzx_qwv")]
    with pytest.raises(VocabularyError, match=r"WLE: no word of the label of class 'zzyzx_qwv' \(label 'zzyzx qwv'\)"):
        SemanticEmbedder(word2vec=w2v, cache=False).embed("WLE", classes)


def test_table_round_trip_and_nearest(tmp_path, word_files):
    _, w2v, glove = word_files
    table = SemanticEmbedder(word2vec=w2v, glove=glove, cache=False).embed("WLE+GLE", CLASSES)
    loaded = load_class_table(table.save(tmp_path / "out.npz"))
    np.testing.assert_array_equal(loaded.embeddings, table.embeddings)
    assert (loaded.names, loaded.mids, loaded.spec, loaded.part_dims) == (
        table.names, table.mids, "WLE+GLE", (6, 6))  # fmt: skip
    assert loaded.metadata["parts"]["WLE"]["source"].startswith("word-vectors/v1|")
    assert loaded.metadata["normalize"] is True
    neighbours = loaded.nearest("dog", k=2)
    assert sorted(name for name, _ in neighbours) == ["Chicken, rooster", "police_car"]  # all but "dog" itself
    assert neighbours[0][1] >= neighbours[1][1]
    assert loaded.nearest(loaded.embeddings[1], k=1)[0][0] == "police_car"
    # A saved table serves as a precomputed part of a later spec: its columns of that part.
    reused = SemanticEmbedder(tables={"GLE": tmp_path / "out.npz"}, normalize=False, cache=False)
    np.testing.assert_array_equal(reused.embed_part("GLE", CLASSES), table.embeddings[:, 6:])


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"name": np.array(["a"])}, "no 'embeddings'"),
        ({"embeddings": np.zeros((2, 3)), "name": np.array(["a"])}, "1 names for 2 embedding rows"),
        ({"embeddings": np.zeros((1, 3))}, "needs a 'name', 'display_name' or 'mid'"),
        ({"embeddings": np.full((1, 3), np.nan), "mid": np.array(["/m/x"])}, "NaN"),
        ({"embeddings": np.array([["a", "b"]]), "mid": np.array(["/m/x"])}, "2-D float"),
    ],
)
def test_bad_tables_are_refused(tmp_path, arrays, message):
    path = tmp_path / "table.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message):
        load_class_table(path)


def test_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, embeddings=np.zeros((1, 2)), name=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(DataError, match="cannot read the class table"):
        load_class_table(path)


def test_the_authors_table_layout_is_read(tmp_path):
    # Layout of audioset/word2vec_label_embeddings.npz: embeddings, mid, display_name.
    path = tmp_path / "authors.npz"
    np.savez(path, embeddings=np.eye(2, 3, dtype=np.float32), mid=np.array(["/m/a", "/m/b"]),
             display_name=np.array(["A", "B"]))  # fmt: skip
    table = load_class_table(path)
    assert table.names == ("A", "B") and table.mids == ("/m/a", "/m/b") and table.spec is None


def test_cache_encodes_only_missing_texts(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    fake = CountingEncoder()
    first = cache.encode(fake, ["dog", "cat", "dog"], kind="label")
    assert fake.calls == [["dog", "cat"]]
    second = cache.encode(fake, ["cat", "siren", "dog"], kind="label")
    assert fake.calls[1:] == [["siren"]]
    np.testing.assert_array_equal(second[[0, 2]], first[[1, 0]])
    cache.encode(fake, ["dog"], kind="sentence")  # the kind is part of the key
    assert fake.calls[2:] == [["dog"]]
    cache.encode(CountingEncoder(identity="fake/v2"), ["dog"], kind="label")  # so is the encoder
    uncached = CountingEncoder(identity=None)
    cache.encode(uncached, ["dog"], kind="label")
    cache.encode(uncached, ["dog"], kind="label")
    assert len(uncached.calls) == 2


def test_corrupt_cache_entries_are_recomputed(tmp_path, caplog):
    cache = EmbeddingCache(tmp_path / "cache")
    fake = CountingEncoder()
    expected = cache.encode(fake, ["dog"], kind="label")
    (entry,) = (tmp_path / "cache").rglob("*.npz")
    entry.write_bytes(entry.read_bytes()[:40])
    np.testing.assert_array_equal(cache.encode(fake, ["dog"], kind="label"), expected)
    assert len(fake.calls) == 2 and "corrupt" in caplog.text


def test_a_warm_cache_loads_no_model(word_files, tmp_path, monkeypatch):
    _, w2v, _ = word_files
    SemanticEmbedder(word2vec=w2v, cache=tmp_path / "c").embed("WLE+WSE", CLASSES)
    import zsac.semantic.word_vectors as word_vectors

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded despite a warm cache")

    monkeypatch.setattr(word_vectors, "load_word_vectors", refuse)
    table = SemanticEmbedder(word2vec=w2v, cache=tmp_path / "c").embed("WLE+WSE", CLASSES)
    assert table.embeddings.shape == (3, 12)


def test_run_embed_classes_and_cli(tmp_path, word_files, capsys):
    _, w2v, glove = word_files
    classes = tmp_path / "classes.csv"
    classes.write_text('name,description\ndog,"The dog barks at the door."\npolice car,"A loud siren."\n')
    out = tmp_path / "table.npz"
    summary = run_embed_classes(semantic="WLE+GSE", classes_file=classes, out=out, word2vec=str(w2v), glove=str(glove))
    assert summary["part_dims"] == {"WLE": 6, "GSE": 6} and summary["n_classes"] == 2
    assert load_class_table(out).names == ("dog", "police car")
    assert main(["-q", "embed-classes", "--semantic", "WLE", "--classes-file", str(classes), "-o",
                 str(tmp_path / "b.npz"), "--table", f"WLE={out}", "--no-normalize"]) == 0  # fmt: skip
    # The WLE columns of the saved WLE+GSE table are reused as the WLE part.
    reused = load_class_table(tmp_path / "b.npz").embeddings
    np.testing.assert_array_equal(reused, load_class_table(out).embeddings[:, :6])
    assert "wrote WLE embeddings of 2 classes, 6-d" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--semantic", "WLE+NOPE"], "unknown part"),
        (["--semantic", "WLE", "--table", "WLE"], "--table expects PART=FILE"),
        (["--semantic", "WLE"], "word2vec-google-news-300"),
        (["--semantic", "WLE", "--bert-pooling", "median"], "invalid choice: 'median'"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, capsys, extra, message):
    classes = tmp_path / "classes.txt"
    classes.write_text("dog\n")
    assert main(["-q", "embed-classes", "--classes-file", str(classes), "-o", str(tmp_path / "t.npz"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zsac: error:") and message in err and not (tmp_path / "t.npz").exists()
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda p: np.save(p, np.zeros((2, 3))), "not an .npz class table"),
        (lambda p: p.write_bytes(b"PK\x03\x04 truncated"), "cannot read the class table"),
        (lambda p: np.savez(p, embeddings=np.zeros((1, 2)), name=np.array(["a"]), metadata=np.array("{")),
         "unreadable 'metadata'"),
        (lambda p: np.savez(p, embeddings=np.zeros((1, 2)), name=np.array([[1.0]])), "1-D string arrays"),
    ],
)  # fmt: skip
def test_broken_table_files(tmp_path, write, message):
    path = tmp_path / "table.npz"
    write(path)
    if not path.exists():  # np.save appends .npy
        path = tmp_path / "table.npz.npy"
    with pytest.raises(DataError, match=message):
        load_class_table(path)


def test_byte_string_names_are_decoded(tmp_path):
    path = tmp_path / "bytes.npz"
    np.savez(path, embeddings=np.ones((1, 2), np.float32), name=np.array([b"Dog"]))
    assert load_class_table(path).names == ("Dog",)


def test_cli_output_errors_are_one_line(tmp_path, word_files, capsys):
    _, w2v, _ = word_files
    classes = tmp_path / "classes.txt"
    classes.write_text("dog\n")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    assert main(["-q", "embed-classes", "--semantic", "WLE", "--classes-file", str(classes), "-o", str(folder),
                 "--word2vec", str(w2v)]) == 2  # fmt: skip
    assert "cannot write the class table" in capsys.readouterr().err


def test_empty_text_lists_are_refused(tmp_path):
    with pytest.raises(DataError, match="no texts"):
        EmbeddingCache(tmp_path).encode(CountingEncoder(), [], kind="label")
