"""zsac.acoustic: the VGGish network, saving/loading, and clip embeddings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from zsac import CheckpointError, ConfigError, DataError
from zsac.acoustic import VGGish, embed_clips, load_vggish, save_vggish
from zsac.acoustic.embedding import segment_embeddings
from zsac.checkpoint import model_version

SMALL = {"fc_units": 32, "conv_channels": (4, 8, 8, 16)}


def test_architecture_is_vgg_a_with_the_papers_changes():
    model = VGGish()
    assert sum(p.numel() for p in model.parameters()) == 72_141_184  # about 72M
    convs = [m for m in model.features if isinstance(m, torch.nn.Sequential)]
    assert [c[0].out_channels for c in convs] == [64, 128, 256, 256, 512, 512]
    assert all(c[0].kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in model.features) == 4  # fifth group dropped
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512 * 6 * 4, 4096), (4096, 4096), (4096, 128)]
    assert model.classifier is None


def test_shapes_and_head():
    model = VGGish(n_classes=7, **SMALL).eval()
    x = torch.randn(3, 96, 64)
    assert model.embed(x).shape == (3, 128)
    assert model.embed(x.unsqueeze(1)).shape == (3, 128)
    assert model(x).shape == (3, 7)
    with pytest.raises(ConfigError, match="no classification head"):
        VGGish(**SMALL)(x)
    with pytest.raises(ConfigError):
        VGGish(conv_channels=(1, 2, 3))


def test_batched_embedding_equals_item_by_item():
    torch.manual_seed(0)
    model = VGGish(**SMALL).eval()
    x = torch.randn(5, 96, 64)
    with torch.no_grad():
        together = model.embed(x)
        for i in range(5):
            torch.testing.assert_close(together[i : i + 1], model.embed(x[i : i + 1]), atol=1e-5, rtol=1e-4)


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = VGGish(n_classes=3, **SMALL).eval()
    save_vggish(model, tmp_path / "m", metadata={"class_names": ["a", "b", "c"]})
    loaded, metadata = load_vggish(tmp_path / "m")
    assert metadata == {"class_names": ["a", "b", "c"]}
    assert loaded.config == model.config
    x = torch.randn(2, 96, 64)
    torch.testing.assert_close(loaded(x), model(x))
    assert not list((tmp_path / "m").glob("*.tmp"))


def test_load_is_strict_and_errors_name_the_file(tmp_path):
    save_vggish(VGGish(n_classes=3, **SMALL), tmp_path / "m")
    version = model_version(tmp_path / "m")
    config_path = version / "config.json"
    config = json.loads(config_path.read_text())
    config["model"]["n_classes"] = 4
    config_path.write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="does not fit"):
        load_vggish(tmp_path / "m")
    (version / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_vggish(tmp_path / "m")
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_vggish(tmp_path / "absent")


def test_embed_clips_is_the_mean_of_segment_embeddings():
    torch.manual_seed(0)
    model = VGGish(**SMALL)
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal((n, 96, 64)).astype(np.float32) for n in (1, 3, 2)]
    embeddings = embed_clips(model, clips, batch_size=2, device="cpu")
    assert embeddings.shape == (3, 128) and embeddings.dtype == np.float32
    for clip, embedding in zip(clips, embeddings, strict=True):
        expected = segment_embeddings(model, clip, device="cpu").mean(axis=0)
        np.testing.assert_allclose(embedding, expected, atol=1e-5)
    assert model.training  # mode restored
    same_length = np.stack([clips[1], clips[1]])
    np.testing.assert_allclose(embed_clips(model, same_length, device="cpu")[0], embeddings[1], atol=1e-5)
    with pytest.raises(DataError, match="clip 1 has no segments"):
        embed_clips(model, [clips[0], np.zeros((0, 96, 64), np.float32)], device="cpu")
    assert embed_clips(model, [], device="cpu").shape == (0, 128)


def test_cpu_device_rejects_missing_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        embed_clips(VGGish(**SMALL), [np.zeros((1, 96, 64), np.float32)], device="cuda")
