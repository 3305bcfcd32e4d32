"""zsac.ZeroShotClassifier: fit on audio or embeddings, classify by name or description, save and load.

One tiny VGGish is trained per module (on synthetic WAV files the module writes) and shared; zero-shot
mechanics run on precomputed embeddings with a semantic table the tests write, so they need no text model.
"""

from __future__ import annotations

import json
import re
import shutil
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors import safe_open

from conftest import latent_problem, tone
from zsac import AudioError, CheckpointError, ConfigError, DataError, NotFittedError, ZeroShotClassifier
from zsac.audio import load_audio
from zsac.checkpoint import model_version
from zsac.classifier import RUN_PARAMS
from zsac.semantic import ClassInfo
from zsac.semantic.tables import ClassTable

# A VGGish small enough to train in seconds on one CPU thread. lr 3e-4 (not 1e-3) keeps the tiny
# network from losing whole classes to dead ReLUs; 80 epochs cost ~0.1 s each, and early stopping
# ends most runs by epoch 30-55.
TINY = {
    # The settings above were tuned for the paper's recipe: with zsac's at this step, the model
    # predicted only 2 of the 4 classes on test_score_without_classes_is_predict_accuracy's
    # mixtures. The zsac recipe has its own tests (tests/test_recipe.py, tests/test_readme.py).
    "recipe": "paper",
    "conv_channels": (8, 16, 32, 64),
    "fc_units": 64,
    "max_epochs": 80,
    "patience": 20,
    "batch_size": 8,
    "learning_rate": 3e-4,
    "quantize": False,
    "progress": False,
    "feature_cache": False,
}
SEED = 0

CLASS_TEXTS = {
    "low hum": "a steady low-pitched 150 Hz hum",
    "high whistle": "a high-pitched 3 kHz whistle",
    "rumbling noise": "a deep rumbling noise like distant thunder",
    "hiss": "a bright hiss of escaping steam",
    "slow clicks": "slow clicking, a few clicks per second like a ticking clock",
    "fast clicks": "fast rapid clicking like a rattling machine",
}
CLASSES = list(CLASS_TEXTS)
# Seen-class Top-1 on held-out files: 0.83 with SEED 0; 0.67-1.0 over seeds 0-7 (chance 1/6). Each lost class
# costs 1/6: now and then the tiny VGGish gives two classes nearly colinear clip embeddings (cosine ~1), which the
# bias-free bilinear score cannot tell apart although VGGish's own head (with a bias) does.
SEEN_TOP1_MIN = 0.5


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    # The 2 cores are shared: with 2 OpenMP threads a busy machine makes training ~10x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------------------------------ sounds


def band_noise(rng: np.random.Generator, n: int, sample_rate: int, low: float, high: float) -> np.ndarray:
    """White noise with everything outside [low, high] Hz removed."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    frequencies = np.fft.rfftfreq(n, 1 / sample_rate)
    spectrum[(frequencies < low) | (frequencies > high)] = 0
    return np.fft.irfft(spectrum, n)


def click_train(rng: np.random.Generator, n: int, sample_rate: int, rate: float) -> np.ndarray:
    """Decaying 3-ms clicks, ``rate`` per second from a random phase."""
    click = np.exp(-np.arange(int(0.003 * sample_rate)) / (0.0005 * sample_rate))
    out = np.zeros(n)
    period = sample_rate / rate
    for start in np.arange(rng.uniform(0, period), n - len(click), period):
        out[int(start) : int(start) + len(click)] += click * rng.choice([-1.0, 1.0])
    return out


def synthetic_sound(name: str, seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A clip of one of the CLASS_TEXTS classes, with random pitch, rate, level and a faint noise floor."""
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    if name == "low hum":
        f = 150 * rng.uniform(0.95, 1.05)
        x = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)
    elif name == "high whistle":
        x = np.sin(2 * np.pi * 3000 * rng.uniform(0.95, 1.05) * t)
    elif name == "rumbling noise":
        x = band_noise(rng, n, sample_rate, 60, 400)
    elif name == "hiss":
        x = band_noise(rng, n, sample_rate, 4000, 7000)
    elif name == "slow clicks":
        x = click_train(rng, n, sample_rate, 3 * rng.uniform(0.9, 1.1))
    elif name == "fast clicks":
        x = click_train(rng, n, sample_rate, 30 * rng.uniform(0.9, 1.1))
    else:
        raise ValueError(name)
    x = x / np.max(np.abs(x)) * rng.uniform(0.3, 0.8) + 0.003 * rng.standard_normal(n)
    return x.astype(np.float32)


def write_split(root: Path, split: str, per_class: int, rng: np.random.Generator) -> tuple[list[Path], np.ndarray]:
    """WAV files of every class: 2-4 s, 16 kHz and 44.1 kHz alternately, every fifth one stereo."""
    paths, labels = [], []
    for name in CLASSES:
        for j in range(per_class):
            i = len(paths)
            sample_rate = 16_000 if i % 2 == 0 else 44_100
            x = synthetic_sound(name, rng.uniform(2.0, 4.0), sample_rate, rng)
            if i % 5 == 2:
                x = np.stack([x, 0.8 * x], axis=1)
            path = root / split / f"{name.replace(' ', '_')}_{j}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, x, sample_rate)  # 16-bit PCM, as most recordings are
            paths.append(path)
            labels.append(name)
    return paths, np.array(labels)


