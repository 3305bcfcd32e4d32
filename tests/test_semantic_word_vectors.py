"""Word-vector label and sentence embeddings, on tiny vector files written here in the standard formats."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from word_vector_files import DIM, WORDS, make_vectors, write_glove, write_word2vec_binary, write_word2vec_text
from zsac.errors import ConfigError, DataError, VocabularyError
from zsac.semantic import WordVectors, load_word_vectors, resolve_stop_words


@pytest.fixture
def vectors():
    return make_vectors()


@pytest.fixture
def w2v_path(tmp_path, vectors):
    return write_word2vec_binary(tmp_path / "tiny-vectors.bin", vectors)


@pytest.fixture
def encoder(w2v_path):
    return WordVectors(w2v_path, name="word2vec")


def mean(vectors, *words):
    return np.mean([vectors[w].astype(np.float64) for w in words], axis=0).astype(np.float32)


@pytest.mark.parametrize("writer", [write_word2vec_text, write_glove, write_word2vec_binary])
def test_every_format_loads_the_same_vectors(tmp_path, vectors, writer):
    suffix = ".bin" if writer is write_word2vec_binary else ".txt"
    kv = load_word_vectors(writer(tmp_path / f"v{suffix}", vectors))
    assert kv.vector_size == DIM and len(kv.key_to_index) == len(WORDS)
    assert kv.vectors.shape == (len(WORDS), DIM) and list(kv.key_to_index) == WORDS
    for word, vector in vectors.items():
        np.testing.assert_array_equal(kv[word], vector)


def test_explicit_format_and_limit(tmp_path, vectors):
    path = write_glove(tmp_path / "glove.vectors", vectors)
    kv = load_word_vectors(path, format="glove", limit=3)
    assert list(kv.key_to_index) == WORDS[:3]
    with pytest.raises(ConfigError, match="unknown word-vector format"):
        load_word_vectors(path, format="fasttext")


def test_missing_file_pickles_and_garbage_are_refused(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_word_vectors(tmp_path / "GoogleNews-vectors-negative300.bin")
    pickled = tmp_path / "vectors.kv"
    pickled.write_bytes(b"\x80\x04not really")
    with pytest.raises(DataError, match="loads no pickle"):
        load_word_vectors(pickled)
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("2 3\nword 1 2\n")
    with pytest.raises(DataError, match="garbage.txt"):
        load_word_vectors(garbage)


def test_gensim_data_names_go_to_the_gensim_downloader(monkeypatch, vectors, w2v_path):
    import gensim.downloader

    loaded = load_word_vectors(w2v_path)
    calls = []
    monkeypatch.setattr(gensim.downloader, "load", lambda name: calls.append(name) or loaded)
    assert load_word_vectors("word2vec-google-news-300") is loaded
    assert calls == ["word2vec-google-news-300"]
    assert WordVectors("glove-wiki-gigaword-300").identity.split("|")[1] == "gensim-data:glove-wiki-gigaword-300"


def test_label_prefers_the_longest_phrase(encoder, vectors):
    out = encoder.encode(["Police car (siren)"], kind="label")[0]
    np.testing.assert_allclose(out, mean(vectors, "police_car", "siren"), rtol=1e-6)


def test_phrases_never_cross_commas(encoder, vectors):
    # "chicken_rooster" exists, but the comma separates two synonyms.
    out = encoder.encode(["Chicken, rooster"], kind="label")[0]
    np.testing.assert_allclose(out, mean(vectors, "chicken", "rooster"), rtol=1e-6)


def test_words_as_written_then_lower_cased(tmp_path, vectors, encoder):
    np.testing.assert_array_equal(encoder.encode(["Dog"], kind="label")[0], vectors["Dog"])
    np.testing.assert_array_equal(encoder.encode(["DOG"], kind="label")[0], vectors["dog"])
    np.testing.assert_allclose(encoder.encode(["Wood Knock"], kind="label")[0], mean(vectors, "wood", "knock"))


def test_hyphens_and_possessives_fall_back_to_their_parts(encoder, vectors):
    np.testing.assert_allclose(encoder.encode(["Hi-hat"], kind="label")[0], mean(vectors, "hi", "hat"))
    np.testing.assert_array_equal(encoder.encode(["cock-a-doodle-doo"], kind="label")[0], vectors["cock-a-doodle-doo"])
    np.testing.assert_allclose(encoder.encode(["Dentist's drill"], kind="label")[0], mean(vectors, "dentist", "drill"))


def test_underscored_names_read_as_words(encoder, vectors):
    np.testing.assert_allclose(encoder.encode(["police_car"], kind="label")[0], vectors["police_car"])
    np.testing.assert_allclose(encoder.encode(["door_wood_knock"], kind="label")[0],
                               mean(vectors, "door", "wood", "knock"))  # fmt: skip


def test_sentences_drop_stop_words_and_use_single_words(encoder, vectors):
    out = encoder.encode(["The dog barks at the police car, loud and clear."], kind="sentence")[0]
    # sklearn's stop list removes the/at/and; "clear" is unknown; no phrase "police_car" in sentences.
    np.testing.assert_allclose(out, mean(vectors, "dog", "barks", "police", "car", "loud"), rtol=1e-6)


def test_stop_lists_are_named(encoder):
    name, words = resolve_stop_words("sklearn")
    assert name == "sklearn" and {"the", "at", "and"} <= words and len(words) == 318
    assert resolve_stop_words("gensim")[0] == "gensim"
    assert resolve_stop_words(None) == ("none", frozenset())
    custom_name, custom = resolve_stop_words(["The", "dog"])
    assert custom == {"the", "dog"} and custom_name.startswith("custom:")
    with pytest.raises(ConfigError, match="unknown stop list"):
        resolve_stop_words("nltk-ish")


def test_custom_stop_words_change_sentences_only(w2v_path, vectors):
    encoder = WordVectors(w2v_path, stop_words=["dog"])
    np.testing.assert_allclose(encoder.encode(["dog barks"], kind="sentence")[0], vectors["barks"])
    np.testing.assert_allclose(encoder.encode(["dog barks"], kind="label")[0], mean(vectors, "dog", "barks"))


def test_unknown_words_are_skipped_with_one_warning(encoder, vectors, caplog):
    with caplog.at_level(logging.WARNING, logger="zsac"):
        out = encoder.encode(["dog zzyzx", "siren qwv"], kind="label")
    np.testing.assert_array_equal(out[0], vectors["dog"])
    np.testing.assert_array_equal(out[1], vectors["siren"])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "2 words not in the vocabulary" in warnings[0] and "zzyzx" in warnings[0]


def test_a_text_without_known_words_raises_never_a_zero_vector(encoder):
    with pytest.raises(VocabularyError, match="zzyzx qwv") as info:
        encoder.encode(["dog", "zzyzx qwv"], kind="label")
    assert info.value.texts == ["zzyzx qwv"]


def test_batched_equals_one_by_one(encoder):
    texts = ["Police car (siren)", "Chicken, rooster", "Hi-hat", "dog"]
    batched = encoder.encode(texts, kind="label")
    for row, text in enumerate(texts):
        np.testing.assert_array_equal(batched[row], encoder.encode([text], kind="label")[0])


def test_in_memory_vectors_have_no_identity(w2v_path):
    kv = load_word_vectors(w2v_path)
    encoder = WordVectors(kv)
    assert encoder.identity is None and encoder.vectors is kv
    with pytest.raises(ConfigError, match="expected a path"):
        WordVectors(42)


def test_identity_tracks_file_and_settings(w2v_path, vectors):
    base = WordVectors(w2v_path).identity
    assert base == WordVectors(w2v_path).identity
    assert base != WordVectors(w2v_path, stop_words="gensim").identity
    assert base != WordVectors(w2v_path, limit=5).identity
    write_word2vec_binary(w2v_path, {**vectors, "extra": vectors["dog"]})
    assert base != WordVectors(w2v_path).identity


def test_glove_tokens_with_spaces_and_bad_lines(tmp_path, vectors, caplog):
    # GloVe 840B holds tokens such as ". . ." and "at name@domain.com"; the vector is the last DIM fields.
    path = write_glove(tmp_path / "glove.txt", vectors)
    spaced = [0.25] * DIM
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(". . . " + " ".join(map(str, spaced)) + "\n")
        handle.write("broken 1 2\n")  # too few values
        handle.write("dog " + " ".join(["9"] * DIM) + "\n")  # repeated token: the first one wins
    with caplog.at_level(logging.WARNING, logger="zsac"):
        kv = load_word_vectors(path)
    np.testing.assert_array_equal(kv[". . ."], np.float32(spaced))
    np.testing.assert_array_equal(kv["dog"], vectors["dog"])
    assert "broken" not in kv.key_to_index and "skipped 2 malformed or repeated lines" in caplog.text


def test_default_stop_list_is_nltk_and_keeps_sound_words(encoder, vectors, w2v_path):
    name, words = resolve_stop_words("nltk")
    assert name == "nltk" and len(words) == 179 and {"the", "don't", "wouldn't"} <= words
    assert not {"fire", "cry", "call", "back", "top", "empty"} & words
    assert encoder.identity.endswith("stop=nltk")
    # Curly apostrophes are read as straight ones.
    assert WordVectors(w2v_path, stop_words=["don’t"])._stop_words == {"don't"}


def test_lower_cased_phrases(encoder, vectors):
    np.testing.assert_array_equal(encoder.encode(["POLICE CAR"], kind="label")[0], vectors["police_car"])


def test_only_stop_words_says_so(encoder):
    with pytest.raises(VocabularyError, match="after removing nltk stop words"):
        encoder.encode(["It is the one that was there."], kind="sentence")


def test_gensim_data_names_take_no_file_options(monkeypatch):
    import gensim.downloader

    with pytest.raises(ConfigError, match="format and limit apply to word-vector files"):
        load_word_vectors("word2vec-google-news-300", limit=1000)
    monkeypatch.setattr(gensim.downloader, "load", lambda name: ["a", "corpus"])
    with pytest.raises(ConfigError, match="'text8' is not a word-vector model"):
        load_word_vectors("text8")