def json_like(params: dict) -> dict:
    """Parameters as they come back from classifier.json: tuples become lists."""
    return json.loads(json.dumps(params))


def n_examples(path: Path) -> int:
    """VGGish examples (0.96-s segments) of a file: whole 96-frame blocks of the 16-kHz signal."""
    info = sf.info(path)
    n = int(round(info.frames * 16_000 / info.samplerate))
    return (1 + (n - 400) // 160) // 96


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = np.random.default_rng(SEED)
    root = tmp_path_factory.mktemp("synthetic-audio")
    train_paths, train_labels = write_split(root, "train", 6, rng)
    test_paths, test_labels = write_split(root, "test", 3, rng)
    return types.SimpleNamespace(
        root=root, train_paths=train_paths, train_labels=train_labels, test_paths=test_paths, test_labels=test_labels
    )


@pytest.fixture(scope="module")
def audio_model(corpus):
    """The one VGGish-backed classifier of the module: SLE+SSE (bundled MiniLM), λ fixed at 1."""
    model = ZeroShotClassifier(**TINY, lam=1.0, seed=SEED)
    return model.fit(corpus.train_paths, corpus.train_labels, class_texts=CLASS_TEXTS)


@pytest.fixture(scope="module")
def test_embeddings(audio_model, corpus):
    return audio_model.transform(corpus.test_paths)


@pytest.fixture(scope="module")
def saved_audio(audio_model, tmp_path_factory):
    return audio_model.save(tmp_path_factory.mktemp("saved") / "audio-classifier")


@pytest.fixture(scope="module")
def fp32_model(saved_audio):
    return ZeroShotClassifier.load(saved_audio, inference="fp32")


def make_latent(root: Path, *, n_classes: int = 20, n_seen: int = 12, per_class: int = 15, seed: int = 0):
    """20 classes, 12 seen, 15 clips each, 32-d acoustic embeddings (see :func:`conftest.latent_problem`)."""
    return latent_problem(
        root, n_classes=n_classes, n_seen=n_seen, per_class=per_class, acoustic_dim=32, acoustic_noise=0.5,
        table_noise_dims=4, seed=seed,
    )  # fmt: skip


@pytest.fixture(scope="module")
def latent(tmp_path_factory):
    return make_latent(tmp_path_factory.mktemp("latent"))


def wle_model(latent, **params) -> ZeroShotClassifier:
    return ZeroShotClassifier(semantic="WLE", tables={"WLE": str(latent.table)}, progress=False, **params)


@pytest.fixture(scope="module")
def zero_shot_model(latent):
    return wle_model(latent, seed=SEED).fit(latent.X[latent.seen], latent.y[latent.seen])


@pytest.fixture(scope="module")
def saved_zero_shot(zero_shot_model, tmp_path_factory):
    return zero_shot_model.save(tmp_path_factory.mktemp("saved") / "embedding-classifier")


SSE_TEXTS = {"siren": "a wailing emergency siren", "engine": "an idling car engine", "rain": None}


@pytest.fixture(scope="module")
def sse_model(latent):
    """SLE+SSE on embeddings: two classes described, "rain" described as None and "dog_bark" not at all."""
    names = ["siren", "engine", "rain", "dog_bark"]
    keep = np.isin(latent.y, latent.names[:4])
    y = np.array([names[latent.names.index(label)] for label in latent.y[keep]])
    return ZeroShotClassifier(lam=1.0, progress=False).fit(latent.X[keep], y, class_texts=SSE_TEXTS)


# ------------------------------------------------------------------------------------------------ tests


class TestSyntheticAudioEndToEnd:
    """The issue's "done when": WAV files of distinct sounds, fit with descriptions, classify held-out files."""

    def test_fitted_attributes(self, audio_model):
        assert list(audio_model.classes_) == sorted(CLASSES)
        assert audio_model.acoustic_dim_ == 128 and audio_model.acoustic_model_ is not None
        assert audio_model.class_embeddings_.shape == (6, audio_model.semantic_dim_)
        assert audio_model.semantic_dim_ == 2 * 384  # SLE + SSE of all-MiniLM-L6-v2
        assert audio_model.bilinear_.W_.shape == (128, audio_model.semantic_dim_)
        assert audio_model.acoustic_history_ and audio_model.quantization_ is None

    def test_seen_class_top1_well_above_chance(self, audio_model, corpus):
        predicted = audio_model.predict(corpus.test_paths)
        top1 = float(np.mean(predicted == corpus.test_labels))
        assert top1 >= SEEN_TOP1_MIN, (top1, list(zip(corpus.test_labels, predicted, strict=True)))

    def test_score_with_the_descriptions(self, audio_model, corpus):
        top1 = audio_model.score(corpus.test_paths, corpus.test_labels, classes=CLASS_TEXTS)
        assert top1 >= SEEN_TOP1_MIN
        assert top1 == np.mean(audio_model.predict(corpus.test_paths) == corpus.test_labels)

    def test_predict_returns_names_of_the_given_list(self, audio_model, test_embeddings):
        assert set(audio_model.predict(test_embeddings)) <= set(CLASSES)
        given = ["a dog barking", "a 3 kHz whistle", "rain on a roof"]
        predicted = audio_model.predict(test_embeddings, classes=given)
        assert predicted.shape == (len(test_embeddings),) and set(predicted) <= set(given)
        named = audio_model.predict(test_embeddings, classes=CLASS_TEXTS)
        np.testing.assert_array_equal(named, audio_model.predict(test_embeddings))

    def test_proba_and_decision_shapes(self, audio_model, test_embeddings):
        n = len(test_embeddings)
        scores = audio_model.decision_function(test_embeddings)
        proba = audio_model.predict_proba(test_embeddings)
        assert scores.shape == proba.shape == (n, 6) and proba.dtype == np.float64
        assert np.all(proba >= 0)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
        predicted = audio_model.predict(test_embeddings)
        np.testing.assert_array_equal(audio_model.classes_[proba.argmax(axis=1)], predicted)
        np.testing.assert_array_equal(audio_model.classes_[scores.argmax(axis=1)], predicted)
        three = audio_model.decision_function(test_embeddings, classes=["hiss", "a siren", "a cat"])
        assert three.shape == (n, 3)

    def test_temperature_keeps_argmax_changes_sharpness(self, audio_model, test_embeddings):
        scores = audio_model.decision_function(test_embeddings)
        spread = float(np.ptp(scores))  # a temperature of this size flattens any row
        try:
            cold = audio_model.predict_proba(test_embeddings)
            audio_model.set_params(temperature=spread)
            warm = audio_model.predict_proba(test_embeddings)
        finally:
            audio_model.set_params(temperature=1.0)
        np.testing.assert_array_equal(cold.argmax(axis=1), warm.argmax(axis=1))
        assert np.all(warm.max(axis=1) < cold.max(axis=1))

        def entropy(p):
            return -np.sum(p * np.log(np.clip(p, 1e-300, None)), axis=1)

        assert np.all(entropy(warm) > entropy(cold))

    def test_class_order_permutes_columns(self, audio_model, test_embeddings):
        forward = audio_model.decision_function(test_embeddings, classes=CLASSES)
        backward = audio_model.decision_function(test_embeddings, classes=CLASSES[::-1])
        # The texts are encoded in another batch order, so allow for float rounding of the text model.
        np.testing.assert_allclose(backward, forward[:, ::-1], rtol=1e-4, atol=1e-4 * np.abs(forward).max())

    def test_score_without_classes_is_predict_accuracy(self, audio_model, test_embeddings):
        # scikit-learn's contract: score(X, y) == mean(predict(X) == y). Mixtures of clips sit near the class
        # boundaries, where the bare names' embeddings and the descriptions' disagree; y is predict's own answer.
        rng = np.random.default_rng(0)
        pairs = rng.integers(0, len(test_embeddings), size=(300, 2))
        weight = rng.uniform(0, 1, size=(300, 1)).astype(np.float32)
        mixtures = weight * test_embeddings[pairs[:, 0]] + (1 - weight) * test_embeddings[pairs[:, 1]]
        mixtures = np.concatenate([test_embeddings, mixtures])
        y = audio_model.predict(mixtures)
        assert set(y) == set(CLASSES)
        assert audio_model.score(mixtures, y) == 1.0


class TestZeroShot:
    """Mechanics on embeddings with a semantic table that makes unseen classes predictable."""

    def test_unseen_classes_well_above_chance(self, zero_shot_model, latent):
        unseen = ~latent.seen
        top1 = zero_shot_model.score(latent.X[unseen], latent.y[unseen], classes=latent.unseen_names)
        chance = 1 / len(latent.unseen_names)
        assert top1 >= 0.6 > 4 * chance, top1  # observed 0.92
        predicted = zero_shot_model.predict(latent.X[unseen], classes=latent.unseen_names)
        assert set(predicted) <= set(latent.unseen_names)
        # Classes as an array work as a list does; an empty list is refused, not replaced.
        names = np.asarray(latent.unseen_names)
        assert zero_shot_model.score(latent.X[unseen], latent.y[unseen], classes=names) == top1
        with pytest.raises(DataError, match="empty"):
            zero_shot_model.score(latent.X[unseen], latent.y[unseen], classes=[])

    def test_seen_and_unseen_together(self, zero_shot_model, latent):
        top1 = zero_shot_model.score(latent.X, latent.y, classes=latent.names)
        assert top1 >= 0.5 > 5 / len(latent.names), top1  # observed 0.84

    def test_no_acoustic_model(self, zero_shot_model):
        assert zero_shot_model.acoustic_model_ is None
        assert zero_shot_model.acoustic_dim_ == 32 and zero_shot_model.semantic_dim_ == 10

    def test_auto_lambda_from_the_grid(self, zero_shot_model):
        grid = (0.0, 0.01, 1.0, 10.0)
        assert zero_shot_model.lambda_ in grid
        assert set(zero_shot_model.lambda_scores_) == set(grid)
        assert all(0.0 <= v <= 1.0 for v in zero_shot_model.lambda_scores_.values())
        best = max(zero_shot_model.lambda_scores_.values())
        assert zero_shot_model.lambda_scores_[zero_shot_model.lambda_] == best
        assert zero_shot_model.bilinear_.lam == zero_shot_model.lambda_

    def test_custom_grid(self, latent):
        model = wle_model(latent, lambda_grid=(0.5, 5.0, 50.0)).fit(latent.X[latent.seen], latent.y[latent.seen])
        assert model.lambda_ in (0.5, 5.0, 50.0) and set(model.lambda_scores_) == {0.5, 5.0, 50.0}

    @pytest.mark.parametrize("lam", [1.0, 0.5])
    def test_fixed_lambda_used_as_given(self, latent, lam):
        model = wle_model(latent, lam=lam).fit(latent.X[latent.seen], latent.y[latent.seen])
        assert model.lambda_ == lam and model.bilinear_.lam == lam and model.lambda_scores_ == {}

    def test_auto_lambda_never_picks_a_flat_model_and_a_forced_one_warns(self, latent, caplog):
        # Embeddings scaled down so far that λ >= 1 flattens W: before, λ=10 won the tie of
        # argmax order and every probability came out as 1/K.
        X, y = 1e-3 * latent.X[latent.seen], latent.y[latent.seen]
        with caplog.at_level("WARNING", logger="zsac.compatibility.selection"):
            model = wle_model(latent).fit(X, y)
            assert "nearly the same score" not in caplog.text
            assert model.lambda_ < 1.0
            wle_model(latent, lam=10.0).fit(X, y)
        assert "nearly the same score" in caplog.text

    def test_auto_lambda_with_few_classes_falls_back(self, latent):
        keep = np.isin(latent.y, latent.names[:3])
        model = wle_model(latent).fit(latent.X[keep], latent.y[keep])
        assert model.lambda_ == 0.01 and model.lambda_scores_ == {}

    def test_embed_classes_reads_the_table(self, zero_shot_model, latent):
        rows = zero_shot_model.embed_classes(latent.unseen_names[:3])
        table = np.load(latent.table)["embeddings"]
        expected = table[12:15] / np.linalg.norm(table[12:15], axis=1, keepdims=True)  # normalize=True
        np.testing.assert_allclose(rows, expected, rtol=1e-5, atol=1e-6)


class TestClassTexts:
    @pytest.mark.parametrize(
        ("classes", "message"),
        [
            ([], "empty"),
            (["dog", "cat", "dog"], "twice"),
            (["Dog", " dog"], "twice"),
            (["dog bark", "Dog  Bark"], "twice"),
            ("sound 12", "single string"),
            (["sound 12", "???"], re.escape("'???'")),
            ({"sound 12": "???"}, re.escape("'???'")),
        ],
    )
    def test_bad_class_lists_at_prediction(self, zero_shot_model, latent, classes, message):
        with pytest.raises(DataError, match=message):
            zero_shot_model.predict(latent.X[:3], classes=classes)

    @pytest.mark.parametrize(
        ("class_texts", "message"),
        [
            ({"sound 00": "???"}, re.escape("'???'")),
            ({"sound 99": "a class no clip has"}, "sound 99"),
            ("sound 00", "class_texts"),
            (["sound 00", "sound 01"], "class_texts"),
        ],
    )
    def test_bad_class_texts_at_fit(self, latent, class_texts, message):
        with pytest.raises(DataError, match=message):
            wle_model(latent, lam=1.0).fit(latent.X[:30], latent.y[:30], class_texts=class_texts)

    @pytest.mark.parametrize(
        ("labels", "message"),
        [(["Dog", "dog"], "twice"), (["dog", "dog "], "twice"), (["???", "dog"], re.escape("'???'"))],
    )
    def test_bad_labels_at_fit(self, latent, labels, message):
        y = np.repeat(labels, 5)
        with pytest.raises(DataError, match=message):
            wle_model(latent, lam=1.0).fit(latent.X[:10], y)

    def test_descriptions_are_used(self, audio_model):
        described = {info.name: info.description for info in audio_model.class_info_}
        assert described == CLASS_TEXTS
        by_description = audio_model.embed_classes(CLASS_TEXTS)
        rows = [CLASSES.index(name) for name in audio_model.classes_]
        np.testing.assert_allclose(audio_model.class_embeddings_, by_description[rows], rtol=1e-5, atol=1e-5)
        by_name = audio_model.embed_classes(CLASSES)
        assert not np.allclose(by_name, by_description, atol=1e-3)
        # SLE (the first 384 columns) embeds the label, so only SSE depends on the description.
        np.testing.assert_allclose(by_name[:, :384], by_description[:, :384], rtol=1e-5, atol=1e-5)

    def test_class_info_list(self, audio_model):
        infos = [ClassInfo(name, description=text) for name, text in CLASS_TEXTS.items()]
        np.testing.assert_allclose(
            audio_model.embed_classes(infos), audio_model.embed_classes(CLASS_TEXTS), rtol=1e-5, atol=1e-6
        )

    def test_missing_description_falls_back_to_the_name(self, sse_model):
        info = {c.name: c for c in sse_model.class_info_}
        assert info["siren"].description == SSE_TEXTS["siren"]
        assert info["rain"].description == "rain"
        row = list(sse_model.classes_).index("rain")
        np.testing.assert_allclose(
            sse_model.class_embeddings_[row], sse_model.embed_classes(["rain"])[0], rtol=1e-5, atol=1e-6
        )
        siren = list(sse_model.classes_).index("siren")
        assert not np.allclose(sse_model.class_embeddings_[siren], sse_model.embed_classes(["siren"])[0], atol=1e-3)

    def test_names_embed_the_same_at_fit_and_prediction(self, sse_model):
        row = list(sse_model.classes_).index("dog_bark")
        np.testing.assert_allclose(
            sse_model.class_embeddings_[row], sse_model.embed_classes(["dog_bark"])[0], rtol=1e-5, atol=1e-6
        )


class TestInputs:
    def test_transform_shape(self, audio_model, corpus, test_embeddings):
        assert test_embeddings.shape == (len(corpus.test_paths), 128) and test_embeddings.dtype == np.float32
        assert np.isfinite(test_embeddings).all()

    def test_waveforms_equal_paths(self, audio_model, corpus):
        # A 16-kHz mono file, a 44.1-kHz mono one and a 44.1-kHz stereo one, read back sample-exact.
        chosen = [p for p in corpus.test_paths if sf.info(p).samplerate == 16_000 and sf.info(p).channels == 1][:1]
        chosen += [p for p in corpus.test_paths if sf.info(p).samplerate == 44_100 and sf.info(p).channels == 1][:1]
        chosen += [p for p in corpus.test_paths if sf.info(p).channels == 2][:1]
        assert len(chosen) == 3
        for path in chosen:
            waveform, sample_rate = load_audio(path)
            from_waveform = audio_model.transform([waveform], sample_rate=sample_rate)
            np.testing.assert_allclose(from_waveform, audio_model.transform([path]), atol=1e-5, rtol=0)

    def test_float_wav_equals_array(self, audio_model, write_wav):
        waveforms = [tone(f, 2.0) for f in (200.0, 1000.0, 5000.0)]
        paths = [write_wav(f"tone{i}.wav", w, subtype="FLOAT") for i, w in enumerate(waveforms)]
        from_paths = audio_model.transform(paths)
        from_list = audio_model.transform(waveforms, sample_rate=16_000)
        from_matrix = audio_model.transform(np.stack(waveforms), sample_rate=16_000)
        assert from_matrix.shape == (3, 128)
        np.testing.assert_allclose(from_list, from_paths, atol=1e-5, rtol=0)
        np.testing.assert_allclose(from_matrix, from_paths, atol=1e-5, rtol=0)
        predicted = audio_model.predict(np.stack(waveforms), sample_rate=16_000)
        np.testing.assert_array_equal(predicted, audio_model.predict(paths))

    def test_resampled_waveform(self, audio_model):
        # 44.1 kHz in memory goes through the same resampler as a 44.1-kHz file.
        at_16k = audio_model.transform([tone(440.0, 2.0)], sample_rate=16_000)
        at_44k = audio_model.transform([tone(440.0, 2.0, sample_rate=44_100)], sample_rate=44_100)
        assert np.allclose(at_16k, at_44k, atol=0.05 * np.abs(at_16k).max())

    def test_batched_equals_one_by_one(self, fp32_model, corpus):
        paths = corpus.test_paths[:8]
        batched = fp32_model.transform(paths)
        one_by_one = np.concatenate([fp32_model.transform([p]) for p in paths])
        np.testing.assert_allclose(batched, one_by_one, atol=1e-5, rtol=1e-5)

    def test_batched_equals_one_by_one_default_inference(self, audio_model, corpus):
        paths = corpus.test_paths[:8]
        batched = audio_model.transform(paths)
        one_by_one = np.concatenate([audio_model.transform([p]) for p in paths])
        np.testing.assert_allclose(batched, one_by_one, atol=1e-5, rtol=1e-5)

    def test_embeddings_to_an_audio_model(self, audio_model, corpus, test_embeddings):
        np.testing.assert_array_equal(audio_model.transform(test_embeddings), test_embeddings)
        np.testing.assert_array_equal(audio_model.predict(test_embeddings), audio_model.predict(corpus.test_paths))
        np.testing.assert_allclose(
            audio_model.decision_function(test_embeddings),
            audio_model.decision_function(corpus.test_paths),
            rtol=1e-6,
            atol=1e-6,
        )

    def test_audio_to_an_embedding_model(self, zero_shot_model, corpus):
        with pytest.raises(ConfigError, match="precomputed"):
            zero_shot_model.predict(corpus.test_paths[:2])
        with pytest.raises(ConfigError):
            zero_shot_model.transform([tone(440.0, 1.0)], sample_rate=16_000)

    def test_waveforms_need_a_sample_rate(self, audio_model, latent):
        waveforms = [tone(440.0, 1.0), tone(880.0, 1.0)]
        with pytest.raises(DataError, match="sample_rate"):
            audio_model.predict(waveforms)
        with pytest.raises(DataError, match="sample_rate"):
            wle_model(latent, lam=1.0).fit(waveforms, ["sound 00", "sound 01"])

    def test_single_path_is_refused(self, audio_model, corpus):
        with pytest.raises(DataError, match="single path"):
            audio_model.predict(corpus.test_paths[0])
        with pytest.raises(DataError, match="single path"):
            audio_model.predict(str(corpus.test_paths[0]))

    def test_wrong_embedding_width(self, audio_model, zero_shot_model):
        with pytest.raises(DataError, match="128"):
            audio_model.predict(np.zeros((2, 32), np.float32))
        with pytest.raises(DataError, match="NaN"):
            zero_shot_model.predict(np.full((2, 32), np.nan, np.float32))

    def test_short_clip_is_padded(self, audio_model, write_wav):
        short = write_wav("short.wav", tone(440.0, 0.5))
        assert audio_model.transform([short]).shape == (1, 128)
        assert audio_model.embed_segments([short]).segments[0].shape == (1, 128)

    def test_short_clip_refused_without_padding(self, saved_audio, write_wav):
        strict = ZeroShotClassifier.load(saved_audio, pad_short=False)
        with pytest.raises(AudioError, match="shorter"):
            strict.transform([write_wav("short.wav", tone(440.0, 0.5))])

    def test_embed_segments(self, audio_model, corpus, tmp_path):
        good = corpus.test_paths[:2]
        bad = tmp_path / "broken.wav"
        bad.write_bytes(b"not audio at all")
        batch = audio_model.embed_segments([good[0], bad, good[1]], skip_errors=True)
        np.testing.assert_array_equal(batch.index, [0, 2])
        assert batch.names == [str(good[0]), str(good[1])]
        assert list(batch.failures) == [str(bad)]
        assert [len(s) for s in batch.segments] == [n_examples(p) for p in good]
        np.testing.assert_allclose(batch.clip_embeddings(), audio_model.transform(good), atol=1e-5)
        with pytest.raises(AudioError, match="broken.wav"):
            audio_model.embed_segments([good[0], bad])

    def test_fit_with_a_trained_vggish_skips_bad_files(self, audio_model, corpus, saved_audio, tmp_path):
        table = ClassTable(np.random.default_rng(0).normal(size=(6, 8)).astype(np.float32), names=tuple(CLASSES))
        table_path = table.save(tmp_path / "wle.npz")
        bad = tmp_path / "bad.wav"
        bad.write_bytes(b"not audio at all")
        paths, labels = [*corpus.train_paths, bad], [*corpus.train_labels, "hiss"]
        params = {"semantic": "WLE", "tables": {"WLE": str(table_path)}, "lam": 1.0, **TINY}
        # A VGGish object, and a folder holding one: used as they are, nothing is trained.
        for acoustic in (audio_model.acoustic_model_, model_version(saved_audio) / "acoustic"):
            model = ZeroShotClassifier(acoustic_model=acoustic, **params)
            with pytest.raises(AudioError, match="bad.wav"):
                model.fit(paths, labels)
            model.fit(paths, labels, skip_errors=True)
            assert list(model.fit_failures_) == [str(bad)] and model.acoustic_history_ == []
            some = corpus.test_paths[:4]
            np.testing.assert_allclose(model.transform(some), audio_model.transform(some), atol=1e-5, rtol=0)

    def test_segment_index_with_a_repeated_path(self, audio_model, corpus):
        a, b = corpus.test_paths[:2]
        np.testing.assert_array_equal(audio_model.embed_segments([a, b, a]).index, [0, 1, 2])


class TestSaveLoad:
    def test_audio_model_round_trip(self, audio_model, saved_audio, corpus, test_embeddings):
        loaded = ZeroShotClassifier.load(saved_audio)
        # Run details (progress, checkpoint_dir, device) are not the model's: they are in the training log.
        saved_params = {k: v for k, v in audio_model.get_params().items() if k not in RUN_PARAMS}
        assert {k: v for k, v in json_like(loaded.get_params()).items() if k in saved_params} == json_like(saved_params)
        assert loaded.acoustic_history_ == audio_model.acoustic_history_
        np.testing.assert_array_equal(loaded.classes_, audio_model.classes_)
        np.testing.assert_array_equal(loaded.class_embeddings_, audio_model.class_embeddings_)
        np.testing.assert_array_equal(loaded.bilinear_.W_, audio_model.bilinear_.W_)
        assert [c.description for c in loaded.class_info_] == [c.description for c in audio_model.class_info_]
        np.testing.assert_array_equal(loaded.transform(corpus.test_paths), test_embeddings)
        np.testing.assert_array_equal(
            loaded.decision_function(test_embeddings), audio_model.decision_function(test_embeddings)
        )
        np.testing.assert_array_equal(loaded.predict(corpus.test_paths), audio_model.predict(corpus.test_paths))

    def test_embedding_model_round_trip(self, zero_shot_model, saved_zero_shot, latent):
        # The table's path is not taken from the folder (a folder is untrusted): it is passed again.
        loaded = ZeroShotClassifier.load(saved_zero_shot, tables={"WLE": str(latent.table)})
        assert loaded.acoustic_model_ is None and loaded.lambda_ == zero_shot_model.lambda_
        assert loaded.lambda_scores_ == zero_shot_model.lambda_scores_
        X = latent.X[~latent.seen]
        for classes in (None, latent.unseen_names):
            np.testing.assert_array_equal(
                loaded.decision_function(X, classes=classes), zero_shot_model.decision_function(X, classes=classes)
            )
            np.testing.assert_array_equal(
                loaded.predict(X, classes=classes), zero_shot_model.predict(X, classes=classes)
            )

    def test_files_and_no_pickle(self, saved_audio):
        version = model_version(saved_audio)
        files = {p.relative_to(version).as_posix(): p for p in version.rglob("*") if p.is_file()}
        assert {"classifier.json", "class_embeddings.safetensors"} <= set(files)
        assert (version / "bilinear").is_dir() and (version / "acoustic").is_dir()
        assert any(name.startswith("bilinear/") and name.endswith(".safetensors") for name in files)
        assert any(name.startswith("acoustic/") and name.endswith(".safetensors") for name in files)
        for name, path in files.items():
            assert path.suffix in (".json", ".safetensors"), name
            if path.suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            else:
                with safe_open(str(path), framework="numpy") as handle:
                    assert list(handle.keys()), name
        config = json.loads(files["classifier.json"].read_text(encoding="utf-8"))
        assert config["format"] == "zsac-zero-shot-classifier" and config["lambda"] == 1.0
        assert [c["description"] for c in config["classes"]] == [CLASS_TEXTS[n] for n in sorted(CLASSES)]
        assert config["has_acoustic_model"] is True and config["params"]["semantic"] == "SLE+SSE"

    def test_no_temporary_folders_left(self, zero_shot_model, tmp_path):
        zero_shot_model.save(tmp_path / "model")
        zero_shot_model.save(tmp_path / "model")
        assert [p.name for p in tmp_path.iterdir()] == ["model"]

    def test_save_over_an_existing_classifier(self, zero_shot_model, audio_model, tmp_path, test_embeddings):
        target = tmp_path / "model"
        zero_shot_model.save(target)
        audio_model.save(target)
        loaded = ZeroShotClassifier.load(target)
        assert loaded.acoustic_model_ is not None
        np.testing.assert_array_equal(loaded.predict(test_embeddings), audio_model.predict(test_embeddings))
        assert [p.name for p in tmp_path.iterdir()] == ["model"]

    def test_save_into_an_empty_folder(self, zero_shot_model, tmp_path):
        (tmp_path / "model").mkdir()
        zero_shot_model.save(tmp_path / "model")
        assert (model_version(tmp_path / "model") / "classifier.json").is_file()

    def test_refuses_to_overwrite_other_folders(self, zero_shot_model, tmp_path):
        target = tmp_path / "precious"
        target.mkdir()
        (target / "notes.txt").write_text("keep me")
        with pytest.raises(DataError, match="precious"):
            zero_shot_model.save(target)
        assert [p.name for p in target.iterdir()] == ["notes.txt"]
        assert (target / "notes.txt").read_text() == "keep me"
        assert [p.name for p in tmp_path.iterdir()] == ["precious"]

    def test_load_overrides(self, saved_audio, audio_model, test_embeddings):
        loaded = ZeroShotClassifier.load(saved_audio, temperature=2.0)
        assert loaded.temperature == 2.0 and loaded.get_params()["temperature"] == 2.0
        scores = audio_model.decision_function(test_embeddings)
        np.testing.assert_array_equal(loaded.decision_function(test_embeddings), scores)
        proba = loaded.predict_proba(test_embeddings)
        np.testing.assert_array_equal(proba.argmax(axis=1), scores.argmax(axis=1))
        expected = np.exp(scores / 2.0 - (scores / 2.0).max(axis=1, keepdims=True))
        np.testing.assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), rtol=1e-10)
        with pytest.raises(ConfigError, match="temperature"):
            ZeroShotClassifier.load(saved_audio, temperature=-1.0)

    def test_load_with_an_unknown_override(self, saved_zero_shot):
        with pytest.raises(ConfigError, match="bogus"):
            ZeroShotClassifier.load(saved_zero_shot, bogus=1)

    @staticmethod
    def _edit_config(directory: Path, change) -> None:
        path = model_version(directory) / "classifier.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        change(config)
        path.write_text(json.dumps(config), encoding="utf-8")

    @pytest.mark.parametrize(
        ("damage", "culprit"),
        [
            (lambda d: (d / "classifier.json").write_text("{not json"), "classifier.json"),
            (lambda d: (d / "classifier.json").write_bytes(b"\xff\xfe\x00garbage"), "classifier.json"),
            (lambda d: (d / "classifier.json").unlink(), "classifier.json"),
            (lambda d: (d / "classifier.json").write_text("[1, 2]"), "classifier.json"),
            (lambda d: TestSaveLoad._edit_config(d, lambda c: c.update(format="other")), "classifier.json"),
            (lambda d: TestSaveLoad._edit_config(d, lambda c: c.update(format_version=99)), "classifier.json"),
            (lambda d: TestSaveLoad._edit_config(d, lambda c: c.pop("classes")), "classifier.json"),
            (lambda d: TestSaveLoad._edit_config(d, lambda c: c.update(acoustic_dim=7)), "bilinear"),
            (lambda d: (d / "class_embeddings.safetensors").unlink(), "class_embeddings.safetensors"),
            (lambda d: (d / "class_embeddings.safetensors").write_bytes(b"\x00" * 5), "class_embeddings.safetensors"),
            (lambda d: (d / "bilinear" / "bilinear.safetensors").unlink(), "bilinear.safetensors"),
            (lambda d: (d / "acoustic" / "model.safetensors").unlink(), "model.safetensors"),
            (lambda d: shutil.rmtree(d / "acoustic"), "acoustic"),
        ],
        ids=[
            "json-syntax", "json-bytes", "json-missing", "json-list", "format", "format-version", "no-classes",
            "dim-mismatch", "embeddings-missing", "embeddings-garbage", "bilinear-missing", "vggish-weights-missing",
            "acoustic-missing",
        ],
    )  # fmt: skip
    def test_damaged_checkpoint(self, saved_audio, tmp_path, damage, culprit):
        copy = shutil.copytree(saved_audio, tmp_path / "copy")
        damage(model_version(copy))  # the files of the version that CURRENT names
        with pytest.raises(CheckpointError) as caught:
            ZeroShotClassifier.load(copy)
        assert str(copy) in str(caught.value) and culprit in str(caught.value)

    def test_load_missing_folder(self, tmp_path):
        with pytest.raises(CheckpointError, match=re.escape(str(tmp_path / "nowhere"))):
            ZeroShotClassifier.load(tmp_path / "nowhere")


class TestErrors:
    def test_init_only_stores(self):
        odd = {"semantic": "NOPE", "solver": "bogus", "temperature": -1.0, "lam": "best", "inference": "fp8"}
        model = ZeroShotClassifier(**odd)
        params = model.get_params()
        assert {k: params[k] for k in odd} == odd
        assert not hasattr(model, "bilinear_") and not hasattr(model, "classes_")

    @pytest.mark.parametrize(
        ("param", "value"),
        [("semantic", "NOPE"), ("solver", "bogus"), ("temperature", 0.0), ("lam", "best"), ("lam", -1.0),
         ("inference", "fp8")],
    )  # fmt: skip
    def test_bad_params_at_fit(self, latent, param, value):
        model = wle_model(latent, lam=1.0).set_params(**{param: value})
        with pytest.raises(ConfigError, match=param if param != "semantic" else "NOPE"):
            model.fit(latent.X[:30], latent.y[:30])

    def test_get_params_round_trip(self, audio_model):
        params = audio_model.get_params()
        assert ZeroShotClassifier(**params).get_params() == params
        assert set(params) >= {"semantic", "lam", "lambda_grid", "temperature", "seed", "conv_channels"}
        assert "conv_channels=(8, 16, 32, 64)" in repr(audio_model) and "semantic=" not in repr(audio_model)

    def test_sklearn_clone(self, zero_shot_model):
        base = pytest.importorskip("sklearn.base")
        copy = base.clone(zero_shot_model)
        assert copy.get_params() == zero_shot_model.get_params() and not hasattr(copy, "bilinear_")

    def test_set_params(self):
        model = ZeroShotClassifier()
        assert model.set_params(temperature=0.5, seed=3) is model
        assert model.temperature == 0.5 and model.seed == 3
        with pytest.raises(ConfigError, match="bogus"):
            model.set_params(bogus=1)

    def test_unfitted(self, tmp_path):
        model = ZeroShotClassifier()
        X = np.zeros((2, 128), np.float32)
        for call in (model.predict, model.predict_proba, model.decision_function, model.transform):
            with pytest.raises(NotFittedError, match="not fitted"):
                call(X)
        with pytest.raises(NotFittedError, match="not fitted"):
            model.score(X, ["a", "b"])
        with pytest.raises(NotFittedError, match="not fitted"):
            model.save(tmp_path / "model")
        assert not (tmp_path / "model").exists()

    def test_a_label_template_shapes_the_label_and_the_description_it_stands_in_for(self):
        from zsac.semantic.specs import classes_from_texts

        (dog,) = classes_from_texts(["dog"], spec="SLE+SSE", label_template="the sound of {label}")
        assert dog.label == dog.description == "the sound of dog"
        (dog,) = classes_from_texts({"dog": "A dog barks."}, spec="SSE", label_template="the sound of {label}")
        assert (dog.label, dog.description) == ("the sound of dog", "A dog barks.")

    def test_errors_follow_scikit_learns_conventions(self):
        from sklearn.base import BaseEstimator
        from sklearn.exceptions import NotFittedError as SklearnNotFittedError

        from zsac import ZsacError

        assert isinstance(ZeroShotClassifier(), BaseEstimator)
        with pytest.raises(SklearnNotFittedError) as caught:
            ZeroShotClassifier().predict(np.zeros((1, 128), np.float32))
        assert isinstance(caught.value, ZsacError)
        # A bad argument is a ConfigError, bad content a DataError; both are ValueErrors.
        assert issubclass(ConfigError, ValueError) and issubclass(DataError, ValueError)
        with pytest.raises(ValueError):
            ZeroShotClassifier().set_params(bogus=1)

    def test_one_training_class(self, latent):
        with pytest.raises(DataError, match="2 classes"):
            wle_model(latent).fit(latent.X[:5], latent.y[:5])

    def test_lengths_differ(self, latent, corpus):
        with pytest.raises(DataError, match="30 clips"):
            wle_model(latent).fit(latent.X[:30], latent.y[:29])
        with pytest.raises(DataError, match="3 clips"):
            ZeroShotClassifier(**TINY).fit(corpus.train_paths[:3], corpus.train_labels[:4])

    def test_nan_embeddings(self, latent):
        X = latent.X[:30].copy()
        X[3, 4] = np.nan
        with pytest.raises(DataError, match="NaN|finite"):
            wle_model(latent, lam=1.0).fit(X, latent.y[:30])

    def test_score_lengths_differ(self, zero_shot_model, latent):
        with pytest.raises(DataError, match="labels"):
            zero_shot_model.score(latent.X[:5], latent.y[:4], classes=latent.seen_names)

    def test_same_seed_same_model(self, latent):
        X, y = latent.X[latent.seen], latent.y[latent.seen]
        first = wle_model(latent, seed=7, solver="adam", max_iter=50).fit(X, y)
        second = wle_model(latent, seed=7, solver="adam", max_iter=50).fit(X, y)
        np.testing.assert_array_equal(first.bilinear_.W_, second.bilinear_.W_)
        assert first.lambda_ == second.lambda_ and first.lambda_scores_ == second.lambda_scores_
        unseen = latent.X[~latent.seen]
        np.testing.assert_array_equal(
            first.predict(unseen, classes=latent.unseen_names), second.predict(unseen, classes=latent.unseen_names)
        )

    def test_y_as_a_single_string(self, latent):
        with pytest.raises(DataError, match="single string"):
            wle_model(latent, lam=1.0).fit(latent.X[:2], "ab")
